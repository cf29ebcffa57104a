"""Numerically critical building blocks, each written once against the array API.

Every primitive is a generic kernel (``_generic_*`` below) wrapped by
:func:`~arrayloss._lib._dispatch.primitive`: where a backend module
(``arrayloss/_backends/<library>.py``) has a native twin with exactly the same semantics
(``torch.nn.functional.log_softmax``, ``jax.nn.logsumexp``...), calls on that library's
arrays run it. ``force_generic()`` / ``ARRAYLOSS_FORCE_GENERIC=1`` runs the generic kernels
only, so the tests compare both paths on every backend.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._backends._constants import LOG_COSH_CLIP as _LOG_COSH_CLIP
from . import _create as create
from ._dispatch import (
    force_generic,
    generic_forced,
    native_checks_labels,
    native_loss,
    primitive,
)

__all__ = [
    "add_at_rows",
    "add_matmul",
    "all_signs",
    "all_zero_or_one",
    "clamped_log",
    "divide_exact",
    "exp_shifted_owned",
    "floor_straight_through",
    "force_generic",
    "generic_forced",
    "huber_elements",
    "log_cosh",
    "log_sigmoid",
    "log_softmax",
    "logsumexp",
    "matmul_into",
    "native_checks_labels",
    "native_loss",
    "one_hot",
    "recomputed",
    "relu",
    "safe_root",
    "scale_owned",
    "scratch",
    "sigmoid",
    "softmax",
    "softplus",
    "squared_log1p_diff",
    "stop_gradient",
    "sum_ratio",
    "take_along_axis",
    "value_range",
    "xlogy",
]

# ---------------------------------------------------------------------------------------------
# Generic kernels (array API only)
# ---------------------------------------------------------------------------------------------


def _generic_logsumexp(x: Any, /, *, axis: int, keepdims: bool = False, xp: Any) -> Any:
    # Shift by the max so exp never overflows; a row of -inf (or +inf) would give
    # inf - inf = nan, so a non-finite max is replaced by 0 before shifting.
    m = xp.max(x, axis=axis, keepdims=True)
    m = xp.where(xp.isfinite(m), m, xp.zeros_like(m))
    # The shift is a constant for the gradient (d lse/dx = softmax either way); stopping its
    # gradient saves autodiff a pass through max's tie-breaking.
    m = stop_gradient(m, xp=xp)
    out = xp.log(xp.sum(xp.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else xp.squeeze(out, axis=axis)


def _generic_log_softmax(x: Any, /, *, axis: int, xp: Any) -> Any:
    return x - logsumexp(x, axis=axis, keepdims=True, xp=xp)


def _generic_softmax(x: Any, /, *, axis: int, xp: Any) -> Any:
    m = stop_gradient(xp.max(x, axis=axis, keepdims=True), xp=xp)
    e = xp.exp(x - m)
    return e / xp.sum(e, axis=axis, keepdims=True)


def _generic_softplus(x: Any, /, *, xp: Any) -> Any:
    # log(1 + e^x) = max(x, 0) + log1p(e^-|x|): finite for |x| > 88 where e^x overflows
    # float32, and log1p keeps full precision when e^-|x| is tiny.
    return xp.maximum(x, xp.zeros_like(x)) + xp.log1p(xp.exp(-xp.abs(x)))


def _generic_log_sigmoid(x: Any, /, *, xp: Any) -> Any:
    # log(sigmoid(x)) = -softplus(-x) = min(x, 0) - log1p(e^-|x|), stable for both signs.
    return xp.minimum(x, xp.zeros_like(x)) - xp.log1p(xp.exp(-xp.abs(x)))


def _generic_sigmoid(x: Any, /, *, xp: Any) -> Any:
    # exp of a non-positive number only: no overflow for large |x|.
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _generic_xlogy(x: Any, y: Any, /, *, xp: Any) -> Any:
    # x * log(y) with 0 * log(0) = 0. The inner where keeps log's argument positive where
    # x == 0, so the *gradient* is 0 there too instead of 0 * inf = nan.
    zero = x == 0
    safe_y = xp.where(zero, xp.ones_like(y), y)
    return xp.where(zero, xp.zeros_like(x * safe_y), x * xp.log(safe_y))


def _generic_take_along_axis(x: Any, indices: Any, /, *, axis: int, xp: Any) -> Any:
    if hasattr(xp, "take_along_axis"):
        return xp.take_along_axis(x, indices, axis=axis)
    # Libraries without take_along_axis (dask): select with a one-hot mask over a new last
    # axis. O(K C) extra work for K indices along an axis of C, but only comparisons, a
    # where (no 0 * inf = nan from the unselected values) and a sum, which every library has.
    axis = axis % x.ndim
    xm = xp.moveaxis(x, axis, -1)[..., None, :]  # (..., 1, C)
    im = xp.moveaxis(indices, axis, -1)[..., None]  # (..., K, 1)
    classes = create.arange(x.shape[axis], indices, xp=xp, dtype=indices.dtype)
    picked = xp.sum(xp.where(im == classes, xm, xp.zeros_like(xm)), axis=-1)  # (..., K)
    return xp.moveaxis(picked, -1, axis)


def _generic_one_hot(
    indices: Any, num_classes: int, /, *, dtype: Any, axis: int = -1, xp: Any
) -> Any:
    """``indices`` of shape S -> one-hot of shape S with a new class axis at ``axis``."""
    classes = create.arange(num_classes, indices, xp=xp, dtype=indices.dtype)
    if axis < 0:
        axis += indices.ndim + 1
    shape = [1] * (indices.ndim + 1)
    shape[axis] = num_classes
    classes = xp.reshape(classes, tuple(shape))
    idx = xp.expand_dims(indices, axis=axis)
    return xp.astype(idx == classes, dtype)


def _generic_clamped_log(p: Any, floor: float, /, *, xp: Any) -> Any:
    """``max(log(p), floor)`` (torch's BCE clamps its logs at -100), with gradient ``1/p``
    where ``log(p) > floor`` and 0 elsewhere: at ``p == 0`` the value is ``floor`` and the
    gradient 0 (the inner where keeps ``log``'s argument positive, else 0 * inf = nan). A NaN
    ``p`` gives NaN (``p <= 0`` is false for it)."""
    low = p <= 0
    lo = create.constant(floor, p, xp=xp)
    logp = xp.log(xp.where(low, xp.ones_like(p), p))
    return xp.where(low, lo, xp.maximum(logp, lo))



def _generic_log_cosh(d: Any, /, *, xp: Any) -> Any:
    """``log(cosh(d))``, within 6 ulp in float32 and float64 and finite for any ``d``.

    With ``a = |d|``, ``c = min(a, 40)``, ``e = exp(-c)`` and ``m = expm1(-c) = e - 1``:
    ``log1p(m^2 / (2 e)) + (a - c)``, since ``cosh c - 1 = m^2 / (2 e)`` exactly; ``m``
    keeps the digits near 0 that ``a + softplus(-2a) - log 2`` cancels away, and past 40
    the clip keeps every step (the gradient ``tanh(d)`` too) away from overflow. One
    expression, no ``where``: XLA on CPU fuses it into the reduction after it.
    """
    a = xp.abs(d)
    c = xp.minimum(a, create.constant(_LOG_COSH_CLIP, a, xp=xp))
    e = xp.exp(-c)
    m = xp.expm1(-c)
    return xp.log1p(m * m / (2.0 * e)) + (a - c)


def _generic_all_zero_or_one(x: Any, /, *, xp: Any) -> Any:
    """0-d boolean: every element of ``x`` is 0 or 1 (True for an empty ``x``; NaN is
    neither). Generically ``all((x == 0) | (x == 1))``: boolean temporaries, the cheapest
    on torch and NumPy."""
    return xp.all((x == 0) | (x == 1))


def _generic_all_signs(x: Any, /, *, xp: Any) -> Any:
    """0-d boolean: every element of ``x`` is -1 or 1 (True for an empty ``x``). Generically
    ``all((x == 1) | (x == -1))``; eager torch reads ``min |x| == max |x| == 1`` and returns a
    CPU 0-d boolean."""
    return xp.all((x == 1) | (x == -1))


def _generic_safe_root(s: Any, /, *, p: float = 2.0, xp: Any) -> Any:
    """``s ** (1/p)`` of a non-negative ``s`` with a zero gradient where ``s == 0``.

    Double where: the root's derivative at 0 is infinite (``0 * inf = nan`` downstream), so
    it is evaluated at 1 there and the result replaced by 0. The mask is ``s != 0``, not
    ``s > 0``, so a NaN reaches the root and propagates.
    """
    pos = s != 0
    safe = xp.where(pos, s, xp.ones_like(s))
    root = xp.sqrt(safe) if p == 2 else safe ** (1.0 / p)
    return xp.where(pos, root, xp.zeros_like(s))


def _generic_relu(x: Any, /, *, xp: Any) -> Any:
    """``max(x, 0)`` with gradient 0 at ``x == 0`` (torch's ``relu``) and NaN propagating
    (``x <= 0`` is false for NaN). The natives (``torch.relu``, ``jax.nn.relu``) have no
    select in the value, which XLA on CPU would not fuse into a reduction."""
    return xp.where(x <= 0, xp.zeros_like(x), x)


def _generic_stop_gradient(x: Any, /, *, xp: Any) -> Any:
    return x  # libraries without autodiff have no gradient to stop


def _generic_floor_straight_through(x: Any, /, *, floor: float, xp: Any) -> Any:
    """``max(x, floor)`` in value, the identity in gradient (torch's gaussian_nll_loss clamps
    its variance in place under ``no_grad``): generically ``x + stop_gradient(max(x, floor)
    - x)``, three ops and a 0-d floor; eager torch clamps a clone in place through a
    detached view (one op and the clone)."""
    c = xp.maximum(x, create.constant(floor, x, xp=xp))
    return x + stop_gradient(c - x, xp=xp)


def _generic_add_matmul(acc: Any, a: Any, b: Any, /, *, xp: Any) -> Any:
    """``acc + a @ b``: a chunked loop's accumulator (torch updates ``acc`` in place, with
    no (M, N) temporary: the caller must own ``acc`` and not differentiate through it)."""
    return acc + xp.matmul(a, b)


def _generic_add_at_rows(acc: Any, idx: Any, values: Any, /, *, xp: Any) -> Any:
    """``acc`` with ``values[i]`` added to row ``idx[i]`` (repeated indices add up): a
    scatter-add, which the standard lacks; generically a one-hot matmul (torch, JAX and
    NumPy scatter natively; torch and NumPy in place: the caller must own ``acc``)."""
    hot = _generic_one_hot(idx, acc.shape[0], dtype=values.dtype, axis=-1, xp=xp)
    return acc + xp.matmul(xp.matrix_transpose(hot), values)


def _generic_scale_owned(a: Any, s: Any, /, *, xp: Any) -> Any:
    """``a * s`` for an array the caller owns (torch scales it in place, no second copy)."""
    return a * s


def _generic_exp_shifted_owned(z: Any, shift: Any, /, *, xp: Any) -> Any:
    """``exp(z - shift)`` for an array ``z`` the caller owns and no longer needs (torch and
    NumPy compute it in place, in ``z``'s memory: no second chunk-sized array)."""
    return xp.exp(z - shift)


def _generic_scratch(shape: tuple[int, ...], dtype: Any, like: Any, /, *, xp: Any) -> Any:
    """A reusable uninitialised array for :func:`matmul_into`, or None where arrays cannot
    be written in place (generically: None; torch and NumPy: ``empty``)."""
    return None


def _generic_matmul_into(buf: Any, a: Any, b: Any, /, *, add: Any = None, xp: Any) -> Any:
    """``a @ b (+ add)``, written into ``buf`` (from :func:`scratch`) where the library can
    and ``buf`` has the result's shape and dtype, else a new array. The caller must not
    need ``buf``'s earlier contents."""
    out = xp.matmul(a, b)
    return out if add is None else out + add


def _generic_divide_exact(x: Any, d: Any, /, *, xp: Any) -> Any:
    """``x / d`` correctly rounded, ``d`` broadcast against ``x``. XLA rewrites a division by
    a broadcast as a multiplication by the reciprocal (up to 1 ulp more error); on JAX the
    broadcast divisor passes an optimization barrier, so the division stays one (and the
    broadcast divisor is materialised). For a result whose rounding is amplified later
    (info_nce_loss's unit vectors, scaled by 1/temperature); elsewhere plain ``/`` fuses."""
    return x / d


def _generic_squared_log1p_diff(a: Any, b: Any, /, *, floor: float, xp: Any) -> Any:
    """``(log1p(max(a, floor)) - log1p(max(b, floor)))^2`` for ``floor > -1``
    (msle_loss's elements, Keras's clamp). Under ``jax.jit`` it is
    ``log1p(|a - b| / (1 + min(a, b)))^2`` of the clamped pair: one transcendental, not two
    (XLA's CPU log1p is the costly part of the fused loop), no cancellation when ``a`` is
    close to ``b``, inf for one infinite argument (the smaller one is the divisor), and a
    gradient of one division and one mask (the clamp's gradient is 1 from ``floor`` up; a
    clip here too: torch's ``maximum`` would halve it at ``a == floor``)."""
    d = xp.log1p(xp.clip(a, floor)) - xp.log1p(xp.clip(b, floor))
    return d * d


def _generic_recomputed(fn: Callable[..., Any], /, *arrays: Any, xp: Any) -> Any:
    """``fn(*arrays)``: a loss's elementwise terms, which an autodiff backend recomputes from
    ``arrays`` in the backward pass rather than keep what the value and the gradient share.
    Under JAX (traced arrays) it is ``jax.checkpoint(fn)``: XLA on CPU otherwise
    materialises the shared ``x - y`` between the value's fused reduction and the gradient's
    loop under ``jax.value_and_grad``; recomputed, the value is one pass over the inputs and
    the gradient another. ``fn`` uses the arrays' own operators (or ``xp``) only."""
    return fn(*arrays)


def _generic_huber_elements(x: Any, y: Any, /, *, delta: float, xp: Any) -> Any:
    """Huber's elements of ``d = x - y``: ``0.5 d^2`` for ``|d| < delta``, else
    ``delta (|d| - 0.5 delta)``, as ``e (|d| - e / 2)`` with ``e = min(|d|, delta)``:
    rounded exactly like torch's two branches, with no select (XLA on CPU does not fuse a
    select into the reduction after it). Under JAX the derivative is written out: the slope
    ``clip(d, -delta, delta)``, whose own derivative is 1 below ``delta`` and 0 from it on
    (autodiff through ``min`` splits the tie: a second derivative of 0.75 at
    ``|d| = delta``, where torch's is 0, and two compares, two selects and a division
    in the backward pass). Torch runs its own kernel unreduced (its double backward is 0
    there too)."""
    ad = xp.abs(x - y)
    e = xp.minimum(ad, delta)  # (NumPy's clip has a far larger per-call cost)
    return e * (ad - 0.5 * e)


def _generic_sum_ratio(num: Any, den: Any, /, *, xp: Any) -> Any:
    """``sum(num) / sum(den)`` for two arrays of one shape and dtype: a weighted mean over
    its summed weights (0/0 = nan when every weight is 0). Under ``jax.jit`` both sums are
    one reduction of the stacked pair (XLA on CPU runs each reduction as its own kernel)."""
    return xp.sum(num) / xp.sum(den)



def _generic_value_range(x: Any, /, *, xp: Any) -> tuple[int, int]:
    """``(min, max)`` of a non-empty concrete integer array, as Python ints (label checks)."""
    return int(xp.min(x)), int(xp.max(x))


# ---------------------------------------------------------------------------------------------
# The dispatching primitives (arrayloss/_lib/_dispatch.py picks a backend's native twin)
# ---------------------------------------------------------------------------------------------

logsumexp = primitive("logsumexp", _generic_logsumexp)
log_softmax = primitive("log_softmax", _generic_log_softmax)
softmax = primitive("softmax", _generic_softmax)
softplus = primitive("softplus", _generic_softplus)
log_sigmoid = primitive("log_sigmoid", _generic_log_sigmoid)
sigmoid = primitive("sigmoid", _generic_sigmoid)
xlogy = primitive("xlogy", _generic_xlogy)
take_along_axis = primitive("take_along_axis", _generic_take_along_axis)
one_hot = primitive("one_hot", _generic_one_hot)
stop_gradient = primitive("stop_gradient", _generic_stop_gradient, semantic=True)
clamped_log = primitive("clamped_log", _generic_clamped_log)
divide_exact = primitive("divide_exact", _generic_divide_exact)
log_cosh = primitive("log_cosh", _generic_log_cosh)
huber_elements = primitive("huber_elements", _generic_huber_elements)
relu = primitive("relu", _generic_relu)
recomputed = primitive("recomputed", _generic_recomputed)
all_zero_or_one = primitive("all_zero_or_one", _generic_all_zero_or_one)
all_signs = primitive("all_signs", _generic_all_signs)
floor_straight_through = primitive("floor_straight_through", _generic_floor_straight_through)
safe_root = primitive("safe_root", _generic_safe_root)
value_range = primitive("value_range", _generic_value_range)
sum_ratio = primitive("sum_ratio", _generic_sum_ratio)
squared_log1p_diff = primitive("squared_log1p_diff", _generic_squared_log1p_diff)
add_matmul = primitive("add_matmul", _generic_add_matmul)
add_at_rows = primitive("add_at_rows", _generic_add_at_rows)
scale_owned = primitive("scale_owned", _generic_scale_owned)
exp_shifted_owned = primitive("exp_shifted_owned", _generic_exp_shifted_owned)
scratch = primitive("scratch", _generic_scratch)
matmul_into = primitive("matmul_into", _generic_matmul_into)
