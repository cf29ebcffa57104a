"""Overlap losses: Dice, Jaccard, Tversky, focal Tversky and generalized Dice.

Each is a ratio of the per-class statistics of ``_common.overlap`` (true positives,
prediction and target volumes); their shared parameters are documented once, in
``_common.DOCS``.
"""

from __future__ import annotations

from typing import Any

from .._lib import check_option, check_real_scalar, register
from .._lib._primitives import stop_gradient
from ._common import FAMILY as _FAMILY
from ._common import check_smooth, fill_doc, finish_overlap, overlap, safe_ratio

__all__ = [
    "dice_loss",
    "focal_tversky_loss",
    "generalized_dice_loss",
    "jaccard_loss",
    "tversky_loss",
]

_WEIGHT_TYPES = ("square", "simple", "uniform")


@register(_FAMILY, class_name="DiceLoss", monai="monai.losses.DiceLoss", sample="seg_logits_index")
@fill_doc
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
    {overlap_params}

    Returns
    -------
    {overlap_returns}

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

    {unchecked_weight}

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
    nr, dr = check_smooth(name, smooth_nr, smooth_dr)
    xp, out, tp, sp, sg, weight = overlap(
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
    loss = 1 - safe_ratio(2 * tp + nr, sp + sg + dr, xp)
    return finish_overlap(loss, weight, reduction, out, xp)


@register(
    _FAMILY,
    class_name="JaccardLoss",
    monai="monai.losses.DiceLoss(jaccard=True)",
    sample="seg_logits_index",
)
@fill_doc
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
    {overlap_params}

    Returns
    -------
    {overlap_returns}

    Notes
    -----
    Empty classes are finite exactly as in :func:`dice_loss`.

    MONAI equivalent: ``monai.losses.DiceLoss(jaccard=True, ...)`` with the option mapping
    of :func:`dice_loss`.

    {unchecked_weight}

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
    nr, dr = check_smooth(name, smooth_nr, smooth_dr)
    xp, out, tp, sp, sg, weight = overlap(
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
    loss = 1 - safe_ratio(2 * tp + nr, 2 * (sp + sg - tp) + dr, xp)
    return finish_overlap(loss, weight, reduction, out, xp)


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
    nr, dr = check_smooth(name, smooth_nr, smooth_dr)
    a = check_real_scalar(name, "alpha", alpha)
    b = check_real_scalar(name, "beta", beta)
    check_option(name, "alpha", alpha, a >= 0, "non-negative")
    check_option(name, "beta", beta, b >= 0, "non-negative")
    xp, out, tp, sp, sg, weight = overlap(name, input, target, weight, **kw)
    fp, fn = sp - tp, sg - tp
    return xp, out, safe_ratio(tp + nr, tp + a * fp + b * fn + dr, xp), weight


@register(
    _FAMILY,
    class_name="TverskyLoss",
    monai="monai.losses.TverskyLoss",
    sample="seg_logits_index",
)
@fill_doc
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
    {overlap_params}
    alpha : float
        Weight of the false positives (non-negative).
    beta : float
        Weight of the false negatives (non-negative); ``beta > alpha`` favours recall.

    Returns
    -------
    {overlap_returns}

    Notes
    -----
    Empty classes are finite as in :func:`dice_loss`.

    MONAI equivalent: ``monai.losses.TverskyLoss(alpha=, beta=, include_background=,
    to_onehot_y=True`` for an index target, ``softmax=``/``sigmoid=`` as in
    :func:`dice_loss`, ``smooth_nr=, smooth_dr=, batch=, soft_label=, ignore_index=,
    reduction=)``. MONAI has no ``squared`` nor ``weight`` for this loss.

    {unchecked_weight}

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
    return finish_overlap(1 - ti, weight, reduction, out, xp)


@register(_FAMILY, class_name="FocalTverskyLoss", sample="seg_logits_index")
@fill_doc
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
    {overlap_params}
    alpha, beta : float
        Weights of the false positives and negatives (defaults 0.3 / 0.7 from the paper).
    gamma : float
        Positive exponent; ``gamma=1`` is :func:`tversky_loss`.

    Returns
    -------
    {overlap_returns}

    Notes
    -----
    :math:`x^\gamma` has an infinite derivative at 0 for ``gamma < 1``: where
    :math:`1 - \mathrm{TI} = 0` (a perfect prediction) the loss is 0 with a 0 gradient, never
    NaN. Rounding can make :math:`1 - \mathrm{TI}` a hair below 0 with soft labels; it is
    clamped at 0. No MONAI peer; segmentation_models_pytorch's ``TverskyLoss(gamma=)``
    computes the same power of the (per-class) Tversky loss.

    {unchecked_weight}

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
    return finish_overlap(loss, weight, reduction, out, xp)


@register(
    _FAMILY,
    class_name="GeneralizedDiceLoss",
    monai="monai.losses.GeneralizedDiceLoss",
    sample="seg_logits_index",
)
@fill_doc
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
    {input_target}
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns one loss per sample, shape (N,) (``batch=False``), or the single
        batch loss as a 0-d array (``batch=True``).
    {activation}
    {smooth_batch}
    {soft_ignore_axis}
    {xp}
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

    {unchecked}

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
    nr, dr = check_smooth(name, smooth_nr, smooth_dr)
    xp, out, tp, sp, sg, _ = overlap(
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
    loss = 1 - safe_ratio(numer, denom, xp)
    return finish_overlap(loss, None, reduction, out, xp)
