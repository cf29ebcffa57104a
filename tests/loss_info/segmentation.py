"""Registry entries for the segmentation family.

References:

* dice/jaccard/tversky/generalized Dice: MONAI's own losses (``monai.losses.DiceLoss``,
  ``DiceLoss(jaccard=True)``, ``TverskyLoss``, ``GeneralizedDiceLoss``), called with the
  option mapping written in the arrayloss docstrings (activation, one-hot of index targets,
  ``ignore_index`` done by MONAI). Where MONAI's semantics differ by design (element-wise
  ``ignore_index`` on dense targets, ``ignore_index`` for the generalized Dice), the
  reference activates, one-hots and masks the inputs itself in float64 torch and then calls
  MONAI without those options.
* focal Tversky: MONAI's ``TverskyLoss(reduction="none")`` raised to ``gamma`` (Abraham &
  Khan 2019).
* Lovász hinge / softmax: the published reference algorithm (Berman et al. 2018,
  github.com/bermanmaxim/LovaszSoftmax) re-derived here in float64 torch ops: boolean
  removal of ignored pixels, ``torch.sort`` of the errors, ``lovasz_grad``, a dot product,
  and Python loops over images and classes (the data-dependent form the library avoids).
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

import arrayloss as al

from ._core import ErrorInput, LossInfo, SampleInput, randn, uniform

# -- MONAI references ------------------------------------------------------------------------


def _gdl_class():
    from monai.losses import GeneralizedDiceLoss

    class GDL64(GeneralizedDiceLoss):
        # MONAI computes the class weights from ``ground_o.float()`` (float32); the counts
        # are exact in float32, so redoing the weight in float64 only removes its rounding.
        def w_func(self, grnd):
            return super().w_func(grnd.double())

    return GDL64


def _front(x, y, *, mode, from_logits, ignore_index, axis, manual):
    """MONAI's input convention (N, C, *), and the arguments that do the front end."""
    if axis not in (1, 1 - x.ndim):
        dense = y.shape == x.shape
        x = x.movedim(axis, 1)
        y = y.movedim(axis, 1) if dense else y
    index = y.ndim == x.ndim - 1
    if index:
        y = y.unsqueeze(1)  # MONAI takes index targets as (N, 1, *)
    c = x.shape[1]
    act = {
        "sigmoid": from_logits and mode != "multiclass",
        "softmax": from_logits and mode == "multiclass",
    }
    onehot = index and mode == "multiclass"
    if not manual:
        return x, y, {**act, "to_onehot_y": onehot}, c
    # Manual front end: activation, one-hot and element/pixel mask in float64 torch.
    if act["softmax"]:
        x = torch.softmax(x, 1)
    elif act["sigmoid"]:
        x = torch.sigmoid(x)
    if ignore_index is not None:
        valid = y != ignore_index
        y = torch.where(valid, y, torch.zeros_like(y))
    if onehot:
        y = torch.nn.functional.one_hot(y[:, 0].long(), c).movedim(-1, 1)
    y = y.double()
    if ignore_index is not None:
        x, y = x * valid, y * valid
    return x, y, {}, c


def _kept(c, include_background):
    return c if include_background or c == 1 else c - 1


def _reduce(f, reduction):
    if reduction == "mean":
        return f.mean()
    if reduction == "sum":
        return f.sum()
    return f


