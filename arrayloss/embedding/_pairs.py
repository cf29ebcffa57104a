"""Pair and triplet losses with torch's names, arguments, defaults and results:
``margin_ranking_loss``, ``hinge_embedding_loss``, ``cosine_embedding_loss``,
``triplet_margin_loss``, ``triplet_margin_with_distance_loss``."""


from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from .._lib import (
    check_floating,
    check_option,
    check_real_scalar,
    check_reduction,
    check_same_shape,
    finish,
    namespace_of,
    native_loss,
    promote_floating,
    reduce,
    register,
)
from .._lib._distance import pairwise_distance
from .._lib._plans import Delegate, delegate
from .._lib._validation import shape_str
from ._common import (
    _FAMILY,
    _check_embeddings,
    _check_margin,
    _check_signs,
    _check_target_is_real,
    _clamp_min0,
    _signs_as_nan,
    _signs_check,
)


@register(
    _FAMILY,
    class_name="MarginRankingLoss",
    delegates=True,
    torch="torch.nn.functional.margin_ranking_loss",
    sample="ranking",
)
def margin_ranking_loss(
    input1: Any,
    input2: Any,
    target: Any,
    /,
    *,
    margin: float = 0.0,
    reduction: str = "mean",
    xp: Any = None,
) -> Any:
    r"""Ranking hinge: ``input1`` should rank above ``input2`` where the target is 1.

    .. math:: \ell_i = \max\left(0,\ -y_i (x^{(1)}_i - x^{(2)}_i) + \text{margin}\right)

    Parameters
    ----------
    input1, input2 : array, shape (*)
        Scores, real floating.
    target : array, shape (*)
        Labels in {-1, 1} (1: ``input1`` should be larger), floating or integer.
    margin : float
        The margin.
    reduction : {"mean", "sum", "none"}
    xp : namespace, optional
        Array namespace of the arguments, to skip inspecting them.

    Returns
    -------
    array
        A 0-d array, or shape (*) for ``reduction="none"``, in the inputs' dtype.

    Notes
    -----
    Unlike torch, shapes must match exactly (no broadcasting) and targets outside
    {-1, 1} raise a ``ValueError`` on host arrays (torch uses them as given); where they are
    not checked (traced, lazy or accelerator arrays, ``check_values="never"``) they give NaN.

    PyTorch equivalent: ``torch.nn.functional.margin_ranking_loss``.

    Examples
    --------
    >>> import numpy as np, arrayloss
    >>> a, b, y = np.array([1.0, 0.2, -0.5]), np.array([0.5, 0.4, 0.0]), np.array([1, 1, -1])
    >>> print(arrayloss.margin_ranking_loss(a, b, y, margin=0.1, reduction="none").round(6))
    [0.  0.3 0. ]
    """
    name = "margin_ranking_loss"
    xp = namespace_of(name, input1=input1, input2=input2, target=target, xp=xp)
    check_reduction(name, reduction)
    margin = _check_margin(name, margin)
    check_floating(name, "input1", input1, xp)
    check_floating(name, "input2", input2, xp)
    _check_target_is_real(name, target, xp)
    check_same_shape(name, "input1", input1, "input2", input2)
    check_same_shape(name, "input1", input1, "target", target)
    checked = _check_signs(name, target, xp)
    out, _, (input1, input2, target) = promote_floating(
        name, xp, input1=input1, input2=input2, target=target
    )
    if (native := native_loss(name, xp)) is not None:
        opts = {"margin": margin, "reduction": reduction}
        used = (input1, input2, target)
        return delegate(native, used, opts, out=out, xp=xp, check=_signs_check(name, xp))
    loss = _clamp_min0(-target * (input1 - input2) + margin, xp)
    if not checked:  # the check did not run: a bad label shows as NaN
        loss = _signs_as_nan(loss, target, xp)
    return finish(reduce(loss, reduction, xp=xp), out, xp)


