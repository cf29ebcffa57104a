"""Cross entropy of a linear projection, ``cross_entropy(input @ W.T + b, target)``, computed
in row chunks so the (tokens x vocabulary) logits are never materialised.

One chunk of logits exists at a time. For a scalar result (``mean``/``sum``) a
differentiated call computes the gradients of ``input``, ``linear_weight`` and
``linear_bias`` in the same chunk loop as the loss, while each chunk's logits are at hand
(three matmuls per chunk), and the backward pass only scales them by the cotangent; an
undifferentiated call takes a value-only loop. For ``reduction="none"`` the forward pass
keeps each row's log-sum-exp and the backward pass recomputes the chunk's logits (recompute,
do not store). Only the softmax term of a chunk's logit gradient is dense: the target term
is a gather/scatter-add of rows, the label-smoothing term a rank-one update applied once.
A chunk's logits are held vocabulary-major, ``W @ x_c^T`` of shape (V, rows): the three
matmuls then take contiguous operands, which torch CPU's GEMM runs faster than the
row-major ``x_c @ W^T`` (about 10 % of the whole call at D = 1024), and every per-row
statistic is a reduction over axis 0. The chunk's array is written once by the matmul and
then overwritten in place by its softmax and its gradient (``exp_shifted_owned``,
``scale_owned``, ``matmul_into`` on a ``scratch`` array: primitives that fall back to new
arrays where a library cannot write in place, or under autodiff/compile tracing).
The passes are generic array-API functions joined by the ``custom_gradient`` primitive (a
``torch.autograd.Function``, a ``jax.custom_vjp``), and the chunk loop is ``chunked_scan``
(``lax.scan`` on JAX, so it jits).
"""

from __future__ import annotations

import math
from typing import Any

from ._lib import (
    check_floating,
    check_index_target,
    check_labels_in_range,
    check_option,
    check_real_scalar,
    check_reduction,
    finish,
    is_concrete,
    namespace_of,
    native_loss,
    promote_floating,
    register,
)
from ._lib._chunk import chunked_scan
from ._lib._compat import device, isdtype
from ._lib._custom_grad import custom_gradient
from ._lib._dtypes import index_dtype
from ._lib._plans import delegate
from ._lib._primitives import (
    add_at_rows,
    add_matmul,
    exp_shifted_owned,
    matmul_into,
    native_checks_labels,
    scale_owned,
    scratch,
    sum_ratio,
    take_along_axis,
)
from ._lib._validation import may_be_differentiated, shape_str
from .classification import cross_entropy

__all__ = ["linear_cross_entropy"]

_NAME = "linear_cross_entropy"
# Default chunk: about 2**23 logits (32 MiB in float32) and at least 256 rows. A chunk's
# logits live in one scratch array (reused by every chunk, softmax and gradient computed in
# place), so the chunk can be larger than with a temporary per step; the matmuls need the
# rows (torch CPU, D = 1024: 128-row chunks took 1.1x the time of 256-row ones at V = 32768
# and V = 65536), while past ~32 MiB the elementwise passes fall out of the last-level cache
# (512-row chunks were slower again at V = 32768). benchmarks/results/linear_ce.md.
_CHUNK_ELEMENTS = 2**23
_MIN_CHUNK_ROWS = 256
# Problems of at most this many logits (1 MiB in float32) are computed unchunked as
# ``cross_entropy(input @ W.T + b)`` (on eager torch: torch's own unchunked
# F.linear_cross_entropy, through a per-signature plan): the naive path's few arrays of that
# size are negligible, while the chunk loop's Python (a custom gradient, a scan, a dozen
# small ops) cost about 90 us forward and 330 us forward+backward at (8, 32) x (10, 32),
# 10x torch's own call. Not with an explicit ``chunk_size`` (the caller asked for chunks)
# nor with ``z_loss``/``softcap`` (cross_entropy has neither).
_DIRECT_ELEMENTS = 2**18


