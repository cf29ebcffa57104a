"""adaptive_log_softmax_loss against torch.nn.AdaptiveLogSoftmaxWithLoss with the same weights:
output and loss on every backend (both the per-cluster subset path and the masked path that
runs under tracing/laziness), gradients on torch and under jax.jit, log_prob/predict, errors."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import arrayloss  # noqa: E402
from arrayloss import adaptive_log_softmax_loss  # noqa: E402
from arrayloss import sequence as seq  # noqa: E402
from arrayloss.nn import AdaptiveLogSoftmaxWithLoss  # noqa: E402

CONFIGS = [
    # (in_features, n_classes, cutoffs, div_value, head_bias, targets)
    (16, 20, [5, 12], 2.0, True, [0, 4, 5, 11, 12, 19, 3, 13, 6]),
    (12, 10, [3], 4.0, False, [0, 1, 2, 0, 1]),  # every target in the head: tail rows empty
    (8, 30, [4, 10, 20], 2.0, False, [29, 20, 10, 4, 3, 25, 25, 11]),  # three clusters
]


def _module(cfg, seed=0):
    in_f, n_cls, cutoffs, div, bias, targets = cfg
    torch.manual_seed(seed)
    m = torch.nn.AdaptiveLogSoftmaxWithLoss(in_f, n_cls, cutoffs, div_value=div, head_bias=bias)
    m = m.double()
    x = torch.randn(len(targets), in_f, dtype=torch.float64)
    return m, x, torch.tensor(targets)


def _weights(m, conv):
    tails = [(conv(m.tail[i][0].weight), conv(m.tail[i][1].weight)) for i in range(len(m.tail))]
    bias = conv(m.head.bias) if m.head.bias is not None else None
    return conv(m.head.weight), tails, bias


def _np(t):
    return t.detach().numpy()


@pytest.mark.parametrize("masked", [False, True], ids=["subset", "masked"])
@pytest.mark.parametrize("cfg", CONFIGS, ids=["2-clusters-bias", "head-only", "3-clusters"])
def test_output_and_loss_match_torch_module(backend, cfg, masked, monkeypatch):
    m, x, t = _module(cfg)
    ref = m(x, t)
    if masked:  # the path taken under jax.jit / torch.compile / Dask
        monkeypatch.setattr(seq, "is_concrete", lambda a, xp: False)
    hw, tails, hb = _weights(m, lambda w: backend.asarray(_np(w)))
    got = adaptive_log_softmax_loss(
        backend.asarray(_np(x)),
        backend.asarray(_np(t)),
        hw,
        tails,
        head_bias=hb,
        cutoffs=cfg[2],
    )
    np.testing.assert_allclose(
        backend.to_numpy(got.output), _np(ref.output), rtol=1e-12, atol=1e-12
    )
    np.testing.assert_allclose(backend.to_numpy(got.loss), _np(ref.loss), rtol=1e-12)


@pytest.mark.parametrize("masked", [False, True], ids=["subset", "masked"])
def test_gradients_match_torch_module(masked, monkeypatch):
    cfg = CONFIGS[0]
    m, x, t = _module(cfg)
    x.requires_grad_(True)
    ref = m(x, t).loss
    params = [x, m.head.weight, m.head.bias] + [p for tl in m.tail for p in tl.parameters()]
    g_ref = torch.autograd.grad(ref, params)
    if masked:
        monkeypatch.setattr(seq, "is_concrete", lambda a, xp: False)
    hw, tails, hb = _weights(m, lambda w: w.detach().clone().requires_grad_(True))
    x2 = x.detach().clone().requires_grad_(True)
    got = adaptive_log_softmax_loss(x2, t, hw, tails, head_bias=hb).loss
    g_got = torch.autograd.grad(got, [x2, hw, hb] + [w for pair in tails for w in pair])
    for a, b in zip(g_got, g_ref):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.needs("jax")
def test_jax_jit_value_and_grad_match_torch():
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    cfg = CONFIGS[2]
    m, x, t = _module(cfg, seed=1)
    x.requires_grad_(True)
    ref = m(x, t).loss
    g_x, g_h = torch.autograd.grad(ref, [x, m.head.weight])
    hw, tails, _ = _weights(m, lambda w: jnp.asarray(_np(w)))

    def f(x, hw, t):
        return adaptive_log_softmax_loss(x, t, hw, tails).loss

    val, (gx, gh) = jax.jit(jax.value_and_grad(f, argnums=(0, 1)))(
        jnp.asarray(_np(x)), hw, jnp.asarray(_np(t))
    )
    np.testing.assert_allclose(float(val), ref.item(), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(gx), _np(g_x), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np.asarray(gh), _np(g_h), rtol=1e-10, atol=1e-12)


def test_log_prob_predict_and_unbatched_match_torch(backend):
    cfg = CONFIGS[0]
    m, x, t = _module(cfg, seed=2)
    hw, tails, hb = _weights(m, lambda w: backend.asarray(_np(w)))
    mod = AdaptiveLogSoftmaxWithLoss(hw, tails, head_bias=hb, cutoffs=cfg[2])
    assert (mod.n_classes, mod.in_features, mod.cutoffs) == (20, 16, [5, 12])
    xb = backend.asarray(_np(x))
    np.testing.assert_allclose(
        backend.to_numpy(mod.log_prob(xb)), _np(m.log_prob(x)), rtol=1e-12, atol=1e-12
    )
    np.testing.assert_array_equal(backend.to_numpy(mod.predict(xb)), _np(m.predict(x)))
    one = mod(backend.asarray(_np(x[0])), backend.asarray(_np(t[0])))
    ref = m(x[0], t[0])
    assert tuple(one.output.shape) == tuple(ref.output.shape) == ()
    np.testing.assert_allclose(backend.to_numpy(one.output), _np(ref.output), rtol=1e-12)
    np.testing.assert_allclose(backend.to_numpy(one.loss), _np(ref.loss), rtol=1e-12)


def test_float32_inputs_keep_their_dtype(backend):
    m, x, t = _module(CONFIGS[0])
    m = m.float()
    hw, tails, hb = _weights(m, lambda w: backend.asarray(_np(w)))
    got = adaptive_log_softmax_loss(
        backend.asarray(_np(x.float())), backend.asarray(_np(t)), hw, tails, head_bias=hb
    )
    assert str(got.loss.dtype).endswith("float32")
    assert str(got.output.dtype).endswith("float32")
    ref = m(x.float(), t)
    np.testing.assert_allclose(backend.to_numpy(got.output), _np(ref.output), rtol=2e-5, atol=2e-5)


def test_errors_name_the_argument():
    m, x, t = _module(CONFIGS[0])
    hw, tails, _ = _weights(m, _np)
    xn, tn = _np(x), _np(t)
    f = adaptive_log_softmax_loss
    with pytest.raises(ValueError, match=r"adaptive_log_softmax_loss: `target`.*\[0, 19\]"):
        f(xn, np.where(tn == 19, 20, tn), hw, tails)
    with pytest.raises(ValueError, match=r"adaptive_log_softmax_loss: `target`"):
        f(xn, -tn - 1, hw, tails)
    with pytest.raises(TypeError, match=r"adaptive_log_softmax_loss: `target`.*integer"):
        f(xn, tn.astype(np.float64), hw, tails)
    with pytest.raises(ValueError, match=r"adaptive_log_softmax_loss: `target` must have shape"):
        f(xn, tn[:-1], hw, tails)
    with pytest.raises(ValueError, match=r"adaptive_log_softmax_loss: `input`"):
        f(xn[:, :-1], tn, hw, tails)
    with pytest.raises(ValueError, match=r"adaptive_log_softmax_loss: `cutoffs`"):
        f(xn, tn, hw, tails, cutoffs=[5, 13])
    with pytest.raises(ValueError, match=r"adaptive_log_softmax_loss: `tail_weights\[1\]`"):
        f(xn, tn, hw, [tails[0], (tails[1][0], tails[1][1][:, :-1])])
    with pytest.raises(TypeError, match=r"adaptive_log_softmax_loss: `tail_weights`"):
        f(xn, tn, hw, [])
    with pytest.raises(TypeError, match=r"adaptive_log_softmax_loss: `input`"):
        f(xn.astype(np.int64), tn, hw, tails)
    with pytest.raises(TypeError, match=r"adaptive_log_softmax_loss"):
        f(x.detach(), tn, hw, tails)  # torch input, NumPy weights: mixed frameworks
    assert arrayloss.adaptive_log_softmax_loss is f