@register(
    _FAMILY,
    class_name="HingeEmbeddingLoss",
    delegates=True,
    torch="torch.nn.functional.hinge_embedding_loss",
    sample="logits_sign",
)
def hinge_embedding_loss(
    input: Any,
    target: Any,
    /,
    *,
    margin: float = 1.0,
    reduction: str = "mean",
    xp: Any = None,
) -> Any:
    r"""Hinge on distances: small for similar pairs (1), above ``margin`` for dissimilar (-1).

    .. math:: \ell_i = \begin{cases} x_i & y_i = 1 \\
              \max(0, \text{margin} - x_i) & y_i = -1 \end{cases}

    Parameters
    ----------
    input : array, shape (*)
        Usually a distance (e.g. L1 pairwise distance) between two embeddings.
    target : array, shape (*)
        Labels in {-1, 1}, floating or integer.
    margin : float
    reduction : {"mean", "sum", "none"}
    xp : namespace, optional

    Returns
    -------
    array
        A 0-d array, or shape (*) for ``reduction="none"``.

    Notes
    -----
    Unlike torch, shapes must match (no broadcasting) and targets outside {-1, 1} raise a
    ``ValueError`` on host arrays (torch adds both terms for any other value), and give NaN
    where they are not checked, as in :func:`margin_ranking_loss`.

    PyTorch equivalent: ``torch.nn.functional.hinge_embedding_loss``.

    Examples
    --------
    >>> import numpy as np, arrayloss
    >>> d, y = np.array([0.3, 0.4, 2.0]), np.array([1, -1, -1])
    >>> print(arrayloss.hinge_embedding_loss(d, y, reduction="none").round(6))
    [0.3 0.6 0. ]
    """
    name = "hinge_embedding_loss"
    xp = namespace_of(name, input=input, target=target, xp=xp)
    check_reduction(name, reduction)
    margin = _check_margin(name, margin)
    _check_target_is_real(name, target, xp)
    check_same_shape(name, "input", input, "target", target)
    out, _, (input, target) = promote_floating(name, xp, input=input, target=target)
    checked = _check_signs(name, target, xp)
    if (native := native_loss(name, xp)) is not None:
        opts = {"margin": margin, "reduction": reduction}
        return delegate(native, (input, target), opts, out=out, xp=xp, check=_signs_check(name, xp))
    zero = xp.zeros_like(input)
    # torch's formula, term by term
    loss = xp.where(target != 1, _clamp_min0(margin - input, xp), zero) + xp.where(
        target != -1, input, zero
    )
    if not checked:  # the check did not run: a bad label shows as NaN
        loss = _signs_as_nan(loss, target, xp)
    return finish(reduce(loss, reduction, xp=xp), out, xp)


