"""Generative family beyond the registry's generic tests: wasserstein_distance_1d equals SciPy
to 1e-12 in float64 on random samples (ties, weights, zero weights, different sizes) on every
backend, and its gradient equals a closed form; the gradient penalty trains a WGAN-GP critic
through double backprop without NaN at a zero gradient, on torch and JAX."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import arrayloss as al

torch = pytest.importorskip("torch")


def _cases(seed: int):
    rng = np.random.default_rng(seed)
    for n, m in ((1, 1), (3, 7), (20, 20), (50, 13)):
        u, v = rng.normal(size=n), rng.normal(1.0, 2.0, size=m)
        yield u, v, None, None
        yield u, v, rng.uniform(0.1, 3.0, n), rng.uniform(0.1, 3.0, m)
        # ties inside and across the samples, and zero weights
        ut, vt = np.round(u * 2) / 2, np.round(v * 2) / 2
        wu = rng.uniform(0.0, 1.0, n)
        wu[0] = 0.0 if n > 1 else 1.0
        yield ut, vt, wu, None


def test_distance_equals_scipy_to_1e12(backend):
    for seed in range(3):
        for u, v, wu, wv in _cases(seed):
            conv = [None if a is None else backend.asarray(a) for a in (u, v, wu, wv)]
            got = al.wasserstein_distance_1d(conv[0], conv[1], u_weights=conv[2], v_weights=conv[3])
            ref = stats.wasserstein_distance(u, v, wu, wv)
            np.testing.assert_allclose(backend.to_numpy(got), ref, rtol=1e-12, atol=1e-12)


def test_distance_gradient_equals_closed_form():
    """Equal sizes, equal weights: W1 = mean |sort(u) - sort(v)|, whose gradient w.r.t. u_i
    is sign(u_i - v_(rank of u_i)) / n (values distinct, so it is differentiable)."""
    rng = np.random.default_rng(5)
    u, v = rng.normal(size=9), rng.normal(0.5, 1.0, size=9)
    ut = torch.tensor(u, requires_grad=True)
    vt = torch.tensor(v, requires_grad=True)
    (gu, gv) = torch.autograd.grad(al.wasserstein_distance_1d(ut, vt), (ut, vt))
    su, sv = np.sort(u), np.sort(v)
    sign = np.sign(su - sv) / len(u)
    ranks_u, ranks_v = np.argsort(np.argsort(u)), np.argsort(np.argsort(v))
    np.testing.assert_allclose(gu.numpy(), sign[ranks_u], rtol=1e-12)
    np.testing.assert_allclose(gv.numpy(), -sign[ranks_v], rtol=1e-12)


def test_gradient_penalty_double_backprop_torch():
    """WGAN-GP on torch: the penalty of the critic's input gradient (create_graph=True) is
    differentiated w.r.t. the critic's weights; equal to the same formula with
    torch.linalg.vector_norm, and finite when one sample's input gradient is exactly 0."""
    torch.manual_seed(0)
    w1 = torch.randn(4, 8, dtype=torch.float64, requires_grad=True)
    w2 = torch.randn(8, 1, dtype=torch.float64, requires_grad=True)
    x = torch.randn(6, 4, dtype=torch.float64, requires_grad=True)

    def input_grads():
        scores = torch.tanh(x @ w1) @ w2
        mask = torch.ones(6, 1, dtype=torch.float64)
        mask[2] = 0.0  # sample 2's score does not depend on x: its gradient is exactly 0
        (g,) = torch.autograd.grad((scores * mask).sum(), x, create_graph=True)
        return g

    g = input_grads()
    assert torch.all(g[2] == 0)
    got = al.gradient_penalty(g)
    gw_got = torch.autograd.grad(got, (w1, w2))
    g = input_grads()
    norms = torch.linalg.vector_norm(g, dim=1)
    ref = ((norms - 1) ** 2).mean()
    torch.testing.assert_close(got, ref, rtol=1e-12, atol=0)
    # torch's norm has a NaN/inf-free subgradient at 0 too; compare on the nonzero rows'
    # contribution by evaluating the reference without the zero row plus its constant term.
    ref_nz = ((norms[torch.arange(6) != 2] - 1) ** 2).sum() / 6
    gw_ref = torch.autograd.grad(ref_nz, (w1, w2))
    for a, b in zip(gw_got, gw_ref):
        assert torch.isfinite(a).all()
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.needs("jax")
def test_gradient_penalty_double_backprop_jax():
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    rng = np.random.default_rng(1)
    w1, w2 = jnp.asarray(rng.normal(size=(4, 8))), jnp.asarray(rng.normal(size=(8,)))
    x = jnp.asarray(rng.normal(size=(5, 4)))
    x = x.at[3].set(0.0)

    def score(params, xi):  # relu critic: zero input gives a zero input gradient
        a, b = params
        return jnp.maximum(xi @ a, 0.0) @ b * jnp.sum(xi**2)

    def penalty(params, fn):
        g = jax.vmap(jax.grad(score, argnums=1), in_axes=(None, 0))(params, x)
        return fn(g)

    ours = lambda g: al.gradient_penalty(g)
    ref = lambda g: jnp.mean((jnp.linalg.norm(g, axis=1) - 1.0) ** 2)
    val, grads = jax.jit(jax.value_and_grad(penalty), static_argnums=1)((w1, w2), ours)
    np.testing.assert_allclose(float(val), float(penalty((w1, w2), ref)), rtol=1e-12)
    assert all(bool(jnp.all(jnp.isfinite(g))) for g in grads)
    # jnp.linalg.norm's gradient at the zero row is NaN; the nonzero rows must agree
    keep = jnp.arange(5) != 3

    def ref_nz(params):
        g = jax.vmap(jax.grad(score, argnums=1), in_axes=(None, 0))(params, x)
        return (
            jnp.sum(
                jnp.where(
                    keep,
                    (jnp.linalg.norm(jnp.where(keep[:, None], g, 1.0), axis=1) - 1.0) ** 2,
                    0.0,
                )
            )
            / 5
        )

    ref_grads = jax.grad(ref_nz)((w1, w2))
    for a, b in zip(grads, ref_grads):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-10, atol=1e-12)


def test_critic_and_generator_losses_train_in_opposite_directions():
    """d critic_loss / d fake = +1/M and d generator_loss / d fake = -1/M (torch autograd)."""
    fake = torch.randn(5, dtype=torch.float64, requires_grad=True)
    real = torch.randn(7, dtype=torch.float64)
    (gc,) = torch.autograd.grad(al.wasserstein_critic_loss(real, fake), fake)
    (gg,) = torch.autograd.grad(al.wasserstein_generator_loss(fake), fake)
    torch.testing.assert_close(gc, torch.full((5,), 0.2, dtype=torch.float64))
    torch.testing.assert_close(gg, -gc)


def test_errors():
    with pytest.raises(ValueError, match="gradient_penalty: `gradients` must have a batch axis"):
        al.gradient_penalty(np.ones(()))
    with pytest.raises(TypeError, match="wasserstein_critic_loss"):
        al.wasserstein_critic_loss(np.ones(3), torch.ones(3))
