"""Elementwise probabilistic losses: binary cross entropy (on probabilities or logits),
torchvision's sigmoid focal loss and torch's pointwise ``kl_div``. Every array has the
input's shape (weights broadcast to it); names, arguments, defaults and results are
torch's (torchvision's for ``sigmoid_focal_loss``).
"""

from __future__ import annotations

from typing import Any

from .._lib import (
    check_floating,
    check_option,
    check_real_scalar,
    check_reduction,
    check_same_shape,
    finish,
    namespace_of,
    native_loss,
    promote_floating,
    reduce,
    register,
)
from .._lib._plans import delegate
from .._lib._primitives import clamped_log, log_sigmoid, sigmoid, xlogy
from .._lib._validation import all_concrete

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "kl_div",
    "sigmoid_focal_loss",
]

_FAMILY = "classification"


def _check_broadcastable(loss: str, arg: str, w: Any, input: Any) -> None:
    if w is None:
        return
    ws, s = tuple(w.shape), tuple(input.shape)
    ok = len(ws) <= len(s) and all(a in (1, b) for a, b in zip(ws[::-1], s[::-1]))
    check_option(loss, arg, f"an array of shape {ws}", ok, f"broadcastable to the input shape {s}")


def _elementwise_prepare(
    loss: str, input: Any, target: Any, reduction: str, xp: Any, **arrays: Any
) -> tuple[Any, Any, list[Any]]:
    xp = namespace_of(loss, input=input, target=target, **arrays, xp=xp)
    check_reduction(loss, reduction)
    check_floating(loss, "input", input, xp)
    check_same_shape(loss, "input", input, "target", target)
    for k, v in arrays.items():
        if v is not None:
            check_floating(loss, k, v, xp)
        _check_broadcastable(loss, k, v, input)
    out, _, cast = promote_floating(loss, xp, input=input, target=target, **arrays)
    return xp, out, cast


def _weighted_elementwise(loss: Any, weight: Any, reduction: str, xp: Any) -> Any:
    """The BCE losses' ``weight``: multiplies, and ``mean`` still divides by the count."""
    if weight is not None:
        loss = loss * weight
    return reduce(loss, reduction, xp=xp)


@register(
    _FAMILY,
    class_name="BCELoss",
    delegates=True,
    torch="torch.nn.functional.binary_cross_entropy",
    keras="keras.losses.BinaryCrossentropy(from_logits=False)",
    sample="probs_binary",
)
def binary_cross_entropy(
    input: Any,
    target: Any,
    /,
    *,
    weight: Any = None,
    reduction: str = "mean",
    xp: Any = None,
) -> Any:
    r"""Binary cross entropy between probabilities and targets.

    .. math:: \ell_i = -w_i \left[ y_i \max(\log x_i, -100)
              + (1 - y_i) \max(\log(1 - x_i), -100) \right]

    Parameters
    ----------
    input : array, shape (*)
        Probabilities in [0, 1].
    target : array, shape (*)
        Targets in [0, 1] (soft labels allowed), same shape as ``input``.
    weight : array, optional
        Elementwise weights broadcastable to (*); ``mean`` divides by the element count,
        not by the summed weights (torch).
    reduction : {"mean", "sum", "none"}
    xp : namespace, optional

    Returns
    -------
    array
        A 0-d array, or shape (*) for ``reduction="none"``.

    Notes
    -----
    Each log is clamped at -100, as in torch, so probabilities of exactly 0 or 1 give a
    finite loss; the log's argument is replaced by 1 where it is 0 so that the gradient
    stays finite too (0 for the clamped term, where torch's own backward gives
    :math:`\pm 10^{12}`). Prefer :func:`binary_cross_entropy_with_logits` on logits.

    PyTorch equivalent: ``torch.nn.functional.binary_cross_entropy``.

    Examples
    --------
    >>> import numpy as np, arrayloss
    >>> p, y = np.array([0.9, 0.2, 0.0]), np.array([1.0, 0.0, 1.0])
    >>> print(np.round(arrayloss.binary_cross_entropy(p, y, reduction="none"), 6))
    [  0.105361   0.223144 100.      ]
    """
    name = "binary_cross_entropy"
    xp, out, (input, target, weight) = _elementwise_prepare(
        name, input, target, reduction, xp, weight=weight
    )
    # torch's kernel only eagerly: torch.func.vmap has no batching rule for it
    if (native := native_loss(name, xp)) is not None and all_concrete((input,), xp):
        return delegate(native, (input, target, weight), {"reduction": reduction}, out=out, xp=xp)

    # log clamped at -100 as torch does, with a 0 gradient where clamped (p == 0 included)
    loss = -(
        target * clamped_log(input, -100.0, xp=xp)
        + (1 - target) * clamped_log(1 - input, -100.0, xp=xp)
    )
    return finish(_weighted_elementwise(loss, weight, reduction, xp), out, xp)


