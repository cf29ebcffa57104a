"""Registry entries for the generative family.

References: the WGAN objectives and the WGAN-GP penalty are float64 torch transcriptions of
the papers' formulas (Arjovsky et al. 2017; Gulrajani et al. 2017, Algorithm 1, with
``torch.linalg.vector_norm``); wasserstein_distance_1d is ``scipy.stats.wasserstein_distance``
(values only: its gradient is checked in tests/test_generative.py against a closed form).
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import stats

import arrayloss as al

from ._core import DecorateInfo, ErrorInput, LossInfo, SampleInput, randn, ref_reduce, uniform


def _ref_critic(real, fake, *, reduction):
    if reduction == "none":
        return fake - real
    return ref_reduce(fake, reduction) - ref_reduce(real, reduction)


def _ref_generator(fake, *, reduction):
    return -ref_reduce(fake, reduction)


def _ref_penalty(g, *, reduction, target=1.0):
    norm = torch.linalg.vector_norm(g.reshape(g.shape[0], -1), dim=1)
    return ref_reduce((norm - target) ** 2, reduction)


def _ref_distance(u, v, *, u_weights=None, v_weights=None):
    def np_(a):
        return None if a is None else a.detach().cpu().double().numpy()

    d = stats.wasserstein_distance(np_(u), np_(v), np_(u_weights), np_(v_weights))
    return torch.tensor(d, dtype=torch.float64)


def _critic_samples(rng):
    return [
        SampleInput((randn(rng, 8), randn(rng, 8)), desc="1-d scores"),
        SampleInput((randn(rng, 4, 1), randn(rng, 4, 1, scale=3.0)), desc="(N, 1) scores"),
        SampleInput(
            (randn(rng, 6), randn(rng, 3)), {"reduction": "mean"}, desc="different batch sizes"
        ),
        SampleInput((randn(rng, 6), randn(rng, 3)), {"reduction": "sum"}, desc="sizes, sum"),
    ]


def _generator_samples(rng):
    return [
        SampleInput((randn(rng, 8),), desc="1-d scores"),
        SampleInput((randn(rng, 3, 2, scale=10.0),), desc="2-d scores"),
    ]


def _penalty_samples(rng):
    return [
        SampleInput((randn(rng, 5, 3, 4, 4),), desc="image gradients"),
        SampleInput((randn(rng, 6, 7, scale=0.2),), {"target": 0.5}, desc="target=0.5"),
        SampleInput((randn(rng, 4),), desc="1-d: scalar gradients"),
    ]


def _penalty_extremes(rng):
    g = randn(rng, 3, 5)
    g[1] = 0.0  # a zero gradient: the norm's derivative is infinite there
    return [SampleInput((g,), desc="one zero gradient")]


def _distance_samples(rng):
    ties = np.array([0.0, 1.0, 1.0, 2.0, 2.0])
    return [
        SampleInput((randn(rng, 7), randn(rng, 7, scale=2.0) + 1.0), desc="equal sizes"),
        SampleInput((randn(rng, 5), randn(rng, 9)), desc="different sizes"),
        SampleInput(
            (randn(rng, 6), randn(rng, 4)),
            {
                "u_weights": uniform(rng, 6, low=0.1, high=2.0),
                "v_weights": uniform(rng, 4, low=0.1, high=2.0),
            },
            desc="weighted",
        ),
        SampleInput(
            (ties, np.array([1.0, 1.0, 3.0])),
            {"v_weights": np.array([0.0, 2.0, 1.0])},
            desc="ties and a zero weight",
            grad=False,
        ),
        SampleInput((randn(rng, 1), randn(rng, 1)), desc="one value each"),
    ]


def _critic_errors(rng):
    return [
        ErrorInput(
            SampleInput((randn(rng, 6), randn(rng, 3)), {"reduction": "none"}),
            ValueError,
            r"wasserstein_critic_loss: `reduction`='none' needs `real_scores` and `fake_scores`",
        ),
    ]


def _penalty_errors(rng):
    return [
        ErrorInput(
            SampleInput((randn(rng, 3, 2),), {"target": -1.0}),
            ValueError,
            r"gradient_penalty: `target`",
        ),
    ]


def _distance_errors(rng):
    u, v = randn(rng, 4), randn(rng, 3)
    return [
        ErrorInput(
            SampleInput((np.zeros(0), v)),
            ValueError,
            r"wasserstein_distance_1d: `u_values` must be a non-empty 1-D",
        ),
        ErrorInput(
            SampleInput((u, randn(rng, 2, 2))),
            ValueError,
            r"wasserstein_distance_1d: `v_values` must be a non-empty 1-D",
        ),
        ErrorInput(
            SampleInput((u, v), {"u_weights": np.ones(3)}),
            ValueError,
            r"wasserstein_distance_1d: `u_weights` must have the shape",
        ),
        ErrorInput(
            SampleInput((u, v), {"v_weights": np.array([1.0, -1.0, 1.0])}),
            ValueError,
            r"wasserstein_distance_1d: `v_weights` must be finite and non-negative",
            data_dependent=True,
        ),
        ErrorInput(
            SampleInput((u, v), {"u_weights": np.zeros(4)}),
            ValueError,
            r"wasserstein_distance_1d: `u_weights` must not all be zero",
            data_dependent=True,
        ),
        ErrorInput(
            SampleInput((u, v.astype(np.int64))), TypeError, r"wasserstein_distance_1d: `v_values`"
        ),
    ]


LOSSES = [
    LossInfo(
        "wasserstein_critic_loss",
        al.wasserstein_critic_loss,
        _critic_samples,
        _ref_critic,
        "Arjovsky et al. 2017: mean(D(fake)) - mean(D(real)), float64 torch",
        grad_args=(0, 1),
        float_args=(0, 1),
        errors=_critic_errors,
        batch_axes=(None, None),
        decorators=(
            DecorateInfo("skip", "real and fake batches may differ in size (mean/sum)",
                         tests=("test_mismatched_shapes",)),
        ),
    ),
    LossInfo(
        "wasserstein_generator_loss",
        al.wasserstein_generator_loss,
        _generator_samples,
        _ref_generator,
        "Arjovsky et al. 2017: -mean(D(fake)), float64 torch",
        decorators=(
            DecorateInfo("skip", "the gradient is the constant -1/N, which XLA returns "
                         "replicated (a valid layout; the value is checked elsewhere)",
                         tests=("test_jax_batch_sharded_jit",), backends=("jax",)),
        ),
    ),
    LossInfo(
        "gradient_penalty",
        al.gradient_penalty,
        _penalty_samples,
        _ref_penalty,
        "Gulrajani et al. 2017 (Algorithm 1): (||g||_2 - 1)^2 with torch.linalg.vector_norm",
        errors=_penalty_errors,
        extreme_samples=_penalty_extremes,
        invalid_options={"target": (-1.0, float("nan"))},
    ),
    LossInfo(
        "wasserstein_distance_1d",
        al.wasserstein_distance_1d,
        _distance_samples,
        _ref_distance,
        "scipy.stats.wasserstein_distance",
        grad_args=(0, 1),
        float_args=(0, 1),
        ref_grad=False,
        reductions=(),
        errors=_distance_errors,
        batch_axes=(None, None),
        decorators=(
            DecorateInfo("skip", "the two samples may differ in size",
                         tests=("test_mismatched_shapes",)),
            DecorateInfo("skip", "torch.searchsorted warns (a performance UserWarning, an "
                         "error under this suite's filterwarnings) on vmapped, non-contiguous "
                         "values", tests=("test_torch_func_grad", "test_torch_func_vmap"),
                         backends=("torch", "torch_cuda")),
        ),
    ),
]
