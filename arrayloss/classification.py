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
    check_same_shape,
    finish,
    is_concrete,
    namespace_of,
    native_loss,
    promote_floating,
    reduce,
    register,
)
from ._lib._compat import device as _device
from ._lib._compat import isdtype
from ._lib._dtypes import index_dtype as _index_dtype
from ._lib._plans import Plans
from ._lib._primitives import (
    clamped_log,
    log_sigmoid,
    log_softmax,
    logsumexp,
    native_checks_labels,
    sigmoid,
    sum_ratio,
    take_along_axis,
    xlogy,
)
from ._lib._validation import shape_str

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "focal_loss",
    "kl_div",
    "nll_loss",
    "poly1_cross_entropy",
    "sigmoid_focal_loss",
]

_FAMILY = "classification"

# Per-signature plans of the losses that torch runs as one kernel (``_lib/_plans.py``).
_PLANS = {
    name: Plans()
    for name in (
        "cross_entropy",
        "nll_loss",
        "binary_cross_entropy",
        "binary_cross_entropy_with_logits",
        "kl_div",
    )
}


# ---------------------------------------------------------------------------------------------
# Shared pieces of the softmax losses
# ---------------------------------------------------------------------------------------------


def _class_axis(loss: str, input: Any, axis: Any) -> int:
    """The class dimension: ``axis`` (default 1) for batched input, 0 for an unbatched (C,)."""
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise TypeError(f"{loss}: `axis` must be an int, got {type(axis).__name__}")
    if input.ndim == 0:
        raise ValueError(f"{loss}: `input` must have a class dimension, got a 0-d array")
    ndim = input.ndim
    if ndim == 1:
        return 0
    if not -ndim <= axis < ndim:
        check_option(loss, "axis", axis, False, f"a valid dimension of the {ndim}-d input")
    return int(axis % ndim)


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


