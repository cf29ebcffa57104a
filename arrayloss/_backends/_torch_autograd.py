"""torch's ``autograd.Function`` classes: the one behind ``custom_gradient`` on torch, and
the eager kernels with written-out derivatives (log cosh, msle's elements, CTC).

Defined at module level, imported with ``arrayloss._backends.torch``: each class is defined
once, in plain Python, even when the first call happens inside a ``torch.compile`` trace
(Dynamo executes imports eagerly but cannot trace a class definition). The generic
forward/backward pair of a configuration is looked up by its hashable key, a compile-time
constant argument of ``apply``.
"""

from __future__ import annotations

from typing import Any

import torch

from ._constants import LOG_COSH_CLIP as _LOG_COSH_CLIP

__all__ = ["PAIRS", "CustomFunction", "first_order_only"]

# key -> the configuration's GradientSpec (arrayloss/_lib/_custom_grad.py), filled by
# arrayloss._backends.torch.custom_gradient.
PAIRS: dict[Any, Any] = {}
# The generic kernels this module falls back on, handed down by the dispatcher when the
# torch tables are built (arrayloss/_lib/_dispatch.py): backends never import _lib.
GENERIC: dict[str, Any] = {}


class CustomFunction(torch.autograd.Function):
    """``apply(key, *arrays)``: the generic forward of ``PAIRS[key]``, its backward as the
    gradient (``setup_context`` style, so ``torch.func`` transforms work as well)."""

    generate_vmap_rule = True

    @staticmethod
    def forward(key: Any, *arrays: Any) -> Any:  # runs without recording a graph
        outs, extra = PAIRS[key].forward(*arrays)
        return (*outs, *extra)

    @staticmethod
    def setup_context(ctx: Any, inputs: Any, output: Any) -> None:
        key = inputs[0]
        spec = PAIRS[key]
        ctx.spec = spec  # the backward's own reference: the cache may evict the key
        ctx.n_in = len(inputs) - 1
        extra = output[spec.n_out :]
        if extra:
            ctx.mark_non_differentiable(*extra)
        # Without this, autograd would hand backward a zero-filled gradient for every
        # output, the extras too (for linear_cross_entropy: arrays the size of input and
        # weight, allocated and filled on every backward pass). The differentiable outputs'
        # missing gradients are made zeros in backward instead.
        ctx.set_materialize_grads(False)
        ctx.out_like = [(o.shape, o.dtype, o.device) for o in output[: spec.n_out]]
        # handoff: the extras are handed to the first backward pass, which may overwrite
        # them (scale gradients computed in the forward pass in place, with no second copy
        # alive); a later pass through a retained graph gets None and recomputes. They are
        # non-differentiable (no grad_fn, so no reference cycle through ctx). Compiled
        # graphs save them normally (AOTAutograd plans the buffers itself).
        ctx.handoff = bool(extra) and spec.handoff and not torch.compiler.is_compiling()
        if ctx.handoff:
            ctx.extra = extra
            ctx.save_for_backward(*inputs[1:])
        else:
            ctx.save_for_backward(*inputs[1:], *extra)

    @staticmethod
    def backward(ctx: Any, *gs: Any) -> Any:
        spec = ctx.spec
        saved = ctx.saved_tensors
        if ctx.handoff:
            extra, ctx.extra = ctx.extra, None
        else:
            extra = tuple(saved[ctx.n_in :])
        gs = tuple(
            torch.zeros(shape, dtype=dtype, device=dev) if g is None else g
            for g, (shape, dtype, dev) in zip(gs, ctx.out_like)
        )
        if not torch.is_grad_enabled():
            grads = spec.backward(tuple(saved[: ctx.n_in]), extra, gs)
        else:  # create_graph: the extras are constants to autograd, so say it is first order
            with torch.no_grad():
                grads = spec.backward(tuple(saved[: ctx.n_in]), extra, gs)
            grads = first_order_only(spec.name, grads, tuple(saved[: ctx.n_in]))
        return (None, *grads, *([None] * (ctx.n_in - spec.n_diff)))


class _FirstOrderOnly(torch.autograd.Function):
    """``apply(name, grad, *inputs)``: ``grad`` itself, recorded as a function of ``inputs``
    whose derivative raises, naming ``name``."""

    generate_vmap_rule = True

    @staticmethod
    def forward(name: str, grad: torch.Tensor, *inputs: torch.Tensor) -> Any:
        return grad.view_as(grad)

    @staticmethod
    def setup_context(ctx: Any, inputs: Any, output: Any) -> None:
        ctx.name = inputs[0]

    @staticmethod
    def backward(ctx: Any, *gs: Any) -> Any:
        raise RuntimeError(
            f"{ctx.name}: the second derivative is not implemented (the gradient is "
            "hand-written and first order only); differentiate it once"
        )


