"""Softmax losses on class scores: ``cross_entropy``, ``nll_loss``, ``focal_loss`` and
``poly1_cross_entropy``, with their shared target checks, gather and weighted mean."""

from __future__ import annotations

from numbers import Number
from typing import Any, NamedTuple

from .._lib import _create as create
from .._lib import (
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
from .._lib._compat import isdtype
from .._lib._dtypes import index_dtype as _index_dtype
from .._lib._plans import Delegate, delegate
from .._lib._primitives import (
    log_softmax,
    logsumexp,
    native_checks_labels,
    sum_ratio,
    take_along_axis,
)
from .._lib._validation import (
    check_ignore_index,
    class_axis,
    invalid_as_nan,
    is_concrete,
    labels_in_range,
    shape_str,
)

__all__ = ["cross_entropy", "focal_loss", "nll_loss", "poly1_cross_entropy"]

_FAMILY = "classification"


# ---------------------------------------------------------------------------------------------
# Shared pieces of the softmax losses
# ---------------------------------------------------------------------------------------------

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


# torch's kernels take an int: with ignore_index=None arrayloss checks the labels itself
# (every one in [0, C) on eager arrays), so this stand-in never matches a label it passes
_NO_IGNORE = -(2**63)


def _check_target(
    loss: str,
    input: Any,
    target: Any,
    cax: int,
    xp: Any,
    *,
    probs: bool,
    ignore_index: Any,
    check_labels: bool = True,
) -> tuple[bool, bool, bool]:
    """Validate ``target``. Returns ``(probabilities, all_valid, unchecked)``: True for class
    probabilities (floating), False for indices; ``all_valid`` when every index was seen to
    lie in [0, C) and ``ignore_index`` is not a class, so no target is ignored and the
    loss may skip its ignore mask (False whenever the labels were not read: traced, lazy,
    or ``check_labels=False`` because the native kernel checks them); always True with
    ``ignore_index=None``, which ignores no target. ``unchecked``: the labels could not be
    read (traced, lazy, accelerator, ``check_values="never"``), so ``_pick`` NaN-marks the
    out-of-range ones."""
    if probs and isdtype(target.dtype, "real floating", xp):
        if tuple(target.shape) != tuple(input.shape):
            raise ValueError(
                f"{loss}: `target` holds class probabilities (floating dtype) and must have "
                f"the input's shape {shape_str(input.shape)}, got {shape_str(target.shape)}; "
                f"class indices need an integer dtype"
            )
        return True, False, False
    check_index_target(loss, "target", target, xp)
    shape = tuple(input.shape)
    want = shape[:cax] + shape[cax + 1 :]
    if tuple(target.shape) != want:
        raise ValueError(
            f"{loss}: `target` holds class indices and must have shape {shape_str(want)} "
            f"(the input's shape {shape_str(input.shape)} without the class dimension {cax}), "
            f"got {shape_str(target.shape)}"
        )
    if not check_labels:
        return False, ignore_index is None, False
    num_classes = input.shape[cax]
    in_range = _check_labels(loss, target, num_classes, ignore_index, xp)
    # only a call whose labels failed the fast check asks whether they were read at all
    unchecked = not in_range and not is_concrete(target, xp)
    all_valid = ignore_index is None or (in_range and not 0 <= ignore_index < num_classes)
    return False, all_valid, unchecked


def _check_labels(
    loss: str, target: Any, num_classes: int, ignore_index: int | None, xp: Any
) -> bool:
    if ignore_index is not None and not _representable(ignore_index, target, xp):
        ignore_index = None
    return check_labels_in_range(loss, "target", target, num_classes, xp, ignore_index=ignore_index)


def _label_recheck(loss: str, num_classes: int, ignore_index: int | None, xp: Any) -> Any:
    """The label check a native kernel that checks labels itself (``native_checks_labels``)
    runs when it raises: arrayloss's ValueError for a bad label, not the backend's error."""

    def recheck(input: Any, target: Any, weight: Any) -> None:
        _check_labels(loss, target, num_classes, ignore_index, xp)

    return recheck


_IINFO: dict[tuple[int, Any], tuple[int, int]] = {}


def _representable(value: int, target: Any, xp: Any) -> bool:
    """Whether ``value`` fits ``target``'s integer dtype (-100 does not fit uint8: then no
    target can equal it, and comparing would overflow on strict array libraries)."""
    key = (id(xp), target.dtype)
    bounds = _IINFO.get(key)
    if bounds is None:
        info = xp.iinfo(target.dtype)
        bounds = _IINFO[key] = (int(info.min), int(info.max))
    return bounds[0] <= value <= bounds[1]


def _class_view(w: Any, ndim: int, cax: int, xp: Any) -> Any:
    """A (C,) per-class array reshaped to broadcast along dimension ``cax`` of ``ndim``."""
    shape = [1] * ndim
    shape[cax] = w.shape[0]
    return xp.reshape(w, tuple(shape))


def _pick(
    logp: Any,
    target: Any,
    cax: int,
    ignore_index: int | None,
    xp: Any,
    all_valid: bool = False,
    unchecked: bool = False,
) -> tuple[Any, Any, Any]:
    """``logp`` at the target class, the validity mask, and the gather-safe target.

    Ignored positions gather class 0 (any valid index) and are masked by the caller with
    ``where``, so neither their value nor their gradient reaches the result. With
    ``all_valid`` (no target is ignored, see ``_check_target``) the mask is None. With
    ``unchecked`` (labels not read), an out-of-range label gathers class 0 too and its
    picked value is NaN, so its loss and any mean or sum over it are NaN.
    """
    if all_valid or ignore_index is None:
        valid = None
    elif _representable(ignore_index, target, xp):
        valid = target != ignore_index
    else:
        valid = create.ones(target.shape, target, xp=xp, dtype=xp.bool)
    ok = None
    if unchecked:
        ii = ignore_index
        if ii is not None and not _representable(ii, target, xp):
            ii = None
        ok = labels_in_range(target, logp.shape[cax], xp, ignore_index=ii)
    keep = valid if ok is None else (ok if valid is None else valid & ok)
    safe = target if keep is None else xp.where(keep, target, xp.zeros_like(target))
    index_dtype = _index_dtype(xp)
    if safe.dtype != index_dtype:
        # gathers take the library's indexing dtype (torch: int64 only); target-sized cast
        safe = xp.astype(safe, index_dtype)
    picked = xp.squeeze(
        take_along_axis(logp, xp.expand_dims(safe, axis=cax), axis=cax, xp=xp), axis=cax
    )
    if ok is not None:
        picked = invalid_as_nan(picked, ok, xp)
    return picked, valid, safe


def _target_weight(weight: Any, safe: Any, valid: Any, dtype: Any, xp: Any) -> Any:
    """The class weight of each target (1 without ``weight``), 0 where ignored; None (every
    weight 1) without ``weight`` when ``valid`` is None (no target ignored)."""
    if weight is None:
        return None if valid is None else xp.astype(valid, dtype)
    w = xp.reshape(xp.take(weight, xp.reshape(safe, (-1,)), axis=0), tuple(safe.shape))
    return w if valid is None else xp.where(valid, w, xp.zeros_like(w))


def _weighted_mean_reduce(loss: Any, denom: Any, reduction: str, xp: Any) -> Any:
    """``loss`` already carries its weights; ``mean`` divides by the summed weights (torch's
    nll_loss: 0/0 = nan when every target is ignored or weighs 0). ``denom`` None: every
    weight is 1, the plain mean."""
    if reduction == "mean" and denom is not None:
        return sum_ratio(loss, denom, xp=xp)
    return reduce(loss, reduction, xp=xp)


# ---------------------------------------------------------------------------------------------
# cross_entropy, nll_loss: one front end, one hand-over to torch's kernel
# ---------------------------------------------------------------------------------------------


class _Checked(NamedTuple):
    """A checked softmax-loss call: its namespace, result dtype and promoted arrays, the
    class dimension, and what the target checks found (see ``_check_target``)."""

    xp: Any
    out: Any
    input: Any
    target: Any
    weight: Any
    cax: int
    num_classes: int
    ignore_index: int | None
    label_smoothing: float
    probs: bool
    all_valid: bool
    unchecked: bool
    native: Any
    defer: bool


def _check_call(
    name: str,
    input: Any,
    target: Any,
    weight: Any,
    ignore_index: Any,
    reduction: str,
    label_smoothing: Any,
    axis: Any,
    xp: Any,
    *,
    probs: bool,
) -> _Checked:
    """The checks ``cross_entropy`` (``probs=True``: a floating target holds class
    probabilities) and ``nll_loss`` share; ``label_smoothing`` None: not an option."""
    xp = namespace_of(name, input=input, target=target, weight=weight, xp=xp)
    check_reduction(name, reduction)
    ignore_index = check_ignore_index(name, ignore_index)
    ls = 0.0
    if label_smoothing is not None:
        ls = check_real_scalar(name, "label_smoothing", label_smoothing)
        check_option(
            name, "label_smoothing", label_smoothing, 0.0 <= ls <= 1.0, "between 0.0 and 1.0"
        )
    check_floating(name, "input", input, xp)
    cax = class_axis(name, input, axis)
    num_classes = input.shape[cax]
    _check_class_weight(name, weight, num_classes, xp)
    native = native_loss(name, xp)
    # ignore_index=None: the kernel would let its stand-in label through, so arrayloss checks
    defer = (
        native is not None
        and ignore_index is not None
        and native_checks_labels(name, target, xp)
    )
    is_probs, all_valid, unchecked = _check_target(
        name, input, target, cax, xp, probs=probs, ignore_index=ignore_index, check_labels=not defer
    )
    if is_probs:
        out, _, (input, target, weight) = promote_floating(
            name, xp, input=input, target=target, weight=weight
        )
    else:
        out, _, (input, weight) = promote_floating(name, xp, input=input, weight=weight)
    return _Checked(
        xp, out, input, target, weight, cax, num_classes, ignore_index, ls, is_probs, all_valid,
        unchecked, native, defer,
    )


def _hand_over(name: str, c: _Checked, **options: Any) -> Delegate:
    """The whole loss as torch's kernel, classes on dimension 1 (torch's)."""
    xp, input, target = c.xp, c.input, c.target
    recheck = None
    if c.defer and not c.probs:
        recheck = _label_recheck(name, c.num_classes, c.ignore_index, xp)
    if input.ndim > 1 and c.cax != 1:
        input = xp.moveaxis(input, c.cax, 1)
        if c.probs:
            target = xp.moveaxis(target, c.cax, 1)
    options["ignore_index"] = _NO_IGNORE if c.ignore_index is None else c.ignore_index
    return delegate(
        c.native,
        (input, target, c.weight),
        options,
        out=c.out,
        xp=xp,
        recheck=recheck,
        keep=c.defer or c.probs,  # no label was read: the call is the whole check
    )


def _nll_of_picked(picked: Any, valid: Any, safe: Any, c: _Checked) -> tuple[Any, Any]:
    """``-w_t * picked`` (the per-target losses) and ``w_t`` (None: every weight 1), from
    ``_pick``'s log-probabilities at the targets, mask and gather-safe targets."""
    w_t = _target_weight(c.weight, safe, valid, picked.dtype, c.xp)
    return (-picked if w_t is None else -w_t * picked), w_t


@register(
    _FAMILY,
    class_name="CrossEntropyLoss",
    delegates=True,
    torch="torch.nn.functional.cross_entropy",
    optax="optax.losses.softmax_cross_entropy_with_integer_labels",
    keras="keras.losses.SparseCategoricalCrossentropy(from_logits=True)",
    sample="logits_index",
)
def cross_entropy(
    input: Any,
    target: Any,
    /,
    *,
    weight: Any = None,
    ignore_index: int | None = -100,
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
    ignore_index : int or None
        Index targets equal to it contribute nothing, also not to the ``mean``'s
        denominator (unused for probability targets, as in torch).
        ``None`` (not in torch): no target is ignored, so no mask and no count of the kept
        targets is built (every label must lie in [0, C), as in optax's formula; on eager
        torch the labels are then read for the check, which torch's kernel otherwise makes).
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
    Labels out of range raise ``ValueError`` on host arrays. Where the labels are not
    checked (traced, lazy or accelerator arrays, ``check_values="never"``), an out-of-range
    label gives NaN at its position. When every target is ignored, ``mean`` is ``nan``
    (0/0), as in torch. On torch the whole loss runs as ``torch.nn.functional.cross_entropy``.

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
    c = _check_call(
        name, input, target, weight, ignore_index, reduction, label_smoothing, axis, xp,
        probs=True,
    )
    ls = c.label_smoothing
    if c.native is not None:
        return _hand_over(name, c, reduction=reduction, label_smoothing=ls)
    xp, input, target, cax = c.xp, c.input, c.target, c.cax
    if not c.probs and ls == 0:
        # log p at the target = x_t - logsumexp(x): the (N, C) log-probabilities are never
        # materialised (XLA on CPU does not fuse a gather into its producer)
        lse = logsumexp(input, axis=cax, xp=xp)
        x_t, valid, safe = _pick(
            input, target, cax, c.ignore_index, xp, c.all_valid, c.unchecked
        )
        w_t = _target_weight(c.weight, safe, valid, x_t.dtype, xp)
        loss = lse - x_t if w_t is None else -w_t * (x_t - lse)
        return finish(_weighted_mean_reduce(loss, w_t, reduction, xp), c.out, xp)

    logp = log_softmax(input, axis=cax, xp=xp)
    if c.probs:
        if ls > 0:
            target = target * (1 - ls) + ls / c.num_classes
        q = target if c.weight is None else target * _class_view(c.weight, input.ndim, cax, xp)
        loss = -xp.sum(q * logp, axis=cax)
        return finish(reduce(loss, reduction, xp=xp), c.out, xp)

    picked, valid, safe = _pick(
        logp, target, cax, c.ignore_index, xp, c.all_valid, c.unchecked
    )
    loss, w_t = _nll_of_picked(picked, valid, safe, c)
    if ls > 0:
        lw = logp if c.weight is None else logp * _class_view(c.weight, input.ndim, cax, xp)
        smooth = -xp.sum(lw, axis=cax)
        if valid is not None:
            smooth = xp.where(valid, smooth, xp.zeros_like(smooth))
        loss = (1 - ls) * loss + (ls / c.num_classes) * smooth
    return finish(_weighted_mean_reduce(loss, w_t, reduction, xp), c.out, xp)


@register(
    _FAMILY,
    class_name="NLLLoss",
    delegates=True,
    torch="torch.nn.functional.nll_loss",
    sample="logprobs_index",
)
def nll_loss(
    input: Any,
    target: Any,
    /,
    *,
    weight: Any = None,
    ignore_index: int | None = -100,
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
    ignore_index : int or None
        Targets equal to it contribute nothing, also not to the ``mean``'s denominator.
        ``None`` (not in torch): no target is ignored, so no mask and no count of the kept
        targets is built (every label must lie in [0, C), as in optax's formula; on eager
        torch the labels are then read for the check, which torch's kernel otherwise makes).
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
    is ``nan`` (0/0), as in torch. Labels out of range raise ``ValueError`` or give NaN
    where they are not checked, as in :func:`cross_entropy`.

    PyTorch equivalent: ``torch.nn.functional.nll_loss`` (int64 targets only there).

    Examples
    --------
    >>> import numpy as np, arrayloss
    >>> logp = np.log(np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]]))
    >>> print(np.round(arrayloss.nll_loss(logp, np.array([0, 2])), 6))
    0.289909
    """
    name = "nll_loss"
    c = _check_call(
        name, input, target, weight, ignore_index, reduction, None, axis, xp, probs=False
    )
    if c.native is not None:
        return _hand_over(name, c, reduction=reduction)
    picked, valid, safe = _pick(
        c.input, c.target, c.cax, c.ignore_index, c.xp, c.all_valid, c.unchecked
    )
    loss, w_t = _nll_of_picked(picked, valid, safe, c)
    return finish(_weighted_mean_reduce(loss, w_t, reduction, c.xp), c.out, c.xp)


# ---------------------------------------------------------------------------------------------
# Softmax focal loss and PolyLoss
# ---------------------------------------------------------------------------------------------


@register(
    _FAMILY,
    class_name="FocalLoss",
    monai="monai.losses.FocalLoss(use_softmax=True)",
    sample="logits_index",
)
def focal_loss(
    input: Any,
    target: Any,
    /,
    *,
    gamma: float = 2.0,
    alpha: Any = None,
    weight: Any = None,
    ignore_index: int | None = -100,
    reduction: str = "mean",
    axis: int = 1,
    xp: Any = None,
) -> Any:
    r"""Softmax (multi-class) focal loss on class-index targets.

    .. math:: \ell_n = -\alpha_{y_n} w_{y_n} (1 - p_{n, y_n})^\gamma \log p_{n, y_n},
              \qquad \text{mean} = \frac{\sum_n \ell_n}{\sum_n w_{y_n}}

    over the targets not equal to ``ignore_index``; :math:`p = \mathrm{softmax}(x)` along
    the class dimension. With ``gamma=0`` and no ``alpha`` it is :func:`cross_entropy`.

    Parameters
    ----------
    input : array, shape (N, C, d1, ..., dK) or (C,)
        Logits, classes along ``axis``.
    target : array, shape (N, d1, ..., dK) or ()
        Class indices of any integer dtype.
    gamma : float
        Focusing exponent, >= 0.
    alpha : float or array of shape (C,), optional
        Balancing factor, per class (an array) or for every class (a float); it scales the
        loss but not the ``mean``'s denominator (as torchvision's ``alpha``).
    weight : array, shape (C,), optional
        Class weights; ``mean`` divides by the summed weights of the non-ignored targets,
        as in :func:`cross_entropy`.
    ignore_index : int or None
        Targets equal to it contribute nothing; ``None`` ignores no target (every label
        must then lie in [0, C)), as :func:`cross_entropy`.
    reduction : {"mean", "sum", "none"}
    axis : int
        The class dimension of a batched input.
    xp : namespace, optional

    Returns
    -------
    array
        A 0-d array, or the target's shape for ``reduction="none"``.

    Notes
    -----
    :math:`\log p` comes from ``log_softmax`` and :math:`1 - p = -\mathrm{expm1}(\log p)`
    keeps full precision when :math:`p \to 1`, so logits of :math:`\pm 10^4` stay finite.
    Every target ignored gives ``nan`` for ``mean`` (0/0), and an out-of-range label that
    is not checked (traced, lazy, accelerator) gives NaN, as in :func:`cross_entropy`.

    References
    ----------
    T.-Y. Lin, P. Goyal, R. Girshick, K. He, P. Dollár, "Focal loss for dense object
    detection", ICCV 2017.

    Examples
    --------
    >>> import numpy as np, arrayloss
    >>> logits = np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0]])
    >>> print(np.round(arrayloss.focal_loss(logits, np.array([0, 2])), 6))
    0.006137
    """
    name = "focal_loss"
    xp = namespace_of(name, input=input, target=target, alpha=alpha, weight=weight, xp=xp)
    check_reduction(name, reduction)
    gamma = check_real_scalar(name, "gamma", gamma)
    check_option(name, "gamma", gamma, gamma >= 0, "non-negative")
    ignore_index = check_ignore_index(name, ignore_index)
    check_floating(name, "input", input, xp)
    cax = class_axis(name, input, axis)
    num_classes = input.shape[cax]
    _check_class_weight(name, weight, num_classes, xp)
    # a NumPy scalar has a shape too, but it is a number like a Python float
    alpha_arr = alpha if hasattr(alpha, "shape") and not isinstance(alpha, Number) else None
    if alpha_arr is not None:
        _check_class_weight(name, alpha_arr, num_classes, xp, arg="alpha")
    elif alpha is not None:
        alpha = check_real_scalar(name, "alpha", alpha)
    _, all_valid, unchecked = _check_target(
        name, input, target, cax, xp, probs=False, ignore_index=ignore_index
    )
    out, _, (input, weight, alpha_arr) = promote_floating(
        name, xp, input=input, weight=weight, alpha=alpha_arr
    )

    logp = log_softmax(input, axis=cax, xp=xp)
    picked, valid, safe = _pick(logp, target, cax, ignore_index, xp, all_valid, unchecked)
    w_t = _target_weight(weight, safe, valid, picked.dtype, xp)
    # 1 - p = -expm1(log p): exact as p -> 1, where 1 - exp(log p) cancels.
    loss = -((-xp.expm1(picked)) ** gamma) * picked
    if w_t is not None:
        loss = w_t * loss
    if alpha_arr is not None:
        loss = loss * _target_weight(alpha_arr, safe, valid, picked.dtype, xp)
    elif alpha is not None:
        loss = alpha * loss
    return finish(_weighted_mean_reduce(loss, w_t, reduction, xp), out, xp)


@register(_FAMILY, class_name="Poly1CrossEntropyLoss", sample="logits_index")
def poly1_cross_entropy(
    input: Any,
    target: Any,
    /,
    *,
    epsilon: float = 1.0,
    weight: Any = None,
    ignore_index: int | None = -100,
    reduction: str = "mean",
    axis: int = 1,
    xp: Any = None,
) -> Any:
    r"""Poly-1 cross entropy (PolyLoss): cross entropy plus :math:`\epsilon (1 - p_t)`.

    .. math:: \ell_n = w_{y_n} \left[ -\log p_{n, y_n} + \epsilon (1 - p_{n, y_n}) \right],
              \qquad \text{mean} = \frac{\sum_n \ell_n}{\sum_n w_{y_n}}

    for class-index targets (non-ignored). For class probabilities :math:`q`:
    :math:`\ell_n = -\sum_c q_{nc} \log p_{nc} + \epsilon (1 - \sum_c q_{nc} p_{nc})`, and
    ``mean`` divides by the number of samples (as the paper's reference code).

    Parameters
    ----------
    input : array, shape (N, C, d1, ..., dK) or (C,)
        Logits, classes along ``axis``.
    target : array
        Class indices of any integer dtype, shape (N, d1, ..., dK); or class probabilities
        of the input's shape.
    epsilon : float
        Coefficient of the first polynomial term (the paper's default is 1; ``0`` gives
        :func:`cross_entropy`; -1 is allowed).
    weight : array, shape (C,), optional
        Class weights (index targets only).
    ignore_index : int or None
        Index targets equal to it contribute nothing; ``None`` ignores no target (every
        label must then lie in [0, C)), as :func:`cross_entropy`.
    reduction : {"mean", "sum", "none"}
    axis : int
        The class dimension of a batched input.
    xp : namespace, optional

    Returns
    -------
    array
        A 0-d array, or one loss per target position for ``reduction="none"``.

    Notes
    -----
    :math:`1 - p_t = -\mathrm{expm1}(\log p_t)` keeps precision as :math:`p_t \to 1`.
    An out-of-range label that is not checked (traced, lazy, accelerator) gives NaN, as in
    :func:`cross_entropy`.

    References
    ----------
    Z. Leng et al., "PolyLoss: A polynomial expansion perspective of classification loss
    functions", ICLR 2022.

    Examples
    --------
    >>> import numpy as np, arrayloss
    >>> logits = np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0]])
    >>> print(np.round(arrayloss.poly1_cross_entropy(logits, np.array([0, 2])), 6))
    0.334562
    """
    name = "poly1_cross_entropy"
    xp = namespace_of(name, input=input, target=target, weight=weight, xp=xp)
    check_reduction(name, reduction)
    epsilon = check_real_scalar(name, "epsilon", epsilon)
    ignore_index = check_ignore_index(name, ignore_index)
    check_floating(name, "input", input, xp)
    cax = class_axis(name, input, axis)
    _check_class_weight(name, weight, input.shape[cax], xp)
    probs, all_valid, unchecked = _check_target(
        name, input, target, cax, xp, probs=True, ignore_index=ignore_index
    )
    if probs:
        if weight is not None:
            raise ValueError(
                f"{name}: `weight` is supported with class-index targets only, got a "
                f"floating (probability) `target`"
            )
        out, _, (input, target) = promote_floating(name, xp, input=input, target=target)
        logp = log_softmax(input, axis=cax, xp=xp)
        ce = -xp.sum(target * logp, axis=cax)
        pt = xp.sum(target * xp.exp(logp), axis=cax)
        return finish(reduce(ce + epsilon * (1 - pt), reduction, xp=xp), out, xp)

    out, _, (input, weight) = promote_floating(name, xp, input=input, weight=weight)
    logp = log_softmax(input, axis=cax, xp=xp)
    picked, valid, safe = _pick(logp, target, cax, ignore_index, xp, all_valid, unchecked)
    w_t = _target_weight(weight, safe, valid, picked.dtype, xp)
    # 1 - p_t = -expm1(log p_t): exact as p_t -> 1.
    loss = -picked - epsilon * xp.expm1(picked)
    if w_t is not None:
        loss = w_t * loss
    return finish(_weighted_mean_reduce(loss, w_t, reduction, xp), out, xp)
