"""Margin classification losses: soft margins, multi-class and multi-label hinges.

``soft_margin_loss``, ``multilabel_soft_margin_loss``, ``multi_margin_loss`` and
``multilabel_margin_loss`` have torch's names, arguments, defaults and results (torch's
``-1``-terminated multi-label targets included). ``hinge_loss``, ``squared_hinge_loss`` and
``categorical_hinge_loss`` follow Keras 3 (torch has none of them), with arrayloss's
``reduction=`` conventions. They belong to the ``classification`` family of the registry.

Every loss here is JIT-safe: the hinge's ``max(0, z)`` is a ``where`` or ``relu``
(gradient 0 at the kink, as torch's own margin kernels), the ``-1`` terminator of
``multilabel_margin_loss`` is a mask computed on the device and Keras's {0, 1} -> {-1, 1}
label conversion a ``cond`` (``lax.cond`` under ``jax.jit``). On concrete arrays
``multilabel_margin_loss`` reads the longest list's length, to bound its work, and the
Keras hinges read the conversion's test.
"""

from __future__ import annotations

import math
import operator
from typing import Any

from ._lib import _create as create
from ._lib import (
    check_floating,
    check_index_target,
    check_labels_in_range,
    check_option,
    check_real_scalar,
    check_reduction,
    check_same_shape,
    finish,
    is_concrete,
    namespace_of,
    native_loss,
    promote_floating,
    reduce,
    register,
)
from ._lib._chunk import chunked_scan
from ._lib._dtypes import index_dtype
from ._lib._plans import delegate
from ._lib._primitives import (
    all_zero_or_one,
    log_sigmoid,
    native_checks_labels,
    relu,
    softplus,
    take_along_axis,
    value_range,
)
from ._lib._scan import cond
from ._lib._validation import invalid_as_nan, labels_in_range, shape_str

__all__ = [
    "categorical_hinge_loss",
    "hinge_loss",
    "multi_margin_loss",
    "multilabel_margin_loss",
    "multilabel_soft_margin_loss",
    "soft_margin_loss",
    "squared_hinge_loss",
]

_FAMILY = "classification"

def _positive_part(z: Any, xp: Any) -> Any:
    """max(z, 0) as a ``where``: its gradient is 0 at z == 0 (torch's margin kernels use
    ``z > 0`` too), where ``maximum`` would split it. A NaN ``z`` gives 0, as torch's
    multi_margin/multilabel_margin kernels (``if (z > 0) sum += z``) do."""
    return xp.where(z > 0, z, xp.zeros_like(z))


def _check_broadcastable(loss: str, arg: str, w: Any, shape: tuple[int, ...]) -> None:
    ws = tuple(w.shape)
    ok = len(ws) <= len(shape) and all(a in (1, b) for a, b in zip(ws[::-1], shape[::-1]))
    check_option(
        loss,
        arg,
        f"an array of shape {shape_str(ws)}",
        ok,
        f"broadcastable to the input shape {shape_str(shape)}",
    )


def _check_class_input(loss: str, input: Any, max_ndim: int = 2) -> None:
    if input.ndim > max_ndim:
        raise ValueError(
            f"{loss}: `input` must have shape (C,) or (N, C), got {shape_str(input.shape)}"
        )
    if input.ndim and input.shape[-1] == 0:
        raise ValueError(
            f"{loss}: `input` must have at least one class, got shape {shape_str(input.shape)}"
        )


def _keras_hinge(
    input: Any, target: Any, reduction: str, square: bool, labels: str, xp: Any
) -> Any:
    """Keras's hinges, reduced. ``labels="auto"`` is Keras's
    ``convert_binary_labels_to_hinge``: if every label is 0 or 1 (over the whole target
    array, as Keras decides), they are mapped to -1/1, otherwise used as given. The choice
    is a ``cond`` on the 0-d test: a host branch on concrete arrays, ``lax.cond`` under
    ``jax.jit`` (each branch one fused pass), a ``where`` only where neither applies; the
    loss and its reduction are inside each branch, so no converted label array is
    materialised. ``"signed"`` and ``"binary"`` name the labels' form and skip the test,
    a read of the whole target array (optax's ``hinge_loss`` takes its labels as given)."""

    def loss_with(binary: bool) -> Any:
        def branch(x: Any, t: Any) -> Any:
            z = relu(1 - (2 * t - 1 if binary else t) * x, xp=xp)
            return reduce(z * z if square else z, reduction, xp=xp)

        return branch

    if labels != "auto":
        return loss_with(labels == "binary")(input, target)
    is_binary = all_zero_or_one(target, xp=xp)
    return cond(is_binary, loss_with(True), loss_with(False), input, target, xp=xp)


