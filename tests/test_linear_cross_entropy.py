"""linear_cross_entropy beyond the generic registry tests.

References: ``torch.nn.functional.linear_cross_entropy`` itself (torch 2.13, both its
unchunked reference path and its chunked ``LinearCrossEntropyOptions`` path), and
``F.cross_entropy(F.linear(...))`` for the bias gradient; JAX's compiled memory analysis for
the "never materialises the logits" claim.
"""

from __future__ import annotations

import numpy as np
import pytest

import arrayloss as al

torch = pytest.importorskip("torch")
F = torch.nn.functional


def _data(n=37, d=6, v=29, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    w = rng.standard_normal((v, d)) / 2
    b = rng.standard_normal(v)
    t = rng.integers(0, v, n)
    t[rng.choice(n, n // 4, replace=False)] = -100
    cw = rng.uniform(0.2, 2.0, v)
    return x, w, b, t, cw


OPTIONS = [
    {},
    {"label_smoothing": 0.25},
    {"weight": True},
    {"weight": True, "label_smoothing": 0.1},
]


@pytest.mark.parametrize("opts", OPTIONS, ids=lambda o: "-".join(o) or "plain")
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("chunked_peer", [False, True], ids=["torch_ref", "torch_chunked"])
@pytest.mark.parametrize("chunk", [8, None], ids=["chunks_of_8", "unchunked_small"])
def test_matches_torch_linear_cross_entropy(opts, reduction, chunked_peer, chunk):
    x, w, b, t, cw = (torch.from_numpy(a) for a in _data())
    kw = {"label_smoothing": opts.get("label_smoothing", 0.0)}
    if opts.get("weight"):
        kw["weight"] = cw
    if chunked_peer and kw["label_smoothing"]:
        pytest.skip("torch's chunked path has no label_smoothing (it falls back with a warning)")
    options = torch.nn.LinearCrossEntropyOptions() if chunked_peer else None

    def grads(fn, **extra):
        args = [a.clone().requires_grad_(True) for a in (x, w, b)]
        out = fn(args[0], args[1], t, linear_bias=args[2], reduction=reduction, **kw, **extra)
        cot = torch.linspace(0.5, 1.5, out.numel(), dtype=out.dtype).reshape(out.shape)
        return out.detach(), torch.autograd.grad((out * cot).sum(), args)

    ref, ref_g = grads(F.linear_cross_entropy, options=options)
    got, got_g = grads(al.linear_cross_entropy, chunk_size=chunk)
    torch.testing.assert_close(got, ref, rtol=1e-10, atol=1e-12)
    for g, r, name in zip(got_g, ref_g, ("input", "linear_weight", "linear_bias")):
        torch.testing.assert_close(g, r, rtol=1e-9, atol=1e-11, msg=name)


@pytest.mark.parametrize("chunk", [1, 5, 37, 1000])
def test_chunk_size_does_not_change_the_result(chunk):
    x, w, b, t, cw = (torch.from_numpy(a) for a in _data())
    ref = F.cross_entropy(F.linear(x, w, b), t, weight=cw, label_smoothing=0.2, reduction="none")
    got = al.linear_cross_entropy(
        x, w, t, linear_bias=b, weight=cw, label_smoothing=0.2, reduction="none", chunk_size=chunk
    )
    torch.testing.assert_close(got, ref, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("chunk", [8, None], ids=["chunks_of_8", "unchunked_small"])
@pytest.mark.parametrize("weight", [False, True], ids=["", "weight"])
def test_unchecked_bad_labels_give_nan_exactly_there(chunk, weight):
    """Labels not read (``check_values="never"``, as under a trace or on an accelerator):
    an out-of-range label makes its own row's loss NaN (and mean and sum NaN), never a
    plausible number; ignored rows and the other rows keep their checked values."""
    x, w, b, t, cw = _data()
    kw = {"linear_bias": b, "weight": cw if weight else None, "chunk_size": chunk}
    want = np.asarray(al.linear_cross_entropy(x, w, t, reduction="none", **kw))
    bad = t.copy()
    bad[[3, 20]] = [29, -1]
    with al.options(check_values="never"):
        got = np.asarray(al.linear_cross_entropy(x, w, bad, reduction="none", **kw))
        means = [al.linear_cross_entropy(x, w, bad, reduction=r, **kw) for r in ("mean", "sum")]
    is_bad = np.zeros(len(t), dtype=bool)
    is_bad[[3, 20]] = True
    np.testing.assert_array_equal(np.isnan(got), is_bad)
    np.testing.assert_allclose(got[~is_bad], want[~is_bad], rtol=1e-12)
    assert all(np.isnan(float(m)) for m in means)


@pytest.mark.parametrize("n", [262, 263], ids=["unchunked", "default_chunks"])
def test_default_paths_either_side_of_the_small_problem_limit(n):
    # 262 x 1000 logits is under the 2**18 limit (one cross_entropy of the logits), 263 x 1000
    # over it (the chunk loop with its default chunk): both equal torch's reference.
    x, w, b, t, cw = (torch.from_numpy(a) for a in _data(n=n, d=3, v=1000))
    args = [a.clone().requires_grad_(True) for a in (x, w, b)]
    kw = {"weight": cw, "label_smoothing": 0.1}
    ref = F.linear_cross_entropy(args[0], args[1], t, linear_bias=args[2], **kw)
    ref_g = torch.autograd.grad(ref, args)
    got = al.linear_cross_entropy(args[0], args[1], t, linear_bias=args[2], **kw)
    got_g = torch.autograd.grad(got, args)
    torch.testing.assert_close(got, ref, rtol=1e-10, atol=1e-12)
    for g, r in zip(got_g, ref_g):
        torch.testing.assert_close(g, r, rtol=1e-9, atol=1e-11)


@pytest.mark.needs("jax")
def test_jax_jit_grad_matches_torch_with_bias():
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    x, w, b, t, cw = _data()
    targs = [torch.from_numpy(a).requires_grad_(True) for a in (x, w, b)]
    ref = F.cross_entropy(
        F.linear(*targs), torch.from_numpy(t), weight=torch.from_numpy(cw), label_smoothing=0.1
    )
    ref_g = torch.autograd.grad(ref, targs)

    @jax.jit
    def f(x, w, b):
        return al.linear_cross_entropy(
            x,
            w,
            jnp.asarray(t, dtype=jnp.int32),
            linear_bias=b,
            weight=jnp.asarray(cw),
            label_smoothing=0.1,
            chunk_size=8,
        )

    val, g = jax.value_and_grad(f, argnums=(0, 1, 2))(*map(jnp.asarray, (x, w, b)))
    np.testing.assert_allclose(np.asarray(val), ref.item(), rtol=1e-10)
    for a, r in zip(g, ref_g):
        np.testing.assert_allclose(np.asarray(a), r.numpy(), rtol=1e-9, atol=1e-11)


@pytest.mark.needs("jax")
def test_jax_compiled_memory_is_bounded_by_chunks():
    """XLA's own accounting: the compiled value+grad keeps far less than the (N, V) logits."""
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    n, d, v = 1024, 16, 4096
    x = jnp.zeros((n, d), jnp.float32)
    w = jnp.zeros((v, d), jnp.float32)
    t = jnp.zeros((n,), jnp.int32)

    def ours(x, w, t):
        return al.linear_cross_entropy(x, w, t, chunk_size=32)

    def naive(x, w, t):
        z = x @ w.T
        return jnp.mean(jax.nn.logsumexp(z, axis=1) - z[jnp.arange(n), t])

    def temp_bytes(fn):
        compiled = jax.jit(jax.value_and_grad(fn, argnums=(0, 1))).lower(x, w, t).compile()
        return compiled.memory_analysis().temp_size_in_bytes

    logits_bytes = n * v * 4
    assert temp_bytes(naive) >= logits_bytes  # the naive path does hold the logits
    assert temp_bytes(ours) < logits_bytes / 8


def test_z_loss_and_softcap_formula_torch():
    # Written from PaLM (z-loss: 1e-4 * log^2 Z per token) and Gemma 2 (s * tanh(z / s)).
    x, w, b, t, _ = (torch.from_numpy(a) for a in _data())
    t = t.clamp_min(0)
    z = 3.0 * torch.tanh(F.linear(x, w, b) / 3.0)
    ref = (F.cross_entropy(z, t, reduction="none") + 1e-4 * torch.logsumexp(z, 1) ** 2).mean()
    got = al.linear_cross_entropy(x, w, t, linear_bias=b, z_loss=1e-4, softcap=3.0, chunk_size=6)
    torch.testing.assert_close(got, ref, rtol=1e-10, atol=1e-12)


def test_low_precision_is_computed_in_float32():
    x, w, _, t, _ = _data()
    xb = torch.from_numpy(x).to(torch.bfloat16)
    wb = torch.from_numpy(w).to(torch.bfloat16)
    out = al.linear_cross_entropy(xb, wb, torch.from_numpy(t))
    assert out.dtype == torch.bfloat16
    ref = F.cross_entropy(F.linear(xb.double(), wb.double()), torch.from_numpy(t))
    torch.testing.assert_close(out.double(), ref, rtol=1e-2, atol=1e-2)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_value_without_gradient_matches_differentiated_call(reduction):
    """A scalar reduction computes its gradient in the forward pass of a differentiated call
    and takes a value-only path otherwise (no_grad, inputs not requiring grad): same value."""
    x, w, b, t, cw = (torch.from_numpy(a) for a in _data())
    kw = {"linear_bias": b, "weight": cw, "label_smoothing": 0.1, "reduction": reduction}
    ref = F.cross_entropy(F.linear(x, w, b), t, weight=cw, label_smoothing=0.1, reduction=reduction)
    with torch.no_grad():
        plain = al.linear_cross_entropy(x.requires_grad_(True), w, t, chunk_size=8, **kw)
    x.requires_grad_(False)
    fused = al.linear_cross_entropy(x, w.requires_grad_(True), t, chunk_size=8, **kw)
    assert fused.requires_grad and not plain.requires_grad
    torch.testing.assert_close(plain, ref, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(fused.detach(), ref, rtol=1e-10, atol=1e-12)


def test_all_targets_ignored_mean_is_nan_with_zero_gradient_like_torch():
    x, w, b, t, _ = (torch.from_numpy(a) for a in _data())
    t = torch.full_like(t, -100)
    args = [a.clone().requires_grad_(True) for a in (x, w, b)]
    ref = F.linear_cross_entropy(args[0], args[1], t, linear_bias=args[2])
    ref_g = torch.autograd.grad(ref, args)
    got = al.linear_cross_entropy(args[0], args[1], t, linear_bias=args[2], chunk_size=8)
    got_g = torch.autograd.grad(got, args)
    assert torch.isnan(ref) and torch.isnan(got)
    for g, r in zip(got_g, ref_g):
        torch.testing.assert_close(g, r)


def test_backward_twice_through_a_retained_graph():
    """The first backward pass owns (and scales in place) the gradients the forward pass
    computed; a second pass through the retained graph recomputes them."""
    x, w, b, t, cw = (torch.from_numpy(a) for a in _data())
    args = [a.clone().requires_grad_(True) for a in (x, w, b)]
    ref = F.cross_entropy(F.linear(*args), t, weight=cw, label_smoothing=0.1)
    ref_g = torch.autograd.grad(3.0 * ref, args)
    got = al.linear_cross_entropy(
        args[0], args[1], t, linear_bias=args[2], weight=cw, label_smoothing=0.1, chunk_size=8
    )
    first = torch.autograd.grad(3.0 * got, args, retain_graph=True)
    second = torch.autograd.grad(3.0 * got, args)
    for g1, g2, r in zip(first, second, ref_g):
        torch.testing.assert_close(g1, r, rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(g2, r, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_chunked_kernel_is_first_order_and_says_so(reduction):
    """The chunked kernel's hand-written gradient: under create_graph (a gradient penalty)
    the first gradients are torch's, and differentiating them again raises naming the loss,
    eagerly and under torch.func, instead of treating the forward pass's saved gradients as
    constants (a silently wrong second derivative)."""
    x, w, b, t, cw = (torch.from_numpy(a) for a in _data())
    args = [a.clone().requires_grad_(True) for a in (x, w, b)]
    ref = F.cross_entropy(F.linear(*args), t, weight=cw, reduction=reduction)
    cot = torch.linspace(0.5, 1.5, ref.numel(), dtype=ref.dtype).reshape(ref.shape)
    ref_g = torch.autograd.grad((ref * cot).sum(), args)

    def loss(x, w, b):
        return al.linear_cross_entropy(x, w, t, linear_bias=b, weight=cw, chunk_size=8,
                                       reduction=reduction)

    got = torch.autograd.grad((loss(*args) * cot).sum(), args, create_graph=True)
    for g, r in zip(got, ref_g):
        torch.testing.assert_close(g.detach(), r, rtol=1e-10, atol=1e-12)
    penalty = sum((g * g).sum() for g in got)
    message = r"^linear_cross_entropy: the second derivative is not implemented"
    with pytest.raises(RuntimeError, match=message):
        torch.autograd.grad(penalty, args, retain_graph=True)
    with pytest.raises(RuntimeError, match=message):
        penalty.backward()
    with pytest.raises(RuntimeError, match=message):
        torch.func.grad(lambda x: torch.func.grad(
            lambda x: (loss(x, w, b) * cot).sum())(x).pow(2).sum())(x)


# -- class-probability targets (torch's reference path) -------------------------------------


def _probs(n=37, v=29, seed=3):
    rng = np.random.default_rng(seed)
    q = rng.uniform(0.0, 1.0, (n, v)) ** 3
    return q / q.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("opts", OPTIONS, ids=lambda o: "-".join(o) or "plain")
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("chunk", [8, None], ids=["chunks_of_8", "unchunked_small"])
@pytest.mark.parametrize("learned", [False, True], ids=["target_data", "target_requires_grad"])
def test_probability_targets_match_torch(opts, reduction, chunk, learned):
    """A floating (N, V) target: torch's reference path (cross_entropy with probabilities:
    smoothed, class-weighted, mean over the tokens), values and gradients, the target's own
    gradient too when it requires grad (torch's reference path differentiates it)."""
    x, w, b, _, cw = (torch.from_numpy(a) for a in _data())
    q = torch.from_numpy(_probs())
    kw = {"label_smoothing": opts.get("label_smoothing", 0.0)}
    if opts.get("weight"):
        kw["weight"] = cw
    names = ("input", "linear_weight", "linear_bias") + (("target",) if learned else ())

    def grads(fn, **extra):
        args = [a.clone().requires_grad_(True) for a in (x, w, b)]
        qa = q.clone().requires_grad_(True) if learned else q
        out = fn(args[0], args[1], qa, linear_bias=args[2], reduction=reduction, **kw, **extra)
        cot = torch.linspace(0.5, 1.5, out.numel(), dtype=out.dtype).reshape(out.shape)
        wrt = [*args, qa] if learned else args
        return out.detach(), torch.autograd.grad((out * cot).sum(), wrt)

    ref, ref_g = grads(F.linear_cross_entropy)
    got, got_g = grads(al.linear_cross_entropy, chunk_size=chunk)
    assert len(got_g) == len(names)
    torch.testing.assert_close(got, ref, rtol=1e-10, atol=1e-12)
    for g, r, name in zip(got_g, ref_g, names, strict=True):
        torch.testing.assert_close(g, r, rtol=1e-9, atol=1e-11, msg=name)
    np_got = al.linear_cross_entropy(x.numpy(), w.numpy(), q.numpy(), linear_bias=b.numpy(),
                                     reduction=reduction, chunk_size=8,
                                     **{k: (v.numpy() if hasattr(v, "numpy") else v)
                                        for k, v in kw.items()})
    np.testing.assert_allclose(np_got, ref.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.needs("jax")
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_probability_targets_jax_jit_padded_chunks(reduction):
    """Under jax.jit the last chunk is padded (37 rows, chunks of 8): its padding rows must
    add nothing to the weight and bias gradients (they carry probabilities 0 and a row
    weight 0, while label smoothing alone would give them mass)."""
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    x, w, b, _, cw = _data()
    q = _probs()
    targs = [torch.from_numpy(a).requires_grad_(True) for a in (x, w, b)]
    ref = F.cross_entropy(F.linear(*targs), torch.from_numpy(q), weight=torch.from_numpy(cw),
                          label_smoothing=0.2, reduction=reduction)
    cot = np.linspace(0.5, 1.5, ref.numel()).reshape(tuple(ref.shape))
    ref_g = torch.autograd.grad((ref * torch.from_numpy(cot)).sum(), targs)

    @jax.jit
    def f(x, w, b):
        out = al.linear_cross_entropy(x, w, jnp.asarray(q), linear_bias=b,
                                      weight=jnp.asarray(cw), label_smoothing=0.2,
                                      reduction=reduction, chunk_size=8)
        return jnp.sum(out * cot)

    val, g = jax.value_and_grad(f, argnums=(0, 1, 2))(*map(jnp.asarray, (x, w, b)))
    np.testing.assert_allclose(np.asarray(val), (ref.detach().numpy() * cot).sum(), rtol=1e-10)
    for a, r in zip(g, ref_g):
        np.testing.assert_allclose(np.asarray(a), r.numpy(), rtol=1e-9, atol=1e-11)


@pytest.mark.needs("jax")
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
def test_probability_targets_gradient_jax(reduction, jit):
    """jax.grad with respect to the probabilities (and the input), chunked with a padded last
    chunk, against torch's reference path; the padding rows' gradient rows are dropped."""
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    x, w, b, _, cw = _data()
    q = _probs()
    tx, tq = (torch.from_numpy(a).requires_grad_(True) for a in (x, q))
    ref = F.cross_entropy(F.linear(tx, torch.from_numpy(w), torch.from_numpy(b)), tq,
                          weight=torch.from_numpy(cw), label_smoothing=0.2, reduction=reduction)
    cot = np.linspace(0.5, 1.5, ref.numel()).reshape(tuple(ref.shape))
    ref_g = torch.autograd.grad((ref * torch.from_numpy(cot)).sum(), (tx, tq))

    def f(x, q):
        out = al.linear_cross_entropy(x, jnp.asarray(w), q, linear_bias=jnp.asarray(b),
                                      weight=jnp.asarray(cw), label_smoothing=0.2,
                                      reduction=reduction, chunk_size=8)
        return jnp.sum(out * cot)

    fn = jax.jit(jax.grad(f, argnums=(0, 1))) if jit else jax.grad(f, argnums=(0, 1))
    got = fn(jnp.asarray(x), jnp.asarray(q))
    for a, r, name in zip(got, ref_g, ("input", "target"), strict=True):
        assert a.shape == r.shape, name
        np.testing.assert_allclose(np.asarray(a), r.numpy(), rtol=1e-9, atol=1e-11, err_msg=name)


def test_probability_target_gradient_where_the_softmax_underflows():
    """float32 logits of +-200: most probabilities underflow to 0, while the target's gradient
    -(1 - eps) log p stays finite (from the logits, not from log(p)); torch.func.grad as well
    as autograd, against torch's float64 reference path."""
    rng = np.random.default_rng(5)
    x = torch.from_numpy(rng.standard_normal((20, 4)) * 50)
    w = torch.from_numpy(rng.standard_normal((30, 4)))
    q = torch.from_numpy(_probs(20, 30))
    ref = torch.func.grad(lambda q: F.cross_entropy(x @ w.T, q, label_smoothing=0.1))(q)
    assert (torch.softmax(x @ w.T, 1).float() == 0).any()
    x32, w32, q32 = x.float(), w.float(), q.float().requires_grad_(True)
    loss = al.linear_cross_entropy(x32, w32, q32, label_smoothing=0.1, chunk_size=6)
    (got,) = torch.autograd.grad(loss, (q32,))
    assert torch.isfinite(got).all()
    torch.testing.assert_close(got.double(), ref, rtol=1e-5, atol=1e-5)
    got_func = torch.func.grad(lambda q: al.linear_cross_entropy(
        x32, w32, q, label_smoothing=0.1, chunk_size=6))(q32.detach())
    torch.testing.assert_close(got_func.double(), ref, rtol=1e-5, atol=1e-5)


def test_probability_targets_z_loss_and_softcap_formula():
    # z-loss per token (weight 1: probabilities have no per-token target weight) and soft-capped
    # logits, written with torch ops.
    x, w, b, _, _ = (torch.from_numpy(a) for a in _data())
    q = torch.from_numpy(_probs())
    args = [a.clone().requires_grad_(True) for a in (x, w, b, q)]
    z = 3.0 * torch.tanh(F.linear(*args[:3]) / 3.0)
    ref = (F.cross_entropy(z, args[3], reduction="none") + 1e-3 * torch.logsumexp(z, 1) ** 2)
    ref = ref.mean()
    ref_g = torch.autograd.grad(ref, args)
    args2 = [a.clone().requires_grad_(True) for a in (x, w, b, q)]
    got = al.linear_cross_entropy(args2[0], args2[1], args2[3], linear_bias=args2[2],
                                  z_loss=1e-3, softcap=3.0, chunk_size=6)
    got_g = torch.autograd.grad(got, args2)
    torch.testing.assert_close(got, ref, rtol=1e-10, atol=1e-12)
    for g, r in zip(got_g, ref_g):
        torch.testing.assert_close(g, r, rtol=1e-9, atol=1e-11)


def test_probability_target_errors():
    x, w, _, _, _ = (torch.from_numpy(a) for a in _data())
    q = torch.from_numpy(_probs())
    with pytest.raises(ValueError, match=r"^linear_cross_entropy: `ignore_index` must be None "
                                         r"when `target` holds class probabilities"):
        al.linear_cross_entropy(x, w, q, ignore_index=-100)
    with pytest.raises(ValueError, match=r"^linear_cross_entropy: `target` holds class "
                                         r"probabilities .* shape \(37, 29\), got \(37, 28\)"):
        al.linear_cross_entropy(x, w, q[:, :28])


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.uint8])
def test_small_problem_on_torch_kernel_checks_labels_every_call(dtype):
    # Small eager torch problems go to torch's unchunked kernel through a per-signature
    # plan; a bad label is still arrayloss's ValueError naming the loss, on every call.
    x, w, b, t, cw = (torch.from_numpy(a) for a in _data(n=12, d=3, v=7))
    t = t.clamp(min=0).to(dtype)
    ref = F.cross_entropy(F.linear(x, w, b), t.long(), weight=cw)
    for _ in range(2):
        got = al.linear_cross_entropy(x, w, t, linear_bias=b, weight=cw)
        torch.testing.assert_close(got, ref, rtol=1e-12, atol=1e-12)
    bad = t.clone()
    bad[3] = 7
    for _ in range(2):
        with pytest.raises(ValueError, match=r"linear_cross_entropy: `target`.*found 7"):
            al.linear_cross_entropy(x, w, bad, linear_bias=b, weight=cw)