def _overlap_ref(kind):
    """A reference for dice/jaccard/tversky/focal-tversky: MONAI with reduction='none',
    reshaped to (N, C') / (C',), weighted, reduced."""

    def ref(
        x,
        y,
        *,
        reduction,
        mode="multiclass",
        from_logits=True,
        include_background=True,
        squared=False,
        smooth_nr=1e-5,
        smooth_dr=1e-5,
        batch=False,
        weight=None,
        soft_label=False,
        ignore_index=None,
        axis=1,
        alpha=None,
        beta=None,
        gamma=None,
    ):
        from monai.losses import DiceLoss, TverskyLoss

        dense_ignore = ignore_index is not None and (
            mode == "multilabel" or (mode == "multiclass" and y.shape == x.shape)
        )
        # MONAI one-hots in float32; its squared path takes a float32 norm of that (1e-7
        # relative), so the squared case gets a float64 one-hot from the manual front end.
        manual = dense_ignore or squared
        x, y, front, c = _front(
            x,
            y,
            mode=mode,
            from_logits=from_logits,
            ignore_index=ignore_index,
            axis=axis,
            manual=manual,
        )
        ii = None if manual else ignore_index
        common = dict(
            include_background=include_background or c == 1,
            smooth_nr=smooth_nr,
            smooth_dr=smooth_dr,
            batch=batch,
            soft_label=soft_label,
            ignore_index=ii,
            reduction="none",
            **front,
        )
        kept = _kept(c, include_background)
        if kind in ("dice", "jaccard"):
            w = None
            if weight is not None and kept > 1:
                w = weight if include_background else weight[1:]
            f = DiceLoss(jaccard=kind == "jaccard", squared_pred=squared, weight=w, **common)(x, y)
            if weight is not None and kept == 1:  # MONAI skips weight for one channel
                f = f * weight[-1]
        else:
            assert not squared, "MONAI's TverskyLoss has no squared denominators"
            a = 0.5 if alpha is None else alpha
            b = 0.5 if beta is None else beta
            if kind == "focal_tversky":
                a = 0.3 if alpha is None else alpha
                b = 0.7 if beta is None else beta
            f = TverskyLoss(alpha=a, beta=b, **common)(x, y)
            if kind == "focal_tversky":
                f = torch.clamp(f, min=0) ** (0.75 if gamma is None else gamma)
            if weight is not None:
                f = f * (weight if include_background or c == 1 else weight[1:])
        f = f.reshape((kept,) if batch else (x.shape[0], kept))
        return _reduce(f, reduction)

    return ref


def _ref_gdl(
    x,
    y,
    *,
    reduction,
    weight_type="square",
    mode="multiclass",
    from_logits=True,
    include_background=True,
    smooth_nr=1e-5,
    smooth_dr=1e-5,
    batch=False,
    soft_label=False,
    ignore_index=None,
    axis=1,
):
    manual = ignore_index is not None
    x, y, front, c = _front(
        x,
        y,
        mode=mode,
        from_logits=from_logits,
        ignore_index=ignore_index,
        axis=axis,
        manual=manual,
    )
    f = _gdl_class()(
        w_type=weight_type,
        include_background=include_background or c == 1,
        smooth_nr=smooth_nr,
        smooth_dr=smooth_dr,
        batch=batch,
        soft_label=soft_label,
        reduction="none",
        **front,
    )(x, y)
    f = f.reshape(() if batch else (x.shape[0],))
    return _reduce(f, reduction)


def _ref_dice_ce(
    x,
    y,
    *,
    reduction,
    mode="multiclass",
    include_background=True,
    squared=False,
    jaccard=False,
    smooth_nr=1e-5,
    smooth_dr=1e-5,
    batch=False,
    weight=None,
    lambda_dice=1.0,
    lambda_ce=1.0,
    label_smoothing=0.0,
    axis=1,
):
    """monai.losses.DiceCELoss (multiclass: softmax Dice + CrossEntropyLoss; binary: sigmoid
    Dice + BCEWithLogitsLoss(pos_weight=weight))."""
    from monai.losses import DiceCELoss

    x, y, front, c = _front(
        x, y, mode=mode, from_logits=True, ignore_index=None, axis=axis, manual=False
    )
    if mode == "binary" and y.ndim == x.ndim - 1:
        y = y.unsqueeze(1)
    return DiceCELoss(
        include_background=include_background or c == 1,
        squared_pred=squared,
        jaccard=jaccard,
        smooth_nr=smooth_nr,
        smooth_dr=smooth_dr,
        batch=batch,
        weight=weight,
        lambda_dice=lambda_dice,
        lambda_ce=lambda_ce,
        label_smoothing=label_smoothing,
        reduction=reduction,
        **front,
    )(x, y)


