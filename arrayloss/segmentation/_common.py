"""The front end shared by the segmentation losses, and their shared parameter text.

``probabilities_and_targets`` validates, activates, one-hot encodes and masks once for every
overlap loss (and the focal / cross-entropy parts of the compound losses); ``overlap`` adds
the per-class statistics. ``fill_doc`` writes the parameter text shared by the overlap
losses into their docstrings, so it is written once, here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any, TypeVar

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
    reduce,
)
from .._lib._primitives import one_hot, sigmoid, softmax
from .._lib._validation import (
    check_ignore_index,
    class_axis,
    invalid_as_nan,
    labels_in_range,
    shape_str,
)

FAMILY = "segmentation"
_MODES = ("binary", "multiclass", "multilabel")

F = TypeVar("F", bound=Callable[..., Any])


# ---------------------------------------------------------------------------------------------
# Shared docstring text
# ---------------------------------------------------------------------------------------------

_INPUT_TARGET = """\
input : array, shape (N, C, *spatial)
    Scores (``from_logits=True``) or probabilities, real floating. ``C == 1`` in
    ``mode="binary"``. Any number of spatial dimensions, none included.
target : array
    ``mode="multiclass"``: class indices of shape (N, *spatial), any integer dtype, or
    one-hot/soft labels of the input's shape. ``"multilabel"``: the input's shape.
    ``"binary"``: the input's shape or (N, *spatial)."""

_PER_CLASS_REDUCTION = """\
reduction : {"mean", "sum", "none"}
    ``"none"`` returns the losses of shape (N, C') (``batch=False``) or (C',)
    (``batch=True``), C' the number of classes kept (C, or C - 1 without background)."""

_ACTIVATION = """\
mode : {"multiclass", "multilabel", "binary"}
    How ``target`` is read and which activation ``from_logits`` applies.
from_logits : bool
    Apply a softmax over the classes (multiclass) or a sigmoid (binary, multilabel) to
    ``input`` first, with the stable kernels of ``arrayloss._lib``.
include_background : bool
    ``False`` drops class 0 from the statistics (ignored when ``C == 1``)."""

_SQUARED = """\
squared : bool
    Square the predictions and targets in the denominator (V-Net, Milletari 2016)."""

_SMOOTH_BATCH = """\
smooth_nr, smooth_dr : float
    Added to the numerator and the denominator of each ratio (MONAI's defaults).
batch : bool
    Sum the statistics over the whole batch before the ratio, instead of per sample."""

_WEIGHT = """\
weight : array, shape (C,), optional
    Per-class weight, for all C classes (the background entry is dropped with
    ``include_background=False``). The losses are multiplied by it before the
    reduction, and ``mean`` stays the plain mean over (sample, class) (MONAI)."""

_SOFT_IGNORE_AXIS = """\
soft_label : bool
    Use the soft-label form ``tp = (|p| + |g| - |p - g|) / 2`` (Wang et al. 2023), equal
    to ``sum(p g)`` for hard labels and correct for soft ones.
ignore_index : int, optional
    Target value excluded from every sum: a pixel whose index target equals it, or an
    element of a dense target equal to it.
axis : int
    The class axis of ``input`` (and of a dense ``target``)."""

_UNCHECKED = """\
Where the labels are not checked (traced, lazy or accelerator arrays,
``check_values="never"``), an out-of-range label gives NaN: its sample's losses, or all of
them where the batch is pooled."""

_XP = """\
xp : namespace, optional
    Array namespace of the arguments, to skip inspecting them."""

DOCS = {
    "input_target": _INPUT_TARGET,
    "activation": _ACTIVATION,
    "smooth_batch": _SMOOTH_BATCH,
    "soft_ignore_axis": _SOFT_IGNORE_AXIS,
    "xp": _XP,
    "unchecked": _UNCHECKED,
    "unchecked_weight": _UNCHECKED
    + "\nA negative ``weight`` entry, unchecked, gives NaN for its class.",
    # the parameters of the per-class overlap losses (dice, jaccard, tversky, focal tversky)
    "overlap_params": "\n".join(
        (
            _INPUT_TARGET,
            _PER_CLASS_REDUCTION,
            _ACTIVATION,
            _SQUARED,
            _SMOOTH_BATCH,
            _WEIGHT,
            _SOFT_IGNORE_AXIS,
            _XP,
        )
    ),
    "overlap_returns": """\
array
    0-d for ``"mean"``/``"sum"``, (N, C') or (C',) for ``"none"``, in the input's dtype.""",
}

_SLOT = re.compile(r"^(?P<indent>[ \t]*)\{(?P<key>\w+)\}[ \t]*$", re.MULTILINE)


def fill_doc(func: F) -> F:
    """Replace each line ``{key}`` of the docstring by ``DOCS[key]``, at the line's indent."""

    def fill(m: re.Match[str]) -> str:
        text = DOCS[m.group("key")]
        return "\n".join(m.group("indent") + line if line else line for line in text.split("\n"))

    func.__doc__ = _SLOT.sub(fill, func.__doc__ or "")
    return func


# ---------------------------------------------------------------------------------------------
# Argument checks
# ---------------------------------------------------------------------------------------------


def check_flags(name: str, **flags: Any) -> None:
    for arg, value in flags.items():
        if not isinstance(value, bool):
            raise TypeError(f"{name}: `{arg}` must be a bool, got {value!r}")


def check_smooth(name: str, smooth_nr: Any, smooth_dr: Any) -> tuple[float, float]:
    nr = check_real_scalar(name, "smooth_nr", smooth_nr)
    dr = check_real_scalar(name, "smooth_dr", smooth_dr)
    check_option(name, "smooth_nr", smooth_nr, nr >= 0, "non-negative")
    check_option(name, "smooth_dr", smooth_dr, dr >= 0, "non-negative")
    return nr, dr


