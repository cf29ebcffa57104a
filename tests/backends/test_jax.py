"""``_backends/jax.py``: its kernels under ``jax.jit`` and its derivative rules (custom JVPs,
the cond's VJP, ``jax.checkpoint``) in every mode, against float64 formulas or torch."""

from __future__ import annotations

import numpy as np
import pytest

import arrayloss
from arrayloss._lib import _primitives as P
from tests._harness import rng_for
from tests.backends._helpers import _LOG_COSH_SMOOTH, _sech2


@pytest.mark.needs("jax")
def test_sum_ratio_jitted_value_and_gradient():
    """Under jax.jit the pair is one stacked reduction: value and both gradients against the
    float64 formula (d/dnum = 1/sum(den), d/dden = -sum(num)/sum(den)^2)."""
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    rng = rng_for("sum_ratio_jit")
    num, den = rng.normal(size=(5, 6)), rng.uniform(0.5, 2.0, size=(5, 6))
    f = jax.jit(jax.value_and_grad(lambda a, b: P.sum_ratio(a, b, xp=jnp), argnums=(0, 1)))
    val, (ga, gb) = f(jnp.asarray(num, jnp.float32), jnp.asarray(den, jnp.float32))
    sn, sd = num.sum(), den.sum()
    np.testing.assert_allclose(float(val), sn / sd, rtol=2e-6)
    np.testing.assert_allclose(np.asarray(ga), np.full(num.shape, 1 / sd), rtol=2e-6)
    np.testing.assert_allclose(np.asarray(gb), np.full(den.shape, -sn / sd**2), rtol=2e-5)
    # forward mode, with and without a tangent for den
    a, b = jnp.asarray(num, jnp.float32), jnp.asarray(den, jnp.float32)
    ta, tb = jnp.asarray(den, jnp.float32), jnp.asarray(num, jnp.float32)
    _, t_both = jax.jit(lambda u, v: jax.jvp(lambda p, q: P.sum_ratio(p, q, xp=jnp), (u, v),
                                              (ta, tb)))(a, b)
    _, t_num = jax.jit(lambda u: jax.jvp(lambda p: P.sum_ratio(p, b, xp=jnp), (u,), (ta,)))(a)
    np.testing.assert_allclose(float(t_num), den.sum() / sd, rtol=2e-6)
    np.testing.assert_allclose(float(t_both), (den.sum() - sn / sd * num.sum()) / sd,
                               rtol=2e-5, atol=1e-6)


@pytest.mark.needs("jax")
def test_all_zero_or_one_jitted():
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    f = jax.jit(lambda a: P.all_zero_or_one(a, xp=jnp))
    assert bool(f(jnp.asarray([0.0, 1.0]))) and not bool(f(jnp.asarray([0.0, 0.5])))


@pytest.mark.needs("jax")
def test_squared_log1p_diff_jitted_accuracy_and_gradient():
    """Under jax.jit, log1p(|a - b| / (1 + min(a, b)))^2: close pairs at every scale keep
    their relative accuracy in float32 (log1p(a) - log1p(b) cancels: over these pairs its
    error reaches 100%), and both gradients, reverse and forward mode, are the float64
    derivative 2 (log1p(a) - log1p(b)) / (1 + a), 0 below the floor."""
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    rng = rng_for("squared_log1p_diff_jit")
    scale = np.repeat([1e-6, 1e-3, 1.0, 1e3, 1e20], 200)
    a = (rng.uniform(0.5, 1.0, scale.size) * scale).astype(np.float32)
    b = (a * (1 + rng.choice([1e-6, 1e-4, 1e-1], a.size) * rng.standard_normal(a.size)))
    b = np.abs(b).astype(np.float32)
    floor = 1e-7
    f = jax.jit(lambda u, v: P.squared_log1p_diff(u, v, floor=floor, xp=jnp))
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    fl = float(np.float32(floor))
    d = np.log1p(np.maximum(a64, fl)) - np.log1p(np.maximum(b64, fl))
    np.testing.assert_allclose(np.asarray(f(a, b), np.float64), d * d, rtol=2e-6)
    # gradients, with pairs on both sides of the floor
    x = np.array([1e-9, 0.0, 0.3, 2.0, 7.5, 1.0], np.float32)
    y = np.array([0.5, 1e-9, 0.3001, 1.0, 1e-9, 1e-9], np.float32)
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    dd = np.log1p(np.maximum(x64, fl)) - np.log1p(np.maximum(y64, fl))
    want_x = np.where(x64 >= fl, 2 * dd / (1 + np.maximum(x64, fl)), 0)
    want_y = np.where(y64 >= fl, -2 * dd / (1 + np.maximum(y64, fl)), 0)
    gx, gy = jax.jit(jax.grad(lambda u, v: jnp.sum(f(u, v)), argnums=(0, 1)))(x, y)
    np.testing.assert_allclose(np.asarray(gx), want_x, rtol=2e-5, atol=1e-12)
    np.testing.assert_allclose(np.asarray(gy), want_y, rtol=2e-5, atol=1e-12)
    t = np.linspace(0.5, 2.0, x.size).astype(np.float32)
    _, jx = jax.jit(lambda u: jax.jvp(lambda p: f(p, y), (u,), (t,)))(x)
    np.testing.assert_allclose(np.asarray(jx), want_x * t, rtol=2e-5, atol=1e-12)


