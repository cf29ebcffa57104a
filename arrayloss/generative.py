"""Generative-model losses: the Wasserstein GAN objectives, the WGAN-GP gradient penalty and
the 1-D Wasserstein (earth mover's) distance between empirical distributions."""

from __future__ import annotations

import math
from typing import Any

from ._lib import (
    check_floating,
    check_real_scalar,
    check_reduction,
    finish,
    is_concrete,
    namespace_of,
    promote_floating,
    reduce,
    register,
)
from ._lib._distance import vector_norm
from ._lib._validation import invalid_as_nan

__all__ = [
    "gradient_penalty",
    "wasserstein_critic_loss",
    "wasserstein_distance_1d",
    "wasserstein_generator_loss",
]

_FAMILY = "generative"


@register(_FAMILY, class_name="WassersteinCriticLoss", sample="pair")
def wasserstein_critic_loss(
    real_scores: Any,
    fake_scores: Any,
    /,
    *,
    reduction: str = "mean",
    xp: Any = None,
) -> Any:
    r"""Wasserstein GAN critic (discriminator) loss: the critic maximises the score gap.

    .. math:: \ell = \operatorname{mean}(D(\tilde x)) - \operatorname{mean}(D(x))

    Parameters
    ----------
    real_scores : array, shape (N, *)
        Critic scores of real samples, real floating.
    fake_scores : array, shape (M, *)
        Critic scores of generated samples (``M`` may differ from ``N``).
    reduction : {"mean", "sum", "none"}
        ``mean``: mean(fake) - mean(real); ``sum``: sum(fake) - sum(real); ``none``: the
        elementwise ``fake - real``, which needs the two of the same shape.
    xp : namespace, optional
        Array namespace of the arguments, to skip inspecting them.

    Returns
    -------
    array
        Scalar, or the elementwise differences with ``reduction="none"``.

    Notes
    -----
    Minimising this loss trains the critic; it is an estimate of minus the Wasserstein-1
    distance when the critic is 1-Lipschitz (enforced by weight clipping or by
    :func:`gradient_penalty`). No clamping or log: it is linear in the scores. Keras
    example (WGAN-GP): ``tf.reduce_mean(fake) - tf.reduce_mean(real)``; PyTorch has no
    built-in equivalent.

    References
    ----------
    M. Arjovsky, S. Chintala, L. Bottou, "Wasserstein GAN", ICML 2017.

    Examples
    --------
    >>> import numpy as np, arrayloss
    >>> print(arrayloss.wasserstein_critic_loss(np.array([2.0, 4.0]), np.array([1.0, -1.0])))
    -3.0
    """
    name = "wasserstein_critic_loss"
    xp = namespace_of(name, real_scores=real_scores, fake_scores=fake_scores, xp=xp)
    check_reduction(name, reduction)
    check_floating(name, "fake_scores", fake_scores, xp)
    out, _, (real, fake) = promote_floating(
        name, xp, real_scores=real_scores, fake_scores=fake_scores
    )
    if reduction == "none":
        if tuple(real.shape) != tuple(fake.shape):
            raise ValueError(
                f"{name}: `reduction`='none' needs `real_scores` and `fake_scores` of one shape, "
                f"got {tuple(real.shape)} and {tuple(fake.shape)}"
            )
        return finish(fake - real, out, xp)
    return finish(reduce(fake, reduction, xp=xp) - reduce(real, reduction, xp=xp), out, xp)


@register(_FAMILY, class_name="WassersteinGeneratorLoss", sample="single")
def wasserstein_generator_loss(
    fake_scores: Any,
    /,
    *,
    reduction: str = "mean",
    xp: Any = None,
) -> Any:
    r"""Wasserstein GAN generator loss: the generator raises the critic's score of its samples.

    .. math:: \ell = -\operatorname{mean}(D(\tilde x))

    Parameters
    ----------
    fake_scores : array, shape (M, *)
        Critic scores of generated samples, real floating.
    reduction : {"mean", "sum", "none"}
        ``none`` returns ``-fake_scores``.
    xp : namespace, optional
        Array namespace of the argument, to skip inspecting it.

    Returns
    -------
    array
        Scalar, or ``-fake_scores`` with ``reduction="none"``.

    Notes
    -----
    Linear in the scores, so finite wherever they are. PyTorch has no built-in equivalent.

    References
    ----------
    M. Arjovsky, S. Chintala, L. Bottou, "Wasserstein GAN", ICML 2017.

    Examples
    --------
    >>> import numpy as np, arrayloss
    >>> print(arrayloss.wasserstein_generator_loss(np.array([1.0, -3.0])))
    1.0
    """
    name = "wasserstein_generator_loss"
    xp = namespace_of(name, fake_scores=fake_scores, xp=xp)
    check_reduction(name, reduction)
    out, _, (fake,) = promote_floating(name, xp, fake_scores=fake_scores)
    return finish(-reduce(fake, reduction, xp=xp), out, xp)


