"""The backends under test: how to make arrays for each, and read them back.

Test data is generated as float64/int64 NumPy arrays; a Backend converts it to its own
arrays in the dtype under test (``asarray``) and back to float64 NumPy (``to_numpy``). The
reference sees the *rounded* inputs (``to_numpy(asarray(a, dtype))``), so a float16 test
measures the loss's error, not the error of rounding its inputs.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

FLOAT_DTYPES = ("float64", "float32", "float16", "bfloat16")


def _gpu_available() -> bool:
    try:
        import torch

        return bool(torch.cuda.is_available())
    except ImportError:
        return False


@dataclass(frozen=True)
class Backend:
    name: str
    module: str
    dtypes: tuple[str, ...]
    differentiable: bool = False
    needs_gpu: bool = False
    has_natives: bool = False
    _asarray: Callable[..., Any] = field(default=None, repr=False, compare=False)  # type: ignore[assignment]

    def __str__(self) -> str:
        return self.name

    def skip_reason(self) -> str | None:
        if importlib.util.find_spec(self.module) is None:
            return f"{self.module} is not installed"
        if self.needs_gpu and not _gpu_available():
            return "no GPU on this machine"
        return None

    @cached_property
    def xp(self) -> Any:
        from array_api_compat import array_namespace

        return array_namespace(self.asarray(np.zeros(1), "float64"))

    def asarray(self, a: Any, dtype: str | None = None) -> Any:
        """NumPy array -> backend array; floating arrays are cast to ``dtype``."""
        a = np.asarray(a)
        floating = np.issubdtype(a.dtype, np.floating)
        return self._asarray(a, dtype if floating and dtype else None)

    def to_numpy(self, x: Any) -> np.ndarray:
        mod = type(x).__module__
        if mod.startswith("torch"):
            x = x.detach().cpu()
            if x.is_floating_point():
                x = x.double()
            return x.numpy()
        if mod.startswith("dask"):
            x = x.compute()
        elif mod.startswith("cupy"):
            x = x.get()
        elif mod.startswith("array_api_strict"):
            x = np.from_dlpack(x) if str(x.device) == "CPU_DEVICE" else np.asarray(x._array)
        a = np.asarray(x)
        if np.issubdtype(a.dtype, np.floating) or a.dtype.name == "bfloat16":
            a = a.astype(np.float64)
        return a


def _np_asarray(a: np.ndarray, dtype: str | None) -> Any:
    return a.astype(dtype) if dtype else a


def _strict_asarray(a: np.ndarray, dtype: str | None) -> Any:
    import array_api_strict as xp

    return xp.asarray(a.astype(dtype) if dtype else a)


def _strict_device1_asarray(a: np.ndarray, dtype: str | None) -> Any:
    # array-api-strict's second device refuses to combine with the default one, as CUDA
    # refuses the CPU: an array a loss makes without device= shows up as an error here.
    import array_api_strict as xp

    return xp.asarray(a.astype(dtype) if dtype else a, device=xp.Device("device1"))


def _torch_asarray(a: np.ndarray, dtype: str | None, device: str = "cpu") -> Any:
    import torch

    t = torch.from_numpy(np.array(a, order="C", copy=True))  # ascontiguousarray makes 0-d 1-d
    if dtype:
        t = t.to(getattr(torch, dtype))
    return t.to(device)


def _jax_asarray(a: np.ndarray, dtype: str | None) -> Any:
    import jax.numpy as jnp

    return jnp.asarray(a, dtype=getattr(jnp, dtype) if dtype else None)


def _dask_asarray(a: np.ndarray, dtype: str | None) -> Any:
    import dask.array as da

    a = a.astype(dtype) if dtype else a
    # Two chunks along the batch axis, so the tests exercise cross-chunk reductions.
    chunks = tuple(max(1, (s + 1) // 2) if i == 0 else s for i, s in enumerate(a.shape))
    return da.from_array(a, chunks=chunks or a.shape)


def _cupy_asarray(a: np.ndarray, dtype: str | None) -> Any:
    import cupy as cp

    return cp.asarray(a.astype(dtype) if dtype else a)


BACKENDS: dict[str, Backend] = {
    b.name: b
    for b in (
        Backend("numpy", "numpy", ("float64", "float32", "float16"), has_natives=True,
                _asarray=_np_asarray),
        Backend("array_api_strict", "array_api_strict", ("float64", "float32"),
                _asarray=_strict_asarray),
        Backend("strict_device1", "array_api_strict", ("float64", "float32"),
                _asarray=_strict_device1_asarray),
        Backend("torch", "torch", FLOAT_DTYPES, differentiable=True, has_natives=True,
                _asarray=_torch_asarray),
        Backend("jax", "jax", FLOAT_DTYPES, differentiable=True, has_natives=True,
                _asarray=_jax_asarray),
        Backend("dask", "dask", ("float64", "float32", "float16"), _asarray=_dask_asarray),
        Backend("cupy", "cupy", ("float64", "float32", "float16"), needs_gpu=True,
                has_natives=True, _asarray=_cupy_asarray),
        Backend("torch_cuda", "torch", FLOAT_DTYPES, differentiable=True, needs_gpu=True,
                has_natives=True,
                _asarray=lambda a, d: _torch_asarray(a, d, device="cuda")),
    )
}


def selected_backends(option: str | None) -> list[Backend]:
    """Backends named by ``--backends`` / ``ARRAYLOSS_BACKENDS`` (comma separated), else all."""
    spec = option or os.environ.get("ARRAYLOSS_BACKENDS") or "all"
    if spec == "all":
        return list(BACKENDS.values())
    names = [s.strip() for s in spec.split(",") if s.strip()]
    unknown = [n for n in names if n not in BACKENDS]
    if unknown:
        raise ValueError(f"unknown backend(s) {unknown}; known: {list(BACKENDS)}")
    return [BACKENDS[n] for n in names]
