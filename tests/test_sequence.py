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


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False
