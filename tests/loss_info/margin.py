"""Registry entries for the margin losses (family "classification", module arrayloss.margin).

References: torch.nn.functional for soft_margin_loss, multilabel_soft_margin_loss,
multi_margin_loss and multilabel_margin_loss; for Keras's hinge, squared_hinge and
categorical_hinge a float64 torch transcription of keras/src/losses/losses.py (Keras 3 on
its torch backend computes in floatx=float32, too coarse for a float64 reference). The Keras
functions themselves are compared in float32 in tests/test_margin.py.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

import arrayloss as al

from ._core import ErrorInput, LossInfo, SampleInput, randn, ref_reduce, uniform

# -- helpers ---------------------------------------------------------------------------------


def _signs(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.choice([-1.0, 1.0], shape)


def _bits(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.integers(0, 2, shape).astype(np.float64)


def _one_hot(rng: np.random.Generator, n: int, c: int) -> np.ndarray:
    return np.eye(c)[rng.integers(0, c, n)]


def _labels_terminated(rng: np.random.Generator, n: int, c: int) -> np.ndarray:
    """torch's multilabel_margin_loss targets: k classes, then -1, then junk in [-1, C)."""
    out = rng.integers(-1, c, (n, c))
    for row in out:
        k = rng.integers(0, c + 1)
        row[:k] = rng.choice(c, k, replace=False)
        if k < c:
            row[k] = -1
    return out


# -- references ------------------------------------------------------------------------------


def _ref_soft_margin(x, y, *, reduction):
    return F.soft_margin_loss(x, y.double(), reduction=reduction)


def _ref_multilabel_soft_margin(x, y, *, reduction, weight=None):
    return F.multilabel_soft_margin_loss(x, y.double(), weight=weight, reduction=reduction)


def _ref_multi_margin(x, t, *, reduction, p=1, margin=1.0, weight=None):
    return F.multi_margin_loss(x, t.long(), p=p, margin=margin, weight=weight,
                               reduction=reduction)


def _ref_multilabel_margin(x, t, *, reduction):
    return F.multilabel_margin_loss(x, t.long(), reduction=reduction)


def _keras_labels(y):
    # keras.src.losses.losses.convert_binary_labels_to_hinge: {0, 1} -> {-1, 1} when every
    # label of the tensor is 0 or 1, else unchanged.
    y = y.double()
    return 2 * y - 1 if bool(((y == 0) | (y == 1)).all()) else y


def _ref_hinge(x, y, *, reduction):
    # keras.losses.hinge: maximum(1 - y * x, 0) (Keras then averages the last axis; the
    # elementwise values are compared here, reduced like every arrayloss loss).
    return ref_reduce(torch.clamp(1 - _keras_labels(y) * x, min=0), reduction)


def _ref_squared_hinge(x, y, *, reduction):
    # keras.losses.squared_hinge: square(maximum(1 - y * x, 0)).
    return ref_reduce(torch.clamp(1 - _keras_labels(y) * x, min=0) ** 2, reduction)


def _ref_categorical_hinge(x, y, *, reduction, axis=-1):
    # keras.losses.categorical_hinge: pos = sum(y x), neg = max((1 - y) x), max(neg - pos + 1,
    # 0) along the class axis (Keras: the last one); labels used as given.
    y = y.double()
    pos = (y * x).sum(dim=axis)
    neg = ((1 - y) * x).amax(dim=axis)
    return ref_reduce(torch.clamp(neg - pos + 1, min=0), reduction)


# -- samples ---------------------------------------------------------------------------------


def _soft_margin_samples(rng):
    return [
        SampleInput((randn(rng, 7, scale=2), _signs(rng, 7)), desc="1-d"),
        SampleInput((randn(rng, 4, 5, scale=2), _signs(rng, 4, 5)), desc="2-d"),
        SampleInput((randn(rng, 2, 3, 4, scale=2), _signs(rng, 2, 3, 4)), desc="3-d"),
        SampleInput((randn(rng, 4, 5), uniform(rng, 4, 5, low=-2, high=2)),
                    desc="real-valued targets"),
        SampleInput((randn(rng, 4, 5), _signs(rng, 4, 5).astype(np.int64)), desc="int targets"),
    ]


