"""Floating-point promotion and the low-precision policy.

* The result dtype of a loss is the promoted floating dtype of its floating array arguments
  (integer or boolean targets are cast to it; a non-floating ``input`` is a TypeError).
* float16 and bfloat16 are computed in float32 and the result is cast back: their 10- and
  7-bit mantissas lose too much in exp/log/sum (a float16 mean of 10^5 squared errors can
  overflow to inf while every element is finite).
"""

from __future__ import annotations

from typing import Any

from ._compat import isdtype
from ._validation import check_floating

__all__ = ["compute_dtype", "finish", "promote_floating"]

# Keyed per namespace: dtype objects of different libraries may hash alike but must not be
# compared with each other (array-api-strict warns when they are).
_LOW: dict[tuple[int, Any], bool] = {}


def _is_low_precision(dtype: Any, xp: Any) -> bool:
    key = (id(xp), dtype)
    low = _LOW.get(key)
    if low is None:
        low = _LOW[key] = xp.finfo(dtype).bits < 32
    return low


def _is_real_floating(dtype: Any, xp: Any) -> bool:
    return isdtype(dtype, "real floating", xp)


def compute_dtype(dtype: Any, xp: Any) -> Any:
    """The dtype arithmetic runs in for a result of ``dtype``."""
    return xp.float32 if _is_low_precision(dtype, xp) else dtype


def promote_floating(loss: str, xp: Any, /, **arrays: Any) -> tuple[Any, Any, list[Any]]:
    """Promote a loss's arrays to one floating dtype.

    The first keyword array is the loss's ``input`` and must be floating. Later ones that are
    floating take part in promotion; integer/boolean ones are cast; ``None`` and Python
    scalars pass through. Returns ``(result_dtype, compute_dtype, arrays_cast)``.
    """
    values = list(arrays.values())
    first = values[0]
    out = first.dtype
    if not _is_real_floating(out, xp):
        check_floating(loss, next(iter(arrays)), first, xp)  # raises the documented TypeError
    floats = None
    for a in values[1:]:
        if a is None or not hasattr(a, "dtype"):
            continue
        if a.dtype != out and _is_real_floating(a.dtype, xp):
            floats = [v for v in values if hasattr(v, "dtype") and _is_real_floating(v.dtype, xp)]
            break
    if floats is not None:  # mixed floating dtypes: the standard's promotion
        out = xp.result_type(*floats)
    work = compute_dtype(out, xp)
    if work is out and all(a is None for a in values[1:]):
        return out, work, values  # the common call: one floating input, nothing to cast
    cast = []
    for a in values:
        if a is None or not hasattr(a, "dtype") or a.dtype == work:
            cast.append(a)
        else:
            cast.append(xp.astype(a, work))
    return out, work, cast


def finish(result: Any, out_dtype: Any, xp: Any) -> Any:
    """Cast a result computed in a wider dtype back to the caller's dtype."""
    return result if result.dtype == out_dtype else xp.astype(result, out_dtype)


_INDEX_DTYPE: dict[int, Any] = {}


def index_dtype(xp: Any) -> Any:
    """The namespace's default indexing dtype (int32 on JAX without x64), cached per namespace."""
    dt = _INDEX_DTYPE.get(id(xp))
    if dt is None:
        dt = _INDEX_DTYPE[id(xp)] = xp.__array_namespace_info__().default_dtypes()["indexing"]
    return dt
