"""Registry entries for the embedding family (module arrayloss.embedding).

References: torch.nn.functional for margin_ranking, hinge_embedding, cosine_embedding,
triplet_margin and triplet_margin_with_distance; contrastive_loss a float64 torch formula
written from Hadsell et al. (2006) (target 1 = similar); info_nce_loss a float64 torch
transcription of SimCLR's NT-Xent (F.normalize + masked similarity + F.cross_entropy). The
optax ``ntxent`` comparison of info_nce_loss is in tests/test_embedding.py.
"""

from __future__ import annotations

import math

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


# -- references ------------------------------------------------------------------------------


def _ref_margin_ranking(a, b, y, *, reduction, margin=0.0):
    return F.margin_ranking_loss(a, b, y.double(), margin=margin, reduction=reduction)


def _ref_hinge_embedding(x, y, *, reduction, margin=1.0):
    return F.hinge_embedding_loss(x, y.double(), margin=margin, reduction=reduction)


def _ref_cosine_embedding(a, b, y, *, reduction, margin=0.0):
    return F.cosine_embedding_loss(a, b, y.double(), margin=margin, reduction=reduction)


def _ref_triplet(a, pos, neg, *, reduction, margin=1.0, p=2, eps=1e-6, swap=False):
    return F.triplet_margin_loss(
        a, pos, neg, margin=margin, p=p, eps=eps, swap=swap, reduction=reduction
    )


def _ref_triplet_distance(a, p, n, *, reduction, margin=1.0, swap=False, distance_function=None):
    # Samples here use the default distance; custom callables: tests/test_embedding.py.
    assert distance_function is None
    return F.triplet_margin_with_distance_loss(
        a, p, n, margin=margin, swap=swap, reduction=reduction
    )


def _ref_contrastive(a, b, y, *, reduction, margin=1.0, eps=1e-6):
    # Hadsell, Chopra & LeCun 2006, eq. (4) with Y = 1 - target (target 1 = similar):
    # L = 1/2 y D^2 + 1/2 (1 - y) max(0, m - D)^2, D the Euclidean distance (+eps as torch).
    y = y.double()
    d = F.pairwise_distance(a, b, p=2.0, eps=eps)
    loss = 0.5 * y * d**2 + 0.5 * (1 - y) * torch.clamp(margin - d, min=0) ** 2
    return ref_reduce(loss, reduction)


def _ref_info_nce(x, y, *, reduction, temperature=0.07, eps=1e-8):
    # SimCLR NT-Xent (Chen et al. 2020): 2N views, each row's positive is its other view,
    # every other row a negative, self excluded.
    n = x.shape[0]
    z = F.normalize(torch.cat([x, y]), dim=1, eps=eps)
    sim = z @ z.T / temperature
    sim = sim.masked_fill(torch.eye(2 * n, dtype=torch.bool), -math.inf)
    labels = torch.cat([torch.arange(n) + n, torch.arange(n)])
    ce = F.cross_entropy(sim, labels, reduction="none")
    return ref_reduce((ce[:n] + ce[n:]) / 2, reduction)


# -- samples ---------------------------------------------------------------------------------


def _margin_ranking_samples(rng):
    return [
        SampleInput((randn(rng, 7), randn(rng, 7), _signs(rng, 7)), desc="1-d"),
        SampleInput(
            (randn(rng, 3, 4), randn(rng, 3, 4), _signs(rng, 3, 4)),
            {"margin": 0.5},
            desc="2-d, margin=0.5",
        ),
        SampleInput(
            (randn(rng, 6), randn(rng, 6), _signs(rng, 6).astype(np.int64)),
            {"margin": -0.2},
            desc="int targets, negative margin",
        ),
        SampleInput((np.array([0.3]), np.array([-0.4]), np.array([-1.0])), desc="(1,)"),
    ]


def _hinge_embedding_samples(rng):
    return [
        SampleInput((uniform(rng, 7, high=2), _signs(rng, 7)), desc="1-d distances"),
        SampleInput((randn(rng, 3, 4), _signs(rng, 3, 4)), {"margin": 0.5}, desc="2-d, margin=0.5"),
        SampleInput(
            (uniform(rng, 6, high=3), _signs(rng, 6).astype(np.int32)),
            {"margin": 2.0},
            desc="int32 targets, margin=2",
        ),
    ]


def _cosine_embedding_samples(rng):
    return [
        SampleInput((randn(rng, 5, 4), randn(rng, 5, 4), _signs(rng, 5)), desc="(N, D)"),
        SampleInput(
            (randn(rng, 5, 4), randn(rng, 5, 4), _signs(rng, 5)), {"margin": 0.3}, desc="margin=0.3"
        ),
        SampleInput(
            (randn(rng, 5, 4), randn(rng, 5, 4), _signs(rng, 5).astype(np.int64)),
            {"margin": -0.5},
            desc="int targets, margin=-0.5",
        ),
        SampleInput((randn(rng, 6), randn(rng, 6), np.array(-1.0)), desc="unbatched (D,)"),
    ]