def first_order_only(name: str, grads: tuple[Any, ...], inputs: tuple[Any, ...]) -> Any:
    """``grads`` (computed without a graph) as functions of ``inputs`` in a ``create_graph``
    graph, whose derivative raises, naming ``name``: a second derivative must not be
    silently missing. (``torch.autograd.function.once_differentiable`` detaches them unless
    the incoming gradient requires grad, and its error node hangs off fresh leaves that
    ``autograd.grad(..., inputs)`` never reaches.)"""
    inputs = tuple(a for a in inputs if isinstance(a, torch.Tensor) and a.requires_grad)
    if not inputs:
        return grads
    return tuple(
        None if g is None else _FirstOrderOnly.apply(name, g, *inputs)  # type: ignore[no-untyped-call]
        for g in grads
    )


# ---------------------------------------------------------------------------------------------
# log cosh for eager torch: the generic formula, in place and block by block
# ---------------------------------------------------------------------------------------------

# Elements per block: 1 MiB of float32, so a block's chain of in-place steps stays in cache.
_BLOCK = 1 << 18


def _log_cosh_into(d: torch.Tensor, out: torch.Tensor, th: torch.Tensor | None) -> None:
    """``out = log1p(2 s^2) + (a - c)`` for ``a = |d|``, ``c = min(a, 40)``,
    ``s = sinh(c / 2)`` (``cosh c - 1 = 2 sinh^2(c / 2)`` exactly: no cancellation near 0,
    and two transcendental kernels where the generic formula's ``exp``, ``expm1`` and
    ``log1p`` are three; torch's CPU ``sinh`` costs about one ``exp``). With ``th``, also the
    derivative ``tanh(d) = sign(d) s sqrt(1 + s^2) / (s^2 + 1/2)`` from the same ``s``
    (``tanh c = 2 sinh(c/2) cosh(c/2) / (1 + 2 sinh^2(c/2))``; tanh(40) rounds to 1, as for
    every larger ``|d|``). One temporary besides the clamp.

    A block with every ``|d| <= 40`` (the usual case, read by one ``aminmax``) needs no
    clamp: ``s = sinh(d / 2)`` carries the sign, six kernels instead of nine."""
    lo, hi = torch.aminmax(d)
    inside = float(lo) >= -_LOG_COSH_CLIP and float(hi) <= _LOG_COSH_CLIP  # NaN: neither
    if inside:  # s = sinh(d / 2), signed, in out (no a - c term)
        s = torch.mul(d, 0.5, out=out)
    else:
        torch.abs(d, out=out)
        s = torch.clamp(out, max=_LOG_COSH_CLIP)
        out.sub_(s)  # a - c
        s.mul_(0.5)
    s.sinh_()
    q = torch.mul(s, s)
    if th is not None:
        torch.add(q, 1, out=th).sqrt_().mul_(s)
        th.div_(torch.add(q, 0.5, out=s))  # s is no longer needed
        if not inside:
            torch.copysign(th, d, out=th)
    if inside:
        torch.mul(q, 2, out=out).log1p_()
    else:
        out.add_(q.mul_(2).log1p_())


class LogCosh(torch.autograd.Function):
    """``log cosh(d)`` elementwise, with gradient ``tanh(d)``. Eager only (``log_cosh``'s
    torch native declines under ``torch.compile`` and ``torch.func`` transforms): the forward
    runs ``log1p(2 sinh^2(c / 2))`` in place, block by block, so its elementwise steps stay in
    cache (one read of ``d``, one write of the result, instead of a pass over memory per
    step and a fresh array per step). When a gradient is wanted, the forward also writes
    ``tanh(d)`` from its own ``sinh`` (torch's CPU ``tanh`` costs several ``exp``), so the
    backward is one product (under ``create_graph`` it is ``g * tanh(d)`` instead, so the
    second derivative ``sech^2`` is autograd's)."""

    @staticmethod
    def forward(ctx: Any, d: torch.Tensor) -> torch.Tensor:
        out = torch.empty_like(d, memory_format=torch.contiguous_format)
        th = torch.empty_like(out) if ctx.needs_input_grad[0] else None
        flat_d, flat_out = d.reshape(-1), out.view(-1)
        flat_th = th.view(-1) if th is not None else None
        n = flat_d.numel()
        for start in range(0, n, _BLOCK):
            stop = min(start + _BLOCK, n)
            _log_cosh_into(
                flat_d[start:stop],
                flat_out[start:stop],
                None if flat_th is None else flat_th[start:stop],
            )
        ctx.save_for_backward(th, d)
        return out

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> torch.Tensor:
        th, d = ctx.saved_tensors
        if torch.is_grad_enabled():  # create_graph: a gradient that autograd can differentiate
            return g * torch.tanh(d)
        grad: torch.Tensor = g * th
        return grad