_HINGE_LABELS = ("auto", "signed", "binary")


# ---------------------------------------------------------------------------------------------
# torch's margin losses
# ---------------------------------------------------------------------------------------------


@register(
    _FAMILY,
    class_name="SoftMarginLoss",
    delegates=True,
    torch="torch.nn.functional.soft_margin_loss",
    sample="logits_sign",
)
def soft_margin_loss(
    input: Any,
    target: Any,
    /,
    *,
    reduction: str = "mean",
    xp: Any = None,
) -> Any:
    r"""Two-class logistic loss on labels :math:`y \in \{-1, 1\}`.

    .. math:: \ell_i = \log\left(1 + e^{-y_i x_i}\right)

    Parameters
    ----------
    input : array, shape (*)
        Scores (logits), real floating.
    target : array, shape (*)
        Labels, normally -1 or 1 (any real value is used as given), same shape as ``input``.
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns the elementwise losses of shape (*).
    xp : namespace, optional
        Array namespace of the arguments, to skip inspecting them.

    Returns
    -------
    array
        A 0-d array, or shape (*) for ``reduction="none"``, in the input's dtype.

    Notes
    -----
    Computed as ``softplus(-y x)`` = :math:`\max(-yx, 0) + \log(1 + e^{-|yx|})`, finite for
    any margin; torch evaluates ``log1p(exp(-y x))``, which overflows to ``inf`` for
    :math:`-yx > 88` in float32 (709 in float64). Elsewhere the results are torch's.
    Unlike torch, a ``target`` of another shape is an error, not broadcast.

    PyTorch equivalent: ``torch.nn.functional.soft_margin_loss``.

    Examples
    --------
    >>> import numpy as np, arrayloss
    >>> x, y = np.array([2.0, -1.0, 0.0]), np.array([1.0, 1.0, -1.0])
    >>> print(round(float(arrayloss.soft_margin_loss(x, y)), 6))
    0.711112
    """
    name = "soft_margin_loss"
    xp = namespace_of(name, input=input, target=target, xp=xp)
    check_reduction(name, reduction)
    check_same_shape(name, "input", input, "target", target)
    out, _, (input, target) = promote_floating(name, xp, input=input, target=target)
    # torch's kernel is arrayloss's own formula in three torch calls
    if (native := native_loss(name, xp)) is not None:
        return delegate(native, (input, target), {"reduction": reduction}, out=out, xp=xp)
    loss = softplus(input * -target, xp=xp)
    return finish(reduce(loss, reduction, xp=xp), out, xp)


