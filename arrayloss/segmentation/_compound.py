"""Compound losses, MONAI's ``DiceFocalLoss`` and ``DiceCELoss``: the Dice (or Jaccard) loss
plus a focal or cross-entropy term, built from the overlap front end."""

from __future__ import annotations

from typing import Any

from .._lib import (
    check_option,
    check_real_scalar,
    check_reduction,
    finish,
    namespace_of,
    reduce,
    register,
)
from .._lib._primitives import log_sigmoid
from ..classification import cross_entropy
from ._common import FAMILY as _FAMILY
from ._common import (
    check_flags,
    check_smooth,
    fill_doc,
    overlap,
    probabilities_and_targets,
    safe_ratio,
)

__all__ = ["dice_ce_loss", "dice_focal_loss"]


def _check_lambdas(name: str, **lambdas: Any) -> None:
    for arg, value in lambdas.items():
        v = check_real_scalar(name, arg, value)
        check_option(name, arg, value, v >= 0, "non-negative")


def _dice_part(
    name: str,
    input: Any,
    target: Any,
    weight: Any,
    *,
    jaccard: bool,
    reduction: str,
    mode: str,
    include_background: bool,
    squared: bool,
    smooth_nr: float,
    smooth_dr: float,
    batch: bool,
    axis: int,
    xp: Any,
) -> Any:
    """The Dice (or Jaccard) part of a combination, with errors named after it."""
    nr, dr = check_smooth(name, smooth_nr, smooth_dr)
    check_flags(name, jaccard=jaccard)
    xp, out, tp, sp, sg, weight = overlap(
        name,
        input,
        target,
        weight,
        reduction=reduction,
        mode=mode,
        from_logits=True,
        include_background=include_background,
        squared=squared,
        batch=batch,
        soft_label=False,
        ignore_index=None,
        axis=axis,
        xp=xp,
    )
    union = 2 * (sp + sg - tp) if jaccard else sp + sg
    loss = 1 - safe_ratio(2 * tp + nr, union + dr, xp)
    if weight is not None:
        loss = loss * weight
    return loss, out


def _check_combo_reduction(name: str, reduction: Any) -> None:
    check_reduction(name, reduction)
    if reduction == "none":
        raise ValueError(
            f"{name}: `reduction` must be 'mean' or 'sum' for a combined loss: its parts have "
            "different unreduced shapes (per class and per pixel), got 'none'"
        )


