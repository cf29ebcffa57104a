"""Embedding losses beyond the generic registry tests: gradients at coincident, zero and
large embeddings against torch, info_nce_loss against optax.losses.ntxent (value and
gradient, under jax.jit), the documented differences from optax, custom distance callables
with swap on torch and jax, and the _lib distance primitive itself."""

from __future__ import annotations

import numpy as np
import pytest

import arrayloss as al
from arrayloss._lib._distance import cosine_similarity, pairwise_distance
from tests._harness import rng_for

torch = pytest.importorskip("torch")
F = torch.nn.functional


def _t(x):
    return torch.tensor(x, dtype=torch.float64, requires_grad=True)


# -- the distance primitive ------------------------------------------------------------------


@pytest.mark.parametrize("p", [0.5, 1.0, 2.0, 3.0, float("inf")])
@pytest.mark.parametrize("eps", [1e-6, 0.0])
def test_pairwise_distance_matches_torch_at_coincident_inputs(p, eps):
    """Value equals torch.pairwise_distance; the gradient at x1 == x2 is finite and equals
    torch's (0 where the difference is exactly 0, torch's norm backward)."""
    rng = rng_for("pairwise", p, eps)
    x = rng.standard_normal((4, 3))
    x2 = x.copy()
    x2[1] += rng.standard_normal(3)  # one pair apart, the others coincide
    a, b = _t(x), _t(x2)
    ref = F.pairwise_distance(a, b, p=p, eps=eps)
    ref.sum().backward()
    ta, tb = _t(x), _t(x2)
    got = pairwise_distance(ta, tb, p=p, eps=eps, xp=al._lib._compat.array_namespace(ta))
    got.sum().backward()
    np.testing.assert_allclose(got.detach().numpy(), ref.detach().numpy(), rtol=1e-12)
    assert np.isfinite(ta.grad.numpy()).all()
    np.testing.assert_allclose(ta.grad.numpy(), a.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(tb.grad.numpy(), b.grad.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.needs("jax")
def test_pairwise_distance_jax_grad_at_coincident_inputs():
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    x = jnp.asarray(rng_for("pd-jax").standard_normal((3, 4)))
    for eps in (1e-6, 0.0):
        g = jax.grad(lambda a, eps=eps: jnp.sum(pairwise_distance(a, x, eps=eps, xp=jnp)))(x)
        assert np.isfinite(np.asarray(g)).all()
        if eps == 0.0:
            np.testing.assert_array_equal(np.asarray(g), 0.0)


def test_cosine_similarity_matches_torch_with_zero_vectors():
    rng = rng_for("cos")
    x = rng.standard_normal((4, 5))
    y = rng.standard_normal((4, 5))
    x[0] = 0.0
    y[2] = 0.0
    a, b = _t(x), _t(y)
    ref = F.cosine_similarity(a, b, dim=-1, eps=1e-8)
    ref.sum().backward()
    ta, tb = _t(x), _t(y)
    got = cosine_similarity(ta, tb, eps=1e-8, xp=al._lib._compat.array_namespace(ta))
    got.sum().backward()
    np.testing.assert_allclose(got.detach().numpy(), ref.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(ta.grad.numpy(), a.grad.numpy(), rtol=1e-9)
    np.testing.assert_allclose(tb.grad.numpy(), b.grad.numpy(), rtol=1e-9)


# -- losses at coincident, zero and large embeddings -----------------------------------------

_EDGE = ["identical", "zeros", "large"]


def _edge_pair(kind, rng):
    x = rng.standard_normal((4, 3))
    if kind == "identical":
        return x, x.copy(), rng.standard_normal((4, 3))
    if kind == "zeros":
        return np.zeros((4, 3)), np.zeros((4, 3)), np.zeros((4, 3))
    return 1e6 * x, 1e6 * rng.standard_normal((4, 3)), 1e6 * rng.standard_normal((4, 3))


@pytest.mark.parametrize("kind", _EDGE)
@pytest.mark.parametrize("swap", [False, True])
def test_triplet_gradients_at_edges_match_torch(kind, swap):
    a, p, n = _edge_pair(kind, rng_for("triplet-edge", kind, swap))
    ref_in = [_t(v) for v in (a, p, n)]
    F.triplet_margin_loss(*ref_in, swap=swap).backward()
    got_in = [_t(v) for v in (a, p, n)]
    out = al.triplet_margin_loss(*got_in, swap=swap)
    out.backward()
    assert torch.isfinite(out)
    for g, r in zip(got_in, ref_in):
        assert np.isfinite(g.grad.numpy()).all()
        np.testing.assert_allclose(g.grad.numpy(), r.grad.numpy(), rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("kind", _EDGE)
def test_cosine_embedding_gradients_at_edges_match_torch(kind):
    rng = rng_for("cos-edge", kind)
    a, b, _ = _edge_pair(kind, rng)
    y = np.array([1.0, -1.0, 1.0, -1.0])
    ref_in = [_t(a), _t(b)]
    F.cosine_embedding_loss(*ref_in, torch.tensor(y), margin=-0.5).backward()
    got_in = [_t(a), _t(b)]
    al.cosine_embedding_loss(*got_in, torch.tensor(y), margin=-0.5).backward()
    for g, r in zip(got_in, ref_in):
        assert np.isfinite(g.grad.numpy()).all()
        np.testing.assert_allclose(g.grad.numpy(), r.grad.numpy(), rtol=1e-8, atol=1e-15)


@pytest.mark.needs("jax")
@pytest.mark.parametrize("kind", _EDGE)
def test_contrastive_and_info_nce_finite_gradients_at_edges_jax(kind):
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    a, b, _ = _edge_pair(kind, rng_for("cl-edge", kind))
    a, b = jnp.asarray(a), jnp.asarray(b)
    y = jnp.asarray([1.0, 0.0, 1.0, 0.0])
    for f in (lambda u, v: al.contrastive_loss(u, v, y), lambda u, v: al.info_nce_loss(u, v)):
        val, grads = jax.jit(jax.value_and_grad(f, argnums=(0, 1)))(a, b)
        assert np.isfinite(float(val))
        assert all(np.isfinite(np.asarray(g)).all() for g in grads)


def test_contrastive_identical_similar_pair_has_near_zero_loss_and_gradient():
    x = rng_for("cl-ident").standard_normal((3, 4))
    t = _t(x)
    out = al.contrastive_loss(t, torch.tensor(x), torch.ones(3))
    out.backward()
    # D = eps * sqrt(4) = 2e-6: loss 1/2 D^2, gradient D * dD/dx1 = eps per component.
    np.testing.assert_allclose(out.item(), 0.5 * (2e-6) ** 2, rtol=1e-9)
    np.testing.assert_allclose(t.grad.numpy(), 1e-6 / 3, rtol=1e-9)


# -- info_nce_loss vs optax.losses.ntxent -----------------------------------------------------


def _optax_ntxent(x, y, temperature):
    import jax.numpy as jnp
    import optax

    n = x.shape[0]
    labels = jnp.concatenate([jnp.arange(n), jnp.arange(n)])
    return optax.losses.ntxent(jnp.concatenate([x, y]), labels, temperature=temperature)


@pytest.mark.needs("jax")
@pytest.mark.parametrize("temperature", [0.07, 0.5, 1.0])
def test_info_nce_matches_optax_ntxent_value_and_grad_under_jit(temperature):
    jax = pytest.importorskip("jax")
    pytest.importorskip("optax")
    import jax.numpy as jnp

    rng = rng_for("ntxent", temperature)
    x = jnp.asarray(rng.standard_normal((6, 5)))
    y = x + 0.5 * jnp.asarray(rng.standard_normal((6, 5)))
    ours = jax.jit(
        jax.value_and_grad(
            lambda u, v: al.info_nce_loss(u, v, temperature=temperature), argnums=(0, 1)
        )
    )
    theirs = jax.jit(
        jax.value_and_grad(lambda u, v: _optax_ntxent(u, v, temperature), argnums=(0, 1))
    )
    (v1, g1), (v2, g2) = ours(x, y), theirs(x, y)
    np.testing.assert_allclose(float(v1), float(v2), rtol=1e-10)
    for a, b in zip(g1, g2):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-8, atol=1e-12)


@pytest.mark.needs("jax")
def test_info_nce_documented_differences_from_optax():
    """The eps clamp differs only for (near-)zero embeddings; reduction="none" is per pair
    (the mean of both directions) whereas optax always averages."""
    pytest.importorskip("optax")
    import jax.numpy as jnp

    rng = rng_for("ntxent-diff")
    x = jnp.asarray(rng.standard_normal((4, 3)))
    y = jnp.asarray(rng.standard_normal((4, 3)))
    none = al.info_nce_loss(x, y, temperature=0.5, reduction="none")
    assert none.shape == (4,)
    np.testing.assert_allclose(float(jnp.mean(none)), float(_optax_ntxent(x, y, 0.5)), rtol=1e-10)
    np.testing.assert_allclose(
        float(al.info_nce_loss(x, y, temperature=0.5, reduction="sum")),
        float(jnp.sum(none)),
        rtol=1e-12,
    )
    # A tiny (1e-10) embedding: torch's eps=1e-8 clamp gives cosine ~0 with it, optax's
    # finfo(float64).eps ~2e-16 clamp normalizes it to a unit vector: the losses differ.
    tiny = x.at[0].set(1e-10)
    ours = float(al.info_nce_loss(tiny, y, temperature=0.5))
    theirs = float(_optax_ntxent(tiny, y, 0.5))
    assert np.isfinite(ours) and np.isfinite(theirs)
    assert abs(ours - theirs) > 1e-4


# -- triplet_margin_with_distance_loss with callables ----------------------------------------


def _cosine_distance_torch(a, b):
    return 1.0 - F.cosine_similarity(a, b, dim=-1)


@pytest.mark.parametrize("swap", [False, True])
@pytest.mark.parametrize("margin", [0.2, 1.0])
def test_callable_distance_matches_torch(swap, margin):
    rng = rng_for("twd", swap, margin)
    arrs = [rng.standard_normal((6, 4)) for _ in range(3)]
    l1 = lambda a, b: torch.sum(torch.abs(a - b), dim=-1)
    for dist in (l1, _cosine_distance_torch):
        ref_in = [_t(v) for v in arrs]
        ref = F.triplet_margin_with_distance_loss(
            *ref_in, distance_function=dist, margin=margin, swap=swap, reduction="none"
        )
        ref.sum().backward()
        got_in = [_t(v) for v in arrs]
        got = al.triplet_margin_with_distance_loss(
            *got_in, distance_function=dist, margin=margin, swap=swap, reduction="none"
        )
        got.sum().backward()
        np.testing.assert_allclose(got.detach().numpy(), ref.detach().numpy(), rtol=1e-12)
        for g, r in zip(got_in, ref_in):
            np.testing.assert_allclose(g.grad.numpy(), r.grad.numpy(), rtol=1e-10)


@pytest.mark.needs("jax")
def test_callable_distance_on_jax_under_jit_equals_torch():
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    rng = rng_for("twd-jax")
    arrs = [rng.standard_normal((5, 3)) for _ in range(3)]
    sq = lambda a, b: jnp.sum((a - b) ** 2, axis=-1)
    f = jax.jit(
        lambda a, p, n: al.triplet_margin_with_distance_loss(
            a, p, n, distance_function=sq, swap=True, margin=2.0
        )
    )
    got = f(*map(jnp.asarray, arrs))
    ref = F.triplet_margin_with_distance_loss(
        *[torch.tensor(v) for v in arrs],
        distance_function=lambda a, b: ((a - b) ** 2).sum(-1),
        swap=True,
        margin=2.0,
    )
    np.testing.assert_allclose(float(got), ref.item(), rtol=1e-12)


def test_swap_uses_the_harder_negative():
    """With the negative far from the anchor but near the positive, swap raises the loss."""
    a = np.array([[0.0, 0.0]])
    p = np.array([[1.0, 0.0]])
    n = np.array([[1.5, 0.0]])
    plain = float(al.triplet_margin_loss(a, p, n, eps=0.0))  # 1 + 1 - 1.5
    swapped = float(al.triplet_margin_loss(a, p, n, eps=0.0, swap=True))  # 1 + 1 - 0.5
    assert plain == pytest.approx(0.5)
    assert swapped == pytest.approx(1.5)


# -- errors and class wrappers ---------------------------------------------------------------


@pytest.mark.needs("jax")
def test_target_checks_are_skipped_under_jit():
    """A label the eager check rejects gives NaN at its position under jax.jit (no host
    read there), never a plausible number; the valid positions keep torch's values."""
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    x = jnp.asarray([0.5, 2.0])
    y = jnp.asarray([1.0, 0.0])  # 0 is rejected eagerly
    with pytest.raises(ValueError, match="hinge_embedding_loss: `target` must hold only"):
        al.hinge_embedding_loss(x, y)
    got = jax.jit(lambda u, v: al.hinge_embedding_loss(u, v, reduction="none"))(x, y)
    ref = F.hinge_embedding_loss(torch.tensor([0.5]), torch.tensor([1.0]), reduction="none")
    np.testing.assert_allclose(np.asarray(got)[:1], ref.numpy())
    assert np.isnan(np.asarray(got)[1])
    assert np.isnan(float(jax.jit(al.hinge_embedding_loss)(x, y)))
    a, b = jnp.ones((2, 3)), jnp.asarray([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    pairs = {
        al.margin_ranking_loss: (x, x[::-1], y),
        al.cosine_embedding_loss: (a, b, y),
        al.contrastive_loss: (a, b, jnp.asarray([1.0, 2.0])),
    }
    for loss, args in pairs.items():
        got = jax.jit(lambda *arrays, f=loss: f(*arrays, reduction="none"))(*args)
        np.testing.assert_array_equal(np.isnan(np.asarray(got)), [False, True])


def test_class_wrappers():
    from arrayloss import nn

    rng = rng_for("emb-nn")
    a, p, n = (rng.standard_normal((4, 3)) for _ in range(3))
    loss = nn.TripletMarginLoss(margin=0.5, swap=True)
    ref = F.triplet_margin_loss(*(torch.tensor(v) for v in (a, p, n)), margin=0.5, swap=True)
    np.testing.assert_allclose(float(loss(a, p, n)), ref.item(), rtol=1e-12)
    x, y = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    np.testing.assert_allclose(
        float(nn.InfoNCELoss(temperature=0.3)(x, y)),
        float(al.info_nce_loss(x, y, temperature=0.3)),
        rtol=0,
    )
    assert nn.ContrastiveLoss and nn.TripletMarginWithDistanceLoss and nn.CosineEmbeddingLoss
