"""``_lib/_reduction.py``: mean, sum and none, plain and weighted."""

from __future__ import annotations

import numpy as np

from arrayloss._lib._reduction import reduce, weighted_reduce


def test_reduce_and_weighted_reduce(backend):
    xp = backend.xp
    l_np = np.array([[1.0, 2.0], [3.0, 4.0]])
    w_np = np.array([[1.0], [3.0]])
    loss, w = backend.asarray(l_np, "float64"), backend.asarray(w_np, "float64")
    assert float(backend.to_numpy(reduce(loss, "mean", xp=xp))) == 2.5
    assert float(backend.to_numpy(reduce(loss, "sum", xp=xp))) == 10.0
    np.testing.assert_array_equal(backend.to_numpy(reduce(loss, "none", xp=xp)), l_np)
    wl = l_np * w_np
    assert float(backend.to_numpy(weighted_reduce(loss, w, "mean", xp=xp))) == wl.sum() / 8.0
    assert float(backend.to_numpy(weighted_reduce(loss, w, "sum", xp=xp))) == wl.sum()
    np.testing.assert_array_equal(backend.to_numpy(weighted_reduce(loss, w, "none", xp=xp)), wl)
