"""Classification-specific edge tests beyond the registry-driven suite.

Expected values come from torch.nn.functional (float64) or from identities of the math
(focal loss with gamma=0 is cross entropy, Poly-1 with epsilon=0 is cross entropy).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import arrayloss as al
from arrayloss.testing import force_generic

RNG = np.random.default_rng(0)


def _case(n=6, c=5):
    x = RNG.standard_normal((n, c)) * 2
    t = RNG.integers(0, c, n)
    t[::3] = -100
    w = RNG.uniform(0.1, 2.0, c)
    return x, t, w


@pytest.mark.parametrize("generic", [False, True])
@pytest.mark.parametrize("ls", [0.0, 0.05, 0.5, 1.0])
@pytest.mark.parametrize("use_weight", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_smoothing_weight_ignore_on_torch(generic, ls, use_weight, reduction):
    x, t, w = _case()
    tx, tt, tw = torch.from_numpy(x), torch.from_numpy(t), torch.from_numpy(w)
    kw = {"weight": tw if use_weight else None, "label_smoothing": ls, "reduction": reduction}
    expected = F.cross_entropy(tx, tt, **kw)
    with force_generic(generic):
        got = al.cross_entropy(tx, tt.to(torch.int32), **kw)
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)


def test_all_targets_ignored_is_nan_for_mean_like_torch():
    x = np.zeros((3, 4))
    t = np.full(3, -100)
    expected = F.cross_entropy(torch.from_numpy(x), torch.from_numpy(t))
    assert torch.isnan(expected)
    for generic in (False, True):
        # NumPy warns on the 0/0 of an all-ignored mean (the value is torch's nan)
        with force_generic(generic), np.errstate(invalid="ignore"):
            assert np.isnan(al.cross_entropy(x, t))
            assert np.isnan(al.nll_loss(x, t))
            assert al.cross_entropy(x, t, reduction="sum") == 0.0
            assert np.all(al.cross_entropy(x, t, reduction="none") == 0.0)


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16, np.int32, np.int64])
def test_any_integer_target_dtype(dtype):
    x, t, w = _case()
    t = np.where(t < 0, 0, t)
    expected = F.cross_entropy(torch.from_numpy(x), torch.from_numpy(t), weight=torch.from_numpy(w))
    for backend_x in (x, torch.from_numpy(x)):
        tt = (
            t.astype(dtype)
            if isinstance(backend_x, np.ndarray)
            else torch.from_numpy(t.astype(dtype))
        )
        ww = w if isinstance(backend_x, np.ndarray) else torch.from_numpy(w)
        got = al.cross_entropy(backend_x, tt, weight=ww)
        np.testing.assert_allclose(np.asarray(got), expected.numpy(), rtol=1e-12)


@pytest.mark.needs("array_api_strict")
def test_uint8_targets_with_default_ignore_index_on_strict():
    xps = pytest.importorskip("array_api_strict")
    x, t, _ = _case()
    t = np.where(t < 0, 1, t)
    expected = F.cross_entropy(torch.from_numpy(x), torch.from_numpy(t)).numpy()
    got = al.cross_entropy(xps.asarray(x), xps.asarray(t.astype(np.uint8)))
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-12)


def test_bce_with_logits_at_1e4_equals_torch_and_has_finite_grads():
    x = torch.tensor([1e4, -1e4, 1e4, -1e4], dtype=torch.float32)
    y = torch.tensor([0.0, 1.0, 1.0, 0.0])
    pw = torch.tensor([3.0])
    expected = F.binary_cross_entropy_with_logits(x, y, pos_weight=pw, reduction="none")
    for generic in (False, True):
        xg = x.clone().requires_grad_(True)
        with force_generic(generic):
            got = al.binary_cross_entropy_with_logits(xg, y, pos_weight=pw, reduction="none")
        torch.testing.assert_close(got, expected)
        (g,) = torch.autograd.grad(got.sum(), xg)
        assert torch.isfinite(g).all()
        torch.testing.assert_close(g, torch.tensor([1.0, -3.0, 0.0, 0.0]))


def test_bce_clamps_log_at_minus_100():
    p = np.array([0.0, 1.0, 0.0, 1.0])
    y = np.array([1.0, 0.0, 0.0, 1.0])
    expected = F.binary_cross_entropy(torch.from_numpy(p), torch.from_numpy(y), reduction="none")
    np.testing.assert_array_equal(al.binary_cross_entropy(p, y, reduction="none"), expected.numpy())


@pytest.mark.needs("jax")
def test_kl_div_zero_targets_give_zero_and_input_grads():
    import jax
    import jax.numpy as jnp

    logq = np.log(np.array([[0.5, 0.25, 0.25], [0.2, 0.3, 0.5]]))
    p = np.array([[1.0, 0.0, 0.0], [0.0, 0.5, 0.5]])
    expected = F.kl_div(torch.from_numpy(logq), torch.from_numpy(p), reduction="batchmean")
    np.testing.assert_allclose(al.kl_div(logq, p, reduction="batchmean"), expected.numpy())
    # d/d target of sum: log p + 1 - log q where p > 0; arrayloss keeps it finite (0) where
    # p == 0 (the xlogy convention), and d/d input is -p.
    for generic in (False, True):
        with force_generic(generic):
            gx, gp = jax.grad(
                lambda a, b: jnp.sum(al.kl_div(a, b, reduction="sum")), argnums=(0, 1)
            )(jnp.asarray(logq), jnp.asarray(p))
        np.testing.assert_allclose(np.asarray(gx), -p)
        # d/d target is log p + 1 - log q: -inf at p = 0 mathematically; checked where p > 0
        logp = np.log(np.where(p > 0, p, 1.0))
        np.testing.assert_allclose(np.asarray(gp)[p > 0], (logp + 1 - logq)[p > 0])
        tp = torch.from_numpy(p).requires_grad_(True)
        with force_generic(True):
            out = al.kl_div(torch.from_numpy(logq), tp, reduction="sum")
        (g,) = torch.autograd.grad(out, tp)
        np.testing.assert_allclose(g.numpy()[p > 0], (logp + 1 - logq)[p > 0])


def test_focal_gamma0_and_poly1_epsilon0_are_cross_entropy():
    x, t, w = _case()
    ce = F.cross_entropy(torch.from_numpy(x), torch.from_numpy(t), weight=torch.from_numpy(w))
    np.testing.assert_allclose(al.focal_loss(x, t, gamma=0.0, weight=w), ce.numpy(), rtol=1e-12)
    np.testing.assert_allclose(
        al.poly1_cross_entropy(x, t, epsilon=0.0, weight=w), ce.numpy(), rtol=1e-12
    )


def test_channels_last_axis_equals_moved_input():
    x = RNG.standard_normal((2, 3, 4, 5))
    t = RNG.integers(0, 5, (2, 3, 4))
    expected = F.cross_entropy(
        torch.from_numpy(np.moveaxis(x, -1, 1)), torch.from_numpy(t), label_smoothing=0.1
    )
    for generic in (False, True):
        with force_generic(generic):
            got = al.cross_entropy(
                torch.from_numpy(x), torch.from_numpy(t), axis=-1, label_smoothing=0.1
            )
        torch.testing.assert_close(got, expected)


@pytest.mark.needs("jax")
def test_cross_entropy_under_jax_jit_with_int32_targets():
    import jax
    import jax.numpy as jnp

    x, t, w = _case()
    expected = F.cross_entropy(
        torch.from_numpy(x), torch.from_numpy(t), weight=torch.from_numpy(w), label_smoothing=0.2
    )
    f = jax.jit(lambda a, b, c: al.cross_entropy(a, b, weight=c, label_smoothing=0.2))
    got = f(jnp.asarray(x), jnp.asarray(t, dtype=jnp.int32), jnp.asarray(w))
    np.testing.assert_allclose(np.asarray(got), expected.numpy(), rtol=1e-12)


def test_out_of_range_labels_raise_eagerly():
    x = np.zeros((2, 3))
    with pytest.raises(ValueError, match=r"cross_entropy: `target` .*found 3"):
        al.cross_entropy(x, np.array([0, 3]))
    with pytest.raises(ValueError, match=r"focal_loss: `target` .*found -1"):
        al.focal_loss(x, np.array([0, -1]))


@pytest.mark.needs("jax")
@pytest.mark.parametrize("loss", ["cross_entropy", "nll_loss", "focal_loss", "poly1_cross_entropy"])
@pytest.mark.parametrize(
    "kwargs",
    [{}, {"ignore_index": None}, {"ignore_index": 1}, {"weight": True}, {"label_smoothing": 0.3}],
)
def test_unchecked_bad_labels_give_nan_exactly_there_under_jit(loss, kwargs):
    """Under jax.jit the labels are not read: an out-of-range label (3 of 3 classes, -1,
    -100 when not the ignore_index) makes its own loss NaN, an ignored one none, the other
    losses and every gradient of a valid batch are those of the eager call."""
    import jax
    import jax.numpy as jnp

    if loss != "cross_entropy" and "label_smoothing" in kwargs:
        pytest.skip("label_smoothing is cross_entropy's")
    f = getattr(al, loss)
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.standard_normal((5, 3)))
    kwargs = dict(kwargs)
    if kwargs.pop("weight", False):
        kwargs["weight"] = jnp.asarray([0.2, 1.0, 3.0])
    ignore = kwargs.get("ignore_index", -100)
    t = jnp.asarray([0, 3, 2, -1 if ignore is None else -100, 1])
    jf = jax.jit(lambda x, t, r: f(x, t, reduction=r, **kwargs), static_argnums=2)
    per = np.asarray(jf(x, t, "none"))
    # -100 is out of range unless it is the ignore_index; with ignore_index=1 label 1 is kept out
    np.testing.assert_array_equal(np.isnan(per), [False, True, False, ignore != -100, False])
    assert ignore != 1 or per[4] == 0
    keep = np.array([0, 2])
    eager = np.asarray(f(x[keep], t[keep], reduction="none", **kwargs))
    np.testing.assert_allclose(per[keep], eager, rtol=1e-12)
    assert np.isnan(float(jf(x, t, "mean"))) and np.isnan(float(jf(x, t, "sum")))
    good = jnp.asarray([0, 1, 2, 2, 0])
    g_jit = jax.grad(lambda x: jf(x, good, "mean"))(x)
    g_eager = jax.grad(lambda x: f(x, good, **kwargs))(x)
    np.testing.assert_allclose(np.asarray(g_jit), np.asarray(g_eager), rtol=1e-12, atol=0)


@pytest.mark.parametrize("loss", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize(
    "bad, kwargs",
    [
        (5, {}),
        (-1, {"reduction": "none"}),
        (-100, {"ignore_index": 0}),
        (7, {"label_smoothing": 0.2, "reduction": "sum"}),
    ],
)
def test_torch_cpu_bad_labels_raise_arrayloss_error(loss, bad, kwargs):
    """On torch CPU the native kernel checks the labels (arrayloss's check runs only when it
    raises): the error is still arrayloss's ValueError, with nothing chained from torch."""
    if loss == "nll_loss":
        kwargs = {k: v for k, v in kwargs.items() if k != "label_smoothing"}
    f = getattr(al, loss)
    x = torch.randn(4, 5)
    for t in (torch.tensor([0, 1, bad, 2]), torch.tensor([[0, 1], [bad, 2]])):
        xx = x if t.ndim == 1 else torch.randn(2, 5, 2)
        with pytest.raises(ValueError, match=rf"^{loss}: `target` .*found {bad}") as info:
            f(xx, t, **kwargs)
        assert info.value.__cause__ is None and info.value.__context__ is None


@pytest.mark.parametrize("generic", [False, True])
@pytest.mark.parametrize("ignore_index", [-100, 0, 2])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_unmasked_fast_path_equals_torch(generic, ignore_index, reduction):
    """Labels seen in range skip the ignore mask unless ``ignore_index`` is a class: the
    NumPy results equal torch's with and without weights, ignore_index in or out of [0, C)."""
    rng = np.random.default_rng(11)
    x = rng.standard_normal((6, 4))
    t = np.array([0, 1, 2, 3, 2, 1])
    w = rng.random(4) + 0.5
    for weight in (None, w):
        tw = None if weight is None else torch.from_numpy(weight)
        for loss in ("cross_entropy", "nll_loss"):
            with force_generic(generic):
                got = getattr(al, loss)(
                    x, t, weight=weight, ignore_index=ignore_index, reduction=reduction
                )
            ref = getattr(F, loss)(
                torch.from_numpy(x),
                torch.from_numpy(t),
                weight=tw,
                ignore_index=ignore_index,
                reduction=reduction,
            )
            np.testing.assert_allclose(np.asarray(got), ref.numpy(), rtol=1e-12, atol=1e-15)