@register(
    _FAMILY,
    class_name="CosineEmbeddingLoss",
    delegates=True,
    torch="torch.nn.functional.cosine_embedding_loss",
    sample="embedding_pair_sign",
)
def cosine_embedding_loss(
    input1: Any,
    input2: Any,
    target: Any,
    /,
    *,
    margin: float = 0.0,
    reduction: str = "mean",
    xp: Any = None,
) -> Any:
    r"""Pull pairs labelled 1 to cosine 1; push pairs labelled -1 below cosine ``margin``.

    .. math:: \ell_i = \begin{cases} 1 - \cos(x^{(1)}_i, x^{(2)}_i) & y_i = 1 \\
              \max(0, \cos(x^{(1)}_i, x^{(2)}_i) - \text{margin}) & y_i = -1 \end{cases},
              \quad \cos(a, b) = \frac{a \cdot b}
              {\sqrt{(\lVert a\rVert^2 + \epsilon)(\lVert b\rVert^2 + \epsilon)}}

    Parameters
    ----------
    input1, input2 : array, shape (N, D) or (D,)
        Embeddings, real floating.
    target : array, shape (N,) or ()
        Labels in {-1, 1}.
    margin : float
        Should lie in [-1, 1]; 0 to 0.5 is usual.
    reduction : {"mean", "sum", "none"}
    xp : namespace, optional

    Returns
    -------
    array
        A 0-d array, or shape (N,) (() unbatched) for ``reduction="none"``.

    Notes
    -----
    :math:`\epsilon = 10^{-12}` is added to each squared norm, as torch does: a zero embedding
    has cosine 0 and a finite gradient. Targets outside {-1, 1} raise a ``ValueError`` on
    host arrays (torch gives them a loss of 0), NaN where they are not checked.

    PyTorch equivalent: ``torch.nn.functional.cosine_embedding_loss``.

    Examples
    --------
    >>> import numpy as np, arrayloss
    >>> a = np.array([[1.0, 0.0], [1.0, 1.0]])
    >>> b = np.array([[0.0, 1.0], [1.0, 1.0]])
    >>> print(arrayloss.cosine_embedding_loss(a, b, np.array([1, -1]), reduction="none"))
    [1. 1.]
    """
    name = "cosine_embedding_loss"
    xp = namespace_of(name, input1=input1, input2=input2, target=target, xp=xp)
    check_reduction(name, reduction)
    margin = _check_margin(name, margin)
    check_floating(name, "input1", input1, xp)
    check_floating(name, "input2", input2, xp)
    _check_target_is_real(name, target, xp)
    _check_embeddings(name, ("input1", "input2"), (input1, input2))
    want = tuple(input1.shape[:-1])
    if tuple(target.shape) != want:
        raise ValueError(
            f"{name}: `target` must have shape {shape_str(want)} for inputs of shape "
            f"{shape_str(input1.shape)}, got {shape_str(target.shape)}"
        )
    checked = _check_signs(name, target, xp)
    out, _, (input1, input2, target) = promote_floating(
        name, xp, input1=input1, input2=input2, target=target
    )
    if (native := native_loss(name, xp)) is not None:
        opts = {"margin": margin, "reduction": reduction}
        used = (input1, input2, target)
        return delegate(native, used, opts, out=out, xp=xp, check=_signs_check(name, xp))
    eps = 1e-12  # torch's EPSILON in cosine_embedding_loss, on the squared norms
    dot = xp.sum(input1 * input2, axis=-1)
    m1 = xp.sum(input1 * input1, axis=-1) + eps
    m2 = xp.sum(input2 * input2, axis=-1) + eps
    cos = dot / xp.sqrt(m1 * m2)
    zero = xp.zeros_like(cos)
    loss = xp.where(target == 1, 1 - cos, zero) + xp.where(
        target == -1, _clamp_min0(cos - margin, xp), zero
    )
    if not checked:  # the check did not run: a bad label shows as NaN
        loss = _signs_as_nan(loss, target, xp)
    return finish(reduce(loss, reduction, xp=xp), out, xp)


def _triplet(
    name: str,
    anchor: Any,
    positive: Any,
    negative: Any,
    dist: Callable[[Any, Any], Any],
    margin: float,
    swap: bool,
    xp: Any,
) -> Any:
    d_pos = dist(anchor, positive)
    d_neg = dist(anchor, negative)
    if swap:
        # Balntas et al. 2016: the harder of the two negatives distances.
        d_neg = xp.minimum(d_neg, dist(positive, negative))
    return _clamp_min0(margin + d_pos - d_neg, xp)


def _triplet_native(
    used: tuple[Any, ...],
    margin: float,
    p: float,
    eps: float,
    swap: bool,
    reduction: str,
    out: Any,
    xp: Any,
) -> Delegate | None:
    """The loss handed to torch's ``triplet_margin_loss`` (the same formula) where it has
    the same gradients: ``1 <= p < inf`` (arrayloss's norm also zeroes the gradient of
    exactly equal components for ``p < 1``, and splits ``inf``'s among ties its own way),
    (N, D) or (D,) embeddings. None elsewhere."""
    native = native_loss("triplet_margin_loss", xp)
    if native is None or not 1 <= p < math.inf or used[0].ndim not in (1, 2):
        return None
    opts = {"margin": margin, "p": p, "eps": eps, "swap": swap, "reduction": reduction}
    return delegate(native, used, opts, out=out, xp=xp)


