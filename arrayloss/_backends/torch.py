"""PyTorch: native primitives, whole-loss kernels, and torch's answers to the questions the
generic code asks (is this array concrete, may it be differentiated, how to attach a
hand-written gradient). Imported by ``arrayloss._lib._dispatch`` when a torch tensor first
meets a loss; the only module besides ``_torch_autograd`` that imports torch.

Private APIs used here, each for one reason:

* ``torch._C._functorch.is_functorch_wrapped_tensor`` / ``peek_interpreter_stack``: a
  ``torch.func`` transform (vmap, grad) wraps tensors; in-place tricks, value reads and
  eager-only kernels must step aside for it, and torch has no public test.
* ``torch.ops.aten._ctc_loss`` / ``_ctc_loss_backward`` (in ``_torch_autograd.CTC``):
  ``F.ctc_loss`` returns the loss only, while the backward kernel needs the forward
  variables (alpha) that only the aten op returns.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
import torch.nn.functional as F

from . import _torch_autograd as autograd
from ._constants import SMALL_RANGE

__all__ = [
    "CHECKS_LABELS",
    "PLANNED_TYPE",
    "all_concrete",
    "checks_labels",
    "custom_gradient",
    "eager",
    "forget_gradient",
    "losses",
    "may_be_differentiated",
    "on_host",
    "primitives",
]

_wrapped = torch._C._functorch.is_functorch_wrapped_tensor
_transforms = torch._C._functorch.peek_interpreter_stack

# targets F.cross_entropy takes as they are: int64 indices and floating probabilities
_CE_TARGET = frozenset({torch.int64, torch.float16, torch.bfloat16, torch.float32, torch.float64})
# Up to this many values, all_signs reads them into Python and tests them there.
_SMALL_SIGNS = 64
_SIGNS = frozenset({1, -1})  # 1.0 == 1: the floats too; NaN and -0.0 are not in it

# Eager torch tensors get per-signature plans (arrayloss/_lib/_plans.py) while eager().
PLANNED_TYPE = torch.Tensor


def eager() -> bool:
    """No compiler trace and no ``torch.func`` transform is running."""
    # is_compiling first: Dynamo folds it to True and never reaches the C function
    return not torch.compiler.is_compiling() and _transforms() is None


def all_concrete(arrays: Any) -> bool:
    """Whether every tensor has its values now (not under ``torch.compile``, not inside a
    ``torch.func`` transform, not a ``meta`` tensor)."""
    if torch.compiler.is_compiling():
        return False
    for x in arrays:  # noqa: SIM110 (a loop, not all(generator): on every label check)
        if _wrapped(x) or x.is_meta:  # a meta tensor has no values at all
            return False
    return True


def on_host(arrays: Any) -> bool:
    """Whether reading these tensors' values costs no device synchronisation (CPU tensors;
    not CUDA, and not ``meta`` tensors, which have no values at all)."""
    for x in arrays:  # noqa: SIM110 (a loop, not all(generator): on every value check)
        if x.device.type != "cpu":
            return False
    return True


def may_be_differentiated(a: Any) -> bool:
    return bool(getattr(a, "requires_grad", False))


def _owned(a: Any, b: Any) -> bool:
    """Whether ``a op b`` may overwrite ``a``: no autograd history to keep, no functorch
    wrapper (vmap cannot write a batched ``b`` into an unbatched ``a``), and ``a``'s shape
    and dtype are the result's. Not under torch.compile: the compiler plans the buffers."""
    if torch.compiler.is_compiling():
        return False
    if a.requires_grad or _wrapped(a) or (isinstance(b, torch.Tensor) and _wrapped(b)):
        return False
    bshape = b.shape if isinstance(b, torch.Tensor) else ()
    return bool(torch.broadcast_shapes(a.shape, bshape) == a.shape) and (  # type: ignore[no-untyped-call]
        torch.result_type(a, b) == a.dtype
    )


# ---------------------------------------------------------------------------------------------
# Custom gradients
# ---------------------------------------------------------------------------------------------


