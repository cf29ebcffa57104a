"""Argument checks. Every error names the loss, the argument and what was expected.

Checks on *values* of arrays (labels in range, negative variances) run only when the
arrays are concrete (eager); under ``jax.jit``, ``torch.compile``, ``vmap`` or on lazy Dask
arrays they are skipped, never crashed: reading a value there would break tracing or force
an early compute.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

from ._compat import isdtype
from ._dispatch import backend_hook
from ._options import check_values_mode
from ._primitives import value_range

__all__ = [
    "REDUCTIONS",
    "check_floating",
    "check_index_target",
    "check_labels_in_range",
    "check_option",
    "check_reduction",
    "check_same_shape",
    "invalid_as_nan",
    "is_concrete",
    "labels_in_range",
    "may_be_differentiated",
    "shape_str",
    "values_readable",
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
    """A real number option (``delta=``, ``eps=``...): a Python or NumPy scalar (an array or
    a bool is refused); NaN is rejected."""
    if type(value) not in (int, float) and (
        isinstance(value, bool) or not isinstance(value, numbers.Real)
    ):
        raise TypeError(f"{loss}: `{arg}` must be a real number, got {type(value).__name__}")
    # ``value != value`` rather than math.isnan: under torch.compile(dynamic=True) a float
    # option is a symbolic float, which math.isnan cannot trace.
    if value != value:
        raise ValueError(f"{loss}: `{arg}` must be a number, got nan")
    return float(value)


def is_concrete(x: Any, xp: Any) -> bool:
    """Whether a value check may read ``x`` now: its values exist (not traced, compiling or
    lazy) and the ``check_values`` option allows the read (by default, on host arrays only:
    on an accelerator a read is a device synchronisation). See ``_options.py``."""
    return values_readable((x,), xp)


def values_readable(arrays: Any, xp: Any) -> bool:
    """:func:`is_concrete` for several arrays at once (one policy and backend look-up)."""
    mode = check_values_mode()
    if mode == "never" or not all_concrete(arrays, xp):
        return False
    if mode == "always":
        return True
    on_host = backend_hook(xp, "on_host")
    return True if on_host is None else bool(on_host(arrays))


def all_concrete(arrays: Any, xp: Any) -> bool:
    """Whether every array in ``arrays`` has its values now: not traced, not compiling, not
    lazy (the backend module answers; other libraries are always eager). Structural only:
    a value check asks :func:`is_concrete`, which also applies the ``check_values`` policy."""
    test = backend_hook(xp, "all_concrete")
    return True if test is None else bool(test(arrays))


def may_be_differentiated(a: Any, xp: Any) -> bool:
    """Whether a gradient with respect to ``a`` may be asked for (False: certainly not): a
    traced JAX array (an eager ``jax.grad`` traces only what it differentiates; ``jax.jit``
    traces everything), a torch tensor that requires grad."""
    test = backend_hook(xp, "may_be_differentiated")
    return False if test is None else bool(test(a))


def labels_in_range(
    target: Any, num_classes: int, xp: Any, *, ignore_index: int | None = None
) -> Any:
    """Boolean mask: each class index lies in ``[0, num_classes)`` or equals ``ignore_index``.
    For a loss whose label check could not run (:func:`is_concrete` False: traced, lazy, on
    an accelerator, ``check_values="never"``): pass it to :func:`invalid_as_nan`."""
    ok = (target >= 0) & (target < num_classes)
    if ignore_index is not None and not 0 <= ignore_index < num_classes:
        ok = ok | (target == ignore_index)
    return ok


def invalid_as_nan(loss: Any, ok: Any, xp: Any) -> Any:
    """``loss`` with NaN wherever ``ok`` (broadcast against it) is False: where a value check
    cannot run, a bad value shows in the result, never as a plausible number."""
    return xp.where(ok, loss, xp.full_like(loss, float("nan")))


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


def class_axis(loss: str, input: Any, axis: Any, *, batched: bool = False) -> int:
    """The class dimension of ``input`` in [0, ndim): ``axis`` of a batched input, 0 for an
    unbatched (C,) one. ``batched=True``: the input must be (N, C, ...), with the classes
    on any dimension but the batch dimension 0 (dense losses)."""
    if type(axis) is not int:
        if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
            raise TypeError(f"{loss}: `axis` must be an int, got {type(axis).__name__}")
        axis = int(axis)  # a NumPy integer
    ndim = input.ndim
    if batched and ndim < 2:
        raise ValueError(
            f"{loss}: `input` must have a batch and a class dimension (shape (N, C, ...)), "
            f"got {shape_str(input.shape)}"
        )
    if ndim == 0:
        raise ValueError(f"{loss}: `input` must have a class dimension, got a 0-d array")
    if ndim == 1:
        return 0
    if not -ndim <= axis < ndim:
        check_option(loss, "axis", axis, False, f"a valid dimension of the {ndim}-d input")
    ax = int(axis % ndim)
    if batched and ax == 0:
        raise ValueError(
            f"{loss}: `axis` must be a class dimension, not the batch dimension 0, got {axis!r}"
        )
    return ax


def check_ignore_index(loss: str, value: Any) -> int | None:
    """``ignore_index``: an int, or None (no target is ignored)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{loss}: `ignore_index` must be an int or None, got {value!r}")
    index = int(value)  # a NumPy integer too
    if not -(2**63) <= index < 2**63:
        raise ValueError(f"{loss}: `ignore_index` must fit in int64, got {index}")
    return index