def _triplet_samples(rng):
    t = lambda: (randn(rng, 5, 4), randn(rng, 5, 4), randn(rng, 5, 4))
    return [
        SampleInput(t(), desc="defaults"),
        SampleInput(t(), {"margin": 0.5, "p": 1}, desc="p=1"),
        SampleInput(t(), {"p": 3, "eps": 1e-3}, desc="p=3, eps=1e-3"),
        SampleInput(t(), {"p": 0.5}, desc="p=0.5"),
        SampleInput(t(), {"swap": True, "margin": 2.0}, desc="swap"),
        SampleInput(
            (randn(rng, 4), randn(rng, 4), randn(rng, 4)), {"swap": True}, desc="unbatched (D,)"
        ),
    ]


def _triplet_distance_samples(rng):
    t = lambda: (randn(rng, 5, 4), randn(rng, 5, 4), randn(rng, 5, 4))
    return [
        SampleInput(t(), desc="default distance"),
        SampleInput(t(), {"margin": 0.3}, desc="margin=0.3"),
        SampleInput(t(), {"swap": True, "margin": 2.0}, desc="swap"),
    ]


def _contrastive_samples(rng):
    return [
        SampleInput((randn(rng, 6, 3), randn(rng, 6, 3), _bits(rng, 6)), desc="(N, D)"),
        SampleInput(
            (randn(rng, 6, 3, scale=0.3), randn(rng, 6, 3, scale=0.3), _bits(rng, 6)),
            {"margin": 2.0},
            desc="margin=2 (some dissimilar inside)",
        ),
        SampleInput(
            (randn(rng, 6, 3), randn(rng, 6, 3), _bits(rng, 6).astype(np.int64)),
            {"eps": 0.0},
            desc="int targets, eps=0",
        ),
        SampleInput((randn(rng, 6, 3), randn(rng, 6, 3), _bits(rng, 6) > 0), desc="bool targets"),
        SampleInput(
            (randn(rng, 4), randn(rng, 4), np.array(0.0)), {"margin": 5.0}, desc="unbatched (D,)"
        ),
    ]


def _info_nce_samples(rng):
    x = randn(rng, 6, 5)
    return [
        SampleInput((x, x + 0.3 * randn(rng, 6, 5)), desc="noisy views"),
        SampleInput(
            (randn(rng, 4, 3), randn(rng, 4, 3)), {"temperature": 0.5}, desc="temperature=0.5"
        ),
        SampleInput(
            (randn(rng, 5, 8), randn(rng, 5, 8)), {"temperature": 1.0}, desc="temperature=1"
        ),
        SampleInput((randn(rng, 1, 3), randn(rng, 1, 3)), {"temperature": 0.2}, desc="one pair"),
    ]


# -- errors ----------------------------------------------------------------------------------


def _margin_ranking_errors(rng):
    a, b, y = randn(rng, 4), randn(rng, 4), _signs(rng, 4)
    return [
        ErrorInput(SampleInput((a, randn(rng, 5), y)), ValueError, r"same shape"),
        ErrorInput(SampleInput((a, b, y[:3])), ValueError, r"same shape"),
        ErrorInput(SampleInput((a, b, y), {"margin": "1"}), TypeError, r"`margin`"),
        ErrorInput(
            SampleInput((a, b, np.array([1.0, 0.0, -1.0, 1.0]))),
            ValueError,
            r"`target` must hold only -1 and 1, found 0",
            data_dependent=True,
        ),
    ]


def _hinge_embedding_errors(rng):
    x, y = uniform(rng, 4), _signs(rng, 4)
    return [
        ErrorInput(SampleInput((x, y[:3])), ValueError, r"same shape"),
        ErrorInput(
            SampleInput((x, np.array([1.0, 2.0, -1.0, 1.0]))),
            ValueError,
            r"`target` must hold only -1 and 1, found 2",
            data_dependent=True,
        ),
    ]


def _cosine_embedding_errors(rng):
    a, b, y = randn(rng, 3, 4), randn(rng, 3, 4), _signs(rng, 3)
    return [
        ErrorInput(SampleInput((a, randn(rng, 3, 5), y)), ValueError, r"same shape"),
        ErrorInput(SampleInput((a, b, y[:2])), ValueError, r"`target` must have shape \(3,\)"),
        ErrorInput(
            SampleInput((randn(rng, 2, 3, 4), randn(rng, 2, 3, 4), y)),
            ValueError,
            r"`input1` must have shape \(N, D\) or \(D,\)",
        ),
        ErrorInput(
            SampleInput((a, b, np.array([1.0, 0.0, -1.0]))),
            ValueError,
            r"`target` must hold only -1 and 1",
            data_dependent=True,
        ),
    ]


