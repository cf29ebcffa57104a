"""float64 references for log cosh, shared by the NumPy, torch and JAX kernel tests."""

from __future__ import annotations

import numpy as np


def _log_cosh_reference(d, dtype):
    """float64 log cosh(d), rounded to ``dtype``: cosh a = 1 + 2 sinh^2(a / 2), no
    cancellation near 0; past 20, a + log1p(e^-2a) - log 2, no overflow."""
    a = np.abs(d)
    with np.errstate(invalid="ignore", over="ignore"):
        want = np.where(a < 20, np.log1p(2 * np.sinh(a / 2) ** 2),
                        a + np.log1p(np.exp(-2 * a)) - np.log(2.0))
    return want.astype(dtype)  # 1e-30 ** 2 / 2 is 0 in float32


_LOG_COSH_EDGES = [0.0, -0.0, 1e-30, -1e-8, 3e-4, 0.5, -1.0, 39.9, 40.0, -41.0, 100.0,
                   np.inf, -np.inf, np.nan]


# d = 0 exactly is where log cosh curves most (a perfect fit) and where autodiff through |d|
# would give a second derivative of 0.
_LOG_COSH_SMOOTH = np.array([0.0, -0.0, 1e-30, -1e-8, 3e-4, 0.5, -1.0, 3.0, -39.9, 41.0, 100.0])


def _sech2(d):
    with np.errstate(over="ignore"):
        return 1.0 / np.cosh(d) ** 2
