"""The CTC forward (alpha) recursion in log space, written once for every library, and the
JAX rule that differentiates it by the backward (beta) recursion.

``ctc_loglik(lp, lab, il, tl, skip, xp)`` is each sample's log-likelihood of its target:
``lp`` the (T, N, C) log-probabilities, ``lab`` the (N, 2S + 1) extended target (blanks
between and around the labels), ``il``/``tl`` the input and target lengths, ``skip`` where a
state may be reached from two states back (a label that differs from the one before it).
The recursion starts from a virtual frame -1 that is all in the first blank, so that every
frame, the first included, is one ``_alpha_step``.
"""

from __future__ import annotations

import functools
from typing import Any

from ._compat import backend_name
from ._primitives import take_along_axis

__all__ = ["NEG", "ctc_loglik"]

NEG = -1e30  # finite "log 0": keeps autodiff free of inf - inf and 0 * inf


def ctc_loglik(lp: Any, lab: Any, il: Any, tl: Any, skip: Any, xp: Any) -> Any:
    """Per-sample log p(target | input), shape (N,); about ``NEG`` where it is impossible."""
    backend = backend_name(xp)
    if backend == "jax":  # gradients by the backward (beta) recursion, not autodiff
        states, loglik = _jax_ctc()
        return loglik(states(lp, lab), il, tl, skip)
    T, N, C = lp.shape
    if backend == "dask":  # no multi-index gather on Dask: a one-hot matmul (exact)
        oh = xp.astype(lab[..., None] == xp.arange(C, dtype=lab.dtype), lp.dtype)
        lp_ext = xp.matmul(lp[:, :, None, :], xp.permute_dims(oh, (0, 2, 1)))[:, :, 0, :]
    else:
        idx = xp.broadcast_to(lab[None, ...], (T, N, lab.shape[1]))
        lp_ext = take_along_axis(lp, idx, axis=2, xp=xp)
    alpha = _start(lp_ext[0, ...], xp)
    pads = _pads(alpha, xp)
    for t in range(T):  # a Python loop: unrolled, lazy on Dask
        ti = xp.asarray(t, dtype=il.dtype)
        alpha = _alpha_step(alpha, lp_ext[t, ...], ti, il, skip, pads, xp)
    return _end_loglik(alpha, tl, xp)


def _lse3(a: Any, b: Any, c: Any, xp: Any) -> Any:
    m = xp.maximum(xp.maximum(a, b), c)
    return m + xp.log(xp.exp(a - m) + xp.exp(b - m) + xp.exp(c - m))


def _start(like: Any, xp: Any) -> Any:
    """The forward variables at the virtual frame -1: the first blank with probability 1.

    One step from it gives the first frame's alphas on every state that can reach a final
    one: the first blank and the first label (with an empty target, state 1 gets the blank's
    emission instead of log 0, and no path from it ends at state 0)."""
    N, L = like.shape
    return xp.concat(
        [xp.zeros((N, 1), dtype=like.dtype), xp.full((N, L - 1), NEG, dtype=like.dtype)], axis=1
    )


def _pads(like: Any, xp: Any) -> tuple[Any, Any]:
    """Columns of log 0, one and two wide, to shift the states by."""
    N = like.shape[0]
    return xp.full((N, 1), NEG, dtype=like.dtype), xp.full((N, 2), NEG, dtype=like.dtype)


def _alpha_step(
    alpha: Any, e: Any, t: Any, il: Any, skip: Any, pads: tuple[Any, Any], xp: Any
) -> Any:
    """alpha_t from alpha_{t-1}: stay, advance one state, or skip a blank (where allowed);
    frozen from a sample's input length on."""
    negcol, negcol2 = pads
    a1 = xp.concat([negcol, alpha[:, :-1]], axis=1)
    a2 = xp.where(skip, xp.concat([negcol2, alpha[:, :-2]], axis=1), negcol)
    return xp.where((t < il)[:, None], _lse3(alpha, a1, a2, xp) + e, alpha)


def _end_loglik(alpha: Any, tl: Any, xp: Any) -> Any:
    """log p(target): the last label or the blank after it, at the last input frame."""
    L = alpha.shape[1]
    end = 2 * tl
    a_end = take_along_axis(alpha, end[:, None], axis=1, xp=xp)[:, 0]
    a_prev = take_along_axis(alpha, xp.clip(end - 1, 0, L - 1)[:, None], axis=1, xp=xp)[:, 0]
    a_prev = xp.where(tl > 0, a_prev, xp.full_like(a_prev, NEG))
    m = xp.maximum(a_end, a_prev)
    return m + xp.log(xp.exp(a_end - m) + xp.exp(a_prev - m))


