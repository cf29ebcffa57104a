"""Classification and probabilistic losses: cross entropy and its relatives.

Softmax losses (``cross_entropy``, ``nll_loss``, ``focal_loss``, ``poly1_cross_entropy``)
take scores of shape ``(N, C, d1, ..., dK)`` (or an unbatched ``(C,)``) with the class
dimension at ``axis=1`` like torch (``axis=-1`` for channels-last), and either class-index
targets of any integer dtype, of the input's shape without the class dimension, or class
probabilities of the input's shape. Sigmoid losses (``binary_cross_entropy*``,
``sigmoid_focal_loss``) and ``kl_div`` are elementwise. Names, arguments, defaults and
results are torch's (torchvision's for ``sigmoid_focal_loss``).
"""

from __future__ import annotations

from typing import Any

from ._lib import (
    check_floating,
    check_index_target,
    check_labels_in_range,
    check_option,
    check_real_scalar,
    check_reduction,
    finish,
    namespace_of,
    native_loss,
    promote_floating,
    reduce,
    register,
)
from ._lib._compat import device as _device
from ._lib._primitives import log_softmax, take_along_axis
from ._lib._validation import shape_str

__all__ = [
    "cross_entropy",
    "nll_loss",
]

_FAMILY = "classification"


# ---------------------------------------------------------------------------------------------
# Shared pieces of the softmax losses
# ---------------------------------------------------------------------------------------------


def _class_axis(loss: str, input: Any, axis: Any) -> int:
    """The class dimension: ``axis`` (default 1) for batched input, 0 for an unbatched (C,)."""
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise TypeError(f"{loss}: `axis` must be an int, got {type(axis).__name__}")
    if input.ndim == 0:
        raise ValueError(f"{loss}: `input` must have a class dimension, got a 0-d array")
    if input.ndim == 1:
        return 0
    check_option(
        loss,
        "axis",
        axis,
        -input.ndim <= axis < input.ndim,
        f"a valid dimension of the {input.ndim}-d input",
    )
    return axis % input.ndim


def _check_class_weight(
    loss: str, weight: Any, num_classes: int, xp: Any, arg: str = "weight"
) -> None:
    if weight is None:
        return
    check_floating(loss, arg, weight, xp)
    if tuple(weight.shape) != (num_classes,):
        raise ValueError(
            f"{loss}: `{arg}` must have shape ({num_classes},) (one per class), got "
            f"{shape_str(weight.shape)}"
        )


