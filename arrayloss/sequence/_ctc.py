"""The CTC forward (alpha) recursion in log space, written once for every library. A backend
with its own ``ctc_loglik`` (JAX: a ``lax.scan`` differentiated by the backward, beta,
recursion) runs these same steps, handed to it as this module.

``ctc_loglik(lp, lab, il, tl, skip, xp)`` is each sample's log-likelihood of its target:
``lp`` the (T, N, C) log-probabilities, ``lab`` the (N, 2S + 1) extended target (blanks
between and around the labels), ``il``/``tl`` the input and target lengths, ``skip`` where a
state may be reached from two states back (a label that differs from the one before it).
The recursion starts from a virtual frame -1 that is all in the first blank, so that every
frame, the first included, is one ``_alpha_step``.
"""

from __future__ import annotations

import sys
from typing import Any

from .._lib import _create as create
from .._lib._compat import backend_name
from .._lib._dispatch import backend_hook
from .._lib._primitives import take_along_axis

__all__ = ["NEG", "alpha_step", "ctc_loglik", "end_loglik", "lse3", "pads", "start"]

NEG = -1e30  # finite "log 0": keeps autodiff free of inf - inf and 0 * inf


def ctc_loglik(lp: Any, lab: Any, il: Any, tl: Any, skip: Any, xp: Any) -> Any:
    """Per-sample log p(target | input), shape (N,); about ``NEG`` where it is impossible."""
    native = backend_hook(xp, "ctc_loglik")
    if native is not None:  # JAX: gradients by the backward (beta) recursion, not autodiff
        return native(sys.modules[__name__], lp, lab, il, tl, skip)
    backend = backend_name(xp)
    T, N, C = lp.shape
    if backend == "dask":  # no multi-index gather on Dask: a one-hot matmul (exact)
        oh = xp.astype(lab[..., None] == create.arange(C, lab, xp=xp, dtype=lab.dtype), lp.dtype)
        lp_ext = xp.matmul(lp[:, :, None, :], xp.permute_dims(oh, (0, 2, 1)))[:, :, 0, :]
    else:
        idx = xp.broadcast_to(lab[None, ...], (T, N, lab.shape[1]))
        lp_ext = take_along_axis(lp, idx, axis=2, xp=xp)
    alpha = start(lp_ext[0, ...], xp)
    cols = pads(alpha, xp)
    for t in range(T):  # a Python loop: unrolled, lazy on Dask
        ti = create.constant(t, il, xp=xp)
        alpha = alpha_step(alpha, lp_ext[t, ...], ti, il, skip, cols, xp)
    return end_loglik(alpha, tl, xp)


def lse3(a: Any, b: Any, c: Any, xp: Any) -> Any:
    m = xp.maximum(xp.maximum(a, b), c)
    return m + xp.log(xp.exp(a - m) + xp.exp(b - m) + xp.exp(c - m))


def start(like: Any, xp: Any) -> Any:
    """The forward variables at the virtual frame -1: the first blank with probability 1.

    One step from it gives the first frame's alphas on every state that can reach a final
    one: the first blank and the first label (with an empty target, state 1 gets the blank's
    emission instead of log 0, and no path from it ends at state 0)."""
    N, L = like.shape
    return xp.concat(
        [create.zeros((N, 1), like, xp=xp), create.full((N, L - 1), NEG, like, xp=xp)], axis=1
    )


def pads(like: Any, xp: Any) -> tuple[Any, Any]:
    """Columns of log 0, one and two wide, to shift the states by."""
    N = like.shape[0]
    return create.full((N, 1), NEG, like, xp=xp), create.full((N, 2), NEG, like, xp=xp)


def alpha_step(
    alpha: Any, e: Any, t: Any, il: Any, skip: Any, pads: tuple[Any, Any], xp: Any
) -> Any:
    """alpha_t from alpha_{t-1}: stay, advance one state, or skip a blank (where allowed);
    frozen from a sample's input length on."""
    negcol, negcol2 = pads
    a1 = xp.concat([negcol, alpha[:, :-1]], axis=1)
    a2 = xp.where(skip, xp.concat([negcol2, alpha[:, :-2]], axis=1), negcol)
    return xp.where((t < il)[:, None], lse3(alpha, a1, a2, xp) + e, alpha)


def end_loglik(alpha: Any, tl: Any, xp: Any) -> Any:
    """log p(target): the last label or the blank after it, at the last input frame."""
    L = alpha.shape[1]
    end = 2 * tl
    a_end = take_along_axis(alpha, end[:, None], axis=1, xp=xp)[:, 0]
    a_prev = take_along_axis(alpha, xp.clip(end - 1, 0, L - 1)[:, None], axis=1, xp=xp)[:, 0]
    a_prev = xp.where(tl > 0, a_prev, xp.full_like(a_prev, NEG))
    m = xp.maximum(a_end, a_prev)
    return m + xp.log(xp.exp(a_end - m) + xp.exp(a_prev - m))
