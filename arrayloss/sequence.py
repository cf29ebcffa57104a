"""Sequence losses: connectionist temporal classification (CTC)."""

from __future__ import annotations

import math
from typing import Any

from ._lib import (
    check_reduction,
    finish,
    is_concrete,
    namespace_of,
    promote_floating,
    register,
)
from ._lib._compat import device, isdtype
from ._lib._dtypes import index_dtype
from ._lib._primitives import take_along_axis, value_range
from ._lib._scan import scan

__all__ = ["ctc_loss"]

_FAMILY = "sequence"
_NEG = -1e30  # finite "log 0": keeps autodiff free of inf - inf and 0 * inf


def _lse3(a: Any, b: Any, c: Any, xp: Any) -> Any:
    m = xp.maximum(xp.maximum(a, b), c)
    return m + xp.log(xp.exp(a - m) + xp.exp(b - m) + xp.exp(c - m))


@register(_FAMILY, class_name="CTCLoss", torch="torch.nn.functional.ctc_loss")
def ctc_loss(
    log_probs: Any,
    targets: Any,
    input_lengths: Any,
    target_lengths: Any,
    /,
    *,
    blank: int = 0,
    reduction: str = "mean",
    zero_infinity: bool = False,
    xp: Any = None,
) -> Any:
    r"""Connectionist temporal classification loss (forward algorithm in log space).

    .. math::

        \ell_n = -\log \sum_{\pi \in \mathcal{B}^{-1}(y_n)} \prod_t p_{t, \pi_t}

    Parameters
    ----------
    log_probs : array, shape (T, N, C) or (T, C)
        Log-probabilities (e.g. from ``log_softmax``) over ``C`` classes.
    targets : int array, shape (N, S) padded, or (sum(target_lengths),) concatenated
        Class indices in ``[0, C)``, never ``blank``; padding beyond a target's length is
        ignored.
    input_lengths, target_lengths : int arrays (or tuples of ints, as torch), shape (N,)
        Each input length in ``[0, T]``; each target length in ``[0, S]`` (padded) and their
        sum at most ``len(targets)`` (concatenated).
    blank : int
        Index of the blank class, in ``[0, C)``.
    reduction : {"mean", "sum", "none"}
        ``mean`` divides each loss by its target length (at least 1), then averages.
    zero_infinity : bool
        Replace infinite losses (impossible alignments) by 0, with a zero gradient.

    Returns
    -------
    array
        Scalar, or shape (N,) with ``reduction="none"``.

    Notes
    -----
    The sum over alignments runs as a scan over time with a finite stand-in (-1e30) for
    log 0, so gradients through autodiff are finite; a loss above 1e29 is reported as
    ``inf``. Gradients are the true derivatives with respect to ``log_probs``; torch's
    kernel returns a gradient that assumes ``log_probs`` came from ``log_softmax``, so the
    two agree with respect to the logits feeding ``log_softmax``, not ``log_probs``.

    Integer dtypes are required for ``targets`` and the lengths (a ``TypeError`` names the
    argument). On concrete arrays (not under ``jax.jit``/``torch.compile``, never on Dask)
    the values are checked too: lengths out of range and class indices outside ``[0, C)``
    or equal to ``blank`` raise a ``ValueError`` naming the argument (torch reads such
    indices out of bounds or scores a blank inside a label as a label). An impossible
    alignment (a target longer than its input allows) is not an error: the loss is ``inf``,
    or 0 with ``zero_infinity=True``, as torch.

    PyTorch equivalent: ``torch.nn.functional.ctc_loss``.

    References
    ----------
    Graves et al., "Connectionist Temporal Classification", ICML 2006.

    Examples
    --------
    >>> import numpy as np
    >>> from arrayloss.sequence import ctc_loss
    >>> lp = np.log(np.full((2, 1, 2), 0.5))
    >>> print(np.round(ctc_loss(lp, np.array([[1]]), np.array([2]), np.array([1])), 4))
    0.2877
    """
    seq_il = isinstance(input_lengths, (list, tuple))
    seq_tl = isinstance(target_lengths, (list, tuple))
    xp = namespace_of(
        "ctc_loss",
        log_probs=log_probs,
        targets=targets,
        input_lengths=None if seq_il else input_lengths,
        target_lengths=None if seq_tl else target_lengths,
        xp=xp,
    )
    if seq_il:  # torch accepts a tuple of ints for the lengths
        input_lengths = _lengths_array(input_lengths, "input_lengths", log_probs, xp)
    if seq_tl:
        target_lengths = _lengths_array(target_lengths, "target_lengths", log_probs, xp)
    check_reduction("ctc_loss", reduction)
    for arg, a in (
        ("targets", targets),
        ("input_lengths", input_lengths),
        ("target_lengths", target_lengths),
    ):
        if not isdtype(a.dtype, "integral", xp):
            raise TypeError(f"ctc_loss: `{arg}` must have an integer dtype, got {a.dtype}")
    out, _, (lp,) = promote_floating("ctc_loss", xp, log_probs=log_probs)
    idt = index_dtype(xp)  # int32 on JAX without x64 (int64 would warn on every call)
    unbatched = lp.ndim == 2
    if unbatched:
        lp = lp[:, None, :]
        targets = targets[None, ...] if targets.ndim == 1 else targets
        input_lengths = xp.reshape(xp.asarray(input_lengths), (1,))
        target_lengths = xp.reshape(xp.asarray(target_lengths), (1,))
    T, N, C = lp.shape
    if not 0 <= blank < C:
        raise ValueError(f"ctc_loss: `blank` must be in [0, {C}), got {blank}")
    for arg, a in (("input_lengths", input_lengths), ("target_lengths", target_lengths)):
        if tuple(a.shape) != (N,):
            raise ValueError(
                f"ctc_loss: `{arg}` must have shape ({N},) (the batch size of `log_probs`), "
                f"got {tuple(a.shape)}"
            )
    if targets.ndim == 2 and targets.shape[0] != N:
        raise ValueError(
            f"ctc_loss: `targets` must have {N} rows (the batch size), got {targets.shape[0]}"
        )
    if targets.ndim not in (1, 2):
        raise ValueError(f"ctc_loss: `targets` must be 1-D or 2-D, got {targets.ndim}-D")
    _check_values(targets, input_lengths, target_lengths, T, C, blank, xp)
    il = xp.astype(input_lengths, idt)
    tl = xp.astype(target_lengths, idt)
    tg = xp.astype(targets, idt)
    if tg.ndim == 1:  # concatenated: gather a padded (N, S) view with offsets
        S = tg.shape[0]
        offs = xp.cumulative_sum(tl) - tl
        idx = offs[:, None] + xp.arange(max(S, 1), dtype=idt)[None, :]
        idx = xp.clip(idx, 0, max(S - 1, 0))
        tg = (
            xp.reshape(xp.take(tg, xp.reshape(idx, (-1,))), (N, max(S, 1)))
            if S
            else (xp.zeros((N, 1), dtype=idt))
        )
    S = tg.shape[1]
    L = 2 * S + 1
    s_idx = xp.arange(L, dtype=idt)
    lab = xp.where(
        s_idx[None, :] % 2 == 1, xp.take(tg, xp.clip((s_idx - 1) // 2, 0, S - 1), axis=1), blank
    )
    lab = xp.where((s_idx[None, :] // 2) < tl[:, None], lab, blank)
    lab_m2 = xp.concat([xp.full((N, 2), -1, dtype=idt), lab[:, :-2]], axis=1)
    skip = (s_idx[None, :] % 2 == 1) & (lab != lab_m2) & (s_idx[None, :] >= 2)
    neg = xp.asarray(_NEG, dtype=lp.dtype)
    if _backend(xp) == "dask":  # no multi-index gather on Dask: a one-hot matmul (exact)
        oh = xp.astype(lab[..., None] == xp.arange(C, dtype=idt), lp.dtype)
        lp_ext = xp.matmul(lp[:, :, None, :], xp.permute_dims(oh, (0, 2, 1)))[:, :, 0, :]
    else:
        lp_ext = take_along_axis(lp, xp.broadcast_to(lab[None, ...], (T, N, L)), axis=2, xp=xp)
    alpha0 = xp.where(s_idx[None, :] < 2, lp_ext[0, ...], neg)
    alpha0 = xp.where((s_idx[None, :] == 1) & (tl[:, None] == 0), neg, alpha0)
    alpha0 = xp.where(il[:, None] > 0, alpha0, neg)
    negcol = xp.full((N, 1), _NEG, dtype=lp.dtype)
    negcol2 = xp.full((N, 2), _NEG, dtype=lp.dtype)
    steps = (xp.arange(1, T, dtype=idt), lp_ext[1:, ...])

    def step(alpha: Any, x: Any) -> tuple[Any, Any]:
        t, e = x
        a1 = xp.concat([negcol, alpha[:, :-1]], axis=1)
        a2 = xp.where(skip, xp.concat([negcol2, alpha[:, :-2]], axis=1), neg)
        new = _lse3(alpha, a1, a2, xp) + e
        return xp.where((t < il)[:, None], new, alpha), None

    if T > 1:
        if _not_jax(xp):  # a Python loop (lazy on Dask)
            alpha = alpha0
            for t in range(1, T):
                alpha, _ = step(alpha, (xp.asarray(t, dtype=idt), lp_ext[t, ...]))
        else:
            alpha, _ = scan(step, alpha0, steps, xp)
    else:
        alpha = alpha0
    end = 2 * tl
    a_end = take_along_axis(alpha, end[:, None], axis=1, xp=xp)[:, 0]
    a_prev = take_along_axis(alpha, xp.clip(end - 1, 0, L - 1)[:, None], axis=1, xp=xp)[:, 0]
    a_prev = xp.where(tl > 0, a_prev, neg)
    m = xp.maximum(a_end, a_prev)
    loss = -(m + xp.log(xp.exp(a_end - m) + xp.exp(a_prev - m)))
    impossible = loss > 1e29
    if zero_infinity:
        loss = xp.where(impossible, xp.zeros_like(loss), loss)
    else:
        loss = xp.where(impossible, xp.asarray(float("inf"), dtype=loss.dtype), loss)
    if reduction == "none":
        result = loss[0] if unbatched else loss
    elif reduction == "sum":
        result = xp.sum(loss)
    else:
        denom = xp.astype(xp.clip(tl, 1, None), loss.dtype)
        result = xp.mean(loss / denom)
    return finish(result, out, xp)


def _lengths_array(v: Any, arg: str, like: Any, xp: Any) -> Any:
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in v):
        raise TypeError(f"ctc_loss: `{arg}` given as a sequence must hold Python ints")
    return xp.asarray(v, dtype=index_dtype(xp), device=device(like))


def _check_values(
    targets: Any, input_lengths: Any, target_lengths: Any, T: int, C: int, blank: int, xp: Any
) -> None:
    """Value checks on concrete arrays: lengths in range, labels in [0, C) and not blank."""
    idt = index_dtype(xp)
    arrays = (targets, input_lengths, target_lengths)
    if not all(is_concrete(a, xp) for a in arrays) or input_lengths.shape[0] == 0:
        return
    lo, hi = value_range(input_lengths, xp=xp)
    if lo < 0 or hi > T:
        raise ValueError(
            f"ctc_loss: `input_lengths` must lie in [0, {T}] (the time axis of `log_probs`), "
            f"found {lo if lo < 0 else hi}"
        )
    lo, hi = value_range(target_lengths, xp=xp)
    S = targets.shape[-1]
    if lo < 0 or (targets.ndim == 2 and hi > S):
        raise ValueError(
            f"ctc_loss: `target_lengths` must lie in [0, {S}] (the padded width of `targets`), "
            f"found {lo if lo < 0 else hi}"
        )
    if targets.ndim == 1:
        total = int(xp.sum(xp.astype(target_lengths, idt)))
        if total > S:
            raise ValueError(
                f"ctc_loss: `target_lengths` sum to {total}, more than the {S} concatenated "
                "`targets`"
            )
        used = targets[:total]
        is_blank = used == blank
    else:
        pos = xp.arange(S, dtype=idt)[None, :]
        valid = pos < xp.astype(target_lengths, idt)[:, None]
        used = xp.where(valid, targets, xp.full_like(targets, blank))  # padding: a valid index
        is_blank = valid & (targets == blank)
    if math.prod(used.shape) == 0:
        return
    lo, hi = value_range(used, xp=xp)
    if lo < 0 or hi >= C:
        raise ValueError(
            f"ctc_loss: `targets` holds class indices that must lie in [0, {C - 1}], "
            f"found {lo if lo < 0 else hi}"
        )
    if bool(xp.any(is_blank)):
        raise ValueError(f"ctc_loss: `targets` must not contain the blank index {blank}")


def _backend(xp: Any) -> str:
    from ._lib._compat import backend_name

    return backend_name(xp)


def _not_jax(xp: Any) -> bool:
    return _backend(xp) != "jax"