@register(
    _FAMILY,
    class_name="TripletMarginLoss",
    delegates=True,
    torch="torch.nn.functional.triplet_margin_loss",
    sample="embedding_triplet",
)
def triplet_margin_loss(
    anchor: Any,
    positive: Any,
    negative: Any,
    /,
    *,
    margin: float = 1.0,
    p: float = 2,
    eps: float = 1e-6,
    swap: bool = False,
    reduction: str = "mean",
    xp: Any = None,
) -> Any:
    r"""Triplet loss: the anchor should be nearer its positive than its negative by ``margin``.

    .. math:: \ell_i = \max\left(0,\ \text{margin} + d(a_i, p_i) - d(a_i, n_i)\right),
              \quad d(x, y) = \lVert x - y + \epsilon \rVert_p

    Parameters
    ----------
    anchor, positive, negative : array, shape (N, D) or (D,)
        Embeddings, all of one shape.
    margin : float
    p : float
        Order of the norm, > 0 (``math.inf`` allowed).
    eps : float
        Added to the differences (torch's ``pairwise_distance``).
    swap : bool
        Use :math:`\min(d(a, n), d(p, n))` as the negative distance (Balntas et al., 2016).
    reduction : {"mean", "sum", "none"}
    xp : namespace, optional

    Returns
    -------
    array
        A 0-d array, or shape (N,) (() unbatched) for ``reduction="none"``.

    Notes
    -----
    The norm is evaluated with a double ``where``: the gradient is finite when the anchor
    equals the positive (the distance is then :math:`\epsilon D^{1/p}`, as in torch) and 0
    at an exact zero difference. Unlike torch, the three shapes must be equal (no
    broadcasting).

    PyTorch equivalent: ``torch.nn.functional.triplet_margin_loss``.

    References
    ----------
    Schroff, Kalenichenko & Philbin, "FaceNet", CVPR 2015. Balntas et al., "Learning local
    feature descriptors with triplets and shallow convolutional neural networks", BMVC 2016.

    Examples
    --------
    >>> import numpy as np, arrayloss
    >>> a, p, n = np.array([[0.0, 0.0]]), np.array([[0.0, 1.0]]), np.array([[1.0, 1.0]])
    >>> print(round(float(arrayloss.triplet_margin_loss(a, p, n, eps=0.0)), 6))
    0.585786
    """
    name = "triplet_margin_loss"
    xp = namespace_of(name, anchor=anchor, positive=positive, negative=negative, xp=xp)
    check_reduction(name, reduction)
    margin = _check_margin(name, margin)
    p = check_real_scalar(name, "p", p)
    check_option(name, "p", p, p > 0, "positive")
    eps = check_real_scalar(name, "eps", eps)
    check_option(name, "eps", eps, eps >= 0, "non-negative")
    check_option(name, "swap", swap, isinstance(swap, bool), "a bool")
    check_floating(name, "positive", positive, xp)
    check_floating(name, "negative", negative, xp)
    _check_embeddings(name, ("anchor", "positive", "negative"), (anchor, positive, negative))
    out, _, (anchor, positive, negative) = promote_floating(
        name, xp, anchor=anchor, positive=positive, negative=negative
    )
    used = (anchor, positive, negative)
    if (job := _triplet_native(used, margin, p, eps, swap, reduction, out, xp)) is not None:
        return job

    def dist(x1: Any, x2: Any) -> Any:
        return pairwise_distance(x1, x2, p=p, eps=eps, xp=xp)

    loss = _triplet(name, anchor, positive, negative, dist, margin, swap, xp)
    return finish(reduce(loss, reduction, xp=xp), out, xp)