@register(_FAMILY, class_name="GradientPenalty", sample="single")
def gradient_penalty(
    gradients: Any,
    /,
    *,
    target: float = 1.0,
    reduction: str = "mean",
    xp: Any = None,
) -> Any:
    r"""WGAN-GP gradient penalty on gradients the caller computed.

    .. math:: \ell_n = \big(\lVert g_n \rVert_2 - \tau\big)^2

    arrayloss does not own autodiff: compute the gradient of the critic's scores with
    respect to its (interpolated) inputs with your framework (``torch.autograd.grad(...,
    create_graph=True)``, ``jax.grad``) and pass it here; differentiate the result again
    to train the critic.

    Parameters
    ----------
    gradients : array, shape (N, *)
        Per-sample gradients; the norm is over every axis but the first. A 1-D array is
        N scalar gradients.
    target : float
        The norm the penalty pulls towards (``tau``, 1 for a 1-Lipschitz critic).
    reduction : {"mean", "sum", "none"}
        ``none`` returns the N per-sample penalties. Multiply by your ``lambda`` (10 in the
        paper) yourself.
    xp : namespace, optional
        Array namespace of the argument, to skip inspecting it.

    Returns
    -------
    array
        Scalar, or shape (N,) with ``reduction="none"``.

    Notes
    -----
    The norm is differentiated safely at :math:`g_n = 0` (the derivative of
    :math:`\sqrt{s}` is infinite at 0): a double ``where`` feeds the square root 1 where
    the squared norm is 0 and returns 0 there, so the gradient of the penalty is finite
    (:math:`-2\tau \cdot 0`) instead of NaN. PyTorch/optax/Keras have no built-in
    equivalent; this is the formula of the paper's Algorithm 1.

    References
    ----------
    I. Gulrajani, F. Ahmed, M. Arjovsky, V. Dumoulin, A. Courville, "Improved Training of
    Wasserstein GANs", NeurIPS 2017.

    Examples
    --------
    >>> import numpy as np, arrayloss
    >>> g = np.array([[3.0, 4.0], [0.0, 0.0]])   # norms 5 and 0
    >>> print(arrayloss.gradient_penalty(g, reduction="none"))
    [16.  1.]
    """
    name = "gradient_penalty"
    xp = namespace_of(name, gradients=gradients, xp=xp)
    check_reduction(name, reduction)
    tau = check_real_scalar(name, "target", target)
    if tau < 0:
        raise ValueError(f"{name}: `target` must be a non-negative norm, got {target!r}")
    if gradients.ndim == 0:
        raise ValueError(f"{name}: `gradients` must have a batch axis, got a 0-d array")
    out, _, (g,) = promote_floating(name, xp, gradients=gradients)
    flat = g[:, None] if g.ndim == 1 else xp.reshape(g, (g.shape[0], -1))
    # Zero gradient at a zero norm (double where); a NaN gradient gives a NaN penalty.
    norm = vector_norm(flat, axis=1, xp=xp)
    return finish(reduce((norm - tau) ** 2, reduction, xp=xp), out, xp)


