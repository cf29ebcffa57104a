"""JAX: native primitives (custom JVPs that keep XLA's fusions), and JAX's answers to the
questions the generic code asks: is an array concrete, may it be differentiated, how to
attach a hand-written gradient (``jax.custom_vjp``), ``lax.cond`` and ``lax.scan``, and the
CTC recursion's gradient. Imported by ``arrayloss._lib._dispatch`` when a JAX array first
meets a loss; the only module that imports JAX.

Private APIs used here, each for one reason:

* ``jax._src.core.trace_state_clean``: whether any transformation is tracing right now (a
  concrete array closed over by a jitted function is not a Tracer, but every op on it is
  staged); JAX has no public test.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
from jax.scipy.special import xlogy as jxlogy

_Body = Callable[[Any, tuple[Any, ...]], tuple[Any, tuple[Any, ...]]]

__all__ = [
    "all_concrete",
    "chunked_scan",
    "cond",
    "creation_device",
    "ctc_loglik",
    "custom_gradient",
    "is_tracer",
    "may_be_differentiated",
    "on_host",
    "primitives",
]

# The generic kernels this module falls back on, handed down by the dispatcher when the
# table is built (arrayloss/_lib/_dispatch.py): backends never import _lib.
_GENERIC: dict[str, Callable[..., Any]] = {}


def _trace_clean() -> bool:
    """Whether no JAX transformation (jit, vmap, grad...) is tracing right now."""
    try:
        from jax._src.core import trace_state_clean
    except ImportError:  # pragma: no cover - a future JAX without the private helper
        return True
    return bool(trace_state_clean())


def is_tracer(x: Any) -> bool:
    return isinstance(x, jax.core.Tracer)


def all_concrete(arrays: Any) -> bool:
    """Whether every array's values can be read now: outside any trace, and no tracer."""
    if not _trace_clean():
        return False
    tracer = jax.core.Tracer
    for x in arrays:  # noqa: SIM110 (a loop, not all(generator): on every label check)
        if isinstance(x, tracer):
            return False
    return True


def on_host(arrays: Any) -> bool:
    """Whether reading these arrays' values costs no device synchronisation: every array
    lives on CPU devices (an array's devices share one platform)."""
    for x in arrays:  # noqa: SIM110 (a loop, not all(generator): on every value check)
        if next(iter(x.devices())).platform != "cpu":
            return False
    return True


def creation_device(like: Any) -> Any:
    """None: a constant made uncommitted follows the committed arrays it meets (and a traced
    array has no device to ask)."""
    return None


def may_be_differentiated(a: Any) -> bool:
    """A traced array may be (an eager ``jax.grad`` traces only what it differentiates;
    ``jax.jit`` traces everything); a concrete one certainly is not."""
    return isinstance(a, jax.core.Tracer)


# ---------------------------------------------------------------------------------------------
# Primitives
# ---------------------------------------------------------------------------------------------

# No select in the value: XLA on CPU does not fuse a select into the reduction after it.
# The gradient's select is in the backward pass, which has no reduction.
@functools.partial(jax.custom_jvp, nondiff_argnums=(1,))
def clamped_log(p: Any, floor: float) -> Any:
    return jnp.maximum(jnp.log(jnp.maximum(p, 0)), floor)

# The gradient's mask is p > e^floor, not log(p) > floor (the same up to the rounding
# of the boundary, where 1/p is ~1e43 anyway): no second log in the backward pass.
@clamped_log.defjvp
def clamped_log_jvp(floor: float, primals: Any, tangents: Any) -> Any:
    (p,), (dp,) = primals, tangents
    keep = p > math.exp(floor)
    return clamped_log(p, floor), jnp.where(keep, dp / jnp.where(keep, p, 1), 0)

def all_zero_or_one(x: Any) -> Any:
    # every x(x - 1) == 0, a float max (NaN propagates: False): cheaper on XLA's CPU than
    # the boolean all(); x(x - 1) does not underflow to 0 for any x outside {0, 1}
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
    # on CPU fuses into msle's reduction (a select or a clamp here would split it).
    return jnp.log1p(jnp.abs(a - b) / (1 + jnp.minimum(a, b)))

@functools.partial(jax.custom_jvp, nondiff_argnums=(2,))
def squared_log1p_diff(a: Any, b: Any, floor: float) -> Any:
    g = log1p_gap(jnp.maximum(a, floor), jnp.maximum(b, floor))
    return g * g

# d/da = 2 (log1p(a) - log1p(b)) / (1 + a) where a >= floor, else 0 (and -... / (1 + b)
# for b): one division and one mask each, not jnp.maximum's tie-splitting derivative.
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
    return _GENERIC["squared_log1p_diff"](a, b, floor=floor, xp=jnp)