def _multilabel_soft_samples(rng):
    return [
        SampleInput((randn(rng, 4, 5, scale=2), _bits(rng, 4, 5)), desc="(N, C)"),
        SampleInput((randn(rng, 6), _bits(rng, 6)), desc="unbatched (C,)"),
        SampleInput((randn(rng, 2, 3, 4), _bits(rng, 2, 3, 4)), desc="(N, d, C)"),
        SampleInput((randn(rng, 4, 5), uniform(rng, 4, 5)), desc="soft targets"),
        SampleInput((randn(rng, 4, 5), _bits(rng, 4, 5)), {"weight": uniform(rng, 5, high=2)},
                    desc="class weight"),
        SampleInput((randn(rng, 4, 5), _bits(rng, 4, 5)),
                    {"weight": uniform(rng, 4, 5, high=2)}, desc="elementwise weight"),
        SampleInput((randn(rng, 4, 5), _bits(rng, 4, 5).astype(np.int32)), desc="int32 targets"),
    ]


def _multi_margin_samples(rng):
    x = lambda *s: randn(rng, *s)
    t = lambda n, c=5: rng.integers(0, c, n)
    w = uniform(rng, 5, low=0.1, high=2.0)
    return [
        SampleInput((x(6, 5), t(6)), desc="p=1"),
        SampleInput((x(6, 5), t(6)), {"p": 2}, desc="p=2"),
        SampleInput((x(6, 5), t(6)), {"margin": 0.3}, desc="margin=0.3"),
        SampleInput((x(6, 5), t(6)), {"p": 2, "margin": 2.5}, desc="p=2, margin=2.5"),
        SampleInput((x(6, 5), t(6)), {"margin": -0.5}, desc="negative margin (torch accepts)"),
        SampleInput((x(6, 5), t(6)), {"weight": w}, desc="class weight"),
        SampleInput((x(6, 5), t(6)), {"weight": w, "p": 2, "margin": 0.7}, desc="all options"),
        SampleInput((x(5), np.array(3)), desc="unbatched, 0-d target"),
        SampleInput((x(5), np.array([1])), {"weight": w}, desc="unbatched, (1,) target"),
        SampleInput((x(6, 5), t(6).astype(np.int32)), desc="int32 targets"),
        SampleInput((x(6, 5), t(6).astype(np.uint8)), desc="uint8 targets"),
        SampleInput((x(3, 1), np.zeros(3, dtype=np.int64)), desc="one class"),
    ]


def _multilabel_margin_samples(rng):
    t = _labels_terminated(rng, 6, 5)
    t[0] = [2, 2, 0, -1, 4]  # a class listed twice counts twice (torch)
    t[1] = [4, 0, 1, 3, 2]  # every class a target, no terminator
    t[2] = [-1, 3, 1, 0, 2]  # no target at all
    return [
        SampleInput((randn(rng, 6, 5), t), desc="(N, C), mixed rows"),
        SampleInput((randn(rng, 4, 7), _labels_terminated(rng, 4, 7)), desc="(N, C)"),
        SampleInput((randn(rng, 6), np.array([5, 1, -1, 0, 0, 3])), desc="unbatched (C,)"),
        SampleInput((randn(rng, 4, 7), _labels_terminated(rng, 4, 7).astype(np.int32)),
                    desc="int32 targets"),
        SampleInput((randn(rng, 4, 7), _labels_terminated(rng, 4, 7).astype(np.int8)),
                    desc="int8 targets"),
        SampleInput((randn(rng, 4, 7), np.abs(_labels_terminated(rng, 4, 7)).astype(np.uint8)),
                    desc="uint8 targets (no terminator possible)"),
    ]


def _hinge_samples(rng):
    return [
        SampleInput((randn(rng, 7), _signs(rng, 7)), desc="1-d, labels -1/1"),
        SampleInput((randn(rng, 4, 5), _signs(rng, 4, 5)), desc="2-d, labels -1/1"),
        SampleInput((randn(rng, 4, 5), _bits(rng, 4, 5)), desc="labels 0/1 (converted)"),
        SampleInput((randn(rng, 2, 3, 4), _bits(rng, 2, 3, 4).astype(np.int64)),
                    desc="3-d, int labels 0/1"),
        SampleInput((randn(rng, 4, 5), rng.choice([-1.0, 0.0, 1.0], (4, 5))),
                    desc="labels -1/0/1 (not binary: as given)"),
        SampleInput((randn(rng, 4, 5), np.ones((4, 5))), desc="all labels 1 (binary: converted)"),
    ]


