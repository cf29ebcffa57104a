"""Registry entries for the sequence family: ctc_loss against torch.nn.functional.ctc_loss.

torch's CTC gradient w.r.t. ``log_probs`` assumes they came from log_softmax, so the generic
gradient comparison is off (``ref_grad=False``); tests/test_sequence.py compares gradients
w.r.t. the logits instead.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from arrayloss.sequence import ctc_loss

from ._core import ErrorInput, LossInfo, SampleInput


def _lp(rng: np.random.Generator, T: int, N: int, C: int) -> np.ndarray:
    x = rng.normal(size=(T, N, C))
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def _samples(rng: np.random.Generator) -> list[SampleInput]:
    tg = rng.integers(1, 5, size=(3, 3))
    tg[0, 1] = tg[0, 0]
    il = np.array([8, 6, 7])
    tl = np.array([3, 2, 0])
    return [
        SampleInput((_lp(rng, 8, 3, 5), tg, il, tl), desc="padded, mixed lengths"),
        SampleInput((_lp(rng, 8, 3, 5), tg % 4, il, tl), {"blank": 4}, desc="blank=4"),
        SampleInput(
            (_lp(rng, 8, 3, 5), tg, np.array([8, 1, 7]), tl),
            {"zero_infinity": True},
            desc="impossible target, zero_infinity",
        ),
    ]


def _ref(log_probs, targets, input_lengths, target_lengths, **kw):
    return F.ctc_loss(log_probs, targets.long(), input_lengths.long(), target_lengths.long(), **kw)


def _errors(rng: np.random.Generator) -> list[ErrorInput]:
    lp = _lp(rng, 6, 2, 5)
    tg = rng.integers(1, 5, size=(2, 3))
    il, tl = np.array([6, 6]), np.array([3, 2])

    def case(args, kw, exc, rx, data=False):
        return ErrorInput(SampleInput(args, kw), exc, rx, data_dependent=data)

    tg_blank = tg.copy()
    tg_blank[1, 0] = 0
    return [
        case((lp, tg, il, tl), {"blank": 5}, ValueError, r"ctc_loss: `blank`"),
        case((lp, tg, il, tl), {"blank": -1}, ValueError, r"ctc_loss: `blank`"),
        case((lp, tg, np.array([6, 6, 6]), tl), {}, ValueError, r"`input_lengths`"),
        case((lp, tg[:1], il, tl), {}, ValueError, r"`targets`"),
        case((lp, tg.astype(np.float64), il, tl), {}, TypeError, r"`targets`"),
        case((lp, tg, il.astype(np.float64), tl), {}, TypeError, r"`input_lengths`"),
        case((lp, tg, np.array([7, 6]), tl), {}, ValueError, r"`input_lengths`.*\[0, 6\]", True),
        case((lp, tg, np.array([-1, 6]), tl), {}, ValueError, r"`input_lengths`", True),
        case((lp, tg, il, np.array([4, 2])), {}, ValueError, r"`target_lengths`.*\[0, 3\]", True),
        case((lp, tg, il, np.array([3, -2])), {}, ValueError, r"`target_lengths`", True),
        case(
            (lp, tg.reshape(-1), il, np.array([4, 3])),
            {},
            ValueError,
            r"`target_lengths` sum",
            True,
        ),
        case((lp, tg + 10, il, tl), {}, ValueError, r"`targets`.*\[0, 4\]", True),
        case((lp, tg_blank, il, tl), {}, ValueError, r"`targets` must not contain the blank", True),
        # log_probs of the wrong rank: named, not "too many values to unpack"
        case((lp[:, 0, 0], tg, il, tl), {}, ValueError, r"ctc_loss: `log_probs` must be 3-D"),
        case((lp[..., None], tg, il, tl), {}, ValueError, r"ctc_loss: `log_probs` must be 3-D"),
    ]


_ = torch
LOSSES = [
    LossInfo(
        name="ctc_loss",
        func=ctc_loss,
        samples=_samples,
        ref=_ref,
        provenance="torch.nn.functional.ctc_loss",
        ref_grad=False,
        errors=_errors,
        float_args=(0,),
        scale_args=(),
        batch_axes=(1, 0, 0, 0),
    ),
]