def custom_gradient(spec: Any, key: Any) -> Callable[..., Any]:
    """``apply(diff, nondiff)`` running ``spec`` (a ``GradientSpec``) through the module-level
    ``autograd.CustomFunction`` (``setup_context``: ``torch.func`` transforms work too)."""
    autograd.PAIRS[key] = spec

    def apply(diff: tuple[Any, ...], nondiff: tuple[Any, ...]) -> Any:
        if spec.primal is not None and not (
            torch.is_grad_enabled() and any(a.requires_grad for a in diff)
        ):
            return spec.primal(*diff, *nondiff)
        out = autograd.CustomFunction.apply(key, *diff, *nondiff)  # type: ignore[no-untyped-call]
        return out[: spec.n_out]

    return apply


def forget_gradient(key: Any) -> None:
    """Drop a configuration the cache of built functions evicted (graphs recorded with it
    keep their own reference: ``CustomFunction`` saves the spec in its context)."""
    autograd.PAIRS.pop(key, None)


# ---------------------------------------------------------------------------------------------
# Primitives
# ---------------------------------------------------------------------------------------------


# The generic kernels the native versions fall back on, handed down by the dispatcher when
# the table is built (arrayloss/_lib/_dispatch.py): backends never import _lib.
_GENERIC: dict[str, Callable[..., Any]] = {}

_READ: dict[bool, Any] = {}  # all_signs' answers once read (made eagerly, on first use)

def _answer(flag: bool) -> Any:
    if (t := _READ.get(flag)) is None:
        t = _READ[flag] = torch.tensor(flag)
    return t

def one_hot_(indices: Any, num_classes: int, /, *, dtype: Any, axis: int = -1, xp: Any) -> Any:
    if axis not in (-1, indices.ndim):
        return _GENERIC["one_hot"](indices, num_classes, dtype=dtype, axis=axis, xp=xp)
    return F.one_hot(indices.long(), num_classes).to(dtype)

def value_range_(x: Any, /, *, xp: Any) -> tuple[int, int]:
    if 0 < x.numel() <= SMALL_RANGE:
        # a few labels or lengths: one read of the values, one sync on CUDA, not two
        v = (x if x.ndim == 1 else x.reshape(-1)).tolist()
        return int(min(v)), int(max(v))
    lo, hi = torch.aminmax(x)  # one pass instead of min and max
    return int(lo), int(hi)

def all_signs_(x: Any, /, *, xp: Any) -> Any:
    # min |x| = max |x| = 1, read block by block (a block's |x| stays in cache); a few
    # values are read into Python instead. Fewer ops than the boolean masks, whose
    # temporaries also slow a tiny loss's backward pass.
    if x.dtype == torch.bool or x.device.type != "cpu" or not eager() or _wrapped(x):
        return _GENERIC["all_signs"](x, xp=xp)  # on a device: a device boolean, no read
    n = x.numel()
    if n <= _SMALL_SIGNS:
        flat = x if x.ndim == 1 else x.reshape(-1)
        return _answer(_SIGNS.issuperset(flat.tolist()))
    if n <= 1 << 18:  # one block: no flattened view, no slice
        lo, hi = torch.aminmax(x.detach().abs())
        return _answer(float(lo) == 1 and float(hi) == 1)  # NaN: False
    flat = x.detach().reshape(-1)
    for start in range(0, n, 1 << 18):
        lo, hi = torch.aminmax(flat[start : start + (1 << 18)].abs())
        if float(lo) != 1 or float(hi) != 1:  # NaN too
            return _answer(False)
    return _answer(True)

def floor_straight_through_(x: Any, /, *, floor: float, xp: Any) -> Any:
    if not eager() or _wrapped(x) or not x.is_floating_point():
        return _GENERIC["floor_straight_through"](x, floor=floor, xp=xp)
    y = x.clone()  # its backward saves nothing, so the in-place clamp is safe
    y.detach().clamp_min_(floor)  # NaN stays NaN
    return y