@register(
    _FAMILY,
    class_name="BCEWithLogitsLoss",
    delegates=True,
    torch="torch.nn.functional.binary_cross_entropy_with_logits",
    optax="optax.losses.sigmoid_binary_cross_entropy (unreduced)",
    keras="keras.losses.BinaryCrossentropy(from_logits=True)",
    sample="logits_binary",
)
def binary_cross_entropy_with_logits(
    input: Any,
    target: Any,
    /,
    *,
    weight: Any = None,
    reduction: str = "mean",
    pos_weight: Any = None,
    xp: Any = None,
) -> Any:
    r"""Binary cross entropy on logits (sigmoid and BCE fused, stable).

    .. math:: \ell_i = -w_i \left[ p_c\, y_i \log \sigma(x_i)
              + (1 - y_i) \log(1 - \sigma(x_i)) \right]
              = w_i \left[ (1 - y_i) x_i - (1 + (p_c - 1) y_i) \log \sigma(x_i) \right]

    Parameters
    ----------
    input : array, shape (*)
        Logits.
    target : array, shape (*)
        Targets in [0, 1], same shape as ``input``.
    weight : array, optional
        Elementwise weights broadcastable to (*); ``mean`` divides by the element count.
    reduction : {"mean", "sum", "none"}
    pos_weight : array, optional
        Weight of the positive term, broadcastable to (*): shape (C,) weighs each class of
        an (N, C) input (it broadcasts over the last dimension, as in torch).
    xp : namespace, optional

    Returns
    -------
    array
        A 0-d array, or shape (*) for ``reduction="none"``.

    Notes
    -----
    :math:`\log \sigma(x) = \min(x, 0) - \log(1 + e^{-|x|})` never exponentiates a positive
    number: finite for logits of :math:`\pm 10^4`, gradients included.

    PyTorch equivalent: ``torch.nn.functional.binary_cross_entropy_with_logits``.

    Examples
    --------
    >>> import numpy as np, arrayloss
    >>> x, y = np.array([2.0, -1.0, 1e4]), np.array([1.0, 0.0, 0.0])
    >>> print(np.round(arrayloss.binary_cross_entropy_with_logits(x, y, reduction="none"), 6))
    [1.26928e-01 3.13262e-01 1.00000e+04]
    """
    name = "binary_cross_entropy_with_logits"
    xp, out, (input, target, weight, pos_weight) = _elementwise_prepare(
        name, input, target, reduction, xp, weight=weight, pos_weight=pos_weight
    )
    if (native := native_loss(name, xp)) is not None:
        used = (input, target, weight, pos_weight)
        return delegate(native, used, {"reduction": reduction}, out=out, xp=xp)
    log_sig = log_sigmoid(input, xp=xp)
    if pos_weight is None:
        loss = (1 - target) * input - log_sig
    else:
        loss = (1 - target) * input - (1 + (pos_weight - 1) * target) * log_sig
    return finish(_weighted_elementwise(loss, weight, reduction, xp), out, xp)


@register(
    _FAMILY,
    class_name="KLDivLoss",
    delegates=True,
    torch="torch.nn.functional.kl_div",
    optax="optax.losses.kl_divergence (reduced over the last axis)",
    keras="keras.losses.KLDivergence",
    sample="logprobs_probs",
)
def kl_div(
    input: Any,
    target: Any,
    /,
    *,
    reduction: str = "mean",
    log_target: bool = False,
    xp: Any = None,
) -> Any:
    r"""Kullback-Leibler divergence, torch's pointwise form with log-probability input.

    .. math:: \ell_i = y_i (\log y_i - x_i) \quad (\text{or } e^{y_i}(y_i - x_i)
              \text{ with } \texttt{log\_target})

    Parameters
    ----------
    input : array, shape (*)
        Log-probabilities :math:`x = \log q`.
    target : array, shape (*)
        Probabilities :math:`y` (log-probabilities with ``log_target=True``), same shape.
    reduction : {"mean", "sum", "none", "batchmean"}
        ``"mean"`` divides by the element count (torch's default, which is not the KL
        divergence); ``"batchmean"`` divides the sum by the batch size ``input.shape[0]``
        (the mathematical KL per sample).
    log_target : bool
        Whether ``target`` holds log-probabilities.
    xp : namespace, optional

    Returns
    -------
    array
        A 0-d array, or shape (*) for ``reduction="none"``.

    Notes
    -----
    Zero targets contribute 0 (:math:`0 \log 0 = 0`) with a zero gradient, not NaN: the
    log's argument is replaced by 1 where the target is 0. Shapes must match exactly
    (torch would broadcast them).

    PyTorch equivalent: ``torch.nn.functional.kl_div``.

    Examples
    --------
    >>> import numpy as np, arrayloss
    >>> logq = np.log(np.array([[0.5, 0.5, 0.0 + 1e-300]]))
    >>> p = np.array([[1.0, 0.0, 0.0]])
    >>> print(np.round(arrayloss.kl_div(logq, p, reduction="batchmean"), 6))
    0.693147
    """
    name = "kl_div"
    xp = namespace_of(name, input=input, target=target, xp=xp)
    check_reduction(name, reduction, ("mean", "sum", "none", "batchmean"))
    check_option(name, "log_target", log_target, isinstance(log_target, bool), "a bool")
    check_floating(name, "input", input, xp)
    check_same_shape(name, "input", input, "target", target)
    out, _, (input, target) = promote_floating(name, xp, input=input, target=target)
    # torch's kernel only eagerly: torch.func.vmap has no batching rule for it (it warns)
    if (native := native_loss(name, xp)) is not None and all_concrete((input,), xp):
        opts = {"reduction": reduction, "log_target": log_target}
        return delegate(native, (input, target), opts, out=out, xp=xp)
    if log_target:
        loss = xp.exp(target) * (target - input)
    else:
        loss = xlogy(target, target, xp=xp) - target * input
    if reduction == "batchmean":
        total = xp.sum(loss)
        return finish(total / input.shape[0] if input.ndim else total, out, xp)
    return finish(reduce(loss, reduction, xp=xp), out, xp)