def _ref_dice_focal(
    x,
    y,
    *,
    reduction,
    mode="multiclass",
    include_background=True,
    squared=False,
    jaccard=False,
    smooth_nr=1e-5,
    smooth_dr=1e-5,
    batch=False,
    gamma=2.0,
    alpha=None,
    weight=None,
    lambda_dice=1.0,
    lambda_focal=1.0,
    axis=1,
):
    """MONAI's DiceLoss plus MONAI's sigmoid_focal_loss kernel (``monai.losses.focal_loss``;
    DiceFocalLoss itself casts the focal part to float32), reduced as FocalLoss does."""
    from monai.losses import DiceLoss
    from monai.losses.focal_loss import sigmoid_focal_loss

    x, y, front, c = _front(
        x, y, mode=mode, from_logits=True, ignore_index=None, axis=axis, manual=False
    )
    keep_bg = include_background or c == 1
    w = None if weight is None else (weight if keep_bg else weight[1:])
    dice = DiceLoss(
        include_background=keep_bg,
        squared_pred=squared,
        jaccard=jaccard,
        smooth_nr=smooth_nr,
        smooth_dr=smooth_dr,
        batch=batch,
        weight=w,
        reduction=reduction,
        **front,
    )(x, y)
    if front.get("to_onehot_y"):
        y = torch.nn.functional.one_hot(y[:, 0].long(), c).movedim(-1, 1)
    y = y.double()
    if not keep_bg:
        x, y = x[:, 1:], y[:, 1:]
    f = sigmoid_focal_loss(x, y, gamma, alpha).flatten(2).mean(-1)
    if w is not None:
        f = f * w
    focal = f.mean() if reduction == "mean" else f.sum()
    return lambda_dice * dice + lambda_focal * focal


# -- Lovász reference (Berman et al. 2018, re-derived in float64 torch) ------------------------


def _lovasz_grad(gt_sorted):
    """Alg. 1 of Berman et al.: gradient of the Lovász extension w.r.t. sorted errors."""
    p = len(gt_sorted)
    gts = gt_sorted.sum()
    intersection = gts - gt_sorted.cumsum(0)
    union = gts + (1 - gt_sorted).cumsum(0)
    jaccard = 1.0 - intersection / union
    if p > 1:
        jaccard[1:p] = jaccard[1:p] - jaccard[0:-1]
    return jaccard


def _mean(values):
    values = list(values)
    if not values:
        return torch.zeros((), dtype=torch.float64)
    return sum(values) / len(values)


def _lovasz_hinge_flat(logits, labels):
    if len(labels) == 0:
        return logits.sum() * 0.0
    signs = 2.0 * labels - 1.0
    errors = 1.0 - logits * signs
    errors_sorted, perm = torch.sort(errors, dim=0, descending=True, stable=True)
    grad = _lovasz_grad(labels[perm])
    return torch.dot(torch.relu(errors_sorted), grad)


def _flatten_binary(scores, labels, ignore):
    scores, labels = scores.reshape(-1), labels.reshape(-1)
    if ignore is None:
        return scores, labels.double()
    valid = labels != ignore
    return scores[valid], labels[valid].double()


def _ref_lovasz_hinge(x, y, *, reduction, per_image=False, ignore_index=None):
    if per_image:
        losses = torch.stack(
            [_lovasz_hinge_flat(*_flatten_binary(xi, yi, ignore_index)) for xi, yi in zip(x, y)]
        )
        return _reduce(losses, reduction)
    return _lovasz_hinge_flat(*_flatten_binary(x, y, ignore_index))


def _lovasz_softmax_flat(probas, labels, classes):
    if probas.numel() == 0:
        return probas.sum() * 0.0
    c = probas.shape[1]
    losses = []
    for k in range(c) if classes in ("all", "present") else classes:
        fg = (labels == k).double()
        if classes == "present" and fg.sum() == 0:
            continue
        errors = (fg - probas[:, k]).abs()
        errors_sorted, perm = torch.sort(errors, dim=0, descending=True, stable=True)
        losses.append(torch.dot(errors_sorted, _lovasz_grad(fg[perm])))
    return _mean(losses)


def _flatten_probas(probas, labels, ignore):
    c = probas.shape[1]
    probas = probas.movedim(1, -1).reshape(-1, c)
    labels = labels.reshape(-1)
    if ignore is None:
        return probas, labels
    valid = labels != ignore
    return probas[valid], labels[valid]


