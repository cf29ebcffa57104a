"""Numerically critical building blocks: one stable generic version each, plus ONE table of
native overrides per backend.

Every primitive is written once against the array API (``_generic_*`` below). Where a backend
ships a kernel with exactly the same semantics (``torch.nn.functional.log_softmax``,
``jax.nn.logsumexp``...), the table ``_NATIVE`` maps ``(primitive, backend)`` to a factory
that imports the backend lazily and returns the kernel, or ``None`` to decline. The choice
is resolved once per (primitive, namespace) and cached.

``force_generic()`` (a context manager) or the environment variable
``ARRAYLOSS_FORCE_GENERIC=1`` bypasses the table, so the test-suite runs both paths on every
backend. Whole-loss kernels (``cross_entropy`` -> ``torch.nn.functional.cross_entropy`` when
every option maps exactly) are declared in the same table under the loss's name and looked
up with :func:`native_loss`.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Callable, Iterator
from typing import Any

from ._compat import backend_name
from ._compat import device as _device
from ._plans import clear_plans, enable_plans

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
    classes = xp.arange(x.shape[axis], dtype=indices.dtype)
    picked = xp.sum(xp.where(im == classes, xm, xp.zeros_like(xm)), axis=-1)  # (..., K)
    return xp.moveaxis(picked, -1, axis)


def _generic_one_hot(
    indices: Any, num_classes: int, /, *, dtype: Any, axis: int = -1, xp: Any
) -> Any:
    """``indices`` of shape S -> one-hot of shape S with a new class axis at ``axis``."""
    classes = xp.arange(num_classes, dtype=indices.dtype)
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
    lo = xp.asarray(floor, dtype=p.dtype, device=_device(p))
    logp = xp.log(xp.where(low, xp.ones_like(p), p))
    return xp.where(low, lo, xp.maximum(logp, lo))


# log_cosh: past |d| = 40, log cosh d = log cosh 40 + (|d| - 40) to within e^-80; in the
# generic formula e^-40 squared also stays a normal float32 (it divides by e^-c).
_LOG_COSH_CLIP = 40.0
# Elements per block of NumPy's in-place log_cosh: 256 KiB of float32, within L2.
_NP_BLOCK = 1 << 16


def _generic_log_cosh(d: Any, /, *, xp: Any) -> Any:
    """``log(cosh(d))``, within 6 ulp in float32 and float64 and finite for any ``d``.

    With ``a = |d|``, ``c = min(a, 40)``, ``e = exp(-c)`` and ``m = expm1(-c) = e - 1``:
    ``log1p(m^2 / (2 e)) + (a - c)``, since ``cosh c - 1 = m^2 / (2 e)`` exactly; ``m``
    keeps the digits near 0 that ``a + softplus(-2a) - log 2`` cancels away, and past 40
    the clip keeps every step (the gradient ``tanh(d)`` too) away from overflow. One
    expression, no ``where``: XLA on CPU fuses it into the reduction after it.
    """
    a = xp.abs(d)
    c = xp.minimum(a, xp.asarray(_LOG_COSH_CLIP, dtype=a.dtype, device=_device(a)))
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
    detached view (one op and the clone: 3.9 us at 80 elements, 12.4 generically)."""
    c = xp.maximum(x, xp.asarray(floor, dtype=x.dtype))
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
    select into the reduction after it: 3x slower under ``jax.jit`` than optax's
    ``huber_loss`` at 10^7 elements). Under JAX the derivative is written out: the slope
    ``clip(d, -delta, delta)``, whose own derivative is 1 below ``delta`` and 0 from it on
    (autodiff through ``min`` splits the tie: a second derivative of 0.75 at
    ``|d| = delta``, where torch's is 0, and two compares, two selects and a division
    in the backward pass). Torch runs its own kernel unreduced (its double backward is 0
    there too)."""
    ad = xp.abs(x - y)
    e = xp.minimum(ad, delta)  # (clip costs NumPy 7 us at tiny sizes, minimum 0.6 us)
    return e * (ad - 0.5 * e)


def _generic_sum_ratio(num: Any, den: Any, /, *, xp: Any) -> Any:
    """``sum(num) / sum(den)`` for two arrays of one shape and dtype: a weighted mean over
    its summed weights (0/0 = nan when every weight is 0). Under ``jax.jit`` both sums are
    one reduction of the stacked pair (XLA on CPU runs each reduction as its own kernel)."""
    return xp.sum(num) / xp.sum(den)


# Up to this many values, value_range reads them into Python and takes min and max there
# (cheaper than two reductions and two scalar reads; at 32 elements the two cost the same).
_SMALL_RANGE = 16
# Up to this many values, all_signs reads them into Python and tests them there.
_SMALL_SIGNS = 64
_SIGNS = frozenset({1, -1})  # 1.0 == 1: the floats too; NaN and -0.0 are not in it


def _generic_value_range(x: Any, /, *, xp: Any) -> tuple[int, int]:
    """``(min, max)`` of a non-empty concrete integer array, as Python ints (label checks)."""
    return int(xp.min(x)), int(xp.max(x))


# ---------------------------------------------------------------------------------------------
# The native-override table: (primitive, backend) -> factory(xp) -> kernel | None
# ---------------------------------------------------------------------------------------------


def _torch_natives() -> dict[str, Callable[..., Any]]:
    import torch
    import torch.nn.functional as F

    def one_hot_(indices: Any, num_classes: int, /, *, dtype: Any, axis: int = -1, xp: Any) -> Any:
        if axis not in (-1, indices.ndim):
            return _generic_one_hot(indices, num_classes, dtype=dtype, axis=axis, xp=xp)
        return F.one_hot(indices.long(), num_classes).to(dtype)

    # targets F.cross_entropy takes as they are: int64 indices and floating probabilities
    _TORCH_CE_TARGET = frozenset(
        {torch.int64, torch.float16, torch.bfloat16, torch.float32, torch.float64}
    )

    def value_range_(x: Any, /, *, xp: Any) -> tuple[int, int]:
        if 0 < x.numel() <= _SMALL_RANGE:
            # lengths and a few labels: one read of the values (1.4 us at 8 elements) in
            # place of aminmax and two scalar reads (3.3 us); one sync on CUDA, not two
            v = (x if x.ndim == 1 else x.reshape(-1)).tolist()
            return int(min(v)), int(max(v))
        lo, hi = torch.aminmax(x)  # one pass instead of min and max
        return int(lo), int(hi)

    from . import _torch_function
    from ._torch_function import LogCosh, LogCoshTransformed, SquaredLog1pDiff

    read: dict[bool, Any] = {}  # all_signs' answers once read (made eagerly, on first use)

    def answer(flag: bool) -> Any:
        if (t := read.get(flag)) is None:
            t = read[flag] = torch.tensor(flag)
        return t

    def all_signs_(x: Any, /, *, xp: Any) -> Any:
        # min |x| = max |x| = 1: one aminmax per block of 2^18 elements (a block's |x| stays
        # in cache), two scalar reads: 4.3 us at 64 elements, 39 us at 256k, where the
        # boolean masks take 7 and 730 us. Up to _SMALL_SIGNS values, one read of them into
        # Python (2.8 us at 8, 3.6 at 64; 6.1 at 128, where aminmax takes 4.3). Each op
        # counts twice: a tiny loss's backward ran 15-50 us slower after the check's
        # temporaries than without them (fewer ops, less of that).
        if x.dtype == torch.bool or not eager() or wrapped(x):
            return _generic_all_signs(x, xp=xp)
        n = x.numel()
        if n <= _SMALL_SIGNS:
            flat = x if x.ndim == 1 else x.reshape(-1)
            return answer(_SIGNS.issuperset(flat.tolist()))
        if n <= 1 << 18:  # one block: no flattened view, no slice
            lo, hi = torch.aminmax(x.detach().abs())
            return answer(float(lo) == 1 and float(hi) == 1)  # NaN: False
        flat = x.detach().reshape(-1)
        for start in range(0, n, 1 << 18):
            lo, hi = torch.aminmax(flat[start : start + (1 << 18)].abs())
            if float(lo) != 1 or float(hi) != 1:  # NaN too
                return answer(False)
        return answer(True)

    def floor_straight_through_(x: Any, /, *, floor: float, xp: Any) -> Any:
        if not eager() or wrapped(x) or not x.is_floating_point():
            return _generic_floor_straight_through(x, floor=floor, xp=xp)
        y = x.clone()  # its backward saves nothing, so the in-place clamp is safe
        y.detach().clamp_min_(floor)  # NaN stays NaN
        return y

    def log_cosh_(d: Any, /, *, xp: Any) -> Any:
        if torch.compiler.is_compiling() or not d.is_floating_point():
            return _generic_log_cosh(d, xp=xp)
        # the block loop (and its per-block aminmax read) is for CPU caches: on a GPU it
        # would be many launches and a sync per block
        if d.device.type != "cpu" or transforms() is not None or wrapped(d):
            return LogCoshTransformed.apply(d)  # type: ignore[no-untyped-call]
        return LogCosh.apply(d)  # type: ignore[no-untyped-call]

    def squared_log1p_diff_(a: Any, b: Any, /, *, floor: float, xp: Any) -> Any:
        grad = torch.is_grad_enabled() and (a.requires_grad or b.requires_grad)
        if (
            a.numel()
            >= (_torch_function.MSLE_MIN_GRAD if grad else _torch_function.MSLE_MIN_VALUE)
            and eager()
            and a.device.type == "cpu"  # a block loop is for caches, not GPU launches
            and a.shape == b.shape
            and a.dtype == b.dtype
            and a.is_floating_point()
            and b.device == a.device
            and not wrapped(a)
            and not wrapped(b)
        ):
            return SquaredLog1pDiff.apply(a, b, floor)  # type: ignore[no-untyped-call]
        return _generic_squared_log1p_diff(a, b, floor=floor, xp=xp)

    def huber_elements_(x: Any, y: Any, /, *, delta: float, xp: Any) -> Any:
        if x.shape == y.shape and x.dtype == y.dtype and x.is_floating_point():
            return F.huber_loss(x, y, reduction="none", delta=delta)
        return _generic_huber_elements(x, y, delta=delta, xp=xp)

    wrapped = torch._C._functorch.is_functorch_wrapped_tensor
    transforms = torch._C._functorch.peek_interpreter_stack

    def eager() -> bool:
        # is_compiling first: Dynamo folds it to True and never reaches the C function
        return not torch.compiler.is_compiling() and transforms() is None

    enable_plans(torch.Tensor, eager)

    def scratch_(shape: tuple[int, ...], dtype: Any, like: Any, /, *, xp: Any) -> Any:
        if torch.compiler.is_compiling() or wrapped(like):
            return None  # the compiler plans buffers; vmap/grad wrappers write elsewhere
        return torch.empty(shape, dtype=dtype, device=like.device)

    def matmul_into_(buf: Any, a: Any, b: Any, /, *, add: Any = None, xp: Any) -> Any:
        if (
            buf is None
            or tuple(buf.shape) != (a.shape[0], b.shape[1])
            or buf.dtype != torch.result_type(a, b)
            or (torch.is_grad_enabled() and (a.requires_grad or b.requires_grad))
            or (add is not None and (add.requires_grad or add.dtype != buf.dtype))
        ):
            return _generic_matmul_into(None, a, b, add=add, xp=xp)
        if add is None:
            return torch.matmul(a, b, out=buf)
        return torch.addmm(add, a, b, out=buf)

    def owned(a: Any, b: Any) -> bool:
        """Whether ``a op b`` may overwrite ``a``: no autograd history to keep, no functorch
        wrapper (vmap cannot write a batched ``b`` into an unbatched ``a``), and ``a``'s
        shape and dtype are the result's. Not under torch.compile: the compiler plans the
        buffers itself (and cannot trace the functorch check)."""
        if torch.compiler.is_compiling():
            return False
        if a.requires_grad or wrapped(a) or (isinstance(b, torch.Tensor) and wrapped(b)):
            return False
        bshape = b.shape if isinstance(b, torch.Tensor) else ()
        return bool(torch.broadcast_shapes(a.shape, bshape) == a.shape) and (  # type: ignore[no-untyped-call]
            torch.result_type(a, b) == a.dtype
        )

    natives: dict[str, Callable[..., Any]] = {
        "logsumexp": lambda x, /, *, axis, keepdims=False, xp: torch.logsumexp(
            x, dim=axis, keepdim=keepdims
        ),
        "log_softmax": lambda x, /, *, axis, xp: F.log_softmax(x, dim=axis),
        "softmax": lambda x, /, *, axis, xp: F.softmax(x, dim=axis),
        # threshold 40 instead of torch's 20: e^-40 is below float64's epsilon, so the
        # "return x" shortcut is exact in float64 too.
        "softplus": lambda x, /, *, xp: F.softplus(x, threshold=40.0),
        "log_sigmoid": lambda x, /, *, xp: F.logsigmoid(x),
        "sigmoid": lambda x, /, *, xp: torch.sigmoid(x),
        "relu": lambda x, /, *, xp: torch.relu(x),
        "xlogy": lambda x, y, /, *, xp: torch.xlogy(x, y),
        "take_along_axis": lambda x, i, /, *, axis, xp: torch.gather(x, axis, i.long()),
        "one_hot": one_hot_,
        "stop_gradient": lambda x, /, *, xp: x.detach(),
        "value_range": value_range_,
        "add_matmul": lambda acc, a, b, /, *, xp: (
            acc.addmm_(a, b) if acc.ndim == 2 and not acc.requires_grad else acc + a @ b
        ),
        "add_at_rows": lambda acc, i, v, /, *, xp: (
            acc.index_add_(0, i, v) if not acc.requires_grad else acc.index_add(0, i, v)
        ),
        "scale_owned": lambda a, s, /, *, xp: a.mul_(s) if owned(a, s) else a * s,
        "scratch": scratch_,
        "matmul_into": matmul_into_,
        "log_cosh": log_cosh_,
        "squared_log1p_diff": squared_log1p_diff_,
        "huber_elements": huber_elements_,
        "all_signs": all_signs_,
        "floor_straight_through": floor_straight_through_,
        "exp_shifted_owned": lambda z, m, /, *, xp: (
            z.sub_(m).exp_() if owned(z, m) else torch.exp(z - m)
        ),
        # Whole-loss kernels: called only when every option maps exactly (no weight=).
        "mse_loss": lambda x, y, /, *, reduction: F.mse_loss(x, y, reduction=reduction),
        "l1_loss": lambda x, y, /, *, reduction: F.l1_loss(x, y, reduction=reduction),
        "huber_loss": lambda x, y, /, *, reduction, delta: F.huber_loss(
            x, y, reduction=reduction, delta=delta
        ),
        "smooth_l1_loss": lambda x, y, /, *, reduction, beta: F.smooth_l1_loss(
            x, y, reduction=reduction, beta=beta
        ),
        # Arrays positionally, options by keyword (a plan calls ``kernel(*arrays, **opts)``).
        # Index targets of any integer dtype go in as int64 (torch's kernels take only that).
        "cross_entropy": lambda x, t, w, /, *, ignore_index, reduction, label_smoothing: (
            F.cross_entropy(
                x,
                t if t.dtype in _TORCH_CE_TARGET else t.long(),
                weight=w,
                ignore_index=ignore_index,
                reduction=reduction,
                label_smoothing=label_smoothing,
            )
        ),
        "nll_loss": lambda x, t, w, /, *, ignore_index, reduction: F.nll_loss(
            x,
            t if t.dtype == torch.int64 else t.long(),
            weight=w,
            ignore_index=ignore_index,
            reduction=reduction,
        ),
        "binary_cross_entropy": lambda x, y, w, /, *, reduction: F.binary_cross_entropy(
            x, y, weight=w, reduction=reduction
        ),
        "binary_cross_entropy_with_logits": lambda x, y, w, pw, /, *, reduction: (
            F.binary_cross_entropy_with_logits(x, y, weight=w, reduction=reduction, pos_weight=pw)
        ),
        # "mean" as sum / numel: torch's reduction="mean" warns (it is not the KL divergence).
        "kl_div": lambda x, y, /, *, reduction, log_target: (
            F.kl_div(x, y, reduction="sum", log_target=log_target) / x.numel()
            if reduction == "mean"
            else F.kl_div(x, y, reduction=reduction, log_target=log_target)
        ),
    }

    # Losses torch writes as the same formula (embedding.py, margin.py; ctc_loss with its
    # gradient corrected, _torch_function.CTC): the same value and gradient in fewer
    # Python-level ops. Not torch's soft_margin_loss: its log1p(exp(-y x)) is inf from
    # y x < -89 in float32; arrayloss's softplus formula is the kernel instead (so that
    # eager calls get a plan). Eager only: torch.func has no
    # batching rule for most of them (vmap warns and loops), and torch.compile's
    # decomposition of multilabel_margin_loss ignores the -1 terminators (2.13: 1.47 instead
    # of eager's 0.69 on a (3, 5) example); compiled or transformed, the generic formula runs.
    def multi_margin_(x: Any, t: Any, w: Any, /, *, p: int, margin: float, reduction: str) -> Any:
        t = t if t.dtype == torch.int64 else t.long()
        return F.multi_margin_loss(x, t, p=p, margin=margin, weight=w, reduction=reduction)

    def multilabel_margin_(x: Any, t: Any, /, *, reduction: str) -> Any:
        t = t if t.dtype == torch.int64 else t.long()
        return F.multilabel_margin_loss(x, t, reduction=reduction)

    def ctc_(
        lp: Any, t: Any, il: Any, tl: Any, /, *, blank: int, zero_infinity: bool,
        reduction: str, full: bool,
    ) -> Any:
        t = t if t.dtype in (torch.int32, torch.int64) else t.long()
        il = il if il.dtype == torch.int64 else il.long()
        tl = tl if tl.dtype == torch.int64 else tl.long()
        if not (lp.requires_grad and torch.is_grad_enabled()):  # torch's values, no gradient
            return F.ctc_loss(
                lp, t, il, tl, blank=blank, reduction=reduction, zero_infinity=zero_infinity
            )
        from ._torch_function import CTC

        loss = CTC.apply(lp, t, il, tl, blank, zero_infinity, full)  # type: ignore[no-untyped-call]
        if reduction == "sum":
            return loss.sum()
        if reduction == "mean":  # torch's: each loss over its target length (at least 1)
            return (loss / tl.clamp_min(1).to(loss.dtype)).mean()
        return loss

    zeros: dict[tuple[Any, Any], Any] = {}  # a 0-d zero per (dtype, device), made once

    def soft_margin_(x: Any, y: Any, /, *, reduction: str) -> Any:
        # -(x * y) as one op: one autograd node and one fresh (N, ...) array, where x * -y
        # makes two (at 10^7 elements each is a page-faulting allocation: 47.7 -> 34.2 ms
        # forward there; torch's own kernel works in place, 24 ms). Without autograd the
        # softplus works in place too: one fresh array in all, where torch's kernel has two.
        # The zero is cached: a new one each call cost a tiny call's backward 6 us.
        if (zero := zeros.get((x.dtype, x.device))) is None:
            zero = zeros[(x.dtype, x.device)] = torch.zeros((), dtype=x.dtype, device=x.device)
        loss = torch.addcmul(zero, x, y, value=-1)
        if owned(loss, zero):  # no autograd: the softplus overwrites the fresh -(x * y)
            loss = torch.logaddexp(loss, zero, out=loss)  # (10^7: 0.77x torch's)
        else:
            loss = F.softplus(loss, threshold=40.0)  # its backward saves the input
        if reduction == "mean":
            return loss.mean()
        return loss.sum() if reduction == "sum" else loss

    eager_losses: dict[str, Callable[..., Any]] = {
        "soft_margin_loss": soft_margin_,
        "margin_ranking_loss": lambda a, b, t, /, *, margin, reduction: F.margin_ranking_loss(
            a, b, t, margin=margin, reduction=reduction
        ),
        "hinge_embedding_loss": lambda x, t, /, *, margin, reduction: F.hinge_embedding_loss(
            x, t, margin=margin, reduction=reduction
        ),
        "cosine_embedding_loss": lambda a, b, t, /, *, margin, reduction: (
            F.cosine_embedding_loss(a, b, t, margin=margin, reduction=reduction)
        ),
        "triplet_margin_loss": lambda a, pos, neg, /, *, margin, p, eps, swap, reduction: (
            F.triplet_margin_loss(
                a, pos, neg, margin=margin, p=p, eps=eps, swap=swap, reduction=reduction
            )
        ),
        "multi_margin_loss": multi_margin_,
        "multilabel_margin_loss": multilabel_margin_,
        "ctc_loss": ctc_,
    }

    for loss_name, kernel in eager_losses.items():
        kernel.eager_only = eager  # type: ignore[attr-defined]
        natives[loss_name] = kernel
    if hasattr(F, "linear_cross_entropy"):  # torch >= 2.13
        # Small problems only (linear_cross_entropy's _DIRECT_ELEMENTS): torch's unchunked
        # reference path, F.cross_entropy(F.linear(...)).
        def linear_ce(
            x: Any, w: Any, t: Any, b: Any, cw: Any, /, *, ignore_index: Any, reduction: str,
            label_smoothing: float,
        ) -> Any:
            return F.linear_cross_entropy(
                x,
                w,
                t if t.dtype in _TORCH_CE_TARGET else t.long(),
                linear_bias=b,
                weight=cw,
                ignore_index=ignore_index,
                reduction=reduction,
                label_smoothing=label_smoothing,
            )

        natives["linear_cross_entropy"] = linear_ce
    return natives


def _jax_natives() -> dict[str, Callable[..., Any]]:
    import functools

    import jax
    import jax.numpy as jnp
    from jax.scipy.special import xlogy as jxlogy

    # No select in the value: XLA on CPU does not fuse a select into the reduction after it
    # (binary_cross_entropy under jax.jit ran 10x slower at 10^7 elements with the generic
    # two-where form). The gradient's select is in the backward pass, which has no reduction.
    @functools.partial(jax.custom_jvp, nondiff_argnums=(1,))
    def clamped_log(p: Any, floor: float) -> Any:
        return jnp.maximum(jnp.log(jnp.maximum(p, 0)), floor)

    # The gradient's mask is p > e^floor, not log(p) > floor (the same up to the rounding
    # of the boundary, where 1/p is ~1e43 anyway): no second log in the backward pass, which
    # took BCE's forward + backward from 1.5x to 1.0x Keras's under jax.jit.
    @clamped_log.defjvp
    def clamped_log_jvp(floor: float, primals: Any, tangents: Any) -> Any:
        (p,), (dp,) = primals, tangents
        keep = p > math.exp(floor)
        return clamped_log(p, floor), jnp.where(keep, dp / jnp.where(keep, p, 1), 0)

    def all_zero_or_one(x: Any) -> Any:
        # every x(x - 1) == 0, a float max (NaN propagates: False): XLA on CPU runs it in
        # half the time of the boolean all() (1.8 vs 4.0 ms at 10^7 elements); x(x - 1)
        # does not underflow to 0 for any x outside {0, 1}
        if x.size == 0:
            return jnp.asarray(True)
        return jnp.max(jnp.abs(x * (x - 1))) == 0

    @jax.custom_jvp
    def stacked_ratio(num: Any, den: Any) -> Any:
        s = jnp.sum(jnp.reshape(jnp.stack([num, den]), (2, -1)), axis=1)
        return s[0] / s[1]

    # The tangent as sums of the tangents, not through the stack (its transpose, the
    # gradient, is then broadcast scalars, not pads and slices of a (2, n) array). With no
    # tangent for den (class weights, validity masks) it needs sum(den) only, its own
    # reduction: under jax.grad the stacked forward is then dead code and XLA drops it.
    @functools.partial(stacked_ratio.defjvp, symbolic_zeros=True)
    def stacked_ratio_jvp(primals: Any, tangents: Any) -> Any:
        (num, den), (dnum, dden) = primals, tangents
        zero = jax.custom_derivatives.SymbolicZero
        out = stacked_ratio(num, den)
        d = jnp.zeros_like(out) if isinstance(dnum, zero) else jnp.sum(dnum)
        if not isinstance(dden, zero):
            d = d - out * jnp.sum(dden)
        return out, d / jnp.sum(den)

    def sum_ratio(num: Any, den: Any) -> Any:
        # Traced only: eagerly the stack is one more dispatch and copy than two sums.
        if (
            isinstance(num, jax.core.Tracer)
            and num.shape == den.shape
            and num.dtype == den.dtype
            and num.size > 0
        ):
            return stacked_ratio(num, den)
        return jnp.sum(num) / jnp.sum(den)

    def log1p_gap(a: Any, b: Any) -> Any:
        # |log1p(a) - log1p(b)| = log1p(|a - b| / (1 + min(a, b))), with only ops that XLA
        # on CPU fuses into msle's reduction (a select or a clamp here split it: 3x slower at
        # 10^7 elements). (log(u) + (w - (u - 1)) / u, u = 1 + w, would be cheaper than XLA's
        # CPU log1p, three logs' worth, but XLA simplifies (1 + w) - 1 to w.)
        return jnp.log1p(jnp.abs(a - b) / (1 + jnp.minimum(a, b)))

    @functools.partial(jax.custom_jvp, nondiff_argnums=(2,))
    def squared_log1p_diff(a: Any, b: Any, floor: float) -> Any:
        g = log1p_gap(jnp.maximum(a, floor), jnp.maximum(b, floor))
        return g * g

    # d/da = 2 (log1p(a) - log1p(b)) / (1 + a) where a >= floor, else 0 (and -... / (1 + b)
    # for b): one division and one mask each. Through jnp.maximum's own derivative (it splits
    # ties: two compares, two selects and a division) and the quotient, the forward +
    # backward at (256, 1000) ran 1.3x Keras's log(x + 1) form
    @functools.partial(squared_log1p_diff.defjvp, symbolic_zeros=True)
    def squared_log1p_diff_jvp(floor: float, primals: Any, tangents: Any) -> Any:
        (a, b), (da, db) = primals, tangents
        zero = jax.custom_derivatives.SymbolicZero
        ca, cb = jnp.maximum(a, floor), jnp.maximum(b, floor)
        g = log1p_gap(ca, cb)
        d2 = 2 * jnp.where(ca < cb, -g, g)  # 2 (log1p(ca) - log1p(cb))
        t = jnp.zeros_like(g)
        if not isinstance(da, zero):
            t = jnp.where(a >= floor, d2 * da / (1 + ca), 0)
        if not isinstance(db, zero):
            t = t - jnp.where(b >= floor, d2 * db / (1 + cb), 0)
        return g * g, t

    def squared_log1p_diff_(a: Any, b: Any, floor: float) -> Any:
        if jnp.shape(a) == jnp.shape(b) and a.dtype == b.dtype:
            return squared_log1p_diff(a, b, floor)
        return _generic_squared_log1p_diff(a, b, floor=floor, xp=jnp)

    # The value is the generic formula (of |d|: its arguments to exp and expm1 are <= 0,
    # which XLA's CPU kernels run 3x faster than positive ones); the derivative tanh(d)
    # written out, so the second derivative is tanh's, 1 - tanh^2 (through |d|, autodiff's
    # is 0 at d = 0 exactly, where the loss curves most: a perfect fit).
    @jax.custom_jvp
    def log_cosh(d: Any) -> Any:
        return _generic_log_cosh(d, xp=jnp)

    @log_cosh.defjvp
    def log_cosh_jvp(primals: Any, tangents: Any) -> Any:
        (d,), (dd,) = primals, tangents
        return log_cosh(d), jnp.tanh(d) * dd

    def opaque_scalar(value: float, dtype: Any) -> Any:
        # A 0-d constant through an optimization barrier: XLA cannot fold it, so it does not
        # merge it with an equal constant elsewhere in the program (CSE) and then hand the
        # shared broadcast to its CPU YNNPACK reduction as a materialised full-size array.
        return jax.lax.optimization_barrier(jnp.asarray(value, dtype))  # type: ignore[no-untyped-call]

    # Huber's elements with their derivative written out: the slope clip(d, -delta, delta),
    # whose own derivative is 1 inside and 0 from |d| = delta on (torch's second derivative
    # there, 0; through jnp.minimum autodiff splits the tie: 0.75). Under jax.value_and_grad
    # XLA on CPU shares what the forward and the backward have in common and then
    # materialises it between its kernels: the difference, or a broadcast delta, kept the
    # YNNPACK reduction of the value from fusing its elements (two full-size temporaries:
    # 1.8x slower at (8192, 1280) than this, 1.25x slower than Keras's select form). So the
    # slope reads y - x, not the value's x - y, and its bounds are a delta XLA cannot see is
    # the value's (a scalar through an optimization barrier): the value is then one fused
    # reduction of x and y, the gradient one loop over x and y. Interleaved at (8192, 1280),
    # value_and_grad 19.2-19.6 ms (Keras 28.6-32.3, the shared form 35.2-35.5), grad 14.3
    # (Keras 15.0, shared 19.4); forward unchanged.
    @functools.partial(jax.custom_jvp, nondiff_argnums=(2,))
    def huber_elements(x: Any, y: Any, delta: float) -> Any:
        ad = jnp.abs(x - y)
        e = jnp.minimum(ad, delta)
        return e * (ad - 0.5 * e)

    @huber_elements.defjvp
    def huber_elements_jvp(delta: float, primals: Any, tangents: Any) -> Any:
        (x, y), (dx, dy) = primals, tangents
        return huber_elements(x, y, delta), huber_slope(y - x, delta) * (dy - dx)

    @functools.partial(jax.custom_jvp, nondiff_argnums=(1,))
    def huber_slope(d: Any, delta: float) -> Any:
        c = opaque_scalar(delta, d.dtype)
        return jnp.clip(d, -c, c)

    @huber_slope.defjvp
    def huber_slope_jvp(delta: float, primals: Any, tangents: Any) -> Any:
        (d,), (dd,) = primals, tangents
        return huber_slope(d, delta), jnp.where(jnp.abs(d) < delta, dd, 0)  # every order

    # jax.nn.relu's rule (max(x, 0), slope [x > 0]), with the value's zero a scalar that XLA
    # cannot see is a constant (an optimization barrier): under jax.value_and_grad, XLA on
    # CPU materialised the constant zero as a full-size array for the YNNPACK reduction of
    # the value. Interleaved, 1 - t x then mean: value_and_grad 221 vs 240 us at
    # (256, 1000), 30.5 vs 36.5 ms at (8192, 1280) (optax's hinge_loss 197 us, 29.0 ms);
    # forward and grad unchanged.
    @jax.custom_jvp
    def relu(x: Any) -> Any:
        return jnp.maximum(x, opaque_scalar(0, x.dtype))

    @relu.defjvp
    def relu_jvp(primals: Any, tangents: Any) -> Any:
        (x,), (dx,) = primals, tangents
        return relu(x), jnp.where(x > 0, dx, 0)

    def recomputed(fn: Callable[..., Any], *arrays: Any) -> Any:
        # Traced only (jax.jit, jax.grad): an eager forward has no backward to recompute for.
        # Interleaved, value_and_grad of the mean at (256, 1000): (x - y)^2 131.6 vs 188.6 us,
        # |x - y| 192 vs 244, MAPE's 290 vs 308; at (8192, 1280) MAPE's 35.9 vs 47.6 ms, and
        # (x - y)^2 and |x - y| within a few percent either way (17.1 vs 17.3 and 17.2 vs
        # 17.9 ms; 21.6 vs 20.9 and 21.8 vs 21.6 in another run). jax.grad alone and the
        # forward are unchanged.
        if any(isinstance(a, jax.core.Tracer) for a in arrays):
            return jax.checkpoint(fn)(*arrays)
        return fn(*arrays)

    def divide_exact(x: Any, d: Any) -> Any:
        shape = jnp.broadcast_shapes(jnp.shape(x), jnp.shape(d))
        if jnp.shape(d) == shape:
            return x / d
        x, d = jax.lax.optimization_barrier(  # type: ignore[no-untyped-call]
            (jnp.broadcast_to(x, shape), jnp.broadcast_to(d, shape))
        )
        return x / d

    return {
        "all_zero_or_one": lambda x, /, *, xp: all_zero_or_one(x),
        "divide_exact": lambda x, d, /, *, xp: divide_exact(x, d),
        "sum_ratio": lambda num, den, /, *, xp: sum_ratio(num, den),
        "squared_log1p_diff": lambda a, b, /, *, floor, xp: squared_log1p_diff_(a, b, floor),
        "log_cosh": lambda d, /, *, xp: log_cosh(d),
        "huber_elements": lambda x, y, /, *, delta, xp: huber_elements(x, y, delta),
        "logsumexp": lambda x, /, *, axis, keepdims=False, xp: jax.nn.logsumexp(
            x, axis=axis, keepdims=keepdims
        ),
        "log_softmax": lambda x, /, *, axis, xp: jax.nn.log_softmax(x, axis=axis),
        "softmax": lambda x, /, *, axis, xp: jax.nn.softmax(x, axis=axis),
        "softplus": lambda x, /, *, xp: jax.nn.softplus(x),
        "log_sigmoid": lambda x, /, *, xp: jax.nn.log_sigmoid(x),
        "sigmoid": lambda x, /, *, xp: jax.nn.sigmoid(x),
        "relu": lambda x, /, *, xp: relu(x),
        "recomputed": lambda fn, /, *arrays, xp: recomputed(fn, *arrays),
        "xlogy": lambda x, y, /, *, xp: jxlogy(x, y),
        "take_along_axis": lambda x, i, /, *, axis, xp: jnp.take_along_axis(x, i, axis=axis),
        "one_hot": lambda i, n, /, *, dtype, axis=-1, xp: jax.nn.one_hot(
            i, n, dtype=dtype, axis=axis
        ),
        "stop_gradient": lambda x, /, *, xp: jax.lax.stop_gradient(x),
        "add_at_rows": lambda acc, i, v, /, *, xp: acc.at[i].add(v),
        "clamped_log": lambda p, floor, /, *, xp: clamped_log(p, floor),
    }


def _numpy_natives() -> dict[str, Callable[..., Any]]:
    import numpy as np

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
        # np.take_along_axis builds an index grid per call (~4 us); the common (N, C) case
        # with one index per row is a fancy index.
        if x.ndim == 2 and axis in (1, -1) and i.shape == (x.shape[0], 1):
            return x[np.arange(x.shape[0])[:, None], i]
        return np.take_along_axis(x, i, axis=axis)

    def value_range_(x: Any, /, *, xp: Any) -> tuple[int, int]:
        if 0 < x.size <= _SMALL_RANGE:  # 0.7 us at 8 elements; the two reductions take 2.0
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
            return _generic_matmul_into(None, a, b, add=add, xp=xp)
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
        # and one temporary instead of the masks (BCE takes two of these: 13 -> 5 us at 80).
        key = (p.dtype, floor)
        tiny = tinies.get(key)
        if tiny is None:
            tiny = np.asarray(math.exp(floor), dtype=p.dtype)
            while tiny > 0 and np.log(tiny) > floor:
                tiny = np.nextafter(tiny, np.zeros((), dtype=p.dtype))
            tinies[key] = tiny
        if not tiny > 0:  # e^floor underflows the dtype
            return _generic_clamped_log(p, floor, xp=xp)
        out = np.maximum(p, tiny, out=np.empty_like(p))
        np.log(out, out=out)
        return np.maximum(out, floor, out=out)

    def xlogy_(x: Any, y: Any, /, *, xp: Any) -> Any:
        # the generic formula's values (0 wherever x == 0, NaN y included) with no gradient
        # to guard: log(where(x == 0, 1, y)) in place, times x in place. Four passes and one
        # float temporary instead of the generic's eight (two masks' wheres, ones_like,
        # zeros_like); kl_div at (8192, 1280) float32: 24 ms, NumPy's formula 38 ms
        r = np.where(x == 0, np.ones((), dtype=y.dtype), y)
        if not np.issubdtype(r.dtype, np.inexact):
            return _generic_xlogy(x, y, xp=xp)
        np.log(r, out=r)
        return np.multiply(x, r, out=r) if _in_place_ok(r, x) else x * r

    def log_cosh_(d: Any, /, *, xp: Any) -> Any:
        # log1p(2 sinh^2(c / 2)) + (|d| - c), c = min(|d|, 40): cosh c - 1 = 2 sinh^2(c / 2)
        # exactly, so the same accuracy as the generic formula from two transcendental
        # ufuncs instead of three, in place, in blocks of 64k that stay in cache. The time
        # the generic formula lost went on its fresh full-size temporaries (page faults),
        # not on the ufuncs (np.exp on 256k float32: 119 us): 2.7 ms -> 0.5 ms at 256k
        # elements, 82 ms -> 24 ms at 10^7 float32 (the peer's logaddexp(d, -d) - log 2
        # takes 173).
        if not (isinstance(d, np.ndarray) and d.dtype.kind == "f" and d.ndim):
            return _generic_log_cosh(d, xp=xp)
        out = np.empty(d.shape, dtype=d.dtype)
        flat_out, flat_d = out.reshape(-1), d.reshape(-1)
        n = flat_d.size
        s = np.empty(min(n, _NP_BLOCK), dtype=d.dtype)
        for start in range(0, n, _NP_BLOCK):
            o = flat_out[start : start + _NP_BLOCK]
            c = s[: o.size]
            np.abs(flat_d[start : start + _NP_BLOCK], out=o)
            np.minimum(o, _LOG_COSH_CLIP, out=c)
            o -= c  # |d| - c
            c *= 0.5
            np.sinh(c, out=c)
            np.multiply(c, c, out=c)
            c *= 2.0
            np.log1p(c, out=c)
            o += c
        return out

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


def _cupy_natives() -> dict[str, Callable[..., Any]]:
    import cupy as cp

    return {
        "softplus": lambda x, /, *, xp: cp.logaddexp(cp.zeros((), dtype=x.dtype), x),
        "log_sigmoid": lambda x, /, *, xp: -cp.logaddexp(cp.zeros((), dtype=x.dtype), -x),
    }


_NATIVE_FACTORIES: dict[str, Callable[[], dict[str, Callable[..., Any]]]] = {
    "torch": _torch_natives,
    "jax": _jax_natives,
    "numpy": _numpy_natives,
    "cupy": _cupy_natives,
}
_NATIVE: dict[str, dict[str, Callable[..., Any]]] = {}


def _natives_for(xp: Any) -> dict[str, Callable[..., Any]]:
    name = backend_name(xp)
    table = _NATIVE.get(name)
    if table is None:
        factory = _NATIVE_FACTORIES.get(name)
        table = _NATIVE[name] = factory() if factory is not None else {}
    return table


def native_loss(name: str, xp: Any) -> Callable[..., Any] | None:
    """The declared native kernel of a whole loss on ``xp``'s backend, or None."""
    if _FORCE_GENERIC:
        return None
    kernel = _natives_for(xp).get(name)
    # a kernel usable only outside compilers and transforms carries the test of that
    eager = getattr(kernel, "eager_only", None)
    if eager is not None and not eager():
        return None
    return kernel