def _categorical_hinge_samples(rng):
    return [
        SampleInput((randn(rng, 6, 4), _one_hot(rng, 6, 4)), desc="(N, C) one-hot"),
        SampleInput((randn(rng, 2, 3, 4), _one_hot(rng, 6, 4).reshape(2, 3, 4)),
                    desc="(N, T, C)"),
        SampleInput((randn(rng, 2, 4, 3),
                     np.moveaxis(_one_hot(rng, 6, 4).reshape(2, 3, 4), -1, 1)),
                    {"axis": 1}, desc="channels first, axis=1"),
        SampleInput((randn(rng, 5), np.eye(5)[2]), desc="unbatched (C,)"),
        SampleInput((randn(rng, 6, 4), _one_hot(rng, 6, 4).astype(np.int64)),
                    desc="int one-hot"),
        SampleInput((randn(rng, 6, 4, scale=0.2), _one_hot(rng, 6, 4)), desc="small scores"),
    ]


# -- errors ----------------------------------------------------------------------------------


def _shape_error(rng, match=r"same shape"):
    return ErrorInput(SampleInput((randn(rng, 3, 4), randn(rng, 4, 3))), ValueError, match)


def _soft_margin_errors(rng):
    return [_shape_error(rng)]


def _multilabel_soft_errors(rng):
    x, y = randn(rng, 3, 4), _bits(rng, 3, 4)
    return [
        _shape_error(rng),
        ErrorInput(SampleInput((x, y), {"weight": uniform(rng, 3)}), ValueError,
                   r"`weight`.*broadcastable"),
    ]


def _multi_margin_errors(rng):
    x, t = randn(rng, 3, 4), np.array([0, 3, 1])
    return [
        ErrorInput(SampleInput((x, t), {"p": 3}), ValueError, r"`p` must be 1 or 2"),
        ErrorInput(SampleInput((x, t), {"p": 0}), ValueError, r"`p` must be 1 or 2"),
        ErrorInput(SampleInput((x, t), {"margin": "1"}), TypeError, r"`margin`"),
        ErrorInput(SampleInput((x, t.astype(np.float64))), TypeError,
                   r"`target` .*integer dtype"),
        ErrorInput(SampleInput((x, t[:, None])), ValueError, r"`target` must have shape \(3,\)"),
        ErrorInput(SampleInput((x, t[:2])), ValueError, r"`target` must have shape"),
        ErrorInput(SampleInput((randn(rng, 4), np.array([1, 2]))), ValueError,
                   r"`target` must have shape \(\) or \(1,\)"),
        ErrorInput(SampleInput((randn(rng, 2, 3, 4), t[:2])), ValueError,
                   r"`input` must have shape \(C,\) or \(N, C\)"),
        ErrorInput(SampleInput((np.zeros((3, 0)), t)), ValueError, r"`input`.*at least one"),
        ErrorInput(SampleInput((x, t), {"weight": uniform(rng, 5)}), ValueError,
                   r"`weight` must have shape \(4,\)"),
        ErrorInput(SampleInput((x, np.array([0, 4, 1]))), ValueError,
                   r"`target` .*\[0, 3\].*found 4", data_dependent=True),
        ErrorInput(SampleInput((x, np.array([0, -1, 1]))), ValueError,
                   r"`target` .*\[0, 3\].*found -1", data_dependent=True),
    ]


def _multilabel_margin_errors(rng):
    x = randn(rng, 3, 4)
    t = np.array([[0, 1, -1, 0], [3, -1, 0, 0], [2, 1, 0, 3]])
    return [
        ErrorInput(SampleInput((x, t.astype(np.float64))), TypeError,
                   r"`target` .*integer dtype"),
        ErrorInput(SampleInput((x, t[:2])), ValueError, r"same shape"),
        ErrorInput(SampleInput((randn(rng, 2, 3, 4), t[:2, :, None] * np.ones(4, np.int64))),
                   ValueError, r"`input` must have shape \(C,\) or \(N, C\)"),
        ErrorInput(SampleInput((x, np.where(t == 3, 4, t))), ValueError,
                   r"`target` .*\[-1, 3\]", data_dependent=True),
        # torch checks the values after the terminator too
        ErrorInput(SampleInput((x, np.where(t == 0, -2, t))), ValueError,
                   r"`target` .*\[-1, 3\]", data_dependent=True),
    ]


def _categorical_hinge_errors(rng):
    x, y = randn(rng, 3, 4), _one_hot(rng, 3, 4)
    return [
        _shape_error(rng),
        ErrorInput(SampleInput((x, y), {"axis": 2}), ValueError, r"`axis` must be a valid"),
        ErrorInput(SampleInput((x, y), {"axis": 1.0}), TypeError, r"`axis` must be an int"),
    ]