def _check_int(loss: str, arg: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{loss}: `{arg}` must be an int, got {type(value).__name__}")
    return value


def _index_target_shape(input: Any, cax: int) -> tuple[int, ...]:
    return tuple(s for i, s in enumerate(input.shape) if i != cax)


def _check_target(
    loss: str, input: Any, target: Any, cax: int, xp: Any, *, probs: bool, ignore_index: Any
) -> bool:
    """Validate ``target``; True for class probabilities (floating), False for indices."""
    if probs and xp.isdtype(target.dtype, "real floating"):
        if tuple(target.shape) != tuple(input.shape):
            raise ValueError(
                f"{loss}: `target` holds class probabilities (floating dtype) and must have "
                f"the input's shape {shape_str(input.shape)}, got {shape_str(target.shape)}; "
                f"class indices need an integer dtype"
            )
        return True
    check_index_target(loss, "target", target, xp)
    want = _index_target_shape(input, cax)
    if tuple(target.shape) != want:
        raise ValueError(
            f"{loss}: `target` holds class indices and must have shape {shape_str(want)} "
            f"(the input's shape {shape_str(input.shape)} without the class dimension {cax}), "
            f"got {shape_str(target.shape)}"
        )
    if not _representable(ignore_index, target, xp):
        ignore_index = None
    check_labels_in_range(loss, "target", target, input.shape[cax], xp, ignore_index=ignore_index)
    return False


def _representable(value: int, target: Any, xp: Any) -> bool:
    """Whether ``value`` fits ``target``'s integer dtype (-100 does not fit uint8: then no
    target can equal it, and comparing would overflow on strict array libraries)."""
    info = xp.iinfo(target.dtype)
    return info.min <= value <= info.max


def _class_view(w: Any, ndim: int, cax: int, xp: Any) -> Any:
    """A (C,) per-class array reshaped to broadcast along dimension ``cax`` of ``ndim``."""
    shape = [1] * ndim
    shape[cax] = w.shape[0]
    return xp.reshape(w, tuple(shape))


def _pick(logp: Any, target: Any, cax: int, ignore_index: int, xp: Any) -> tuple[Any, Any, Any]:
    """``logp`` at the target class, the validity mask, and the gather-safe target.

    Ignored positions gather class 0 (any valid index) and are masked by the caller with
    ``where``, so neither their value nor their gradient reaches the result.
    """
    if _representable(ignore_index, target, xp):
        valid = target != ignore_index
    else:
        valid = xp.ones(target.shape, dtype=xp.bool, device=_device(target))
    safe = xp.where(valid, target, xp.zeros_like(target))
    index_dtype = _index_dtype(xp)
    if safe.dtype != index_dtype:
        # gathers take the library's indexing dtype (torch: int64 only); target-sized cast
        safe = xp.astype(safe, index_dtype)
    picked = take_along_axis(logp, xp.expand_dims(safe, axis=cax), axis=cax, xp=xp)
    return xp.squeeze(picked, axis=cax), valid, safe


_INDEX_DTYPE: dict[int, Any] = {}


def _index_dtype(xp: Any) -> Any:
    dt = _INDEX_DTYPE.get(id(xp))
    if dt is None:
        dt = _INDEX_DTYPE[id(xp)] = xp.__array_namespace_info__().default_dtypes()["indexing"]
    return dt


def _target_weight(weight: Any, safe: Any, valid: Any, dtype: Any, xp: Any) -> Any:
    """The class weight of each target (1 without ``weight``), 0 where ignored."""
    if weight is None:
        return xp.astype(valid, dtype)
    w = xp.reshape(xp.take(weight, xp.reshape(safe, (-1,)), axis=0), tuple(safe.shape))
    return xp.where(valid, w, xp.zeros_like(w))


def _weighted_mean_reduce(loss: Any, denom: Any, reduction: str, xp: Any) -> Any:
    """``loss`` already carries its weights; ``mean`` divides by the summed weights (torch's
    nll_loss: 0/0 = nan when every target is ignored or weighs 0)."""
    if reduction == "mean":
        return xp.sum(loss) / xp.sum(denom)
    return reduce(loss, reduction, xp=xp)


# ---------------------------------------------------------------------------------------------
# cross_entropy, nll_loss
# ---------------------------------------------------------------------------------------------


@register(
    _FAMILY,
    class_name="CrossEntropyLoss",
    torch="torch.nn.functional.cross_entropy",
    optax="optax.losses.softmax_cross_entropy_with_integer_labels",
    keras="keras.losses.SparseCategoricalCrossentropy(from_logits=True)",
)
def cross_entropy(
    input: Any,
    target: Any,
    /,
    *,
    weight: Any = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
    axis: int = 1,
    xp: Any = None,
) -> Any:
    r"""Softmax cross entropy between unnormalized scores and class targets.

    .. math:: \ell_n = -(1 - \varepsilon)\, w_{y_n} \log p_{n, y_n}
              - \frac{\varepsilon}{C} \sum_{c} w_c \log p_{n c}, \qquad
              p_{n c} = \frac{e^{x_{nc}}}{\sum_{k} e^{x_{nk}}}

    for class-index targets :math:`y_n` (:math:`\varepsilon` is ``label_smoothing``,
    :math:`w` the class weights, 1 without ``weight``); ``mean`` is
    :math:`\sum_n \ell_n / \sum_n w_{y_n}` over the non-ignored targets. For class
    probabilities :math:`q`: :math:`\ell_n = -\sum_c w_c \tilde q_{nc} \log p_{nc}` with
    :math:`\tilde q = (1 - \varepsilon) q + \varepsilon / C`, and ``mean`` divides by the
    number of samples.

    Parameters
    ----------
    input : array, shape (N, C, d1, ..., dK) or (C,)
        Unnormalized scores (logits), real floating; classes along ``axis``.
    target : array
        Class indices of any integer dtype, shape (N, d1, ..., dK) (``()`` for an unbatched
        input), values in [0, C) or ``ignore_index``; or class probabilities (floating),
        the input's shape.
    weight : array, shape (C,), optional
        A weight per class.
    ignore_index : int
        Index targets equal to it contribute nothing, also not to the ``mean``'s
        denominator (unused for probability targets, as in torch).
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns one loss per target position, shape (N, d1, ..., dK).
    label_smoothing : float in [0, 1]
        Mixes the targets with the uniform distribution.
    axis : int
        The class dimension of a batched input (torch's is 1; ``-1`` for channels-last).
    xp : namespace, optional
        Array namespace of the arguments, to skip inspecting them.

    Returns
    -------
    array
        A 0-d array, or the per-position losses for ``reduction="none"``.

    Notes
    -----
    Computed as ``log_softmax`` (max-shifted log-sum-exp, finite for logits of any size)
    and a gather of the target class, never ``log(softmax)``, and without a one-hot array.
    Labels out of range raise ``ValueError`` on concrete arrays (not under ``jax.jit`` or
    on lazy Dask). When every target is ignored, ``mean`` is ``nan`` (0/0), as in torch.
    On torch the whole loss runs as ``torch.nn.functional.cross_entropy``.

    PyTorch equivalent: ``torch.nn.functional.cross_entropy`` (same arguments and results;
    torch accepts only int64 class indices, arrayloss any integer dtype).

    References
    ----------
    C. Szegedy et al., "Rethinking the Inception architecture for computer vision",
    CVPR 2016 (label smoothing).

    Examples
    --------
    >>> import numpy as np, arrayloss
    >>> logits = np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0]])
    >>> print(np.round(arrayloss.cross_entropy(logits, np.array([0, 2])), 6))
    0.175456
    >>> print(np.round(arrayloss.cross_entropy(logits, np.array([0, -100])), 6))
    0.241311
    """
    name = "cross_entropy"
    xp = namespace_of(name, input=input, target=target, weight=weight, xp=xp)
    check_reduction(name, reduction)
    ignore_index = _check_int(name, "ignore_index", ignore_index)
    ls = check_real_scalar(name, "label_smoothing", label_smoothing)
    check_option(name, "label_smoothing", label_smoothing, 0.0 <= ls <= 1.0, "between 0.0 and 1.0")
    check_floating(name, "input", input, xp)
    cax = _class_axis(name, input, axis)
    num_classes = input.shape[cax]
    _check_class_weight(name, weight, num_classes, xp)
    probs = _check_target(name, input, target, cax, xp, probs=True, ignore_index=ignore_index)
    if probs:
        out, _, (input, target, weight) = promote_floating(
            name, xp, input=input, target=target, weight=weight
        )
    else:
        out, _, (input, weight) = promote_floating(name, xp, input=input, weight=weight)

    if (native := native_loss(name, xp)) is not None:
        if input.ndim > 1 and cax != 1:
            input = xp.moveaxis(input, cax, 1)
            if probs:
                target = xp.moveaxis(target, cax, 1)
        return finish(
            native(
                input,
                target,
                weight=weight,
                ignore_index=ignore_index,
                reduction=reduction,
                label_smoothing=ls,
            ),
            out,
            xp,
        )

    logp = log_softmax(input, axis=cax, xp=xp)
    if probs:
        if ls > 0:
            target = target * (1 - ls) + ls / num_classes
        q = target if weight is None else target * _class_view(weight, input.ndim, cax, xp)
        loss = -xp.sum(q * logp, axis=cax)
        return finish(reduce(loss, reduction, xp=xp), out, xp)

    picked, valid, safe = _pick(logp, target, cax, ignore_index, xp)
    w_t = _target_weight(weight, safe, valid, picked.dtype, xp)
    loss = -w_t * picked
    if ls > 0:
        lw = logp if weight is None else logp * _class_view(weight, input.ndim, cax, xp)
        smooth = -xp.sum(lw, axis=cax)
        smooth = xp.where(valid, smooth, xp.zeros_like(smooth))
        loss = (1 - ls) * loss + (ls / num_classes) * smooth
    return finish(_weighted_mean_reduce(loss, w_t, reduction, xp), out, xp)


@register(
    _FAMILY,
    class_name="NLLLoss",
    torch="torch.nn.functional.nll_loss",
)
def nll_loss(
    input: Any,
    target: Any,
    /,
    *,
    weight: Any = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    axis: int = 1,
    xp: Any = None,
) -> Any:
    r"""Negative log likelihood of class-index targets, given log-probabilities.

    .. math:: \ell_n = -w_{y_n} x_{n, y_n}, \qquad
              \text{mean} = \frac{\sum_n \ell_n}{\sum_n w_{y_n}}

    over the targets not equal to ``ignore_index`` (:math:`w = 1` without ``weight``).

    Parameters
    ----------
    input : array, shape (N, C, d1, ..., dK) or (C,)
        Log-probabilities (e.g. a ``log_softmax`` output), real floating.
    target : array, shape (N, d1, ..., dK) or ()
        Class indices of any integer dtype, in [0, C) or equal to ``ignore_index``.
    weight : array, shape (C,), optional
        A weight per class.
    ignore_index : int
        Targets equal to it contribute nothing, also not to the ``mean``'s denominator.
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns one loss per target position.
    axis : int
        The class dimension of a batched input (torch's is 1).
    xp : namespace, optional

    Returns
    -------
    array
        A 0-d array, or the target's shape for ``reduction="none"``.

    Notes
    -----
    A gather of the target class, no one-hot array. When every target is ignored, ``mean``
    is ``nan`` (0/0), as in torch. Labels out of range raise ``ValueError`` on concrete
    arrays.

    PyTorch equivalent: ``torch.nn.functional.nll_loss`` (int64 targets only there).

    Examples
    --------
    >>> import numpy as np, arrayloss
    >>> logp = np.log(np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]]))
    >>> print(np.round(arrayloss.nll_loss(logp, np.array([0, 2])), 6))
    0.289909
    """
    name = "nll_loss"
    xp = namespace_of(name, input=input, target=target, weight=weight, xp=xp)
    check_reduction(name, reduction)
    ignore_index = _check_int(name, "ignore_index", ignore_index)
    check_floating(name, "input", input, xp)
    cax = _class_axis(name, input, axis)
    _check_class_weight(name, weight, input.shape[cax], xp)
    _check_target(name, input, target, cax, xp, probs=False, ignore_index=ignore_index)
    out, _, (input, weight) = promote_floating(name, xp, input=input, weight=weight)

    if (native := native_loss(name, xp)) is not None:
        if input.ndim > 1 and cax != 1:
            input = xp.moveaxis(input, cax, 1)
        return finish(
            native(input, target, weight=weight, ignore_index=ignore_index, reduction=reduction),
            out,
            xp,
        )

    picked, valid, safe = _pick(input, target, cax, ignore_index, xp)
    w_t = _target_weight(weight, safe, valid, picked.dtype, xp)
    return finish(_weighted_mean_reduce(-w_t * picked, w_t, reduction, xp), out, xp)
