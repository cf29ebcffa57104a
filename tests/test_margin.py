"""Margin losses beyond the generic registry tests: the Keras 3 functions and classes
themselves (float32, on Keras's torch backend), torch's 0-d edge cases, and the
``-1``-terminated targets of ``multilabel_margin_loss`` read on the device under ``jax.jit``.
"""

from __future__ import annotations

import numpy as np
import pytest

import arrayloss as al
from tests._harness import rng_for

# -- Keras 3 peers ---------------------------------------------------------------------------

_KERAS = [
    # (arrayloss function, keras function, keras class, label kind)
    ("hinge_loss", "hinge", "Hinge", "signs"),
    ("hinge_loss", "hinge", "Hinge", "bits"),
    ("hinge_loss", "hinge", "Hinge", "ternary"),
    ("squared_hinge_loss", "squared_hinge", "SquaredHinge", "signs"),
    ("squared_hinge_loss", "squared_hinge", "SquaredHinge", "bits"),
    ("categorical_hinge_loss", "categorical_hinge", "CategoricalHinge", "one_hot"),
    ("categorical_hinge_loss", "categorical_hinge", "CategoricalHinge", "signed_one_hot"),
]


def _labels(rng: np.random.Generator, kind: str, shape: tuple[int, ...]) -> np.ndarray:
    if kind == "signs":
        return rng.choice([-1.0, 1.0], shape)
    if kind == "bits":
        return rng.integers(0, 2, shape).astype(np.float64)
    if kind == "ternary":
        return rng.choice([-1.0, 0.0, 1.0], shape)
    one_hot = np.eye(shape[-1])[rng.integers(0, shape[-1], shape[:-1])]
    return one_hot if kind == "one_hot" else 2 * one_hot - 1


@pytest.mark.parametrize(("name", "kfunc", "kcls", "kind"), _KERAS,
                         ids=[f"{k[0]}-{k[3]}" for k in _KERAS])