def _ref_lovasz_softmax(
    x,
    y,
    *,
    reduction,
    classes="present",
    per_image=False,
    from_logits=True,
    ignore_index=None,
    axis=1,
):
    x = x.movedim(axis, 1)
    probas = torch.softmax(x, 1) if from_logits else x
    classes = classes if isinstance(classes, str) else list(dict.fromkeys(classes))
    if per_image:
        losses = torch.stack(
            [
                _lovasz_softmax_flat(*_flatten_probas(p[None], t[None], ignore_index), classes)
                for p, t in zip(probas, y)
            ]
        )
        return _reduce(losses, reduction)
    return _lovasz_softmax_flat(*_flatten_probas(probas, y, ignore_index), classes)


# -- samples ---------------------------------------------------------------------------------


def _labels(rng, c, *shape):
    return rng.integers(0, c, shape)


def _multiclass(rng, n=2, c=3, spatial=(4, 5)):
    return randn(rng, n, c, *spatial, scale=2.0), _labels(rng, c, n, *spatial)


def _binary(rng, n=2, spatial=(4, 5)):
    return randn(rng, n, 1, *spatial, scale=2.0), _labels(rng, 2, n, 1, *spatial)


def _multilabel(rng, n=2, c=3, spatial=(4, 5)):
    return randn(rng, n, c, *spatial, scale=2.0), _labels(rng, 2, n, c, *spatial).astype(float)


def _with_ignore(rng, y, value, frac=0.2):
    y = y.copy()
    y[rng.random(y.shape) < frac] = value
    return y


def _overlap_samples(extra=None, squared=True, weight=True):
    """Option sweep shared by dice/jaccard/tversky/focal Tversky."""
    extra = extra or {}

    def samples(rng):
        x, y = _multiclass(rng)
        x3, y3 = _multiclass(rng, spatial=(3, 3, 4))
        xb, yb = _binary(rng)
        xm, ym = _multilabel(rng)
        absent = _labels(rng, 2, 2, 4, 5)  # class 2 of 3 absent from the target
        soft = uniform(rng, 2, 3, 4, 5)
        soft = soft / soft.sum(axis=1, keepdims=True)
        out = [
            SampleInput((x, y), {**extra}, "multiclass 2-d, index target"),
            SampleInput((x3, y3), {**extra}, "multiclass 3-d"),
            SampleInput((randn(rng, 2, 3, 7), _labels(rng, 3, 2, 7)), {**extra}, "1-d"),
            SampleInput((x, absent), {**extra}, "empty class"),
            SampleInput((x, y), {**extra, "include_background": False}, "no background"),
            SampleInput((x, y), {**extra, "batch": True}, "batch statistics"),
            SampleInput((x, y), {**extra, "smooth_nr": 0.0, "smooth_dr": 1e-3}, "smoothing"),
            SampleInput(
                (x, _with_ignore(rng, y, -100)), {**extra, "ignore_index": -100}, "ignore_index"
            ),
            SampleInput(
                (x, _with_ignore(rng, y, 1, frac=0.0)),
                {**extra, "ignore_index": 1, "include_background": False},
                "ignore_index a class",
            ),
            SampleInput((x, np.eye(3)[y].transpose(0, 3, 1, 2)), {**extra}, "one-hot target"),
            SampleInput((x, soft), {**extra, "soft_label": True}, "soft labels"),
            SampleInput((np.moveaxis(x, 1, -1), y), {**extra, "axis": -1}, "channels last"),
            SampleInput((xb, yb), {**extra, "mode": "binary"}, "binary"),
            SampleInput(
                (xb, yb[:, 0]),
                {**extra, "mode": "binary", "batch": True},
                "binary, target without channel",
            ),
            SampleInput(
                (xb, _with_ignore(rng, yb, 255)),
                {**extra, "mode": "binary", "ignore_index": 255},
                "binary ignore",
            ),
            SampleInput((xm, ym), {**extra, "mode": "multilabel"}, "multilabel"),
            SampleInput(
                (xm, _with_ignore(rng, ym, -1.0)),
                {**extra, "mode": "multilabel", "ignore_index": -1},
                "multilabel element ignore",
            ),
            SampleInput(
                (uniform(rng, 2, 3, 4, 5), ym),
                {**extra, "mode": "multilabel", "from_logits": False},
                "probabilities",
            ),
        ]
        if squared:
            out.append(SampleInput((x, y), {**extra, "squared": True}, "squared"))
        if weight:
            w = uniform(rng, 3, low=0.2, high=2.0)
            out += [
                SampleInput((x, y), {**extra, "weight": w}, "class weight"),
                SampleInput(
                    (x, y),
                    {**extra, "weight": w, "include_background": False},
                    "class weight, no background",
                ),
            ]
        return _none_after(out, 3)

    return samples