@register(
    _FAMILY,
    class_name="TripletMarginWithDistanceLoss",
    delegates=True,
    torch="torch.nn.functional.triplet_margin_with_distance_loss",
    sample="embedding_triplet",
)
def triplet_margin_with_distance_loss(
    anchor: Any,
    positive: Any,
    negative: Any,
    /,
    *,
    distance_function: Callable[[Any, Any], Any] | None = None,
    margin: float = 1.0,
    swap: bool = False,
    reduction: str = "mean",
    xp: Any = None,
) -> Any:
    r"""Triplet loss with any distance function.

    .. math:: \ell_i = \max\left(0,\ \text{margin} + d(a_i, p_i) - d(a_i, n_i)\right)

    Parameters
    ----------
    anchor, positive, negative : array, shape (N, ...)
        Embeddings of one shape (any shape the distance function accepts).
    distance_function : callable, optional
        ``d(x1, x2)`` returning one non-negative distance per sample (shape (N,)), written
        with the arrays' own library (e.g. ``lambda a, b: 1 - xp.sum(a * b, axis=-1)``).
        Default: the Euclidean ``pairwise_distance`` (``p=2``, ``eps=1e-6``), as torch.
    margin : float
        Must be positive (torch).
    swap : bool
        Use :math:`\min(d(a, n), d(p, n))` as the negative distance.
    reduction : {"mean", "sum", "none"}
    xp : namespace, optional

    Returns
    -------
    array
        A 0-d array, or the distances' shape for ``reduction="none"``.

    Notes
    -----
    The default distance has a finite gradient when anchor and positive coincide (see
    ``triplet_margin_loss``). The shapes of the three embeddings must be equal.

    PyTorch equivalent: ``torch.nn.functional.triplet_margin_with_distance_loss``.

    Examples
    --------
    >>> import numpy as np, arrayloss
    >>> a, p, n = np.array([[0.0, 0.0]]), np.array([[0.0, 1.0]]), np.array([[1.0, 1.0]])
    >>> l1 = lambda x, y: np.sum(np.abs(x - y), axis=-1)
    >>> print(arrayloss.triplet_margin_with_distance_loss(a, p, n, distance_function=l1))
    0.0
    """
    name = "triplet_margin_with_distance_loss"
    xp = namespace_of(name, anchor=anchor, positive=positive, negative=negative, xp=xp)
    check_reduction(name, reduction)
    margin = _check_margin(name, margin)
    check_option(name, "margin", margin, margin > 0, "greater than 0")
    check_option(name, "swap", swap, isinstance(swap, bool), "a bool")
    if distance_function is not None and not callable(distance_function):
        raise TypeError(
            f"{name}: `distance_function` must be a callable d(x1, x2) or None, got "
            f"{type(distance_function).__name__}"
        )
    check_floating(name, "positive", positive, xp)
    check_floating(name, "negative", negative, xp)
    if anchor.ndim < 1:
        raise ValueError(f"{name}: `anchor` must have at least one axis, got a 0-d array")
    for n, a in (("positive", positive), ("negative", negative)):
        check_same_shape(name, "anchor", anchor, n, a)
    out, _, (anchor, positive, negative) = promote_floating(
        name, xp, anchor=anchor, positive=positive, negative=negative
    )
    dist: Callable[[Any, Any], Any]
    if distance_function is None:
        used = (anchor, positive, negative)
        job = _triplet_native(used, margin, 2.0, 1e-6, swap, reduction, out, xp)
        if job is not None:
            return job

        def dist(x1: Any, x2: Any) -> Any:
            return pairwise_distance(x1, x2, xp=xp)

    else:
        dist = distance_function
    loss = _triplet(name, anchor, positive, negative, dist, margin, swap, xp)
    return finish(reduce(loss, reduction, xp=xp), out, xp)
