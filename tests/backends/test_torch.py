"""``_backends/torch.py`` and ``_torch_autograd.py``: the in-place primitives, the block kernels
of msle's and log cosh's elements with their hand-written gradients, against float64."""

from __future__ import annotations

import numpy as np
import pytest

import arrayloss
from arrayloss._lib import _primitives as P
from tests._harness import rng_for
from tests.backends._helpers import _LOG_COSH_EDGES, _LOG_COSH_SMOOTH, _log_cosh_reference, _sech2


def test_owned_primitives_keep_arrays_they_may_not_overwrite():
    """torch: a tensor with autograd history, or one whose shape or dtype the result does
    not have, is not overwritten (the out-of-place result is returned)."""
    torch = pytest.importorskip("torch")
    import array_api_compat.torch as xt

    leaf = torch.ones(2, 3, requires_grad=True)
    out = P.scale_owned(leaf, torch.tensor(2.0), xp=xt)
    assert out.data_ptr() != leaf.data_ptr() and torch.equal(leaf.detach(), torch.ones(2, 3))
    out.sum().backward()
    assert torch.equal(leaf.grad, torch.full((2, 3), 2.0))
    row = torch.zeros(1, 3)
    grown = P.exp_shifted_owned(row, torch.zeros(2, 1), xp=xt)  # broadcasts to (2, 3)
    assert grown.shape == (2, 3) and torch.equal(row, torch.zeros(1, 3))
    f32 = torch.ones(3)
    wider = P.scale_owned(f32, torch.full((3,), 2.0, dtype=torch.float64), xp=xt)
    assert wider.dtype == torch.float64 and torch.equal(f32, torch.ones(3))
    owned = torch.zeros(2, 3)
    assert P.exp_shifted_owned(owned, torch.zeros(2, 1), xp=xt).data_ptr() == owned.data_ptr()


@pytest.mark.needs("torch")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_torch_squared_log1p_diff_blocks_accuracy_and_gradients(dtype, monkeypatch):
    """Eager torch runs msle's elements as one log1p, block by block, with the gradient
    written in the forward pass: close pairs at every scale across a block boundary keep
    their relative accuracy (float32: 2e-6), a strided input, the gradient with pairs on
    both sides of the floor and exactly at it (a clamp's: full), the second derivative
    under create_graph, and a target that requires grad (both gradients), against the
    float64 formula. (The size thresholds set to 0, so that small arrays take the blocks.)"""
    import torch

    from arrayloss._backends import _torch_autograd

    monkeypatch.setattr(_torch_autograd, "MSLE_MIN_GRAD", 0)
    monkeypatch.setattr(_torch_autograd, "MSLE_MIN_VALUE", 0)

    dt = getattr(torch, dtype)
    rng = rng_for("squared_log1p_diff_torch")
    scale = np.repeat([1e-6, 1e-3, 1.0, 1e3, 1e20], 110_000)  # 550k: three blocks
    a = rng.uniform(0.5, 1.0, scale.size) * scale
    b = np.abs(a * (1 + rng.choice([1e-6, 1e-4, 1e-1], a.size) * rng.standard_normal(a.size)))
    a, b = a.astype(dtype), b.astype(dtype)
    floor = 1e-7
    fl = float(np.asarray(floor, dtype))

    def want(u, v):  # long double, and log1p(a) - log1p(b) = log1p((a - b) / (1 + b))
        u = np.maximum(u.astype(np.longdouble), fl)  # exactly: no cancellation
        v = np.maximum(v.astype(np.longdouble), fl)
        d = np.log1p((u - v) / (1 + v))
        return (d * d).astype(np.float64)

    rtol = 2e-6 if dtype == "float32" else 1e-10
    for u, v in ((a, b), (a[::3], b[::3])):
        got = P.squared_log1p_diff(torch.from_numpy(u), torch.from_numpy(v), floor=floor,
                                   xp=torch)
        np.testing.assert_allclose(got.double().numpy(), want(u, v), rtol=rtol, atol=0)
    x = np.array([1e-9, 0.0, fl, 0.3, 2.0, 7.5, 1.0, -2.0], dtype)
    y = np.array([0.5, 1e-9, 0.4, 0.3001, 1.0, 1e-9, 1e-9, 3.0], dtype)
    x64, y64 = x.astype(np.longdouble), y.astype(np.longdouble)
    cx, cy = np.maximum(x64, fl), np.maximum(y64, fl)
    dd = np.log1p((cx - cy) / (1 + cy))
    want_x = np.where(x64 >= fl, 2 * dd / (1 + cx), 0)
    want_xx = np.where(x64 >= fl, 2 * (1 - dd) / (1 + cx) ** 2, 0)
    want_y = np.where(y64 >= fl, -2 * dd / (1 + cy), 0)
    want_x, want_xx, want_y = (w.astype(np.float64) for w in (want_x, want_xx, want_y))
    tx = torch.tensor(x, requires_grad=True)
    ty = torch.tensor(y, dtype=dt)
    out = P.squared_log1p_diff(tx, ty, floor=floor, xp=torch)
    assert type(out.grad_fn).__name__ == "SquaredLog1pDiffBackward"  # the block kernel
    (gx,) = torch.autograd.grad(out.sum(), tx)
    grtol = 2e-5 if dtype == "float32" else 1e-13
    np.testing.assert_allclose(gx.double().numpy(), want_x, rtol=grtol, atol=1e-12)
    (gx,) = torch.autograd.grad(P.squared_log1p_diff(tx, ty, floor=floor, xp=torch).sum(), tx,
                                create_graph=True)
    (hx,) = torch.autograd.grad(gx.sum(), tx)
    np.testing.assert_allclose(gx.detach().double().numpy(), want_x, rtol=grtol, atol=1e-12)
    np.testing.assert_allclose(hx.double().numpy(), want_xx, rtol=grtol, atol=1e-12)
    ty.requires_grad_(True)
    gx, gy = torch.autograd.grad(P.squared_log1p_diff(tx, ty, floor=floor, xp=torch).sum(),
                                 (tx, ty))
    np.testing.assert_allclose(gx.double().numpy(), want_x, rtol=grtol, atol=1e-12)
    np.testing.assert_allclose(gy.double().numpy(), want_y, rtol=grtol, atol=1e-12)
    # the generic formula (small arrays) has the same gradient, at the floor too (a clip);
    # its two log1p cancel at the close pair (index 3), so that one is looser there
    monkeypatch.setattr(_torch_autograd, "MSLE_MIN_GRAD", 1 << 40)
    out = P.squared_log1p_diff(tx, ty, floor=floor, xp=torch)
    assert type(out.grad_fn).__name__ != "SquaredLog1pDiffBackward"
    gx, gy = torch.autograd.grad(out.sum(), (tx, ty))
    loose = 2e-3 if dtype == "float32" else 1e-11
    for got, w in ((gx, want_x), (gy, want_y)):
        np.testing.assert_allclose(got.double().numpy(), w, rtol=loose, atol=1e-12)
        np.testing.assert_allclose(np.delete(got.double().numpy(), 3), np.delete(w, 3),
                                   rtol=grtol, atol=1e-12)


