"""Sequence losses: connectionist temporal classification (CTC) and the adaptive log-softmax
of language models over large vocabularies."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

from .._lib import _create as create
from .._lib import (
    check_labels_in_range,
    check_reduction,
    finish,
    is_concrete,
    namespace_of,
    native_loss,
    promote_floating,
    register,
)
from .._lib._compat import backend_name, isdtype
from .._lib._dtypes import index_dtype
from .._lib._primitives import log_softmax, take_along_axis, value_range
from .._lib._reduction import length_reduce
from .._lib._validation import invalid_as_nan, values_readable
from ._ctc import ctc_loglik

__all__ = [
    "ASMOutput",
    "adaptive_log_softmax_log_prob",
    "adaptive_log_softmax_loss",
    "ctc_loss",
]

_FAMILY = "sequence"
@register(
    _FAMILY,
    class_name="CTCLoss",
    torch="torch.nn.functional.ctc_loss",
    sample="ctc",
    scalar_args=("input_lengths", "target_lengths"),  # a Python int when unbatched (torch)
)
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
    The sum over alignments runs as a scan over time with a finite stand-in (-1e30) for log 0,
    so gradients through autodiff are finite; a loss above 1e29 is reported as ``inf``. On JAX
    the derivative comes from the backward (beta) recursion, in a custom JVP that ``jax.grad``
    transposes (``benchmarks/results/ctc.md`` compares it with optax) and that forward mode
    and second derivatives differentiate. Gradients are the true derivatives with respect to
    ``log_probs``; torch's kernel returns a gradient that assumes ``log_probs`` came from
    ``log_softmax``, so the two agree with respect to the logits feeding ``log_softmax``, not
    ``log_probs``. On eager torch tensors (not under ``torch.compile`` or ``torch.func``
    transforms) the loss runs torch's own forward-backward kernels and corrects their gradient
    to the true one (first-order only there, as torch's own: its kernel has no second
    derivative, and differentiating the gradient again raises a ``RuntimeError`` naming the
    loss). Where the lengths and labels are not checked (traced, lazy or accelerator arrays,
    ``check_values="never"``), a sample with an out-of-range length or label, or a blank in
    its target, gives NaN (torch's own kernel keeps torch's behaviour).

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
    for arg, a in (("input_lengths", input_lengths), ("target_lengths", target_lengths)):
        if isinstance(a, (int, float)) and not (
            type(a) is int and getattr(log_probs, "ndim", 0) == 2
        ):  # a Python int is an unbatched call's length (torch); nothing else is
            raise TypeError(
                f"ctc_loss: `{arg}` must be an array or a sequence of ints, got a Python "
                f"{type(a).__name__} ({a!r}) (a single int only with 2-D `log_probs`)"
            )
    for arg, a in (
        ("targets", targets),
        ("input_lengths", input_lengths),
        ("target_lengths", target_lengths),
    ):
        if not isinstance(a, int) and not isdtype(a.dtype, "integral", xp):
            raise TypeError(f"ctc_loss: `{arg}` must have an integer dtype, got {a.dtype}")
    if log_probs.ndim not in (2, 3):
        raise ValueError(
            "ctc_loss: `log_probs` must be 3-D (T, N, C) or 2-D (T, C) unbatched, got "
            f"{log_probs.ndim}-D"
        )
    out, _, (lp,) = promote_floating("ctc_loss", xp, log_probs=log_probs)
    unbatched = lp.ndim == 2
    if unbatched:
        lp = lp[:, None, :]
        targets = targets[None, ...] if targets.ndim == 1 else targets
        input_lengths = _one_length(input_lengths, lp, xp)
        target_lengths = _one_length(target_lengths, lp, xp)
    T, N, C = _check_shapes(lp, targets, input_lengths, target_lengths, blank)
    full = _check_values(targets, input_lengths, target_lengths, T, C, blank, xp)
    if T and N and (native := native_loss("ctc_loss", xp)) is not None:
        # torch's forward-backward kernels (eager torch), the true derivative w.r.t. lp
        loss = native(
            lp, targets, input_lengths, target_lengths, blank=blank,
            zero_infinity=zero_infinity, reduction=reduction, full=bool(full),
        )
        return finish(loss[0] if unbatched and reduction == "none" else loss, out, xp)
    loss, tl = _generic_ctc(
        lp, targets, input_lengths, target_lengths, blank, zero_infinity, xp,
        checked=full is not None,
    )
    if unbatched and reduction == "none":
        loss = loss[0]
    return finish(length_reduce(loss, tl, reduction, xp=xp), out, xp)


def _check_shapes(lp: Any, targets: Any, il: Any, tl: Any, blank: int) -> tuple[int, int, int]:
    """(T, N, C) of a batched ``lp``, with ctc_loss's shape checks on every argument."""
    T, N, C = lp.shape
    if not 0 <= blank < C:
        raise ValueError(f"ctc_loss: `blank` must be in [0, {C}), got {blank}")
    for arg, a in (("input_lengths", il), ("target_lengths", tl)):
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
    return T, N, C


