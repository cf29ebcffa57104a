"""Registry entries for the regression family.

References: torch.nn.functional where torch has the loss; otherwise a float64 torch formula
written from the definition cited beside it (Keras docs for msle/mape, Koenker & Bassett for
the pinball loss).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

import arrayloss as al

from ._core import ErrorInput, LossInfo, SampleInput, randn, ref_reduce, uniform


def _pairs(rng: np.random.Generator, weight: bool = True, scale: float = 2.0) -> list[SampleInput]:
    """Prediction/target pairs over several ranks, with and without elementwise weights."""
    out = [
        SampleInput((randn(rng, 7, scale=scale), randn(rng, 7, scale=scale)), desc="1-d"),
        SampleInput((randn(rng, 4, 5, scale=scale), randn(rng, 4, 5, scale=scale)), desc="2-d"),
        SampleInput((randn(rng, 2, 3, 4, scale=scale), randn(rng, 2, 3, 4, scale=scale)),
                    desc="3-d"),
        SampleInput((randn(rng, 1, scale=scale), randn(rng, 1, scale=scale)), desc="one element"),
    ]
    if weight:
        out += [
            SampleInput(
                (randn(rng, 4, 5, scale=scale), randn(rng, 4, 5, scale=scale)),
                {"weight": uniform(rng, 4, 5, low=0.1, high=2.0)},
                desc="elementwise weight",
            ),
            SampleInput(
                (randn(rng, 4, 5, scale=scale), randn(rng, 4, 5, scale=scale)),
                {"weight": uniform(rng, 4, 1, low=0.1, high=2.0)},
                desc="per-row weight, broadcast",
            ),
        ]
    return out


def _shape_errors(rng: np.random.Generator) -> list[ErrorInput]:
    return [
        ErrorInput(SampleInput((randn(rng, 3, 4), randn(rng, 4, 3))), ValueError, r"same shape"),
    ]


def _weight_errors(rng: np.random.Generator) -> list[ErrorInput]:
    return [
        *_shape_errors(rng),
        ErrorInput(
            SampleInput((randn(rng, 3, 4), randn(rng, 3, 4)), {"weight": uniform(rng, 3, 2)}),
            ValueError,
            r"`weight`.*broadcastable",
        ),
    ]


def _expand(weight: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor | None:
    return None if weight is None else weight.expand_as(like)


# -- references ------------------------------------------------------------------------------


def _ref_l1(x, y, *, reduction, weight=None):
    return F.l1_loss(x, y, reduction=reduction, weight=_expand(weight, x))


def _ref_mse(x, y, *, reduction, weight=None):
    return F.mse_loss(x, y, reduction=reduction, weight=_expand(weight, x))


def _ref_rmse(x, y, *, reduction, weight=None):
    # sqrt of torch's (weighted) mse; "none": sqrt(w) |d|.
    return torch.sqrt(F.mse_loss(x, y, reduction=reduction, weight=_expand(weight, x)))


def _ref_huber(x, y, *, reduction, delta=1.0, weight=None):
    return F.huber_loss(x, y, reduction=reduction, delta=delta, weight=_expand(weight, x))


def _ref_smooth_l1(x, y, *, reduction, beta=1.0):
    return F.smooth_l1_loss(x, y, reduction=reduction, beta=beta)


def _ref_log_cosh(x, y, *, reduction, weight=None):
    # Direct definition log(cosh(d)); float64 cosh is finite for |d| < 710.
    return ref_reduce(torch.log(torch.cosh(x - y)), reduction, weight)


def _ref_poisson(x, y, *, reduction, log_input=True, full=False, eps=1e-8):
    return F.poisson_nll_loss(x, y, log_input=log_input, full=full, eps=eps, reduction=reduction)


def _ref_gaussian(x, y, var, *, reduction, full=False, eps=1e-6):
    if isinstance(var, torch.Tensor) and var.ndim == 0:
        var = float(var)
    return F.gaussian_nll_loss(x, y, var, full=full, eps=eps, reduction=reduction)


def _ref_msle(x, y, *, reduction, weight=None, eps=1e-7):
    # keras.losses.mean_squared_logarithmic_error: log(max(y, eps) + 1) for both arguments.
    d = torch.log(torch.clamp(x, min=eps) + 1) - torch.log(torch.clamp(y, min=eps) + 1)
    return ref_reduce(d**2, reduction, weight)


def _ref_mape(x, y, *, reduction, weight=None, eps=1e-7):
    # keras.losses.mean_absolute_percentage_error: 100 |y - x| / max(|y|, eps).
    loss = 100 * torch.abs(y - x) / torch.clamp(torch.abs(y), min=eps)
    return ref_reduce(loss, reduction, weight)


def _ref_quantile(x, y, *, reduction, quantile=0.5, weight=None):
    # Pinball loss (Koenker & Bassett 1978): q (y - x) if y >= x else (1 - q)(x - y).
    d = y - x
    loss = torch.where(d >= 0, quantile * d, (quantile - 1) * d)
    return ref_reduce(loss, reduction, weight)


# -- samples -------------------------------------------------------------------------------


def _huber_samples(rng):
    base = _pairs(rng)
    return [
        *base,
        SampleInput((randn(rng, 5, 6, scale=3), randn(rng, 5, 6)), {"delta": 0.3}, "delta=0.3"),
        SampleInput((randn(rng, 5, 6, scale=3), randn(rng, 5, 6)), {"delta": 2.5}, "delta=2.5"),
    ]


def _smooth_l1_samples(rng):
    return [
        *_pairs(rng, weight=False),
        SampleInput((randn(rng, 5, 6), randn(rng, 5, 6)), {"beta": 0.0}, "beta=0 is l1"),
        SampleInput((randn(rng, 5, 6), randn(rng, 5, 6)), {"beta": 0.25}, "beta=0.25"),
        SampleInput((randn(rng, 5, 6, scale=3), randn(rng, 5, 6)), {"beta": 3.0}, "beta=3"),
    ]


def _log_cosh_samples(rng):
    return [
        *_pairs(rng),
        SampleInput((randn(rng, 3, 4, scale=200.0), randn(rng, 3, 4)), desc="large errors"),
    ]


def _poisson_samples(rng):
    counts = lambda *s: rng.poisson(3.0, s).astype(np.float64)
    return [
        SampleInput((randn(rng, 4, 5), counts(4, 5)), desc="log input"),
        SampleInput((randn(rng, 4, 5), counts(4, 5)), {"full": True}, desc="log input, full"),
        SampleInput((uniform(rng, 4, 5, low=0.1, high=5), counts(4, 5)),
                    {"log_input": False}, desc="rate input"),
        SampleInput((uniform(rng, 4, 5, low=0.1, high=5), counts(4, 5)),
                    {"log_input": False, "full": True, "eps": 1e-4}, desc="rate input, full"),
        SampleInput((randn(rng, 2, 3, 4), counts(2, 3, 4)), desc="3-d"),
    ]


def _gaussian_samples(rng):
    x = lambda *s: randn(rng, *s)
    var = lambda *s: uniform(rng, *s, low=0.2, high=3.0)
    mu = x(4, 5)
    return [
        SampleInput((x(4, 5), x(4, 5), var(4, 5)), desc="heteroscedastic"),
        SampleInput((x(4, 5), x(4, 5), var(4)), desc="var without last dim"),
        SampleInput((x(4, 5), x(4, 5), var(4, 1)), desc="var with a size-1 dim"),
        SampleInput((x(3, 4, 5), x(3, 4, 5), var(3, 1, 5)), desc="size-1 middle dim"),
        SampleInput((x(4, 5), x(4, 5), var(4, 5)), {"full": True}, desc="full"),
        # Errors ~1e-3 keep d^2 / eps within float16's range (65504).
        SampleInput((mu, mu + 1e-3 * x(4, 5), uniform(rng, 4, 5, low=0.0, high=1e-7)),
                    {"eps": 1e-4}, desc="var below eps is clamped"),
        SampleInput((x(4, 5), x(4, 5), 0.7), desc="float var"),
    ]


def _gaussian_errors(rng):
    x = randn(rng, 4, 5)
    return [
        ErrorInput(SampleInput((x, randn(rng, 5, 4), 1.0)), ValueError, r"same shape"),
        ErrorInput(SampleInput((x, x, uniform(rng, 3, 5))), ValueError, r"`var` has shape"),
        ErrorInput(SampleInput((x, x, -uniform(rng, 4, 5))), ValueError,
                   r"`var` must be non-negative", data_dependent=True),
        ErrorInput(SampleInput((x, x, -1.0)), ValueError, r"`var` must be non-negative"),
        ErrorInput(SampleInput((x, x, 1.0), {"eps": 0.0}), ValueError, r"`eps` must be positive"),
    ]


def _positive_pairs(rng):
    p = lambda *s: uniform(rng, *s, low=0.0, high=5.0)
    return [
        SampleInput((p(7), p(7)), desc="1-d"),
        SampleInput((p(4, 5), p(4, 5)), desc="2-d"),
        SampleInput((p(4, 5), p(4, 5)), {"weight": uniform(rng, 4, 5)}, desc="weighted"),
        SampleInput((p(4, 5) - 0.5, p(4, 5)), desc="some negative predictions (clamped)"),
    ]


def _mape_samples(rng):
    y = uniform(rng, 4, 5, low=0.5, high=3.0) * rng.choice([-1.0, 1.0], (4, 5))
    return [
        *_pairs(rng, scale=1.0)[:3],
        SampleInput((randn(rng, 4, 5), y), desc="targets away from 0"),
        SampleInput((randn(rng, 4, 5), y), {"weight": uniform(rng, 4, 5)}, desc="weighted"),
    ]


def _quantile_samples(rng):
    return [
        *_pairs(rng),
        SampleInput((randn(rng, 4, 5), randn(rng, 4, 5)), {"quantile": 0.1}, "q=0.1"),
        SampleInput((randn(rng, 4, 5), randn(rng, 4, 5)), {"quantile": 0.9}, "q=0.9"),
    ]


def _option_error(kw: dict, match: str):
    def errors(rng):
        x = randn(rng, 3, 4)
        return [*_shape_errors(rng), ErrorInput(SampleInput((x, x), kw), ValueError, match)]

    return errors


# -- extreme samples (domain edges where the math stays finite; tests/test_properties.py) ----


def _edge_pairs(rng):
    """Identical pairs (d = 0: the kink of l1/rmse/quantile), huge and tiny errors."""
    x = randn(rng, 4, 5)
    return [
        SampleInput((x, x.copy()), desc="input == target"),
        SampleInput((randn(rng, 4, 5, scale=1e4), randn(rng, 4, 5, scale=1e4)),
                    desc="errors ~1e4"),
        SampleInput((1e-15 * randn(rng, 4, 5), np.zeros((4, 5))), desc="errors ~1e-15"),
        SampleInput((x, x + 1e-4), desc="errors 1e-4"),
    ]


def _edge_weighted(rng):
    x = randn(rng, 4, 5)
    w = np.zeros((4, 5))
    w[1, 2] = 1.0
    return [*_edge_pairs(rng),
            SampleInput((x, randn(rng, 4, 5)), {"weight": w}, desc="all weights 0 but one")]


def _huber_extremes(rng):
    return [*_edge_weighted(rng),
            SampleInput((randn(rng, 4, 5), randn(rng, 4, 5)), {"delta": 1e-8}, "tiny delta"),
            SampleInput((randn(rng, 4, 5, scale=1e4), randn(rng, 4, 5)), {"delta": 1e6},
                        "huge delta")]


def _smooth_l1_extremes(rng):
    x = randn(rng, 4, 5)
    return [*_edge_pairs(rng),
            SampleInput((x, x.copy()), {"beta": 0.0}, "beta=0, d=0"),
            SampleInput((randn(rng, 4, 5), randn(rng, 4, 5)), {"beta": 1e-12}, "tiny beta"),
            SampleInput((x, x + 1e-14), {"beta": 1e-12}, "tiny beta, tiny errors")]


def _log_cosh_extremes(rng):
    return [*_edge_weighted(rng),
            SampleInput((randn(rng, 4, 5, scale=1e3), randn(rng, 4, 5)), desc="cosh overflows")]


def _poisson_extremes(rng):
    counts = rng.poisson(3.0, (4, 5)).astype(np.float64)
    zeros = np.zeros((4, 5))
    return [
        SampleInput((np.full((4, 5), -1e4), zeros), desc="log rate -1e4, zero counts"),
        SampleInput((np.full((4, 5), 60.0), counts), desc="log rate 60"),
        SampleInput((zeros, counts), {"log_input": False}, desc="rate 0 (eps keeps log finite)"),
        SampleInput((randn(rng, 4, 5), np.full((4, 5), 1e6)), {"full": True},
                    desc="huge counts, full"),
        SampleInput((randn(rng, 4, 5), rng.integers(0, 2, (4, 5)).astype(np.float64)),
                    {"full": True}, desc="counts 0 and 1, full"),
    ]


def _gaussian_extremes(rng):
    x = randn(rng, 4, 5)
    return [
        SampleInput((x, x.copy(), np.zeros((4, 5))), desc="var 0 clamped, d = 0"),
        SampleInput((x, randn(rng, 4, 5), np.zeros((4, 5))), desc="var 0 clamped"),
        SampleInput((x, randn(rng, 4, 5), np.full((4, 5), 1e30)), desc="var 1e30"),
        SampleInput((x, x + 1e-3, np.zeros(4)), {"eps": 1e-12}, desc="tiny eps"),
    ]


def _positive_extremes(rng):
    p = uniform(rng, 4, 5, low=0.0, high=5.0)
    return [
        SampleInput((np.zeros((4, 5)), np.zeros((4, 5))), desc="all zero"),
        SampleInput((p, p.copy()), desc="input == target"),
        SampleInput((np.full((4, 5), 1e30), p), desc="huge predictions"),
        SampleInput((-p, p), desc="negative predictions clamped"),
        SampleInput((p, p), {"eps": 0.0}, desc="eps=0"),
    ]


def _mape_extremes(rng):
    x = randn(rng, 4, 5)
    return [
        SampleInput((x, np.zeros((4, 5))), desc="zero targets (eps floor)"),
        SampleInput((x, x.copy()), desc="input == target"),
        SampleInput((x, np.full((4, 5), 1e-30)), {"eps": 1e-30}, desc="tiny targets, tiny eps"),
        SampleInput((randn(rng, 4, 5, scale=1e4), randn(rng, 4, 5, scale=1e4)),
                    desc="errors ~1e4"),
    ]


def _quantile_extremes(rng):
    return [*_edge_weighted(rng),
            SampleInput((randn(rng, 4, 5), randn(rng, 4, 5)), {"quantile": 1e-7}, "q=1e-7"),
            SampleInput((randn(rng, 4, 5), randn(rng, 4, 5)), {"quantile": 1 - 1e-7},
                        "q=1-1e-7")]


LOSSES = [
    LossInfo("l1_loss", al.l1_loss, _pairs, _ref_l1, "torch.nn.functional.l1_loss",
             errors=_weight_errors,
             extreme_samples=_edge_weighted),
    LossInfo("mse_loss", al.mse_loss, _pairs, _ref_mse, "torch.nn.functional.mse_loss",
             errors=_weight_errors,
             extreme_samples=_edge_weighted),
    LossInfo("rmse_loss", al.rmse_loss, _pairs, _ref_rmse,
             "sqrt of torch.nn.functional.mse_loss", errors=_weight_errors,
             extreme_samples=_edge_weighted),
    LossInfo("huber_loss", al.huber_loss, _huber_samples, _ref_huber,
             "torch.nn.functional.huber_loss",
             errors=_option_error({"delta": 0.0}, r"`delta` must be positive"),
             extreme_samples=_huber_extremes),
    LossInfo("smooth_l1_loss", al.smooth_l1_loss, _smooth_l1_samples, _ref_smooth_l1,
             "torch.nn.functional.smooth_l1_loss",
             errors=_option_error({"beta": -1.0}, r"`beta` must be non-negative"),
             extreme_samples=_smooth_l1_extremes),
    LossInfo("log_cosh_loss", al.log_cosh_loss, _log_cosh_samples, _ref_log_cosh,
             "float64 log(cosh(d))", errors=_weight_errors,
             extreme_samples=_log_cosh_extremes),
    LossInfo("poisson_nll_loss", al.poisson_nll_loss, _poisson_samples, _ref_poisson,
             "torch.nn.functional.poisson_nll_loss",
             errors=_option_error({"eps": -1.0}, r"`eps` must be positive"),
             extreme_samples=_poisson_extremes),
    LossInfo("gaussian_nll_loss", al.gaussian_nll_loss, _gaussian_samples, _ref_gaussian,
             "torch.nn.functional.gaussian_nll_loss", grad_args=(0, 1, 2),
             errors=_gaussian_errors,
             extreme_samples=_gaussian_extremes),
    LossInfo("msle_loss", al.msle_loss, _positive_pairs, _ref_msle,
             "keras.losses.mean_squared_logarithmic_error formula, float64",
             errors=_option_error({"eps": -1.0}, r"`eps` must be non-negative"),
             extreme_samples=_positive_extremes),
    LossInfo("mape_loss", al.mape_loss, _mape_samples, _ref_mape,
             "keras.losses.mean_absolute_percentage_error formula, float64",
             errors=_option_error({"eps": 0.0}, r"`eps` must be positive"),
             extreme_samples=_mape_extremes),
    LossInfo("quantile_loss", al.quantile_loss, _quantile_samples, _ref_quantile,
             "pinball loss (Koenker & Bassett 1978), float64",
             errors=_option_error({"quantile": 1.0}, r"`quantile` must be in the open interval"),
             extreme_samples=_quantile_extremes),
]