# Whole-loss kernels that raise on out-of-range class indices by themselves, synchronously,
# on CPU (torch's nll/cross-entropy kernels: IndexError "Target 5 is out of bounds"): the loss
# calls them first and runs its own label check (for arrayloss's error message) only when
# they raise, instead of reading the labels' min and max on every call.
_CHECKS_LABELS_ON_CPU = {
    "torch": frozenset(
        {
            "cross_entropy",
            "nll_loss",
            "linear_cross_entropy",
            "multi_margin_loss",  # RuntimeError "target out of range"
            "multilabel_margin_loss",  # RuntimeError "argument #2 'target' is out of range"
        }
    )
}


def native_checks_labels(name: str, target: Any, xp: Any) -> bool:
    """Whether ``native_loss(name, xp)`` raises on bad labels in ``target`` by itself (on
    CUDA it would be an asynchronous device assert: arrayloss checks first there)."""
    if _FORCE_GENERIC:
        return False
    names = _CHECKS_LABELS_ON_CPU.get(backend_name(xp))
    if names is None or name not in names:
        return False
    return getattr(getattr(target, "device", None), "type", None) == "cpu"


# Every primitive's per-backend kernel cache, so prime_natives can fill them all at once.
_CACHES: list[tuple[str, Callable[..., Any], dict[int, Callable[..., Any]]]] = []


