"""A loop over row chunks of arrays, carrying an accumulator: ``chunked_scan``.

A backend with its own ``chunked_scan`` runs it (JAX: a ``lax.scan`` over a (chunks, rows,
...) view, rows padded to a whole number of chunks, so ``jax.jit`` compiles one chunk body
instead of unrolling the loop and XLA keeps one chunk's temporaries live at a time). Every
other library gets a Python loop over slices (eager torch/NumPy free each chunk's
temporaries as the loop goes; Dask builds one lazy graph).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import _create as create
from ._compat import backend_name
from ._dispatch import backend_hook
from ._validation import all_concrete

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
    name = backend_name(xp)
    if n > chunk and (scan := backend_hook(xp, "chunked_scan")) is not None:
        result: tuple[Any, tuple[Any, ...]] = scan(body, carry, xs, chunk, pad)
        return result
    if n <= chunk:
        return body(carry, xs)
    ys_parts: list[tuple[Any, ...]] = []
    out: tuple[Any, ...] | None = None
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        carry, ys = body(carry, tuple(x[start:stop, ...] for x in xs))
        if start == 0 and name in _MUTABLE and all(_writable(y, xp) for y in ys):
            # Each chunk's rows go straight into the (n, ...) results: no list of chunk
            # results next to their concatenation (twice the results' memory at the end).
            out = tuple(
                create.empty((n, *y.shape[1:]), y, xp=xp) for y in ys
            )
        if out is None:
            ys_parts.append(ys)
        else:
            for o, y in zip(out, ys, strict=True):
                o[start:stop, ...] = y
    if out is not None:
        return carry, out
    return carry, tuple(xp.concat(parts, axis=0) for parts in zip(*ys_parts, strict=True))


# Libraries whose arrays support ``__setitem__`` (JAX's are immutable, Dask's are lazy).
_MUTABLE = frozenset({"numpy", "torch", "cupy", "array_api_strict"})


def _writable(y: Any, xp: Any) -> bool:
    """Whether the rows of ``y`` may be copied into a fresh buffer by ``__setitem__``
    without changing what autodiff or a compiler sees (concrete, no autograd history)."""
    return all_concrete((y,), xp) and not getattr(y, "requires_grad", False)
