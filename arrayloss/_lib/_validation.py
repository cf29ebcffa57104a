"""Argument checks. Every error names the loss, the argument and what was expected.

Checks on *values* of arrays (labels in range, negative variances) run only when the
arrays are concrete (eager); under ``jax.jit``, ``torch.compile``, ``vmap`` or on lazy Dask
arrays they are skipped, never crashed: reading a value there would break tracing or force
an early compute.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from ._compat import backend_name, isdtype
from ._primitives import value_range

__all__ = [
    "REDUCTIONS",
    "check_floating",
    "check_index_target",
    "check_labels_in_range",
    "check_option",
    "check_reduction",
    "check_same_shape",
    "is_concrete",
    "may_be_differentiated",
    "shape_str",
]

REDUCTIONS = ("mean", "sum", "none")


def shape_str(shape: Iterable[Any]) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(tuple(shape)) == 1 else "") + ")"


def check_reduction(loss: str, reduction: object, allowed: tuple[str, ...] = REDUCTIONS) -> None:
    if reduction not in allowed:
        raise ValueError(
            f"{loss}: `reduction` must be one of {', '.join(repr(a) for a in allowed)}, "
            f"got {reduction!r}"
        )


def check_floating(loss: str, arg: str, x: Any, xp: Any) -> None:
    """``x`` must have a real floating dtype (integer/bool inputs are a TypeError, as in torch)."""
    if not isdtype(x.dtype, "real floating", xp):
        raise TypeError(
            f"{loss}: `{arg}` must have a real floating dtype (float16, bfloat16, float32 or "
            f"float64), got {x.dtype}; cast it first, e.g. xp.astype({arg}, xp.float32)"
        )


def check_index_target(loss: str, arg: str, x: Any, xp: Any) -> None:
    """``x`` must hold class indices: any integer dtype (int32 from JAX included)."""
    if not isdtype(x.dtype, "integral", xp):
        raise TypeError(
            f"{loss}: `{arg}` holds class indices and must have an integer dtype, got "
            f"{x.dtype}; for class probabilities pass a floating `{arg}` of the input's shape"
        )


def check_same_shape(loss: str, a_name: str, a: Any, b_name: str, b: Any) -> None:
    if tuple(a.shape) != tuple(b.shape):
        raise ValueError(
            f"{loss}: `{a_name}` and `{b_name}` must have the same shape, got "
            f"{shape_str(a.shape)} and {shape_str(b.shape)}"
        )


def check_option(loss: str, arg: str, value: Any, ok: bool, expected: str) -> None:
    """Raise ``ValueError`` for an option value outside its domain (``ok`` is the test)."""
    if not ok:
        raise ValueError(f"{loss}: `{arg}` must be {expected}, got {value!r}")


def check_real_scalar(loss: str, arg: str, value: Any) -> float:
    """A Python real number option (``delta=``, ``eps=``...); NaN is rejected."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{loss}: `{arg}` must be a Python float, got {type(value).__name__}")
    # ``value != value`` rather than math.isnan: under torch.compile(dynamic=True) a float
    # option is a symbolic float, which math.isnan cannot trace.
    if value != value:
        raise ValueError(f"{loss}: `{arg}` must be a number, got nan")
    return float(value)


def _jax_trace_clean() -> bool:
    """Whether no JAX transformation (jit, vmap, grad...) is tracing right now."""
    try:
        from jax._src.core import trace_state_clean
    except ImportError:  # pragma: no cover - a future JAX without the private helper
        return True
    return bool(trace_state_clean())


def is_concrete(x: Any, xp: Any) -> bool:
    """Whether the values of ``x`` can be read now without breaking tracing or laziness."""
    return all_concrete((x,), xp)


def all_concrete(arrays: Any, xp: Any) -> bool:
    """Whether the values of every array in ``arrays`` can be read now (one backend lookup
    and one compiler/trace test for all of them)."""
    name = backend_name(xp)
    if name == "dask":
        return False
    if name == "jax":
        import jax

        # A concrete array closed over by a jitted function is not a Tracer, but every op on
        # it inside the trace is staged: reading values is only safe outside any trace.
        if not _jax_trace_clean():
            return False
        tracer = jax.core.Tracer
        for x in arrays:  # loops, not any(generator): is_concrete is on every label check
            if isinstance(x, tracer):
                return False
    elif name == "torch":
        import torch

        if torch.compiler.is_compiling():
            return False
        wrapped = torch._C._functorch.is_functorch_wrapped_tensor
        for x in arrays:
            if wrapped(x):
                return False
    return True


def may_be_differentiated(a: Any, xp: Any) -> bool:
    """Whether a gradient with respect to ``a`` may be asked for (False: certainly not): a
    traced JAX array (an eager ``jax.grad`` traces only what it differentiates; ``jax.jit``
    traces everything), a torch tensor that requires grad."""
    if backend_name(xp) == "jax":
        import jax

        return isinstance(a, jax.core.Tracer)
    return bool(getattr(a, "requires_grad", False))


def check_labels_in_range(
    loss: str,
    arg: str,
    target: Any,
    num_classes: int,
    xp: Any,
    *,
    ignore_index: int | None = None,
) -> bool:
    """Class indices must lie in ``[0, num_classes)`` (``ignore_index`` excepted).

    Only checked on concrete arrays; this is the one place a loss reads array values.
    Returns True when every index was seen to lie in ``[0, num_classes)`` (a loss may then
    skip its ``ignore_index`` mask), False when unchecked, empty or some are ignored.
    """
    if not is_concrete(target, xp):
        return False
    if math.prod(target.shape) == 0:
        return False
    # Fast path, the common case: two reductions and two scalar reads (about half the cost
    # of the elementwise mask below at small sizes, which dominates a loss's overhead there).
    lo, hi = value_range(target, xp=xp)  # one pass on torch, the bare ufuncs on NumPy
    if lo >= 0 and hi < num_classes:
        return True
    valid = (target >= 0) & (target < num_classes)
    if ignore_index is not None:
        valid = valid | (target == ignore_index)
    if not bool(xp.all(valid)):
        bad = xp.where(valid, xp.zeros_like(target), target)
        lo, hi = int(xp.min(bad)), int(xp.max(bad))
        example = lo if lo < 0 else hi
        extra = f" or equal to ignore_index={ignore_index}" if ignore_index is not None else ""
        raise ValueError(
            f"{loss}: `{arg}` holds class indices that must lie in [0, {num_classes - 1}]"
            f"{extra}, found {example}"
        )
    return False
