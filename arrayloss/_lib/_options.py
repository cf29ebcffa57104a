"""Process-wide options: ``arrayloss.set_options``, the ``arrayloss.options`` context manager
and their environment variables.

``check_values`` decides when a loss reads array *values* to check them (class labels in
range, probabilities in [0, 1], variances >= 0), which on an accelerator means waiting for
the device (a host synchronisation) on every call:

* ``"auto"`` (default, ``ARRAYLOSS_CHECK_VALUES=auto``): on host arrays only (NumPy, torch
  on the CPU, eager JAX on CPU devices, array-api-strict); on accelerator arrays (CUDA, CuPy,
  JAX on GPU/TPU, torch ``meta``) nothing is read: a delegated native kernel checks on the
  device as its library does, and a generic path makes the affected result NaN.
* ``"always"``: wherever the values exist (also on an accelerator, at the cost of a
  synchronisation); traced and lazy arrays have no values yet and still get the NaN.
* ``"never"``: nowhere: bad values show as NaN (or the native kernel's own error).

Module globals, not ContextVars: torch.compile (Dynamo) cannot trace ContextVar.get, while it
reads (and guards on) a module global. The options are process-wide, not per thread.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

from ._plans import clear_plans

__all__ = ["check_values_mode", "get_options", "options", "set_options"]

_CHECK_VALUES_MODES = ("auto", "always", "never")


def _from_env() -> str:
    mode = os.environ.get("ARRAYLOSS_CHECK_VALUES", "auto").strip().lower() or "auto"
    if mode not in _CHECK_VALUES_MODES:
        raise ValueError(
            f"ARRAYLOSS_CHECK_VALUES must be one of {', '.join(_CHECK_VALUES_MODES)}, "
            f"got {mode!r}"
        )
    return mode


_CHECK_VALUES = _from_env()


def check_values_mode() -> str:
    return _CHECK_VALUES


def get_options() -> dict[str, Any]:
    """The current options, as keyword arguments of :func:`set_options`."""
    return {"check_values": _CHECK_VALUES}


def set_options(*, check_values: str | None = None) -> None:
    """Set process-wide options (an option left at None keeps its value).

    Parameters
    ----------
    check_values : {"auto", "always", "never"}
        When losses read array values to check them: ``"auto"`` on host arrays only (no
        device synchronisation on accelerators: there, bad values give NaN or the native
        kernel's own error), ``"always"`` wherever the values exist, ``"never"`` nowhere.

    Examples
    --------
    >>> import arrayloss
    >>> arrayloss.set_options(check_values="always")
    >>> arrayloss.get_options()
    {'check_values': 'always'}
    >>> arrayloss.set_options(check_values="auto")
    """
    global _CHECK_VALUES
    if check_values is not None:
        if check_values not in _CHECK_VALUES_MODES:
            raise ValueError(
                f"set_options: `check_values` must be one of "
                f"{', '.join(map(repr, _CHECK_VALUES_MODES))}, got {check_values!r}"
            )
        _CHECK_VALUES = check_values
        _changed()


@contextlib.contextmanager
def options(*, check_values: str | None = None) -> Iterator[None]:
    """Within the block, use these options (see :func:`set_options`); restored after.

    Examples
    --------
    >>> import numpy as np, arrayloss
    >>> with arrayloss.options(check_values="never"):
    ...     print(arrayloss.cross_entropy(np.zeros((1, 3)), np.array([5])))
    nan
    """
    previous = get_options()
    set_options(check_values=check_values)
    try:
        yield
    finally:
        set_options(**previous)


def _changed() -> None:
    clear_plans()  # plans were kept under the old policy
