"""CuPy: the few primitives with a fused native form. CuPy has no autodiff and no tracing;
its arrays live on a GPU, so nothing here reads a value to the host. Imported by
``arrayloss._lib._dispatch`` when a CuPy array first meets a loss.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import cupy as cp

__all__ = ["on_host", "primitives"]


def on_host(arrays: Any) -> bool:
    return False  # CuPy arrays live on a GPU: every read is a device synchronisation


def primitives(generic: Mapping[str, Callable[..., Any]]) -> dict[str, Callable[..., Any]]:
    """The native primitive table (logaddexp is a fused, stable softplus)."""
    return {
        "softplus": lambda x, /, *, xp: cp.logaddexp(cp.zeros((), dtype=x.dtype), x),
        "log_sigmoid": lambda x, /, *, xp: -cp.logaddexp(cp.zeros((), dtype=x.dtype), -x),
    }