@register(
    _FAMILY,
    class_name="MultiLabelSoftMarginLoss",
    torch="torch.nn.functional.multilabel_soft_margin_loss",
    sample="logits_binary",
)
def multilabel_soft_margin_loss(
    input: Any,
    target: Any,
    /,
    *,
    weight: Any = None,
    reduction: str = "mean",
    xp: Any = None,
) -> Any:
    r"""Multi-label one-versus-all logistic loss, averaged over the classes.

    .. math:: \ell_n = -\frac{1}{C} \sum_{c=1}^{C} w_c \left[ y_{nc} \log\sigma(x_{nc})
              + (1 - y_{nc}) \log\sigma(-x_{nc}) \right]

    Parameters
    ----------
    input : array, shape (C,), (N, C) or (N, ..., C)
        Scores (logits); the classes are the last axis, as in torch.
    target : array, same shape as ``input``
        Labels in {0, 1} (or probabilities), floating, integer or boolean.
    weight : array, optional
        Per-class weights of shape (C,), or any shape broadcastable to the input's.
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns one loss per sample, of shape ``input.shape[:-1]`` (a 0-d array
        for an unbatched (C,) input); ``"mean"`` averages those (it does not divide by the
        weights).
    xp : namespace, optional

    Returns
    -------
    array
        A 0-d array, or shape ``input.shape[:-1]`` for ``reduction="none"``.

    Notes
    -----
    :math:`\log\sigma` is evaluated as ``-softplus(-x)``, finite for logits of any size.
    Unlike torch, a ``target`` of another shape is an error, not broadcast.

    PyTorch equivalent: ``torch.nn.functional.multilabel_soft_margin_loss``.

    Examples
    --------
    >>> import numpy as np, arrayloss
    >>> x = np.array([[2.0, -1.0, 0.5], [0.0, 3.0, -2.0]])
    >>> y = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    >>> print(arrayloss.multilabel_soft_margin_loss(x, y, reduction="none").round(6))
    [0.304756 0.289554]
    """
    name = "multilabel_soft_margin_loss"
    xp = namespace_of(name, input=input, target=target, weight=weight, xp=xp)
    check_reduction(name, reduction)
    if input.ndim < 1:
        raise ValueError(
            f"{name}: `input` must have a class axis (shape (C,) or (N, C)), got a 0-d array"
        )
    check_same_shape(name, "input", input, "target", target)
    if weight is not None:
        check_floating(name, "weight", weight, xp)
        _check_broadcastable(name, "weight", weight, tuple(input.shape))
    out, _, (input, target, weight) = promote_floating(
        name, xp, input=input, target=target, weight=weight
    )
    loss = -(target * log_sigmoid(input, xp=xp) + (1 - target) * log_sigmoid(-input, xp=xp))
    if weight is not None:
        loss = loss * weight
    num_classes = input.shape[-1]
    loss = xp.sum(loss, axis=-1) / num_classes
    return finish(reduce(loss, reduction, xp=xp), out, xp)