def _gdl_samples(rng):
    return _none_after(_gdl_sample_list(rng), 3)


def _gdl_sample_list(rng):
    x, y = _multiclass(rng)
    xb, yb = _binary(rng)
    xm, ym = _multilabel(rng)
    absent = _labels(rng, 2, 2, 4, 5)
    return [
        SampleInput((x, y), {}, "square"),
        SampleInput((x, y), {"weight_type": "simple"}, "simple"),
        SampleInput((x, y), {"weight_type": "uniform"}, "uniform"),
        SampleInput((x, absent), {}, "empty class gets the max weight"),
        SampleInput((x, absent), {"batch": True}, "batch"),
        SampleInput(
            (*_multiclass(rng, spatial=(3, 3, 4)),),
            {"include_background": False},
            "3-d, no background",
        ),
        SampleInput((x, _with_ignore(rng, y, -1)), {"ignore_index": -1}, "ignore_index"),
        SampleInput((xb, yb), {"mode": "binary"}, "binary"),
        SampleInput((xm, ym), {"mode": "multilabel", "soft_label": True}, "multilabel"),
        SampleInput((np.moveaxis(x, 1, -1), y), {"axis": -1}, "channels last"),
    ]


def _none_after(samples, k):
    """The first ``k`` samples run with every reduction, the rest with ``"none"`` only (the
    unreduced (sample, class) losses check the most, and the suite stays fast)."""
    return samples[:k] + [
        SampleInput(s.args, {"reduction": "none", **s.kwargs}, s.desc, s.grad) for s in samples[k:]
    ]


def _hinge_samples(rng):
    x = randn(rng, 3, 4, 5, scale=2.0)
    y = _labels(rng, 2, 3, 4, 5)
    y0 = y.copy()
    y0[1] = 0  # image 1 has no foreground
    return [
        SampleInput((x, y), {}, "batch"),
        SampleInput((x, y), {"per_image": True}, "per image"),
        SampleInput((x, y0), {"per_image": True}, "an image without foreground"),
        SampleInput((x, _with_ignore(rng, y, 255)), {"ignore_index": 255}, "ignore"),
        SampleInput(
            (x, _with_ignore(rng, y, 255)),
            {"ignore_index": 255, "per_image": True},
            "ignore, per image",
        ),
        SampleInput(
            (randn(rng, 2, 9), y[:2, 0, :4].repeat(3, axis=1)[:, :9].astype(float)),
            {},
            "1-d images, float labels",
        ),
    ]


def _softmax_samples(rng):
    x, y = _multiclass(rng, c=4)
    y2 = y % 2  # classes 2, 3 absent
    return [
        SampleInput((x, y), {}, "present"),
        SampleInput((x, y), {"per_image": True}, "per image"),
        SampleInput((x, y2), {"classes": "all"}, "all classes (absent ones too)"),
        SampleInput((x, y2), {"per_image": True}, "present, absent classes"),
        SampleInput((x, y), {"classes": [1, 3]}, "class list"),
        SampleInput((x, _with_ignore(rng, y, -1)), {"ignore_index": -1}, "ignore"),
        SampleInput(
            (x, _with_ignore(rng, y, -1)),
            {"ignore_index": -1, "per_image": True},
            "ignore, per image",
        ),
        SampleInput((*_multiclass(rng, spatial=(3, 3, 3)),), {}, "3-d"),
        SampleInput((np.moveaxis(x, 1, -1), y), {"axis": -1}, "channels last"),
        SampleInput((uniform(rng, 2, 4, 4, 5), y), {"from_logits": False}, "probabilities"),
    ]


