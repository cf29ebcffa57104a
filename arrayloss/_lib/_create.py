"""Arrays a loss makes (constants, index ranges, fills), made on the device of an array it
was given: the only way a loss creates an array from nothing (a test keeps it so).

On CUDA, a second array-api-strict device or a JAX device other than the default, an array
made without ``device=`` lands on the default device and cannot be combined with the
inputs. JAX is the exception where ``device=None`` is right: an uncommitted constant follows
the committed arrays it meets, and a traced array has no device to ask (the backend module
says so through ``creation_device``).
"""

from __future__ import annotations

from typing import Any

from ._dispatch import backend_hook

__all__ = ["arange", "constant", "device_of", "empty", "full", "ones", "zeros"]


def device_of(like: Any, xp: Any) -> Any:
    """The device to create arrays on so they combine with ``like``."""
    hook = backend_hook(xp, "creation_device")
    return hook(like) if hook is not None else getattr(like, "device", None)


def constant(value: Any, like: Any, /, *, xp: Any, dtype: Any = None) -> Any:
    """An array of ``value`` (a number: 0-d; a nested list of them) in ``like``'s dtype unless
    ``dtype``, on ``like``'s device."""
    dtype = like.dtype if dtype is None else dtype
    return xp.asarray(value, dtype=dtype, device=device_of(like, xp))


def arange(n: int, like: Any, /, *, xp: Any, dtype: Any) -> Any:
    """``0, 1, ..., n - 1`` on ``like``'s device."""
    return xp.arange(n, dtype=dtype, device=device_of(like, xp))


def empty(shape: tuple[int, ...], like: Any, /, *, xp: Any, dtype: Any = None) -> Any:
    """An uninitialised array of ``shape`` on ``like``'s device (to be written in place)."""
    dtype = like.dtype if dtype is None else dtype
    return xp.empty(shape, dtype=dtype, device=device_of(like, xp))


def full(shape: tuple[int, ...], value: Any, like: Any, /, *, xp: Any, dtype: Any = None) -> Any:
    """An array of ``shape`` filled with ``value`` on ``like``'s device."""
    dtype = like.dtype if dtype is None else dtype
    return xp.full(shape, value, dtype=dtype, device=device_of(like, xp))


def ones(shape: tuple[int, ...], like: Any, /, *, xp: Any, dtype: Any = None) -> Any:
    """Ones of ``shape`` on ``like``'s device."""
    dtype = like.dtype if dtype is None else dtype
    return xp.ones(shape, dtype=dtype, device=device_of(like, xp))


def zeros(shape: tuple[int, ...], like: Any, /, *, xp: Any, dtype: Any = None) -> Any:
    """Zeros of ``shape`` on ``like``'s device."""
    dtype = like.dtype if dtype is None else dtype
    return xp.zeros(shape, dtype=dtype, device=device_of(like, xp))