def _check_weight(name: str, weight: Any, num_classes: int, xp: Any) -> bool:
    """Check ``weight``'s shape, and its sign where the values may be read: True when
    they were (or there is no weight), False when the sign is left unchecked."""
    if weight is None:
        return True
    if tuple(weight.shape) != (num_classes,):
        raise ValueError(
            f"{name}: `weight` must have shape ({num_classes},), one entry per class of the "
            f"input, got {shape_str(weight.shape)}"
        )
    if not is_concrete(weight, xp):
        return False
    # Checked on the result too: under jax.jit an op on a concrete closed-over array traces.
    negative = xp.any(weight < 0)
    if not is_concrete(negative, xp):
        return False
    if bool(negative):
        raise ValueError(f"{name}: `weight` must be non-negative")
    return True


def to_channels_first(x: Any, ax: int, xp: Any) -> Any:
    return x if ax == 1 else xp.moveaxis(x, ax, 1)


# ---------------------------------------------------------------------------------------------
# Front end: probabilities and (one-hot) targets of shape (N, C', S)
# ---------------------------------------------------------------------------------------------


def _target_layout(
    name: str, input: Any, target: Any, *, mode: str, axis: int, ax: int, xp: Any
) -> tuple[Any, bool]:
    """Check ``target``'s shape against ``mode``: ``(target, index)``, ``index`` True for
    class indices (a binary target without its channel gains it)."""
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
    return target, index


def probabilities_and_targets(
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
    """Validate, activate, one-hot and mask. Returns ``(out_dtype, p, g, weight, ok)`` with
    ``p`` and ``g`` of shape (N, C', S) (spatial dimensions flattened, class axis 1), and
    ``ok`` None, or, where the labels went unchecked, a boolean (N,): the sample's labels
    lie in range (its statistics are then to be NaN-marked, see :func:`overlap`)."""
    check_option(name, "mode", mode, mode in _MODES, "'multiclass', 'multilabel' or 'binary'")
    check_flags(name, from_logits=from_logits, include_background=include_background)
    check_ignore_index(name, ignore_index)
    ax = class_axis(name, input, axis, batched=True)
    num_classes = input.shape[ax]
    target, index = _target_layout(name, input, target, mode=mode, axis=axis, ax=ax, xp=xp)
    weight_checked = _check_weight(name, weight, num_classes, xp)
    ok = None
    if index:
        check_index_target(name, "target", target, xp)
        checked = check_labels_in_range(
            name, "target", target, num_classes, xp, ignore_index=ignore_index
        )
        if not checked and not is_concrete(target, xp):
            # Unchecked: a safe index for the one-hot (torch's raises on a bad one), and the
            # sample marked, not an all-zero one-hot row that changes its statistics.
            in_range = labels_in_range(target, num_classes, xp, ignore_index=ignore_index)
            target = xp.where(in_range, target, xp.zeros_like(target))
            ok = xp.all(xp.reshape(in_range, (in_range.shape[0], -1)), axis=1)
        out, work, (input, weight) = promote_floating(name, xp, input=input, weight=weight)
    else:
        out, work, (input, target, weight) = promote_floating(
            name, xp, input=input, target=target, weight=weight
        )
    if not weight_checked:  # a negative class weight, unchecked, makes its class NaN
        weight = invalid_as_nan(weight, weight >= 0, xp)
    input = to_channels_first(input, ax, xp)
    if from_logits:
        input = softmax(input, axis=1, xp=xp) if mode == "multiclass" else sigmoid(input, xp=xp)
    valid = None
    if index:
        if ignore_index is not None:
            valid = xp.expand_dims(target != ignore_index, axis=1)
            target = xp.where(target != ignore_index, target, xp.zeros_like(target))
        g = one_hot(target, num_classes, dtype=work, axis=1, xp=xp)
    else:
        g = to_channels_first(target, ax, xp)
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
    # Flatten the spatial dimensions (shapes are static, so the reshape is lazy-safe).
    shape = (p.shape[0], p.shape[1], math.prod(p.shape[2:]))
    return out, xp.reshape(p, shape), xp.reshape(g, shape), weight, ok


# ---------------------------------------------------------------------------------------------
# Per-class statistics and the ratio
# ---------------------------------------------------------------------------------------------


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


def overlap(
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
    check_flags(name, squared=squared, batch=batch, soft_label=soft_label)
    out, p, g, weight, ok = probabilities_and_targets(
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
    if ok is not None:  # unchecked labels: a sample holding a bad one (any, batch=True) is NaN
        tp = invalid_as_nan(tp, xp.all(ok) if batch else xp.expand_dims(ok, axis=1), xp)
    return xp, out, tp, sp, sg, weight


def safe_ratio(num: Any, den: Any, xp: Any) -> Any:
    """num / den, and 1 (perfect overlap) where den == 0: a class absent from prediction
    and target with ``smooth_dr=0``. The inner where keeps the gradient finite there. The
    mask is ``den == 0`` (not ``den > 0``) so a NaN input reaches the ratio (MONAI: NaN)."""
    empty = den == 0
    return xp.where(empty, xp.ones_like(den), num / xp.where(empty, xp.ones_like(den), den))


def finish_overlap(loss: Any, weight: Any, reduction: str, out: Any, xp: Any) -> Any:
    """Scale by the class weight, then reduce: ``mean`` is the plain mean (MONAI)."""
    if weight is not None:
        loss = loss * weight
    return finish(reduce(loss, reduction, xp=xp), out, xp)
