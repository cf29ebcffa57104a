"""Per-signature plans: a delegated loss call's checks, done once per signature.

A loss's argument checks (namespace and devices, dtypes, shapes, option values, floating
promotion, the choice of a whole-loss native kernel) depend only on the call's
*signature*: the arrays' types, dtypes, shapes and devices and the option values, never on
the values in the arrays. When they end in a plain kernel call (a ``native_loss`` kernel
on the caller's own arrays: nothing cast, no axis moved, no array value read; a bad class
label is left to the kernel, which raises on CPU: ``native_checks_labels``), the loss keeps
that call as the signature's *plan*. The next call with the same signature builds its key
(a few attribute reads and one dict look-up, about half a microsecond on torch) and runs
the plan, so a delegated arrayloss call costs about a microsecond more than calling the
kernel itself instead of six (the checks): for ``nll_loss`` on (8192, 1280)
log-probabilities, a gather of 8192 values that takes torch 25 us, those six microseconds
were a 1.4x slowdown (``benchmarks/results/results.md``).

Plans exist only where whole-loss kernels do (eager torch tensors): no other array type,
nothing under ``torch.compile`` (Dynamo traces the checks once per graph anyway) or inside a
``torch.func`` transform (some kernels are used only outside them), nothing when the
caller passes ``xp=``. ``force_generic`` clears them all, and a loss's table is emptied
when it grows past ``_MAX_PLANS`` signatures (a workload of ever-new shapes).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["NativeCall", "Plans", "clear_plans", "enable_plans"]

_MAX_PLANS = 1024

# exact array type -> a test that a call on it may use plans now (eager, no transform);
# filled by enable_plans when a backend's whole-loss kernels are loaded.
_PLANNED: dict[type, Callable[[], bool]] = {}
_ALL: list[Plans] = []


def enable_plans(array_type: type, eager: Callable[[], bool]) -> None:
    """Let calls whose first array is exactly ``array_type`` use plans while ``eager()``."""
    _PLANNED[array_type] = eager


def clear_plans() -> None:
    """Forget every plan (``force_generic`` changes which kernels the checks choose)."""
    for plans in _ALL:
        plans.table.clear()


class NativeCall:
    """``kernel(*arrays, **options)``: a loss handed to a backend kernel. ``recheck`` (the
    kernel checks class labels itself: ``native_checks_labels``) runs arrayloss's label
    check on the same arrays when the kernel raises, so that a bad label raises
    arrayloss's ``ValueError`` naming the loss, not the backend's error. ``check`` is a
    check of the arrays' values that the kernel does not make (targets in {-1, 1}): a
    plan runs it before the kernel on every call (the loss's own checks made it on the
    call that kept the plan)."""

    __slots__ = ("check", "kernel", "options", "recheck")

    def __init__(
        self,
        kernel: Callable[..., Any],
        options: dict[str, Any],
        recheck: Callable[..., None] | None = None,
        check: Callable[..., None] | None = None,
    ) -> None:
        self.kernel = kernel
        self.options = options
        self.recheck = recheck
        self.check = check

    def __call__(self, *arrays: Any) -> Any:
        if self.check is not None:
            self.check(*arrays)
        try:
            return self.kernel(*arrays, **self.options)
        except (IndexError, RuntimeError) as err:
            if self.recheck is None:
                raise
            error = err
        # outside the except block: arrayloss's error, with nothing chained from torch's
        self.recheck(*arrays)  # raises for a bad label
        raise error


class Plans:
    """The plans of one loss: signature -> :class:`NativeCall`."""

    __slots__ = ("table",)

    def __init__(self) -> None:
        self.table: dict[Any, NativeCall] = {}
        _ALL.append(self)

    def lookup(
        self, arrays: tuple[Any, ...], options: tuple[Any, ...], xp: Any
    ) -> tuple[Any, NativeCall | None]:
        """``(key, plan)`` of a call: ``plan`` None when this signature has none yet,
        ``key`` None where plans do not apply (:meth:`run` then keeps none)."""
        if xp is not None:
            return None, None
        eager = _PLANNED.get(type(arrays[0]))
        if eager is None or not eager():
            return None, None
        # the options' types too: 1 == 1.0 == True, but only the int is a valid label
        parts = [options, *map(type, options)]
        try:
            for a in arrays:
                if a is None:
                    parts.append(None)
                else:
                    parts += (type(a), a.dtype, a.shape, a.device)
            key = tuple(parts)
            return key, self.table.get(key)
        except (AttributeError, TypeError):  # a non-array argument, an unhashable option
            return None, None

    def run(
        self,
        key: Any,
        kernel: Callable[..., Any],
        given: tuple[Any, ...],
        used: tuple[Any, ...],
        options: dict[str, Any],
        *,
        recheck: Callable[..., None] | None = None,
        check: Callable[..., None] | None = None,
        keep: bool = True,
    ) -> Any:
        """Run the whole loss as ``kernel(*used, **options)`` and, with ``keep`` (the
        checks read no array value, other than ``check``'s, which the plan repeats), keep
        the call as the plan of ``key`` when it ran on the caller's own arrays: each of
        ``used`` is the object of ``given`` (the call's arrays), so reusing the plan skips
        no cast and no moved axis."""
        call = NativeCall(kernel, options, recheck)
        result = call(*used)  # the loss made ``check`` already
        if keep and key is not None and all(u is g for u, g in zip(used, given, strict=True)):
            if len(self.table) >= _MAX_PLANS:
                self.table.clear()
            call.check = check
            self.table[key] = call
        return result
