"""Registry entries for the classification/probabilistic losses (arrayloss.classification).

References: torch.nn.functional (cross_entropy, nll_loss, binary_cross_entropy,
binary_cross_entropy_with_logits, kl_div) called on float64 torch tensors, so gradients come
from torch autograd; torchvision's sigmoid_focal_loss re-written in torch ops (torchvision is
not installed); softmax focal loss (Lin et al. 2017) and Poly-1 (Leng et al. 2022) written
from the papers in torch ops.
"""

from __future__ import annotations

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
        ignore_index=ignore_index,
        reduction=reduction,
        label_smoothing=label_smoothing,
    )


def _ref_nll(x, t, *, reduction, weight=None, ignore_index=-100, axis=1):
    return F.nll_loss(
        _move_back(x, axis), t.long(), weight=weight, ignore_index=ignore_index, reduction=reduction
    )


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


LOSSES = [
    LossInfo(
        "cross_entropy",
        al.cross_entropy,
        _ce_samples,
        _ref_cross_entropy,
        "torch.nn.functional.cross_entropy",
        errors=lambda rng: _index_errors(rng, smoothing=True),
        extreme_samples=_ce_prob_extremes,
        invalid_options={"label_smoothing": (-0.1, 1.1), "ignore_index": (1.5,)},
    ),
    LossInfo(
        "nll_loss",
        al.nll_loss,
        _nll_samples,
        _ref_nll,
        "torch.nn.functional.nll_loss",
        errors=lambda rng: _index_errors(rng, smoothing=False),
        extreme_samples=_nll_extremes,
    ),
]
