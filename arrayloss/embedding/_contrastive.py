"""Contrastive losses: ``contrastive_loss`` (Hadsell, Chopra & LeCun, 2006) and
``info_nce_loss`` (NT-Xent / InfoNCE of SimCLR, Chen et al., 2020)."""

from __future__ import annotations

import math
from typing import Any

from .._lib import _create as create
from .._lib import (
    check_floating,
    check_option,
    check_real_scalar,
    check_reduction,
    check_same_shape,
    finish,
    namespace_of,
    promote_floating,
    reduce,
    register,
)
from .._lib._distance import normalize, pairwise_distance
from .._lib._dtypes import index_dtype
from .._lib._primitives import stop_gradient, take_along_axis
from .._lib._validation import invalid_as_nan, shape_str
from ._common import (
    _FAMILY,
    _check_binary,
    _check_embeddings,
    _check_margin,
    _check_target_is_real,
    _clamp_min0,
)


@register(_FAMILY, class_name="ContrastiveLoss", sample="embedding_pair_binary")
def contrastive_loss(
    input1: Any,
    input2: Any,
    target: Any,
    /,
    *,
    margin: float = 1.0,
    eps: float = 1e-6,
    reduction: str = "mean",
    xp: Any = None,
) -> Any:
    r"""Pairwise contrastive loss (Hadsell, Chopra & LeCun, 2006).

    .. math:: \ell_i = \tfrac12\, y_i\, D_i^2 + \tfrac12\, (1 - y_i) \max(0, m - D_i)^2,
              \quad D_i = \lVert x^{(1)}_i - x^{(2)}_i + \epsilon \rVert_2

    Parameters
    ----------
    input1, input2 : array, shape (N, D) or (D,)
        Embeddings of the two members of each pair.
    target : array, shape (N,) or ()
        1 (or ``True``) for a *similar* pair, 0 for a dissimilar one; floating, integer or
        boolean.
    margin : float
        :math:`m`, the distance beyond which dissimilar pairs cost nothing.
    eps : float
        Added to the difference as in torch's ``pairwise_distance``.
    reduction : {"mean", "sum", "none"}
    xp : namespace, optional

    Returns
    -------
    array
        A 0-d array, or shape (N,) (() unbatched) for ``reduction="none"``.

    Notes
    -----
    **Label convention**: ``target = 1`` means *similar* (the convention of TensorFlow
    Addons' ``contrastive_loss`` and of most modern code). Hadsell et al. write the label the
    other way round (:math:`Y = 0` similar): their :math:`Y` is ``1 - target``. The ½ factors
    are the paper's. Targets outside {0, 1} raise a ``ValueError`` on host arrays, NaN
    where they are not checked.

    :math:`\epsilon` keeps :math:`D > 0` for identical embeddings, so the gradient is finite.
    PyTorch has no equivalent.

    References
    ----------
    R. Hadsell, S. Chopra, Y. LeCun, "Dimensionality Reduction by Learning an Invariant
    Mapping", CVPR 2006.

    Examples
    --------
    >>> import numpy as np, arrayloss
    >>> a = np.array([[0.0, 0.0], [0.0, 0.0]])
    >>> b = np.array([[3.0, 4.0], [0.3, 0.4]])
    >>> y = np.array([1, 0])
    >>> print(arrayloss.contrastive_loss(a, b, y, eps=0.0, reduction="none").round(6))
    [12.5    0.125]
    """
    name = "contrastive_loss"
    xp = namespace_of(name, input1=input1, input2=input2, target=target, xp=xp)
    check_reduction(name, reduction)
    margin = _check_margin(name, margin)
    eps = check_real_scalar(name, "eps", eps)
    check_option(name, "eps", eps, eps >= 0, "non-negative")
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
    checked = _check_binary(name, target, xp)
    out, _, (input1, input2, target) = promote_floating(
        name, xp, input1=input1, input2=input2, target=target
    )
    d = pairwise_distance(input1, input2, eps=eps, xp=xp)
    hinge = _clamp_min0(margin - d, xp)
    loss = 0.5 * (target * d**2 + (1 - target) * hinge**2)
    if not checked:
        loss = invalid_as_nan(loss, (target == 0) | (target == 1), xp)
    return finish(reduce(loss, reduction, xp=xp), out, xp)


# info_nce_loss: a positive this far below its row's maximum takes the large-loss form.
_GAP = 30.0