def log_cosh_(d: Any, /, *, xp: Any) -> Any:
    if torch.compiler.is_compiling() or not d.is_floating_point():
        return _GENERIC["log_cosh"](d, xp=xp)
    # the block loop (and its per-block aminmax read) is for CPU caches: on a GPU it
    # would be many launches and a sync per block
    if d.device.type != "cpu" or _transforms() is not None or _wrapped(d):
        return autograd.LogCoshTransformed.apply(d)  # type: ignore[no-untyped-call]
    return autograd.LogCosh.apply(d)  # type: ignore[no-untyped-call]

def squared_log1p_diff_(a: Any, b: Any, /, *, floor: float, xp: Any) -> Any:
    grad = torch.is_grad_enabled() and (a.requires_grad or b.requires_grad)
    if (
        a.numel() >= (autograd.MSLE_MIN_GRAD if grad else autograd.MSLE_MIN_VALUE)
        and eager()
        and a.device.type == "cpu"  # a block loop is for caches, not GPU launches
        and a.shape == b.shape
        and a.dtype == b.dtype
        and a.is_floating_point()
        and b.device == a.device
        and not _wrapped(a)
        and not _wrapped(b)
    ):
        return autograd.SquaredLog1pDiff.apply(a, b, floor)  # type: ignore[no-untyped-call]
    return _GENERIC["squared_log1p_diff"](a, b, floor=floor, xp=xp)

def huber_elements_(x: Any, y: Any, /, *, delta: float, xp: Any) -> Any:
    if x.shape == y.shape and x.dtype == y.dtype and x.is_floating_point():
        return F.huber_loss(x, y, reduction="none", delta=delta)
    return _GENERIC["huber_elements"](x, y, delta=delta, xp=xp)

def scratch_(shape: tuple[int, ...], dtype: Any, like: Any, /, *, xp: Any) -> Any:
    if torch.compiler.is_compiling() or _wrapped(like):
        return None  # the compiler plans buffers; vmap/grad wrappers write elsewhere
    return torch.empty(shape, dtype=dtype, device=like.device)

def matmul_into_(buf: Any, a: Any, b: Any, /, *, add: Any = None, xp: Any) -> Any:
    if (
        buf is None
        or tuple(buf.shape) != (a.shape[0], b.shape[1])
        or buf.dtype != torch.result_type(a, b)
        or (torch.is_grad_enabled() and (a.requires_grad or b.requires_grad))
        or (add is not None and (add.requires_grad or add.dtype != buf.dtype))
    ):
        return _GENERIC["matmul_into"](None, a, b, add=add, xp=xp)
    if add is None:
        return torch.matmul(a, b, out=buf)
    return torch.addmm(add, a, b, out=buf)


def primitives(generic: Mapping[str, Callable[..., Any]]) -> dict[str, Callable[..., Any]]:
    """The native primitive table; ``generic`` holds the generic kernels a native version
    falls back on for the cases it declines."""
    _GENERIC.update(generic)
    autograd.GENERIC.update(generic)
    return {
        "logsumexp": lambda x, /, *, axis, keepdims=False, xp: torch.logsumexp(
            x, dim=axis, keepdim=keepdims
        ),
        "log_softmax": lambda x, /, *, axis, xp: F.log_softmax(x, dim=axis),
        "softmax": lambda x, /, *, axis, xp: F.softmax(x, dim=axis),
        # threshold 40 instead of torch's 20: e^-40 is below float64's epsilon, so the
        # "return x" shortcut is exact in float64 too.
        "softplus": lambda x, /, *, xp: F.softplus(x, threshold=40.0),
        "log_sigmoid": lambda x, /, *, xp: F.logsigmoid(x),
        "sigmoid": lambda x, /, *, xp: torch.sigmoid(x),
        "relu": lambda x, /, *, xp: torch.relu(x),
        "xlogy": lambda x, y, /, *, xp: torch.xlogy(x, y),
        "take_along_axis": lambda x, i, /, *, axis, xp: torch.gather(x, axis, i.long()),
        "one_hot": one_hot_,
        "stop_gradient": lambda x, /, *, xp: x.detach(),
        "value_range": value_range_,
        "add_matmul": lambda acc, a, b, /, *, xp: (
            acc.addmm_(a, b) if acc.ndim == 2 and not acc.requires_grad else acc + a @ b
        ),
        "add_at_rows": lambda acc, i, v, /, *, xp: (
            acc.index_add_(0, i, v) if not acc.requires_grad else acc.index_add(0, i, v)
        ),
        "scale_owned": lambda a, s, /, *, xp: a.mul_(s) if _owned(a, s) else a * s,
        "scratch": scratch_,
        "matmul_into": matmul_into_,
        "log_cosh": log_cosh_,
        "squared_log1p_diff": squared_log1p_diff_,
        "huber_elements": huber_elements_,
        "all_signs": all_signs_,
        "floor_straight_through": floor_straight_through_,
        "exp_shifted_owned": lambda z, m, /, *, xp: (
            z.sub_(m).exp_() if _owned(z, m) else torch.exp(z - m)
        ),
    }


