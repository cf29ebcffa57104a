"""Registry entries for ``linear_cross_entropy`` (chunked linear projection + cross entropy).

Reference: torch's unchunked ``F.cross_entropy(F.linear(x, W, b), t)`` on float64 tensors
(torch autograd gives the reference gradients), with the z-loss (PaLM: ``lambda * lse**2``,
weighted like the token's cross entropy) and the soft-capping (Gemma 2: ``s * tanh(z / s)``)
written in torch ops from their papers. ``tests/test_linear_cross_entropy.py`` also compares
with ``torch.nn.functional.linear_cross_entropy`` itself and checks the bias gradient.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

import arrayloss as al

from ._core import ErrorInput, LossInfo, SampleInput, randn, uniform


def _ref_linear_ce(
    x,
    w,
    t,
    *,
    reduction,
    linear_bias=None,
    weight=None,
    ignore_index=None,
    label_smoothing=0.0,
    z_loss=0.0,
    softcap=None,
    chunk_size=None,
):
    ignore = -100 if ignore_index is None else ignore_index
    z = F.linear(x, w, linear_bias)
    if softcap is not None:
        z = softcap * torch.tanh(z / softcap)
    if t.is_floating_point():  # class probabilities: cross_entropy's, mean over the tokens
        flat_z, flat_q = z.reshape(-1, w.shape[0]), t.reshape(-1, w.shape[0])
        loss = F.cross_entropy(
            flat_z, flat_q, weight=weight, reduction="none", label_smoothing=label_smoothing
        )
        if z_loss:
            loss = loss + z_loss * torch.logsumexp(flat_z, dim=1) ** 2
        if reduction == "mean":
            return loss.mean()
        return loss.sum() if reduction == "sum" else loss.reshape(t.shape[:-1])
    flat_z, flat_t = z.reshape(-1, w.shape[0]), t.reshape(-1).long()
    loss = F.cross_entropy(
        flat_z,
        flat_t,
        weight=weight,
        ignore_index=ignore,
        reduction="none",
        label_smoothing=label_smoothing,
    )
    valid = flat_t != ignore
    wt = valid.double()
    if weight is not None:
        wt = wt * weight[torch.where(valid, flat_t, 0)]
    if z_loss:
        loss = loss + z_loss * wt * torch.logsumexp(flat_z, dim=1) ** 2
    if reduction == "mean":
        return loss.sum() / wt.sum()
    if reduction == "sum":
        return loss.sum()
    return loss.reshape(t.shape)


def _ignored(rng: np.random.Generator, t: np.ndarray, ignore: int = -100) -> np.ndarray:
    t = t.copy()
    t[rng.choice(t.size, max(1, t.size // 3), replace=False)] = ignore
    return t


def _probs(rng: np.random.Generator, *shape: int) -> np.ndarray:
    q = uniform(rng, *shape) ** 2
    return q / q.sum(axis=-1, keepdims=True)


def _samples(rng: np.random.Generator) -> list[SampleInput]:
    n, d, v = 9, 4, 7

    def base() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return randn(rng, n, d), randn(rng, v, d), rng.integers(0, v, n)

    x, w, t = base()
    out = [
        SampleInput((x, w, t), desc="plain"),
        SampleInput(base(), {"chunk_size": 4}, desc="chunks of 4 (last one partial)"),
        SampleInput(base(), {"linear_bias": randn(rng, v), "chunk_size": 2}, desc="bias"),
        SampleInput((x, w, _ignored(rng, t)), {"chunk_size": 3}, desc="ignore_index default"),
        SampleInput((x, w, _ignored(rng, t, 2)), {"ignore_index": 2}, desc="ignore_index=2"),
        SampleInput(
            base(),
            {"weight": uniform(rng, v, low=0.1, high=2.0), "chunk_size": 4},
            desc="class weight",
        ),
        SampleInput(base(), {"label_smoothing": 0.2, "chunk_size": 5}, desc="smoothing"),
        SampleInput(
            (x, w, _ignored(rng, t)),
            {
                "weight": uniform(rng, v, low=0.1, high=2.0),
                "label_smoothing": 0.3,
                "linear_bias": randn(rng, v),
                "chunk_size": 4,
            },
            desc="weight + smoothing + ignore + bias",
        ),
        SampleInput(base(), {"z_loss": 1e-2, "chunk_size": 4}, desc="z-loss"),
        SampleInput(
            base(), {"softcap": 1.5, "linear_bias": randn(rng, v), "chunk_size": 4}, desc="softcap"
        ),
        SampleInput(
            (x, w, _ignored(rng, t)),
            {
                "softcap": 2.0,
                "z_loss": 1e-3,
                "weight": uniform(rng, v, low=0.5, high=1.5),
                "label_smoothing": 0.1,
            },
            desc="everything",
        ),
        SampleInput(
            (randn(rng, 2, 3, d), randn(rng, v, d), rng.integers(0, v, (2, 3))),
            {"chunk_size": 4},
            desc="leading batch dims (B, T, D)",
        ),
        SampleInput((randn(rng, d), randn(rng, v, d), np.array(3)), desc="unbatched"),
        SampleInput((x, w, _probs(rng, n, v)), {"chunk_size": 4}, desc="probabilities"),
        # No chunk_size, z_loss or softcap: small problems take the unchunked path
        SampleInput(
            (x, w, _ignored(rng, t)),
            {
                "weight": uniform(rng, v, low=0.1, high=2.0),
                "label_smoothing": 0.3,
                "linear_bias": randn(rng, v),
            },
            desc="unchunked small problem: weight + smoothing + ignore + bias",
        ),
        SampleInput(
            (randn(rng, 2, 3, d), randn(rng, v, d), _probs(rng, 2, 3, v)),
            {"weight": uniform(rng, v, low=0.1, high=2.0), "label_smoothing": 0.2},
            desc="unchunked small problem: probabilities (B, T, V) + weight + smoothing",
        ),
        SampleInput(
            (x, w, _probs(rng, n, v)),
            {
                "weight": uniform(rng, v, low=0.1, high=2.0),
                "label_smoothing": 0.2,
                "linear_bias": randn(rng, v),
                "chunk_size": 2,
            },
            desc="probabilities + weight + smoothing + bias",
        ),
        SampleInput(
            (randn(rng, 2, 3, d), randn(rng, v, d), _probs(rng, 2, 3, v)),
            {"softcap": 2.0, "z_loss": 1e-2, "chunk_size": 4},
            desc="probabilities (B, T, V), softcap, z-loss",
        ),
    ]
    return out


def _extreme(rng: np.random.Generator) -> list[SampleInput]:
    return [
        SampleInput(
            (randn(rng, 6, 4, scale=100.0), randn(rng, 5, 4, scale=10.0), rng.integers(0, 5, 6)),
            {"chunk_size": 4},
            desc="logits ~ 1e3",
        ),
        SampleInput(
            (randn(rng, 6, 4, scale=100.0), randn(rng, 5, 4, scale=10.0), rng.integers(0, 5, 6)),
            {"softcap": 30.0},
            desc="softcapped 1e3",
        ),
    ]


def _errors(rng: np.random.Generator) -> list[ErrorInput]:
    x, w, t = randn(rng, 5, 3), randn(rng, 4, 3), rng.integers(0, 4, 5)
    return [
        ErrorInput(SampleInput((randn(rng, 5, 2), w, t)), ValueError, r"`input`.*\(\.\.\., 3\)"),
        ErrorInput(SampleInput((x, w, t[:4])), ValueError, r"`target` must have shape"),
        ErrorInput(SampleInput((x, randn(rng, 4, 3, 1), t)), ValueError, r"`linear_weight`"),
        ErrorInput(
            SampleInput((x, w, t), {"linear_bias": randn(rng, 3)}), ValueError, r"`linear_bias`"
        ),
        ErrorInput(SampleInput((x, w, t), {"weight": uniform(rng, 5)}), ValueError, r"`weight`"),
        ErrorInput(
            SampleInput((x, w, t), {"label_smoothing": 1.5}), ValueError, r"`label_smoothing`"
        ),
        ErrorInput(SampleInput((x, w, t), {"softcap": 0.0}), ValueError, r"`softcap`"),
        ErrorInput(SampleInput((x, w, t), {"z_loss": -1.0}), ValueError, r"`z_loss`"),
        ErrorInput(SampleInput((x, w, t), {"chunk_size": 0}), ValueError, r"`chunk_size`"),
        ErrorInput(
            SampleInput((x, w, uniform(rng, 5))), ValueError, r"`target` holds class probabilities"
        ),
        ErrorInput(SampleInput((x, w, t > 1)), TypeError, r"`target`.*integer"),
        ErrorInput(
            SampleInput((x, w, _probs(rng, 5, 4)), {"ignore_index": 1}),
            ValueError,
            r"`ignore_index` must be None",
        ),
        ErrorInput(
            SampleInput((x, w, np.array([0, 1, 4, 2, 3]))),
            ValueError,
            r"`target`.*\[0, 3\]",
            data_dependent=True,
        ),
    ]


LOSSES = [
    LossInfo(
        "linear_cross_entropy",
        al.linear_cross_entropy,
        _samples,
        _ref_linear_ce,
        "torch F.cross_entropy(F.linear(x, W, b)) float64 + z-loss (PaLM) / softcap (Gemma 2)",
        grad_args=(0, 1),
        float_args=(0, 1),
        errors=_errors,
        extreme_samples=_extreme,
        scale_args=(0,),
        invalid_options={"label_smoothing": (-0.1, 1.5), "chunk_size": (0, -2)},
        # torch's chunked autograd.Function is first order only (it raises, naming the loss).
        supports_gradgrad=("jax",),
    ),
]
