"""A loop over row chunks of arrays, carrying an accumulator: ``chunked_scan``.

JAX gets a ``lax.scan`` over a (chunks, rows, ...) view (rows padded to a whole number of
chunks), so ``jax.jit`` compiles one chunk body instead of unrolling the loop and XLA keeps one
chunk's temporaries live at a time. Every other library gets a Python loop over slices (eager
torch/NumPy free each chunk's temporaries as the loop goes; Dask builds one lazy graph).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._compat import backend_name

__all__ = ["chunked_scan"]

_Body = Callable[[Any, tuple[Any, ...]], tuple[Any, tuple[Any, ...]]]


def chunked_scan(
    body: _Body, carry: Any, xs: tuple[Any, ...], /, *, chunk: int, pad: tuple[Any, ...], xp: Any
) -> tuple[Any, tuple[Any, ...]]:
    """Run ``carry, ys = body(carry, xs_chunk)`` over chunks of ``chunk`` rows of ``xs``.

    ``xs`` share their first dimension ``n``; the ``ys`` of every chunk are concatenated
    along axis 0 (``n`` rows again). ``pad`` gives, per ``xs`` array, the fill value of the
    padding rows JAX adds to the last chunk: the body must make such rows contribute
    nothing to ``carry`` (their ``ys`` rows are dropped).
    """
    n = xs[0].shape[0]
    if backend_name(xp) == "jax" and n > chunk:
        return _jax_scan(body, carry, xs, chunk, pad)
    ys_parts: list[tuple[Any, ...]] = []
    for start in range(0, n, chunk):
        carry, ys = body(carry, tuple(x[start : min(start + chunk, n), ...] for x in xs))
        ys_parts.append(ys)
    if len(ys_parts) == 1:
        return carry, ys_parts[0]
    return carry, tuple(xp.concat(parts, axis=0) for parts in zip(*ys_parts, strict=True))


def _jax_scan(
    body: _Body, carry: Any, xs: tuple[Any, ...], chunk: int, pad: tuple[Any, ...]
) -> tuple[Any, tuple[Any, ...]]:
    import jax
    import jax.numpy as jnp

    n = xs[0].shape[0]
    steps = -(-n // chunk)
    extra = steps * chunk - n
    stacked = []
    for x, fill in zip(xs, pad, strict=True):
        if extra:
            widths = [(0, extra)] + [(0, 0)] * (x.ndim - 1)
            x = jnp.pad(x, widths, constant_values=fill)
        stacked.append(jnp.reshape(x, (steps, chunk, *x.shape[1:])))
    carry, ys = jax.lax.scan(body, carry, tuple(stacked))
    return carry, tuple(jnp.reshape(y, (steps * chunk, *y.shape[2:]))[:n] for y in ys)