def _check_ignore_index(loss: str, value: Any) -> int | None:
    """An int, or None: no target is ignored (no mask, no count of the kept targets)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(
            f"{loss}: `ignore_index` must be an int or None, got {type(value).__name__}"
        )
    return value


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
) -> tuple[bool, bool]:
    """Validate ``target``. Returns ``(probabilities, all_valid)``: True for class
    probabilities (floating), False for indices; ``all_valid`` when every index was seen to
    lie in [0, C) and ``ignore_index`` is not a class, so no target is ignored and the
    loss may skip its ignore mask (False whenever the labels were not read: traced, lazy,
    or ``check_labels=False`` because the native kernel checks them); always True with
    ``ignore_index=None``, which ignores no target."""
    if probs and isdtype(target.dtype, "real floating", xp):
        if tuple(target.shape) != tuple(input.shape):
            raise ValueError(
                f"{loss}: `target` holds class probabilities (floating dtype) and must have "
                f"the input's shape {shape_str(input.shape)}, got {shape_str(target.shape)}; "
                f"class indices need an integer dtype"
            )
        return True, False
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
        return False, ignore_index is None
    num_classes = input.shape[cax]
    in_range = _check_labels(loss, target, num_classes, ignore_index, xp)
    return False, ignore_index is None or (in_range and not 0 <= ignore_index < num_classes)


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
    logp: Any, target: Any, cax: int, ignore_index: int | None, xp: Any, all_valid: bool = False
) -> tuple[Any, Any, Any]:
    """``logp`` at the target class, the validity mask, and the gather-safe target.

    Ignored positions gather class 0 (any valid index) and are masked by the caller with
    ``where``, so neither their value nor their gradient reaches the result. With
    ``all_valid`` (no target is ignored, see ``_check_target``) the mask is None.
    """
    if all_valid or ignore_index is None:
        valid, safe = None, target
    elif _representable(ignore_index, target, xp):
        valid = target != ignore_index
    else:
        valid = xp.ones(target.shape, dtype=xp.bool, device=_device(target))
    if valid is not None:
        safe = xp.where(valid, target, xp.zeros_like(target))
    index_dtype = _index_dtype(xp)
    if safe.dtype != index_dtype:
        # gathers take the library's indexing dtype (torch: int64 only); target-sized cast
        safe = xp.astype(safe, index_dtype)
    picked = take_along_axis(logp, xp.expand_dims(safe, axis=cax), axis=cax, xp=xp)
    return xp.squeeze(picked, axis=cax), valid, safe


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
# cross_entropy, nll_loss
# ---------------------------------------------------------------------------------------------


@register(
    _FAMILY,
    class_name="CrossEntropyLoss",
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
        targets is built (every label must lie in [0, C); optax's formula, 1.3x faster
        under ``jax.jit`` at (256, 1000) with gradient; on eager torch the labels are then
        read for the check, which torch's kernel otherwise makes).
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
    given = (input, target, weight)
    key, plan = _PLANS[name].lookup(given, (ignore_index, reduction, label_smoothing, axis), xp)
    if plan is not None:
        return plan(*given)
    xp = namespace_of(name, input=input, target=target, weight=weight, xp=xp)
    check_reduction(name, reduction)
    ignore_index = _check_ignore_index(name, ignore_index)
    ls = check_real_scalar(name, "label_smoothing", label_smoothing)
    check_option(name, "label_smoothing", label_smoothing, 0.0 <= ls <= 1.0, "between 0.0 and 1.0")
    check_floating(name, "input", input, xp)
    cax = _class_axis(name, input, axis)
    num_classes = input.shape[cax]
    _check_class_weight(name, weight, num_classes, xp)
    native = native_loss(name, xp)
    # ignore_index=None: the kernel would let its stand-in label through, so arrayloss checks
    defer = (
        native is not None
        and ignore_index is not None
        and native_checks_labels(name, target, xp)
    )
    probs, all_valid = _check_target(
        name, input, target, cax, xp, probs=True, ignore_index=ignore_index, check_labels=not defer
    )
    if probs:
        out, _, (input, target, weight) = promote_floating(
            name, xp, input=input, target=target, weight=weight
        )
    else:
        out, _, (input, weight) = promote_floating(name, xp, input=input, weight=weight)

    if native is not None:
        recheck = None
        if defer and not probs:
            recheck = _label_recheck(name, num_classes, ignore_index, xp)
        if input.ndim > 1 and cax != 1:
            input = xp.moveaxis(input, cax, 1)
            if probs:
                target = xp.moveaxis(target, cax, 1)
        result = _PLANS[name].run(
            key,
            native,
            given,
            (input, target, weight),
            {
                "ignore_index": _NO_IGNORE if ignore_index is None else ignore_index,
                "reduction": reduction,
                "label_smoothing": ls,
            },
            recheck=recheck,
            keep=defer or probs,  # no label was read: the call is the whole check
        )
        return finish(result, out, xp)

    if not probs and ls == 0:
        # log p at the target = x_t - logsumexp(x): the (N, C) log-probabilities are never
        # materialised (XLA on CPU does not fuse a gather into its producer: log_softmax
        # then a gather ran 3x slower than optax under jax.jit at (8192, 1280)).
        lse = logsumexp(input, axis=cax, xp=xp)
        x_t, valid, safe = _pick(input, target, cax, ignore_index, xp, all_valid)
        w_t = _target_weight(weight, safe, valid, x_t.dtype, xp)
        loss = lse - x_t if w_t is None else -w_t * (x_t - lse)
        return finish(_weighted_mean_reduce(loss, w_t, reduction, xp), out, xp)

    logp = log_softmax(input, axis=cax, xp=xp)
    if probs:
        if ls > 0:
            target = target * (1 - ls) + ls / num_classes
        q = target if weight is None else target * _class_view(weight, input.ndim, cax, xp)
        loss = -xp.sum(q * logp, axis=cax)
        return finish(reduce(loss, reduction, xp=xp), out, xp)

    picked, valid, safe = _pick(logp, target, cax, ignore_index, xp, all_valid)
    w_t = _target_weight(weight, safe, valid, picked.dtype, xp)
    loss = -picked if w_t is None else -w_t * picked
    if ls > 0:
        lw = logp if weight is None else logp * _class_view(weight, input.ndim, cax, xp)
        smooth = -xp.sum(lw, axis=cax)
        if valid is not None:
            smooth = xp.where(valid, smooth, xp.zeros_like(smooth))
        loss = (1 - ls) * loss + (ls / num_classes) * smooth
    return finish(_weighted_mean_reduce(loss, w_t, reduction, xp), out, xp)


@register(
    _FAMILY,
    class_name="NLLLoss",
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
        targets is built (every label must lie in [0, C); optax's formula, 1.3x faster
        under ``jax.jit`` at (256, 1000) with gradient; on eager torch the labels are then
        read for the check, which torch's kernel otherwise makes).
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
    given = (input, target, weight)
    key, plan = _PLANS[name].lookup(given, (ignore_index, reduction, axis), xp)
    if plan is not None:
        return plan(*given)
    xp = namespace_of(name, input=input, target=target, weight=weight, xp=xp)
    check_reduction(name, reduction)
    ignore_index = _check_ignore_index(name, ignore_index)
    check_floating(name, "input", input, xp)
    cax = _class_axis(name, input, axis)
    num_classes = input.shape[cax]
    _check_class_weight(name, weight, num_classes, xp)
    native = native_loss(name, xp)
    defer = (
        native is not None
        and ignore_index is not None
        and native_checks_labels(name, target, xp)
    )
    _, all_valid = _check_target(
        name, input, target, cax, xp, probs=False, ignore_index=ignore_index, check_labels=not defer
    )
    out, _, (input, weight) = promote_floating(name, xp, input=input, weight=weight)

    if native is not None:
        recheck = _label_recheck(name, num_classes, ignore_index, xp) if defer else None
        if input.ndim > 1 and cax != 1:
            input = xp.moveaxis(input, cax, 1)
        result = _PLANS[name].run(
            key,
            native,
            given,
            (input, target, weight),
            {
                "ignore_index": _NO_IGNORE if ignore_index is None else ignore_index,
                "reduction": reduction,
            },
            recheck=recheck,
            keep=defer,  # no label was read: the call is the whole check
        )
        return finish(result, out, xp)

    picked, valid, safe = _pick(input, target, cax, ignore_index, xp, all_valid)
    w_t = _target_weight(weight, safe, valid, picked.dtype, xp)
    loss = -picked if w_t is None else -w_t * picked
    return finish(_weighted_mean_reduce(loss, w_t, reduction, xp), out, xp)


# ---------------------------------------------------------------------------------------------
# Sigmoid (binary) losses and kl_div
# ---------------------------------------------------------------------------------------------


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
    given = (input, target, weight)
    key, plan = _PLANS[name].lookup(given, (reduction,), xp)
    if plan is not None:
        return plan(*given)
    xp, out, (input, target, weight) = _elementwise_prepare(
        name, input, target, reduction, xp, weight=weight
    )
    # torch's kernel only eagerly: torch.func.vmap has no batching rule for it
    if (native := native_loss(name, xp)) is not None and is_concrete(input, xp):
        used = (input, target, weight)
        return finish(_PLANS[name].run(key, native, given, used, {"reduction": reduction}), out, xp)

    # log clamped at -100 as torch does, with a 0 gradient where clamped (p == 0 included)
    loss = -(
        target * clamped_log(input, -100.0, xp=xp)
        + (1 - target) * clamped_log(1 - input, -100.0, xp=xp)
    )
    return finish(_weighted_elementwise(loss, weight, reduction, xp), out, xp)


@register(
    _FAMILY,
    class_name="BCEWithLogitsLoss",
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
    given = (input, target, weight, pos_weight)
    key, plan = _PLANS[name].lookup(given, (reduction,), xp)
    if plan is not None:
        return plan(*given)
    xp, out, (input, target, weight, pos_weight) = _elementwise_prepare(
        name, input, target, reduction, xp, weight=weight, pos_weight=pos_weight
    )
    if (native := native_loss(name, xp)) is not None:
        used = (input, target, weight, pos_weight)
        return finish(_PLANS[name].run(key, native, given, used, {"reduction": reduction}), out, xp)
    log_sig = log_sigmoid(input, xp=xp)
    if pos_weight is None:
        loss = (1 - target) * input - log_sig
    else:
        loss = (1 - target) * input - (1 + (pos_weight - 1) * target) * log_sig
    return finish(_weighted_elementwise(loss, weight, reduction, xp), out, xp)


@register(
    _FAMILY,
    class_name="KLDivLoss",
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
    given = (input, target)
    key, plan = _PLANS[name].lookup(given, (reduction, log_target), xp)
    if plan is not None:
        return plan(*given)
    xp = namespace_of(name, input=input, target=target, xp=xp)
    check_reduction(name, reduction, ("mean", "sum", "none", "batchmean"))
    check_option(name, "log_target", log_target, isinstance(log_target, bool), "a bool")
    check_floating(name, "input", input, xp)
    check_same_shape(name, "input", input, "target", target)
    out, _, (input, target) = promote_floating(name, xp, input=input, target=target)
    # torch's kernel only eagerly: torch.func.vmap has no batching rule for it (it warns)
    if (native := native_loss(name, xp)) is not None and is_concrete(input, xp):
        opts = {"reduction": reduction, "log_target": log_target}
        return finish(_PLANS[name].run(key, native, given, (input, target), opts), out, xp)
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
    Every target ignored gives ``nan`` for ``mean`` (0/0), as :func:`cross_entropy`.

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
    ignore_index = _check_ignore_index(name, ignore_index)
    check_floating(name, "input", input, xp)
    cax = _class_axis(name, input, axis)
    num_classes = input.shape[cax]
    _check_class_weight(name, weight, num_classes, xp)
    alpha_arr = alpha if hasattr(alpha, "shape") else None
    if alpha_arr is not None:
        _check_class_weight(name, alpha_arr, num_classes, xp, arg="alpha")
    elif alpha is not None:
        alpha = check_real_scalar(name, "alpha", alpha)
    _, all_valid = _check_target(
        name, input, target, cax, xp, probs=False, ignore_index=ignore_index
    )
    out, _, (input, weight, alpha_arr) = promote_floating(
        name, xp, input=input, weight=weight, alpha=alpha_arr
    )

    logp = log_softmax(input, axis=cax, xp=xp)
    picked, valid, safe = _pick(logp, target, cax, ignore_index, xp, all_valid)
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
    ignore_index = _check_ignore_index(name, ignore_index)
    check_floating(name, "input", input, xp)
    cax = _class_axis(name, input, axis)
    _check_class_weight(name, weight, input.shape[cax], xp)
    probs, all_valid = _check_target(
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
    picked, valid, safe = _pick(logp, target, cax, ignore_index, xp, all_valid)
    w_t = _target_weight(weight, safe, valid, picked.dtype, xp)
    # 1 - p_t = -expm1(log p_t): exact as p_t -> 1.
    loss = -picked - epsilon * xp.expm1(picked)
    if w_t is not None:
        loss = w_t * loss
    return finish(_weighted_mean_reduce(loss, w_t, reduction, xp), out, xp)