def _generic_ctc(
    lp: Any, targets: Any, input_lengths: Any, target_lengths: Any, blank: int,
    zero_infinity: bool, xp: Any, *, checked: bool = True,
) -> tuple[Any, Any]:
    """Per-sample losses by the alpha recursion (any library), and the target lengths.
    ``checked=False`` (values not read): a sample with a bad length or label gives NaN."""
    T, N, C = lp.shape
    idt = index_dtype(xp)  # int32 on JAX without x64 (int64 would warn on every call)
    il = xp.astype(input_lengths, idt)
    tl = xp.astype(target_lengths, idt)
    tg = xp.astype(targets, idt)
    ok = None
    if tg.ndim == 1:  # concatenated: gather a padded (N, S) view with offsets
        S = tg.shape[0]
        offs = xp.cumulative_sum(tl) - tl
        ok = None if checked else offs + tl <= S
        idx = offs[:, None] + create.arange(max(S, 1), lp, xp=xp, dtype=idt)[None, :]
        idx = xp.clip(idx, 0, max(S - 1, 0))
        tg = (
            xp.reshape(xp.take(tg, xp.reshape(idx, (-1,))), (N, max(S, 1)))
            if S
            else (create.zeros((N, 1), lp, xp=xp, dtype=idt))
        )
    if not checked:
        ok, il, tl, tg = _unchecked_samples(ok, il, tl, tg, T, C, blank, xp)
    S = tg.shape[1]
    L = 2 * S + 1
    s_idx = create.arange(L, lp, xp=xp, dtype=idt)
    lab = xp.where(
        s_idx[None, :] % 2 == 1, xp.take(tg, xp.clip((s_idx - 1) // 2, 0, S - 1), axis=1), blank
    )
    lab = xp.where((s_idx[None, :] // 2) < tl[:, None], lab, blank)
    lab_m2 = xp.concat([create.full((N, 2), -1, lp, xp=xp, dtype=idt), lab[:, :-2]], axis=1)
    skip = (s_idx[None, :] % 2 == 1) & (lab != lab_m2) & (s_idx[None, :] >= 2)
    ll = ctc_loglik(lp, lab, il, tl, skip, xp)
    loss = -ll
    # an empty target on an empty input: the one (empty) alignment, probability 1 (torch)
    loss = xp.where((il == 0) & (tl == 0), xp.zeros_like(loss), loss)
    impossible = loss > 1e29
    if zero_infinity:
        loss = xp.where(impossible, xp.zeros_like(loss), loss)
    else:
        loss = xp.where(impossible, create.constant(float("inf"), loss, xp=xp), loss)
    if ok is not None:
        loss = invalid_as_nan(loss, ok, xp)
    return loss, tl


def _unchecked_samples(
    ok: Any, il: Any, tl: Any, tg: Any, T: int, C: int, blank: int, xp: Any
) -> tuple[Any, Any, Any, Any]:
    """Where ``_check_values`` did not run: which samples' lengths and used labels are valid
    (``ok``, shape (N,)), and lengths and labels made safe to index with (no library raises;
    a marked sample runs with empty lengths). No clip: its bounds may be symbolic sizes."""
    S = tg.shape[1]
    good = (il >= 0) & (il <= T) & (tl >= 0) & (tl <= S)
    used = create.arange(S, tg, xp=xp, dtype=tg.dtype)[None, :] < tl[:, None]
    label_ok = (tg >= 0) & (tg < C) & (tg != blank)
    good = good & xp.all(label_ok | ~used, axis=1)
    ok = good if ok is None else ok & good
    tg = xp.where((tg >= 0) & (tg < C), tg, create.constant(blank, tg, xp=xp))
    return ok, xp.where(ok, il, xp.zeros_like(il)), xp.where(ok, tl, xp.zeros_like(tl)), tg


def _one_length(v: Any, like: Any, xp: Any) -> Any:
    """An unbatched call's length (a Python int or a 0-d/1-element array) as shape (1,)."""
    if isinstance(v, int) and not isinstance(v, bool):
        return create.full((1,), v, like, xp=xp, dtype=index_dtype(xp))
    return xp.reshape(v, (1,))


def _lengths_array(v: Any, arg: str, like: Any, xp: Any) -> Any:
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in v):
        raise TypeError(f"ctc_loss: `{arg}` given as a sequence must hold Python ints")
    return create.constant(v, like, xp=xp, dtype=index_dtype(xp))


def _check_values(
    targets: Any, input_lengths: Any, target_lengths: Any, T: int, C: int, blank: int, xp: Any
) -> bool | None:
    """Value checks on concrete arrays: lengths in range, labels in [0, C) and not blank.
    Returns whether every input length was seen to be T, None when the values are not read
    (traced, lazy, on an accelerator, ``check_values="never"``)."""
    idt = index_dtype(xp)
    arrays = (targets, input_lengths, target_lengths)
    if not values_readable(arrays, xp):
        return None
    if input_lengths.shape[0] == 0:
        return False
    lo, hi = value_range(input_lengths, xp=xp)
    if lo < 0 or hi > T:
        raise ValueError(
            f"ctc_loss: `input_lengths` must lie in [0, {T}] (the time axis of `log_probs`), "
            f"found {lo if lo < 0 else hi}"
        )
    full = bool(lo == T)
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
    elif lo == S:  # no padding
        used = targets
    elif math.prod(targets.shape) and _plain_labels(targets, C, blank, xp):
        return full  # every stored value, padding included, a label other than the blank
    else:  # padding, ignored: replaced by a label that passes both checks
        positions = create.arange(S, targets, xp=xp, dtype=idt)
        valid = positions[None, :] < xp.astype(target_lengths, idt)[:, None]
        if C == 1:  # the blank is the only class: no such label, padding may hold anything
            used = xp.where(valid, targets, create.constant(blank, targets, xp=xp))
            check_labels_in_range("ctc_loss", "targets", used, C, xp)
            if bool(xp.any(valid & (targets == blank))):
                raise ValueError(f"ctc_loss: `targets` must not contain the blank index {blank}")
            return full
        fill = blank + 1 if blank + 1 < C else blank - 1
        used = xp.where(valid, targets, create.constant(fill, targets, xp=xp))
    if math.prod(used.shape) == 0:
        return full
    lo, hi = value_range(used, xp=xp)
    if lo < 0 or hi >= C:
        check_labels_in_range("ctc_loss", "targets", used, C, xp)  # raises, with an example
    if lo <= blank <= hi and bool(xp.any(used == blank)):
        raise ValueError(f"ctc_loss: `targets` must not contain the blank index {blank}")
    return full


def _plain_labels(targets: Any, C: int, blank: int, xp: Any) -> bool:
    """Whether every value of ``targets`` lies in [0, C) and none is the blank: one pass."""
    lo, hi = value_range(targets, xp=xp)
    return bool(lo >= 0 and hi < C and not lo <= blank <= hi)


# -- adaptive log-softmax (Grave et al. 2017) ------------------------------------------------


class ASMOutput(NamedTuple):
    """What :func:`adaptive_log_softmax_loss` returns, as torch's ``_ASMoutput``."""

    output: Any
    loss: Any


def _asm_layout(
    head_weight: Any, tail_weights: Sequence[Any], cutoffs: Sequence[int] | None, xp: Any
) -> tuple[list[int], int]:
    """Check the weights' shapes against each other (and ``cutoffs``, when given); return the
    cutoffs ``[c0, c1, ..., n_classes]`` implied by the shapes and ``in_features``."""
    name = "adaptive_log_softmax_loss"
    if head_weight.ndim != 2:
        raise ValueError(
            f"{name}: `head_weight` must be 2-D (shortlist + clusters, in_features), got "
            f"shape {tuple(head_weight.shape)}"
        )
    if not isinstance(tail_weights, (list, tuple)) or not tail_weights:
        raise TypeError(
            f"{name}: `tail_weights` must be a non-empty sequence of (projection, output) "
            "weight pairs, one per tail cluster"
        )
    head_size, in_features = head_weight.shape
    n_clusters = len(tail_weights)
    edges = [head_size - n_clusters]
    if edges[0] <= 0:
        raise ValueError(
            f"{name}: `head_weight` has {head_size} rows, too few for a shortlist plus "
            f"{n_clusters} cluster rows"
        )
    for i, pair in enumerate(tail_weights):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise TypeError(
                f"{name}: `tail_weights[{i}]` must be a (projection, output) pair of weights"
            )
        proj, outw = pair
        if (
            proj.ndim != 2
            or outw.ndim != 2
            or proj.shape[1] != in_features
            or outw.shape[1] != proj.shape[0]
        ):
            raise ValueError(
                f"{name}: `tail_weights[{i}]` must be shapes (hidden, {in_features}) and "
                f"(cluster size, hidden), got {tuple(proj.shape)} and {tuple(outw.shape)}"
            )
        edges.append(edges[-1] + outw.shape[0])
    if cutoffs is not None and list(cutoffs) != edges[:-1]:
        raise ValueError(
            f"{name}: `cutoffs` {list(cutoffs)} disagree with the weight shapes, which imply "
            f"{edges[:-1]} (n_classes {edges[-1]})"
        )
    return edges, in_features


def adaptive_log_softmax_loss(
    input: Any,
    target: Any,
    head_weight: Any,
    tail_weights: Sequence[tuple[Any, Any]],
    /,
    *,
    head_bias: Any = None,
    cutoffs: Sequence[int] | None = None,
    xp: Any = None,
) -> ASMOutput:
    r"""Adaptive log-softmax (efficient softmax for large vocabularies) and its loss.

    The functional form of ``torch.nn.AdaptiveLogSoftmaxWithLoss``: the classes are split
    by ``cutoffs`` into a head (the ``c_0`` most frequent classes plus one entry per tail
    cluster) and tail clusters, each scored through a low-rank projection.

    .. math::

        \log p(y \mid x) = \begin{cases}
            \log\operatorname{softmax}(W_h x + b)_y & y < c_0 \\
            \log\operatorname{softmax}(W_h x + b)_{c_0 + i}
              + \log\operatorname{softmax}(U_i V_i x)_{y - c_i} & c_i \le y < c_{i+1}
        \end{cases}

    Parameters
    ----------
    input : array, shape (N, in_features) or (in_features,)
        Hidden states, real floating.
    target : int array, shape (N,) or ()
        Class indices in ``[0, n_classes)``.
    head_weight : array, shape (c_0 + n_clusters, in_features)
        The head's ``Linear`` weight (torch's ``module.head.weight``).
    tail_weights : sequence of (projection, output) pairs
        For cluster ``i``: the projection of shape (hidden_i, in_features) and the output
        weight of shape (c_{i+1} - c_i, hidden_i) (torch's ``module.tail[i][0].weight`` and
        ``module.tail[i][1].weight``; ``hidden_i = in_features // div_value**(i + 1)``).
    head_bias : array, shape (c_0 + n_clusters,), optional
        The head's bias (torch's ``head_bias=True``).
    cutoffs : sequence of int, optional
        torch's ``cutoffs``; the weight shapes determine them, so this only checks that the
        two agree.
    xp : namespace, optional
        Array namespace of the arguments, to skip inspecting them.

    Returns
    -------
    ASMOutput
        ``output``: the log-probability of each target, shape (N,) (``()`` unbatched);
        ``loss``: the mean negative log-likelihood, a 0-d array. As torch's module.

    Notes
    -----
    On eager arrays with readable targets each tail runs only on the rows whose targets
    fall in it, as torch does (the point of the method); under ``jax.jit``/``torch.compile``
    and on Dask, where target values cannot be read, every tail runs on every row and the
    results are selected by mask (same values, more work). Full log-probabilities and
    predictions are :meth:`arrayloss.nn.AdaptiveLogSoftmaxWithLoss.log_prob` and
    ``predict``.

    PyTorch equivalent: ``torch.nn.AdaptiveLogSoftmaxWithLoss`` (its forward).

    References
    ----------
    E. Grave, A. Joulin, M. Cissé, D. Grangier, H. Jégou, "Efficient softmax approximation
    for GPUs", ICML 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from arrayloss import adaptive_log_softmax_loss
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(4, 8))
    >>> head = rng.normal(size=(3, 8))            # shortlist of 2 classes + 1 cluster
    >>> tail = [(rng.normal(size=(2, 8)), rng.normal(size=(3, 2)))]  # classes 2, 3, 4
    >>> out = adaptive_log_softmax_loss(x, np.array([0, 1, 2, 4]), head, tail)
    >>> out.output.shape, bool(np.isclose(out.loss, -out.output.mean()))
    ((4,), True)
    """
    name = "adaptive_log_softmax_loss"
    xp, edges, out, x, tails, head_lsm = _asm_prepare(
        input, head_weight, tail_weights, head_bias, cutoffs, xp, target=target
    )
    if not isdtype(target.dtype, "integral", xp):
        raise TypeError(f"{name}: `target` must have an integer dtype, got {target.dtype}")
    if target.ndim != input.ndim - 1 or (input.ndim == 2 and target.shape[0] != input.shape[0]):
        raise ValueError(
            f"{name}: `target` must have shape {tuple(input.shape[:-1])} for an input of shape "
            f"{tuple(input.shape)}, got {tuple(target.shape)}"
        )
    unbatched = input.ndim == 1
    if unbatched:
        target = xp.reshape(target, (1,))
    idt = index_dtype(xp)
    t = xp.astype(target, idt)
    concrete = is_concrete(target, xp)
    if concrete:
        check_labels_in_range(name, "target", t, edges[-1], xp)
    c0 = edges[0]
    cluster = xp.zeros_like(t)
    for c in edges[1:-1]:
        cluster = cluster + xp.astype(t >= c, idt)
    head_idx = xp.where(t < c0, t, c0 + cluster)
    picked = take_along_axis(head_lsm, head_idx[:, None], axis=1, xp=xp)[:, 0]
    if concrete and backend_name(xp) != "dask":
        tail_lp = _asm_tails_subset(x, t, tails, edges, idt, xp)
    else:
        tail_lp = _asm_tails_masked(x, t, tails, edges, idt, xp)
    output = picked + tail_lp
    loss = -xp.mean(output)
    if unbatched:
        output = output[0]
    return ASMOutput(finish(output, out, xp), finish(loss, out, xp))


def _asm_prepare(
    input: Any,
    head_weight: Any,
    tail_weights: Sequence[tuple[Any, Any]],
    head_bias: Any,
    cutoffs: Sequence[int] | None,
    xp: Any,
    **more: Any,
) -> tuple[Any, list[int], Any, Any, list[tuple[Any, Any]], Any]:
    """Shared prologue: namespace, shape checks, promotion of the input and every weight,
    and the head's log-softmax. Returns xp, edges, out dtype, the (N, D) input, the tail
    weight pairs and the head log-probabilities."""
    name = "adaptive_log_softmax_loss"
    arrays = {"input": input, **more, "head_weight": head_weight, "head_bias": head_bias}
    if isinstance(tail_weights, (list, tuple)):
        for i, pair in enumerate(tail_weights):
            if isinstance(pair, (list, tuple)):
                for j, w in enumerate(pair):
                    arrays[f"tail_weights[{i}][{j}]"] = w
    xp = namespace_of(name, xp=xp, **arrays)
    edges, in_features = _asm_layout(head_weight, tail_weights, cutoffs, xp)
    if input.ndim not in (1, 2) or input.shape[-1] != in_features:
        raise ValueError(
            f"{name}: `input` must have shape (N, {in_features}) or ({in_features},), got "
            f"{tuple(input.shape)}"
        )
    weights = [w for pair in tail_weights for w in pair]
    out, _, cast = promote_floating(
        name, xp, input=input, head_weight=head_weight, head_bias=head_bias,
        **{f"w{i}": w for i, w in enumerate(weights)},
    )
    x, hw, hb = cast[0], cast[1], cast[2]
    tails = [(cast[3 + 2 * i], cast[4 + 2 * i]) for i in range(len(tail_weights))]
    if x.ndim == 1:
        x = x[None, :]
    head = xp.matmul(x, xp.matrix_transpose(hw))
    if hb is not None:
        head = head + hb
    return xp, edges, out, x, tails, log_softmax(head, axis=1, xp=xp)


def _tail_logprob(x: Any, rel: Any, pair: tuple[Any, Any], xp: Any) -> Any:
    proj, outw = pair
    logits = xp.matmul(xp.matmul(x, xp.matrix_transpose(proj)), xp.matrix_transpose(outw))
    lsm = log_softmax(logits, axis=1, xp=xp)
    return take_along_axis(lsm, rel[:, None], axis=1, xp=xp)[:, 0]


def _asm_tails_masked(
    x: Any, t: Any, tails: list[tuple[Any, Any]], edges: list[int], idt: Any, xp: Any
) -> Any:
    """Every tail on every row, selected by mask (traced or lazy targets)."""
    acc = create.zeros(t.shape, x, xp=xp)
    for i, pair in enumerate(tails):
        lo, hi = edges[i], edges[i + 1]
        inside = (t >= lo) & (t < hi)
        rel = xp.where(inside, t - lo, xp.zeros_like(t))
        acc = xp.where(inside, _tail_logprob(x, rel, pair, xp), acc)
    return acc


def _asm_tails_subset(
    x: Any, t: Any, tails: list[tuple[Any, Any]], edges: list[int], idt: Any, xp: Any
) -> Any:
    """Each tail only on its rows (torch's way), put back in row order by one gather."""
    rows = [xp.nonzero(t < edges[0])[0]]
    parts = [create.zeros(rows[0].shape, x, xp=xp)]
    for i, pair in enumerate(tails):
        lo, hi = edges[i], edges[i + 1]
        r = xp.nonzero((t >= lo) & (t < hi))[0]
        rows.append(r)
        if r.shape[0] == 0:
            parts.append(create.zeros((0,), x, xp=xp))
            continue
        parts.append(_tail_logprob(xp.take(x, r, axis=0), xp.take(t, r) - lo, pair, xp))
    order = xp.concat([xp.astype(r, idt) for r in rows])
    inverse = xp.argsort(order)  # order is a permutation of the rows: labels are in range
    return xp.take(xp.concat(parts), inverse)


def adaptive_log_softmax_log_prob(
    input: Any,
    head_weight: Any,
    tail_weights: Sequence[tuple[Any, Any]],
    /,
    *,
    head_bias: Any = None,
    cutoffs: Sequence[int] | None = None,
    xp: Any = None,
) -> Any:
    """Log-probabilities of every class, shape (N, n_classes) (torch's ``log_prob``)."""
    xp, edges, out, x, tails, head_lsm = _asm_prepare(
        input, head_weight, tail_weights, head_bias, cutoffs, xp
    )
    c0 = edges[0]
    blocks = [head_lsm[:, :c0]]
    for i, (proj, outw) in enumerate(tails):
        logits = xp.matmul(xp.matmul(x, xp.matrix_transpose(proj)), xp.matrix_transpose(outw))
        blocks.append(log_softmax(logits, axis=1, xp=xp) + head_lsm[:, c0 + i : c0 + i + 1])
    result = xp.concat(blocks, axis=1)
    return finish(result[0] if input.ndim == 1 else result, out, xp)