def _combo_samples(extra_options):
    def samples(rng):
        x, y = _multiclass(rng)
        xb, yb = _binary(rng)
        xm, ym = _multilabel(rng)
        w = uniform(rng, 3, low=0.2, high=2.0)
        out = [
            SampleInput((x, y), {}, "multiclass, index target"),
            SampleInput((*_multiclass(rng, spatial=(3, 3, 4)),), {}, "3-d"),
            SampleInput((x, np.eye(3)[y].transpose(0, 3, 1, 2)), {}, "one-hot target"),
            SampleInput((x, y), {"include_background": False, "weight": w}, "weight, no bg"),
            SampleInput((x, y), {"weight": w, "batch": True, "jaccard": True}, "batch jaccard"),
            SampleInput(
                (x, np.eye(3)[y].transpose(0, 3, 1, 2)),
                {"squared": True, "lambda_dice": 0.3},
                "squared (float64 one-hot: MONAI one-hots in float32)",
            ),
            SampleInput((xb, yb), {"mode": "binary"}, "binary"),
            SampleInput((np.moveaxis(x, 1, -1), y), {"axis": -1}, "channels last"),
        ]
        out += [SampleInput((x, y), kw, desc) for kw, desc in extra_options]
        if extra_options and "gamma" in extra_options[0][0]:
            out.append(SampleInput((xm, ym), {"mode": "multilabel"}, "multilabel"))
        return out

    return samples


def _combo_errors(rng):
    x, y = _multiclass(rng)
    return [
        ErrorInput(SampleInput((x, y[:, :3])), ValueError, r"`target` must have shape"),
        ErrorInput(
            SampleInput((x, y + 1)),
            ValueError,
            r"`target` holds class indices that must lie",
            data_dependent=True,
        ),
        ErrorInput(
            SampleInput((x, y), {"weight": np.ones(4)}), ValueError, r"`weight` must have shape"
        ),
        ErrorInput(
            SampleInput((x, y), {"lambda_dice": -1.0}),
            ValueError,
            r"`lambda_dice` must be non-negative",
        ),
        ErrorInput(SampleInput((x, y), {"reduction": "none"}), ValueError, r"'mean' or 'sum'"),
    ]


# -- extreme samples -------------------------------------------------------------------------


def _overlap_extremes(extra=None):
    extra = extra or {}

    def samples(rng):
        y = _labels(rng, 2, 2, 4, 5)  # class 2 absent
        onehot = np.eye(3)[y].transpose(0, 3, 1, 2)
        xb = randn(rng, 2, 1, 4, 5)
        return [
            SampleInput((onehot * 2e4 - 1e4, y), {**extra}, "saturated logits ±1e4"),
            SampleInput(
                (onehot.copy(), y), {**extra, "from_logits": False}, "perfect probabilities"
            ),
            SampleInput(
                (onehot.copy(), y),
                {**extra, "from_logits": False, "smooth_nr": 0.0, "smooth_dr": 0.0},
                "perfect, no smoothing (empty class: 0/0 defined)",
            ),
            SampleInput(
                (np.zeros((2, 1, 4, 5)), np.zeros((2, 1, 4, 5))),
                {
                    **extra,
                    "mode": "binary",
                    "from_logits": False,
                    "smooth_nr": 0.0,
                    "smooth_dr": 0.0,
                },
                "empty prediction and target",
            ),
            SampleInput((xb, np.zeros((2, 1, 4, 5))), {**extra, "mode": "binary"}, "empty target"),
            SampleInput(
                (xb, np.full((2, 1, 4, 5), 7)),
                {**extra, "mode": "binary", "ignore_index": 7},
                "everything ignored",
            ),
        ]

    return samples


def _gdl_extremes(rng):
    return [s for s in _overlap_extremes()(rng)]


