"""``scan(f, init, xs, xp)``: a loop over the leading axis of ``xs`` carrying a state.

JAX gets ``jax.lax.scan`` (so ``jax.jit`` compiles one step instead of unrolling the loop);
every other library gets a Python loop (Dask builds one lazy graph). Outputs of ``f`` are
stacked along a new leading axis; ``None`` outputs give ``None``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._compat import backend_name

__all__ = ["scan"]


def scan(f: Callable[[Any, Any], tuple[Any, Any]], init: Any, xs: Any, xp: Any) -> tuple[Any, Any]:
    """Run ``carry, y = f(carry, xs[i])`` for every ``i``; return ``carry`` and stacked ``y``."""
    if backend_name(xp) == "jax":
        import jax

        return jax.lax.scan(f, init, xs)
    carry = init
    ys = []
    for i in range(xs.shape[0]):
        carry, y = f(carry, xs[i, ...])
        ys.append(y)
    if not ys or ys[0] is None:
        return carry, None
    return carry, xp.stack(ys, axis=0)