@register(_FAMILY, class_name="WassersteinDistance1d", sample="samples_1d")
def wasserstein_distance_1d(
    u_values: Any,
    v_values: Any,
    /,
    *,
    u_weights: Any = None,
    v_weights: Any = None,
    xp: Any = None,
) -> Any:
    r"""Wasserstein-1 (earth mover's) distance between two 1-D empirical distributions.

    .. math:: W_1(u, v) = \int_{-\infty}^{\infty} \lvert U(x) - V(x) \rvert \, dx

    with :math:`U, V` the (weighted) empirical CDFs. Equal to
    ``scipy.stats.wasserstein_distance``.

    Parameters
    ----------
    u_values, v_values : array, shape (n,) and (m,)
        Observed values (n and m may differ, both at least 1), real floating.
    u_weights, v_weights : array, shape (n,) and (m,), optional
        Non-negative weights of the values (normalised to sum to 1; not all 0). Default:
        equal weights.
    xp : namespace, optional
        Array namespace of the arguments, to skip inspecting them.

    Returns
    -------
    array
        0-d, the distance.

    Notes
    -----
    SciPy's algorithm written against the array API: sort all values, read both CDFs at
    each of them with ``searchsorted`` (right side, so ties count once) and sum
    :math:`|U - V|` times the gaps. Differentiable with respect to the values (through the
    gaps between sorted values) and the weights. The weights' values are checked (non
    negative, finite, not all zero) where they may be read; where they are not (traced, lazy
    or accelerator arrays, ``check_values="never"``), a negative weight or an all-zero
    weight vector gives NaN.

    References
    ----------
    SciPy, ``scipy.stats.wasserstein_distance``; C. Villani, "Optimal Transport: Old and
    New", 2009.

    Examples
    --------
    >>> import numpy as np, arrayloss
    >>> print(arrayloss.wasserstein_distance_1d(np.array([0.0, 1.0, 3.0]),
    ...                                         np.array([5.0, 6.0, 8.0])))
    5.0
    """
    name = "wasserstein_distance_1d"
    xp = namespace_of(
        name,
        u_values=u_values,
        v_values=v_values,
        u_weights=u_weights,
        v_weights=v_weights,
        xp=xp,
    )
    for arg, vals, w in (("u", u_values, u_weights), ("v", v_values, v_weights)):
        if vals.ndim != 1 or vals.shape[0] == 0:
            raise ValueError(
                f"{name}: `{arg}_values` must be a non-empty 1-D array, got shape "
                f"{tuple(vals.shape)}"
            )
        if w is not None and tuple(w.shape) != tuple(vals.shape):
            raise ValueError(
                f"{name}: `{arg}_weights` must have the shape of `{arg}_values` "
                f"{tuple(vals.shape)}, got {tuple(w.shape)}"
            )
    check_floating(name, "v_values", v_values, xp)
    out, _, (u, v, uw, vw) = promote_floating(
        name, xp, u_values=u_values, v_values=v_values, u_weights=u_weights, v_weights=v_weights
    )
    ok = None  # unchecked weights: negative or all zero give NaN
    for arg, w in (("u_weights", uw), ("v_weights", vw)):
        if w is None:
            continue
        if is_concrete(w, xp):
            _check_weights(name, arg, w, xp)
        else:
            w_ok = xp.all(w >= 0) & (xp.sum(w) > 0)
            ok = w_ok if ok is None else ok & w_ok
    u_sorter = xp.argsort(u)
    v_sorter = xp.argsort(v)
    u_sorted = xp.take(u, u_sorter)
    v_sorted = xp.take(v, v_sorter)
    all_values = xp.sort(xp.concat([u_sorted, v_sorted]))
    deltas = all_values[1:] - all_values[:-1]
    points = all_values[:-1]
    u_cdf = _cdf(u_sorted, points, u_sorter, uw, xp, safe=ok is not None)
    v_cdf = _cdf(v_sorted, points, v_sorter, vw, xp, safe=ok is not None)
    dist = xp.sum(xp.abs(u_cdf - v_cdf) * deltas)
    return finish(dist if ok is None else invalid_as_nan(dist, ok, xp), out, xp)


def _cdf(sorted_values: Any, points: Any, sorter: Any, w: Any, xp: Any, *, safe: bool) -> Any:
    """The empirical CDF of ``sorted_values`` (weighted by ``w`` in original order) at
    ``points``: the share of weight at or below each point. ``safe``: unchecked weights, a
    zero total divides by 1 (no 0 / 0 warning; the caller marks the result NaN)."""
    idx = xp.searchsorted(sorted_values, points, side="right")
    n = sorted_values.shape[0]
    if w is None:
        return xp.astype(idx, points.dtype) / n
    cw = xp.cumulative_sum(xp.take(w, sorter), include_initial=True)
    total = cw[-1]
    if safe:
        total = xp.where(total > 0, total, xp.ones_like(total))
    return xp.take(cw, idx) / total


def _check_weights(name: str, arg: str, w: Any, xp: Any) -> None:
    lo = float(xp.min(w))
    total = float(xp.sum(w))
    if not (lo >= 0 and math.isfinite(total)):
        raise ValueError(f"{name}: `{arg}` must be finite and non-negative, found {lo!r}")
    if total <= 0:
        raise ValueError(f"{name}: `{arg}` must not all be zero")