class LogCoshTransformed(torch.autograd.Function):
    """``log cosh(d)`` under ``torch.func`` transforms and on GPUs: the generic formula (of
    ``|d|``) as the value, ``tanh(d)`` as the derivative in both modes, so that a second
    derivative (``hessian``, ``jacrev(jacrev)``) is tanh's, ``1 - tanh^2``, everywhere
    (through ``|d|``, autodiff's is 0 at ``d = 0`` exactly, where the loss curves most: a
    perfect fit). Not under ``torch.compile``: Dynamo does not trace a custom ``jvp`` (and
    compiled graphs have no double backward), so it keeps the generic formula."""

    generate_vmap_rule = True

    @staticmethod
    def forward(d: torch.Tensor) -> Any:
        from array_api_compat import torch as xp

        return GENERIC["log_cosh"](d, xp=xp)

    @staticmethod
    def setup_context(ctx: Any, inputs: Any, output: Any) -> None:
        ctx.save_for_backward(inputs[0])
        ctx.save_for_forward(inputs[0])

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> torch.Tensor:
        (d,) = ctx.saved_tensors
        return g * torch.tanh(d)

    @staticmethod
    def jvp(ctx: Any, t: torch.Tensor) -> torch.Tensor:  # forward mode (jacfwd, hessian)
        (d,) = ctx.saved_tensors
        return t * torch.tanh(d)


# ---------------------------------------------------------------------------------------------
# msle's elements for eager torch: one log1p, in place and block by block
# ---------------------------------------------------------------------------------------------

# Elements per block: 1 MiB of float32, within L3.
_MSLE_BLOCK = 1 << 18
# The smallest sizes that take the block loop: with a gradient, where the written derivative
# beats autograd's saved intermediates, and without one, where cache blocking beats the
# generic formula's six kernels (below, the Function's own dispatches cost more).
MSLE_MIN_GRAD = 1 << 16
MSLE_MIN_VALUE = 1 << 21


def _squared_log1p_diff_into(
    a: torch.Tensor, b: torch.Tensor, floor: float, out: torch.Tensor,
    ga: torch.Tensor | None, gb: torch.Tensor | None, s: tuple[torch.Tensor, ...],
) -> None:
    """``out = r^2``, ``r = log1p(|ca - cb| / (1 + min(ca, cb)))`` for ``ca = max(a, floor)``
    and ``cb = max(b, floor)`` (``r = |log1p(ca) - log1p(cb)|``, from one log1p and
    without its cancellation); with ``ga`` (``gb``), also the derivative with respect to
    ``a`` (``b``), ``2 sign(ca - cb) r / (1 + ca)`` where ``a >= floor`` and 0 below (a
    clamp's; ``-... / (1 + cb)`` for ``b``). ``s``: three scratch blocks."""
    ca, cb, m = s
    torch.clamp(a, min=floor, out=ca)
    torch.clamp(b, min=floor, out=cb)
    torch.sub(ca, cb, out=out)
    t = ga if ga is not None else gb
    if t is not None:
        torch.sign(out, out=t)
    torch.minimum(ca, cb, out=m).add_(1)
    out.abs_().div_(m).log1p_()
    if t is not None:
        t.mul_(out).mul_(2)  # 2 sign(u) r
        if gb is not None:
            torch.div(t, cb.add_(1), out=gb).neg_().masked_fill_(b < floor, 0)
        if ga is not None:
            ga.div_(ca.add_(1)).masked_fill_(a < floor, 0)
    out.mul_(out)


