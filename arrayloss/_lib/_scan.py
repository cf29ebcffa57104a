"""Control flow on arrays, as each library wants it.

``cond(pred, true_fn, false_fn, *operands, xp)``: one of two computations, chosen by a 0-d
boolean array. Concrete: a Python branch (only the chosen one runs); traced, the backend's
``cond`` where it has one (JAX: ``lax.cond``, each branch its own fused computation, with a
custom VJP that recomputes the chosen branch in the backward pass); elsewhere (torch under
``torch.compile`` or ``torch.func``, lazy Dask): both run and ``where`` picks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._dispatch import backend_hook
from ._validation import is_concrete

__all__ = ["cond"]


def cond(
    pred: Any, true_fn: Callable[..., Any], false_fn: Callable[..., Any], *operands: Any, xp: Any
) -> Any:
    """``true_fn(*operands)`` where the 0-d boolean ``pred`` is true, else ``false_fn``'s
    (both return one array of the same shape and dtype)."""
    is_tracer = backend_hook(xp, "is_tracer")
    if is_tracer is not None:
        # A predicate that is not a tracer has its value now, also inside an eager
        # jax.grad (only the differentiated operands are traced there): a host branch.
        # lax.cond on fresh closures would trace and compile anew on every eager call.
        concrete = not is_tracer(pred)
    else:
        concrete = is_concrete(pred, xp)
    if concrete:
        return true_fn(*operands) if bool(pred) else false_fn(*operands)
    traced_cond = backend_hook(xp, "cond")
    if traced_cond is not None:
        return traced_cond(pred, true_fn, false_fn, *operands)
    return xp.where(pred, true_fn(*operands), false_fn(*operands))
