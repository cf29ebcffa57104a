"""Delegation to a backend's whole-loss kernel, and per-signature plans of those calls.

A loss registered with ``@register(..., delegates=True)`` may end its checks by handing the
whole loss to a backend kernel: its body returns ``delegate(kernel, arrays, options, ...)``
instead of a result, and the wrapper that :func:`planned` puts around the body runs the
kernel (:class:`NativeCall`) and casts the result back to the caller's dtype. The body holds
its checks and its formula; this module holds every piece of the hand-off.

A loss's checks (namespace and devices, dtypes, shapes, option values, floating promotion,
the choice of a kernel) depend only on the call's *signature*: the arrays' types, dtypes,
shapes and devices and the option values, never on the values in the arrays. When they end
in a plain kernel call on the caller's own arrays (nothing cast, no axis moved, no array
value read; a bad class label is left to a kernel that raises on CPU), the wrapper keeps
that call as the signature's *plan*, and the next call with the same signature builds its
key (a few attribute reads and one dict look-up) and runs the plan without the checks.

Plans exist only where whole-loss kernels do (eager torch tensors, registered by the
backend with :func:`enable_plans`): no other array type, nothing under ``torch.compile``
(Dynamo traces the checks once per graph anyway) or inside a ``torch.func`` transform (some
kernels are used only outside them), nothing when the caller passes ``xp=``.
``force_generic`` clears them all, and a loss's table is emptied when it grows past
``_MAX_PLANS`` signatures (a workload of ever-new shapes). No ContextVar and no
thread-local: Dynamo cannot trace ``ContextVar.get``, and a table is only read, set and
cleared, which a dict does atomically, so threads may share the plans.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = [
    "Delegate",
    "NativeCall",
    "Plans",
    "clear_plans",
    "delegate",
    "enable_plans",
    "planned",
    "plans_of",
    "signature",
]

F = TypeVar("F", bound=Callable[..., Any])

_MAX_PLANS = 1024

# exact array type -> a test that a call on it may use plans now (eager, no transform);
# filled by enable_plans when a backend's whole-loss kernels are loaded.
_PLANNED: dict[type, Callable[[], bool]] = {}
_ALL: list[Plans] = []
_ATTR = "_arrayloss_plans"


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
    call that kept the plan). ``pick`` (plans only) selects the kernel's arrays from the
    call's ``(*arrays, *option values, None)``; None: the call's positional arrays."""

    __slots__ = ("check", "kernel", "options", "pick", "recheck")

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
        self.pick: Callable[[tuple[Any, ...]], tuple[Any, ...]] | None = None

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


class Delegate(NativeCall):
    """``delegate(kernel, arrays, options, ...)``: what a delegating loss body returns to
    hand the whole loss to ``kernel(*arrays, **options)``; the wrapper runs it (a
    :class:`NativeCall` on ``arrays``, whose ``check`` the loss's own checks just made).

    ``out``/``xp``: the caller's result dtype and namespace (the result is cast to ``out``
    when it differs). ``recheck``/``check``: see :class:`NativeCall`. ``keep``: the checks
    read no array value other than ``check``'s (which a plan repeats), so the call may
    become the signature's plan; it does only when each of ``arrays`` is one of the call's
    own arrays (or None) and each of the call's arrays is among them.
    """

    __slots__ = ("arrays", "keep", "out", "plan_check", "xp")

    def __init__(
        self,
        kernel: Callable[..., Any],
        arrays: tuple[Any, ...],
        options: dict[str, Any],
        *,
        out: Any = None,
        xp: Any = None,
        recheck: Callable[..., None] | None = None,
        check: Callable[..., None] | None = None,
        keep: bool = True,
    ) -> None:
        self.kernel = kernel
        self.options = options
        self.recheck = recheck
        self.check = None
        self.pick = None
        self.arrays = arrays
        self.out = out
        self.xp = xp
        self.plan_check = check
        self.keep = keep


# a loss body reads ``return delegate(kernel, arrays, options, out=out, xp=xp)``
delegate = Delegate