# The value is the generic formula (of |d|: its arguments to exp and expm1 are <= 0,
# which XLA's CPU kernels run faster than positive ones); the derivative tanh(d)
# written out, so the second derivative is tanh's, 1 - tanh^2 (through |d|, autodiff's
# is 0 at d = 0 exactly, where the loss curves most: a perfect fit).
@jax.custom_jvp
def log_cosh(d: Any) -> Any:
    return _GENERIC["log_cosh"](d, xp=jnp)

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
# XLA on CPU would share the difference (or a broadcast delta) between the value and the
# gradient and materialise it, so the slope reads y - x, and its bounds are a delta XLA
# cannot see is the value's (a scalar through an optimization barrier): the value stays
# one fused reduction of x and y, the gradient one loop over x and y.
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
# CPU would materialise the constant zero as a full-size array for the YNNPACK reduction
# of the value.
@jax.custom_jvp
def relu(x: Any) -> Any:
    return jnp.maximum(x, opaque_scalar(0, x.dtype))

@relu.defjvp
def relu_jvp(primals: Any, tangents: Any) -> Any:
    (x,), (dx,) = primals, tangents
    return relu(x), jnp.where(x > 0, dx, 0)

def recomputed(fn: Callable[..., Any], *arrays: Any) -> Any:
    # Traced only (jax.jit, jax.grad): an eager forward has no backward to recompute for.
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


def primitives(generic: Mapping[str, Callable[..., Any]]) -> dict[str, Callable[..., Any]]:
    """The native primitive table; ``generic`` holds the generic kernels a native version
    falls back on for the cases it declines."""
    _GENERIC.update(generic)
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


# ---------------------------------------------------------------------------------------------
# Custom gradients, control flow, CTC
# ---------------------------------------------------------------------------------------------


def custom_gradient(spec: Any, key: Any) -> Callable[..., Any]:
    """``apply(diff, nondiff)`` running ``spec`` (a ``GradientSpec``) as a ``jax.custom_vjp``;
    ``nondiff`` arrays get zero cotangents."""

    @jax.custom_vjp
    def fn(*arrays: Any) -> Any:
        return spec.value(*arrays)

    def fwd(*arrays: Any) -> tuple[Any, Any]:
        outs, extra = spec.forward(*arrays)
        return outs, (arrays, extra)

    def bwd(saved: Any, gs: Any) -> tuple[Any, ...]:
        arrays, extra = saved
        # None: a zero cotangent (integer targets, class weights treated as constants).
        grads = spec.backward(arrays, extra, tuple(gs))
        return (*grads, *([None] * (len(arrays) - spec.n_diff)))

    fn.defvjp(fwd, bwd)

    def apply(diff: tuple[Any, ...], nondiff: tuple[Any, ...]) -> Any:
        return fn(*diff, *nondiff)

    return apply


def cond(
    pred: Any, true_fn: Callable[..., Any], false_fn: Callable[..., Any], *operands: Any
) -> Any:
    """``lax.cond`` whose reverse-mode gradient is a second ``lax.cond`` over the branches'
    own VJPs (each recomputes its forward pass, fused with its backward pass).

    Differentiating ``lax.cond`` directly makes the forward cond return the residuals of
    both branches (the untaken one's as zeros): full-size arrays written and read again;
    with this VJP one pass forward, one back.
    Forward-mode differentiation (``jax.jvp``, ``jax.hessian``) is not available through a
    custom VJP. Only floating operands get cotangents (the others: None)."""
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