@register(
    _FAMILY,
    class_name="SigmoidFocalLoss",
    torchvision="torchvision.ops.sigmoid_focal_loss",
    monai="monai.losses.FocalLoss(use_softmax=False)",
    sample="logits_binary",
)
def sigmoid_focal_loss(
    inputs: Any,
    targets: Any,
    /,
    *,
    alpha: float = 0.25,
    gamma: float = 2.0,
    reduction: str = "none",
    xp: Any = None,
) -> Any:
    r"""Sigmoid focal loss for dense detection (torchvision's name, arguments and defaults).

    .. math:: \ell_i = \alpha_t (1 - p_t)^\gamma\, \mathrm{BCE}(x_i, y_i), \quad
              p_t = p y + (1 - p)(1 - y), \quad \alpha_t = \alpha y + (1 - \alpha)(1 - y),
              \quad p = \sigma(x_i)

    Parameters
    ----------
    inputs : array, shape (*)
        Logits.
    targets : array, shape (*)
        Binary (or soft) targets in [0, 1], same shape.
    alpha : float
        Weight of the positives in [0, 1]; a negative value disables the weighting
        (torchvision).
    gamma : float
        Focusing exponent, >= 0 (``gamma=0`` with ``alpha<0`` is plain BCE).
    reduction : {"none", "mean", "sum"}
        torchvision's default is ``"none"``.
    xp : namespace, optional

    Returns
    -------
    array
        The elementwise losses (shape (*)), or a 0-d array.

    Notes
    -----
    The BCE term is computed from logits with a stable ``log_sigmoid``, and :math:`p` with a
    stable sigmoid, so logits of :math:`\pm 10^4` stay finite.

    torchvision equivalent: ``torchvision.ops.sigmoid_focal_loss`` (same formula and
    defaults). PyTorch has no focal loss.

    References
    ----------
    T.-Y. Lin, P. Goyal, R. Girshick, K. He, P. Dollár, "Focal loss for dense object
    detection", ICCV 2017.

    Examples
    --------
    >>> import numpy as np, arrayloss
    >>> x, y = np.array([2.0, -1.0, 0.5]), np.array([1.0, 0.0, 0.0])
    >>> print(np.round(arrayloss.sigmoid_focal_loss(x, y), 6))
    [0.000451 0.016994 0.283059]
    """
    name = "sigmoid_focal_loss"
    xp = namespace_of(name, inputs=inputs, targets=targets, xp=xp)
    check_reduction(name, reduction)
    alpha = check_real_scalar(name, "alpha", alpha)
    gamma = check_real_scalar(name, "gamma", gamma)
    check_option(name, "gamma", gamma, gamma >= 0, "non-negative")
    check_floating(name, "inputs", inputs, xp)
    check_same_shape(name, "inputs", inputs, "targets", targets)
    out, _, (x, y) = promote_floating(name, xp, inputs=inputs, targets=targets)
    p = sigmoid(x, xp=xp)
    ce = (1 - y) * x - log_sigmoid(x, xp=xp)
    p_t = p * y + (1 - p) * (1 - y)
    # gamma == 0: no modulating factor (0 ** 0 = 1, but its gradient would be 0 * inf on jax)
    loss = ce * (1 - p_t) ** gamma if gamma != 0 else ce
    if alpha >= 0:
        loss = (alpha * y + (1 - alpha) * (1 - y)) * loss
    return finish(reduce(loss, reduction, xp=xp), out, xp)