def test_keras_functions_and_classes(name, kfunc, kcls, kind):
    """Keras 3 (torch backend, float32): the class equals reduction="mean" (and "sum" for
    the per-sample losses); the function equals the per-sample values."""
    keras = pytest.importorskip("keras")
    rng = rng_for("keras-margin", name, kind)
    x = rng.standard_normal((6, 5)).astype(np.float32) * 1.5
    y = _labels(rng, kind, (6, 5)).astype(np.float32)
    func = getattr(al, name)
    k = lambda v: keras.ops.convert_to_numpy(v).astype(np.float64)

    per_sample = k(getattr(keras.losses, kfunc)(y, x))
    none = func(x, y, reduction="none")
    ours = none if name == "categorical_hinge_loss" else none.mean(axis=-1)
    np.testing.assert_allclose(ours, per_sample, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(func(x, y), k(getattr(keras.losses, kcls)()(y, x)),
                               rtol=1e-6, atol=1e-6)
    if name == "categorical_hinge_loss":
        np.testing.assert_allclose(func(x, y, reduction="sum"),
                                   k(keras.losses.CategoricalHinge(reduction="sum")(y, x)),
                                   rtol=1e-6, atol=1e-6)


def test_hinge_binary_conversion_is_global():
    """Keras converts {0, 1} labels only when *every* label is 0 or 1: one -1 among them
    keeps the zeros as zeros (loss max(0, 1) = 1 for them)."""
    x = np.array([0.5, 0.5, 0.5])
    # all binary: labels -> [1, -1, 1]
    np.testing.assert_allclose(al.hinge_loss(x, np.array([1.0, 0.0, 1.0]), reduction="none"),
                               [0.5, 1.5, 0.5])
    # not binary: used as given, the 0 label gives max(0, 1 - 0) = 1
    np.testing.assert_allclose(al.hinge_loss(x, np.array([1.0, 0.0, -1.0]), reduction="none"),
                               [0.5, 1.0, 1.5])


@pytest.mark.parametrize("labels", [
    [1.0, 0.0, 1.0, 0.0],
    [1.0, 0.0, 1e-30, 0.0],  # a tiny label is not 0 (its t(t - 1) does not underflow)
    [1.0, 0.0, 1.0 - 2.0**-52, 0.0],
    [1.0, -0.0, 1.0, 0.0],  # -0 is 0, as in Keras's t == 0
    [2.0, 0.0, 1.0, 0.0],
])
@pytest.mark.parametrize("squared", [False, True])
def test_hinge_binary_test_edges_eager_and_jitted(labels, squared):
    """Keras's rule, written out in float64: every label 0 or 1 -> 2t - 1, else t as given;
    eager NumPy, and under jax.jit(value_and_grad) (the cond's custom VJP) against the same
    formula's gradient."""
    y = np.array(labels)
    x = np.array([0.3, -0.4, 2.0, 0.9])
    yy = 2 * y - 1 if np.all((y == 0) | (y == 1)) else y
    m = np.maximum(0.0, 1 - yy * x)
    want = np.mean(m * m if squared else m)
    dm = np.where(1 - yy * x > 0, -yy, 0.0) * (2 * m if squared else 1.0)
    func = al.squared_hinge_loss if squared else al.hinge_loss
    np.testing.assert_allclose(func(x, y), want, rtol=1e-14)
    jax = pytest.importorskip("jax")  # the test session enables float64 (conftest)
    import jax.numpy as jnp

    val, grad = jax.jit(jax.value_and_grad(func))(jnp.asarray(x), jnp.asarray(y))
    np.testing.assert_allclose(float(val), want, rtol=1e-14)
    np.testing.assert_allclose(np.asarray(grad), dm / x.size, rtol=1e-14)


@pytest.mark.parametrize("squared", [False, True])
def test_hinge_labels_named_skip_the_test(backend, squared):
    """``labels="signed"`` uses {0, 1} labels as given (optax's hinge_loss), ``"binary"``
    maps any labels to 2t - 1, ``"auto"`` decides from the values (Keras): each against
    the float64 formula, on every backend; the gradient of "signed" too."""
    x = np.array([0.3, -0.4, 2.0, 0.9, -1.5])
    func = al.squared_hinge_loss if squared else al.hinge_loss
    for y, labels, yy in [
        (np.array([1.0, 0.0, 1.0, 0.0, 0.0]), "signed", None),
        (np.array([1.0, 0.0, 1.0, 0.0, 0.0]), "binary", "map"),
        (np.array([1.0, 0.0, 1.0, 0.0, 0.0]), "auto", "map"),
        (np.array([1.0, -1.0, 1.0, 0.0, 2.0]), "binary", "map"),  # not checked
        (np.array([1.0, -1.0, 1.0, -1.0, -1.0]), "signed", None),
    ]:
        t = 2 * y - 1 if yy == "map" else y
        m = np.maximum(0.0, 1 - t * x)
        want = m * m if squared else m
        got = func(backend.asarray(x), backend.asarray(y), labels=labels, reduction="none")
        np.testing.assert_allclose(backend.to_numpy(got), want, rtol=1e-6, atol=1e-7)
        got = func(backend.asarray(x), backend.asarray(y), labels=labels, reduction="sum")
        np.testing.assert_allclose(float(backend.to_numpy(got)), want.sum(), rtol=1e-6)


@pytest.mark.needs("jax")
def test_hinge_labels_signed_under_jit_and_grad():
    import jax
    import jax.numpy as jnp

    x, y = np.array([0.3, -0.4, 2.0, 0.9]), np.array([1.0, 0.0, 1.0, 0.0])
    m = np.maximum(0.0, 1 - y * x)
    f = jax.jit(jax.value_and_grad(lambda a, b: al.hinge_loss(a, b, labels="signed")))
    val, grad = f(jnp.asarray(x), jnp.asarray(y))
    np.testing.assert_allclose(float(val), m.mean(), rtol=1e-14)
    np.testing.assert_allclose(np.asarray(grad), np.where(m > 0, -y, 0.0) / 4, rtol=1e-14)


@pytest.mark.parametrize("func", [al.hinge_loss, al.squared_hinge_loss])
def test_hinge_labels_bad_value(func):
    with pytest.raises(ValueError, match=rf"{func.__name__}: `labels` must be 'auto'"):
        func(np.zeros(3), np.zeros(3), labels="pm1")


def test_hinge_empty_target():
    assert al.hinge_loss(np.zeros(0), np.zeros(0), reduction="sum") == 0.0


# -- torch's edge cases ----------------------------------------------------------------------


def test_zero_dim_inputs_like_torch():
    """torch accepts 0-d inputs for multi_margin/multilabel_margin (one class: loss 0);
    multilabel_soft_margin_loss needs a class axis."""
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    x = np.array(0.3)
    for ours, theirs, t in [
        (al.multi_margin_loss, F.multi_margin_loss, np.array(0)),
        (al.multilabel_margin_loss, F.multilabel_margin_loss, np.array(0)),
        (al.multilabel_margin_loss, F.multilabel_margin_loss, np.array(-1)),
    ]:
        got = ours(x, t, reduction="none")
        want = theirs(torch.tensor(0.3, dtype=torch.float64), torch.tensor(int(t)),
                      reduction="none")
        assert got.shape == tuple(want.shape) == ()
        np.testing.assert_allclose(got, want.numpy())
    with pytest.raises(ValueError, match=r"^multilabel_soft_margin_loss: `input` must have a"):
        al.multilabel_soft_margin_loss(x, np.array(1.0))


def test_torch_class_names():
    """The four torch losses' wrappers carry torch.nn's class names."""
    torch = pytest.importorskip("torch")
    for name in ("SoftMarginLoss", "MultiLabelSoftMarginLoss", "MultiMarginLoss",
                 "MultiLabelMarginLoss"):
        assert hasattr(torch.nn, name)
        assert hasattr(al.nn, name)
    for name in ("HingeLoss", "SquaredHingeLoss", "CategoricalHingeLoss"):
        assert hasattr(al.nn, name)


# -- no host reads under jax.jit -------------------------------------------------------------


@pytest.mark.needs("jax")
def test_multilabel_margin_terminator_under_jit():
    """One jitted function, several terminator positions: each call equals torch (the -1
    mask is computed on the device, not baked in at trace time)."""
    jax = pytest.importorskip("jax")
    torch = pytest.importorskip("torch")
    import jax.numpy as jnp
    import torch.nn.functional as F

    rng = rng_for("multilabel-jit")
    x = rng.standard_normal((3, 5))
    f = jax.jit(lambda a, b: al.multilabel_margin_loss(a, b, reduction="none"))
    for t in ([[0, -1, 2, 3, 4], [1, 2, -1, 0, 0], [4, 3, 2, 1, 0]],
              [[-1, 0, 0, 0, 0], [1, 2, 3, 4, -1], [0, 0, -1, 1, 1]]):
        t = np.array(t)
        got = np.asarray(f(jnp.asarray(x, dtype=jnp.float32), jnp.asarray(t, dtype=jnp.int32)))
        want = F.multilabel_margin_loss(torch.from_numpy(x), torch.from_numpy(t),
                                        reduction="none").numpy()
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


def _multilabel_targets(rng, n, c, longest):
    """torch's targets: up to ``longest`` class indices (a repeat sometimes), then -1 and
    arbitrary classes after it (ignored)."""
    t = rng.integers(0, c, (n, c))
    lengths = rng.integers(0, longest + 1, n)
    for i, k in enumerate(lengths):
        if k < c:
            t[i, k] = -1
        if k >= 2 and i % 3 == 0:
            t[i, 1] = t[i, 0]  # a class listed twice counts twice
    return t


@pytest.mark.parametrize("generic", [False, True], ids=["native", "generic"])
def test_multilabel_margin_large_classes_short_lists_like_torch(generic):
    """C = 3000 with lists of at most 5: the pairwise terms cover the first 5 positions only
    (dense (N, C, C) terms would be 4.5 GB here) in several row chunks; value and input
    gradient equal torch's kernel."""
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    from arrayloss.testing import force_generic

    rng = rng_for("multilabel-large")
    x = rng.standard_normal((128, 3000))
    t = _multilabel_targets(rng, 128, 3000, 5)
    xa = torch.from_numpy(x).requires_grad_(True)
    xr = torch.from_numpy(x).requires_grad_(True)
    with force_generic(generic):
        got = al.multilabel_margin_loss(xa, torch.from_numpy(t), reduction="none")
        (gx,) = torch.autograd.grad(got.sum(), xa)
        np_got = al.multilabel_margin_loss(x, t)
    want = F.multilabel_margin_loss(xr, torch.from_numpy(t), reduction="none")
    (wx,) = torch.autograd.grad(want.sum(), xr)
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(gx, wx, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np_got, want.mean().item(), rtol=1e-12)


@pytest.mark.needs("jax")
def test_multilabel_margin_chunked_under_jit():
    """Traced, every position may hold a target: row chunks of (rows, C, C) terms under a
    padded lax.scan (N = 1000 rows, C = 100: three chunks, the last one padded)."""
    jax = pytest.importorskip("jax")
    torch = pytest.importorskip("torch")
    import jax.numpy as jnp
    import torch.nn.functional as F

    rng = rng_for("multilabel-jit-chunks")
    x = rng.standard_normal((1000, 100))
    t = _multilabel_targets(rng, 1000, 100, 100)
    got = jax.jit(lambda a, b: al.multilabel_margin_loss(a, b, reduction="none"))(
        jnp.asarray(x), jnp.asarray(t)
    )
    want = F.multilabel_margin_loss(torch.from_numpy(x), torch.from_numpy(t), reduction="none")
    np.testing.assert_allclose(np.asarray(got), want.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.needs("jax")
def test_label_checks_skipped_not_crashed_under_jit():
    """Out-of-range labels raise eagerly; under jax.jit the check is skipped (no host read)
    and the bad sample's loss is NaN, the others' unchanged (never a plausible number)."""
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    x = jnp.zeros((2, 3), dtype=jnp.float32)
    bad = jnp.asarray([0, 7], dtype=jnp.int32)
    with pytest.raises(ValueError, match=r"^multi_margin_loss: `target`"):
        al.multi_margin_loss(x, bad)
    assert np.isnan(float(jax.jit(al.multi_margin_loss)(x, bad)))
    per_sample = jax.jit(lambda x, t: al.multi_margin_loss(x, t, reduction="none"))(x, bad)
    np.testing.assert_array_equal(np.isnan(np.asarray(per_sample)), [False, True])
    np.testing.assert_allclose(
        float(per_sample[0]), float(al.multi_margin_loss(x[:1], bad[:1])), rtol=1e-6
    )
    bad2 = jnp.asarray([[0, 9, -1], [1, -1, 0]], dtype=jnp.int32)
    with pytest.raises(ValueError, match=r"^multilabel_margin_loss: `target`"):
        al.multilabel_margin_loss(x, bad2)
    assert np.isnan(float(jax.jit(al.multilabel_margin_loss)(x, bad2)))
    per_sample = jax.jit(lambda x, t: al.multilabel_margin_loss(x, t, reduction="none"))(x, bad2)
    np.testing.assert_array_equal(np.isnan(np.asarray(per_sample)), [True, False])
    np.testing.assert_allclose(
        float(per_sample[1]), float(al.multilabel_margin_loss(x[1:], bad2[1:])), rtol=1e-6
    )