@pytest.mark.needs("torch")
# torch's forward mode scripts its decompositions on first use (torch 2.13): not ours
@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
def test_torch_log_cosh_second_derivative():
    """Eager create_graph, torch.func.hessian (forward over reverse) and jacrev twice:
    the second derivative of log cosh is sech^2 (float64 NumPy), at 0 too."""
    import torch

    d = torch.tensor(_LOG_COSH_SMOOTH, dtype=torch.float64)
    zero = torch.zeros_like(d)

    def f(x):
        return arrayloss.log_cosh_loss(x, zero, reduction="sum")

    want = _sech2(_LOG_COSH_SMOOTH)
    x = d.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(f(x), x, create_graph=True)
    (h,) = torch.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(g.detach().numpy(), np.tanh(_LOG_COSH_SMOOTH), rtol=1e-14)
    for hess in (h, torch.func.hessian(f)(d).diagonal(),
                 torch.func.jacrev(torch.func.jacrev(f))(d).diagonal()):
        # 1 - tanh^2 is 0 once tanh rounds to 1: absolute error 1e-34 where sech^2 is tiny
        np.testing.assert_allclose(hess.numpy(), want, rtol=1e-13, atol=1e-16)
    _, t = torch.func.jvp(f, (d,), (torch.ones_like(d),))
    np.testing.assert_allclose(float(t), np.tanh(_LOG_COSH_SMOOTH).sum(), rtol=1e-14)


@pytest.mark.needs("torch")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_torch_log_cosh_value_and_tanh_gradient(dtype):
    """Eager torch's log_cosh writes tanh(d) in its forward from its own sinh
    (torch's CPU tanh is slow): value and gradient against float64 NumPy at the edges (0,
    -0, tiny, the clip at 40, inf, NaN) and across the 2^18-element block boundary."""
    import torch

    rng = np.random.default_rng(0)
    d = np.concatenate([_LOG_COSH_EDGES, rng.normal(scale=5.0, size=(1 << 18) + 7)])
    dt = getattr(torch, dtype)
    x = torch.tensor(d, dtype=dt, requires_grad=True)
    y = torch.zeros(d.shape, dtype=dt)
    loss = arrayloss.log_cosh_loss(x, y, reduction="none")
    (g,) = torch.autograd.grad(loss.sum(), x)
    want = _log_cosh_reference(d, dtype)
    rtol = 1e-6 if dtype == "float32" else 1e-13
    np.testing.assert_allclose(loss.detach().double().numpy(), want, rtol=rtol, atol=1e-300)
    np.testing.assert_allclose(g.double().numpy(), np.tanh(d), rtol=rtol, atol=0)
