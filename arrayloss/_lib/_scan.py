"""Control flow on arrays, as each library wants it.

``cond(pred, true_fn, false_fn, *operands, xp)``: one of two computations, chosen by a 0-d
boolean array. Concrete: a Python branch (only the chosen one runs); under ``jax.jit``:
``jax.lax.cond`` (each branch its own fused computation, only one runs) with a custom VJP
that recomputes the chosen branch in the backward pass; elsewhere (torch under
``torch.compile`` or ``torch.func``, lazy Dask): both run and ``where`` picks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._compat import backend_name
from ._validation import is_concrete

__all__ = ["cond"]


def cond(
    pred: Any, true_fn: Callable[..., Any], false_fn: Callable[..., Any], *operands: Any, xp: Any
) -> Any:
    """``true_fn(*operands)`` where the 0-d boolean ``pred`` is true, else ``false_fn``'s
    (both return one array of the same shape and dtype)."""
    if backend_name(xp) == "jax":
        import jax

        # A predicate that is not a tracer has its value now, also inside an eager
        # jax.grad (only the differentiated operands are traced there): a host branch.
        # Inside jit its ops are staged and it is a tracer. lax.cond on fresh closures
        # would trace and compile anew on every eager call (126 ms a call, 10 elements).
        concrete = not isinstance(pred, jax.core.Tracer)
    else:
        concrete = is_concrete(pred, xp)
    if concrete:
        return true_fn(*operands) if bool(pred) else false_fn(*operands)
    if backend_name(xp) == "jax":
        return _jax_cond(pred, true_fn, false_fn, *operands)
    return xp.where(pred, true_fn(*operands), false_fn(*operands))


def _jax_cond(
    pred: Any, true_fn: Callable[..., Any], false_fn: Callable[..., Any], *operands: Any
) -> Any:
    """``lax.cond`` whose reverse-mode gradient is a second ``lax.cond`` over the branches'
    own VJPs (each recomputes its forward pass, fused with its backward pass).

    Differentiating ``lax.cond`` directly makes the forward cond return the residuals of
    both branches (the untaken one's as zeros): for a loss on 10^7 elements, arrays of that
    size written and read again. Keras's hinge through it took 2.9x optax's time forward +
    backward under ``jax.jit`` on CPU; with this VJP 0.46x (one pass forward, one back).
    Forward-mode differentiation (``jax.jvp``, ``jax.hessian``) is not available through a
    custom VJP. Only floating operands get cotangents (the others: None)."""
    import jax
    import jax.numpy as jnp

    diff = tuple(i for i, a in enumerate(operands) if jnp.issubdtype(a.dtype, jnp.inexact))

    def pullback(fn: Callable[..., Any]) -> Callable[..., Any]:
        def run(ops: tuple[Any, ...], g: Any) -> Any:
            def of_diff(*d: Any) -> Any:
                full = list(ops)
                for i, a in zip(diff, d, strict=True):
                    full[i] = a
                return fn(*full)

            return jax.vjp(of_diff, *(ops[i] for i in diff))[1](g)

        return run

    @jax.custom_vjp
    def chosen(pred: Any, *ops: Any) -> Any:
        return jax.lax.cond(pred, true_fn, false_fn, *ops)

    def fwd(pred: Any, *ops: Any) -> tuple[Any, Any]:
        return chosen(pred, *ops), (pred, ops)

    def bwd(res: Any, g: Any) -> tuple[Any, ...]:
        pred, ops = res
        cts = jax.lax.cond(pred, pullback(true_fn), pullback(false_fn), ops, g)
        out: list[Any] = [None] * len(ops)
        for i, c in zip(diff, cts, strict=True):
            out[i] = c
        return (None, *out)

    chosen.defvjp(fwd, bwd)
    return chosen(pred, *operands)
