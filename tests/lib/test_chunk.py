"""``_lib/_chunk.py``: the chunked scan's rows and carry on every backend."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.mark.parametrize("n", [1, 7, 8, 9, 20])
def test_chunked_scan_carry_and_rows(backend, n):
    """Rows of every chunk land at their place (written into one buffer on mutable
    libraries, concatenated elsewhere, a padded lax.scan on JAX); the carry sums them."""
    from arrayloss._lib._chunk import chunked_scan

    xp = backend.xp
    a = np.arange(n * 3, dtype=np.float64).reshape(n, 3)
    t = np.arange(n) % 4

    def body(carry, xs):
        xc, tc = xs
        y = xc * 2.0 + xp.astype(tc, xc.dtype)[:, None]
        return carry + xp.sum(xc), (y, tc + 1)

    zero = backend.asarray(np.array(0.0), "float64")
    carry, (y, t1) = chunked_scan(
        body, zero, (backend.asarray(a, "float64"), backend.asarray(t)), chunk=4,
        pad=(0.0, 0), xp=xp,
    )
    np.testing.assert_allclose(backend.to_numpy(carry), a.sum())
    np.testing.assert_allclose(backend.to_numpy(y), a * 2.0 + t[:, None])
    np.testing.assert_array_equal(backend.to_numpy(t1), t + 1)