def chunked_scan(
    body: _Body, carry: Any, xs: tuple[Any, ...], chunk: int, pad: tuple[Any, ...]
) -> tuple[Any, tuple[Any, ...]]:
    """``lax.scan`` over a (chunks, rows, ...) view, the rows padded to whole chunks with
    ``pad``: ``jax.jit`` compiles one chunk body and keeps one chunk's temporaries live."""
    n = xs[0].shape[0]
    steps = -(-n // chunk)
    extra = steps * chunk - n
    stacked = []
    for x, fill in zip(xs, pad, strict=True):
        if extra:
            widths = [(0, extra)] + [(0, 0)] * (x.ndim - 1)
            x = jnp.pad(x, widths, constant_values=fill)
        stacked.append(jnp.reshape(x, (steps, chunk, *x.shape[1:])))
    carry, ys = jax.lax.scan(body, carry, tuple(stacked))
    return carry, tuple(jnp.reshape(y, (steps * chunk, *y.shape[2:]))[:n] for y in ys)


@functools.cache
def _ctc_rule(steps: Any) -> tuple[Any, Any]:
    """CTC on JAX: ``states(lp, lab)``, the emissions of the extended target's states, and
    ``loglik(lp_ext, il, tl, skip)``, each sample's log-likelihood, both with custom JVPs.

    ``states`` gathers with one index per (frame, sample, state), the fastest forward; its
    tangent gathers whole time rows from a (N, C, T) view instead, so that the transpose
    ``jax.grad`` takes of it is a scatter-add of N * (2S + 1) rows of T values, not of
    T * N * (2S + 1) scalars with an index triple each (XLA's CPU scatter of the latter
    is most of the cost of a forward + backward otherwise).

    ``loglik`` is ``lax.scan`` over time. Reverse-mode autodiff of the forward scan would
    keep every step's intermediates and run each step's transposed ops one by one. The JVP
    instead runs the backward (beta) recursion once and contracts the tangent with the state
    posteriors ``exp(alpha_t + beta_t - log p)``, the exact derivative of ``log p`` with respect to
    each ``lp_ext[t, n, s]``: a linear map, so ``jax.grad`` transposes it into one multiply
    (the posteriors are its only residual), and forward mode (``jax.jvp``, ``jax.hessian``)
    works too (the rule itself is differentiable). The forward scan's outputs are every
    frame's alpha with no concatenation (it starts from the virtual frame -1): each array of
    shape (T, N, 2S + 1) is fresh memory on every call, so the rule keeps three: the
    emissions, the alphas, the posteriors. ``steps`` is the generic recursion's module
    (``arrayloss/sequence/_ctc.py``), handed down by the caller."""
    @jax.custom_jvp
    def states(lp: Any, lab: Any) -> Any:
        idx = jnp.broadcast_to(lab[None], (lp.shape[0], *lab.shape))
        return jnp.take_along_axis(lp, idx, axis=2)

    @states.defjvp
    def states_jvp(primals: Any, tangents: Any) -> Any:
        lp, lab = primals
        rows = jnp.take_along_axis(jnp.transpose(tangents[0], (1, 2, 0)), lab[:, :, None], axis=1)
        return states(lp, lab), jnp.transpose(rows, (2, 0, 1))

    def alphas(lp_ext: Any, il: Any, skip: Any, keep: bool) -> Any:
        pads = steps.pads(lp_ext[0], jnp)

        def step(alpha: Any, x: Any) -> tuple[Any, Any]:
            t, e = x
            new = steps.alpha_step(alpha, e, t, il, skip, pads, jnp)
            return new, (new if keep else None)

        ts = jnp.arange(lp_ext.shape[0], dtype=il.dtype)
        return jax.lax.scan(step, steps.start(lp_ext[0], jnp), (ts, lp_ext))

    @jax.custom_jvp
    def loglik(lp_ext: Any, il: Any, tl: Any, skip: Any) -> Any:
        return steps.end_loglik(alphas(lp_ext, il, skip, False)[0], tl, jnp)

    @loglik.defjvp
    def loglik_jvp(primals: Any, tangents: Any) -> Any:
        lp_ext, il, tl, skip = primals
        t_lp = tangents[0]
        N, L = lp_ext.shape[1:]
        alpha, alpha_all = alphas(lp_ext, il, skip, True)
        ll = steps.end_loglik(alpha, tl, jnp)
        neg = jnp.asarray(steps.NEG, dtype=lp_ext.dtype)
        s_idx = jnp.arange(L, dtype=il.dtype)[None, :]
        end = (2 * tl)[:, None]
        # beta at a sample's last frame: 0 on its two final states, log 0 elsewhere
        last = jnp.where((s_idx == end) | ((s_idx == end - 1) & (end > 0)), 0.0, neg)
        last = last.astype(lp_ext.dtype)
        skip_next = jnp.concatenate([skip[:, 2:], jnp.zeros((N, 2), dtype=bool)], axis=1)
        negcol, negcol2 = steps.pads(lp_ext[0], jnp)
        possible = (ll > steps.NEG / 10)[:, None]
        ll_col = ll[:, None]

        def back(b: Any, x: Any) -> tuple[Any, Any]:
            # b = beta_{t+1} + e_{t+1}, where beta_t(s) is log p(the rest of the target |
            # state s at frame t), frame t's own emission excluded
            t, e, a = x
            b1 = jnp.concatenate([b[:, 1:], negcol], axis=1)
            b2 = jnp.where(skip_next, jnp.concatenate([b[:, 2:], negcol2], axis=1), negcol)
            beta = jnp.where((t < il - 1)[:, None], steps.lse3(b, b1, b2, jnp), neg)
            beta = jnp.where((t == il - 1)[:, None], last, beta)
            # a posterior is at most 1 (clamped against rounding near log 0 = -1e30); 0 past
            # a sample's input length and for an impossible target
            live = (t < il)[:, None] & possible
            post = jnp.where(live, jnp.exp(jnp.minimum(a + beta - ll_col, 0.0)), 0.0)
            return beta + e, post

        ts = jnp.arange(lp_ext.shape[0], dtype=il.dtype)
        init = jnp.full((N, L), steps.NEG, lp_ext.dtype)
        _, post = jax.lax.scan(back, init, (ts, lp_ext, alpha_all), reverse=True)
        return ll, jnp.sum(post * t_lp, axis=(0, 2))

    return states, loglik


def ctc_loglik(steps: Any, lp: Any, lab: Any, il: Any, tl: Any, skip: Any) -> Any:
    """Per-sample log p(target | input) by the generic alpha recursion as a ``lax.scan``,
    differentiated by the beta recursion (see ``_ctc_rule``)."""
    states, loglik = _ctc_rule(steps)
    return loglik(states(lp, lab), il, tl, skip)