@register(
    _FAMILY,
    class_name="DiceFocalLoss",
    monai="monai.losses.DiceFocalLoss",
    sample="seg_logits_index",
)
@fill_doc
def dice_focal_loss(
    input: Any,
    target: Any,
    /,
    *,
    reduction: str = "mean",
    mode: str = "multiclass",
    include_background: bool = True,
    squared: bool = False,
    jaccard: bool = False,
    smooth_nr: float = 1e-5,
    smooth_dr: float = 1e-5,
    batch: bool = False,
    gamma: float = 2.0,
    alpha: float | None = None,
    weight: Any = None,
    lambda_dice: float = 1.0,
    lambda_focal: float = 1.0,
    axis: int = 1,
    xp: Any = None,
) -> Any:
    r"""Dice loss plus sigmoid focal loss, MONAI's ``DiceFocalLoss``.

    .. math:: \ell = \lambda_d\, \mathrm{Dice}(x, y)
              + \lambda_f\, \operatorname{red}_{n,c} \Big( w_c \frac{1}{S} \sum_i
              \alpha_{t}\,(1 - p_{t})^{\gamma}\, \mathrm{BCE}(x_{n,c,i}, g_{n,c,i}) \Big)

    with the Dice part of :func:`dice_loss` (softmax for ``mode="multiclass"``, sigmoid
    otherwise, always from logits) and the focal part a *sigmoid* focal loss of each channel
    against the one-hot target, averaged over the S spatial positions of each (sample,
    class), weighted by ``weight`` and reduced like the Dice part.

    Parameters
    ----------
    input : array, shape (N, C, *spatial)
        Logits.
    target : array
        As in :func:`dice_loss` (class indices, one-hot, multilabel or binary masks).
    reduction : {"mean", "sum"}
        Applied to both parts over (sample, class).
    mode, include_background, squared, smooth_nr, smooth_dr, batch, axis
        As in :func:`dice_loss` (for the Dice part; ``include_background`` for both).
    jaccard : bool
        Use the Jaccard loss instead of the Dice loss.
    gamma : float
        Focusing exponent of the focal part (non-negative).
    alpha : float in [0, 1], optional
        Balance :math:`\alpha_t = \alpha g + (1 - \alpha)(1 - g)`; None: no balance.
    weight : array, shape (C,), optional
        Per-class weight of both parts, all C classes (background dropped with
        ``include_background=False``).
    lambda_dice, lambda_focal : float
        Non-negative weights of the two parts.
    {xp}

    Returns
    -------
    array
        0-d, in the input's dtype.

    Notes
    -----
    The focal term is evaluated as
    :math:`(x - x g - \log\sigma(x))\, e^{\gamma \log\sigma(-x(2g - 1))}`: only
    ``log_sigmoid`` of the logits, finite for logits of any size. MONAI equivalent:
    ``monai.losses.DiceFocalLoss(include_background=, to_onehot_y=True`` for an index
    target, ``softmax=True`` (multiclass) or ``sigmoid=True``, ``squared_pred=squared,
    jaccard=, smooth_nr=, smooth_dr=, batch=, gamma=, alpha=, weight=`` (``weight[1:]``
    without background), ``lambda_dice=, lambda_focal=, reduction=)``. MONAI casts the
    focal part to float32; here it runs in the input's precision.

    {unchecked_weight}

    References
    ----------
    Milletari et al., 3DV 2016 (Dice); Lin, Goyal, Girshick, He & Dollár, "Focal loss for
    dense object detection", ICCV 2017.

    Examples
    --------
    >>> import numpy as np, arrayloss
    >>> logits = np.array([[[2.0, -1.0, 0.5], [-1.0, 2.0, 0.5]]])
    >>> labels = np.array([[0, 1, 1]])
    >>> print(np.round(arrayloss.dice_focal_loss(logits, labels), 6))
    0.286267
    """
    name = "dice_focal_loss"
    _check_combo_reduction(name, reduction)
    _check_lambdas(name, lambda_dice=lambda_dice, lambda_focal=lambda_focal)
    g_ = check_real_scalar(name, "gamma", gamma)
    check_option(name, "gamma", gamma, g_ >= 0, "non-negative")
    if alpha is not None:
        a = check_real_scalar(name, "alpha", alpha)
        check_option(name, "alpha", alpha, 0 <= a <= 1, "in [0, 1] or None")
    dice, out = _dice_part(
        name,
        input,
        target,
        weight,
        jaccard=jaccard,
        reduction=reduction,
        mode=mode,
        include_background=include_background,
        squared=squared,
        smooth_nr=smooth_nr,
        smooth_dr=smooth_dr,
        batch=batch,
        axis=axis,
        xp=xp,
    )
    xp = namespace_of(name, input=input, target=target, weight=weight, xp=xp)
    _, x, g, w, _ = probabilities_and_targets(
        name,
        input,
        target,
        weight,
        mode=mode,
        from_logits=False,
        include_background=include_background,
        ignore_index=None,
        axis=axis,
        xp=xp,
    )
    # BCE with logits, times the modulating factor (1 - p_t)^gamma in log space:
    # log(1 - p_t) = log_sigmoid(-x (2g - 1)), finite for any logit.
    bce = x - x * g - log_sigmoid(x, xp=xp)
    focal = xp.exp(g_ * log_sigmoid(-x * (2 * g - 1), xp=xp)) * bce
    if alpha is not None:
        focal = focal * (a * g + (1 - a) * (1 - g))
    focal = xp.mean(focal, axis=-1)  # per (sample, class)
    if w is not None:
        focal = focal * w
    total = lambda_dice * reduce(dice, reduction, xp=xp) + lambda_focal * reduce(
        focal, reduction, xp=xp
    )
    return finish(total, out, xp)


