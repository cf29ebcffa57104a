"""The only module that imports array-api-compat; everything else imports from here."""

from __future__ import annotations

from typing import Any

from array_api_compat import (
    array_namespace,
    device,
    is_array_api_obj,
    is_array_api_strict_namespace,
    is_cupy_namespace,
    is_dask_namespace,
    is_jax_namespace,
    is_numpy_namespace,
    is_torch_namespace,
    size,
    to_device,
)

__all__ = [
    "array_namespace",
    "backend_name",
    "device",
    "is_array_api_obj",
    "is_array_api_strict_namespace",
    "is_cupy_namespace",
    "is_dask_namespace",
    "is_jax_namespace",
    "is_numpy_namespace",
    "is_torch_namespace",
    "isdtype",
    "size",
    "to_device",
]

_BACKEND_NAMES: dict[int, str] = {}


def backend_name(xp: Any) -> str:
    """Short, stable name of the library behind namespace ``xp``.

    One of ``numpy``, ``torch``, ``jax``, ``cupy``, ``dask``, ``array_api_strict`` or, for a
    namespace we do not know, its module name. Cached per namespace object: the checks in
    array-api-compat import nothing but still cost a few attribute look-ups.
    """
    key = id(xp)
    name = _BACKEND_NAMES.get(key)
    if name is None:
        for check, candidate in (
            (is_numpy_namespace, "numpy"),
            (is_torch_namespace, "torch"),
            (is_jax_namespace, "jax"),
            (is_cupy_namespace, "cupy"),
            (is_dask_namespace, "dask"),
            (is_array_api_strict_namespace, "array_api_strict"),
        ):
            if check(xp):
                name = candidate
                break
        else:
            name = getattr(xp, "__name__", type(xp).__name__)
        _BACKEND_NAMES[key] = name
    return name


_ISDTYPE: dict[tuple[int, Any, Any], bool] = {}


def isdtype(dtype: Any, kind: Any, xp: Any) -> bool:
    """``xp.isdtype(dtype, kind)``, cached per namespace: a dtype's kind never changes, and
    the namespaces' ``isdtype`` costs about a microsecond per call (several per loss call).
    Keyed per namespace: dtype objects of different libraries may hash alike."""
    key = (id(xp), dtype, kind)
    found = _ISDTYPE.get(key)
    if found is None:
        found = _ISDTYPE[key] = bool(xp.isdtype(dtype, kind))
    return found
