"""``linear_cross_entropy``: cross entropy of a linear projection,
``cross_entropy(input @ W.T + b, target)``, without materialising the logits: small problems
unchunked (torch's own kernel on eager torch), the others in row chunks
(``_linear_passes.py``).
"""

from __future__ import annotations

import math
from numbers import Integral
from typing import Any, NamedTuple

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
    register,
)
from .._lib._compat import isdtype
from .._lib._custom_grad import custom_gradient
from .._lib._dtypes import index_dtype
from .._lib._plans import Delegate, delegate
from .._lib._primitives import matmul_into, native_checks_labels
from .._lib._validation import (
    all_concrete,
    check_ignore_index,
    invalid_as_nan,
    is_concrete,
    labels_in_range,
    may_be_differentiated,
    shape_str,
)
from ._linear_passes import Passes
from ._softmax import cross_entropy

__all__ = ["linear_cross_entropy"]

_NAME = "linear_cross_entropy"
# Default chunk: about 2**23 logits (32 MiB in float32) and at least 256 rows. A chunk's
# logits live in one scratch array (reused by every chunk, softmax and gradient computed in
# place), so the chunk can be larger than with a temporary per step; the matmuls need the
# rows, while past ~32 MiB the elementwise passes fall out of the last-level cache
# (benchmarks/results/linear_ce.md).
_CHUNK_ELEMENTS = 2**23
_MIN_CHUNK_ROWS = 256
# Problems of at most this many logits (1 MiB in float32) are computed unchunked as
# ``cross_entropy(input @ W.T + b)`` (on eager torch: torch's own unchunked
# F.linear_cross_entropy, through a per-signature plan): the naive path's few arrays of that
# size are negligible, while the chunk loop's fixed Python cost (a custom gradient, a scan,
# a dozen small ops) would be several times torch's whole call. Not with an explicit
# ``chunk_size`` (the caller asked for chunks) nor with ``z_loss``/``softcap``
# (cross_entropy has neither).
_DIRECT_ELEMENTS = 2**18


