"""Distances and similarities between embeddings, with torch's ``eps`` semantics.

The trap these avoid: :math:`\\sqrt{s}` has an infinite derivative at :math:`s = 0`, so the
Euclidean distance of two *identical* embeddings would have a ``nan`` gradient
(``inf * 0``). Two guards, as torch:

* ``pairwise_distance`` adds ``eps`` to the difference (torch's
  ``norm(x1 - x2 + eps, p)``): identical inputs are ``eps * D**(1/p)`` apart, not 0.
* Every p-norm is evaluated with the "double ``where``": the root/power is taken of a safe
  value where the argument is 0 and the result is replaced by 0 there, so the gradient at
  an exact zero is 0 (torch's ``norm`` backward masks ``norm == 0`` to 0 too), never ``nan``.
"""

from __future__ import annotations

import math
from typing import Any

from ._primitives import divide_exact, safe_root

__all__ = ["cosine_similarity", "normalize", "pairwise_distance", "safe_root", "vector_norm"]


def vector_norm(
    x: Any, /, *, p: float = 2.0, axis: int = -1, keepdims: bool = False, xp: Any
) -> Any:
    """The p-norm of ``x`` along ``axis`` (``p`` > 0 or ``inf``), with a finite gradient at 0.

    The gradient at ``x == 0`` is 0 (torch's ``linalg.vector_norm`` backward), and for
    ``p < 1`` the components that are exactly 0 get a zero gradient instead of ``inf``.
    """
    a = xp.abs(x)
    if math.isinf(p):
        return xp.max(a, axis=axis, keepdims=keepdims)
    if p == 1:
        return xp.sum(a, axis=axis, keepdims=keepdims)
    zero = xp.zeros_like(a)
    if p == 2:
        s = xp.sum(x * x, axis=axis, keepdims=keepdims)
    else:
        # |x|**p at 0 has the derivative p |x|**(p-1) = inf for p < 1: take it of a safe 1.
        nz = a != 0  # (not a > 0: NaN must propagate)
        s = xp.sum(
            xp.where(nz, xp.where(nz, a, xp.ones_like(a)) ** p, zero), axis=axis, keepdims=keepdims
        )
    return safe_root(s, p=p, xp=xp)


def pairwise_distance(
    x1: Any,
    x2: Any,
    /,
    *,
    p: float = 2.0,
    eps: float = 1e-6,
    axis: int = -1,
    keepdims: bool = False,
    xp: Any,
) -> Any:
    """torch's ``pairwise_distance``: :math:`\\lVert x_1 - x_2 + \\epsilon \\rVert_p` over
    ``axis``; ``eps`` keeps identical embeddings at a positive distance."""
    return vector_norm(x1 - x2 + eps, p=p, axis=axis, keepdims=keepdims, xp=xp)


def normalize(
    x: Any, /, *, eps: float = 1e-8, axis: int = -1, exact: bool = False, xp: Any
) -> Any:
    """``x / max(||x||_2, eps)`` along ``axis`` (torch's ``cosine_similarity`` clamp); a zero
    vector stays 0 with a finite (``1/eps``-sized) gradient. ``exact``: a correctly rounded
    division on every backend (:func:`divide_exact`; XLA's reciprocal is 1 ulp off)."""
    n = vector_norm(x, p=2.0, axis=axis, keepdims=True, xp=xp)
    n = xp.maximum(n, xp.full_like(n, eps))
    return divide_exact(x, n, xp=xp) if exact else x / n


def cosine_similarity(x1: Any, x2: Any, /, *, eps: float = 1e-8, axis: int = -1, xp: Any) -> Any:
    """torch's ``cosine_similarity``: :math:`\\frac{x_1}{\\max(\\lVert x_1\\rVert, \\epsilon)}
    \\cdot \\frac{x_2}{\\max(\\lVert x_2\\rVert, \\epsilon)}` along ``axis`` (each norm
    clamped separately, as torch >= 1.12); 0 for a zero vector."""
    return xp.sum(
        normalize(x1, eps=eps, axis=axis, xp=xp) * normalize(x2, eps=eps, axis=axis, xp=xp),
        axis=axis,
    )