def _make_kernel(
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
) -> tuple[Any, Any, Any]:
    """Generic (forward, backward, primal) over row chunks; closed over the static options.

    ``probs``: the target holds class probabilities, shape (N, V), instead of indices.
    ``grad_target`` (probabilities only): the target is differentiated too, after the input,
    weight and bias; its gradient, (N, V) like the target, is written chunk by chunk."""
    eps = label_smoothing
    reduced = reduction != "none"
    mean = reduction == "mean"

    def logits_of(xc: Any, w: Any, b: Any, buf: Any) -> tuple[Any, Any]:
        """The chunk's logits vocabulary-major, ``W @ xc^T (+ b)`` of shape (V, rows), in
        ``buf`` where the library can write one (a scratch array every full chunk reuses);
        with ``softcap`` also ``tanh(z / softcap)``, whose derivative the gradient needs."""
        z = matmul_into(buf, w, xp.matrix_transpose(xc), add=b[:, None] if has_bias else None,
                        xp=xp)
        if softcap is None:
            return z, None
        # Soft-capping (Gemma 2): softcap * tanh(z / softcap) keeps |logits| < softcap.
        th = xp.tanh(z / softcap)
        return softcap * th, th

    def chunk_buffer(n: int, w: Any) -> Any:
        """Scratch for the (V, chunk) logits of full chunks (None: not writable here)."""
        return scratch((w.shape[0], chunk), w.dtype, w, xp=xp) if n >= chunk else None

    def targets_of(t: Any, like: Any) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        """The chunk loop's per-row target arrays and the values JAX pads them with:
        indices (padded with ``ignore_index``), or probabilities and a row weight (1; the
        padding rows of JAX's last chunk get 0)."""
        if not probs:
            return (t,), (ignore_index,)
        rows = xp.ones((t.shape[0],), dtype=like.dtype, device=device(like))
        return (t, rows), (0.0, 0.0)

    def target_stats(tcs: tuple[Any, ...], cw: Any, like: Any) -> tuple[Any, Any, Any]:
        """Per row: the safe target index, the target's weight (0 if ignored), valid (0/1).
        Probabilities: the weighted smoothed target ``w_v q~_nv`` vocabulary-major (V, rows),
        the row weight, the target's sum over classes. Either way ``stats[1]`` is the row's
        weight in the ``mean``."""
        if probs:
            q, rows = tcs
            qt = xp.matrix_transpose(q)  # a view
            if eps:  # torch: (1 - eps) q + eps / V
                qt = (1 - eps) * qt + eps / qt.shape[0]
            wq = cw[:, None] * qt if has_weight else qt
            return wq, rows, xp.sum(wq, axis=0)
        (t,) = tcs
        valid = t != ignore_index
        ts = xp.where(valid, t, xp.zeros_like(t))
        validf = xp.astype(valid, like.dtype)
        wt = xp.take(cw, ts, axis=0) * validf if has_weight else validf
        return ts, wt, validf

    def target_logits(z: Any, ts: Any, cw: Any) -> tuple[Any, Any]:
        """Per row: the target's logit and, with smoothing, ``sum_c w_c z_c`` (a matrix-
        vector product: no chunk-sized temporary). Read before ``softmax_parts`` consumes
        ``z``. Probabilities (``ts`` is ``w_v q~_nv``): ``sum_v w_v q~_nv z_nv``."""
        if probs:
            return xp.sum(ts * z, axis=0), None
        zt = take_along_axis(z, ts[None, :], axis=0, xp=xp)[0, :]
        if not eps:
            return zt, None
        return zt, (xp.matmul(cw, z) if has_weight else xp.sum(z, axis=0))

    def softmax_parts(z: Any) -> tuple[Any, Any, Any]:
        """``e = exp(z - max)``, its row sums and the log-sum-exp (max-shifted: exp never
        overflows; softcapped or not, every row max is finite). ``z`` is consumed: ``e``
        may take its memory (``exp_shifted_owned``), so one chunk-sized array is alive."""
        m = xp.max(z, axis=0, keepdims=True)
        e = exp_shifted_owned(z, m, xp=xp)
        s = xp.sum(e, axis=0)
        return e, s, xp.log(s) + m[0, :]

    def chunk_loss(
        zt: Any, zsum: Any, stats: tuple[Any, Any, Any], cw_sum: Any, lse: Any, n_cls: int
    ) -> Any:
        """Per row: the loss (``stats``: the chunk's ``target_stats``; ``zt``, ``zsum``: its
        ``target_logits``)."""
        if probs:  # -sum_v w_v q~_v (z_v - lse) = lse sum_v w_v q~_v - sum_v w_v q~_v z_v
            _, rows, wq_sum = stats
            loss = lse * wq_sum - zt
            return loss + z_loss * rows * lse * lse if z_loss else loss
        _, wt, validf = stats
        loss = wt * (lse - zt)
        if eps:
            # torch: the smoothing term -eps/V * sum_c w_c log p_c, on non-ignored rows.
            smooth = lse * (cw_sum if has_weight else n_cls) - zsum
            loss = (1 - eps) * loss + (eps / n_cls) * validf * smooth
        if z_loss:
            loss = loss + z_loss * wt * lse * lse
        return loss

    def target_grad(neg_z: Any, lse: Any, gc: Any, rows: Any, cw: Any) -> Any:
        """The chunk's gradient with respect to the probabilities, row-major (rows, V).

        The loss is linear in them: d loss_n / d q_nv = (1 - eps) w_v (lse_n - z_nv), i.e.
        -(1 - eps) w_v log p_nv, from the logits (``neg_z``: ``-z``, kept before the softmax
        consumed ``z``), not from ``log(p)`` (which is -inf where ``p`` underflows). ``gc``:
        the rows' cotangents; ``rows`` is 0 on JAX's padding rows."""
        g = neg_z + lse[None, :]
        f = (1 - eps) * gc * rows
        g = scale_owned(g, f[None, :], xp=xp)
        if has_weight:
            g = scale_owned(g, cw[:, None], xp=xp)
        return xp.matrix_transpose(g)

    def zero_carry(w: Any) -> tuple[Any, Any, Any, Any]:
        """(d weight, d bias, sum_n c_n x_n, sum_n c_n): the chunk loop's accumulators."""
        n_cls, dim = w.shape
        dev = device(w)
        db = xp.zeros((n_cls,) if has_bias else (), dtype=w.dtype, device=dev)
        cx = xp.zeros((dim,), dtype=w.dtype, device=dev)
        return xp.zeros_like(w), db, cx, xp.zeros((), dtype=w.dtype, device=dev)

    def chunk_grads(
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
        (rows,)). Per row n and class v, d loss / d z = a_n p_nv - coef_n [v = t_n] -
        c_n w_v with w_v the class weight (1 without ``weight``). Only the softmax term is
        dense: the target term goes to the target's row of the weight gradient and the input
        gradient through a gather, the uniform smoothing term is rank one and is applied once
        after the loop, so the chunk costs three matmuls and a single elementwise pass over
        its logits. Soft-capping multiplies every term by the tanh derivative, which makes
        all of them dense.
        """
        w, cw, cw_sum, w_bar = ctx
        dw, db, cx, csum = carry
        n_cls = e.shape[0]
        if probs:
            # d loss / d z = (sum_v w_v q~_v + 2 z_loss lse) p - w q~: dense, no sparse term
            wq, rows, wq_sum = stats
            gc = gc * rows  # JAX's padding rows contribute nothing
            a = wq_sum + 2 * z_loss * lc if z_loss else wq_sum
            gz = scale_owned(e, (a * gc / (1.0 if norm is None else norm))[None, :], xp=xp)
            gz = gz - wq * gc[None, :]
            if softcap is not None:
                gz = gz * (1 - th * th)
            dw = add_matmul(dw, gz, xc, xp=xp)
            if has_bias:
                db = db + xp.sum(gz, axis=1)
            return (dw, db, cx, csum), xp.matmul(xp.matrix_transpose(gz), w)
        ts, wt, validf = stats
        coef = (1 - eps) * wt * gc
        a = (1 - eps) * wt
        if eps:
            a = a + (eps / n_cls) * validf * (cw_sum if has_weight else n_cls)
        if z_loss:
            a = a + 2 * z_loss * wt * lc
        a = a * gc
        c = (eps / n_cls) * validf * gc
        scale = a if norm is None else a / norm
        gz = scale_owned(e, scale[None, :], xp=xp)  # e is this chunk's own: in place
        if softcap is not None:
            cols = xp.arange(n_cls, dtype=ts.dtype, device=device(ts))
            gz = gz - xp.where(cols[:, None] == ts[None, :], coef[None, :], xp.zeros_like(gz))
            if eps:
                gz = gz - c[None, :] * (cw[:, None] if has_weight else 1.0)
            gz = gz * (1 - th * th)  # d(softcap tanh(u / softcap))/du
        dx = xp.matmul(xp.matrix_transpose(gz), w)
        dw = add_matmul(dw, gz, xc, xp=xp)
        if has_bias:
            db = db + xp.sum(gz, axis=1)
        if softcap is None:
            dx = dx - coef[:, None] * xp.take(w, ts, axis=0)
            dw = add_at_rows(dw, ts, -coef[:, None] * xc, xp=xp)
            if has_bias:
                db = add_at_rows(db, ts, -coef, xp=xp)
            if eps:
                dx = dx - c[:, None] * w_bar[None, :]
                cx = cx + xp.sum(c[:, None] * xc, axis=0)
                csum = csum + xp.sum(c)
        return (dw, db, cx, csum), dx

    def finish_grads(carry: Any, dx: Any, cw: Any) -> tuple[Any, ...]:
        """Apply the rank-one smoothing term to the accumulated weight/bias gradients."""
        dw, db, cx, csum = carry
        if eps and softcap is None and not probs:
            # - sum_n c_n w_v x_n for every class v (w_v = 1 without ``weight``)
            dw = dw - (cw[:, None] * cx[None, :] if has_weight else cx[None, :])
            if has_bias:
                db = db - (cw * csum if has_weight else csum)
        return (dx, dw, db) if has_bias else (dx, dw)

    def grad_context(w: Any, cw: Any) -> tuple[Any, Any, Any, Any]:
        """Loop constants: sum of class weights and the class-weighted mean row of W."""
        cw_sum = xp.sum(cw) if has_weight else None
        w_bar = None
        if eps and softcap is None and not probs:
            w_bar = xp.sum(cw[:, None] * w, axis=0) if has_weight else xp.sum(w, axis=0)
        return w, cw, cw_sum, w_bar

    def row_losses(x: Any, w: Any, b: Any, t: Any, cw: Any) -> tuple[Any, Any, Any]:
        """Per-row loss, log-sum-exp and target weight, one chunk of logits at a time."""

        n_cls = w.shape[0]
        cw_sum = xp.sum(cw) if has_weight else None
        buf = chunk_buffer(x.shape[0], w)

        targets, pads = targets_of(t, x)

        def body(carry: Any, xs: tuple[Any, ...]) -> tuple[Any, tuple[Any, ...]]:
            xc, *tcs = xs
            z, _ = logits_of(xc, w, b, buf)
            stats = target_stats(tuple(tcs), cw, z)
            zt, zsum = target_logits(z, stats[0], cw)
            _, _, lse = softmax_parts(z)
            return carry, (chunk_loss(zt, zsum, stats, cw_sum, lse, n_cls), lse, stats[1])

        _, (loss, lse, wt) = chunked_scan(
            body, (), (x, *targets), chunk=chunk, pad=(0.0, *pads), xp=xp
        )
        return loss, lse, wt

    # --- reduction="none": per-row outputs, the backward recomputes each chunk's logits ---

    def forward(*arrays: Any) -> tuple[Any, tuple[Any, ...]]:
        x, w, b, t, cw = _unpack(arrays)
        loss, lse, wt = row_losses(x, w, b, t, cw)
        return (loss, wt), (lse,)

    def backward(arrays: tuple[Any, ...], extra: tuple[Any, ...], g: Any) -> tuple[Any, ...]:
        x, w, b, t, cw = _unpack(arrays)
        (lse,) = extra
        g = g[0]  # the second output (the per-row weight) is a constant
        ctx = grad_context(w, cw)
        buf = chunk_buffer(x.shape[0], w)

        targets, pads = targets_of(t, x)

        def body(carry: Any, xs: tuple[Any, ...]) -> tuple[Any, tuple[Any, ...]]:
            xc, *tcs, lc, gc = xs
            z, th = logits_of(xc, w, b, buf)
            stats = target_stats(tuple(tcs), cw, z)
            neg_z = -z if grad_target else None  # before the softmax overwrites z
            p = exp_shifted_owned(z, lc[None, :], xp=xp)  # the softmax, from the stored lse
            carry, dx = chunk_grads(carry, p, None, th, xc, stats, lc, gc, ctx)
            if grad_target:
                return carry, (dx, target_grad(neg_z, lc, gc, stats[1], cw))
            return carry, (dx,)

        carry, ys = chunked_scan(
            body,
            zero_carry(w),
            (x, *targets, lse, g),
            chunk=chunk,
            pad=(0.0, *pads, 0.0, 0.0),
            xp=xp,
        )
        return (*finish_grads(carry, ys[0], cw), *ys[1:])

    # --- reduction="mean"/"sum": a scalar output, so its gradient is known up to the one
    # cotangent while the chunk's logits are at hand: the forward pass of a differentiated
    # call computes it there (three matmuls per chunk instead of four) and the backward
    # pass only scales it. ``primal`` is the value-only pass of an undifferentiated call. ---

    def grad_scale(t: Any, cw: Any, like: Any) -> tuple[Any, Any]:
        """(d result / d sum of losses, the "mean" denominator: the summed target weights).

        With every target ignored the mean is 0/0 = NaN and torch's gradient is 0, not NaN:
        the scale is 0 then. Probabilities: the mean is over the rows, as in torch."""
        if probs:
            den = xp.full((), t.shape[0], dtype=like.dtype, device=device(like))
        else:
            _, wt, _ = target_stats((t,), cw, like)
            den = xp.sum(wt)
        if not mean:
            return xp.ones_like(den), den
        safe = xp.where(den == 0, xp.ones_like(den), den)
        return xp.where(den == 0, xp.zeros_like(den), 1 / safe), den

    def primal(*arrays: Any) -> tuple[Any, ...]:
        x, w, b, t, cw = _unpack(arrays)
        loss, _, wt = row_losses(x, w, b, t, cw)
        return (sum_ratio(loss, wt, xp=xp) if mean else xp.sum(loss),)

    def forward_fused(*arrays: Any) -> tuple[Any, tuple[Any, ...]]:
        x, w, b, t, cw = _unpack(arrays)
        scale, den = grad_scale(t, cw, x)
        ctx = grad_context(w, cw)
        n_cls = w.shape[0]
        buf = chunk_buffer(x.shape[0], w)

        targets, pads = targets_of(t, x)

        def body(carry: Any, xs: tuple[Any, ...]) -> tuple[Any, tuple[Any, ...]]:
            xc, *tcs = xs
            z, th = logits_of(xc, w, b, buf)
            stats = target_stats(tuple(tcs), cw, z)
            zt, zsum = target_logits(z, stats[0], cw)
            neg_z = -z if grad_target else None  # before softmax_parts consumes z
            e, s, lse = softmax_parts(z)  # consumes z
            del z
            loss = chunk_loss(zt, zsum, stats, ctx[2], lse, n_cls)
            carry, dx = chunk_grads(carry, e, s, th, xc, stats, lse, scale, ctx)
            if grad_target:
                return carry, (loss, dx, target_grad(neg_z, lse, scale, stats[1], cw))
            return carry, (loss, dx)

        carry, (loss, dx, *dq) = chunked_scan(
            body, zero_carry(w), (x, *targets), chunk=chunk, pad=(0.0, *pads), xp=xp
        )
        total = xp.sum(loss)
        return ((total / den) if mean else total,), (*finish_grads(carry, dx, cw), *dq)

    def backward_fused(
        arrays: tuple[Any, ...], extra: tuple[Any, ...] | None, g: Any
    ) -> tuple[Any, ...]:
        if extra is None:  # handed to an earlier pass through a retained torch graph
            _, extra = forward_fused(*arrays)
        # The gradients are this pass's own (custom_gradient's handoff): scaled in place.
        return tuple(scale_owned(e, g[0], xp=xp) for e in extra)

    def _unpack(arrays: tuple[Any, ...]) -> tuple[Any, Any, Any, Any, Any]:
        a = list(arrays)
        x, w = a.pop(0), a.pop(0)
        b = a.pop(0) if has_bias else None
        t = a.pop(0)
        cw = a.pop(0) if has_weight else None
        return x, w, b, t, cw

    if reduced:
        return forward_fused, backward_fused, primal
    return forward, backward, None


@register(
    "classification",
    delegates=True,
    torch="torch.nn.functional.linear_cross_entropy",
    sample="hidden_weight_index",
)
def linear_cross_entropy(
    input: Any,
    linear_weight: Any,
    target: Any,
    /,
    *,
    linear_bias: Any = None,
    weight: Any = None,
    reduction: str = "mean",
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    z_loss: float = 0.0,
    softcap: float | None = None,
    chunk_size: int | None = None,
    xp: Any = None,
) -> Any:
    r"""Cross entropy of a linear projection, without materialising the logits.

    .. math:: z_n = W x_n + b, \qquad
              \ell_n = -(1 - \varepsilon)\, w_{y_n} \log p_{n, y_n}
              - \frac{\varepsilon}{V} \sum_{c} w_c \log p_{n c}
              + \lambda_z\, w_{y_n} \Big(\log \sum_c e^{z_{nc}}\Big)^2,
              \qquad p_{nc} = \frac{e^{z_{nc}}}{\sum_k e^{z_{nk}}}

    for tokens :math:`x_n \in \mathbb{R}^D`, a projection :math:`W \in \mathbb{R}^{V\times D}`
    onto a vocabulary of :math:`V` classes, class-index targets :math:`y_n`,
    label smoothing :math:`\varepsilon`, class weights :math:`w` (1 without ``weight``)
    and the z-loss coefficient :math:`\lambda_z`. ``mean`` is
    :math:`\sum_n \ell_n / \sum_n w_{y_n}` over the non-ignored targets, as in
    ``cross_entropy``. With ``softcap`` :math:`s`, :math:`z` is replaced by
    :math:`s \tanh(z / s)`.

    Parameters
    ----------
    input : array, shape (N, D), (D,) or (..., D)
        Hidden states (real floating), one row per token.
    linear_weight : array, shape (V, D)
        The output projection (``torch.nn.Linear(D, V).weight``).
    target : array, shape (N,), () or (...); or (N, V), (V,) or (..., V)
        Class indices of any integer dtype in [0, V) or ``ignore_index``; or class
        probabilities (a floating dtype, the logits' shape). ``mean`` then averages over
        the tokens, as torch's ``cross_entropy`` does for probabilities.
    linear_bias : array, shape (V,), optional
        Bias of the projection.
    weight : array, shape (V,), optional
        A weight per class.
    reduction : {"mean", "sum", "none"}
        ``"none"`` returns one loss per token, the target's shape.
    ignore_index : int, optional
        Targets equal to it contribute nothing (also not to the ``mean``'s denominator).
        ``None`` means -100, as in torch; must be None for probability targets (torch
        raises there too).
    label_smoothing : float in [0, 1]
        Mix the one-hot target with the uniform distribution (torch's semantics).
    z_loss : float, default 0
        Coefficient of the auxiliary z-loss :math:`\lambda_z \log^2 Z` (PaLM) that keeps
        the softmax normaliser near 1; weighted like the token's cross entropy.
    softcap : float, optional
        Logit soft-capping :math:`s \tanh(z/s)` (Gemma 2); ``None``: off.
    chunk_size : int, optional
        Tokens per chunk; default :math:`\max(256, 2^{23} / V)` (32 MiB of float32 logits
        at :math:`V \le 32768`).

    Returns
    -------
    array
        The loss: a scalar, or shape of ``target`` for ``reduction="none"``; the input's
        floating dtype.

    Notes
    -----
    Small problems (at most :math:`2^{18}` logits, no ``chunk_size``, ``z_loss`` or
    ``softcap``) are computed unchunked, as :func:`cross_entropy` of the logits: a few MiB
    at most, and the library's fused kernel is faster there than a chunk loop.
    Otherwise one chunk of logits exists at a time, so peak memory is about one (V, chunk_size)
    array plus the gradients instead of (N, V): on torch and NumPy the chunk's logits,
    softmax and logit gradient share one scratch array that every chunk reuses (written in
    place), elsewhere the library's compiler or allocator plans them. With
    ``mean``/``sum`` a differentiated call computes the gradients in the forward chunk
    loop (the backward pass only scales them);
    with ``"none"`` the forward pass keeps each token's log-sum-exp (max-shifted, so it
    never overflows) and the backward pass recomputes the chunk's logits. The gradient is
    written by hand (a ``torch.autograd.Function`` on torch, a ``jax.custom_vjp`` on JAX;
    backward twice through a retained torch graph works, the second pass recomputes): exact for
    first derivatives. On torch it is first order only: differentiating the gradient again
    (``create_graph``, ``torch.func``) raises a ``RuntimeError`` naming the loss; on JAX the
    second derivative is autodiff's through the hand-written backward pass, and equals
    torch's double backward of the unchunked formula. On JAX the chunk loop is a
    ``lax.scan``, so the function jits. float16/bfloat16 are computed in float32.

    Class-probability targets (which torch takes on its unchunked reference path only) are
    chunked like indices: :math:`\ell_n = -\sum_c w_c \tilde q_{nc} \log p_{nc}` with
    :math:`\tilde q = (1 - \varepsilon) q + \varepsilon / V`. They are differentiable, as in
    torch: the gradient with respect to ``target`` (as large as the target) is written chunk
    by chunk, on torch when the target requires grad and on JAX when it is traced (under
    ``jax.jit`` XLA drops it when unused). A K-dimensional ``linear_weight`` of shape
    (V, d1, ..., dK, D), accepted by torch's reference path, is not supported.

    PyTorch equivalent: ``torch.nn.functional.linear_cross_entropy(input, linear_weight,
    target, linear_bias=..., weight=..., reduction=..., ignore_index=...,
    label_smoothing=...)`` (torch 2.13; ``z_loss``/``softcap`` have no torch counterpart).

    References
    ----------
    .. [1] Wijmans et al., "Cut Your Losses in Large-Vocabulary Language Models", 2024.
    .. [2] Chowdhery et al., "PaLM: Scaling Language Modeling with Pathways", 2022 (z-loss).
    .. [3] Gemma Team, "Gemma 2: Improving Open Language Models at a Practical Size", 2024.

    Examples
    --------
    >>> import numpy as np
    >>> import arrayloss as al
    >>> x = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> W = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    >>> y = np.array([0, 1, 2])
    >>> print(np.round(al.linear_cross_entropy(x, W, y), 4))
    0.9883
    >>> print(np.round(al.linear_cross_entropy(x, W, y, reduction="none", chunk_size=2), 4))
    [0.5514 0.5514 1.862 ]
    """
    given_xp = xp
    xp = namespace_of(
        _NAME,
        input=input,
        linear_weight=linear_weight,
        target=target,
        linear_bias=linear_bias,
        weight=weight,
        xp=xp,
    )
    check_reduction(_NAME, reduction)
    check_floating(_NAME, "input", input, xp)
    check_floating(_NAME, "linear_weight", linear_weight, xp)
    if linear_bias is not None:
        check_floating(_NAME, "linear_bias", linear_bias, xp)
    # Class probabilities: a floating target of the logits' shape (torch's reference path).
    probs = isdtype(target.dtype, "real floating", xp)
    if not probs:
        check_index_target(_NAME, "target", target, xp)
    elif ignore_index is not None:
        raise ValueError(
            f"{_NAME}: `ignore_index` must be None when `target` holds class probabilities "
            f"(a floating target), got {ignore_index!r}"
        )
    if ignore_index is None:
        ignore_index = -100
    check_option(
        _NAME,
        "ignore_index",
        ignore_index,
        isinstance(ignore_index, int) and not isinstance(ignore_index, bool),
        "an int or None",
    )
    eps = check_real_scalar(_NAME, "label_smoothing", label_smoothing)
    check_option(_NAME, "label_smoothing", label_smoothing, 0.0 <= eps <= 1.0, "in [0, 1]")
    zl = check_real_scalar(_NAME, "z_loss", z_loss)
    check_option(_NAME, "z_loss", z_loss, zl >= 0.0, ">= 0")
    cap = None
    if softcap is not None:
        cap = check_real_scalar(_NAME, "softcap", softcap)
        check_option(_NAME, "softcap", softcap, cap > 0.0, "> 0 or None")
    if linear_weight.ndim != 2:
        raise ValueError(
            f"{_NAME}: `linear_weight` must have shape (V, D), got {shape_str(linear_weight.shape)}"
        )
    n_cls, dim = linear_weight.shape
    if input.ndim < 1 or input.shape[-1] != dim:
        raise ValueError(
            f"{_NAME}: `input` must have shape (..., {dim}) to match `linear_weight` "
            f"{shape_str(linear_weight.shape)}, got {shape_str(input.shape)}"
        )
    if probs and tuple(target.shape) != (*input.shape[:-1], n_cls):
        raise ValueError(
            f"{_NAME}: `target` holds class probabilities (floating dtype) and must have the "
            f"logits' shape {shape_str((*input.shape[:-1], n_cls))}, got "
            f"{shape_str(target.shape)}; class indices need an integer dtype"
        )
    if not probs and tuple(target.shape) != tuple(input.shape[:-1]):
        raise ValueError(
            f"{_NAME}: `target` must have shape {shape_str(input.shape[:-1])} (the input's "
            f"without its last axis), got {shape_str(target.shape)}"
        )
    if linear_bias is not None and tuple(linear_bias.shape) != (n_cls,):
        raise ValueError(
            f"{_NAME}: `linear_bias` must have shape ({n_cls},), got {shape_str(linear_bias.shape)}"
        )
    if weight is not None and tuple(weight.shape) != (n_cls,):
        raise ValueError(
            f"{_NAME}: `weight` must have shape ({n_cls},), got {shape_str(weight.shape)}"
        )
    if chunk_size is not None:
        check_option(
            _NAME,
            "chunk_size",
            chunk_size,
            isinstance(chunk_size, int) and not isinstance(chunk_size, bool) and chunk_size > 0,
            "a positive int or None",
        )
    rows = math.prod(input.shape[:-1])
    direct = chunk_size is None and not zl and cap is None and rows * n_cls <= _DIRECT_ELEMENTS
    native = None
    if direct and input.ndim == 2 and is_concrete(input, xp):
        native = native_loss(_NAME, xp)
    # torch's kernel checks the labels itself on CPU: arrayloss's check only if it raises
    defer = native is not None and not probs and native_checks_labels(_NAME, target, xp)
    if not probs and not defer:
        check_labels_in_range(_NAME, "target", target, n_cls, xp, ignore_index=ignore_index)
    # probabilities are promoted with the floating arrays (None: not floating, left alone)
    out_dtype, _, (x, w, b, cw, tp) = promote_floating(
        _NAME,
        xp,
        input=input,
        linear_weight=linear_weight,
        linear_bias=linear_bias,
        weight=weight,
        target=target if probs else None,
    )
    if native is not None:

        def recheck(input: Any, linear_weight: Any, target: Any, *_: Any) -> None:
            check_labels_in_range(_NAME, "target", target, n_cls, xp, ignore_index=ignore_index)

        return delegate(
            native,
            (x, w, tp if probs else target, b, cw),  # torch takes any integer dtype
            {
                "ignore_index": None if probs else ignore_index,
                "reduction": reduction,
                "label_smoothing": eps,
            },
            out=out_dtype,
            xp=xp,
            recheck=recheck if defer else None,
            keep=defer or probs,  # no label was read: the call is the whole check
        )
    if probs:
        out_shape = tuple(target.shape[:-1])
        t = xp.reshape(tp, (-1, n_cls))
    else:
        out_shape = tuple(target.shape)
        # Class indices of any integer dtype (uint8 included) in the namespace's indexing
        # dtype: int64 for torch's gather and index_add_, int32 on JAX without x64.
        t = xp.astype(xp.reshape(target, (-1,)), index_dtype(xp))
    x = xp.reshape(x, (-1, dim))
    if direct:
        z = matmul_into(None, x, xp.matrix_transpose(w), add=b, xp=xp)
        result = cross_entropy(
            z,
            t,
            weight=cw,
            ignore_index=-100 if probs else ignore_index,
            reduction=reduction,
            label_smoothing=eps,
            xp=None if given_xp is None else xp,
        )
        if reduction == "none":
            result = xp.reshape(result, out_shape)
        return finish(result, out_dtype, xp)
    chunk = chunk_size or max(_MIN_CHUNK_ROWS, _CHUNK_ELEMENTS // max(n_cls, 1))
    # Probabilities are differentiable, as in torch's reference path (soft targets that are
    # themselves learned). Their gradient is as large as they are, so it is computed only for
    # a target that may be differentiated: on torch one that requires grad; on JAX a traced
    # one (an eager jax.grad traces only the arrays it differentiates; under jax.jit every
    # array is traced, and XLA drops the target's gradient when it is unused).
    grad_target = probs and may_be_differentiated(t, xp)
    key = (
        _NAME, b is not None, cw is not None, ignore_index, eps, zl, cap, chunk, reduction, probs,
        grad_target,
    )
    forward, backward, primal = _make_kernel(
        has_bias=b is not None,
        has_weight=cw is not None,
        ignore_index=ignore_index,
        label_smoothing=eps,
        z_loss=zl,
        softcap=cap,
        chunk=chunk,
        reduction=reduction,
        probs=probs,
        grad_target=grad_target,
        xp=xp,
    )
    diff = (x, w) + ((b,) if b is not None else ()) + ((t,) if grad_target else ())
    nondiff = (() if grad_target else (t,)) + ((cw,) if cw is not None else ())
    apply = custom_gradient(
        forward,
        backward,
        xp=xp,
        n_diff=len(diff),
        n_out=1 if reduction != "none" else 2,
        key=key,
        primal=primal,
        handoff=primal is not None,
    )
    if reduction == "none":
        loss, _ = apply(diff, nondiff)
        result = xp.reshape(loss, out_shape)
    else:
        (result,) = apply(diff, nondiff)
    return finish(result, out_dtype, xp)