@pytest.mark.needs("jax")
def test_jax_log_cosh_second_derivative():
    """jax.hessian (eager and jitted) and the forward-mode tangent: sech^2 and tanh, at 0
    too, float64 and float32 (where JAX's derivative of tanh, 1 - tanh^2, cancels: 6e-6
    relative at d = 3)."""
    import jax
    import jax.numpy as jnp

    for dtype, rtol in (("float64", 1e-13), ("float32", 2e-5)):
        d = jnp.asarray(_LOG_COSH_SMOOTH, dtype=dtype)

        def f(x):
            return arrayloss.log_cosh_loss(x, jnp.zeros_like(x), reduction="sum")

        want = _sech2(_LOG_COSH_SMOOTH.astype(dtype).astype(np.float64))
        for hess in (jax.hessian(f)(d), jax.jit(jax.hessian(f))(d)):
            np.testing.assert_allclose(np.diag(np.asarray(hess, np.float64)), want,
                                       rtol=rtol, atol=1e-16 if dtype == "float64" else 1e-12)
        _, t = jax.jvp(f, (d,), (jnp.ones_like(d),))
        np.testing.assert_allclose(float(t), np.tanh(_LOG_COSH_SMOOTH).sum(), rtol=rtol)


@pytest.mark.needs("jax")
@pytest.mark.needs("torch")
@pytest.mark.parametrize("delta", [1.0, 0.5])
def test_jax_huber_elements_derivatives_match_torch(delta):
    """JAX's written-out derivative of Huber's elements against torch's huber_loss backward
    and double backward (float64), the ties at +-delta included (torch: slope +-delta there
    and second derivative 0): jax.grad eager and jitted, jax.jvp, and jax.hessian; and
    torch's weighted huber (arrayloss's elementwise path) by create_graph."""
    import jax
    import jax.numpy as jnp
    import torch

    d = np.array([-3.0, -delta, -0.25, -0.0, 0.0, 0.3, delta, 2.0, np.nextafter(delta, 0)])
    x = torch.tensor(d, dtype=torch.float64, requires_grad=True)
    out = torch.nn.functional.huber_loss(x, torch.zeros_like(x), reduction="sum", delta=delta)
    (g,) = torch.autograd.grad(out, x, create_graph=True)
    h = np.array([torch.autograd.grad(g[i], x, retain_graph=True)[0][i].item()
                  for i in range(d.size)])
    want_g = g.detach().numpy()

    def f(u):
        return jnp.sum(P.huber_elements(u, jnp.zeros_like(u), delta=delta, xp=jnp))

    u = jnp.asarray(d, dtype=jnp.float64)
    for grad in (jax.grad(f), jax.jit(jax.grad(f))):
        np.testing.assert_array_equal(np.asarray(grad(u)), want_g)
    tangent = np.linspace(0.5, 2.0, d.size)
    _, t = jax.jvp(f, (u,), (jnp.asarray(tangent),))
    np.testing.assert_allclose(float(t), float(want_g @ tangent), rtol=1e-15)
    for hess in (jax.hessian(f), jax.jit(jax.hessian(f))):
        got = np.asarray(hess(u))
        np.testing.assert_array_equal(np.diag(got), h)
        np.testing.assert_array_equal(got - np.diag(np.diag(got)), 0)
    # torch's weighted huber_loss takes arrayloss's elementwise path: the same derivatives
    w = torch.linspace(0.5, 2.0, d.size, dtype=torch.float64)
    xw = torch.tensor(d, dtype=torch.float64, requires_grad=True)
    ow = arrayloss.huber_loss(xw, torch.zeros_like(xw), weight=w, reduction="sum", delta=delta)
    (gw,) = torch.autograd.grad(ow, xw, create_graph=True)
    hw = [torch.autograd.grad(gw[i], xw, retain_graph=True)[0][i].item() for i in range(d.size)]
    np.testing.assert_array_equal(gw.detach().numpy(), want_g * w.numpy())
    np.testing.assert_array_equal(np.array(hw), h * w.numpy())
    # and through the loss, with a target: d/dt = -d/dx
    gx, gt = jax.grad(lambda a, b: arrayloss.huber_loss(a, b, delta=delta, reduction="sum"),
                      argnums=(0, 1))(u + 1.0, jnp.ones_like(u))
    np.testing.assert_allclose(np.asarray(gx), want_g, rtol=1e-15, atol=0)
    np.testing.assert_allclose(np.asarray(gt), -want_g, rtol=1e-15, atol=0)