def signature(arrays: tuple[Any, ...], options: dict[str, Any]) -> tuple[Any, ...] | None:
    """The plan key of a call, or None where plans do not apply.

    An array (a positional one, or an option of the first array's type) stands for its
    type, dtype, shape and device; any other option for its value and its type
    (``1 == 1.0 == True``, but only the int is a valid label). An option's name is part of
    the key, in the call's order, so the key also fixes where each array comes from.
    """
    if not arrays or options.get("xp") is not None:
        return None
    kind = type(arrays[0])
    eager = _PLANNED.get(kind)
    if eager is None or not eager():
        return None
    parts: list[Any] = []
    try:
        for a in arrays:
            if a is None:
                parts.append(None)
            else:
                parts += (type(a), a.dtype, a.shape, a.device)
        for name, v in options.items():
            if isinstance(v, kind):
                parts += (name, type(v), v.dtype, v.shape, v.device)
            else:
                parts += (name, v, type(v))
    except AttributeError:  # a positional argument that is not an array
        return None
    return tuple(parts)


def _picker(
    used: tuple[Any, ...], arrays: tuple[Any, ...], options: dict[str, Any]
) -> Callable[[tuple[Any, ...]], tuple[Any, ...]] | bool | None:
    """How a plan finds ``used`` among a call's ``(*arrays, *option values, None)``: None
    for the positional arrays as they are, False where it cannot (a cast or moved array; an
    array passed twice, so that its place is ambiguous; a given array the kernel does not
    take, whose value the checks may have read)."""
    given = (*arrays, *options.values())
    kind = type(arrays[0])
    idx = []
    for u in used:
        if u is None:
            idx.append(len(given))  # the trailing None
            continue
        hits = [j for j, g in enumerate(given) if g is u]
        if len(hits) != 1:
            return False
        idx.append(hits[0])
    for j, g in enumerate(given):
        is_array = g is not None and (j < len(arrays) or isinstance(g, kind))
        if is_array and j not in idx:
            return False
    if idx == list(range(len(arrays))):
        return None
    if len(idx) == 1:
        return lambda values: (values[idx[0]],)
    return operator.itemgetter(*idx)


class Plans:
    """The plans of one delegating loss: signature -> :class:`NativeCall`."""

    __slots__ = ("table",)

    def __init__(self) -> None:
        self.table: dict[Any, NativeCall] = {}
        _ALL.append(self)

    def run(
        self, key: Any, job: Delegate, arrays: tuple[Any, ...], options: dict[str, Any]
    ) -> Any:
        """Run ``job`` and, where it may (see :class:`Delegate`), keep it as ``key``'s plan."""
        result = job(*job.arrays)
        # a plan returns the kernel's result as it is: none for a result that needs a cast
        cast = job.out is not None and result.dtype != job.out
        if key is not None and job.keep and not cast:
            pick = _picker(job.arrays, arrays, options)
            if pick is not False:
                plan = NativeCall(job.kernel, job.options, job.recheck, job.plan_check)
                plan.pick = pick  # type: ignore[assignment]
                if len(self.table) >= _MAX_PLANS:
                    self.table.clear()
                self.table[key] = plan  # one atomic store of a finished plan
        return job.xp.astype(result, job.out) if cast else result


def planned(body: F) -> F:
    """``body`` wrapped: a call runs its signature's plan if it has one, else the body, and
    runs the :class:`Delegate` the body may return. Signature, docstring and name stay
    (``functools.wraps``)."""
    plans = Plans()
    table = plans.table

    @functools.wraps(body)
    def loss(*arrays: Any, **options: Any) -> Any:
        key = signature(arrays, options)
        if key is not None:
            try:
                plan = table.get(key)
            except TypeError:  # an unhashable option
                key = plan = None
            if plan is not None:
                if plan.pick is None:
                    return plan(*arrays)
                return plan(*plan.pick((*arrays, *options.values(), None)))
        result = body(*arrays, **options)
        if type(result) is Delegate:
            return plans.run(key, result, arrays, options)
        return result

    setattr(loss, _ATTR, plans)
    return loss  # type: ignore[return-value]


def plans_of(loss: Callable[..., Any]) -> Plans:
    """The plan table of a loss registered with ``delegates=True``."""
    plans: Plans = getattr(loss, _ATTR)
    return plans