def _hinge_extremes(rng):
    x = randn(rng, 2, 4, 5)
    return [
        SampleInput((x * 1e4, _labels(rng, 2, 2, 4, 5)), {}, "logits ±1e4"),
        SampleInput((x, np.zeros((2, 4, 5))), {"per_image": True}, "no foreground"),
        SampleInput((x, np.ones((2, 4, 5))), {}, "all foreground"),
        SampleInput(
            (x, np.full((2, 4, 5), 9)), {"ignore_index": 9, "per_image": True}, "everything ignored"
        ),
    ]


def _softmax_extremes(rng):
    y = _labels(rng, 3, 2, 4, 5)
    x = np.eye(3)[y].transpose(0, 3, 1, 2) * 2e4 - 1e4
    return [
        SampleInput((x, y), {}, "saturated logits"),
        SampleInput((x, y), {"classes": "all", "per_image": True}, "saturated, all classes"),
        SampleInput(
            (randn(rng, 2, 3, 4, 5), np.full((2, 4, 5), -1)),
            {"ignore_index": -1},
            "everything ignored",
        ),
    ]


# -- errors ----------------------------------------------------------------------------------


def _overlap_errors(weight=True):
    def errors(rng):
        x, y = _multiclass(rng)
        out = [
            ErrorInput(SampleInput((x, y[:, :3])), ValueError, r"`target` must have shape"),
            ErrorInput(
                SampleInput((x, np.zeros((2, 4, 4, 5)))),
                ValueError,
                r"`target` must have shape .*class counts differ",
            ),
            ErrorInput(
                SampleInput((x, y + 1)),
                ValueError,
                r"`target` holds class indices that must lie in \[0, 2\]",
                data_dependent=True,
            ),
            ErrorInput(
                SampleInput((x, y), {"mode": "binary"}),
                ValueError,
                r"`input` must have one channel",
            ),
            ErrorInput(
                SampleInput((x, y), {"mode": "multilabel"}), ValueError, r"`target` must have shape"
            ),
            ErrorInput(SampleInput((x, y), {"mode": "sparse"}), ValueError, r"`mode` must be"),
            ErrorInput(
                SampleInput((x[:, 0, 0, 0], y[:, 0, 0])),
                ValueError,
                r"`input` must have a batch and a class dimension",
            ),
            ErrorInput(
                SampleInput((x, y.astype(float))),
                TypeError,
                r"`target` holds class indices and must have an integer dtype",
            ),
            ErrorInput(
                SampleInput((x, y), {"smooth_dr": -1.0}),
                ValueError,
                r"`smooth_dr` must be non-negative",
            ),
            ErrorInput(SampleInput((x, y), {"axis": 0}), ValueError, r"`axis`"),
        ]
        if weight:
            out += [
                ErrorInput(
                    SampleInput((x, y), {"weight": np.ones(4)}),
                    ValueError,
                    r"`weight` must have shape \(3,\)",
                ),
                ErrorInput(
                    SampleInput((x, y), {"weight": -np.ones(3)}),
                    ValueError,
                    r"`weight` must be non-negative",
                    data_dependent=True,
                ),
            ]
        return out

    return errors


def _tversky_errors(rng):
    x, y = _multiclass(rng)
    return [
        *_overlap_errors()(rng),
        ErrorInput(
            SampleInput((x, y), {"alpha": -0.1}), ValueError, r"`alpha` must be non-negative"
        ),
    ]


def _focal_errors(rng):
    x, y = _multiclass(rng)
    return [
        *_tversky_errors(rng),
        ErrorInput(SampleInput((x, y), {"gamma": 0.0}), ValueError, r"`gamma` must be positive"),
    ]


def _gdl_errors(rng):
    x, y = _multiclass(rng)
    return [
        *_overlap_errors(weight=False)(rng),
        ErrorInput(
            SampleInput((x, y), {"weight_type": "cubic"}), ValueError, r"`weight_type` must be"
        ),
    ]


def _hinge_errors(rng):
    x = randn(rng, 2, 4, 5)
    return [
        ErrorInput(SampleInput((x, _labels(rng, 2, 2, 5, 4))), ValueError, r"same shape"),
        ErrorInput(
            SampleInput((x, _labels(rng, 2, 2, 4, 5)), {"per_image": 1}),
            TypeError,
            r"`per_image` must be a bool",
        ),
    ]


