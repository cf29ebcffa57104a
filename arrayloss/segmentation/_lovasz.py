"""Lovász losses (Berman, Rannen Triki & Blaschko 2018): the Lovász extension of the
Jaccard loss applied to hinge errors (binary) or to class probabilities (multiclass)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from .._lib import _create as create
from .._lib import (
    check_index_target,
    check_labels_in_range,
    check_option,
    check_reduction,
    finish,
    is_concrete,
    namespace_of,
    promote_floating,
    reduce,
    register,
)
from .._lib._primitives import one_hot, softmax, stop_gradient, take_along_axis
from .._lib._validation import (
    check_ignore_index,
    class_axis,
    invalid_as_nan,
    labels_in_range,
    shape_str,
)
from ._common import FAMILY as _FAMILY
from ._common import (
    check_flags,
    fill_doc,
    safe_ratio,
    to_channels_first,
)

__all__ = ["lovasz_hinge_loss", "lovasz_softmax_loss"]


def _gather_last(x: Any, idx: Any, xp: Any) -> Any:
    """``x[..., idx]`` row by row (a full permutation along the last axis)."""
    if hasattr(xp, "take_along_axis"):
        return take_along_axis(x, idx, axis=-1, xp=xp)
    # Libraries without take_along_axis (dask): one flat take with row offsets.
    rows = math.prod(x.shape[:-1])
    length = x.shape[-1]
    offsets = xp.reshape(create.arange(rows, idx, xp=xp, dtype=idx.dtype) * length,
                         (*x.shape[:-1], 1))
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
    """Per image: ``reduction`` over the images; else the batch's one loss, 0-d."""
    loss = reduce(loss, reduction, xp=xp) if per_image else xp.reshape(loss, ())
    return finish(loss, out, xp)


@register(_FAMILY, class_name="LovaszHingeLoss", sample="seg_binary")
@fill_doc
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
    {xp}

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
    check_flags(name, per_image=per_image)
    check_ignore_index(name, ignore_index)
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
    ninf = create.constant(-math.inf, errors, xp=xp)  # 0-d: no fill
    key = stop_gradient(xp.where(v > 0, errors, ninf), xp=xp)
    perm = xp.argsort(key, axis=-1, descending=True, stable=True)
    errors_sorted = _gather_last(errors, perm, xp)
    y_sorted = _gather_last(y, perm, xp)
    v_sorted = _gather_last(v, perm, xp)
    w = _lovasz_weights(y_sorted, v_sorted, xp)
    hinge = xp.maximum(errors_sorted, xp.zeros_like(errors_sorted)) * v_sorted
    loss = xp.sum(hinge * w, axis=-1)
    return _lovasz_reduce(loss, reduction, per_image, out, xp)


@register(_FAMILY, class_name="LovaszSoftmaxLoss", sample="seg_logits_index")
@fill_doc
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
    {xp}

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

    {unchecked}

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
    check_flags(name, per_image=per_image, from_logits=from_logits)
    check_ignore_index(name, ignore_index)
    ax = class_axis(name, input, axis, batched=True)
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
    checked = check_labels_in_range(
        name, "target", target, num_classes, xp, ignore_index=ignore_index
    )
    unchecked = not checked and not is_concrete(target, xp)
    out, work, (input,) = promote_floating(name, xp, input=input)
    input = to_channels_first(input, ax, xp)
    probs = softmax(input, axis=1, xp=xp) if from_logits else input
    n = probs.shape[0]
    s = math.prod(probs.shape[2:])
    probs = xp.reshape(probs, (n, num_classes, s))
    labels = xp.reshape(target, (n, s))
    if not per_image:  # one row over the whole batch: (1, C, N * S)
        probs = xp.reshape(xp.permute_dims(probs, (1, 0, 2)), (1, num_classes, n * s))
        labels = xp.reshape(labels, (1, n * s))
    ok = None
    if unchecked:  # a safe index for the one-hot; the row holding a bad label becomes NaN
        in_range = labels_in_range(labels, num_classes, xp, ignore_index=ignore_index)
        labels = xp.where(in_range, labels, xp.zeros_like(labels))
        ok = xp.all(in_range, axis=-1)
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
        use = xp.reshape(create.constant(selected, per_class, xp=xp, dtype=work), (1, num_classes))
    count = xp.sum(use * xp.ones_like(per_class), axis=-1)
    total = xp.sum(per_class * use, axis=-1)
    loss = safe_ratio(total, count, xp) * xp.astype(count > 0, work)
    if ok is not None:
        loss = invalid_as_nan(loss, ok, xp)
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
