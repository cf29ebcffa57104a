"""``_lib/_dtypes.py``: the dtype policy (low precision computed in float32, its result dtype
kept; integer inputs refused)."""

from __future__ import annotations

import numpy as np
import pytest

import arrayloss
from arrayloss._lib._dtypes import promote_floating


def test_low_precision_is_computed_in_float32(backend, dtype):
    """float16/bfloat16 promote to a float32 working dtype and keep their own result dtype."""
    xp = backend.xp
    x = backend.asarray(np.ones(3), dtype)
    t = backend.asarray(np.array([1, 0, 1]))
    out, work, (xc, tc) = promote_floating("l", xp, input=x, target=t)
    assert out == x.dtype
    assert work == (xp.float32 if dtype in ("float16", "bfloat16") else x.dtype)
    assert xc.dtype == work and tc.dtype == work


def test_float16_sum_does_not_overflow(backend):
    """A float16 sum of 10^5 squared errors of 4 overflows float16 arithmetic (max 65504);
    computed in float32 it is exact and its mean fits float16."""
    if "float16" not in backend.dtypes:
        pytest.skip(f"{backend} has no float16")
    a = np.full(100_000, 2.0)
    x, y = backend.asarray(a, "float16"), backend.asarray(np.zeros_like(a), "float16")
    out = arrayloss.mse_loss(x, y, reduction="mean")
    assert backend.to_numpy(out) == 4.0
    with np.errstate(over="ignore"):  # NumPy warns when the float32 sum is cast to inf
        total = backend.to_numpy(arrayloss.mse_loss(x, y, reduction="sum"))
    assert np.isinf(total)  # 4e5 > 65504: the true sum is not representable in float16


def test_integer_input_is_type_error():
    with pytest.raises(TypeError, match=r"^mse_loss: `input` must have a real floating dtype"):
        arrayloss.mse_loss(np.ones(3, dtype=np.int64), np.ones(3))
