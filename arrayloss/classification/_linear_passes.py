"""The chunked passes of ``linear_cross_entropy``: cross entropy of ``input @ W.T + b``
computed in row chunks, so the (tokens x vocabulary) logits are never materialised.

One chunk of logits exists at a time. For a scalar result (``mean``/``sum``) a
differentiated call computes the gradients of ``input``, ``linear_weight`` and
``linear_bias`` in the same chunk loop as the loss, while each chunk's logits are at hand
(three matmuls per chunk), and the backward pass only scales them by the cotangent; an
undifferentiated call takes a value-only loop. For ``reduction="none"`` the forward pass
keeps each row's log-sum-exp and the backward pass recomputes the chunk's logits (recompute,
do not store). Only the softmax term of a chunk's logit gradient is dense: the target term
is a gather/scatter-add of rows, the label-smoothing term a rank-one update applied once.
A chunk's logits are held vocabulary-major, ``W @ x_c^T`` of shape (V, rows): the three
matmuls then take contiguous operands (faster in torch CPU's GEMM than the row-major
``x_c @ W^T``), and every per-row statistic is a reduction over axis 0. The chunk's array
is written once by the matmul and then overwritten in place by its softmax and its gradient
(``exp_shifted_owned``, ``scale_owned``, ``matmul_into`` on a ``scratch`` array: primitives
that fall back to new arrays where a library cannot write in place, or under
autodiff/compile tracing). The passes are generic array-API functions joined by the
``custom_gradient`` primitive (a ``torch.autograd.Function``, a ``jax.custom_vjp``), and the
chunk loop is ``chunked_scan`` (``lax.scan`` on JAX, so it jits).
"""

from __future__ import annotations

from typing import Any

from .._lib import _create as create
from .._lib._chunk import chunked_scan
from .._lib._primitives import (
    add_at_rows,
    add_matmul,
    exp_shifted_owned,
    matmul_into,
    scale_owned,
    scratch,
    sum_ratio,
    take_along_axis,
)

__all__ = ["Passes"]