@register(
    _FAMILY,
    class_name="MultiMarginLoss",
    delegates=True,
    torch="torch.nn.functional.multi_margin_loss",
    optax="optax.losses.multiclass_hinge_loss (p=1, margin=1, without the 1/C)",
    sample="logits_index",
)
def multi_margin_loss(
    input: Any,
    target: Any,
    /,
    *,
    p: int = 1,
    margin: float = 1.0,
    weight: Any = None,
    reduction: str = "mean",
    xp: Any = None,
) -> Any:
    r"""Multi-class hinge loss (Weston & Watkins), torch's ``MultiMarginLoss``.

    .. math:: \ell_n = \frac{1}{C} \sum_{i \ne y_n}
              w_{y_n} \max\left(0,\ \text{margin} - x_{n y_n} + x_{n i}\right)^p

    Parameters
    ----------
    input : array, shape (N, C) or (C,)
        Class scores.
    target : array, shape (N,), or () or (1,) for an unbatched input
        Class indices in [0, C), of any integer dtype.
    p : {1, 2}
        Exponent of the hinge.
    margin : float
        The margin (any real number, as in torch).
    weight : array, optional, shape (C,)
        Per-class weights; the term of sample :math:`n` is scaled by the weight of its
        *target* class :math:`w_{y_n}` (torch).
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns one loss per sample, of ``target``'s shape. ``"mean"`` divides
        by the number of samples, with or without ``weight`` (torch).
    xp : namespace, optional

    Returns
    -------
    array
        A 0-d array, or ``target``'s shape for ``reduction="none"``.

    Notes
    -----
    The sum is divided by the number of classes :math:`C`, as in torch. The hinge is
    ``where(z > 0, z, 0)``: its gradient at :math:`z = 0` is 0, as in torch's kernel.
    Labels out of range raise ``ValueError`` on host arrays. Where the labels are not
    checked (traced, lazy or accelerator arrays, ``check_values="never"``), an out-of-range
    label gives NaN.

    PyTorch equivalent: ``torch.nn.functional.multi_margin_loss`` (which accepts only int64
    targets; arrayloss accepts any integer dtype).

    References
    ----------
    J. Weston and C. Watkins, "Support vector machines for multi-class pattern
    recognition", ESANN 1999.

    Examples
    --------
    >>> import numpy as np, arrayloss
    >>> x = np.array([[0.1, 0.2, 0.4, 0.8]])
    >>> print(round(float(arrayloss.multi_margin_loss(x, np.array([3]))), 6))
    0.325
    """
    name = "multi_margin_loss"
    xp = namespace_of(name, input=input, target=target, weight=weight, xp=xp)
    check_reduction(name, reduction)
    check_option(name, "p", p, not isinstance(p, bool) and p in (1, 2), "1 or 2")
    margin = check_real_scalar(name, "margin", margin)
    check_floating(name, "input", input, xp)
    _check_class_input(name, input)
    check_index_target(name, "target", target, xp)
    batched = input.ndim == 2
    n = input.shape[0] if batched else 1
    want = ((n,),) if batched else ((), (1,))
    if tuple(target.shape) not in want:
        raise ValueError(
            f"{name}: `target` must have shape {' or '.join(shape_str(s) for s in want)} for "
            f"an input of shape {shape_str(input.shape)}, got {shape_str(target.shape)}"
        )
    num_classes = input.shape[-1] if input.ndim else 1
    if weight is not None:
        check_floating(name, "weight", weight, xp)
        if tuple(weight.shape) != (num_classes,):
            raise ValueError(
                f"{name}: `weight` must have shape ({num_classes},) (one weight "
                f"per class), got {shape_str(weight.shape)}"
            )
    # torch's kernel checks the labels (and returns garbage for N = 0: not delegated)
    native = native_loss(name, xp) if n and num_classes else None
    defer = native is not None and native_checks_labels(name, target, xp)
    # labels not read (traced, lazy, accelerator, check_values="never"): NaN-marked below
    unchecked = not defer and not (
        check_labels_in_range(name, "target", target, num_classes, xp) or is_concrete(target, xp)
    )
    out, _, (input, weight) = promote_floating(name, xp, input=input, weight=weight)
    if native is not None:

        def recheck(input: Any, target: Any, weight: Any) -> None:
            check_labels_in_range(name, "target", target, num_classes, xp)

        opts = {"p": p, "margin": margin, "reduction": reduction}
        return delegate(
            native, (input, target, weight), opts, out=out, xp=xp,
            recheck=recheck if defer else None, keep=defer,
        )

    x = xp.reshape(input, (n, num_classes))
    t = xp.reshape(target, (n, 1))
    # A boolean mask of the true class selects its score (and weight): elementwise ops and
    # a sum, any integer dtype, every backend (a gather would need int64 indices on torch).
    is_true = t == xp.reshape(create.arange(num_classes, t, xp=xp, dtype=t.dtype), (1, num_classes))
    zero = xp.zeros_like(x)
    x_true = xp.sum(xp.where(is_true, x, zero), axis=1, keepdims=True)  # (N, 1)
    h = _positive_part(margin - x_true + x, xp)
    if p == 2:
        h = h * h
    h = xp.where(is_true, zero, h)  # the sum runs over i != y
    loss = xp.sum(h, axis=1) / num_classes
    if weight is not None:
        w = xp.reshape(weight, (1, num_classes))
        loss = loss * xp.sum(xp.where(is_true, w, xp.zeros_like(w)), axis=1)
    loss = xp.reshape(loss, tuple(target.shape))
    if unchecked:
        # an out-of-range label matches no class: its loss would look like a real one
        loss = invalid_as_nan(loss, labels_in_range(target, num_classes, xp), xp)
    return finish(reduce(loss, reduction, xp=xp), out, xp)


# Elements of one chunk's (rows, J, C) pairwise terms in multilabel_margin_loss.
_PAIR_CHUNK_ELEMENTS = 2**22