@functools.cache
def _jax_ctc() -> tuple[Any, Any]:
    """CTC on JAX: ``states(lp, lab)``, the emissions of the extended target's states, and
    ``loglik(lp_ext, il, tl, skip)``, each sample's log-likelihood, both with custom JVPs.

    ``states`` gathers with one index per (frame, sample, state), the fastest forward; its
    tangent gathers whole time rows from a (N, C, T) view instead, so that the transpose
    ``jax.grad`` takes of it is a scatter-add of N * (2S + 1) rows of T values, not of
    T * N * (2S + 1) scalars with an index triple each (XLA's CPU scatter of the latter
    took 60 ms of a 65 ms forward + backward at T=400, N=32, C=80, S=60).

    ``loglik`` is ``lax.scan`` over time. Reverse-mode autodiff of the forward scan would
    keep every step's intermediates and run each step's transposed ops one by one. The JVP
    instead runs the backward (beta) recursion once and contracts the tangent with the state
    posteriors ``exp(alpha_t + beta_t - log p)``, the exact derivative of ``log p`` with respect to
    each ``lp_ext[t, n, s]``: a linear map, so ``jax.grad`` transposes it into one multiply
    (the posteriors are its only residual), and forward mode (``jax.jvp``, ``jax.hessian``)
    works too (the rule itself is differentiable). The forward scan's outputs are every
    frame's alpha with no concatenation (it starts from the virtual frame -1): each array of
    shape (T, N, 2S + 1) that XLA's CPU client allocates is fresh memory on every call (page
    faults cost as much as the arithmetic here), so the rule keeps three: the emissions, the
    alphas, the posteriors."""
    import jax
    import jax.numpy as jnp

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
        pads = _pads(lp_ext[0], jnp)

        def step(alpha: Any, x: Any) -> tuple[Any, Any]:
            t, e = x
            new = _alpha_step(alpha, e, t, il, skip, pads, jnp)
            return new, (new if keep else None)

        ts = jnp.arange(lp_ext.shape[0], dtype=il.dtype)
        return jax.lax.scan(step, _start(lp_ext[0], jnp), (ts, lp_ext))

    @jax.custom_jvp
    def loglik(lp_ext: Any, il: Any, tl: Any, skip: Any) -> Any:
        return _end_loglik(alphas(lp_ext, il, skip, False)[0], tl, jnp)

    @loglik.defjvp
    def loglik_jvp(primals: Any, tangents: Any) -> Any:
        lp_ext, il, tl, skip = primals
        t_lp = tangents[0]
        N, L = lp_ext.shape[1:]
        alpha, alpha_all = alphas(lp_ext, il, skip, True)
        ll = _end_loglik(alpha, tl, jnp)
        neg = jnp.asarray(NEG, dtype=lp_ext.dtype)
        s_idx = jnp.arange(L, dtype=il.dtype)[None, :]
        end = (2 * tl)[:, None]
        # beta at a sample's last frame: 0 on its two final states, log 0 elsewhere
        last = jnp.where((s_idx == end) | ((s_idx == end - 1) & (end > 0)), 0.0, neg)
        last = last.astype(lp_ext.dtype)
        skip_next = jnp.concatenate([skip[:, 2:], jnp.zeros((N, 2), dtype=bool)], axis=1)
        negcol, negcol2 = _pads(lp_ext[0], jnp)
        possible = (ll > NEG / 10)[:, None]
        ll_col = ll[:, None]

        def back(b: Any, x: Any) -> tuple[Any, Any]:
            # b = beta_{t+1} + e_{t+1}, where beta_t(s) is log p(the rest of the target |
            # state s at frame t), frame t's own emission excluded
            t, e, a = x
            b1 = jnp.concatenate([b[:, 1:], negcol], axis=1)
            b2 = jnp.where(skip_next, jnp.concatenate([b[:, 2:], negcol2], axis=1), negcol)
            beta = jnp.where((t < il - 1)[:, None], _lse3(b, b1, b2, jnp), neg)
            beta = jnp.where((t == il - 1)[:, None], last, beta)
            # a posterior is at most 1 (clamped against rounding near log 0 = -1e30); 0 past
            # a sample's input length and for an impossible target
            live = (t < il)[:, None] & possible
            post = jnp.where(live, jnp.exp(jnp.minimum(a + beta - ll_col, 0.0)), 0.0)
            return beta + e, post

        ts = jnp.arange(lp_ext.shape[0], dtype=il.dtype)
        init = jnp.full((N, L), NEG, lp_ext.dtype)
        _, post = jax.lax.scan(back, init, (ts, lp_ext, alpha_all), reverse=True)
        return ll, jnp.sum(post * t_lp, axis=(0, 2))

    return states, loglik