# ---------------------------------------------------------------------------------------------
# Whole-loss kernels
# ---------------------------------------------------------------------------------------------

# Whole-loss kernels that raise on out-of-range class indices by themselves, synchronously,
# on CPU (IndexError "Target 5 is out of bounds", RuntimeError "target out of range"): the
# loss calls them first and runs its own label check (for arrayloss's message) only when
# they raise, instead of reading the labels' min and max on every call.
CHECKS_LABELS = frozenset(
    {
        "cross_entropy",
        "nll_loss",
        "linear_cross_entropy",
        "multi_margin_loss",
        "multilabel_margin_loss",
    }
)


def checks_labels(target: Any) -> bool:
    """Whether a ``CHECKS_LABELS`` kernel checks ``target``'s labels synchronously (on CUDA
    the kernel's check is an asynchronous device assert: arrayloss checks first there)."""
    return getattr(getattr(target, "device", None), "type", None) == "cpu"


def _long(t: Any) -> Any:
    # index targets of any integer dtype go in as int64 (torch's kernels take only that)
    return t if t.dtype == torch.int64 else t.long()


def _ce_target(t: Any) -> Any:
    return t if t.dtype in _CE_TARGET else t.long()


def _kl_div(x: Any, y: Any, /, *, reduction: str, log_target: bool) -> Any:
    # "mean" as sum / numel: torch's reduction="mean" warns (it is not the KL divergence)
    if reduction == "mean":
        return F.kl_div(x, y, reduction="sum", log_target=log_target) / x.numel()
    return F.kl_div(x, y, reduction=reduction, log_target=log_target)


def _ctc(
    lp: Any, t: Any, il: Any, tl: Any, /, *, blank: int, zero_infinity: bool,
    reduction: str, full: bool,
) -> Any:
    t = t if t.dtype in (torch.int32, torch.int64) else t.long()
    il, tl = _long(il), _long(tl)
    if not (lp.requires_grad and torch.is_grad_enabled()):  # torch's values, no gradient
        return F.ctc_loss(
            lp, t, il, tl, blank=blank, reduction=reduction, zero_infinity=zero_infinity
        )
    loss = autograd.CTC.apply(lp, t, il, tl, blank, zero_infinity, full)  # type: ignore[no-untyped-call]
    if reduction == "sum":
        return loss.sum()
    if reduction == "mean":  # torch's: each loss over its target length (at least 1)
        return (loss / tl.clamp_min(1).to(loss.dtype)).mean()
    return loss


_zeros: dict[tuple[Any, Any], Any] = {}  # a 0-d zero per (dtype, device), made once


def _soft_margin(x: Any, y: Any, /, *, reduction: str) -> Any:
    # arrayloss's softplus formula, not torch's log1p(exp(-y x)) (inf from y x < -89 in
    # float32). -(x * y) as one addcmul on a cached zero: one autograd node and one fresh
    # array; without autograd the softplus then works in place on it.
    if (zero := _zeros.get((x.dtype, x.device))) is None:
        zero = _zeros[(x.dtype, x.device)] = torch.zeros((), dtype=x.dtype, device=x.device)
    loss = torch.addcmul(zero, x, y, value=-1)
    if _owned(loss, zero):
        loss = torch.logaddexp(loss, zero, out=loss)
    else:
        loss = F.softplus(loss, threshold=40.0)  # its backward saves the input
    if reduction == "mean":
        return loss.mean()
    return loss.sum() if reduction == "sum" else loss


