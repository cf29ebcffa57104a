"""``_backends/numpy.py``: its in-place log cosh kernel, block by block."""

from __future__ import annotations

import numpy as np
import pytest

import arrayloss
from tests.backends._helpers import _LOG_COSH_EDGES, _log_cosh_reference


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_numpy_log_cosh_blocks(dtype):
    """NumPy's log_cosh runs in place in 64k-element blocks: the edges, both sides of a
    block boundary, a strided view and a 0-d array, against float64."""
    rng = np.random.default_rng(1)
    d = np.concatenate([_LOG_COSH_EDGES, rng.normal(scale=5.0, size=(1 << 17) + 3)]).astype(dtype)
    rtol = 1e-6 if dtype == "float32" else 1e-13
    for x in (d, d.reshape(-1, 1)[::2], d[:7].reshape(7, 1, 1), d[5:6].reshape(())):
        y = np.zeros_like(x)
        got = arrayloss.log_cosh_loss(x, y, reduction="none")
        assert got.shape == x.shape and got.dtype == x.dtype
        np.testing.assert_allclose(got, _log_cosh_reference(x.astype(np.float64), dtype),
                                   rtol=rtol, atol=1e-300)
