"""Class wrappers: ``MSELoss(reduction="sum")(input, target)``.

One class per registered loss, generated from the function by :func:`_make_class`, never
written by hand: the constructor takes the function's keyword options (validated by name),
the call takes the arrays (and may override options). Class names are torch.nn's where
torch has the loss (``CrossEntropyLoss``, ``MSELoss``...), ``<Name>Loss`` otherwise.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, ClassVar

from . import _families  # noqa: F401  (imports every family, filling the registry)
from ._lib._registry import REGISTRY, LossSpec

__all__ = ["Loss"]


class Loss:
    """Base class of the generated wrappers: options at construction, arrays at call time."""

    function: ClassVar[Callable[..., Any]]
    option_names: ClassVar[tuple[str, ...]] = ()

    def __init__(self, **options: Any) -> None:
        self._check(options)
        self.options = options

    def _check(self, options: dict[str, Any]) -> None:
        unknown = sorted(set(options) - set(self.option_names))
        if unknown:
            raise TypeError(
                f"{type(self).__name__}: unknown option(s) {', '.join(unknown)}; "
                f"valid options are {', '.join(self.option_names)}"
            )

    def __call__(self, *arrays: Any, **options: Any) -> Any:
        if options:
            self._check(options)
            options = {**self.options, **options}
        else:
            options = self.options
        return type(self).function(*arrays, **options)

    forward = __call__

    def get_config(self) -> dict[str, Any]:
        """The constructor options (Keras-style), enough to rebuild the object."""
        return dict(self.options)

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options.items())
        return f"{type(self).__name__}({opts})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.options == other.options  # type: ignore[attr-defined, no-any-return]

    __hash__ = None  # type: ignore[assignment]


def _make_class(spec: LossSpec) -> type[Loss]:
    params = [
        p
        for p in inspect.signature(spec.func).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    doc = (
        f"Class form of :func:`arrayloss.{spec.name}`.\n\n"
        f"``{spec.class_name}(**options)(*arrays)`` equals "
        f"``arrayloss.{spec.name}(*arrays, **options)``; options: "
        f"{', '.join(p.name for p in params)}.\n"
    )
    cls = type(
        spec.class_name,
        (Loss,),
        {
            "function": staticmethod(spec.func),
            "option_names": tuple(p.name for p in params),
            "__doc__": doc,
            "__module__": __name__,
            "__qualname__": spec.class_name,
        },
    )
    cls.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    return cls


for _spec in REGISTRY.values():
    globals()[_spec.class_name] = _make_class(_spec)
    __all__.append(_spec.class_name)

del _spec