@register(
    _FAMILY,
    class_name="DiceCELoss",
    monai="monai.losses.DiceCELoss",
    sample="seg_logits_index",
)
@fill_doc
def dice_ce_loss(
    input: Any,
    target: Any,
    /,
    *,
    reduction: str = "mean",
    mode: str = "multiclass",
    include_background: bool = True,
    squared: bool = False,
    jaccard: bool = False,
    smooth_nr: float = 1e-5,
    smooth_dr: float = 1e-5,
    batch: bool = False,
    weight: Any = None,
    lambda_dice: float = 1.0,
    lambda_ce: float = 1.0,
    label_smoothing: float = 0.0,
    axis: int = 1,
    xp: Any = None,
) -> Any:
    r"""Dice loss plus cross entropy, MONAI's ``DiceCELoss``.

    .. math:: \ell = \lambda_d\, \mathrm{Dice}(x, y) + \lambda_{ce}\, \mathrm{CE}(x, y)

    with the Dice part of :func:`dice_loss` (from logits) and, for ``mode="multiclass"``,
    :func:`arrayloss.cross_entropy` (class weights, label smoothing, index or probability
    targets); for ``"binary"``/``"multilabel"`` the binary cross entropy with logits of each
    channel, ``weight`` acting as its ``pos_weight``.

    Parameters
    ----------
    input : array, shape (N, C, *spatial)
        Logits.
    target : array
        As in :func:`dice_loss`.
    reduction : {"mean", "sum"}
        Applied to both parts (the cross entropy's own ``mean``: summed weights).
    mode, include_background, squared, smooth_nr, smooth_dr, batch, axis
        As in :func:`dice_loss`, for the Dice part.
    jaccard : bool
        Use the Jaccard loss instead of the Dice loss.
    weight : array, shape (C,), optional
        Class weights of both parts (all C classes; the Dice part drops the background
        entry with ``include_background=False``, the cross entropy keeps it).
    lambda_dice, lambda_ce : float
        Non-negative weights of the two parts.
    label_smoothing : float in [0, 1]
        Of the cross entropy (multiclass).
    {xp}

    Returns
    -------
    array
        0-d, in the input's dtype.

    Notes
    -----
    MONAI equivalent: ``monai.losses.DiceCELoss(include_background=, to_onehot_y=True`` for
    an index target, ``softmax=True`` (multiclass) or ``sigmoid=True`` (binary),
    ``squared_pred=squared, jaccard=, smooth_nr=, smooth_dr=, batch=, weight=,
    lambda_dice=, lambda_ce=, label_smoothing=, reduction=)``. For several sigmoid channels
    (``mode="multilabel"``) MONAI still uses the softmax cross entropy; here it is the
    per-channel binary cross entropy, consistent with the sigmoid Dice part.

    {unchecked_weight}

    References
    ----------
    Isensee et al., "nnU-Net: a self-configuring method for deep learning-based biomedical
    image segmentation", Nature Methods 2021 (Dice + CE).

    Examples
    --------
    >>> import numpy as np, arrayloss
    >>> logits = np.array([[[2.0, -1.0, 0.5], [-1.0, 2.0, 0.5]]])
    >>> labels = np.array([[0, 1, 1]])
    >>> print(np.round(arrayloss.dice_ce_loss(logits, labels), 6))
    0.467389
    """
    name = "dice_ce_loss"
    _check_combo_reduction(name, reduction)
    _check_lambdas(name, lambda_dice=lambda_dice, lambda_ce=lambda_ce)
    ls = check_real_scalar(name, "label_smoothing", label_smoothing)
    check_option(name, "label_smoothing", label_smoothing, 0 <= ls <= 1, "in [0, 1]")
    dice, out = _dice_part(
        name,
        input,
        target,
        weight,
        jaccard=jaccard,
        reduction=reduction,
        mode=mode,
        include_background=include_background,
        squared=squared,
        smooth_nr=smooth_nr,
        smooth_dr=smooth_dr,
        batch=batch,
        axis=axis,
        xp=xp,
    )
    xp = namespace_of(name, input=input, target=target, weight=weight, xp=xp)
    if mode == "multiclass":
        ce = cross_entropy(
            input,
            target,
            weight=weight,
            reduction=reduction,
            label_smoothing=ls,
            axis=axis,
            xp=xp,
        )
    else:
        _, x, g, w, _ = probabilities_and_targets(
            name,
            input,
            target,
            weight,
            mode=mode,
            from_logits=False,
            include_background=True,
            ignore_index=None,
            axis=axis,
            xp=xp,
        )
        # -[pw g log s(x) + (1 - g) log s(-x)], pos_weight pw per class.
        pw = 1 if w is None else xp.reshape(w, (1, w.shape[0], 1))
        bce = -(pw * g * log_sigmoid(x, xp=xp) + (1 - g) * log_sigmoid(-x, xp=xp))
        ce = reduce(bce, reduction, xp=xp)
    total = lambda_dice * reduce(dice, reduction, xp=xp) + lambda_ce * ce
    return finish(total, out, xp)