# -- extreme samples -------------------------------------------------------------------------


def _logit_extremes(rng, labels):
    big = 1e4 * _signs(rng, 4, 5)
    return [
        SampleInput((big, labels(rng, 4, 5)), desc="logits ±1e4"),
        SampleInput((np.full((4, 5), -1e4), np.ones((4, 5))), desc="logits -1e4, all wrong"),
        SampleInput((np.zeros((4, 5)), labels(rng, 4, 5)), desc="logits 0"),
    ]


def _soft_margin_extremes(rng):
    return _logit_extremes(rng, _signs)


def _multilabel_soft_extremes(rng):
    w = np.zeros(5)
    w[2] = 1.0
    return [*_logit_extremes(rng, _bits),
            SampleInput((randn(rng, 4, 5), _bits(rng, 4, 5)), {"weight": w},
                        desc="class weights 0 but one")]


def _multi_margin_extremes(rng):
    t = rng.integers(0, 5, 4)
    return [
        SampleInput((1e4 * randn(rng, 4, 5), t), {"p": 2}, desc="scores ~1e4, p=2"),
        SampleInput((np.zeros((4, 5)), t), {"margin": 0.0}, desc="all ties at the kink",
                    grad=True),
        SampleInput((randn(rng, 4, 5), t), {"weight": np.zeros(5)}, desc="all weights 0"),
    ]


def _multilabel_margin_extremes(rng):
    return [
        SampleInput((1e4 * randn(rng, 3, 4), _labels_terminated(rng, 3, 4)),
                    desc="scores ~1e4"),
        SampleInput((randn(rng, 3, 4), np.full((3, 4), -1)), desc="no targets"),
        SampleInput((randn(rng, 3, 4), np.tile(np.arange(4), (3, 1))), desc="all targets"),
        SampleInput((np.zeros((3, 4)), _labels_terminated(rng, 3, 4)), desc="ties"),
    ]


def _hinge_extremes(rng):
    return [*_logit_extremes(rng, _signs),
            SampleInput((np.ones((4, 5)), np.ones((4, 5))), desc="exactly at the kink")]


def _categorical_hinge_extremes(rng):
    return [
        SampleInput((1e4 * randn(rng, 6, 4), _one_hot(rng, 6, 4)), desc="scores ~1e4"),
        SampleInput((np.zeros((6, 4)), _one_hot(rng, 6, 4)), desc="all scores equal"),
    ]


LOSSES = [
    LossInfo("soft_margin_loss", al.soft_margin_loss, _soft_margin_samples, _ref_soft_margin,
             "torch.nn.functional.soft_margin_loss", errors=_soft_margin_errors,
             extreme_samples=_soft_margin_extremes),
    LossInfo("multilabel_soft_margin_loss", al.multilabel_soft_margin_loss,
             _multilabel_soft_samples, _ref_multilabel_soft_margin,
             "torch.nn.functional.multilabel_soft_margin_loss", errors=_multilabel_soft_errors,
             extreme_samples=_multilabel_soft_extremes),
    LossInfo("multi_margin_loss", al.multi_margin_loss, _multi_margin_samples,
             _ref_multi_margin, "torch.nn.functional.multi_margin_loss",
             errors=_multi_margin_errors, extreme_samples=_multi_margin_extremes,
             invalid_options={"p": (0, 3, 1.5), "margin": ("1",)}),
    LossInfo("multilabel_margin_loss", al.multilabel_margin_loss, _multilabel_margin_samples,
             _ref_multilabel_margin, "torch.nn.functional.multilabel_margin_loss",
             errors=_multilabel_margin_errors, extreme_samples=_multilabel_margin_extremes),
    LossInfo("hinge_loss", al.hinge_loss, _hinge_samples, _ref_hinge,
             "keras.losses.hinge formula (Keras 3), float64", errors=_soft_margin_errors,
             extreme_samples=_hinge_extremes),
    LossInfo("squared_hinge_loss", al.squared_hinge_loss, _hinge_samples, _ref_squared_hinge,
             "keras.losses.squared_hinge formula (Keras 3), float64",
             errors=_soft_margin_errors, extreme_samples=_hinge_extremes),
    LossInfo("categorical_hinge_loss", al.categorical_hinge_loss, _categorical_hinge_samples,
             _ref_categorical_hinge, "keras.losses.categorical_hinge formula (Keras 3), float64",
             errors=_categorical_hinge_errors, extreme_samples=_categorical_hinge_extremes),
]
