"""Dispatch to the backend modules (``arrayloss/_backends``): which library an array
belongs to decides which module answers, loaded on first use and asked by name.

Native kernels are looked up here and nowhere else: the primitives of ``_primitives.py``
(each a generic array-API kernel with an optional native twin per library) and the
whole-loss kernels. The choice is resolved once per (primitive, namespace) and cached.
``force_generic()`` (a context manager) or ``ARRAYLOSS_FORCE_GENERIC=1`` bypasses every
native kernel, so the tests run both paths on every backend.
"""

from __future__ import annotations

import contextlib
import importlib
import os
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

from .._backends import MODULES
from ._compat import backend_name
from ._plans import clear_plans, enable_plans

__all__ = [
    "GENERIC",
    "backend_hook",
    "force_generic",
    "generic_forced",
    "native_checks_labels",
    "native_loss",
    "prime_natives",
    "primitive",
]

# A plain module global, not a ContextVar: torch.compile (Dynamo) cannot trace
# ContextVar.get, while it reads (and guards on) a module global. The switch is meant for
# tests and debugging; it is process-wide, not per thread.
_FORCE_GENERIC = os.environ.get("ARRAYLOSS_FORCE_GENERIC", "").strip().lower() in {
    "1",
    "true",
    "yes",
}


@contextlib.contextmanager
def force_generic(enabled: bool = True) -> Iterator[None]:
    """Within the block, use the generic array-API kernels only (no native overrides)."""
    global _FORCE_GENERIC
    previous, _FORCE_GENERIC = _FORCE_GENERIC, enabled
    clear_plans()  # they hold native kernels the checks chose outside the block
    try:
        yield
    finally:
        _FORCE_GENERIC = previous
        clear_plans()


def generic_forced() -> bool:
    return _FORCE_GENERIC


# name -> generic kernel of every primitive, filled by primitive(); handed to the backend
# modules so that a native kernel can fall back on its generic twin.
GENERIC: dict[str, Callable[..., Any]] = {}
_MODULE: dict[str, ModuleType | None] = {}
_PRIMITIVES: dict[str, dict[str, Callable[..., Any]]] = {}
_LOSSES: dict[str, dict[str, Callable[..., Any]]] = {}


def _module(name: str) -> ModuleType | None:
    if name in _MODULE:
        return _MODULE[name]
    path = MODULES.get(name)
    mod = importlib.import_module(path) if path is not None else None
    planned = getattr(mod, "PLANNED_TYPE", None)
    if planned is not None:
        enable_plans(planned, mod.eager)  # type: ignore[union-attr]
    _MODULE[name] = mod
    return mod


_HOOKS: dict[tuple[str, str], Any] = {}


def backend_hook(xp: Any, attr: str) -> Any:
    """The backend module's ``attr`` (see ``arrayloss/_backends/__init__.py``), or None."""
    key = (backend_name(xp), attr)
    try:
        return _HOOKS[key]
    except KeyError:
        hook = _HOOKS[key] = getattr(_module(key[0]), attr, None)
        return hook


def _primitives_of(name: str) -> dict[str, Callable[..., Any]]:
    table = _PRIMITIVES.get(name)
    if table is None:
        build = getattr(_module(name), "primitives", None)
        table = _PRIMITIVES[name] = build(GENERIC) if build is not None else {}
    return table


def native_loss(name: str, xp: Any) -> Callable[..., Any] | None:
    """The backend's whole-loss kernel ``name`` on ``xp``'s library, or None."""
    if _FORCE_GENERIC:
        return None
    backend = backend_name(xp)
    table = _LOSSES.get(backend)
    if table is None:
        build = getattr(_module(backend), "losses", None)
        table = _LOSSES[backend] = build() if build is not None else {}
    kernel = table.get(name)
    # a kernel usable only outside compilers and transforms carries the test of that
    eager = getattr(kernel, "eager_only", None)
    if eager is not None and not eager():
        return None
    return kernel


def native_checks_labels(name: str, target: Any, xp: Any) -> bool:
    """Whether ``native_loss(name, xp)`` raises on bad labels in ``target`` by itself,
    synchronously (so the loss may leave the check to it)."""
    if _FORCE_GENERIC:
        return False
    mod = _module(backend_name(xp))
    if name not in getattr(mod, "CHECKS_LABELS", ()):
        return False
    return bool(mod.checks_labels(target))  # type: ignore[union-attr]


# Every primitive's per-namespace kernel cache, so prime_natives can fill them all at once.
_CACHES: list[tuple[str, Callable[..., Any], dict[int, Callable[..., Any]]]] = []


def prime_natives(xp: Any) -> None:
    """Resolve every primitive's kernel for ``xp`` now. custom_gradient calls it before a
    torch.compile trace enters its autograd.Function: Dynamo cannot trace the first call's
    cache fill (a dict mutation) inside that higher-order op."""
    table = _primitives_of(backend_name(xp))
    for name, generic, cache in _CACHES:
        cache.setdefault(id(xp), table.get(name, generic))


def primitive(
    name: str, generic: Callable[..., Any], *, semantic: bool = False
) -> Callable[..., Any]:
    """A dispatching primitive. ``semantic=True`` marks one whose native version is needed
    for correctness (stop_gradient on an autodiff backend), which force_generic keeps."""
    cache: dict[int, Callable[..., Any]] = {}
    _CACHES.append((name, generic, cache))
    GENERIC[name] = generic

    def dispatch(*args: Any, xp: Any, **kwargs: Any) -> Any:
        if _FORCE_GENERIC and not semantic:
            return generic(*args, xp=xp, **kwargs)
        impl = cache.get(id(xp))
        if impl is None:
            impl = cache[id(xp)] = _primitives_of(backend_name(xp)).get(name, generic)
        return impl(*args, xp=xp, **kwargs)

    dispatch.__name__ = dispatch.__qualname__ = name
    dispatch.__doc__ = generic.__doc__
    dispatch.generic = generic  # type: ignore[attr-defined]
    return dispatch