def _multilabel_rows(x: Any, t: Any, first_end: Any, num_classes: int, xp: Any) -> Any:
    """Per row of a chunk: (1/C) sum over listed positions j and non-target classes i of
    max(0, 1 - x[t_j] + x_i); ``t`` holds the first J list positions, ``first_end`` where
    each row's list ends."""
    n_pos = t.shape[1]
    valid = create.arange(n_pos, t, xp=xp, dtype=t.dtype) < first_end  # (rows, J)
    safe = xp.where(valid, t, xp.zeros_like(t))
    # non_target[n, i]: class i is listed nowhere before the row's first -1
    classes = create.arange(num_classes, t, xp=xp, dtype=t.dtype)
    listed = xp.any((safe[:, :, None] == classes) & valid[:, :, None], axis=1)  # (rows, C)
    non_target = xp.astype(~listed, x.dtype)
    x_listed = take_along_axis(x, xp.astype(safe, index_dtype(xp)), axis=1, xp=xp)  # (rows, J)
    # Every (listed position j, non-target class i) pair; a class listed twice counts
    # twice, as in torch's loop over the list.
    z = 1 - x_listed[:, :, None] + x[:, None, :]  # (rows, J, C)
    pair_weight = xp.astype(valid, x.dtype)[:, :, None] * non_target[:, None, :]
    return xp.sum(_positive_part(z, xp) * pair_weight, axis=(1, 2)) / num_classes


def _check_label_lists(loss: str, target: Any, num_classes: int, xp: Any) -> bool:
    """multilabel_margin_loss's targets lie in [-1, C) (checked on concrete arrays).
    Returns False where the values could not be read (see ``is_concrete``)."""
    if not is_concrete(target, xp):
        return False
    if math.prod(target.shape) == 0:
        return True
    lo, hi = value_range(target, xp=xp)
    if lo < -1 or hi >= num_classes:
        raise ValueError(
            f"{loss}: `target` holds class indices that must lie in "
            f"[-1, {num_classes - 1}] (-1 ends each list), found {lo if lo < -1 else hi}"
        )
    return True


