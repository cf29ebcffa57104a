"""ctc_loss against torch.nn.functional.ctc_loss: values, gradients w.r.t. logits, jit."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from arrayloss import testing  # noqa: E402
from arrayloss.sequence import ctc_loss  # noqa: E402


def _case(seed: int, blank: int = 0, impossible: bool = False):
    rng = np.random.default_rng(seed)
    T, N, C, S = 10, 4, 6, 4
    logits = rng.normal(size=(T, N, C))
    labels = [c for c in range(C) if c != blank]
    tg = rng.choice(labels, size=(N, S))
    tg[0, 1] = tg[0, 0]  # repeated label (needs a blank between)
    il = np.array([10, 8, 7, 10])
    tl = np.array([4, 3, 2, 0])
    if impossible:
        il[1] = 2  # 3 labels cannot fit in 2 frames
    return logits, tg, il, tl


def _torch_ref(logits, tg, il, tl, **kw):
    x = torch.tensor(logits, requires_grad=True)
    t = torch.tensor(tg)
    if kw.pop("concat", False):
        t = torch.cat([t[i, : tl[i]] for i in range(len(tl))])
    ref = torch.nn.functional.ctc_loss(
        x.log_softmax(2), t, torch.tensor(il), torch.tensor(tl), **kw
    )
    return ref, x


@pytest.mark.parametrize("generic", [False, True])
@pytest.mark.parametrize(
    "kw",
    [
        {"reduction": "none"},
        {"reduction": "mean"},
        {"reduction": "sum", "blank": 3},
        {"reduction": "none", "zero_infinity": True, "impossible": True},
        {"reduction": "none", "impossible": True},
        {"reduction": "mean", "concat": True},
    ],
)
def test_ctc_values_match_torch(backend, kw, generic):
    kw = dict(kw)
    impossible = kw.pop("impossible", False)
    concat = kw.get("concat", False)
    logits, tg, il, tl = _case(1, blank=kw.get("blank", 0), impossible=impossible)
    ref, _ = _torch_ref(logits, tg, il, tl, **dict(kw))
    kw.pop("concat", None)
    lp = torch.log_softmax(torch.tensor(logits), 2).numpy()
    targets = np.concatenate([tg[i, : tl[i]] for i in range(len(tl))]) if concat else tg
    ctx = testing.force_generic() if generic else _null()
    with ctx:
        got = ctc_loss(*(backend.asarray(a) for a in (lp, targets, il, tl)), **kw)
    np.testing.assert_allclose(backend.to_numpy(got), ref.detach().numpy(), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("zero_infinity", [False, True])
@pytest.mark.parametrize("blank", [0, 2])
def test_ctc_grad_wrt_logits_torch(zero_infinity, blank):
    logits, tg, il, tl = _case(2, blank=blank, impossible=True)
    kw = {"reduction": "none", "zero_infinity": zero_infinity, "blank": blank}
    ref, x = _torch_ref(logits, tg, il, tl, **kw)
    x2 = torch.tensor(logits, requires_grad=True)
    got = ctc_loss(x2.log_softmax(2), torch.tensor(tg), torch.tensor(il), torch.tensor(tl), **kw)
    finite = torch.isfinite(ref)
    (gr,) = torch.autograd.grad(ref[finite].sum(), x)
    (gg,) = torch.autograd.grad(got[finite].sum(), x2)
    # torch's gradient is nan for an infinite (impossible) sample; arrayloss gives 0 there
    keep = finite.numpy() if not zero_infinity else np.ones(len(tl), bool)
    np.testing.assert_allclose(gg.numpy()[:, keep], gr.numpy()[:, keep], atol=1e-10)
    if zero_infinity:
        assert float(got.detach()[1]) == 0.0
        assert np.all(gg.numpy()[:, 1] == 0.0)


@pytest.mark.needs("jax")
def test_ctc_jax_jit_and_grad():
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    logits, tg, il, tl = _case(3)
    ref, x = _torch_ref(logits, tg, il, tl, reduction="mean")
    (gr,) = torch.autograd.grad(ref, x)
    ref = ref.detach()

    def f(z, t, i, ln):
        return ctc_loss(jax.nn.log_softmax(z, axis=2), t, i, ln, reduction="mean")

    val, g = jax.jit(jax.value_and_grad(f))(jnp.asarray(logits), tg, il, tl)
    np.testing.assert_allclose(float(val), ref.item(), rtol=1e-10)
    np.testing.assert_allclose(np.asarray(g), gr.numpy(), atol=1e-10)


def test_ctc_unbatched():
    logits, tg, il, tl = _case(4)
    lp = torch.log_softmax(torch.tensor(logits[:, 0]), 1)
    ref = torch.nn.functional.ctc_loss(
        lp, torch.tensor(tg[0]), torch.tensor(il[0]), torch.tensor(tl[0]), reduction="none"
    )
    got = ctc_loss(lp.numpy(), tg[0], np.asarray(il[0]), np.asarray(tl[0]), reduction="none")
    np.testing.assert_allclose(np.asarray(got), ref.numpy(), rtol=1e-10)


def test_ctc_blank_out_of_range():
    logits, tg, il, tl = _case(5)
    with pytest.raises(ValueError, match="ctc_loss: `blank`"):
        ctc_loss(logits, tg, il, tl, blank=6)


def test_ctc_tuple_lengths_and_free_padding():
    """Lengths as tuples of ints (torch accepts them); padding beyond a target's length may
    hold anything (here 99 and -1) and is ignored, as torch ignores it."""
    logits, tg, il, tl = _case(6)
    ref, _ = _torch_ref(logits, tg, il, tl, reduction="none")
    padded = tg.copy()
    padded[1, 3], padded[2, 2:], padded[3, :] = 99, -1, 99
    lp = torch.log_softmax(torch.tensor(logits), 2)
    got = ctc_loss(
        lp,
        torch.tensor(padded),
        tuple(int(i) for i in il),
        tuple(int(i) for i in tl),
        reduction="none",
    )
    np.testing.assert_allclose(got.numpy(), ref.detach().numpy(), rtol=1e-10)
    with pytest.raises(TypeError, match="ctc_loss: `input_lengths`"):
        ctc_loss(lp, torch.tensor(tg), (10.0, 8, 7, 10), tuple(int(i) for i in tl))


@pytest.mark.needs("jax")
def test_ctc_traced_lengths_are_not_read():
    """Under jax.jit every array is traced: no value check runs (nothing to read), the
    result still equals torch."""
    jax = pytest.importorskip("jax")
    logits, tg, il, tl = _case(7)
    ref, _ = _torch_ref(logits, tg, il, tl, reduction="sum")
    lp = torch.log_softmax(torch.tensor(logits), 2).numpy()
    got = jax.jit(lambda *a: ctc_loss(*a, reduction="sum"))(lp, tg, il, tl)
    np.testing.assert_allclose(float(got), ref.item(), rtol=1e-10)


def _leaf_grad(lp, targets, il, tl, generic, **kw):
    x = torch.tensor(lp, requires_grad=True)
    with testing.force_generic(generic):
        loss = ctc_loss(x, torch.as_tensor(targets), torch.as_tensor(il), torch.as_tensor(tl),
                        **kw)
    (g,) = torch.autograd.grad(loss[torch.isfinite(loss)].sum(), x)
    return loss.detach().numpy(), g.numpy()


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("zero_infinity", [False, True])
@pytest.mark.parametrize("layout", ["padded", "concatenated"])
def test_ctc_torch_kernel_path_has_the_true_gradient(reduction, zero_infinity, layout):
    """Eager torch runs torch's CTC kernels, with the derivative with respect to the
    log-probabilities themselves (a leaf here, not a log_softmax output): it equals the
    generic formula's autodiff gradient, including frames past an input length, an
    impossible sample (zero gradient), an empty input with an empty target (loss 0, as
    torch) and int32 targets; and float64 central differences (gradcheck)."""
    rng = np.random.default_rng(11)
    T, N, C, S = 9, 5, 5, 3
    lp = rng.normal(size=(T, N, C))  # not normalised: the lp-vs-logits difference shows
    tg = rng.integers(1, C, size=(N, S)).astype(np.int32)
    il = np.array([9, 6, 2, 0, 9])
    tl = np.array([3, 2, 3, 0, 1])  # sample 2: 3 labels in 2 frames (impossible)
    tg[4, 1:] = 0  # padding with the blank
    targets = np.concatenate([tg[i, : tl[i]] for i in range(N)]) if layout != "padded" else tg
    kw = {"reduction": reduction, "zero_infinity": zero_infinity}
    if reduction != "none":
        il, tl, keep = il[[0, 1, 3, 4]], tl[[0, 1, 3, 4]], [0, 1, 3, 4]  # finite scalars
        lp = lp[:, keep]
        targets = tg[keep] if layout == "padded" else np.concatenate(
            [tg[i, : tl[k]] for k, i in enumerate(keep)])
    v_native, g_native = _leaf_grad(lp, targets, il, tl, False, **kw)
    v_generic, g_generic = _leaf_grad(lp, targets, il, tl, True, **kw)
    np.testing.assert_allclose(v_native, v_generic, rtol=1e-10)
    np.testing.assert_allclose(g_native, g_generic, atol=1e-10)
    ref = torch.nn.functional.ctc_loss(torch.tensor(lp), torch.as_tensor(targets).long(),
                                       torch.tensor(il), torch.tensor(tl), **kw)
    np.testing.assert_allclose(v_native, ref.numpy(), rtol=1e-10)
    if reduction != "none":
        args = (torch.as_tensor(targets), torch.tensor(il), torch.tensor(tl))
        assert torch.autograd.gradcheck(lambda z: ctc_loss(z, *args, **kw),
                                        (torch.tensor(lp, requires_grad=True),))


def _jax_case(layout):
    rng = np.random.default_rng(11)
    T, N, C, S = 9, 5, 5, 3
    lp = rng.normal(size=(T, N, C))  # not normalised: the lp-vs-logits difference shows
    tg = rng.integers(1, C, size=(N, S)).astype(np.int32)
    tg[0, 1] = tg[0, 0]  # a repeated label: no skip of the blank between
    il = np.array([9, 6, 2, 0, 9])
    tl = np.array([3, 2, 3, 0, 1])  # sample 2: 3 labels in 2 frames (impossible)
    tg[4, 1:] = 0  # padding with the blank
    targets = np.concatenate([tg[i, : tl[i]] for i in range(N)]) if layout != "padded" else tg
    return lp, targets, il, tl


@pytest.mark.needs("jax")
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("zero_infinity", [False, True])
@pytest.mark.parametrize("layout", ["padded", "concatenated"])
def test_ctc_jax_gradient_is_the_true_derivative(reduction, zero_infinity, layout):
    """On JAX the gradient comes from the backward (beta) recursion in a custom JVP, not
    from autodiff of the scan: under jax.jit it equals the gradient of torch's own kernel
    made the derivative w.r.t. the log-probabilities themselves (arrayloss's eager torch
    path, itself checked by gradcheck above), including frames past an input length, an
    impossible sample (0, or nan-free with zero_infinity), an empty input with an empty
    target; value and gradient match torch eagerly too."""
    jax = pytest.importorskip("jax")
    lp, targets, il, tl = _jax_case(layout)
    kw = {"reduction": reduction, "zero_infinity": zero_infinity}
    v_torch, g_torch = _leaf_grad(lp, targets, il, tl, False, **kw)
    args = tuple(jax.numpy.asarray(a) for a in (targets, il, tl))

    def f(x):
        loss = ctc_loss(x, *args, **kw)
        return loss, loss

    for fn in (jax.jit(jax.jacrev(f, has_aux=True)), jax.jacrev(f, has_aux=True)):
        jac, v = fn(lp)
        v = np.asarray(v)
        np.testing.assert_allclose(v, v_torch, rtol=1e-10)
        finite = np.isfinite(np.atleast_1d(v))
        g = np.asarray(jac)
        if reduction == "none":
            g = g[finite].sum(axis=0)
        elif not finite.all():
            continue  # an infinite scalar: torch's test sums no finite loss either
        np.testing.assert_allclose(g, g_torch, atol=1e-10)


@pytest.mark.needs("jax")
def test_ctc_jax_forward_mode_and_second_order():
    """The custom JVP is differentiable itself: forward mode (jax.jvp), reverse mode and
    second derivatives agree with float64 central differences (jax.test_util.check_grads),
    for padded and concatenated targets, with frames past an input length and an empty
    target (the impossible and empty-input samples dropped: their loss is a constant)."""
    jax = pytest.importorskip("jax")
    from jax.test_util import check_grads

    for layout in ("padded", "concatenated"):
        lp, targets, il, tl = _jax_case(layout)
        keep = [0, 1, 4]
        lp, il, tl = lp[:, keep], il[keep], tl[keep]
        if layout == "padded":
            targets = targets[keep]
        else:
            full = _jax_case("padded")[1]
            targets = np.concatenate([full[i, : _jax_case("padded")[3][i]] for i in keep])
        args = tuple(jax.numpy.asarray(a) for a in (targets, il, tl))
        f = jax.jit(lambda x, a=args: ctc_loss(x, *a, reduction="mean"))
        check_grads(f, (lp,), order=2, modes=("fwd", "rev"), atol=1e-6, rtol=1e-6)
        # the tangent is the gradient contracted with the direction
        d = np.random.default_rng(3).normal(size=lp.shape)
        _, tangent = jax.jvp(f, (lp,), (d,))
        np.testing.assert_allclose(float(tangent), float(np.sum(jax.grad(f)(lp) * d)),
                                   rtol=1e-10)


def test_ctc_torch_kernel_path_checks_labels():
    """The label checks before torch's kernel (which would read a bad index out of bounds):
    padding is ignored whatever it holds, a blank or an index >= C inside a label raises."""
    rng = np.random.default_rng(12)
    lp = torch.tensor(rng.normal(size=(6, 2, 4))).log_softmax(2)
    il, tl = torch.tensor([6, 6]), torch.tensor([2, 1])
    ok = torch.tensor([[1, 3], [2, 0]])
    for pad in (0, -7, 99):
        t = ok.clone()
        t[1, 1] = pad
        torch.testing.assert_close(ctc_loss(lp, t, il, tl), ctc_loss(lp, ok, il, tl))
    for bad, message in ((torch.tensor([[1, 0], [2, 0]]), "must not contain the blank index 0"),
                         (torch.tensor([[1, 4], [2, 0]]), r"must lie in \[0, 3\]")):
        with pytest.raises(ValueError, match=rf"^ctc_loss: `targets` .*{message}"):
            ctc_loss(lp, bad, il, tl)
    with pytest.raises(ValueError, match=r"^ctc_loss: `targets` .*must not contain the blank"):
        ctc_loss(lp, torch.tensor([1, 2, 2]), il, torch.tensor([1, 2]), blank=2)
    # the blank as the only class: only empty targets, whose padding may hold the blank
    one = torch.zeros(4, 2, 1, dtype=torch.float64)
    pad = torch.zeros(2, 2, dtype=torch.int64)
    got = ctc_loss(one, pad, torch.tensor([4, 3]), torch.tensor([0, 0]), reduction="none")
    want = torch.nn.functional.ctc_loss(one, pad, torch.tensor([4, 3]), torch.tensor([0, 0]),
                                        reduction="none")
    torch.testing.assert_close(got, want)
    with pytest.raises(ValueError, match=r"^ctc_loss: `targets` must not contain the blank"):
        ctc_loss(one, pad, torch.tensor([4, 3]), torch.tensor([1, 0]))


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def test_ctc_torch_kernel_path_is_first_order():
    """torch's CTC kernels have no second derivative: under create_graph the first gradient
    is the same, and differentiating it again raises naming the loss (torch's own F.ctc_loss
    raises too), instead of a detached gradient whose second derivative would be missing."""
    logits, tg, il, tl = _case(13)
    lp = torch.tensor(logits).log_softmax(2).detach().requires_grad_(True)
    args = (torch.tensor(tg), torch.tensor(il), torch.tensor(tl))
    (g_plain,) = torch.autograd.grad(ctc_loss(lp, *args), lp)
    (g,) = torch.autograd.grad(ctc_loss(lp, *args), lp, create_graph=True)
    torch.testing.assert_close(g.detach(), g_plain, rtol=0, atol=0)
    ref = torch.nn.functional.ctc_loss(lp, *args)
    (g_ref,) = torch.autograd.grad(ref, lp, create_graph=True)
    with pytest.raises(RuntimeError, match=r"^ctc_loss: the second derivative is not implemented"):
        torch.autograd.grad((g * g).sum(), lp)
    with pytest.raises(RuntimeError):  # torch's own kernel
        torch.autograd.grad((g_ref * g_ref).sum(), lp)


def test_ctc_unchecked_bad_values_mark_only_their_sample():
    """Where the values are not read (the generic path, ``check_values="never"``), a sample
    with an out-of-range length or label, or a blank in its target, is NaN; the others keep
    their values."""
    import arrayloss

    lp = np.log(np.random.default_rng(0).dirichlet(np.ones(5), size=(6, 3)))
    tg = np.array([[1, 2, 3], [1, 2, 2], [4, 1, 3]])
    il, tl = np.array([6, 6, 5]), np.array([3, 2, 3])
    want = ctc_loss(lp, tg, il, tl, reduction="none")
    bad_tg = tg.copy()
    bad_tg[1, 1] = 7
    blank_tg = tg.copy()
    blank_tg[1, 0] = 0
    cases = [
        (tg, np.array([6, 9, 5]), tl),
        (tg, il, np.array([3, 4, 3])),
        (tg, il, np.array([3, -1, 3])),
        (bad_tg, il, tl),
        (blank_tg, il, tl),
    ]
    with arrayloss.options(check_values="never"):
        for t, i, n in cases:
            got = ctc_loss(lp, t, i, n, reduction="none")
            assert np.isnan(got[1]), (t, i, n, got)
            np.testing.assert_array_equal(got[[0, 2]], want[[0, 2]])
        flat = ctc_loss(lp, tg.reshape(-1), il, np.array([3, 3, 4]), reduction="none")
    assert np.isnan(flat[2]) and not np.isnan(flat[:2]).any()