def _triplet_errors(rng):
    a, p, n = randn(rng, 3, 4), randn(rng, 3, 4), randn(rng, 3, 4)
    return [
        ErrorInput(
            SampleInput((a, randn(rng, 3, 5), n)),
            ValueError,
            r"`anchor` and `positive` must have the same shape",
        ),
        ErrorInput(
            SampleInput((a, p, randn(rng, 2, 4))),
            ValueError,
            r"`anchor` and `negative` must have the same shape",
        ),
        ErrorInput(SampleInput((a, p, n), {"p": 0}), ValueError, r"`p` must be positive"),
        ErrorInput(SampleInput((a, p, n), {"swap": 1}), ValueError, r"`swap` must be a bool"),
        ErrorInput(
            SampleInput((randn(rng, 2, 3, 4), randn(rng, 2, 3, 4), randn(rng, 2, 3, 4))),
            ValueError,
            r"`anchor` must have shape \(N, D\) or \(D,\)",
        ),
    ]


def _triplet_distance_errors(rng):
    a, p, n = randn(rng, 3, 4), randn(rng, 3, 4), randn(rng, 3, 4)
    return [
        ErrorInput(
            SampleInput((a, randn(rng, 3, 5), n)),
            ValueError,
            r"`anchor` and `positive` must have the same shape",
        ),
        ErrorInput(
            SampleInput((a, p, n), {"margin": 0.0}), ValueError, r"`margin` must be greater than 0"
        ),
        ErrorInput(
            SampleInput((a, p, n), {"distance_function": "l2"}),
            TypeError,
            r"`distance_function` must be a callable",
        ),
    ]


def _contrastive_errors(rng):
    a, b, y = randn(rng, 3, 4), randn(rng, 3, 4), _bits(rng, 3)
    return [
        ErrorInput(SampleInput((a, randn(rng, 4, 4), y)), ValueError, r"same shape"),
        ErrorInput(SampleInput((a, b, y[:, None])), ValueError, r"`target` must have shape \(3,\)"),
        ErrorInput(
            SampleInput((a, b, np.array([1.0, -1.0, 0.0]))),
            ValueError,
            r"`target` must hold only 0 and 1, found -1",
            data_dependent=True,
        ),
    ]


def _info_nce_errors(rng):
    x, y = randn(rng, 4, 3), randn(rng, 4, 3)
    return [
        ErrorInput(SampleInput((x, randn(rng, 5, 3))), ValueError, r"same shape"),
        ErrorInput(
            SampleInput((randn(rng, 3), randn(rng, 3))),
            ValueError,
            r"`input` must have shape \(N, D\)",
        ),
        ErrorInput(
            SampleInput((x, y), {"temperature": 0.0}), ValueError, r"`temperature` must be positive"
        ),
        ErrorInput(
            SampleInput((x, y), {"temperature": -0.1}),
            ValueError,
            r"`temperature` must be positive",
        ),
    ]


# -- extreme samples: identical, zero and large embeddings -----------------------------------


def _pair_extremes(rng, target):
    x = randn(rng, 4, 3)
    return [
        SampleInput((x, x.copy(), target(rng)), desc="identical embeddings"),
        SampleInput((np.zeros((4, 3)), np.zeros((4, 3)), target(rng)), desc="zero vectors"),
        SampleInput(
            (1e4 * randn(rng, 4, 3), 1e4 * randn(rng, 4, 3), target(rng)), desc="magnitudes ~1e4"
        ),
    ]


def _margin_ranking_extremes(rng):
    x = randn(rng, 5)
    return [
        SampleInput((x, x.copy(), _signs(rng, 5)), {"margin": 0.5}, desc="equal scores"),
        SampleInput((1e4 * randn(rng, 5), 1e4 * randn(rng, 5), _signs(rng, 5)), desc="scores ~1e4"),
    ]


def _hinge_embedding_extremes(rng):
    return [
        SampleInput((np.zeros(5), _signs(rng, 5)), desc="zero distances"),
        SampleInput((1e4 * uniform(rng, 5), _signs(rng, 5)), desc="distances ~1e4"),
    ]


def _cosine_embedding_extremes(rng):
    return _pair_extremes(rng, lambda r: _signs(r, 4))


