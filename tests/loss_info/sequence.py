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
    tg = rng.integers(1, 5, size=(2, 3))
    s = SampleInput((_lp(rng, 6, 2, 5), tg, np.array([6, 6]), np.array([3, 2])), {"blank": 5})
    return [ErrorInput(s, ValueError, r"ctc_loss: `blank`")]


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
        skips={
            "test_float_labels_where_indices_needed": "label/length value checks not yet added",
            "test_labels_out_of_range": "label value checks not yet added",
            "test_jax_batch_sharded_jit": "batch axis is 1 in log_probs; not yet adapted",
            "test_torch_func_grad": "not yet adapted to CTC's four positional arrays",
        },
    ),
]
