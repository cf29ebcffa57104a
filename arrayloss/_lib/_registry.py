"""Loss metadata: one record per public loss, filled by the ``@register`` decorator.

The record drives the generated class wrappers (``arrayloss.nn``), the main job
(``python -m arrayloss``), the README/docs tables and the tests' completeness check. The
decorator returns the function unchanged (registration costs nothing per call), except for
a loss that ``delegates``: it gets the one wrapper that runs per-signature plans and the
whole-loss kernels its body hands over (``_plans.py``).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ._plans import planned

__all__ = ["REGISTRY", "LossSpec", "register"]

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class LossSpec:
    name: str
    func: Callable[..., Any]
    family: str
    class_name: str
    array_args: tuple[str, ...]
    peers: dict[str, str] = field(default_factory=dict)
    # the kind of sample input the main job and the benchmarks feed it (arrayloss/_check.py)
    sample: str | None = None
    # positional arguments that may be a Python number instead of an array
    scalar_args: tuple[str, ...] = ()

    @property
    def options(self) -> tuple[str, ...]:
        """Keyword-only option names of the function (``xp`` included)."""
        return tuple(
            p.name
            for p in inspect.signature(self.func).parameters.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY
        )


REGISTRY: dict[str, LossSpec] = {}


def _default_class_name(name: str) -> str:
    base = name[: -len("_loss")] if name.endswith("_loss") else name
    return "".join(part.capitalize() for part in base.split("_")) + "Loss"


def register(
    family: str,
    *,
    class_name: str | None = None,
    torch: str | None = None,
    optax: str | None = None,
    keras: str | None = None,
    monai: str | None = None,
    torchvision: str | None = None,
    sample: str | None = None,
    delegates: bool = False,
    scalar_args: tuple[str, ...] = (),
) -> Callable[[F], F]:
    """Record a public loss. ``torch=``/``optax=``/... name the peer functions it matches.
    ``delegates=True``: the body may return ``delegate(kernel, ...)`` (``_plans.py``).
    ``scalar_args``: positional arguments that accept a Python number (any other positional
    argument given one is a ``TypeError`` naming it)."""

    def deco(func: F) -> F:
        params = inspect.signature(func).parameters.values()
        arrays = tuple(p.name for p in params if p.kind is inspect.Parameter.POSITIONAL_ONLY)
        peers = {
            k: v
            for k, v in (
                ("torch", torch),
                ("optax", optax),
                ("keras", keras),
                ("monai", monai),
                ("torchvision", torchvision),
            )
            if v
        }
        if delegates:
            func = planned(func)
        name = func.__name__
        REGISTRY[name] = LossSpec(
            name=name,
            func=func,
            family=family,
            class_name=class_name or _default_class_name(name),
            array_args=arrays,
            peers=peers,
            sample=sample,
            scalar_args=scalar_args,
        )
        return func

    return deco