def _triplet_extremes(rng):
    x = randn(rng, 4, 3)
    return [
        SampleInput((x, x.copy(), randn(rng, 4, 3)), desc="anchor == positive"),
        SampleInput((x, x.copy(), x.copy()), {"swap": True}, desc="all three identical"),
        SampleInput((np.zeros((4, 3)),) * 3, {"p": 1}, desc="zero vectors, p=1"),
        SampleInput(
            (x, x.copy(), randn(rng, 4, 3)),
            {"eps": 0.0},
            desc="anchor == positive, eps=0 (exact zero distance)",
        ),
        SampleInput(
            (1e4 * randn(rng, 4, 3), 1e4 * randn(rng, 4, 3), 1e4 * randn(rng, 4, 3)),
            desc="magnitudes ~1e4",
        ),
    ]


def _triplet_distance_extremes(rng):
    x = randn(rng, 4, 3)
    return [
        SampleInput((x, x.copy(), randn(rng, 4, 3)), desc="anchor == positive"),
        SampleInput((x, x.copy(), x.copy()), {"swap": True}, desc="all three identical"),
        SampleInput(
            (1e4 * randn(rng, 4, 3), 1e4 * randn(rng, 4, 3), 1e4 * randn(rng, 4, 3)),
            desc="magnitudes ~1e4",
        ),
    ]


def _contrastive_extremes(rng):
    return [
        *_pair_extremes(rng, lambda r: _bits(r, 4)),
        SampleInput(
            (np.zeros((4, 3)), np.zeros((4, 3)), _bits(rng, 4)),
            {"eps": 0.0},
            desc="zero vectors, eps=0 (exact zero distance)",
        ),
    ]


def _info_nce_extremes(rng):
    x = randn(rng, 4, 3)
    return [
        SampleInput((x, x.copy()), desc="identical views"),
        SampleInput((np.zeros((4, 3)), randn(rng, 4, 3)), desc="zero vectors"),
        SampleInput((1e4 * randn(rng, 4, 3), 1e4 * randn(rng, 4, 3)), desc="magnitudes ~1e4"),
        SampleInput((x, x.copy()), {"temperature": 1e-3}, desc="temperature 1e-3"),
    ]


LOSSES = [
    LossInfo(
        "margin_ranking_loss",
        al.margin_ranking_loss,
        _margin_ranking_samples,
        _ref_margin_ranking,
        "torch.nn.functional.margin_ranking_loss",
        grad_args=(0, 1),
        float_args=(0, 1),
        errors=_margin_ranking_errors,
        extreme_samples=_margin_ranking_extremes,
    ),
    LossInfo(
        "hinge_embedding_loss",
        al.hinge_embedding_loss,
        _hinge_embedding_samples,
        _ref_hinge_embedding,
        "torch.nn.functional.hinge_embedding_loss",
        errors=_hinge_embedding_errors,
        extreme_samples=_hinge_embedding_extremes,
        scale_args=(),
    ),
    LossInfo(
        "cosine_embedding_loss",
        al.cosine_embedding_loss,
        _cosine_embedding_samples,
        _ref_cosine_embedding,
        "torch.nn.functional.cosine_embedding_loss",
        grad_args=(0, 1),
        float_args=(0, 1),
        errors=_cosine_embedding_errors,
        extreme_samples=_cosine_embedding_extremes,
    ),
    LossInfo(
        "triplet_margin_loss",
        al.triplet_margin_loss,
        _triplet_samples,
        _ref_triplet,
        "torch.nn.functional.triplet_margin_loss",
        grad_args=(0, 1, 2),
        float_args=(0, 1, 2),
        errors=_triplet_errors,
        extreme_samples=_triplet_extremes,
        invalid_options={"p": (0, -1.0), "swap": (1,)},
    ),
    LossInfo(
        "triplet_margin_with_distance_loss",
        al.triplet_margin_with_distance_loss,
        _triplet_distance_samples,
        _ref_triplet_distance,
        "torch.nn.functional.triplet_margin_with_distance_loss",
        grad_args=(0, 1, 2),
        float_args=(0, 1, 2),
        errors=_triplet_distance_errors,
        extreme_samples=_triplet_distance_extremes,
        invalid_options={"margin": (0.0, -1.0)},
    ),
    LossInfo(
        "contrastive_loss",
        al.contrastive_loss,
        _contrastive_samples,
        _ref_contrastive,
        "float64 torch formula from Hadsell, Chopra & LeCun 2006 (target 1 = similar)",
        grad_args=(0, 1),
        float_args=(0, 1),
        errors=_contrastive_errors,
        extreme_samples=_contrastive_extremes,
    ),
    LossInfo(
        "info_nce_loss",
        al.info_nce_loss,
        _info_nce_samples,
        _ref_info_nce,
        "float64 torch NT-Xent (SimCLR, Chen et al. 2020); optax.ntxent in test_embedding",
        grad_args=(0, 1),
        float_args=(0, 1),
        errors=_info_nce_errors,
        extreme_samples=_info_nce_extremes,
        invalid_options={"temperature": (0.0, -1.0)},
    ),
]