@pytest.mark.needs("jax")
def test_jax_recomputed_keeps_every_derivative():
    """``recomputed`` (jax.checkpoint under tracing) changes where XLA computes the terms, not
    what they are: the value and gradient of mean(|y - x| / max(|y|, eps)) under jax.jit and
    jax.value_and_grad, its forward-mode derivative and Hessian (0: piecewise linear in x),
    and a vmapped gradient, against the float64 formula."""
    import jax
    import jax.numpy as jnp

    rng = rng_for("recomputed")
    x, y = rng.normal(size=(6, 5)), rng.normal(size=(6, 5))
    y[0, 0] = 0.0  # the floor's branch
    floor = 1e-3

    def terms(a, b):
        return jnp.abs(b - a) / jnp.maximum(jnp.abs(b), floor)

    def loss(a, b):
        return jnp.mean(P.recomputed(terms, a, b, xp=jnp))

    den = np.maximum(np.abs(y), floor)
    want_v = np.mean(np.abs(y - x) / den)
    want_g = np.sign(x - y) / den / x.size
    xa, ya = jnp.asarray(x), jnp.asarray(y)
    v, g = jax.jit(jax.value_and_grad(loss))(xa, ya)
    np.testing.assert_allclose(float(v), want_v, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(g), want_g, rtol=1e-12)
    t = np.ones_like(x)
    _, tangent = jax.jvp(lambda a: loss(a, ya), (xa,), (jnp.asarray(t),))
    np.testing.assert_allclose(float(tangent), np.sum(want_g * t), rtol=1e-12)
    hess = jax.hessian(lambda a: loss(a, ya))(xa)
    np.testing.assert_array_equal(np.asarray(hess), 0.0)
    rows = jax.vmap(jax.grad(loss))(xa, ya)  # one row each: the mean over its 5 terms
    np.testing.assert_allclose(np.asarray(rows), np.sign(x - y) / den / x.shape[1], rtol=1e-12)
    # eager, nothing traced: the terms themselves
    np.testing.assert_allclose(np.asarray(P.recomputed(terms, xa, ya, xp=jnp)),
                               np.abs(y - x) / den, rtol=1e-12)


@pytest.mark.needs("jax")
def test_cond_custom_vjp_matches_the_branch_gradients():
    """The JAX cond's VJP (a cond over each branch's own VJP): gradients of every floating
    operand equal those of the chosen branch differentiated directly, an integer operand
    gets none, a vector output takes its cotangent, and it vmaps (a batched predicate)."""
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    from arrayloss._lib._scan import cond

    def true_fn(a, b, k):
        return jnp.sin(a) * b + k

    def false_fn(a, b, k):
        return a * jnp.exp(b) - k

    def f(a, b, k):
        return cond(jnp.sum(a) > 0, true_fn, false_fn, a, b, k, xp=jnp)

    rng = np.random.default_rng(0)
    b = jnp.asarray(rng.standard_normal(4))
    k = jnp.arange(4)
    cot = jnp.asarray([0.5, 1.0, -2.0, 3.0])
    for a, branch in ((jnp.asarray([1.0, 2.0, -0.5, 0.3]), true_fn),
                      (jnp.asarray([-1.0, 0.2, -0.5, 0.3]), false_fn)):
        got = jax.jit(lambda a, b: jax.vjp(lambda a, b: f(a, b, k), a, b)[1](cot))(a, b)
        ref = jax.vjp(lambda a, b: branch(a, b, k), a, b)[1](cot)
        for g, r in zip(got, ref):
            np.testing.assert_allclose(np.asarray(g), np.asarray(r), rtol=1e-12)
        # eager jax.grad: a predicate of an undifferentiated operand is concrete there (a
        # host branch), one of the differentiated operand is traced (the custom VJP)
        eager = jax.grad(lambda a: jnp.sum(cond(jnp.sum(b) > 0, true_fn, false_fn, a, b, k,
                                                xp=jnp) * cot))(a)
        eager_ref = jax.grad(lambda a: jnp.sum(
            (true_fn if float(jnp.sum(b)) > 0 else false_fn)(a, b, k) * cot))(a)
        np.testing.assert_allclose(np.asarray(eager), np.asarray(eager_ref), rtol=1e-12)
        traced = jax.grad(lambda a: jnp.sum(f(a, b, k) * cot))(a)
        np.testing.assert_allclose(np.asarray(traced), np.asarray(ref[0]), rtol=1e-12)
    batch = jnp.asarray([[1.0, 2.0, -0.5, 0.3], [-1.0, 0.2, -0.5, 0.3]])
    per_row = jax.vmap(jax.grad(lambda a: jnp.sum(f(a, b, k))))(batch)
    for row, branch in zip(per_row, (true_fn, false_fn)):
        ref = jax.grad(lambda a: jnp.sum(branch(a, b, k)))(batch[0 if branch is true_fn else 1])
        np.testing.assert_allclose(np.asarray(row), np.asarray(ref), rtol=1e-12)