class SquaredLog1pDiff(torch.autograd.Function):
    """``(log1p(max(a, floor)) - log1p(max(b, floor)))^2`` elementwise for eager CPU
    tensors of one shape and dtype (from ``MSLE_MIN_GRAD`` / ``MSLE_MIN_VALUE`` elements on:
    below, the generic formula is faster). As ``LogCosh``: block by block in cache, one read of
    each input and one write of the result, and the derivatives written in the forward pass
    when they are wanted (the backward is then one product each). Under ``create_graph`` the
    backward is the formula's derivative in torch ops, so a second derivative is autograd's."""

    @staticmethod
    def forward(ctx: Any, a: torch.Tensor, b: torch.Tensor, floor: float) -> torch.Tensor:
        out = torch.empty_like(a, memory_format=torch.contiguous_format)
        want_a, want_b = ctx.needs_input_grad[:2]
        ga = torch.empty_like(out) if want_a else None
        gb = torch.empty_like(out) if want_b else None
        fa, fb, fo = a.reshape(-1), b.reshape(-1), out.view(-1)
        fga = None if ga is None else ga.view(-1)
        fgb = None if gb is None else gb.view(-1)
        n = fa.numel()
        scratch = torch.empty((3, min(n, _MSLE_BLOCK)), dtype=a.dtype)
        for start in range(0, n, _MSLE_BLOCK):
            stop = min(start + _MSLE_BLOCK, n)
            _squared_log1p_diff_into(
                fa[start:stop], fb[start:stop], floor, fo[start:stop],
                None if fga is None else fga[start:stop],
                None if fgb is None else fgb[start:stop],
                tuple(scratch[:, : stop - start]),
            )
        ctx.floor = floor
        ctx.save_for_backward(ga, gb, a, b)
        return out

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[Any, Any, None]:
        ga, gb, a, b = ctx.saved_tensors
        if not torch.is_grad_enabled():
            return (None if ga is None else g * ga), (None if gb is None else g * gb), None
        # create_graph: gradients autograd can differentiate, with the value of the
        # one-log1p form (log1p(ca) - log1p(cb) cancels for close pairs) and the derivative
        # of the two-log1p one (the other's second derivative is 0 at a tie)
        floor = ctx.floor
        ca, cb = torch.clamp(a, min=floor), torch.clamp(b, min=floor)
        d = torch.log1p(ca) - torch.log1p(cb)
        u = ca - cb
        exact = torch.sign(u) * torch.log1p(u.abs() / (1 + torch.minimum(ca, cb)))
        d2 = 2 * (d + (exact - d).detach()) * g
        da = torch.where(a >= floor, d2 / (1 + ca), 0) if ctx.needs_input_grad[0] else None
        db = torch.where(b >= floor, -d2 / (1 + cb), 0) if ctx.needs_input_grad[1] else None
        return da, db, None


# ---------------------------------------------------------------------------------------------
# CTC for eager torch: torch's kernels, with the derivative with respect to log_probs
# ---------------------------------------------------------------------------------------------


class CTC(torch.autograd.Function):
    """Per-sample CTC negative log-likelihoods from torch's forward-backward kernels.

    torch's backward kernel returns ``(exp(lp) - gamma) * g`` for the frames ``t`` before a
    sample's input length, with ``gamma`` the alignments' occupancy: the derivative with
    respect to the logits feeding a ``log_softmax``, not with respect to ``lp``. The true
    derivative, ``-gamma * g``, is that minus ``exp(lp) * g`` on those frames (``full``: every
    input length is T, so every frame). A sample with no alignment (an infinite loss) gets a
    zero gradient, as arrayloss's generic formula gives (torch: NaN, or 0 with
    ``zero_infinity``). First order only (torch's kernel has no second derivative). Eager
    only (``ctc_loss``'s torch native declines under ``torch.compile`` and ``torch.func``
    transforms)."""

    @staticmethod
    def forward(
        ctx: Any,
        lp: torch.Tensor,
        targets: torch.Tensor,
        il: torch.Tensor,
        tl: torch.Tensor,
        blank: int,
        zero_infinity: bool,
        full: bool,
    ) -> torch.Tensor:
        # private aten op: F.ctc_loss returns only the loss; the backward kernel needs the
        # forward variables alpha, which only aten._ctc_loss hands back
        nll, alpha = torch.ops.aten._ctc_loss.Tensor(lp, targets, il, tl, blank, False)
        finite = torch.isfinite(nll)
        ctx.save_for_backward(lp, targets, il, tl, nll, alpha, finite)
        ctx.blank, ctx.full = blank, full
        return torch.where(finite, nll, 0.0) if zero_infinity else nll

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[Any, ...]:
        if torch.is_grad_enabled():
            with torch.no_grad():
                (grad, *rest) = CTC.backward(ctx, g)
            return (*first_order_only("ctc_loss", (grad,), (ctx.saved_tensors[0], g)), *rest)
        lp, targets, il, tl, nll, alpha, finite = ctx.saved_tensors
        g = torch.where(finite, g, 0.0)  # no alignment: no gradient
        # zero_infinity=True: the kernel's zero (not NaN) for an infinite loss
        grad = torch.ops.aten._ctc_loss_backward.Tensor(
            g, lp, targets, il, tl, nll, alpha, ctx.blank, True
        )
        if not ctx.full:  # frames past a sample's input length have no gradient
            g = (torch.arange(lp.shape[0], device=lp.device)[:, None] < il) * g  # (T, N)
        grad.sub_(lp.exp().mul_(g[..., None]))
        return grad, None, None, None, None, None, None