def _linear_ce(
    x: Any, w: Any, t: Any, b: Any, cw: Any, /, *, ignore_index: Any, reduction: str,
    label_smoothing: float,
) -> Any:
    # torch's unchunked reference path, F.cross_entropy(F.linear(...)): small problems only
    return F.linear_cross_entropy(
        x, w, _ce_target(t), linear_bias=b, weight=cw, ignore_index=ignore_index,
        reduction=reduction, label_smoothing=label_smoothing,
    )


def losses() -> dict[str, Callable[..., Any]]:
    """Whole-loss kernels, called as ``kernel(*arrays, **options)`` only when every option
    maps exactly onto torch's (the loss decides, e.g. no ``weight=`` for mse)."""
    table: dict[str, Callable[..., Any]] = {
        "mse_loss": lambda x, y, /, *, reduction: F.mse_loss(x, y, reduction=reduction),
        "l1_loss": lambda x, y, /, *, reduction: F.l1_loss(x, y, reduction=reduction),
        "huber_loss": lambda x, y, /, *, reduction, delta: F.huber_loss(
            x, y, reduction=reduction, delta=delta
        ),
        "smooth_l1_loss": lambda x, y, /, *, reduction, beta: F.smooth_l1_loss(
            x, y, reduction=reduction, beta=beta
        ),
        "cross_entropy": lambda x, t, w, /, *, ignore_index, reduction, label_smoothing: (
            F.cross_entropy(
                x, _ce_target(t), weight=w, ignore_index=ignore_index, reduction=reduction,
                label_smoothing=label_smoothing,
            )
        ),
        "nll_loss": lambda x, t, w, /, *, ignore_index, reduction: F.nll_loss(
            x, _long(t), weight=w, ignore_index=ignore_index, reduction=reduction
        ),
        "binary_cross_entropy": lambda x, y, w, /, *, reduction: F.binary_cross_entropy(
            x, y, weight=w, reduction=reduction
        ),
        "binary_cross_entropy_with_logits": lambda x, y, w, pw, /, *, reduction: (
            F.binary_cross_entropy_with_logits(x, y, weight=w, reduction=reduction, pos_weight=pw)
        ),
        "kl_div": _kl_div,
    }
    # Losses torch writes as the same formula: the same value and gradient in fewer
    # Python-level ops. Eager only: torch.func has no batching rule for most of them (vmap
    # warns and loops), and torch.compile's decomposition of multilabel_margin_loss ignores
    # the -1 terminators; compiled or transformed, the generic formula runs.
    eager_only: dict[str, Callable[..., Any]] = {
        "soft_margin_loss": _soft_margin,
        "margin_ranking_loss": lambda a, b, t, /, *, margin, reduction: F.margin_ranking_loss(
            a, b, t, margin=margin, reduction=reduction
        ),
        "hinge_embedding_loss": lambda x, t, /, *, margin, reduction: F.hinge_embedding_loss(
            x, t, margin=margin, reduction=reduction
        ),
        "cosine_embedding_loss": lambda a, b, t, /, *, margin, reduction: (
            F.cosine_embedding_loss(a, b, t, margin=margin, reduction=reduction)
        ),
        "triplet_margin_loss": lambda a, pos, neg, /, *, margin, p, eps, swap, reduction: (
            F.triplet_margin_loss(
                a, pos, neg, margin=margin, p=p, eps=eps, swap=swap, reduction=reduction
            )
        ),
        "multi_margin_loss": lambda x, t, w, /, *, p, margin, reduction: F.multi_margin_loss(
            x, _long(t), p=p, margin=margin, weight=w, reduction=reduction
        ),
        "multilabel_margin_loss": lambda x, t, /, *, reduction: F.multilabel_margin_loss(
            x, _long(t), reduction=reduction
        ),
        "ctc_loss": _ctc,
    }
    for name, kernel in eager_only.items():
        kernel.eager_only = eager  # type: ignore[attr-defined]
        table[name] = kernel
    if hasattr(F, "linear_cross_entropy"):  # torch >= 2.13
        table["linear_cross_entropy"] = _linear_ce
    return table