@register(
    _FAMILY,
    class_name="MultiLabelMarginLoss",
    delegates=True,
    torch="torch.nn.functional.multilabel_margin_loss",
    sample="logits_multilabel_index",
)
def multilabel_margin_loss(
    input: Any,
    target: Any,
    /,
    *,
    reduction: str = "mean",
    xp: Any = None,
) -> Any:
    r"""Multi-label hinge loss with torch's ``-1``-terminated target lists.

    .. math:: \ell_n = \frac{1}{C} \sum_{j \in J_n} \sum_{i \notin Y_n}
              \max\left(0,\ 1 - (x_{n, y_{nj}} - x_{n i})\right)

    where :math:`J_n` are the positions of ``target[n]`` before its first ``-1`` and
    :math:`Y_n = \{y_{nj} : j \in J_n\}` the set of target classes.

    Parameters
    ----------
    input : array, shape (N, C) or (C,)
        Class scores.
    target : array, same shape as ``input``, integer
        For each sample, the target class indices first, then ``-1``; everything after the
        first ``-1`` is ignored (a row without ``-1`` lists ``C`` targets). Values must lie
        in [-1, C), also after the terminator (torch checks them all).
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns one loss per sample, shape (N,) (0-d for an unbatched input).
    xp : namespace, optional

    Returns
    -------
    array
        A 0-d array, or shape (N,) for ``reduction="none"``.

    Notes
    -----
    The positions before the first ``-1`` are a mask ``j < min{k : y_k = -1}``, computed on
    the device, so the loss works under
    ``jax.jit``/``vmap``, ``torch.compile`` and on lazy Dask arrays. On concrete arrays the
    pairwise terms cover the positions before the longest list only (lists of length
    :math:`\le J`: :math:`O(N J C)` work, as torch's kernel); traced, every position may
    hold a target (:math:`O(N C^2)` work). Rows go in chunks of about :math:`2^{22}`
    pairwise terms, so memory stays bounded either way. A class listed twice counts twice,
    as in torch. Where the labels are not checked (traced, lazy or accelerator arrays,
    ``check_values="never"``), a row with a value outside [-1, C) gives NaN.

    PyTorch equivalent: ``torch.nn.functional.multilabel_margin_loss`` (int64 targets only;
    arrayloss accepts any integer dtype).

    Examples
    --------
    >>> import numpy as np, arrayloss
    >>> x = np.array([[0.1, 0.2, 0.4, 0.8]])
    >>> y = np.array([[3, 0, -1, 1]])
    >>> print(round(float(arrayloss.multilabel_margin_loss(x, y)), 6))
    0.85
    """
    name = "multilabel_margin_loss"
    xp = namespace_of(name, input=input, target=target, xp=xp)
    check_reduction(name, reduction)
    check_floating(name, "input", input, xp)
    _check_class_input(name, input)
    check_index_target(name, "target", target, xp)
    check_same_shape(name, "input", input, "target", target)
    if xp.isdtype(target.dtype, "unsigned integer"):
        target = xp.astype(target, xp.int32)  # signed, so that -1 compares as -1 (torch)
    n = input.shape[0] if input.ndim == 2 else 1
    num_classes = input.shape[-1] if input.ndim else 1
    # torch's kernel checks the labels (and returns garbage for N = 0: not delegated)
    native = native_loss(name, xp) if n and num_classes else None
    defer = native is not None and native_checks_labels(name, target, xp)
    unchecked = not defer and not _check_label_lists(name, target, num_classes, xp)
    out, _, (input,) = promote_floating(name, xp, input=input)
    if native is not None:

        def recheck(input: Any, target: Any) -> None:
            _check_label_lists(name, target, num_classes, xp)

        return delegate(
            native, (input, target), {"reduction": reduction}, out=out, xp=xp,
            recheck=recheck if defer else None, keep=defer,
        )

    x = xp.reshape(input, (n, num_classes))
    t = xp.reshape(target, (n, num_classes))
    row_ok = None
    if unchecked:
        # values not read: a bad one gathers class 0 (never -1, so the lists keep their
        # ends) and its row's loss is NaN
        elem_ok = (t >= -1) & (t < num_classes)
        row_ok = xp.all(elem_ok, axis=1)
        t = xp.where(elem_ok, t, xp.zeros_like(t))
    # The first -1 of each row (num_classes if none): positions j before it are targets.
    pos = create.arange(num_classes, t, xp=xp, dtype=t.dtype)
    first_end = xp.min(xp.where(t == -1, pos, xp.full_like(t, num_classes)), axis=1, keepdims=True)
    # Only list positions before the longest list matter. On concrete arrays that length is
    # read (torch's kernel loops over each list: O(N J C) work for lists of length <= J);
    # traced or lazy, every position may hold a target (J = C).
    longest = num_classes
    if num_classes and n and is_concrete(first_end, xp):
        longest = int(xp.max(first_end))
    t = t[:, :longest]
    # Rows in chunks, so the (rows, J, C) pairwise terms stay near 2**22 elements.
    chunk = max(1, _PAIR_CHUNK_ELEMENTS // max(1, longest * num_classes))

    def rows(carry: Any, xs: tuple[Any, ...]) -> tuple[Any, tuple[Any, ...]]:
        xc, tc, ec = xs
        return carry, (_multilabel_rows(xc, tc, ec, num_classes, xp),)

    _, (loss,) = chunked_scan(
        rows,
        (),
        (x, t, first_end),
        chunk=chunk,
        pad=(0.0, -1, 0),
        xp=xp,
    )
    if row_ok is not None:
        loss = invalid_as_nan(loss, row_ok, xp)
    if input.ndim < 2:
        loss = xp.reshape(loss, ())
    return finish(reduce(loss, reduction, xp=xp), out, xp)


# ---------------------------------------------------------------------------------------------
# Keras's hinge losses
# ---------------------------------------------------------------------------------------------


def _hinge_prepare(
    name: str, input: Any, target: Any, reduction: str, labels: str, xp: Any
) -> Any:
    xp = namespace_of(name, input=input, target=target, xp=xp)
    check_reduction(name, reduction)
    check_option(name, "labels", labels, labels in _HINGE_LABELS, "'auto', 'signed' or 'binary'")
    check_same_shape(name, "input", input, "target", target)
    out, _, (input, target) = promote_floating(name, xp, input=input, target=target)
    return xp, out, input, target


@register(
    _FAMILY,
    class_name="HingeLoss",
    keras="keras.losses.Hinge",
    optax="optax.losses.hinge_loss (unreduced; labels='signed')",
    sample="logits_sign",
)
def hinge_loss(
    input: Any,
    target: Any,
    /,
    *,
    reduction: str = "mean",
    labels: str = "auto",
    xp: Any = None,
) -> Any:
    r"""Binary hinge loss (Keras 3 semantics).

    .. math:: \ell_i = \max(0,\ 1 - y_i x_i), \qquad y_i \in \{-1, 1\}

    Parameters
    ----------
    input : array, shape (*)
        Scores, real floating.
    target : array, shape (*)
        Labels in {-1, 1} or {0, 1}. {0, 1} labels are converted as Keras does.
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns the elementwise losses of shape (*).
    labels : {"auto", "signed", "binary"}
        The labels' form. ``"auto"`` (Keras's rule): {0, 1} labels when every label is 0
        or 1, else as given. ``"signed"``: used as given (optax's ``hinge_loss``);
        ``"binary"``: always mapped to ``2 y - 1``. Naming the form skips the test, one
        read of ``target``.
    xp : namespace, optional

    Returns
    -------
    array
        A 0-d array, or shape (*) for ``reduction="none"``.

    Notes
    -----
    If every label is 0 or 1, the labels are first mapped to -1/1 (``2 y - 1``), as
    Keras 3's ``convert_binary_labels_to_hinge`` does; the test is over the whole
    ``target`` array (read on concrete arrays to run one branch; ``lax.cond`` under
    ``jax.jit``). Other labels are used as given. ``labels="signed"`` or ``"binary"``
    skips the test.

    Keras equivalent: ``keras.losses.hinge`` / ``keras.losses.Hinge``. Keras's function
    returns the mean over the last axis; ``reduction="mean"`` equals ``keras.losses.Hinge()``
    and ``hinge_loss(x, y, reduction="none").mean(axis=-1)`` equals ``keras.losses.hinge``.
    The gradient at the kink :math:`y x = 1` is 0.

    Examples
    --------
    >>> import numpy as np, arrayloss
    >>> x, y = np.array([0.3, -2.0, 0.8]), np.array([1, 0, 0])  # 0/1 labels -> -1/1
    >>> print(round(float(arrayloss.hinge_loss(x, y)), 6))
    0.833333
    """
    name = "hinge_loss"
    xp, out, input, target = _hinge_prepare(name, input, target, reduction, labels, xp)
    return finish(_keras_hinge(input, target, reduction, False, labels, xp), out, xp)


@register(
    _FAMILY,
    class_name="SquaredHingeLoss",
    keras="keras.losses.SquaredHinge",
    sample="logits_sign",
)
def squared_hinge_loss(
    input: Any,
    target: Any,
    /,
    *,
    reduction: str = "mean",
    labels: str = "auto",
    xp: Any = None,
) -> Any:
    r"""Squared binary hinge loss (Keras 3 semantics).

    .. math:: \ell_i = \max(0,\ 1 - y_i x_i)^2, \qquad y_i \in \{-1, 1\}

    Parameters
    ----------
    input : array, shape (*)
        Scores, real floating.
    target : array, shape (*)
        Labels in {-1, 1} or {0, 1}. {0, 1} labels are converted as Keras does.
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns the elementwise losses of shape (*).
    labels : {"auto", "signed", "binary"}
        The labels' form. ``"auto"`` (Keras's rule): {0, 1} labels when every label is 0
        or 1, else as given. ``"signed"``: used as given (optax's ``hinge_loss``);
        ``"binary"``: always mapped to ``2 y - 1``. Naming the form skips the test, one
        read of ``target``.
    xp : namespace, optional

    Returns
    -------
    array
        A 0-d array, or shape (*) for ``reduction="none"``.

    Notes
    -----
    If every label is 0 or 1, the labels are first mapped to -1/1 (``2 y - 1``), as
    Keras 3's ``convert_binary_labels_to_hinge`` does; the test is over the whole
    ``target`` array (read on concrete arrays to run one branch; ``lax.cond`` under
    ``jax.jit``). Other labels are used as given. ``labels="signed"`` or ``"binary"``
    skips the test.

    Keras equivalent: ``keras.losses.squared_hinge`` / ``keras.losses.SquaredHinge``
    (``reduction="mean"`` equals the class; the function is the mean over the last axis
    of ``reduction="none"``).

    Examples
    --------
    >>> import numpy as np, arrayloss
    >>> x, y = np.array([0.3, -2.0, 0.8]), np.array([1.0, -1.0, -1.0])
    >>> print(round(float(arrayloss.squared_hinge_loss(x, y)), 6))
    1.243333
    """
    name = "squared_hinge_loss"
    xp, out, input, target = _hinge_prepare(name, input, target, reduction, labels, xp)
    return finish(_keras_hinge(input, target, reduction, True, labels, xp), out, xp)


@register(
    _FAMILY,
    class_name="CategoricalHingeLoss",
    keras="keras.losses.CategoricalHinge",
    sample="logits_onehot",
)
def categorical_hinge_loss(
    input: Any,
    target: Any,
    /,
    *,
    reduction: str = "mean",
    axis: int = -1,
    xp: Any = None,
) -> Any:
    r"""Categorical (Crammer-Singer) hinge loss on one-hot targets (Keras 3 semantics).

    .. math:: \ell_n = \max\left(0,\ 1 + \max_c (1 - y_{nc}) x_{nc} - \sum_c y_{nc} x_{nc}
              \right)

    Parameters
    ----------
    input : array, shape (..., C, ...)
        Class scores, the classes along ``axis``.
    target : array, same shape as ``input``
        One-hot labels in {0, 1} (floating, integer or boolean).
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns one loss per sample: the input's shape without ``axis``.
    axis : int
        The class axis; the last one by default, as in Keras (the only peer).
    xp : namespace, optional

    Returns
    -------
    array
        A 0-d array, or the input's shape without ``axis`` for ``reduction="none"``.

    Notes
    -----
    The labels are used as given, as in Keras 3's ``categorical_hinge`` (Keras documents
    {-1, 1} or {0, 1} labels but converts neither; only {0, 1} one-hot labels give the
    Crammer-Singer loss above). Unlike ``hinge_loss``, no {0, 1} -> {-1, 1} conversion
    takes place. The gradient of the outer max at 0 is 0.

    Keras equivalent: ``keras.losses.categorical_hinge`` (same values for ``axis=-1`` and
    ``reduction="none"``) / ``keras.losses.CategoricalHinge`` (``reduction="mean"``).

    References
    ----------
    K. Crammer and Y. Singer, "On the algorithmic implementation of multiclass kernel-based
    vector machines", JMLR 2001.

    Examples
    --------
    >>> import numpy as np, arrayloss
    >>> x = np.array([[2.0, 0.5, -1.0], [0.2, 0.4, 0.3]])
    >>> y = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    >>> print(arrayloss.categorical_hinge_loss(x, y, reduction="none"))
    [0.  1.2]
    """
    name = "categorical_hinge_loss"
    xp = namespace_of(name, input=input, target=target, xp=xp)
    check_reduction(name, reduction)
    try:
        axis = operator.index(axis)
    except TypeError:
        raise TypeError(f"{name}: `axis` must be an int, got {type(axis).__name__}") from None
    check_option(
        name,
        "axis",
        axis,
        -input.ndim <= axis < input.ndim,
        f"a valid axis of the {input.ndim}-d input",
    )
    check_same_shape(name, "input", input, "target", target)
    out, _, (input, target) = promote_floating(name, xp, input=input, target=target)
    positive = xp.sum(target * input, axis=axis)
    negative = xp.max((1 - target) * input, axis=axis)
    loss = relu(negative - positive + 1, xp=xp)
    return finish(reduce(loss, reduction, xp=xp), out, xp)