@register(
    _FAMILY,
    class_name="InfoNCELoss",
    optax="optax.losses.ntxent (on concat([input, target]), labels concat([arange(N)] * 2))",
    sample="pair",
)
def info_nce_loss(
    input: Any,
    target: Any,
    /,
    *,
    temperature: float = 0.07,
    eps: float = 1e-8,
    reduction: str = "mean",
    xp: Any = None,
) -> Any:
    r"""NT-Xent / InfoNCE over a batch of paired embeddings, in both directions (SimCLR).

    With :math:`z = \text{concat}(x, y)` (2N rows), :math:`s_{jk} = \cos(z_j, z_k) / \tau`
    and :math:`\pi(j)` the other view of row :math:`j`:

    .. math:: \ell_j = -\log \frac{e^{s_{j\pi(j)}}}{\sum_{k \ne j} e^{s_{jk}}}, \qquad
              L_i = \tfrac12 (\ell_i + \ell_{i+N})

    Parameters
    ----------
    input : array, shape (N, D)
        Embeddings of the first view; row ``i`` is paired with row ``i`` of ``target``.
    target : array, shape (N, D)
        Embeddings of the second view.
    temperature : float
        :math:`\tau > 0`. Default 0.07 (optax's; SimCLR used 0.1-0.5).
    eps : float
        Each embedding norm is clamped to at least ``eps`` (torch's ``cosine_similarity``).
    reduction : {"mean", "sum", "none"}
        ``"none"``: one loss per pair, shape (N,), the mean of its two directions.
    xp : namespace, optional

    Returns
    -------
    array
        A 0-d array, or shape (N,) for ``reduction="none"``.

    Notes
    -----
    Every other embedding of the 2N (the other pairs of both views) is a negative; the
    softmax is a max-shifted ``logsumexp``, finite for any temperature.

    optax equivalent: ``optax.losses.ntxent(concat([x, y]), concat([arange(N), arange(N)]))``
    equals the ``"mean"`` here. Differences: optax takes one batch with group labels (any
    number of positives per anchor), clamps norms with ``finfo(dtype).eps`` instead of
    ``eps=1e-8`` (only zero/tiny embeddings differ) and always averages.

    References
    ----------
    T. Chen, S. Kornblith, M. Norouzi, G. Hinton, "A Simple Framework for Contrastive
    Learning of Visual Representations", ICML 2020. A. van den Oord, Y. Li, O. Vinyals,
    "Representation Learning with Contrastive Predictive Coding", 2018.

    Examples
    --------
    >>> import numpy as np, arrayloss
    >>> x = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> print(round(float(arrayloss.info_nce_loss(x, x, temperature=1.0)), 6))
    0.551445
    """
    name = "info_nce_loss"
    xp = namespace_of(name, input=input, target=target, xp=xp)
    check_reduction(name, reduction)
    temperature = check_real_scalar(name, "temperature", temperature)
    check_option(
        name,
        "temperature",
        temperature,
        temperature > 0 and not math.isinf(temperature),
        "positive and finite",
    )
    eps = check_real_scalar(name, "eps", eps)
    check_option(name, "eps", eps, eps >= 0, "non-negative")
    check_floating(name, "target", target, xp)
    if input.ndim != 2:
        raise ValueError(f"{name}: `input` must have shape (N, D), got {shape_str(input.shape)}")
    check_same_shape(name, "input", input, "target", target)
    out, _, (input, target) = promote_floating(name, xp, input=input, target=target)
    n = input.shape[0]
    # exact: XLA's x * (1/norm) is 1 ulp off, which 1/temperature amplifies
    z = normalize(xp.concat([input, target], axis=0), eps=eps, exact=True, xp=xp)
    raw = xp.matmul(z, xp.matrix_transpose(z)) / temperature
    # Each row's loss is log(1 + sum_j exp(s_j - s_pos)) over its negatives j (every row
    # but itself and its positive). Written as log1p of that sum, the small loss of a
    # positive that outscores its negatives keeps its digits: log(sum) of a sum near 1
    # rounds at ulp(1) first (log_softmax's way, several times torch's float32 error). The
    # sums are shifted by m = max(s_pos, max_j s_j), so nothing overflows; a positive more
    # than 30 below m (a loss above 30, no digits to lose) takes gap + log(a + e^-gap),
    # where e^gap could overflow. The positives are read from the matrix the negatives come
    # from (a separately rounded dot product differs by a few ulp, which 1/temperature
    # amplifies), by a gather from the unmasked copy (Dask's one-hot product meets no -inf).
    rows = create.arange(n, raw, xp=xp, dtype=index_dtype(xp))
    partner = xp.concat([rows + n, rows])
    cols = create.arange(2 * n, raw, xp=xp, dtype=partner.dtype)
    mask = (cols[None, :] == cols[:, None]) | (cols[None, :] == partner[:, None])
    # a 0-d -inf, not full_like: torch's (2N, 2N) fill would be most of the call's time
    neg = xp.where(mask, create.constant(-math.inf, raw, xp=xp), raw)
    pos = take_along_axis(raw, partner[:, None], axis=1, xp=xp)[:, 0]
    m = stop_gradient(xp.maximum(xp.max(neg, axis=1), pos), xp=xp)
    a = xp.sum(xp.exp(neg - m[:, None]), axis=1)
    gap = m - pos  # >= 0: 0 when the positive scores highest
    lim = create.constant(_GAP, gap, xp=xp)
    row = xp.where(
        gap <= lim,
        xp.log1p(a * xp.exp(xp.minimum(gap, lim))),
        gap + xp.log(a + xp.exp(-gap)),
    )
    loss = 0.5 * (row[:n] + row[n:])
    return finish(reduce(loss, reduction, xp=xp), out, xp)