def _softmax_errors(rng):
    x, y = _multiclass(rng)
    return [
        ErrorInput(SampleInput((x, y[:, :3])), ValueError, r"`target` must hold class indices"),
        ErrorInput(
            SampleInput((x, y + 1)),
            ValueError,
            r"`target` holds class indices that must lie",
            data_dependent=True,
        ),
        ErrorInput(SampleInput((x, y), {"classes": [0, 5]}), ValueError, r"`classes` must be"),
        ErrorInput(SampleInput((x, y), {"classes": "some"}), ValueError, r"`classes` must be"),
        ErrorInput(SampleInput((x, y.astype(float))), TypeError, r"integer dtype"),
    ]


def _quiet(ref):
    """MONAI warns for a few single-channel options it ignores; so does the test config."""

    def wrapped(*args, **kwargs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return ref(*args, **kwargs)

    return wrapped


_TVERSKY_EXTRA = {"alpha": 0.3, "beta": 0.7}

LOSSES = [
    LossInfo(
        "dice_loss",
        al.dice_loss,
        _overlap_samples(),
        _quiet(_overlap_ref("dice")),
        "monai.losses.DiceLoss",
        errors=_overlap_errors(),
        extreme_samples=_overlap_extremes(),
    ),
    LossInfo(
        "jaccard_loss",
        al.jaccard_loss,
        _overlap_samples(),
        _quiet(_overlap_ref("jaccard")),
        "monai.losses.DiceLoss(jaccard=True)",
        errors=_overlap_errors(),
        extreme_samples=_overlap_extremes(),
    ),
    LossInfo(
        "tversky_loss",
        al.tversky_loss,
        _overlap_samples(_TVERSKY_EXTRA, squared=False),
        _quiet(_overlap_ref("tversky")),
        "monai.losses.TverskyLoss (x class weight)",
        errors=_tversky_errors,
        extreme_samples=_overlap_extremes(_TVERSKY_EXTRA),
    ),
    LossInfo(
        "focal_tversky_loss",
        al.focal_tversky_loss,
        _overlap_samples({"gamma": 0.75}, squared=False),
        _quiet(_overlap_ref("focal_tversky")),
        "monai.losses.TverskyLoss ** gamma (Abraham & Khan 2019)",
        errors=_focal_errors,
        extreme_samples=_overlap_extremes({"gamma": 0.5}),
    ),
    LossInfo(
        "generalized_dice_loss",
        al.generalized_dice_loss,
        _gdl_samples,
        _quiet(_ref_gdl),
        "monai.losses.GeneralizedDiceLoss (weights in float64)",
        errors=_gdl_errors,
        extreme_samples=_gdl_extremes,
    ),
    LossInfo(
        "lovasz_hinge_loss",
        al.lovasz_hinge_loss,
        _hinge_samples,
        _ref_lovasz_hinge,
        "Berman et al. 2018 reference algorithm, float64 torch",
        float_args=(0,),
        errors=_hinge_errors,
        extreme_samples=_hinge_extremes,
    ),
    LossInfo(
        "lovasz_softmax_loss",
        al.lovasz_softmax_loss,
        _softmax_samples,
        _ref_lovasz_softmax,
        "Berman et al. 2018 reference algorithm, float64 torch",
        errors=_softmax_errors,
        extreme_samples=_softmax_extremes,
    ),
    LossInfo(
        "dice_ce_loss",
        al.dice_ce_loss,
        _combo_samples([({"label_smoothing": 0.1, "lambda_ce": 2.0}, "label smoothing")]),
        _quiet(_ref_dice_ce),
        "monai.losses.DiceCELoss",
        reductions=("mean", "sum"),
        errors=_combo_errors,
    ),
    LossInfo(
        "dice_focal_loss",
        al.dice_focal_loss,
        _combo_samples(
            [
                ({"gamma": 0.0}, "gamma 0"),
                ({"gamma": 1.5, "alpha": 0.25, "lambda_focal": 2.0}, "alpha"),
            ]
        ),
        _quiet(_ref_dice_focal),
        "monai.losses.DiceLoss + monai.losses.focal_loss.sigmoid_focal_loss (float64)",
        reductions=("mean", "sum"),
        errors=_combo_errors,
    ),
]
