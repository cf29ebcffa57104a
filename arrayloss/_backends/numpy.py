"""NumPy: native primitives on the ufuncs directly (in place where the caller owns the
array, block by block where a chain of steps should stay in cache). NumPy has no autodiff,
no tracing and no laziness: every array is concrete. Imported by
``arrayloss._lib._dispatch`` when a NumPy array first meets a loss.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ._constants import LOG_COSH_CLIP, SMALL_RANGE

__all__ = ["primitives"]

# Elements per block of the in-place log_cosh: 256 KiB of float32, within L2.
_NP_BLOCK = 1 << 16
# The generic kernels this module falls back on, handed down by the dispatcher when the
# table is built (arrayloss/_lib/_dispatch.py): backends never import _lib.
_GENERIC: dict[str, Callable[..., Any]] = {}


def logsumexp_(x: Any, /, *, axis: int, keepdims: bool = False, xp: Any) -> Any:
    # The generic formula (same roundings), on the ufuncs directly (array-api-compat's
    # wrappers and np.max/np.sum cost a few microseconds per call at small sizes) and
    # with one (N, C) temporary: exp runs in place on the shifted copy.
    m = np.maximum.reduce(x, axis=axis, keepdims=True)
    finite = np.isfinite(m)
    if not finite.all():  # NumPy is always eager: branch on the values
        m = np.where(finite, m, np.zeros((), dtype=m.dtype))
    e = x - m
    np.exp(e, out=e)
    out = np.log(np.add.reduce(e, axis=axis, keepdims=True))
    out += m
    return out if keepdims else np.squeeze(out, axis=axis)

def take_along_axis_(x: Any, i: Any, /, *, axis: int, xp: Any) -> Any:
    # np.take_along_axis builds an index grid per call; the common (N, C) case with one
    # index per row is a fancy index.
    if x.ndim == 2 and axis in (1, -1) and i.shape == (x.shape[0], 1):
        return x[np.arange(x.shape[0])[:, None], i]
    return np.take_along_axis(x, i, axis=axis)

def value_range_(x: Any, /, *, xp: Any) -> tuple[int, int]:
    if 0 < x.size <= SMALL_RANGE:  # a few values: one read beats two reductions
        v = x.ravel().tolist()
        return int(min(v)), int(max(v))
    return int(np.minimum.reduce(x, axis=None)), int(np.maximum.reduce(x, axis=None))

def add_at_rows_(acc: Any, i: Any, v: Any, /, *, xp: Any) -> Any:
    np.add.at(acc, i, v)
    return acc

def _in_place_ok(a: Any, b: Any) -> bool:
    # a op b may overwrite a: a writeable array that keeps its shape and dtype
    return bool(a.flags.writeable) and np.result_type(a, b) == a.dtype and (
        np.broadcast_shapes(a.shape, np.shape(b)) == a.shape
    )

def scratch_(shape: tuple[int, ...], dtype: Any, like: Any, /, *, xp: Any) -> Any:
    return np.empty(shape, dtype=dtype)

def matmul_into_(buf: Any, a: Any, b: Any, /, *, add: Any = None, xp: Any) -> Any:
    if (
        buf is None
        or buf.shape != (a.shape[0], b.shape[1])
        or buf.dtype != np.result_type(a, b)
        or (add is not None and np.result_type(buf, add) != buf.dtype)
    ):
        return _GENERIC["matmul_into"](None, a, b, add=add, xp=xp)
    np.matmul(a, b, out=buf)
    if add is not None:
        buf += add
    return buf

def exp_shifted_owned_(z: Any, m: Any, /, *, xp: Any) -> Any:
    if not _in_place_ok(z, m):
        return np.exp(z - m)
    np.subtract(z, m, out=z)
    return np.exp(z, out=z)

def scale_owned_(a: Any, s: Any, /, *, xp: Any) -> Any:
    if not _in_place_ok(a, s):
        return a * s
    return np.multiply(a, s, out=a)

# clamped_log's lower bound per (dtype, floor): the largest value whose log is <= floor
tinies: dict[tuple[Any, float], Any] = {}

def clamped_log_(p: Any, floor: float, /, *, xp: Any) -> Any:
    # max(log(max(p, tiny)), floor) is the generic formula's value (NumPy has no
    # gradient to keep): p <= 0 and p < tiny give floor, NaN stays NaN. Three ufuncs
    # and one temporary instead of the masks.
    key = (p.dtype, floor)
    tiny = tinies.get(key)
    if tiny is None:
        tiny = np.asarray(math.exp(floor), dtype=p.dtype)
        while tiny > 0 and np.log(tiny) > floor:
            tiny = np.nextafter(tiny, np.zeros((), dtype=p.dtype))
        tinies[key] = tiny
    if not tiny > 0:  # e^floor underflows the dtype
        return _GENERIC["clamped_log"](p, floor, xp=xp)
    out = np.maximum(p, tiny, out=np.empty_like(p))
    np.log(out, out=out)
    return np.maximum(out, floor, out=out)

def xlogy_(x: Any, y: Any, /, *, xp: Any) -> Any:
    # the generic formula's values (0 wherever x == 0, NaN y included) with no gradient
    # to guard: log(where(x == 0, 1, y)) in place, times x in place. Four passes and one
    # float temporary instead of the generic's eight.
    r = np.where(x == 0, np.ones((), dtype=y.dtype), y)
    if not np.issubdtype(r.dtype, np.inexact):
        return _GENERIC["xlogy"](x, y, xp=xp)
    np.log(r, out=r)
    return np.multiply(x, r, out=r) if _in_place_ok(r, x) else x * r

def log_cosh_(d: Any, /, *, xp: Any) -> Any:
    # log1p(2 sinh^2(c / 2)) + (|d| - c), c = min(|d|, 40): cosh c - 1 = 2 sinh^2(c / 2)
    # exactly, so the same accuracy as the generic formula from two transcendental
    # ufuncs instead of three, in place, in blocks that stay in cache: no fresh
    # full-size temporaries.
    if not (isinstance(d, np.ndarray) and d.dtype.kind == "f" and d.ndim):
        return _GENERIC["log_cosh"](d, xp=xp)
    out = np.empty(d.shape, dtype=d.dtype)
    flat_out, flat_d = out.reshape(-1), d.reshape(-1)
    n = flat_d.size
    s = np.empty(min(n, _NP_BLOCK), dtype=d.dtype)
    for start in range(0, n, _NP_BLOCK):
        o = flat_out[start : start + _NP_BLOCK]
        c = s[: o.size]
        np.abs(flat_d[start : start + _NP_BLOCK], out=o)
        np.minimum(o, LOG_COSH_CLIP, out=c)
        o -= c  # |d| - c
        c *= 0.5
        np.sinh(c, out=c)
        np.multiply(c, c, out=c)
        c *= 2.0
        np.log1p(c, out=c)
        o += c
    return out


def primitives(generic: Mapping[str, Callable[..., Any]]) -> dict[str, Callable[..., Any]]:
    """The native primitive table; ``generic`` holds the generic kernels a native version
    falls back on for the cases it declines."""
    _GENERIC.update(generic)
    # NumPy alone (no SciPy): logaddexp is a fused, stable softplus.
    return {
        "log_cosh": log_cosh_,
        "xlogy": xlogy_,
        "clamped_log": clamped_log_,
        # no gradient to guard: the root itself (sqrt(0) = 0, NaN propagates)
        "safe_root": lambda s, /, *, p=2.0, xp: np.sqrt(s) if p == 2 else s ** (1.0 / p),
        "logsumexp": logsumexp_,
        "take_along_axis": take_along_axis_,
        "value_range": value_range_,
        "add_at_rows": add_at_rows_,
        "exp_shifted_owned": exp_shifted_owned_,
        "scale_owned": scale_owned_,
        "relu": lambda x, /, *, xp: np.maximum(x, np.zeros((), dtype=x.dtype)),
        "scratch": scratch_,
        "matmul_into": matmul_into_,
        "softplus": lambda x, /, *, xp: np.logaddexp(np.zeros((), dtype=x.dtype), x),
        "log_sigmoid": lambda x, /, *, xp: -np.logaddexp(np.zeros((), dtype=x.dtype), -x),
    }