def prime_natives(xp: Any) -> None:
    """Resolve every primitive's kernel for ``xp`` now. custom_gradient calls it before a
    torch.compile trace enters its autograd.Function: Dynamo cannot trace the first call's
    cache fill (a dict mutation) inside that higher-order op."""
    table = _natives_for(xp)
    for name, generic, cache in _CACHES:
        cache.setdefault(id(xp), table.get(name, generic))


def _primitive(
    name: str, generic: Callable[..., Any], *, semantic: bool = False
) -> Callable[..., Any]:
    """A dispatching primitive. ``semantic=True`` marks one whose native version is needed
    for correctness (stop_gradient on an autodiff backend), which force_generic keeps."""
    cache: dict[int, Callable[..., Any]] = {}
    _CACHES.append((name, generic, cache))

    def dispatch(*args: Any, xp: Any, **kwargs: Any) -> Any:
        if _FORCE_GENERIC and not semantic:
            return generic(*args, xp=xp, **kwargs)
        impl = cache.get(id(xp))
        if impl is None:
            impl = cache[id(xp)] = _natives_for(xp).get(name, generic)
        return impl(*args, xp=xp, **kwargs)

    dispatch.__name__ = dispatch.__qualname__ = name
    dispatch.__doc__ = generic.__doc__
    dispatch.generic = generic  # type: ignore[attr-defined]
    return dispatch