@register(
    "classification",
    delegates=True,
    torch="torch.nn.functional.linear_cross_entropy",
    sample="hidden_weight_index",
)
def linear_cross_entropy(
    input: Any,
    linear_weight: Any,
    target: Any,
    /,
    *,
    linear_bias: Any = None,
    weight: Any = None,
    reduction: str = "mean",
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    z_loss: float = 0.0,
    softcap: float | None = None,
    chunk_size: int | None = None,
    xp: Any = None,
) -> Any:
    r"""Cross entropy of a linear projection, without materialising the logits.

    .. math:: z_n = W x_n + b, \qquad
              \ell_n = -(1 - \varepsilon)\, w_{y_n} \log p_{n, y_n}
              - \frac{\varepsilon}{V} \sum_{c} w_c \log p_{n c}
              + \lambda_z\, w_{y_n} \Big(\log \sum_c e^{z_{nc}}\Big)^2,
              \qquad p_{nc} = \frac{e^{z_{nc}}}{\sum_k e^{z_{nk}}}

    for tokens :math:`x_n \in \mathbb{R}^D`, a projection :math:`W \in \mathbb{R}^{V\times D}`
    onto a vocabulary of :math:`V` classes, class-index targets :math:`y_n`,
    label smoothing :math:`\varepsilon`, class weights :math:`w` (1 without ``weight``)
    and the z-loss coefficient :math:`\lambda_z`. ``mean`` is
    :math:`\sum_n \ell_n / \sum_n w_{y_n}` over the non-ignored targets, as in
    ``cross_entropy``. With ``softcap`` :math:`s`, :math:`z` is replaced by
    :math:`s \tanh(z / s)`.

    Parameters
    ----------
    input : array, shape (N, D), (D,) or (..., D)
        Hidden states (real floating), one row per token.
    linear_weight : array, shape (V, D)
        The output projection (``torch.nn.Linear(D, V).weight``).
    target : array, shape (N,), () or (...); or (N, V), (V,) or (..., V)
        Class indices of any integer dtype in [0, V) or ``ignore_index``; or class
        probabilities (a floating dtype, the logits' shape). ``mean`` then averages over
        the tokens, as torch's ``cross_entropy`` does for probabilities.
    linear_bias : array, shape (V,), optional
        Bias of the projection.
    weight : array, shape (V,), optional
        A weight per class.
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns one loss per token, the target's shape.
    ignore_index : int, optional
        Targets equal to it contribute nothing (also not to the ``mean``'s denominator).
        ``None`` means -100, as in torch; must be None for probability targets (torch
        raises there too).
    label_smoothing : float in [0, 1]
        Mix the one-hot target with the uniform distribution (torch's semantics).
    z_loss : float, default 0
        Coefficient of the auxiliary z-loss :math:`\lambda_z \log^2 Z` (PaLM) that keeps
        the softmax normaliser near 1; weighted like the token's cross entropy.
    softcap : float, optional
        Logit soft-capping :math:`s \tanh(z/s)` (Gemma 2); ``None``: off.
    chunk_size : int, optional
        Tokens per chunk; default :math:`\max(256, 2^{23} / V)` (32 MiB of float32 logits
        at :math:`V \le 32768`).

    Returns
    -------
    array
        The loss: a scalar, or shape of ``target`` for ``reduction="none"``; the input's
        floating dtype.

    Notes
    -----
    Small problems (at most :math:`2^{18}` logits, no ``chunk_size``, ``z_loss`` or
    ``softcap``) are computed unchunked, as :func:`cross_entropy` of the logits: a few MiB
    at most, and the library's fused kernel is faster there than a chunk loop.
    Otherwise one chunk of logits exists at a time, so peak memory is about one (V, chunk_size)
    array plus the gradients instead of (N, V): on torch and NumPy the chunk's logits,
    softmax and logit gradient share one scratch array that every chunk reuses (written in
    place), elsewhere the library's compiler or allocator plans them. With
    ``mean``/``sum`` a differentiated call computes the gradients in the forward chunk
    loop (the backward pass only scales them);
    with ``"none"`` the forward pass keeps each token's log-sum-exp (max-shifted, so it
    never overflows) and the backward pass recomputes the chunk's logits. The gradient is
    written by hand (a ``torch.autograd.Function`` on torch, a ``jax.custom_vjp`` on JAX;
    backward twice through a retained torch graph works, the second pass recomputes): exact for
    first derivatives. On torch it is first order only: differentiating the gradient again
    (``create_graph``, ``torch.func``) raises a ``RuntimeError`` naming the loss; on JAX the
    second derivative is autodiff's through the hand-written backward pass, and equals
    torch's double backward of the unchunked formula. On JAX the chunk loop is a
    ``lax.scan``, so the function jits. float16/bfloat16 are computed in float32.
    Where the labels are not checked (traced, lazy or accelerator arrays,
    ``check_values="never"``), an out-of-range label gives NaN (its row's loss, and so
    ``mean`` and ``sum``).

    Class-probability targets (which torch takes on its unchunked reference path only) are
    chunked like indices: :math:`\ell_n = -\sum_c w_c \tilde q_{nc} \log p_{nc}` with
    :math:`\tilde q = (1 - \varepsilon) q + \varepsilon / V`. They are differentiable, as in
    torch: the gradient with respect to ``target`` (as large as the target) is written chunk
    by chunk, on torch when the target requires grad and on JAX when it is traced (under
    ``jax.jit`` XLA drops it when unused). A K-dimensional ``linear_weight`` of shape
    (V, d1, ..., dK, D), accepted by torch's reference path, is not supported.

    PyTorch equivalent: ``torch.nn.functional.linear_cross_entropy(input, linear_weight,
    target, linear_bias=..., weight=..., reduction=..., ignore_index=...,
    label_smoothing=...)`` (torch 2.13; ``z_loss``/``softcap`` have no torch counterpart).

    References
    ----------
    .. [1] Wijmans et al., "Cut Your Losses in Large-Vocabulary Language Models", 2024.
    .. [2] Chowdhery et al., "PaLM: Scaling Language Modeling with Pathways", 2022 (z-loss).
    .. [3] Gemma Team, "Gemma 2: Improving Open Language Models at a Practical Size", 2024.

    Examples
    --------
    >>> import numpy as np
    >>> import arrayloss as al
    >>> x = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> W = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    >>> y = np.array([0, 1, 2])
    >>> print(np.round(al.linear_cross_entropy(x, W, y), 4))
    0.9883
    >>> print(np.round(al.linear_cross_entropy(x, W, y, reduction="none", chunk_size=2), 4))
    [0.5514 0.5514 1.862 ]
    """
    given_xp = xp
    xp = namespace_of(
        _NAME,
        input=input,
        linear_weight=linear_weight,
        target=target,
        linear_bias=linear_bias,
        weight=weight,
        xp=xp,
    )
    check_reduction(_NAME, reduction)
    o = _check_options(
        input, linear_weight, target, linear_bias, ignore_index, label_smoothing, z_loss,
        softcap, xp,
    )
    n_cls, dim = _check_shapes(input, linear_weight, target, linear_bias, weight, o.probs)
    if chunk_size is not None:
        check_option(
            _NAME,
            "chunk_size",
            chunk_size,
            isinstance(chunk_size, Integral) and not isinstance(chunk_size, bool)
            and chunk_size > 0,
            "a positive int or None",
        )
        chunk_size = int(chunk_size)
    rows = math.prod(input.shape[:-1])
    direct = (
        chunk_size is None and not o.z_loss and o.softcap is None
        and rows * n_cls <= _DIRECT_ELEMENTS
    )
    native = None
    if direct and input.ndim == 2 and all_concrete((input,), xp):
        native = native_loss(_NAME, xp)
    # torch's kernel checks the labels itself on CPU: arrayloss's check only if it raises
    defer = native is not None and not o.probs and native_checks_labels(_NAME, target, xp)
    unchecked = False  # labels not read (traced, lazy, accelerator, check_values="never")
    if not o.probs and not defer:
        unchecked = not (
            check_labels_in_range(_NAME, "target", target, n_cls, xp, ignore_index=o.ignore_index)
            or is_concrete(target, xp)
        )
    # probabilities are promoted with the floating arrays (None: not floating, left alone)
    out_dtype, _, (x, w, b, cw, tp) = promote_floating(
        _NAME,
        xp,
        input=input,
        linear_weight=linear_weight,
        linear_bias=linear_bias,
        weight=weight,
        target=target if o.probs else None,
    )
    if native is not None:
        # torch takes any integer dtype
        arrays = (x, w, tp if o.probs else target, b, cw)
        return _hand_over(native, arrays, o, reduction, n_cls, defer, out_dtype, xp)
    if o.probs:
        out_shape = tuple(target.shape[:-1])
        t = xp.reshape(tp, (-1, n_cls))
    else:
        out_shape = tuple(target.shape)
        # Class indices of any integer dtype (uint8 included) in the namespace's indexing
        # dtype: int64 for torch's gather and index_add_, int32 on JAX without x64.
        t = xp.astype(xp.reshape(target, (-1,)), index_dtype(xp))
    x = xp.reshape(x, (-1, dim))
    if direct:
        result = _direct(x, w, b, t, cw, o, reduction, xp, None if given_xp is None else xp)
    else:
        chunk = chunk_size or max(_MIN_CHUNK_ROWS, _CHUNK_ELEMENTS // max(n_cls, 1))
        ok = labels_in_range(t, n_cls, xp, ignore_index=o.ignore_index) if unchecked else None
        if ok is not None:  # a bad label is ignored in the chunks, then its loss made NaN
            t = xp.where(ok, t, xp.full_like(t, o.ignore_index))
        result = _chunked(x, w, b, t, cw, o, reduction, chunk, xp)
        if ok is not None:
            result = invalid_as_nan(result, ok if reduction == "none" else xp.all(ok), xp)
    if reduction == "none":
        result = xp.reshape(result, out_shape)
    return finish(result, out_dtype, xp)


class _Options(NamedTuple):
    """The checked options: ``probs`` (the target holds class probabilities), the
    ``ignore_index`` (-100 for None), ``label_smoothing``, ``z_loss``, ``softcap``."""

    probs: bool
    ignore_index: int
    label_smoothing: float
    z_loss: float
    softcap: float | None


def _check_options(
    input: Any,
    linear_weight: Any,
    target: Any,
    linear_bias: Any,
    ignore_index: Any,
    label_smoothing: Any,
    z_loss: Any,
    softcap: Any,
    xp: Any,
) -> _Options:
    check_floating(_NAME, "input", input, xp)
    check_floating(_NAME, "linear_weight", linear_weight, xp)
    if linear_bias is not None:
        check_floating(_NAME, "linear_bias", linear_bias, xp)
    # Class probabilities: a floating target of the logits' shape (torch's reference path).
    probs = isdtype(target.dtype, "real floating", xp)
    if not probs:
        check_index_target(_NAME, "target", target, xp)
    elif ignore_index is not None:
        raise ValueError(
            f"{_NAME}: `ignore_index` must be None when `target` holds class probabilities "
            f"(a floating target), got {ignore_index!r}"
        )
    ignore_index = check_ignore_index(_NAME, ignore_index)
    if ignore_index is None:
        ignore_index = -100
    eps = check_real_scalar(_NAME, "label_smoothing", label_smoothing)
    check_option(_NAME, "label_smoothing", label_smoothing, 0.0 <= eps <= 1.0, "in [0, 1]")
    zl = check_real_scalar(_NAME, "z_loss", z_loss)
    check_option(_NAME, "z_loss", z_loss, zl >= 0.0, ">= 0")
    cap = None
    if softcap is not None:
        cap = check_real_scalar(_NAME, "softcap", softcap)
        check_option(_NAME, "softcap", softcap, cap > 0.0, "> 0 or None")
    return _Options(probs, ignore_index, eps, zl, cap)


def _check_shapes(
    input: Any, linear_weight: Any, target: Any, linear_bias: Any, weight: Any, probs: bool
) -> tuple[int, int]:
    """``(V, D)`` of the projection, after checking every array's shape against it."""
    if linear_weight.ndim != 2:
        raise ValueError(
            f"{_NAME}: `linear_weight` must have shape (V, D), got {shape_str(linear_weight.shape)}"
        )
    n_cls, dim = linear_weight.shape
    if input.ndim < 1 or input.shape[-1] != dim:
        raise ValueError(
            f"{_NAME}: `input` must have shape (..., {dim}) to match `linear_weight` "
            f"{shape_str(linear_weight.shape)}, got {shape_str(input.shape)}"
        )
    if probs and tuple(target.shape) != (*input.shape[:-1], n_cls):
        raise ValueError(
            f"{_NAME}: `target` holds class probabilities (floating dtype) and must have the "
            f"logits' shape {shape_str((*input.shape[:-1], n_cls))}, got "
            f"{shape_str(target.shape)}; class indices need an integer dtype"
        )
    if not probs and tuple(target.shape) != tuple(input.shape[:-1]):
        raise ValueError(
            f"{_NAME}: `target` must have shape {shape_str(input.shape[:-1])} (the input's "
            f"without its last axis), got {shape_str(target.shape)}"
        )
    if linear_bias is not None and tuple(linear_bias.shape) != (n_cls,):
        raise ValueError(
            f"{_NAME}: `linear_bias` must have shape ({n_cls},), got {shape_str(linear_bias.shape)}"
        )
    if weight is not None and tuple(weight.shape) != (n_cls,):
        raise ValueError(
            f"{_NAME}: `weight` must have shape ({n_cls},), got {shape_str(weight.shape)}"
        )
    return n_cls, dim


def _hand_over(
    native: Any,
    arrays: tuple[Any, ...],
    o: _Options,
    reduction: str,
    n_cls: int,
    defer: bool,
    out: Any,
    xp: Any,
) -> Delegate:
    """The whole loss as torch's unchunked ``linear_cross_entropy``; ``defer``: its label
    check (on CPU) stands for arrayloss's, which runs only when it raises."""

    def recheck(input: Any, linear_weight: Any, target: Any, *_: Any) -> None:
        check_labels_in_range(_NAME, "target", target, n_cls, xp, ignore_index=o.ignore_index)

    return delegate(
        native,
        arrays,
        {
            "ignore_index": None if o.probs else o.ignore_index,
            "reduction": reduction,
            "label_smoothing": o.label_smoothing,
        },
        out=out,
        xp=xp,
        recheck=recheck if defer else None,
        keep=defer or o.probs,  # no label was read: the call is the whole check
    )


def _direct(
    x: Any, w: Any, b: Any, t: Any, cw: Any, o: _Options, reduction: str, xp: Any,
    given_xp: Any,
) -> Any:
    """The unchunked loss, ``cross_entropy(x @ W.T + b, t)`` on flat rows."""
    z = matmul_into(None, x, xp.matrix_transpose(w), add=b, xp=xp)
    return cross_entropy(
        z,
        t,
        weight=cw,
        ignore_index=-100 if o.probs else o.ignore_index,
        reduction=reduction,
        label_smoothing=o.label_smoothing,
        xp=given_xp,
    )


def _chunked(
    x: Any, w: Any, b: Any, t: Any, cw: Any, o: _Options, reduction: str, chunk: int, xp: Any
) -> Any:
    """The chunked loss on flat rows, through ``custom_gradient`` (see ``Passes``)."""
    # Probabilities are differentiable, as in torch's reference path (soft targets that are
    # themselves learned). Their gradient is as large as they are, so it is computed only for
    # a target that may be differentiated: on torch one that requires grad; on JAX a traced
    # one (an eager jax.grad traces only the arrays it differentiates; under jax.jit every
    # array is traced, and XLA drops the target's gradient when it is unused).
    grad_target = o.probs and may_be_differentiated(t, xp)
    key = (
        _NAME, b is not None, cw is not None, o.ignore_index, o.label_smoothing, o.z_loss,
        o.softcap, chunk, reduction, o.probs, grad_target,
    )
    forward, backward, primal = Passes(
        has_bias=b is not None,
        has_weight=cw is not None,
        ignore_index=o.ignore_index,
        label_smoothing=o.label_smoothing,
        z_loss=o.z_loss,
        softcap=o.softcap,
        chunk=chunk,
        reduction=reduction,
        probs=o.probs,
        grad_target=grad_target,
        xp=xp,
    ).passes()
    diff = (x, w) + ((b,) if b is not None else ()) + ((t,) if grad_target else ())
    nondiff = (() if grad_target else (t,)) + ((cw,) if cw is not None else ())
    apply = custom_gradient(
        forward,
        backward,
        xp=xp,
        n_diff=len(diff),
        n_out=1 if reduction != "none" else 2,
        key=key,
        primal=primal,
        handoff=primal is not None,
    )
    if reduction == "none":
        loss, _ = apply(diff, nondiff)
        return loss
    (result,) = apply(diff, nondiff)
    return result
