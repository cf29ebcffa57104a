"""Which array library (and device) a call's arrays belong to.

``namespace_of`` is the first line of every loss. It looks at every array argument of the
call (``None`` and Python scalars are ignored), and either returns the one array-API
namespace they share or raises an error that names the loss and the offending arguments:
a ``TypeError`` for arrays of different libraries, a ``ValueError`` for arrays on
different devices. arrayloss never converts between frameworks or moves data between
devices: that is the caller's decision.
"""

from __future__ import annotations

import numbers
from typing import Any

from ._compat import array_namespace, backend_name, device
from ._registry import REGISTRY

__all__ = ["namespace_of", "same_device_check"]

_SCALARS = (int, float, bool, complex)
# what _NAMESPACE_BY_TYPE holds for a number type that is not a Python one (NumPy scalars)
_SCALAR = object()

# type(array) -> namespace. Resolving a namespace costs array-api-compat a chain of
# isinstance checks; the type of an array decides it, so one dict look-up per argument
# keeps the per-call overhead of a loss at a few hundred nanoseconds.
_NAMESPACE_BY_TYPE: dict[type, Any] = {}

# Backends whose arrays carry a device that can differ between the arguments of one call.
_DEVICE_AWARE = frozenset({"torch", "cupy", "array_api_strict"})


def _namespace_of_array(loss: str, arg: str, x: Any) -> Any:
    t = type(x)
    xp = _NAMESPACE_BY_TYPE.get(t)
    if xp is None:
        if isinstance(x, numbers.Number):  # np.float32(0.5): a number, as a Python one is
            _NAMESPACE_BY_TYPE[t] = _SCALAR
            return _SCALAR
        try:
            xp = array_namespace(x)
        except TypeError:
            raise TypeError(
                f"{loss}: argument `{arg}` must be an array (NumPy, PyTorch, JAX, CuPy, Dask "
                f"or any array-API library), got {t.__name__}"
            ) from None
        _NAMESPACE_BY_TYPE[t] = xp
    return xp


def namespace_of(loss: str, /, *, xp: Any = None, **arrays: Any) -> Any:
    """Return the array namespace shared by ``arrays`` (the keyword names are used in errors).

    ``xp`` given by the caller short-cuts the inspection (as in SciPy and array-api-extra):
    the caller promises the arrays belong to it.
    """
    if xp is not None:
        return xp
    found: Any = None
    first_arg = ""
    for arg, x in arrays.items():
        if x is None:
            continue
        if isinstance(x, _SCALARS):
            _check_scalar_allowed(loss, arg, x)
            continue
        x_xp = _namespace_of_array(loss, arg, x)
        if x_xp is _SCALAR:
            _check_scalar_allowed(loss, arg, x)
            continue
        if found is None:
            found, first_arg = x_xp, arg
        elif x_xp is not found:
            raise TypeError(
                f"{loss}: `{first_arg}` is a {backend_name(found)} array but `{arg}` is a "
                f"{backend_name(x_xp)} array; arrayloss never converts between frameworks, "
                "so pass arrays of one library"
            )
    if found is None:
        raise TypeError(
            f"{loss}: none of the arguments ({', '.join(arrays)}) is an array; "
            "pass arrays of one array library"
        )
    if backend_name(found) in _DEVICE_AWARE:
        same_device_check(loss, arrays)
    return found


def _check_scalar_allowed(loss: str, arg: str, x: Any) -> None:
    """A Python number where the loss takes an array positionally (``mse_loss(x, 0.0)``):
    a ``TypeError`` naming the argument, unless the loss declares it (``scalar_args``)."""
    spec = REGISTRY.get(loss)
    if spec is not None and arg in spec.array_args and arg not in spec.scalar_args:
        raise TypeError(
            f"{loss}: `{arg}` must be an array, got a Python {type(x).__name__} ({x!r}); "
            "make it an array of the other arguments' library and device"
        )


def same_device_check(loss: str, arrays: dict[str, Any]) -> None:
    """Raise ``ValueError`` when the arrays of one call live on different devices."""
    first: Any = None
    first_arg = ""
    for arg, x in arrays.items():
        if x is None or isinstance(x, _SCALARS) or _NAMESPACE_BY_TYPE.get(type(x)) is _SCALAR:
            continue
        # The standard's ``.device`` attribute: cheaper than array-api-compat's device(),
        # and the same on the device-aware backends (torch, cupy, strict).
        d = getattr(x, "device", None)
        if d is None:
            d = device(x)
        if first is None:
            first, first_arg = d, arg
        elif d != first:
            raise ValueError(
                f"{loss}: `{first_arg}` is on device {first} but `{arg}` is on device {d}; "
                "arrayloss never moves data between devices, so put them on one device"
            )
