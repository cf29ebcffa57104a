"""Registry entries for the classification/probabilistic losses (arrayloss.classification).

References: torch.nn.functional (cross_entropy, nll_loss, binary_cross_entropy,
binary_cross_entropy_with_logits, kl_div) called on float64 torch tensors, so gradients come
from torch autograd; torchvision's sigmoid_focal_loss re-written in torch ops (torchvision is
not installed); softmax focal loss (Lin et al. 2017) and Poly-1 (Leng et al. 2022) written
from the papers in torch ops.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
import torch.nn.functional as F

import arrayloss as al

from ._core import ErrorInput, LossInfo, SampleInput, randn, uniform

# -- helpers ---------------------------------------------------------------------------------


def _labels(rng: np.random.Generator, c: int, *shape: int) -> np.ndarray:
    return rng.integers(0, c, shape)


def _with_ignored(rng: np.random.Generator, t: np.ndarray, ignore: int = -100) -> np.ndarray:
    t = t.copy()
    flat = t.reshape(-1)
    flat[rng.choice(flat.size, max(1, flat.size // 3), replace=False)] = ignore
    return t


def _probs(rng: np.random.Generator, *shape: int, axis: int = 1) -> np.ndarray:
    e = np.exp(rng.standard_normal(shape))
    return e / e.sum(axis=axis if len(shape) > 1 else 0, keepdims=True)


def _move_back(x, axis):
    """Channels-last reference: move the class axis of ``x`` to dim 1 for torch."""
    return x if axis in (1, None) or x.ndim < 2 else torch.movedim(x, axis, 1)


# -- references ------------------------------------------------------------------------------


def _ref_cross_entropy(
    x, t, *, reduction, weight=None, ignore_index=-100, label_smoothing=0.0, axis=1
):
    x = _move_back(x, axis)
    if t.is_floating_point():
        t = _move_back(t, axis)
    else:
        t = t.long()
    return F.cross_entropy(
        x,
        t,
        weight=weight,
        ignore_index=_torch_ignore(ignore_index, t),
        reduction=reduction,
        label_smoothing=label_smoothing,
    )


def _ref_nll(x, t, *, reduction, weight=None, ignore_index=-100, axis=1):
    t = t.long()
    return F.nll_loss(
        _move_back(x, axis),
        t,
        weight=weight,
        ignore_index=_torch_ignore(ignore_index, t),
        reduction=reduction,
    )


def _torch_ignore(ignore_index, t):
    """torch takes an int: arrayloss's None (nothing ignored) is torch's -100 when no label
    is -100 (every None sample's labels lie in [0, C))."""
    if ignore_index is None:
        assert t.is_floating_point() or not bool((t == -100).any())
        return -100
    return ignore_index


def _ref_bce(x, y, *, reduction, weight=None):
    return F.binary_cross_entropy(x, y.double(), weight=weight, reduction=reduction)


def _ref_bce_logits(x, y, *, reduction, weight=None, pos_weight=None):
    return F.binary_cross_entropy_with_logits(
        x, y.double(), weight=weight, reduction=reduction, pos_weight=pos_weight
    )


def _ref_kl_div(x, y, *, reduction, log_target=False):
    with warnings.catch_warnings():  # torch warns that "mean" is not the KL divergence
        warnings.simplefilter("ignore", UserWarning)
        return F.kl_div(x, y.double(), reduction=reduction, log_target=log_target)


def _ref_sigmoid_focal(x, y, *, alpha=0.25, gamma=2.0, reduction="none"):
    # torchvision.ops.sigmoid_focal_loss (torchvision/ops/focal_loss.py), transcribed.
    y = y.double()
    p = torch.sigmoid(x)
    ce_loss = F.binary_cross_entropy_with_logits(x, y, reduction="none")
    p_t = p * y + (1 - p) * (1 - y)
    loss = ce_loss * ((1 - p_t) ** gamma)
    if alpha >= 0:
        alpha_t = alpha * y + (1 - alpha) * (1 - y)
        loss = alpha_t * loss
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _gather_target(x, t, axis, ignore_index):
    """log p at the target (class 0 where ignored), the valid mask; classes moved to dim 1."""
    logp = F.log_softmax(_move_back(x, axis), dim=1)
    t = t.long()
    valid = t != _torch_ignore(ignore_index, t)
    safe = torch.where(valid, t, torch.zeros_like(t))
    return logp.gather(1, safe.unsqueeze(1)).squeeze(1), valid, safe, logp


def _ref_focal(x, t, *, reduction, gamma=2.0, alpha=None, weight=None, ignore_index=-100, axis=1):
    # Lin et al. 2017, softmax form: -alpha_y w_y (1 - p_y)^gamma log p_y, written directly.
    unbatched = x.ndim == 1
    if unbatched:
        x, t = x[None], t.reshape(1)
    lp, valid, safe, _ = _gather_target(x, t, axis, ignore_index)
    w = weight[safe] if weight is not None else torch.ones_like(lp)
    w = torch.where(valid, w, torch.zeros_like(w))
    loss = -w * (1 - lp.exp()) ** gamma * lp
    if alpha is not None:
        loss = loss * (alpha[safe] if isinstance(alpha, torch.Tensor) else alpha)
    loss = loss[0] if unbatched else loss
    if reduction == "mean":
        return loss.sum() / w.sum()
    if reduction == "sum":
        return loss.sum()
    return loss


def _ref_poly1(x, t, *, reduction, epsilon=1.0, weight=None, ignore_index=-100, axis=1):
    # Leng et al. 2022, Poly-1: CE + epsilon * (1 - p_t) (the paper's reference code).
    unbatched = x.ndim == 1
    if unbatched:
        x, t = x[None], t[None]
    if t.is_floating_point():
        logp = F.log_softmax(_move_back(x, axis), dim=1)
        q = _move_back(t.double(), axis)
        loss = -(q * logp).sum(1) + epsilon * (1 - (q * logp.exp()).sum(1))
        loss = loss[0] if unbatched else loss
        return {"mean": loss.mean, "sum": loss.sum}.get(reduction, lambda: loss)()
    lp, valid, safe, _ = _gather_target(x, t, axis, ignore_index)
    w = weight[safe] if weight is not None else torch.ones_like(lp)
    w = torch.where(valid, w, torch.zeros_like(w))
    loss = w * (-lp + epsilon * (1 - lp.exp()))
    loss = loss[0] if unbatched else loss
    if reduction == "mean":
        return loss.sum() / w.sum()
    if reduction == "sum":
        return loss.sum()
    return loss


# -- samples ---------------------------------------------------------------------------------


def _ce_samples(rng, *, probs=True, smoothing=True):
    x = lambda *s: randn(rng, *s, scale=2)
    w = uniform(rng, 5, low=0.1, high=2.0)
    out = [
        SampleInput((x(6, 5), _labels(rng, 5, 6)), desc="(N, C)"),
        SampleInput((x(5), np.array(3)), desc="unbatched (C,), 0-d target"),
        SampleInput((x(3, 5, 2, 4), _labels(rng, 5, 3, 2, 4)), desc="(N, C, d1, d2)"),
        SampleInput((x(6, 5), _labels(rng, 5, 6)), {"weight": w}, desc="weight"),
        SampleInput((x(6, 5), _with_ignored(rng, _labels(rng, 5, 6))), desc="ignore_index"),
        SampleInput(
            (x(6, 5), _with_ignored(rng, _labels(rng, 5, 6), 2)),
            {"ignore_index": 2, "weight": w},
            desc="ignore_index=2 (a class), weight",
        ),
        SampleInput(
            (x(3, 5, 4), _with_ignored(rng, _labels(rng, 5, 3, 4))),
            {"weight": w},
            desc="(N, C, d), weight + ignored",
        ),
        SampleInput((x(6, 5), _labels(rng, 5, 6).astype(np.int32)), desc="int32 targets"),
        SampleInput((x(6, 5), _labels(rng, 5, 6).astype(np.uint8)), desc="uint8 targets"),
        SampleInput(
            (x(3, 4, 5), _labels(rng, 5, 3, 4)), {"axis": -1}, desc="channels-last, axis=-1"
        ),
        SampleInput(
            (x(3, 4, 5), _with_ignored(rng, _labels(rng, 5, 3, 4))),
            {"axis": 2, "weight": w},
            desc="axis=2, weight + ignored",
        ),
        SampleInput((x(4, 1), np.zeros(4, dtype=np.int64)), desc="one class"),
        SampleInput((x(6, 5), _labels(rng, 5, 6)), {"ignore_index": None}, desc="ignore nothing"),
        SampleInput(
            (x(3, 5, 4), _labels(rng, 5, 3, 4).astype(np.int32)),
            {"ignore_index": None, "weight": w},
            desc="(N, C, d), int32, weight, ignore nothing",
        ),
    ]
    if smoothing:
        out += [
            SampleInput(
                (x(6, 5), _labels(rng, 5, 6)), {"label_smoothing": 0.1}, desc="label_smoothing"
            ),
            SampleInput(
                (x(6, 5), _with_ignored(rng, _labels(rng, 5, 6))),
                {"label_smoothing": 0.2, "weight": w},
                desc="label_smoothing + weight + ignore_index",
            ),
            SampleInput(
                (x(6, 5), _labels(rng, 5, 6)),
                {"label_smoothing": 0.2, "ignore_index": None},
                desc="label_smoothing, ignore nothing",
            ),
            SampleInput(
                (x(3, 5, 4), _with_ignored(rng, _labels(rng, 5, 3, 4))),
                {"label_smoothing": 0.3, "weight": w},
                desc="(N, C, d), all options",
            ),
            SampleInput(
                (x(5), np.array(1)),
                {"label_smoothing": 1.0, "weight": w},
                desc="unbatched, label_smoothing=1",
            ),
            SampleInput(
                (x(3, 4, 5), _labels(rng, 5, 3, 4)),
                {"axis": -1, "label_smoothing": 0.1, "weight": w},
                desc="channels-last, smoothing + weight",
            ),
        ]
    if probs:
        out += [
            SampleInput((x(6, 5), _probs(rng, 6, 5)), desc="probability targets"),
            SampleInput((x(5), _probs(rng, 5)), desc="unbatched probability targets"),
            SampleInput(
                (x(6, 5), _probs(rng, 6, 5)),
                {"weight": w, "label_smoothing": 0.2},
                desc="probability targets, weight + smoothing",
            ),
            SampleInput(
                (x(2, 5, 3), _probs(rng, 2, 5, 3)),
                {"weight": w},
                desc="(N, C, d) probability targets, weight",
            ),
            SampleInput(
                (x(2, 3, 5), _probs(rng, 2, 3, 5, axis=-1)),
                {"axis": -1},
                desc="channels-last probability targets",
            ),
        ]
    return out


def _nll_samples(rng):
    # log-probabilities as the input, like a log_softmax output
    out = []
    for s in _ce_samples(rng, probs=False, smoothing=False):
        x = s.args[0]
        ax = s.kwargs.get("axis", 1) if x.ndim > 1 else 0
        m = x.max(axis=ax, keepdims=True)
        logp = x - m - np.log(np.exp(x - m).sum(axis=ax, keepdims=True))
        out.append(SampleInput((logp, s.args[1]), s.kwargs, s.desc))
    return out


# -- errors ----------------------------------------------------------------------------------


def _ignore_none_errors(rng):
    """ignore_index=None (no target ignored): torch's -100 is then a bad label."""
    x = randn(rng, 3, 4)
    return [
        ErrorInput(
            SampleInput((x, np.array([0, -100, 1])), {"ignore_index": None}),
            ValueError,
            r"`target` .*\[0, 3\].*found -100",
            data_dependent=True,
        ),
        ErrorInput(SampleInput((x, np.array([0, 3, 1])), {"ignore_index": "none"}), TypeError,
                   r"`ignore_index` must be an int or None"),
    ]


def _index_errors(rng, *, smoothing):
    x, t = randn(rng, 3, 4), np.array([0, 3, 1])
    out = [
        ErrorInput(SampleInput((x, t[:2])), ValueError, r"`target` .*shape \(3,\)"),
        ErrorInput(SampleInput((x, t[:, None])), ValueError, r"`target` .*shape"),
        ErrorInput(SampleInput((x, t.astype(bool))), TypeError, r"`target` .*integer dtype"),
        ErrorInput(SampleInput((x.astype(np.int64), t)), TypeError, r"`input` .*floating"),
        ErrorInput(
            SampleInput((x, t), {"weight": uniform(rng, 5)}),
            ValueError,
            r"`weight` must have shape \(4,\)",
        ),
        ErrorInput(SampleInput((x, t), {"axis": 2}), ValueError, r"`axis` must be a valid"),
        ErrorInput(SampleInput((x, t), {"ignore_index": 1.0}), TypeError, r"`ignore_index`"),
        ErrorInput(
            SampleInput((x, np.array([0, 4, 1]))),
            ValueError,
            r"`target` .*\[0, 3\].*found 4",
            data_dependent=True,
        ),
        ErrorInput(
            SampleInput((x, np.array([0, -1, 1]))),
            ValueError,
            r"`target` .*\[0, 3\].*found -1",
            data_dependent=True,
        ),
        ErrorInput(
            SampleInput((x, np.array([0, -100, 1])), {"ignore_index": -1}),
            ValueError,
            r"`target` .*found -100",
            data_dependent=True,
        ),
    ]
    if smoothing:
        out += [
            ErrorInput(
                SampleInput((x, t), {"label_smoothing": 1.5}),
                ValueError,
                r"`label_smoothing` must be between 0.0 and 1.0",
            ),
            ErrorInput(
                SampleInput((x, t), {"label_smoothing": -0.1}), ValueError, r"`label_smoothing`"
            ),
            ErrorInput(
                SampleInput((x, randn(rng, 3, 5))),
                ValueError,
                r"`target` holds class probabilities .*shape \(3, 4\)",
            ),
        ]
    else:
        out.append(
            ErrorInput(SampleInput((x, randn(rng, 3))), TypeError, r"`target` .*integer dtype")
        )
    return out


# -- extreme samples -------------------------------------------------------------------------


def _ce_extremes(rng):
    t = _labels(rng, 5, 4)
    w0 = uniform(rng, 5, low=0.5, high=1.5)
    w0[t[0]] = 0.0
    return [
        SampleInput((1e4 * rng.choice([-1.0, 1.0], (4, 5)), t), desc="logits ±1e4"),
        SampleInput(
            (1e4 * rng.choice([-1.0, 1.0], (4, 5)), t),
            {"label_smoothing": 0.1},
            desc="logits ±1e4, smoothing",
        ),
        SampleInput((np.zeros((4, 5)), t), desc="logits 0"),
        SampleInput((randn(rng, 4, 5), t), {"weight": w0}, desc="a class weight of 0"),
        SampleInput(
            (randn(rng, 4, 5), np.full(4, -100)), {"reduction": "sum"}, desc="all ignored, sum"
        ),
        SampleInput(
            (randn(rng, 4, 5), np.full(4, -100)), {"reduction": "none"}, desc="all ignored, none"
        ),
    ]


def _ce_prob_extremes(rng):
    onehot = np.eye(5)[_labels(rng, 5, 4)]
    return [
        *_ce_extremes(rng),
        SampleInput(
            (1e4 * rng.choice([-1.0, 1.0], (4, 5)), onehot),
            desc="logits ±1e4, one-hot probabilities",
        ),
    ]


def _nll_extremes(rng):
    t = _labels(rng, 5, 4)
    return [
        SampleInput((np.log(np.full((4, 5), 0.2)), t), desc="uniform"),
        SampleInput((np.full((4, 5), -1e4), t), desc="log-probs -1e4"),
        SampleInput(
            (randn(rng, 4, 5), np.full(4, -100)), {"reduction": "sum"}, desc="all ignored, sum"
        ),
    ]


def _bce_samples(rng):
    # at most 0.65: the vmap tests scale float inputs by 1.5, which must stay in [0, 1]
    p = lambda *s: uniform(rng, *s, low=0.02, high=0.65)
    bits = lambda *s: rng.integers(0, 2, s).astype(np.float64)
    return [
        SampleInput((p(7), bits(7)), desc="1-d"),
        SampleInput((p(4, 5), bits(4, 5)), desc="2-d"),
        SampleInput((p(2, 3, 4), uniform(rng, 2, 3, 4)), desc="3-d soft targets"),
        SampleInput(
            (p(4, 5), bits(4, 5)), {"weight": uniform(rng, 4, 5, high=2)}, desc="elementwise weight"
        ),
        SampleInput(
            (p(4, 5), bits(4, 5)), {"weight": uniform(rng, 5, high=2)}, desc="weight broadcast (C,)"
        ),
        SampleInput((p(4, 5), rng.integers(0, 2, (4, 5))), desc="int targets"),
        SampleInput((np.array([0.3]), np.array([1.0])), desc="one element"),
    ]


def _bce_logits_samples(rng):
    x = lambda *s: randn(rng, *s, scale=3)
    bits = lambda *s: rng.integers(0, 2, s).astype(np.float64)
    return [
        SampleInput((x(7), bits(7)), desc="1-d"),
        SampleInput((x(4, 5), uniform(rng, 4, 5)), desc="soft targets"),
        SampleInput((x(2, 3, 4), bits(2, 3, 4)), desc="3-d"),
        SampleInput((x(4, 5), bits(4, 5)), {"weight": uniform(rng, 4, 5, high=2)}, desc="weight"),
        SampleInput(
            (x(4, 5), bits(4, 5)), {"pos_weight": uniform(rng, 5, high=3)}, desc="pos_weight (C,)"
        ),
        SampleInput(
            (x(2, 3, 5), bits(2, 3, 5)),
            {"pos_weight": uniform(rng, 5, high=3), "weight": uniform(rng, 3, 1)},
            desc="pos_weight + weight broadcasting",
        ),
        SampleInput(
            (x(4, 5), bits(4, 5)),
            {"pos_weight": uniform(rng, 4, 5, high=3)},
            desc="pos_weight full shape",
        ),
        SampleInput((x(4, 5), rng.integers(0, 2, (4, 5)).astype(np.int32)), desc="int32 targets"),
    ]


def _kl_samples(rng):
    logq = lambda *s: np.log(_probs(rng, *s, axis=-1))
    p = _probs(rng, 4, 5, axis=-1)
    p[0, 1] = 0.0  # zero targets contribute 0
    p[2, :2] = 0.0
    out = []
    for r in ("mean", "sum", "none", "batchmean"):
        out += [
            SampleInput((logq(4, 5), p), {"reduction": r}, desc="zero targets"),
            SampleInput(
                (logq(4, 5), np.log(_probs(rng, 4, 5, axis=-1))),
                {"reduction": r, "log_target": True},
                desc="log_target",
            ),
        ]
    out += [
        SampleInput(
            (logq(2, 3, 4), _probs(rng, 2, 3, 4, axis=-1)),
            {"reduction": "batchmean"},
            desc="3-d batchmean",
        ),
        SampleInput((logq(6), _probs(rng, 6)), {"reduction": "batchmean"}, desc="1-d"),
        SampleInput((randn(rng, 4, 5), uniform(rng, 4, 5)), desc="unnormalized"),
    ]
    return out


def _sigmoid_focal_samples(rng):
    x = lambda *s: randn(rng, *s, scale=3)
    bits = lambda *s: rng.integers(0, 2, s).astype(np.float64)
    return [
        SampleInput((x(4, 5), bits(4, 5)), desc="defaults"),
        SampleInput((x(2, 3, 4), bits(2, 3, 4)), {"alpha": 0.5, "gamma": 1.0}, desc="3-d"),
        SampleInput(
            (x(7), bits(7)), {"alpha": -1.0, "gamma": 0.0}, desc="alpha<0, gamma=0 (plain BCE)"
        ),
        SampleInput((x(4, 5), uniform(rng, 4, 5)), {"gamma": 3.5}, desc="soft targets"),
        SampleInput((x(4, 5), rng.integers(0, 2, (4, 5))), desc="int targets"),
    ]


def _focal_samples(rng):
    x = lambda *s: randn(rng, *s, scale=2)
    w = uniform(rng, 5, low=0.1, high=2.0)
    a = uniform(rng, 5, low=0.1, high=1.0)
    return [
        SampleInput((x(6, 5), _labels(rng, 5, 6)), desc="defaults"),
        SampleInput((x(6, 5), _labels(rng, 5, 6)), {"gamma": 0.0}, desc="gamma=0 (CE)"),
        SampleInput(
            (x(6, 5), _labels(rng, 5, 6)), {"gamma": 1.5, "alpha": a}, desc="alpha per class"
        ),
        SampleInput((x(6, 5), _labels(rng, 5, 6)), {"alpha": 0.25}, desc="alpha float"),
        SampleInput(
            (x(6, 5), _with_ignored(rng, _labels(rng, 5, 6))),
            {"weight": w, "alpha": a},
            desc="weight + alpha + ignored",
        ),
        SampleInput(
            (x(3, 5, 4), _with_ignored(rng, _labels(rng, 5, 3, 4))), {"weight": w}, desc="(N, C, d)"
        ),
        SampleInput(
            (x(3, 4, 5), _labels(rng, 5, 3, 4).astype(np.int32)),
            {"axis": -1},
            desc="channels-last, int32",
        ),
        SampleInput((x(5), np.array(2)), {"gamma": 3.0}, desc="unbatched"),
        SampleInput(
            (x(6, 5), _labels(rng, 5, 6)),
            {"ignore_index": None, "weight": w, "alpha": 0.5},
            desc="ignore nothing + weight",
        ),
        SampleInput(
            (x(3, 5, 4), _labels(rng, 5, 3, 4).astype(np.int32)),
            {"ignore_index": None},
            desc="ignore nothing, (N, C, d) int32",
        ),
    ]


def _poly1_samples(rng):
    x = lambda *s: randn(rng, *s, scale=2)
    w = uniform(rng, 5, low=0.1, high=2.0)
    return [
        SampleInput((x(6, 5), _labels(rng, 5, 6)), desc="defaults"),
        SampleInput((x(6, 5), _labels(rng, 5, 6)), {"epsilon": -1.0}, desc="epsilon=-1"),
        SampleInput(
            (x(6, 5), _with_ignored(rng, _labels(rng, 5, 6))),
            {"epsilon": 2.0, "weight": w},
            desc="weight + ignored",
        ),
        SampleInput((x(3, 5, 4), _labels(rng, 5, 3, 4).astype(np.int32)), desc="(N, C, d)"),
        SampleInput((x(3, 4, 5), _labels(rng, 5, 3, 4)), {"axis": -1}, desc="channels-last"),
        SampleInput((x(5), np.array(2)), desc="unbatched"),
        SampleInput((x(6, 5), _probs(rng, 6, 5)), {"epsilon": 0.5}, desc="probability targets"),
        SampleInput(
            (x(6, 5), _labels(rng, 5, 6)),
            {"ignore_index": None, "weight": w},
            desc="ignore nothing + weight",
        ),
        SampleInput(
            (x(3, 4, 5), _labels(rng, 5, 3, 4).astype(np.int32)),
            {"ignore_index": None, "axis": -1},
            desc="ignore nothing, channels-last int32",
        ),
    ]


def _elementwise_errors(rng, *, extra=()):
    x, y = uniform(rng, 3, 4, low=0.1, high=0.9), uniform(rng, 3, 4)
    return [
        ErrorInput(SampleInput((x, y[:2])), ValueError, r"same shape"),
        ErrorInput(SampleInput((x.astype(np.int64), y)), TypeError, r"`input` .*floating"),
        *[
            ErrorInput(
                SampleInput((x, y), {k: uniform(rng, 5)}), ValueError, rf"`{k}`.*broadcastable"
            )
            for k in extra
        ],
    ]


def _sigmoid_focal_errors(rng):
    x, y = randn(rng, 3, 4), uniform(rng, 3, 4)
    return [
        ErrorInput(SampleInput((x, y[:2])), ValueError, r"same shape"),
        ErrorInput(SampleInput((x, y), {"gamma": -1.0}), ValueError, r"`gamma`"),
    ]


def _kl_errors(rng):
    return [
        *_elementwise_errors(rng),
        ErrorInput(
            SampleInput((randn(rng, 3), uniform(rng, 3)), {"reduction": "batch"}),
            ValueError,
            r"`reduction` must be one of .*'batchmean'",
        ),
    ]


def _focal_errors(rng):
    x, t = randn(rng, 3, 4), np.array([0, 3, 1])
    return [
        *_index_errors(rng, smoothing=False),
        *_ignore_none_errors(rng),
        ErrorInput(SampleInput((x, t), {"gamma": -0.5}), ValueError, r"`gamma` must be non"),
        ErrorInput(
            SampleInput((x, t), {"alpha": uniform(rng, 3)}),
            ValueError,
            r"`alpha` must have shape \(4,\)",
        ),
    ]


def _poly1_errors(rng):
    x = randn(rng, 3, 4)
    return [
        *_index_errors(rng, smoothing=False)[:-1],
        *_ignore_none_errors(rng),
        ErrorInput(
            SampleInput((x, _probs(rng, 3, 4)), {"weight": uniform(rng, 4)}),
            ValueError,
            r"`weight` is supported with class-index targets only",
        ),
    ]


def _bce_extremes(rng):
    return [
        SampleInput(
            (np.array([0.0, 1.0, 0.0, 1.0]), np.array([0.0, 1.0, 1.0, 0.0])),
            desc="probabilities exactly 0 and 1",
        ),
        SampleInput(
            (np.array([1e-30, 1 - 1e-16]), np.array([1.0, 0.0])),
            desc="probabilities within 1e-30 of 0 and 1",
        ),
    ]


def _bce_logits_extremes(rng):
    big = 1e4 * rng.choice([-1.0, 1.0], (4, 5))
    bits = rng.integers(0, 2, (4, 5)).astype(np.float64)
    return [
        SampleInput((big, bits), desc="logits ±1e4"),
        SampleInput(
            (big, bits), {"pos_weight": uniform(rng, 5, high=3)}, desc="logits ±1e4, pos_weight"
        ),
        SampleInput((np.full((4, 5), -1e4), np.ones((4, 5))), desc="logits -1e4, all wrong"),
    ]


def _kl_extremes(rng):
    return [
        SampleInput(
            (np.log(_probs(rng, 4, 5, axis=-1)), np.eye(5)[_labels(rng, 5, 4)]),
            {"reduction": "batchmean"},
            desc="one-hot targets (zeros)",
        ),
        SampleInput((np.log(_probs(rng, 4, 5, axis=-1)), np.zeros((4, 5))), desc="all targets 0"),
        SampleInput(
            (np.full((4, 5), -1e4), np.full((4, 5), -1e4)),
            {"log_target": True},
            desc="log_target, log-probs -1e4",
        ),
    ]


def _sigmoid_focal_extremes(rng):
    big = 1e4 * rng.choice([-1.0, 1.0], (4, 5))
    return [
        SampleInput((big, rng.integers(0, 2, (4, 5)).astype(np.float64)), desc="logits ±1e4"),
        SampleInput((np.zeros((4, 5)), np.ones((4, 5))), desc="logits 0"),
    ]


def _softmax_extremes(rng):
    t = _labels(rng, 5, 4)
    return [
        SampleInput((1e4 * rng.choice([-1.0, 1.0], (4, 5)), t), desc="logits ±1e4"),
        SampleInput((np.zeros((4, 5)), t), desc="logits 0"),
        SampleInput(
            (randn(rng, 4, 5), np.full(4, -100)), {"reduction": "sum"}, desc="all ignored, sum"
        ),
    ]


LOSSES = [
    LossInfo(
        "cross_entropy",
        al.cross_entropy,
        _ce_samples,
        _ref_cross_entropy,
        "torch.nn.functional.cross_entropy",
        errors=lambda rng: _index_errors(rng, smoothing=True) + _ignore_none_errors(rng),
        extreme_samples=_ce_prob_extremes,
        invalid_options={"label_smoothing": (-0.1, 1.1), "ignore_index": (1.5,)},
    ),
    LossInfo(
        "nll_loss",
        al.nll_loss,
        _nll_samples,
        _ref_nll,
        "torch.nn.functional.nll_loss",
        errors=lambda rng: _index_errors(rng, smoothing=False) + _ignore_none_errors(rng),
        extreme_samples=_nll_extremes,
    ),
    LossInfo(
        "binary_cross_entropy",
        al.binary_cross_entropy,
        _bce_samples,
        _ref_bce,
        "torch.nn.functional.binary_cross_entropy",
        errors=lambda rng: _elementwise_errors(rng, extra=("weight",)),
        extreme_samples=_bce_extremes,
        scale_args=(),
    ),
    LossInfo(
        "binary_cross_entropy_with_logits",
        al.binary_cross_entropy_with_logits,
        _bce_logits_samples,
        _ref_bce_logits,
        "torch.nn.functional.binary_cross_entropy_with_logits",
        errors=lambda rng: _elementwise_errors(rng, extra=("weight", "pos_weight")),
        extreme_samples=_bce_logits_extremes,
    ),
    LossInfo(
        "kl_div",
        al.kl_div,
        _kl_samples,
        _ref_kl_div,
        "torch.nn.functional.kl_div",
        errors=_kl_errors,
        extreme_samples=_kl_extremes,
    ),
    LossInfo(
        "sigmoid_focal_loss",
        al.sigmoid_focal_loss,
        _sigmoid_focal_samples,
        _ref_sigmoid_focal,
        "torchvision.ops.sigmoid_focal_loss, transcribed in torch ops",
        errors=_sigmoid_focal_errors,
        extreme_samples=_sigmoid_focal_extremes,
        invalid_options={"gamma": (-1.0,)},
    ),
    LossInfo(
        "focal_loss",
        al.focal_loss,
        _focal_samples,
        _ref_focal,
        "Lin et al. 2017 softmax focal loss, float64 torch ops",
        errors=_focal_errors,
        extreme_samples=_softmax_extremes,
        invalid_options={"gamma": (-1.0,)},
    ),
    LossInfo(
        "poly1_cross_entropy",
        al.poly1_cross_entropy,
        _poly1_samples,
        _ref_poly1,
        "Leng et al. 2022 Poly-1 formula, float64 torch ops",
        errors=_poly1_errors,
        extreme_samples=_softmax_extremes,
    ),
]