logsumexp = _primitive("logsumexp", _generic_logsumexp)
log_softmax = _primitive("log_softmax", _generic_log_softmax)
softmax = _primitive("softmax", _generic_softmax)
softplus = _primitive("softplus", _generic_softplus)
log_sigmoid = _primitive("log_sigmoid", _generic_log_sigmoid)
sigmoid = _primitive("sigmoid", _generic_sigmoid)
xlogy = _primitive("xlogy", _generic_xlogy)
take_along_axis = _primitive("take_along_axis", _generic_take_along_axis)
one_hot = _primitive("one_hot", _generic_one_hot)
stop_gradient = _primitive("stop_gradient", _generic_stop_gradient, semantic=True)
clamped_log = _primitive("clamped_log", _generic_clamped_log)
divide_exact = _primitive("divide_exact", _generic_divide_exact)
log_cosh = _primitive("log_cosh", _generic_log_cosh)
huber_elements = _primitive("huber_elements", _generic_huber_elements)
relu = _primitive("relu", _generic_relu)
recomputed = _primitive("recomputed", _generic_recomputed)
all_zero_or_one = _primitive("all_zero_or_one", _generic_all_zero_or_one)
all_signs = _primitive("all_signs", _generic_all_signs)
floor_straight_through = _primitive("floor_straight_through", _generic_floor_straight_through)
safe_root = _primitive("safe_root", _generic_safe_root)
value_range = _primitive("value_range", _generic_value_range)
sum_ratio = _primitive("sum_ratio", _generic_sum_ratio)
squared_log1p_diff = _primitive("squared_log1p_diff", _generic_squared_log1p_diff)
add_matmul = _primitive("add_matmul", _generic_add_matmul)
add_at_rows = _primitive("add_at_rows", _generic_add_at_rows)
scale_owned = _primitive("scale_owned", _generic_scale_owned)
exp_shifted_owned = _primitive("exp_shifted_owned", _generic_exp_shifted_owned)
scratch = _primitive("scratch", _generic_scratch)
matmul_into = _primitive("matmul_into", _generic_matmul_into)
