"""Segmentation losses: overlap (Dice, Jaccard, Tversky, focal Tversky, generalized Dice) and
the Lovász extensions of the Jaccard loss (hinge and softmax).

The overlap losses share one front end, written once here:

* ``mode="multiclass"``: ``input`` of shape (N, C, *spatial) holds one score per class,
  ``target`` holds class indices of shape (N, *spatial) (any integer dtype), or one-hot /
  soft probabilities of the input's shape; ``from_logits=True`` applies a softmax over
  the classes.
* ``mode="multilabel"``: one independent channel per class, ``target`` of the input's shape
  with values in [0, 1]; ``from_logits=True`` applies a sigmoid per channel.
* ``mode="binary"``: ``input`` of shape (N, 1, *spatial), ``target`` of that shape or of
  (N, *spatial); ``from_logits=True`` applies a sigmoid.

Statistics are summed over the spatial dimensions of each sample (``batch=False``) or over
the whole batch (``batch=True``), giving one loss per (sample, class) or per class, which
``reduction`` then averages or sums. ``ignore_index`` excludes pixels (index targets) or
elements (dense targets) from every sum. Any number of spatial dimensions is accepted; the
class axis is ``axis=1`` (``axis=-1`` for channels-last data).

MONAI (``monai.losses``) is the peer the overlap losses are tested against; each docstring
writes the option mapping. segmentation_models_pytorch users find ``mode``,
``from_logits`` and ``ignore_index`` under the same names.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from .._lib import (
    check_index_target,
    check_labels_in_range,
    check_option,
    check_real_scalar,
    check_reduction,
    finish,
    is_concrete,
    namespace_of,
    promote_floating,
    register,
)
from .._lib._compat import device
from .._lib._primitives import (
    log_sigmoid,
    one_hot,
    sigmoid,
    softmax,
    stop_gradient,
    take_along_axis,
)
from .._lib._validation import shape_str

__all__ = [
    "dice_ce_loss",
    "dice_focal_loss",
    "dice_loss",
    "focal_tversky_loss",
    "generalized_dice_loss",
    "jaccard_loss",
    "lovasz_hinge_loss",
    "lovasz_softmax_loss",
    "tversky_loss",
]

_FAMILY = "segmentation"
_MODES = ("binary", "multiclass", "multilabel")
_WEIGHT_TYPES = ("square", "simple", "uniform")


# ---------------------------------------------------------------------------------------------
# Shared front end of the overlap losses
# ---------------------------------------------------------------------------------------------


def _check_flags(name: str, **flags: Any) -> None:
    for arg, value in flags.items():
        if not isinstance(value, bool):
            raise TypeError(f"{name}: `{arg}` must be a bool, got {value!r}")


def _check_ignore_index(name: str, ignore_index: Any) -> None:
    if ignore_index is not None and (
        isinstance(ignore_index, bool) or not isinstance(ignore_index, int)
    ):
        raise TypeError(f"{name}: `ignore_index` must be an int or None, got {ignore_index!r}")


def _class_axis(name: str, input: Any, axis: Any) -> int:
    if input.ndim < 2:
        raise ValueError(
            f"{name}: `input` must have shape (N, C, *spatial) (at least 2 dimensions), got "
            f"{shape_str(input.shape)}"
        )
    if isinstance(axis, bool) or not isinstance(axis, int) or not -input.ndim <= axis < input.ndim:
        raise ValueError(
            f"{name}: `axis` must be an int in [{-input.ndim}, {input.ndim - 1}] for an input of "
            f"{input.ndim} dimensions, got {axis!r}"
        )
    ax = int(axis % input.ndim)
    if ax == 0:
        raise ValueError(f"{name}: `axis` is the class axis and cannot be the batch axis 0")
    return ax


def _to_channels_first(x: Any, ax: int, xp: Any) -> Any:
    return x if ax == 1 else xp.moveaxis(x, ax, 1)


def _check_weight(name: str, weight: Any, num_classes: int, xp: Any) -> None:
    if weight is None:
        return
    if tuple(weight.shape) != (num_classes,):
        raise ValueError(
            f"{name}: `weight` must have shape ({num_classes},), one entry per class of the "
            f"input, got {shape_str(weight.shape)}"
        )
    if not is_concrete(weight, xp):
        return
    # Checked on the result too: under jax.jit an op on a concrete closed-over array traces.
    negative = xp.any(weight < 0)
    if is_concrete(negative, xp) and bool(negative):
        raise ValueError(f"{name}: `weight` must be non-negative")


def _probabilities_and_targets(
    name: str,
    input: Any,
    target: Any,
    weight: Any,
    *,
    mode: str,
    from_logits: bool,
    include_background: bool,
    ignore_index: int | None,
    axis: int,
    xp: Any,
) -> tuple[Any, Any, Any, Any, Any]:
    """Validate, activate, one-hot and mask. Returns ``(out_dtype, p, g, weight, C)`` with
    ``p`` and ``g`` of shape (N, C', S) (spatial dimensions flattened, class axis 1)."""
    check_option(name, "mode", mode, mode in _MODES, "'multiclass', 'multilabel' or 'binary'")
    _check_flags(name, from_logits=from_logits, include_background=include_background)
    _check_ignore_index(name, ignore_index)
    ax = _class_axis(name, input, axis)
    num_classes = input.shape[ax]
    in_shape = tuple(input.shape)
    no_class_shape = in_shape[:ax] + in_shape[ax + 1 :]
    t_shape = tuple(target.shape)
    if mode == "binary" and num_classes != 1:
        raise ValueError(
            f"{name}: `input` must have one channel along axis {axis} in mode='binary', got "
            f"shape {shape_str(in_shape)}; use mode='multilabel' or 'multiclass' for "
            f"{num_classes} classes"
        )
    if mode == "binary" and t_shape == no_class_shape:
        target = xp.expand_dims(target, axis=ax)
        t_shape = in_shape
    dense = t_shape == in_shape
    index = mode == "multiclass" and not dense and t_shape == no_class_shape
    if not (dense or index):
        expected = {
            "multiclass": f"{shape_str(no_class_shape)} (class indices) or "
            f"{shape_str(in_shape)} (one-hot)",
            "multilabel": f"{shape_str(in_shape)} (the input's shape)",
            "binary": f"{shape_str(in_shape)} or {shape_str(no_class_shape)}",
        }[mode]
        what = " (the class counts differ)" if len(t_shape) == len(in_shape) else ""
        raise ValueError(
            f"{name}: `target` must have shape {expected} in mode={mode!r}, got "
            f"{shape_str(t_shape)}{what}"
        )
    _check_weight(name, weight, num_classes, xp)
    if index:
        check_index_target(name, "target", target, xp)
        check_labels_in_range(name, "target", target, num_classes, xp, ignore_index=ignore_index)
        out, work, (input, weight) = promote_floating(name, xp, input=input, weight=weight)
    else:
        out, work, (input, target, weight) = promote_floating(
            name, xp, input=input, target=target, weight=weight
        )
    input = _to_channels_first(input, ax, xp)
    if from_logits:
        input = softmax(input, axis=1, xp=xp) if mode == "multiclass" else sigmoid(input, xp=xp)
    valid = None
    if index:
        if ignore_index is not None:
            valid = xp.expand_dims(target != ignore_index, axis=1)
            target = xp.where(target != ignore_index, target, xp.zeros_like(target))
        g = one_hot(target, num_classes, dtype=work, axis=1, xp=xp)
    else:
        g = _to_channels_first(target, ax, xp)
        if ignore_index is not None:
            valid = g != ignore_index
            g = xp.where(valid, g, xp.zeros_like(g))
    p = input
    if valid is not None:
        mask = xp.astype(valid, work)
        p, g = p * mask, g * mask
    if not include_background and num_classes > 1:
        p, g = p[:, 1:, ...], g[:, 1:, ...]
        weight = None if weight is None else weight[1:]
    n, c = p.shape[0], p.shape[1]
    # Flatten the spatial dimensions (shapes are static, so the reshape is lazy-safe).
    s = math.prod(p.shape[2:])
    shape = (n, c, s)
    p = xp.reshape(p, shape)
    g = xp.reshape(g, shape)
    return out, p, g, weight, num_classes


def _overlap_stats(
    p: Any, g: Any, *, squared: bool, soft_label: bool, batch: bool, xp: Any
) -> tuple[Any, Any, Any]:
    """True positives, prediction and target volumes, summed per (sample, class) or per
    class over the batch."""
    axes = (0, 2) if batch else (2,)
    if squared:
        return (xp.sum(p * g, axis=axes), xp.sum(p * p, axis=axes), xp.sum(g * g, axis=axes))
    sp, sg = xp.sum(p, axis=axes), xp.sum(g, axis=axes)
    if soft_label:
        # |p| + |g| - |p - g| = 2 min(p, g) for non-negative p, g: the intersection of soft
        # sets (Wang et al. 2023), equal to p g for hard labels.
        return (sp + sg - xp.sum(xp.abs(p - g), axis=axes)) / 2, sp, sg
    return xp.sum(p * g, axis=axes), sp, sg


def _safe_ratio(num: Any, den: Any, xp: Any) -> Any:
    """num / den, and 1 (perfect overlap) where den == 0: a class absent from prediction
    and target with ``smooth_dr=0``. The inner where keeps the gradient finite there. The
    mask is ``den == 0`` (not ``den > 0``) so a NaN input reaches the ratio (MONAI: NaN)."""
    empty = den == 0
    return xp.where(empty, xp.ones_like(den), num / xp.where(empty, xp.ones_like(den), den))


def _finish_overlap(loss: Any, weight: Any, reduction: str, out: Any, xp: Any) -> Any:
    if weight is not None:
        loss = loss * weight
    if reduction == "mean":
        loss = xp.mean(loss)
    elif reduction == "sum":
        loss = xp.sum(loss)
    return finish(loss, out, xp)


def _check_smooth(name: str, smooth_nr: Any, smooth_dr: Any) -> tuple[float, float]:
    nr = check_real_scalar(name, "smooth_nr", smooth_nr)
    dr = check_real_scalar(name, "smooth_dr", smooth_dr)
    check_option(name, "smooth_nr", smooth_nr, nr >= 0, "non-negative")
    check_option(name, "smooth_dr", smooth_dr, dr >= 0, "non-negative")
    return nr, dr


def _overlap(
    name: str,
    input: Any,
    target: Any,
    weight: Any,
    *,
    reduction: str,
    mode: str,
    from_logits: bool,
    include_background: bool,
    squared: bool,
    batch: bool,
    soft_label: bool,
    ignore_index: int | None,
    axis: int,
    xp: Any,
) -> tuple[Any, Any, Any, Any, Any, Any]:
    """The front end plus statistics: ``(xp, out, tp, sum_p, sum_g, weight)``."""
    xp = namespace_of(name, input=input, target=target, weight=weight, xp=xp)
    check_reduction(name, reduction)
    _check_flags(name, squared=squared, batch=batch, soft_label=soft_label)
    out, p, g, weight, _ = _probabilities_and_targets(
        name,
        input,
        target,
        weight,
        mode=mode,
        from_logits=from_logits,
        include_background=include_background,
        ignore_index=ignore_index,
        axis=axis,
        xp=xp,
    )
    tp, sp, sg = _overlap_stats(p, g, squared=squared, soft_label=soft_label, batch=batch, xp=xp)
    return xp, out, tp, sp, sg, weight


# ---------------------------------------------------------------------------------------------
# Overlap losses
# ---------------------------------------------------------------------------------------------


@register(_FAMILY, class_name="DiceLoss", monai="monai.losses.DiceLoss")
def dice_loss(
    input: Any,
    target: Any,
    /,
    *,
    reduction: str = "mean",
    mode: str = "multiclass",
    from_logits: bool = True,
    include_background: bool = True,
    squared: bool = False,
    smooth_nr: float = 1e-5,
    smooth_dr: float = 1e-5,
    batch: bool = False,
    weight: Any = None,
    soft_label: bool = False,
    ignore_index: int | None = None,
    axis: int = 1,
    xp: Any = None,
) -> Any:
    r"""Soft Dice loss (Sørensen–Dice), one minus the soft Dice coefficient per class.

    .. math:: \ell_{n,c} = w_c \left(1 - \frac{2\,\mathrm{tp}_{n,c} + s_{nr}}
              {\sum_i p_{n,c,i}^k + \sum_i g_{n,c,i}^k + s_{dr}}\right),
              \qquad \mathrm{tp}_{n,c} = \sum_i p_{n,c,i}\, g_{n,c,i}

    with :math:`p` the predicted probabilities, :math:`g` the one-hot (or soft) targets,
    :math:`i` over the spatial positions (and the batch with ``batch=True``), :math:`k = 2`
    with ``squared=True`` and 1 otherwise.

    Parameters
    ----------
    input : array, shape (N, C, *spatial)
        Scores (``from_logits=True``) or probabilities, real floating. ``C == 1`` in
        ``mode="binary"``. Any number of spatial dimensions, none included.
    target : array
        ``mode="multiclass"``: class indices of shape (N, *spatial), any integer dtype, or
        one-hot/soft labels of the input's shape. ``"multilabel"``: the input's shape.
        ``"binary"``: the input's shape or (N, *spatial).
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns the losses of shape (N, C') (``batch=False``) or (C',)
        (``batch=True``), C' the number of classes kept (C, or C - 1 without background).
    mode : {"multiclass", "multilabel", "binary"}
        How ``target`` is read and which activation ``from_logits`` applies.
    from_logits : bool
        Apply a softmax over the classes (multiclass) or a sigmoid (binary, multilabel) to
        ``input`` first, with the stable kernels of ``arrayloss._lib``.
    include_background : bool
        ``False`` drops class 0 from the statistics (ignored when ``C == 1``).
    squared : bool
        Square the predictions and targets in the denominator (V-Net, Milletari 2016).
    smooth_nr, smooth_dr : float
        Added to the numerator and the denominator of each ratio (MONAI's defaults).
    batch : bool
        Sum the statistics over the whole batch before the ratio, instead of per sample.
    weight : array, shape (C,), optional
        Per-class weight, for all C classes (the background entry is dropped with
        ``include_background=False``). The losses are multiplied by it before the
        reduction, and ``mean`` stays the plain mean over (sample, class) (MONAI).
    soft_label : bool
        Use the soft-label form ``tp = (|p| + |g| - |p - g|) / 2`` (Wang et al. 2023), equal
        to ``sum(p g)`` for hard labels and correct for soft ones.
    ignore_index : int, optional
        Target value excluded from every sum: a pixel whose index target equals it, or an
        element of a dense target equal to it.
    axis : int
        The class axis of ``input`` (and of a dense ``target``).
    xp : namespace, optional
        Array namespace of the arguments, to skip inspecting them.

    Returns
    -------
    array
        0-d for ``"mean"``/``"sum"``, (N, C') or (C',) for ``"none"``, in the input's dtype.

    Notes
    -----
    A class absent from both prediction and target has the finite loss
    :math:`1 - s_{nr}/(\sum_i p + s_{dr})` (0 for a perfect prediction); with
    ``smooth_dr=0`` and both volumes exactly 0 the loss is defined as 0 and its gradient is
    finite, never NaN.

    MONAI equivalent: ``monai.losses.DiceLoss(include_background=, to_onehot_y=True for an
    index target, softmax=True`` (multiclass, ``from_logits``) or ``sigmoid=True``
    (binary/multilabel), ``squared_pred=squared, smooth_nr=, smooth_dr=, batch=, weight=``
    (``weight[1:]`` without background), ``soft_label=, ignore_index=, reduction=)``; MONAI
    takes index targets as (N, 1, *spatial) and returns ``"none"`` as (N, C', 1, ...).
    MONAI ignores ``weight`` for a single channel; here it scales the loss.

    References
    ----------
    Milletari, Navab & Ahmadi, "V-Net: Fully convolutional neural networks for volumetric
    medical image segmentation", 3DV 2016. Wang, Popordanoska, Bertels, Lemmens &
    Blaschko, "Dice semimetric losses: optimizing the Dice score with soft labels",
    MICCAI 2023.

    Examples
    --------
    >>> import numpy as np, arrayloss
    >>> logits = np.array([[[2.0, -1.0, 0.5], [-1.0, 2.0, 0.5]]])   # (N=1, C=2, 3 pixels)
    >>> labels = np.array([[0, 1, 1]])
    >>> print(np.round(arrayloss.dice_loss(logits, labels), 6))
    0.203948
    >>> print(np.round(arrayloss.dice_loss(logits, labels, reduction="none"), 6))
    [[0.23794  0.169957]]
    """
    name = "dice_loss"
    nr, dr = _check_smooth(name, smooth_nr, smooth_dr)
    xp, out, tp, sp, sg, weight = _overlap(
        name,
        input,
        target,
        weight,
        reduction=reduction,
        mode=mode,
        from_logits=from_logits,
        include_background=include_background,
        squared=squared,
        batch=batch,
        soft_label=soft_label,
        ignore_index=ignore_index,
        axis=axis,
        xp=xp,
    )
    loss = 1 - _safe_ratio(2 * tp + nr, sp + sg + dr, xp)
    return _finish_overlap(loss, weight, reduction, out, xp)


@register(_FAMILY, class_name="JaccardLoss", monai="monai.losses.DiceLoss(jaccard=True)")
def jaccard_loss(
    input: Any,
    target: Any,
    /,
    *,
    reduction: str = "mean",
    mode: str = "multiclass",
    from_logits: bool = True,
    include_background: bool = True,
    squared: bool = False,
    smooth_nr: float = 1e-5,
    smooth_dr: float = 1e-5,
    batch: bool = False,
    weight: Any = None,
    soft_label: bool = False,
    ignore_index: int | None = None,
    axis: int = 1,
    xp: Any = None,
) -> Any:
    r"""Soft Jaccard (intersection-over-union) loss per class.

    .. math:: \ell_{n,c} = w_c \left(1 - \frac{2\,\mathrm{tp}_{n,c} + s_{nr}}
              {2\left(\sum_i p_{n,c,i}^k + \sum_i g_{n,c,i}^k - \mathrm{tp}_{n,c}\right)
              + s_{dr}}\right)

    the soft IoU :math:`\mathrm{tp} / (|p| + |g| - \mathrm{tp})` with MONAI's smoothing
    (numerator and denominator doubled, then smoothed), notation as in :func:`dice_loss`.

    Parameters
    ----------
    input : array, shape (N, C, *spatial)
        Scores (``from_logits=True``) or probabilities, real floating. ``C == 1`` in
        ``mode="binary"``. Any number of spatial dimensions, none included.
    target : array
        ``mode="multiclass"``: class indices of shape (N, *spatial), any integer dtype, or
        one-hot/soft labels of the input's shape. ``"multilabel"``: the input's shape.
        ``"binary"``: the input's shape or (N, *spatial).
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns the losses of shape (N, C') (``batch=False``) or (C',)
        (``batch=True``), C' the number of classes kept (C, or C - 1 without background).
    mode : {"multiclass", "multilabel", "binary"}
        How ``target`` is read and which activation ``from_logits`` applies.
    from_logits : bool
        Apply a softmax over the classes (multiclass) or a sigmoid (binary, multilabel) to
        ``input`` first, with the stable kernels of ``arrayloss._lib``.
    include_background : bool
        ``False`` drops class 0 from the statistics (ignored when ``C == 1``).
    squared : bool
        Square the predictions and targets in the denominator (V-Net, Milletari 2016).
    smooth_nr, smooth_dr : float
        Added to the numerator and the denominator of each ratio (MONAI's defaults).
    batch : bool
        Sum the statistics over the whole batch before the ratio, instead of per sample.
    weight : array, shape (C,), optional
        Per-class weight, for all C classes (the background entry is dropped with
        ``include_background=False``). The losses are multiplied by it before the
        reduction, and ``mean`` stays the plain mean over (sample, class) (MONAI).
    soft_label : bool
        Use the soft-label form ``tp = (|p| + |g| - |p - g|) / 2`` (Wang et al. 2023), equal
        to ``sum(p g)`` for hard labels and correct for soft ones.
    ignore_index : int, optional
        Target value excluded from every sum: a pixel whose index target equals it, or an
        element of a dense target equal to it.
    axis : int
        The class axis of ``input`` (and of a dense ``target``).
    xp : namespace, optional
        Array namespace of the arguments, to skip inspecting them.

    Returns
    -------
    array
        0-d for ``"mean"``/``"sum"``, (N, C') or (C',) for ``"none"``, in the input's dtype.

    Notes
    -----
    Empty classes are finite exactly as in :func:`dice_loss`.

    MONAI equivalent: ``monai.losses.DiceLoss(jaccard=True, ...)`` with the option mapping
    of :func:`dice_loss`.

    References
    ----------
    Rahman & Wang, "Optimizing intersection-over-union in deep neural networks for image
    segmentation", ISVC 2016. Wang et al., "Jaccard metric losses: optimizing the Jaccard
    index with soft labels", NeurIPS 2023.

    Examples
    --------
    >>> import numpy as np, arrayloss
    >>> probs = np.array([[[0.9, 0.2, 0.6]]])                       # (N=1, C=1, 3 pixels)
    >>> mask = np.array([[[1.0, 0.0, 1.0]]])
    >>> print(np.round(arrayloss.jaccard_loss(probs, mask, mode="binary",
    ...                                       from_logits=False), 6))
    0.318181
    """
    name = "jaccard_loss"
    nr, dr = _check_smooth(name, smooth_nr, smooth_dr)
    xp, out, tp, sp, sg, weight = _overlap(
        name,
        input,
        target,
        weight,
        reduction=reduction,
        mode=mode,
        from_logits=from_logits,
        include_background=include_background,
        squared=squared,
        batch=batch,
        soft_label=soft_label,
        ignore_index=ignore_index,
        axis=axis,
        xp=xp,
    )
    loss = 1 - _safe_ratio(2 * tp + nr, 2 * (sp + sg - tp) + dr, xp)
    return _finish_overlap(loss, weight, reduction, out, xp)


def _tversky_index(
    name: str,
    input: Any,
    target: Any,
    weight: Any,
    *,
    alpha: float,
    beta: float,
    smooth_nr: float,
    smooth_dr: float,
    **kw: Any,
) -> tuple[Any, Any, Any, Any]:
    nr, dr = _check_smooth(name, smooth_nr, smooth_dr)
    a = check_real_scalar(name, "alpha", alpha)
    b = check_real_scalar(name, "beta", beta)
    check_option(name, "alpha", alpha, a >= 0, "non-negative")
    check_option(name, "beta", beta, b >= 0, "non-negative")
    xp, out, tp, sp, sg, weight = _overlap(name, input, target, weight, **kw)
    fp, fn = sp - tp, sg - tp
    return xp, out, _safe_ratio(tp + nr, tp + a * fp + b * fn + dr, xp), weight


@register(_FAMILY, class_name="TverskyLoss", monai="monai.losses.TverskyLoss")
def tversky_loss(
    input: Any,
    target: Any,
    /,
    *,
    reduction: str = "mean",
    alpha: float = 0.5,
    beta: float = 0.5,
    mode: str = "multiclass",
    from_logits: bool = True,
    include_background: bool = True,
    squared: bool = False,
    smooth_nr: float = 1e-5,
    smooth_dr: float = 1e-5,
    batch: bool = False,
    weight: Any = None,
    soft_label: bool = False,
    ignore_index: int | None = None,
    axis: int = 1,
    xp: Any = None,
) -> Any:
    r"""Tversky loss: a Dice loss that weighs false positives and false negatives apart.

    .. math:: \ell_{n,c} = w_c \left(1 - \frac{\mathrm{tp} + s_{nr}}
              {\mathrm{tp} + \alpha\,\mathrm{fp} + \beta\,\mathrm{fn} + s_{dr}}\right),
              \quad \mathrm{fp} = \sum_i p^k - \mathrm{tp},\ \mathrm{fn} = \sum_i g^k - \mathrm{tp}

    per (sample, class), notation as in :func:`dice_loss`. ``alpha = beta = 0.5`` is the
    Dice loss (up to smoothing), ``alpha = beta = 1`` the Jaccard loss.

    Parameters
    ----------
    input : array, shape (N, C, *spatial)
        Scores (``from_logits=True``) or probabilities, real floating. ``C == 1`` in
        ``mode="binary"``. Any number of spatial dimensions, none included.
    target : array
        ``mode="multiclass"``: class indices of shape (N, *spatial), any integer dtype, or
        one-hot/soft labels of the input's shape. ``"multilabel"``: the input's shape.
        ``"binary"``: the input's shape or (N, *spatial).
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns the losses of shape (N, C') (``batch=False``) or (C',)
        (``batch=True``), C' the number of classes kept (C, or C - 1 without background).
    mode : {"multiclass", "multilabel", "binary"}
        How ``target`` is read and which activation ``from_logits`` applies.
    from_logits : bool
        Apply a softmax over the classes (multiclass) or a sigmoid (binary, multilabel) to
        ``input`` first, with the stable kernels of ``arrayloss._lib``.
    include_background : bool
        ``False`` drops class 0 from the statistics (ignored when ``C == 1``).
    squared : bool
        Square the predictions and targets in the denominator (V-Net, Milletari 2016).
    smooth_nr, smooth_dr : float
        Added to the numerator and the denominator of each ratio (MONAI's defaults).
    batch : bool
        Sum the statistics over the whole batch before the ratio, instead of per sample.
    weight : array, shape (C,), optional
        Per-class weight, for all C classes (the background entry is dropped with
        ``include_background=False``). The losses are multiplied by it before the
        reduction, and ``mean`` stays the plain mean over (sample, class) (MONAI).
    soft_label : bool
        Use the soft-label form ``tp = (|p| + |g| - |p - g|) / 2`` (Wang et al. 2023), equal
        to ``sum(p g)`` for hard labels and correct for soft ones.
    ignore_index : int, optional
        Target value excluded from every sum: a pixel whose index target equals it, or an
        element of a dense target equal to it.
    axis : int
        The class axis of ``input`` (and of a dense ``target``).
    xp : namespace, optional
        Array namespace of the arguments, to skip inspecting them.
    alpha : float
        Weight of the false positives (non-negative).
    beta : float
        Weight of the false negatives (non-negative); ``beta > alpha`` favours recall.

    Returns
    -------
    array
        0-d for ``"mean"``/``"sum"``, (N, C') or (C',) for ``"none"``, in the input's dtype.

    Notes
    -----
    Empty classes are finite as in :func:`dice_loss`.

    MONAI equivalent: ``monai.losses.TverskyLoss(alpha=, beta=, include_background=,
    to_onehot_y=True`` for an index target, ``softmax=``/``sigmoid=`` as in
    :func:`dice_loss`, ``smooth_nr=, smooth_dr=, batch=, soft_label=, ignore_index=,
    reduction=)``. MONAI has no ``squared`` nor ``weight`` for this loss.

    References
    ----------
    Salehi, Erdogmus & Gholipour, "Tversky loss function for image segmentation using 3D
    fully convolutional deep networks", MLMI 2017.

    Examples
    --------
    >>> import numpy as np, arrayloss
    >>> probs = np.array([[[0.9, 0.2, 0.6]]])
    >>> mask = np.array([[[1.0, 0.0, 1.0]]])
    >>> print(np.round(arrayloss.tversky_loss(probs, mask, mode="binary", from_logits=False,
    ...                                       alpha=0.3, beta=0.7), 6))
    0.214659
    """
    name = "tversky_loss"
    xp, out, ti, weight = _tversky_index(
        name,
        input,
        target,
        weight,
        alpha=alpha,
        beta=beta,
        smooth_nr=smooth_nr,
        smooth_dr=smooth_dr,
        reduction=reduction,
        mode=mode,
        from_logits=from_logits,
        include_background=include_background,
        squared=squared,
        batch=batch,
        soft_label=soft_label,
        ignore_index=ignore_index,
        axis=axis,
        xp=xp,
    )
    return _finish_overlap(1 - ti, weight, reduction, out, xp)


@register(_FAMILY, class_name="FocalTverskyLoss")
def focal_tversky_loss(
    input: Any,
    target: Any,
    /,
    *,
    reduction: str = "mean",
    alpha: float = 0.3,
    beta: float = 0.7,
    gamma: float = 0.75,
    mode: str = "multiclass",
    from_logits: bool = True,
    include_background: bool = True,
    squared: bool = False,
    smooth_nr: float = 1e-5,
    smooth_dr: float = 1e-5,
    batch: bool = False,
    weight: Any = None,
    soft_label: bool = False,
    ignore_index: int | None = None,
    axis: int = 1,
    xp: Any = None,
) -> Any:
    r"""Focal Tversky loss: the Tversky loss raised to the power ``gamma``.

    .. math:: \ell_{n,c} = w_c \left(1 - \mathrm{TI}_{n,c}\right)^{\gamma}

    with :math:`\mathrm{TI}` the Tversky index of :func:`tversky_loss`. Abraham & Khan write
    the exponent as :math:`1/\gamma'` with :math:`\gamma' = 4/3`, hence ``gamma=0.75``;
    ``gamma < 1`` raises the loss (and gradient) of classes that are already well
    segmented less than of the poorly segmented ones.

    Parameters
    ----------
    input : array, shape (N, C, *spatial)
        Scores (``from_logits=True``) or probabilities, real floating. ``C == 1`` in
        ``mode="binary"``. Any number of spatial dimensions, none included.
    target : array
        ``mode="multiclass"``: class indices of shape (N, *spatial), any integer dtype, or
        one-hot/soft labels of the input's shape. ``"multilabel"``: the input's shape.
        ``"binary"``: the input's shape or (N, *spatial).
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns the losses of shape (N, C') (``batch=False``) or (C',)
        (``batch=True``), C' the number of classes kept (C, or C - 1 without background).
    mode : {"multiclass", "multilabel", "binary"}
        How ``target`` is read and which activation ``from_logits`` applies.
    from_logits : bool
        Apply a softmax over the classes (multiclass) or a sigmoid (binary, multilabel) to
        ``input`` first, with the stable kernels of ``arrayloss._lib``.
    include_background : bool
        ``False`` drops class 0 from the statistics (ignored when ``C == 1``).
    squared : bool
        Square the predictions and targets in the denominator (V-Net, Milletari 2016).
    smooth_nr, smooth_dr : float
        Added to the numerator and the denominator of each ratio (MONAI's defaults).
    batch : bool
        Sum the statistics over the whole batch before the ratio, instead of per sample.
    weight : array, shape (C,), optional
        Per-class weight, for all C classes (the background entry is dropped with
        ``include_background=False``). The losses are multiplied by it before the
        reduction, and ``mean`` stays the plain mean over (sample, class) (MONAI).
    soft_label : bool
        Use the soft-label form ``tp = (|p| + |g| - |p - g|) / 2`` (Wang et al. 2023), equal
        to ``sum(p g)`` for hard labels and correct for soft ones.
    ignore_index : int, optional
        Target value excluded from every sum: a pixel whose index target equals it, or an
        element of a dense target equal to it.
    axis : int
        The class axis of ``input`` (and of a dense ``target``).
    xp : namespace, optional
        Array namespace of the arguments, to skip inspecting them.
    alpha, beta : float
        Weights of the false positives and negatives (defaults 0.3 / 0.7 from the paper).
    gamma : float
        Positive exponent; ``gamma=1`` is :func:`tversky_loss`.

    Returns
    -------
    array
        0-d for ``"mean"``/``"sum"``, (N, C') or (C',) for ``"none"``, in the input's dtype.

    Notes
    -----
    :math:`x^\gamma` has an infinite derivative at 0 for ``gamma < 1``: where
    :math:`1 - \mathrm{TI} = 0` (a perfect prediction) the loss is 0 with a 0 gradient, never
    NaN. Rounding can make :math:`1 - \mathrm{TI}` a hair below 0 with soft labels; it is
    clamped at 0. No MONAI peer; segmentation_models_pytorch's ``TverskyLoss(gamma=)``
    computes the same power of the (per-class) Tversky loss.

    References
    ----------
    Abraham & Khan, "A novel focal Tversky loss function with improved attention U-Net for
    lesion segmentation", ISBI 2019.

    Examples
    --------
    >>> import numpy as np, arrayloss
    >>> probs = np.array([[[0.9, 0.2, 0.6]]])
    >>> mask = np.array([[[1.0, 0.0, 1.0]]])
    >>> print(np.round(arrayloss.focal_tversky_loss(probs, mask, mode="binary",
    ...                                             from_logits=False), 6))
    0.315363
    """
    name = "focal_tversky_loss"
    g = check_real_scalar(name, "gamma", gamma)
    check_option(name, "gamma", gamma, g > 0, "positive")
    xp, out, ti, weight = _tversky_index(
        name,
        input,
        target,
        weight,
        alpha=alpha,
        beta=beta,
        smooth_nr=smooth_nr,
        smooth_dr=smooth_dr,
        reduction=reduction,
        mode=mode,
        from_logits=from_logits,
        include_background=include_background,
        squared=squared,
        batch=batch,
        soft_label=soft_label,
        ignore_index=ignore_index,
        axis=axis,
        xp=xp,
    )
    base = xp.maximum(1 - ti, xp.zeros_like(ti))
    # d/dx x^gamma = inf at x = 0 for gamma < 1: raise a stand-in 1 there, so the loss is 0
    # with a zero gradient instead of 0 * inf = nan.
    # ``base == 0`` (not ``base > 0``): a NaN base must propagate, not become 0.
    zero = base == 0
    loss = xp.where(zero, xp.zeros_like(base), xp.where(zero, xp.ones_like(base), base) ** g)
    return _finish_overlap(loss, weight, reduction, out, xp)


@register(_FAMILY, class_name="GeneralizedDiceLoss", monai="monai.losses.GeneralizedDiceLoss")
def generalized_dice_loss(
    input: Any,
    target: Any,
    /,
    *,
    reduction: str = "mean",
    weight_type: str = "square",
    mode: str = "multiclass",
    from_logits: bool = True,
    include_background: bool = True,
    smooth_nr: float = 1e-5,
    smooth_dr: float = 1e-5,
    batch: bool = False,
    soft_label: bool = False,
    ignore_index: int | None = None,
    axis: int = 1,
    xp: Any = None,
) -> Any:
    r"""Generalized Dice loss: one Dice ratio over all classes, each class weighted by the
    inverse of its target volume.

    .. math:: \ell_n = 1 - \frac{2 \sum_c w_{n,c}\, \mathrm{tp}_{n,c} + s_{nr}}
              {\sum_c w_{n,c} \left(\sum_i p_{n,c,i} + \sum_i g_{n,c,i}\right) + s_{dr}},
              \qquad w_{n,c} = \Big(\sum_i g_{n,c,i}\Big)^{-2}\ \text{(square)},\
              ^{-1}\ \text{(simple)},\ 1\ \text{(uniform)}

    A class with an empty target would get an infinite weight; as in MONAI (and NiftyNet)
    it gets the largest finite weight of the sample (of the batch with ``batch=True``)
    instead, and 0 when every class of the sample is empty (then the loss is
    :math:`1 - s_{nr}/s_{dr}`, 0 with the default smoothing).

    Parameters
    ----------
    input : array, shape (N, C, *spatial)
        Scores (``from_logits=True``) or probabilities, real floating. ``C == 1`` in
        ``mode="binary"``. Any number of spatial dimensions, none included.
    target : array
        ``mode="multiclass"``: class indices of shape (N, *spatial), any integer dtype, or
        one-hot/soft labels of the input's shape. ``"multilabel"``: the input's shape.
        ``"binary"``: the input's shape or (N, *spatial).
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns one loss per sample, shape (N,) (``batch=False``), or the single
        batch loss as a 0-d array (``batch=True``).
    mode : {"multiclass", "multilabel", "binary"}
        How ``target`` is read and which activation ``from_logits`` applies.
    from_logits : bool
        Apply a softmax over the classes (multiclass) or a sigmoid (binary, multilabel) to
        ``input`` first, with the stable kernels of ``arrayloss._lib``.
    include_background : bool
        ``False`` drops class 0 from the statistics (ignored when ``C == 1``).
    smooth_nr, smooth_dr : float
        Added to the numerator and the denominator of each ratio (MONAI's defaults).
    batch : bool
        Sum the statistics over the whole batch before the ratio, instead of per sample.
    soft_label : bool
        Use the soft-label form ``tp = (|p| + |g| - |p - g|) / 2`` (Wang et al. 2023), equal
        to ``sum(p g)`` for hard labels and correct for soft ones.
    ignore_index : int, optional
        Target value excluded from every sum: a pixel whose index target equals it, or an
        element of a dense target equal to it.
    axis : int
        The class axis of ``input`` (and of a dense ``target``).
    xp : namespace, optional
        Array namespace of the arguments, to skip inspecting them.
    weight_type : {"square", "simple", "uniform"}
        The class weight as a function of the target volume.

    Returns
    -------
    array
        0-d for ``"mean"``/``"sum"``; for ``"none"`` shape (N,), or 0-d with ``batch=True``.

    Notes
    -----
    This loss has no ``squared``, ``weight`` option (its class weights are the volumes). The
    weights are functions of the target only and carry no gradient.

    MONAI equivalent: ``monai.losses.GeneralizedDiceLoss(w_type=weight_type,
    include_background=, to_onehot_y=True`` for an index target, ``softmax=``/``sigmoid=``
    as in :func:`dice_loss`, ``smooth_nr=, smooth_dr=, batch=, soft_label=, reduction=)``.
    MONAI computes the weights in float32; here they are in the input's precision. MONAI
    has no ``ignore_index`` for this loss.

    References
    ----------
    Sudre, Li, Vercauteren, Ourselin & Cardoso, "Generalised Dice overlap as a deep learning
    loss function for highly unbalanced segmentations", DLMIA 2017.

    Examples
    --------
    >>> import numpy as np, arrayloss
    >>> logits = np.array([[[2.0, -1.0, 0.5], [-1.0, 2.0, 0.5]]])
    >>> labels = np.array([[0, 1, 1]])
    >>> print(np.round(arrayloss.generalized_dice_loss(logits, labels), 6))
    0.220315
    """
    name = "generalized_dice_loss"
    check_option(
        name,
        "weight_type",
        weight_type,
        weight_type in _WEIGHT_TYPES,
        "'square', 'simple' or 'uniform'",
    )
    nr, dr = _check_smooth(name, smooth_nr, smooth_dr)
    xp, out, tp, sp, sg, _ = _overlap(
        name,
        input,
        target,
        None,
        reduction=reduction,
        mode=mode,
        from_logits=from_logits,
        include_background=include_background,
        squared=False,
        batch=batch,
        soft_label=soft_label,
        ignore_index=ignore_index,
        axis=axis,
        xp=xp,
    )
    sg = stop_gradient(sg, xp=xp)
    present = sg > 0
    safe = xp.where(present, sg, xp.ones_like(sg))
    if weight_type == "square":
        w = 1 / (safe * safe)
    elif weight_type == "simple":
        w = 1 / safe
    else:
        w = xp.ones_like(safe)
    w = xp.where(present, w, xp.zeros_like(w))
    # Empty classes take the largest finite weight (of the sample, or of the batch).
    w_max = xp.max(w, axis=-1, keepdims=True)
    w = xp.where(present, w, w_max)
    numer = 2 * xp.sum(tp * w, axis=-1) + nr
    denom = xp.sum((sp + sg) * w, axis=-1) + dr
    loss = 1 - _safe_ratio(numer, denom, xp)
    return _finish_overlap(loss, None, reduction, out, xp)


# ---------------------------------------------------------------------------------------------
# Lovász losses (Berman, Rannen Triki & Blaschko 2018)
# ---------------------------------------------------------------------------------------------


def _gather_last(x: Any, idx: Any, xp: Any) -> Any:
    """``x[..., idx]`` row by row (a full permutation along the last axis)."""
    if hasattr(xp, "take_along_axis"):
        return take_along_axis(x, idx, axis=-1, xp=xp)
    # Libraries without take_along_axis (dask): one flat take with row offsets.
    rows = math.prod(x.shape[:-1])
    length = x.shape[-1]
    offsets = xp.reshape(xp.arange(rows, dtype=idx.dtype) * length, (*x.shape[:-1], 1))
    flat = xp.take(xp.reshape(x, (-1,)), xp.reshape(idx + offsets, (-1,)), axis=0)
    return xp.reshape(flat, x.shape)


def _lovasz_weights(gt_sorted: Any, valid_sorted: Any, xp: Any) -> Any:
    """Gradient of the Lovász extension of the Jaccard loss w.r.t. the sorted errors
    (Berman et al. 2018, Alg. 1): the increments of 1 - IoU along the sorted errors.

    Ignored positions (``valid_sorted == 0``, with ``gt_sorted == 0``) change neither
    cumulative sum, so their increment is 0 wherever they sit in the order."""
    gts = xp.sum(gt_sorted, axis=-1, keepdims=True)
    intersection = gts - xp.cumulative_sum(gt_sorted, axis=-1)
    union = gts + xp.cumulative_sum((1 - gt_sorted) * valid_sorted, axis=-1)
    # union >= 1 except at leading ignored positions of a row without foreground.
    ok = union > 0
    jaccard = xp.where(
        ok, 1 - intersection / xp.where(ok, union, xp.ones_like(union)), xp.zeros_like(union)
    )
    return xp.concat([jaccard[..., :1], jaccard[..., 1:] - jaccard[..., :-1]], axis=-1)


def _check_binary_labels(name: str, target: Any, ignore_index: int | None, xp: Any) -> None:
    """Binary labels must be 0 or 1 (or ``ignore_index``): checked on concrete arrays only
    (never under tracing or on lazy Dask), as every value check."""
    if xp.isdtype(target.dtype, "bool") or not is_concrete(target, xp):
        return
    if math.prod(target.shape) == 0:
        return
    ok = (target == 0) | (target == 1)
    if ignore_index is not None:
        ok = ok | (target == ignore_index)
    all_ok = xp.all(ok)
    if not is_concrete(all_ok, xp) or bool(all_ok):
        return
    bad = xp.where(ok, xp.zeros_like(target), target)
    lo, hi = float(xp.min(bad)), float(xp.max(bad))
    extra = f" or equal to ignore_index={ignore_index}" if ignore_index is not None else ""
    raise ValueError(
        f"{name}: `target` holds binary labels that must be 0 or 1{extra}, found "
        f"{lo if lo < 0 else hi}"
    )


def _lovasz_reduce(loss: Any, reduction: str, per_image: bool, out: Any, xp: Any) -> Any:
    if not per_image:
        return finish(xp.reshape(loss, ()), out, xp)
    if reduction == "mean":
        loss = xp.mean(loss)
    elif reduction == "sum":
        loss = xp.sum(loss)
    return finish(loss, out, xp)


@register(_FAMILY, class_name="LovaszHingeLoss")
def lovasz_hinge_loss(
    input: Any,
    target: Any,
    /,
    *,
    reduction: str = "mean",
    per_image: bool = False,
    ignore_index: int | None = None,
    xp: Any = None,
) -> Any:
    r"""Lovász hinge loss: the Lovász extension of the binary Jaccard loss applied to hinge
    errors of the logits.

    .. math:: \ell = \sum_{k=1}^{P} \max(e_{\pi(k)}, 0)\, \big(\Delta(k) - \Delta(k-1)\big),
              \qquad e_i = 1 - x_i s_i,\ s_i = 2 y_i - 1

    with :math:`\pi` the order of decreasing errors and :math:`\Delta(k)` the Jaccard loss
    :math:`1 - |\mathcal{G} \cap \mathcal{E}_k| / |\mathcal{G} \cup \mathcal{E}_k|` of the
    ground-truth foreground :math:`\mathcal{G}` against the :math:`k` largest errors
    (Berman et al., Alg. 1).

    Parameters
    ----------
    input : array, shape (N, *)
        Logits (real floating), one per pixel; N images of any shape.
    target : array, shape (N, *)
        Binary labels 0/1 (integer or floating), the input's shape.
    reduction : {"mean", "sum", "none"}
        With ``per_image=True``: the mean or sum over images, or (N,) losses for ``"none"``.
        With ``per_image=False`` the batch gives one loss (0-d for every reduction).
    per_image : bool
        One Lovász loss per image (averaged by ``reduction``) instead of one over the batch.
    ignore_index : int, optional
        Pixels whose label equals it are left out of the loss.
    xp : namespace, optional
        Array namespace of the arguments, to skip inspecting them.

    Returns
    -------
    array
        0-d, or (N,) for ``per_image=True, reduction="none"``, in the input's dtype.

    Notes
    -----
    The sort uses the array API (``argsort`` then ``take_along_axis``, ``cumulative_sum``),
    so autodiff differentiates the gathered errors and treats the order as constant: the
    gradient is the Lovász weight of each pixel's rank, as in the reference implementation.
    An image without foreground has a finite loss (the largest positive error), an image
    whose pixels are all ignored has loss 0 and zero gradient. Ignored pixels are sorted
    last and add nothing to either cumulative sum (the reference drops them).
    Reference implementation: ``lovasz_hinge(logits, labels, per_image=, ignore=)`` from
    github.com/bermanmaxim/LovaszSoftmax; segmentation_models_pytorch ``LovaszLoss`` in
    binary mode.

    References
    ----------
    Berman, Rannen Triki & Blaschko, "The Lovász-Softmax loss: a tractable surrogate for
    the optimization of the intersection-over-union measure in neural networks", CVPR 2018.

    Examples
    --------
    >>> import numpy as np, arrayloss
    >>> logits = np.array([[2.0, -1.0, 0.5, -2.0]])
    >>> labels = np.array([[1, 0, 0, 1]])
    >>> print(np.round(arrayloss.lovasz_hinge_loss(logits, labels), 6))
    1.75
    """
    name = "lovasz_hinge_loss"
    xp = namespace_of(name, input=input, target=target, xp=xp)
    check_reduction(name, reduction)
    _check_flags(name, per_image=per_image)
    _check_ignore_index(name, ignore_index)
    if tuple(input.shape) != tuple(target.shape):
        raise ValueError(
            f"{name}: `input` and `target` must have the same shape (N, *), got "
            f"{shape_str(input.shape)} and {shape_str(target.shape)}"
        )
    if input.ndim < 1:
        raise ValueError(f"{name}: `input` must have a batch axis, got a 0-d array")
    _check_binary_labels(name, target, ignore_index, xp)
    valid = None if ignore_index is None else target != ignore_index
    out, work, (input, target) = promote_floating(name, xp, input=input, target=target)
    rows = input.shape[0] if per_image else 1
    x = xp.reshape(input, (rows, -1))
    y = xp.reshape(target, (rows, -1))
    if valid is None:
        v = xp.ones_like(y)
    else:
        v = xp.astype(xp.reshape(valid, (rows, -1)), work)
        y = y * v
    errors = 1 - x * (2 * y - 1)
    # Ignored pixels sort last; the order itself carries no gradient.
    ninf = xp.asarray(-math.inf, dtype=errors.dtype, device=device(errors))  # 0-d: no fill
    key = stop_gradient(xp.where(v > 0, errors, ninf), xp=xp)
    perm = xp.argsort(key, axis=-1, descending=True, stable=True)
    errors_sorted = _gather_last(errors, perm, xp)
    y_sorted = _gather_last(y, perm, xp)
    v_sorted = _gather_last(v, perm, xp)
    w = _lovasz_weights(y_sorted, v_sorted, xp)
    hinge = xp.maximum(errors_sorted, xp.zeros_like(errors_sorted)) * v_sorted
    loss = xp.sum(hinge * w, axis=-1)
    return _lovasz_reduce(loss, reduction, per_image, out, xp)


@register(_FAMILY, class_name="LovaszSoftmaxLoss")
def lovasz_softmax_loss(
    input: Any,
    target: Any,
    /,
    *,
    reduction: str = "mean",
    classes: str | Sequence[int] = "present",
    per_image: bool = False,
    from_logits: bool = True,
    ignore_index: int | None = None,
    axis: int = 1,
    xp: Any = None,
) -> Any:
    r"""Lovász-softmax loss: the Lovász extension of the multiclass Jaccard loss applied to
    the class probabilities, averaged over classes.

    .. math:: \ell = \frac{1}{|\mathcal{C}|} \sum_{c \in \mathcal{C}} \sum_{k=1}^{P}
              m_{c,\pi_c(k)} \big(\Delta_c(k) - \Delta_c(k-1)\big),
              \qquad m_{c,i} = |[y_i = c] - p_{c,i}|

    with :math:`\pi_c` the order of decreasing :math:`m_c` and :math:`\Delta_c(k)` the
    Jaccard loss of class :math:`c` against its :math:`k` largest errors (Berman et al.,
    Alg. 1 and eq. 12).

    Parameters
    ----------
    input : array, shape (N, C, *spatial)
        Scores (``from_logits=True``: softmax over the classes) or probabilities.
    target : array, shape (N, *spatial)
        Class indices, any integer dtype.
    reduction : {"mean", "sum", "none"}
        With ``per_image=True``: the mean or sum over images, or (N,) losses for ``"none"``.
        With ``per_image=False`` the batch gives one loss (0-d for every reduction).
    classes : "present", "all" or sequence of int
        The classes averaged: those present in the target (of the image, or of the batch),
        all C, or the listed ones.
    per_image : bool
        One loss per image instead of one over the batch.
    from_logits : bool
        Apply a (stable) softmax over the classes first.
    ignore_index : int, optional
        Pixels whose label equals it are left out.
    axis : int
        The class axis of ``input``.
    xp : namespace, optional
        Array namespace of the arguments, to skip inspecting them.

    Returns
    -------
    array
        0-d, or (N,) for ``per_image=True, reduction="none"``, in the input's dtype.

    Notes
    -----
    ``classes="present"`` with no class present (every pixel ignored) gives 0 with zero
    gradient, the reference's empty mean. The class selection is a mask, not a
    data-dependent list, so the loss traces under ``jax.jit`` and ``torch.compile``.
    Reference implementation: ``lovasz_softmax(probas, labels, classes=, per_image=,
    ignore=)`` from github.com/bermanmaxim/LovaszSoftmax (it takes probabilities:
    ``from_logits=False``); segmentation_models_pytorch ``LovaszLoss`` in multiclass mode.

    References
    ----------
    Berman, Rannen Triki & Blaschko, "The Lovász-Softmax loss: a tractable surrogate for
    the optimization of the intersection-over-union measure in neural networks", CVPR 2018.

    Examples
    --------
    >>> import numpy as np, arrayloss
    >>> logits = np.array([[[2.0, -1.0, 0.5], [-1.0, 2.0, 0.5]]])   # (N=1, C=2, 3 pixels)
    >>> labels = np.array([[0, 1, 1]])
    >>> print(np.round(arrayloss.lovasz_softmax_loss(logits, labels), 6))
    0.273713
    """
    name = "lovasz_softmax_loss"
    xp = namespace_of(name, input=input, target=target, xp=xp)
    check_reduction(name, reduction)
    _check_flags(name, per_image=per_image, from_logits=from_logits)
    _check_ignore_index(name, ignore_index)
    ax = _class_axis(name, input, axis)
    num_classes = input.shape[ax]
    in_shape = tuple(input.shape)
    no_class_shape = in_shape[:ax] + in_shape[ax + 1 :]
    if tuple(target.shape) != no_class_shape:
        raise ValueError(
            f"{name}: `target` must hold class indices of shape {shape_str(no_class_shape)} "
            f"(the input's shape without the class axis), got {shape_str(target.shape)}"
        )
    selected = _class_selection(name, classes, num_classes)
    check_index_target(name, "target", target, xp)
    check_labels_in_range(name, "target", target, num_classes, xp, ignore_index=ignore_index)
    out, work, (input,) = promote_floating(name, xp, input=input)
    input = _to_channels_first(input, ax, xp)
    probs = softmax(input, axis=1, xp=xp) if from_logits else input
    n = probs.shape[0]
    s = math.prod(probs.shape[2:])
    probs = xp.reshape(probs, (n, num_classes, s))
    labels = xp.reshape(target, (n, s))
    if not per_image:  # one row over the whole batch: (1, C, N * S)
        probs = xp.reshape(xp.permute_dims(probs, (1, 0, 2)), (1, num_classes, n * s))
        labels = xp.reshape(labels, (1, n * s))
    if ignore_index is None:
        valid = xp.ones_like(labels, dtype=work)
    else:
        valid = xp.astype(labels != ignore_index, work)
        labels = xp.where(labels != ignore_index, labels, xp.zeros_like(labels))
    valid = xp.expand_dims(valid, axis=1)
    fg = one_hot(labels, num_classes, dtype=work, axis=1, xp=xp) * valid
    errors = xp.abs(fg - probs) * valid
    # Errors lie in [0, 1]: ignored pixels (key -1) sort last. The order has no gradient.
    key = stop_gradient(xp.where(valid > 0, errors, -xp.ones_like(errors)), xp=xp)
    perm = xp.argsort(key, axis=-1, descending=True, stable=True)
    errors_sorted = _gather_last(errors, perm, xp)
    fg_sorted = _gather_last(fg, perm, xp)
    valid_sorted = _gather_last(xp.broadcast_to(valid, fg.shape), perm, xp)
    per_class = xp.sum(errors_sorted * _lovasz_weights(fg_sorted, valid_sorted, xp), axis=-1)
    if selected is None:  # "present": classes with foreground in the row
        use = xp.astype(xp.sum(fg, axis=-1) > 0, work)
    else:
        use = xp.reshape(
            xp.asarray(selected, dtype=work, device=device(per_class)), (1, num_classes)
        )
    count = xp.sum(use * xp.ones_like(per_class), axis=-1)
    total = xp.sum(per_class * use, axis=-1)
    loss = _safe_ratio(total, count, xp) * xp.astype(count > 0, work)
    return _lovasz_reduce(loss, reduction, per_image, out, xp)


def _class_selection(name: str, classes: Any, num_classes: int) -> list[float] | None:
    """None for "present", else a 0/1 list over the C classes."""
    if isinstance(classes, str):
        check_option(
            name,
            "classes",
            classes,
            classes in ("present", "all"),
            "'present', 'all' or a sequence of class indices",
        )
        return None if classes == "present" else [1.0] * num_classes
    try:
        chosen = [int(c) for c in classes]
    except (TypeError, ValueError):
        raise TypeError(
            f"{name}: `classes` must be 'present', 'all' or a sequence of class indices, got "
            f"{classes!r}"
        ) from None
    bad = [c for c in chosen if not 0 <= c < num_classes]
    check_option(
        name,
        "classes",
        classes,
        bool(chosen) and not bad,
        f"a non-empty sequence of class indices in [0, {num_classes - 1}]",
    )
    return [1.0 if c in chosen else 0.0 for c in range(num_classes)]


# ---------------------------------------------------------------------------------------------
# Combinations (MONAI's DiceCELoss and DiceFocalLoss), built from the parts above
# ---------------------------------------------------------------------------------------------


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
    nr, dr = _check_smooth(name, smooth_nr, smooth_dr)
    _check_flags(name, jaccard=jaccard)
    xp, out, tp, sp, sg, weight = _overlap(
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
    loss = 1 - _safe_ratio(2 * tp + nr, union + dr, xp)
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


def _reduce_pairs(loss: Any, reduction: str, xp: Any) -> Any:
    return xp.mean(loss) if reduction == "mean" else xp.sum(loss)


@register(_FAMILY, class_name="DiceFocalLoss", monai="monai.losses.DiceFocalLoss")
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
    xp : namespace, optional
        Array namespace of the arguments, to skip inspecting them.

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
    _, x, g, w, _ = _probabilities_and_targets(
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
    total = lambda_dice * _reduce_pairs(dice, reduction, xp) + lambda_focal * _reduce_pairs(
        focal, reduction, xp
    )
    return finish(total, out, xp)


@register(_FAMILY, class_name="DiceCELoss", monai="monai.losses.DiceCELoss")
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
    xp : namespace, optional
        Array namespace of the arguments, to skip inspecting them.

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
    from ..classification import cross_entropy

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
        _, x, g, w, _ = _probabilities_and_targets(
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
        ce = xp.mean(bce) if reduction == "mean" else xp.sum(bce)
    total = lambda_dice * _reduce_pairs(dice, reduction, xp) + lambda_ce * ce
    return finish(total, out, xp)
