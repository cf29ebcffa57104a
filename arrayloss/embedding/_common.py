"""What the embedding losses share: target and margin checks, the hinge."""


from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._lib import (
    check_real_scalar,
    check_same_shape,
    is_concrete,
)
from .._lib._primitives import all_signs
from .._lib._validation import invalid_as_nan, shape_str

_FAMILY = "embedding"

def _clamp_min0(z: Any, xp: Any) -> Any:
    """max(z, 0) as torch's ``clamp_min``: gradient 1 at z == 0 (a ``where``, not
    ``maximum``, whose gradient splits at the tie) and NaN kept (``NaN < 0`` is false)."""
    return xp.where(z < 0, xp.zeros_like(z), z)


def _check_signs(loss: str, target: Any, xp: Any) -> bool:
    """``target`` must hold -1 or 1 (checked on concrete arrays only). Returns whether the
    values were read (False: ``_signs_as_nan`` marks the bad ones)."""
    ok = all_signs(target, xp=xp) if is_concrete(target, xp) else None
    # A concrete target closed over by a jitted function still yields a traced result.
    if ok is None or not is_concrete(ok, xp):
        return False
    if not bool(ok):
        _raise_signs(loss, target, xp)
    return True


def _signs_as_nan(loss: Any, target: Any, xp: Any) -> Any:
    """``loss`` with NaN where an unchecked ``target`` holds neither -1 nor 1."""
    return invalid_as_nan(loss, (target == 1) | (target == -1), xp)


def _raise_signs(loss: str, target: Any, xp: Any) -> None:
    """The error for a concrete target with values other than -1 and 1."""
    ok = (target == 1) | (target == -1)
    bad = xp.where(ok, xp.ones_like(target), target)
    lo, hi = xp.min(bad), xp.max(bad)
    example = float(lo) if bool(lo != 1) else float(hi)
    raise ValueError(f"{loss}: `target` must hold only -1 and 1, found {example}")


def _check_binary(loss: str, target: Any, xp: Any) -> bool:
    """``target`` must hold 0 or 1 (checked on concrete arrays only). Returns whether the
    values are known to be valid (False: the caller NaN-marks the bad ones)."""
    if target.dtype == xp.bool:
        return True
    ok = (target == 0) | (target == 1) if is_concrete(target, xp) else None
    # A concrete target closed over by a jitted function still yields a traced mask.
    if ok is None or not is_concrete(ok, xp):
        return False
    if not bool(xp.all(ok)):
        bad = xp.where(ok, xp.zeros_like(target), target)
        lo, hi = xp.min(bad), xp.max(bad)
        example = float(lo) if bool(lo != 0) else float(hi)
        raise ValueError(f"{loss}: `target` must hold only 0 and 1, found {example}")
    return True


def _check_target_is_real(loss: str, target: Any, xp: Any) -> None:
    if not (
        xp.isdtype(target.dtype, "real floating")
        or xp.isdtype(target.dtype, "integral")
        or target.dtype == xp.bool
    ):
        raise TypeError(f"{loss}: `target` must have a real dtype, got {target.dtype}")


def _check_margin(loss: str, margin: Any) -> float:
    return check_real_scalar(loss, "margin", margin)


def _signs_check(loss: str, xp: Any) -> Callable[..., None]:
    """A plan's ``check`` (torch's kernels do not make it): the last array (the target)
    holds only -1 and 1."""

    def check(*arrays: Any) -> None:  # eager arrays only (plans)
        if not bool(all_signs(arrays[-1], xp=xp)):
            _raise_signs(loss, arrays[-1], xp)

    return check


def _check_embeddings(loss: str, names: tuple[str, ...], arrays: tuple[Any, ...]) -> None:
    """Embeddings of shape (N, D) or (D,), all of one shape."""
    first = arrays[0]
    if first.ndim not in (1, 2):
        raise ValueError(
            f"{loss}: `{names[0]}` must have shape (N, D) or (D,), got {shape_str(first.shape)}"
        )
    for n, a in zip(names[1:], arrays[1:]):
        check_same_shape(loss, names[0], first, n, a)


# ---------------------------------------------------------------------------------------------