class Passes:
    """The generic passes of one configuration, over row chunks (see the module docstring):
    ``forward``/``backward`` for ``reduction="none"``; for a scalar result ``forward_fused``
    (the value and, while each chunk's logits are at hand, the gradients),
    ``backward_fused`` (scales them) and ``primal`` (the value only). Immutable once built:
    ``custom_gradient`` caches one per configuration.

    ``probs``: the target holds class probabilities, shape (N, V), instead of indices.
    ``grad_target`` (probabilities only): the target is differentiated too, after the input,
    weight and bias; its gradient, (N, V) like the target, is written chunk by chunk."""

    def __init__(
        self,
        *,
        has_bias: bool,
        has_weight: bool,
        ignore_index: int,
        label_smoothing: float,
        z_loss: float,
        softcap: float | None,
        chunk: int,
        reduction: str,
        probs: bool,
        grad_target: bool,
        xp: Any,
    ) -> None:
        self.has_bias = has_bias
        self.has_weight = has_weight
        self.ignore_index = ignore_index
        self.eps = label_smoothing
        self.z_loss = z_loss
        self.softcap = softcap
        self.chunk = chunk
        self.reduced = reduction != "none"
        self.mean = reduction == "mean"
        self.probs = probs
        self.grad_target = grad_target
        self.xp = xp

    def passes(self) -> tuple[Any, Any, Any]:
        """(forward, backward, primal) for ``custom_gradient``."""
        if self.reduced:
            return self.forward_fused, self.backward_fused, self.primal
        return self.forward, self.backward, None

    def _unpack(self, arrays: tuple[Any, ...]) -> tuple[Any, Any, Any, Any, Any]:
        a = list(arrays)
        x, w = a.pop(0), a.pop(0)
        b = a.pop(0) if self.has_bias else None
        t = a.pop(0)
        cw = a.pop(0) if self.has_weight else None
        return x, w, b, t, cw

    # --- one chunk's logits, targets and loss ---

    def logits_of(self, xc: Any, w: Any, b: Any, buf: Any) -> tuple[Any, Any]:
        """The chunk's logits vocabulary-major, ``W @ xc^T (+ b)`` of shape (V, rows), in
        ``buf`` where the library can write one (a scratch array every full chunk reuses);
        with ``softcap`` also ``tanh(z / softcap)``, whose derivative the gradient needs."""
        xp, softcap = self.xp, self.softcap
        add = b[:, None] if self.has_bias else None
        z = matmul_into(buf, w, xp.matrix_transpose(xc), add=add, xp=xp)
        if softcap is None:
            return z, None
        # Soft-capping (Gemma 2): softcap * tanh(z / softcap) keeps |logits| < softcap.
        th = xp.tanh(z / softcap)
        return softcap * th, th

    def chunk_buffer(self, n: int, w: Any) -> Any:
        """Scratch for the (V, chunk) logits of full chunks (None: not writable here)."""
        if n < self.chunk:
            return None
        return scratch((w.shape[0], self.chunk), w.dtype, w, xp=self.xp)

    def targets_of(self, t: Any, like: Any) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        """The chunk loop's per-row target arrays and the values JAX pads them with:
        indices (padded with ``ignore_index``), or probabilities and a row weight (1; the
        padding rows of JAX's last chunk get 0)."""
        if not self.probs:
            return (t,), (self.ignore_index,)
        rows = create.ones((t.shape[0],), like, xp=self.xp)
        return (t, rows), (0.0, 0.0)

    def target_stats(self, tcs: tuple[Any, ...], cw: Any, like: Any) -> tuple[Any, Any, Any]:
        """Per row: the safe target index, the target's weight (0 if ignored), valid (0/1).
        Probabilities: the weighted smoothed target ``w_v q~_nv`` vocabulary-major (V, rows),
        the row weight, the target's sum over classes. Either way ``stats[1]`` is the row's
        weight in the ``mean``."""
        xp, eps = self.xp, self.eps
        if self.probs:
            q, rows = tcs
            qt = xp.matrix_transpose(q)  # a view
            if eps:  # torch: (1 - eps) q + eps / V
                qt = (1 - eps) * qt + eps / qt.shape[0]
            wq = cw[:, None] * qt if self.has_weight else qt
            return wq, rows, xp.sum(wq, axis=0)
        (t,) = tcs
        valid = t != self.ignore_index
        ts = xp.where(valid, t, xp.zeros_like(t))
        validf = xp.astype(valid, like.dtype)
        wt = xp.take(cw, ts, axis=0) * validf if self.has_weight else validf
        return ts, wt, validf

    def target_logits(self, z: Any, ts: Any, cw: Any) -> tuple[Any, Any]:
        """Per row: the target's logit and, with smoothing, ``sum_c w_c z_c`` (a matrix-
        vector product: no chunk-sized temporary). Read before ``softmax_parts`` consumes
        ``z``. Probabilities (``ts`` is ``w_v q~_nv``): ``sum_v w_v q~_nv z_nv``."""
        xp = self.xp
        if self.probs:
            return xp.sum(ts * z, axis=0), None
        zt = take_along_axis(z, ts[None, :], axis=0, xp=xp)[0, :]
        if not self.eps:
            return zt, None
        return zt, (xp.matmul(cw, z) if self.has_weight else xp.sum(z, axis=0))

    def softmax_parts(self, z: Any) -> tuple[Any, Any, Any]:
        """``e = exp(z - max)``, its row sums and the log-sum-exp (max-shifted: exp never
        overflows; softcapped or not, every row max is finite). ``z`` is consumed: ``e``
        may take its memory (``exp_shifted_owned``), so one chunk-sized array is alive."""
        xp = self.xp
        m = xp.max(z, axis=0, keepdims=True)
        e = exp_shifted_owned(z, m, xp=xp)
        s = xp.sum(e, axis=0)
        return e, s, xp.log(s) + m[0, :]

    def chunk_loss(
        self, zt: Any, zsum: Any, stats: tuple[Any, Any, Any], cw_sum: Any, lse: Any, n_cls: int
    ) -> Any:
        """Per row: the loss (``stats``: the chunk's ``target_stats``; ``zt``, ``zsum``: its
        ``target_logits``)."""
        eps, z_loss = self.eps, self.z_loss
        if self.probs:  # -sum_v w_v q~_v (z_v - lse) = lse sum_v w_v q~_v - sum_v w_v q~_v z_v
            _, rows, wq_sum = stats
            loss = lse * wq_sum - zt
            return loss + z_loss * rows * lse * lse if z_loss else loss
        _, wt, validf = stats
        loss = wt * (lse - zt)
        if eps:
            # torch: the smoothing term -eps/V * sum_c w_c log p_c, on non-ignored rows.
            smooth = lse * (cw_sum if self.has_weight else n_cls) - zsum
            loss = (1 - eps) * loss + (eps / n_cls) * validf * smooth
        if z_loss:
            loss = loss + z_loss * wt * lse * lse
        return loss

    def row_losses(self, x: Any, w: Any, b: Any, t: Any, cw: Any) -> tuple[Any, Any, Any]:
        """Per-row loss, log-sum-exp and target weight, one chunk of logits at a time."""
        xp = self.xp
        n_cls = w.shape[0]
        cw_sum = xp.sum(cw) if self.has_weight else None
        buf = self.chunk_buffer(x.shape[0], w)
        targets, pads = self.targets_of(t, x)

        def body(carry: Any, xs: tuple[Any, ...]) -> tuple[Any, tuple[Any, ...]]:
            xc, *tcs = xs
            z, _ = self.logits_of(xc, w, b, buf)
            stats = self.target_stats(tuple(tcs), cw, z)
            zt, zsum = self.target_logits(z, stats[0], cw)
            _, _, lse = self.softmax_parts(z)
            return carry, (self.chunk_loss(zt, zsum, stats, cw_sum, lse, n_cls), lse, stats[1])

        _, (loss, lse, wt) = chunked_scan(
            body, (), (x, *targets), chunk=self.chunk, pad=(0.0, *pads), xp=xp
        )
        return loss, lse, wt

    # --- one chunk's gradients ---

    def target_grad(self, neg_z: Any, lse: Any, gc: Any, rows: Any, cw: Any) -> Any:
        """The chunk's gradient with respect to the probabilities, row-major (rows, V).

        The loss is linear in them: d loss_n / d q_nv = (1 - eps) w_v (lse_n - z_nv), i.e.
        -(1 - eps) w_v log p_nv, from the logits (``neg_z``: ``-z``, kept before the softmax
        consumed ``z``), not from ``log(p)`` (which is -inf where ``p`` underflows). ``gc``:
        the rows' cotangents; ``rows`` is 0 on JAX's padding rows."""
        xp = self.xp
        g = neg_z + lse[None, :]
        f = (1 - self.eps) * gc * rows
        g = scale_owned(g, f[None, :], xp=xp)
        if self.has_weight:
            g = scale_owned(g, cw[:, None], xp=xp)
        return xp.matrix_transpose(g)

    def zero_carry(self, w: Any) -> tuple[Any, Any, Any, Any]:
        """(d weight, d bias, sum_n c_n x_n, sum_n c_n): the chunk loop's accumulators."""
        xp = self.xp
        n_cls, dim = w.shape
        db = create.zeros((n_cls,) if self.has_bias else (), w, xp=xp)
        cx = create.zeros((dim,), w, xp=xp)
        return xp.zeros_like(w), db, cx, create.zeros((), w, xp=xp)

    def grad_context(self, w: Any, cw: Any) -> tuple[Any, Any, Any, Any]:
        """Loop constants: sum of class weights and the class-weighted mean row of W."""
        xp = self.xp
        cw_sum = xp.sum(cw) if self.has_weight else None
        w_bar = None
        if self.eps and self.softcap is None and not self.probs:
            w_bar = xp.sum(cw[:, None] * w, axis=0) if self.has_weight else xp.sum(w, axis=0)
        return w, cw, cw_sum, w_bar

    def chunk_grads(
        self,
        carry: Any,
        e: Any,
        norm: Any,
        th: Any,
        xc: Any,
        stats: tuple[Any, Any, Any],
        lc: Any,
        gc: Any,
        ctx: Any,
    ) -> tuple[Any, Any]:
        """Accumulate one chunk's gradient; returns ``(carry, d input rows)``.

        ``p = e / norm`` is the chunk's softmax (``norm`` None: ``e`` is it), ``stats`` its
        ``target_stats``, ``lc`` its log-sum-exp, ``gc`` the rows' cotangents (a scalar or
        (rows,)), ``ctx`` the ``grad_context``."""
        if self.probs:
            return self._probs_chunk_grads(carry, e, norm, th, xc, stats, lc, gc, ctx)
        return self._index_chunk_grads(carry, e, norm, th, xc, stats, lc, gc, ctx)

    def _probs_chunk_grads(
        self,
        carry: Any,
        e: Any,
        norm: Any,
        th: Any,
        xc: Any,
        stats: tuple[Any, Any, Any],
        lc: Any,
        gc: Any,
        ctx: Any,
    ) -> tuple[Any, Any]:
        """Probabilities: d loss / d z = (sum_v w_v q~_v + 2 z_loss lse) p - w q~, dense
        (no sparse term)."""
        xp = self.xp
        w = ctx[0]
        dw, db, cx, csum = carry
        wq, rows, wq_sum = stats
        gc = gc * rows  # JAX's padding rows contribute nothing
        a = wq_sum + 2 * self.z_loss * lc if self.z_loss else wq_sum
        gz = scale_owned(e, (a * gc / (1.0 if norm is None else norm))[None, :], xp=xp)
        gz = gz - wq * gc[None, :]
        if self.softcap is not None:
            gz = gz * (1 - th * th)
        dw = add_matmul(dw, gz, xc, xp=xp)
        if self.has_bias:
            db = db + xp.sum(gz, axis=1)
        return (dw, db, cx, csum), xp.matmul(xp.matrix_transpose(gz), w)

    def _index_chunk_grads(
        self,
        carry: Any,
        e: Any,
        norm: Any,
        th: Any,
        xc: Any,
        stats: tuple[Any, Any, Any],
        lc: Any,
        gc: Any,
        ctx: Any,
    ) -> tuple[Any, Any]:
        """Class indices: per row n and class v, d loss / d z = a_n p_nv - coef_n [v = t_n]
        - c_n w_v with w_v the class weight (1 without ``weight``). Only the softmax term is
        dense: the target term goes to the target's row of the weight gradient and the input
        gradient through a gather, the uniform smoothing term is rank one and is applied once
        after the loop (``finish_grads``), so the chunk costs three matmuls and a single
        elementwise pass over its logits. Soft-capping multiplies every term by the tanh
        derivative, which makes all of them dense."""
        xp, eps, has_weight, has_bias = self.xp, self.eps, self.has_weight, self.has_bias
        w, cw, cw_sum, w_bar = ctx
        dw, db, cx, csum = carry
        n_cls = e.shape[0]
        ts, wt, validf = stats
        coef = (1 - eps) * wt * gc
        a = (1 - eps) * wt
        if eps:
            a = a + (eps / n_cls) * validf * (cw_sum if has_weight else n_cls)
        if self.z_loss:
            a = a + 2 * self.z_loss * wt * lc
        a = a * gc
        c = (eps / n_cls) * validf * gc
        scale = a if norm is None else a / norm
        gz = scale_owned(e, scale[None, :], xp=xp)  # e is this chunk's own: in place
        if self.softcap is not None:
            cols = create.arange(n_cls, ts, xp=xp, dtype=ts.dtype)
            gz = gz - xp.where(cols[:, None] == ts[None, :], coef[None, :], xp.zeros_like(gz))
            if eps:
                gz = gz - c[None, :] * (cw[:, None] if has_weight else 1.0)
            gz = gz * (1 - th * th)  # d(softcap tanh(u / softcap))/du
        dx = xp.matmul(xp.matrix_transpose(gz), w)
        dw = add_matmul(dw, gz, xc, xp=xp)
        if has_bias:
            db = db + xp.sum(gz, axis=1)
        if self.softcap is None:
            dx = dx - coef[:, None] * xp.take(w, ts, axis=0)
            dw = add_at_rows(dw, ts, -coef[:, None] * xc, xp=xp)
            if has_bias:
                db = add_at_rows(db, ts, -coef, xp=xp)
            if eps:
                dx = dx - c[:, None] * w_bar[None, :]
                cx = cx + xp.sum(c[:, None] * xc, axis=0)
                csum = csum + xp.sum(c)
        return (dw, db, cx, csum), dx

    def finish_grads(self, carry: Any, dx: Any, cw: Any) -> tuple[Any, ...]:
        """Apply the rank-one smoothing term to the accumulated weight/bias gradients."""
        dw, db, cx, csum = carry
        if self.eps and self.softcap is None and not self.probs:
            # - sum_n c_n w_v x_n for every class v (w_v = 1 without ``weight``)
            dw = dw - (cw[:, None] * cx[None, :] if self.has_weight else cx[None, :])
            if self.has_bias:
                db = db - (cw * csum if self.has_weight else csum)
        return (dx, dw, db) if self.has_bias else (dx, dw)

    # --- reduction="none": per-row outputs, the backward recomputes each chunk's logits ---

    def forward(self, *arrays: Any) -> tuple[Any, tuple[Any, ...]]:
        x, w, b, t, cw = self._unpack(arrays)
        loss, lse, wt = self.row_losses(x, w, b, t, cw)
        return (loss, wt), (lse,)

    def backward(
        self, arrays: tuple[Any, ...], extra: tuple[Any, ...], g: Any
    ) -> tuple[Any, ...]:
        xp = self.xp
        x, w, b, t, cw = self._unpack(arrays)
        (lse,) = extra
        g = g[0]  # the second output (the per-row weight) is a constant
        ctx = self.grad_context(w, cw)
        buf = self.chunk_buffer(x.shape[0], w)
        targets, pads = self.targets_of(t, x)

        def body(carry: Any, xs: tuple[Any, ...]) -> tuple[Any, tuple[Any, ...]]:
            xc, *tcs, lc, gc = xs
            z, th = self.logits_of(xc, w, b, buf)
            stats = self.target_stats(tuple(tcs), cw, z)
            neg_z = -z if self.grad_target else None  # before the softmax overwrites z
            p = exp_shifted_owned(z, lc[None, :], xp=xp)  # the softmax, from the stored lse
            carry, dx = self.chunk_grads(carry, p, None, th, xc, stats, lc, gc, ctx)
            if self.grad_target:
                return carry, (dx, self.target_grad(neg_z, lc, gc, stats[1], cw))
            return carry, (dx,)

        carry, ys = chunked_scan(
            body,
            self.zero_carry(w),
            (x, *targets, lse, g),
            chunk=self.chunk,
            pad=(0.0, *pads, 0.0, 0.0),
            xp=xp,
        )
        return (*self.finish_grads(carry, ys[0], cw), *ys[1:])

    # --- reduction="mean"/"sum": a scalar output, so its gradient is known up to the one
    # cotangent while the chunk's logits are at hand: the forward pass of a differentiated
    # call computes it there (three matmuls per chunk instead of four) and the backward
    # pass only scales it. ``primal`` is the value-only pass of an undifferentiated call. ---

    def grad_scale(self, t: Any, cw: Any, like: Any) -> tuple[Any, Any]:
        """(d result / d sum of losses, the "mean" denominator: the summed target weights).

        With every target ignored the mean is 0/0 = NaN and torch's gradient is 0, not NaN:
        the scale is 0 then. Probabilities: the mean is over the rows, as in torch."""
        xp = self.xp
        if self.probs:
            den = create.full((), t.shape[0], like, xp=xp)
        else:
            _, wt, _ = self.target_stats((t,), cw, like)
            den = xp.sum(wt)
        if not self.mean:
            return xp.ones_like(den), den
        safe = xp.where(den == 0, xp.ones_like(den), den)
        return xp.where(den == 0, xp.zeros_like(den), 1 / safe), den

    def primal(self, *arrays: Any) -> tuple[Any, ...]:
        xp = self.xp
        x, w, b, t, cw = self._unpack(arrays)
        loss, _, wt = self.row_losses(x, w, b, t, cw)
        return (sum_ratio(loss, wt, xp=xp) if self.mean else xp.sum(loss),)

    def forward_fused(self, *arrays: Any) -> tuple[Any, tuple[Any, ...]]:
        xp = self.xp
        x, w, b, t, cw = self._unpack(arrays)
        scale, den = self.grad_scale(t, cw, x)
        ctx = self.grad_context(w, cw)
        n_cls = w.shape[0]
        buf = self.chunk_buffer(x.shape[0], w)
        targets, pads = self.targets_of(t, x)

        def body(carry: Any, xs: tuple[Any, ...]) -> tuple[Any, tuple[Any, ...]]:
            xc, *tcs = xs
            z, th = self.logits_of(xc, w, b, buf)
            stats = self.target_stats(tuple(tcs), cw, z)
            zt, zsum = self.target_logits(z, stats[0], cw)
            neg_z = -z if self.grad_target else None  # before softmax_parts consumes z
            e, s, lse = self.softmax_parts(z)  # consumes z
            del z
            loss = self.chunk_loss(zt, zsum, stats, ctx[2], lse, n_cls)
            carry, dx = self.chunk_grads(carry, e, s, th, xc, stats, lse, scale, ctx)
            if self.grad_target:
                return carry, (loss, dx, self.target_grad(neg_z, lse, scale, stats[1], cw))
            return carry, (loss, dx)

        carry, (loss, dx, *dq) = chunked_scan(
            body, self.zero_carry(w), (x, *targets), chunk=self.chunk, pad=(0.0, *pads), xp=xp
        )
        total = xp.sum(loss)
        return ((total / den) if self.mean else total,), (*self.finish_grads(carry, dx, cw), *dq)

    def backward_fused(
        self, arrays: tuple[Any, ...], extra: tuple[Any, ...] | None, g: Any
    ) -> tuple[Any, ...]:
        if extra is None:  # handed to an earlier pass through a retained torch graph
            _, extra = self.forward_fused(*arrays)
        # The gradients are this pass's own (custom_gradient's handoff): scaled in place.
        return tuple(scale_owned(e, g[0], xp=self.xp) for e in extra)
