"""The backend layer: primitives (native and generic, every backend) against float64 SciPy /
NumPy references, namespace resolution errors, the reduction, the dtype policy."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
import scipy.special as sp

import arrayloss
from arrayloss._lib import _dispatch as D
from arrayloss._lib import _primitives as P
from arrayloss._lib._compat import backend_name
from arrayloss._lib._dtypes import promote_floating
from arrayloss._lib._namespace import namespace_of
from arrayloss._lib._reduction import reduce, weighted_reduce
from arrayloss._lib._validation import check_labels_in_range, check_reduction, is_concrete
from arrayloss.testing import force_generic, generic_forced
from tests._harness import rng_for

# Values where naive formulas fail: overflow of exp, cancellation in log(1 + tiny).
EXTREME = np.array(
    [-1e4, -800.0, -88.5, -30.0, -1.0, -1e-8, 0.0, 1e-8, 1.0, 30.0, 88.5, 800.0, 1e4]
)

TOL = {"float64": (1e-12, 1e-300), "float32": (2e-6, 1e-30), "float16": (2e-3, 1e-4),
       "bfloat16": (1.6e-2, 1e-3)}


def _assert_close(backend, got, expected, dtype, what, scale=0.0):
    """``scale``: magnitude of the inputs; x - logsumexp(x) loses eps * |x| absolutely."""
    rtol, atol = TOL[dtype]
    atol = max(atol, 4 * scale * EPS[dtype])
    np.testing.assert_allclose(backend.to_numpy(got), expected, rtol=rtol, atol=atol, err_msg=what)


EPS = {"float64": 2.2e-16, "float32": 1.2e-7, "float16": 9.8e-4, "bfloat16": 7.8e-3}


def _rounded(backend, a, dtype):
    return backend.to_numpy(backend.asarray(a, dtype))


ELEMENTWISE = {
    # name: (primitive call, float64 reference on the rounded input)
    "softplus": (lambda x, xp: P.softplus(x, xp=xp), lambda a: np.logaddexp(0, a)),
    "log_sigmoid": (lambda x, xp: P.log_sigmoid(x, xp=xp), lambda a: -np.logaddexp(0, -a)),
    "sigmoid": (lambda x, xp: P.sigmoid(x, xp=xp), sp.expit),
}


@pytest.mark.parametrize("name", list(ELEMENTWISE))
def test_elementwise_primitives_extreme_values(name, backend, dtype, path):
    call, ref = ELEMENTWISE[name]
    a = EXTREME if dtype in ("float64", "float32") else EXTREME[np.abs(EXTREME) < 6e4]
    x = backend.asarray(a, dtype)
    with force_generic(path == "generic"):
        out = call(x, backend.xp)
    assert np.all(np.isfinite(backend.to_numpy(out))), f"{name} not finite: {out}"
    _assert_close(backend, out, ref(_rounded(backend, a, dtype)), dtype, f"{name} {backend}/{path}")


@pytest.mark.parametrize("axis", [1, -1, 0])
def test_logsumexp_log_softmax_softmax(backend, dtype, path, axis):
    rng = rng_for("lse", axis)
    a = rng.standard_normal((4, 5, 3)) * 3
    a[0, :, :] += 1e4  # a huge row: naive exp overflows
    a[1, 0, 0] = -np.inf  # a -inf logit is a valid (masked) class
    x = backend.asarray(a, dtype)
    r = _rounded(backend, a, dtype)
    xp = backend.xp
    with force_generic(path == "generic"):
        lse = P.logsumexp(x, axis=axis, xp=xp)
        lse_k = P.logsumexp(x, axis=axis, keepdims=True, xp=xp)
        lsm = P.log_softmax(x, axis=axis, xp=xp)
        sm = P.softmax(x, axis=axis, xp=xp)
    big = float(np.max(np.abs(r[np.isfinite(r)])))
    _assert_close(backend, lse, sp.logsumexp(r, axis=axis), dtype, "logsumexp")
    assert tuple(lse_k.shape) == sp.logsumexp(r, axis=axis, keepdims=True).shape
    _assert_close(backend, lsm, sp.log_softmax(r, axis=axis), dtype, "log_softmax", scale=big)
    _assert_close(backend, sm, sp.softmax(r, axis=axis), dtype, "softmax", scale=1.0)


def test_logsumexp_all_neg_inf_row(backend, path):
    """A row of only -inf logits: logsumexp is -inf (not nan), as scipy and torch."""
    a = np.array([[-np.inf, -np.inf], [0.0, 1.0]])
    with force_generic(path == "generic"), np.errstate(divide="ignore"):  # NumPy warns on log(0)
        out = P.logsumexp(backend.asarray(a, "float64"), axis=1, xp=backend.xp)
        np.testing.assert_array_equal(backend.to_numpy(out), sp.logsumexp(a, axis=1))


def test_xlogy(backend, dtype, path):
    x = np.array([0.0, 0.0, 1.0, 2.0, 0.5, 3.0])
    y = np.array([0.0, 2.0, 1.0, 0.5, 1e-30, 7.0])
    if dtype in ("float16", "bfloat16"):
        y = np.where(y < 1e-3, 1e-2, y)  # 1e-30 rounds to 0 in float16
    xb, yb = backend.asarray(x, dtype), backend.asarray(y, dtype)
    with force_generic(path == "generic"):
        out = P.xlogy(xb, yb, xp=backend.xp)
    _assert_close(backend, out, sp.xlogy(_rounded(backend, x, dtype), _rounded(backend, y, dtype)),
           dtype, "xlogy")


@pytest.mark.backends("torch,jax")
def test_xlogy_gradient_finite_at_zero(backend, path):
    """d/dy x log y at x = y = 0 is 0 in the generic kernel (no 0 * inf = nan)."""
    x = np.array([0.0, 1.0])
    y = np.array([0.0, 2.0])
    if backend.name == "torch":
        import torch

        yt = torch.tensor(y, requires_grad=True)
        with force_generic(path == "generic"):
            P.xlogy(torch.tensor(x), yt, xp=backend.xp).sum().backward()
        g = yt.grad.numpy()
    else:
        import jax

        with force_generic(path == "generic"):
            g = np.asarray(jax.grad(lambda v: P.xlogy(backend.asarray(x), v, xp=backend.xp).sum())(
                backend.asarray(y)))
    if path == "generic":
        np.testing.assert_array_equal(g, [0.0, 0.5])
    else:
        assert g[1] == 0.5  # native kernels: the value at y = 0 is theirs (torch: nan)


def test_take_along_axis_and_one_hot(backend, path):
    rng = rng_for("take")
    a = rng.standard_normal((4, 5, 3))
    idx = rng.integers(0, 5, (4, 1, 3))
    xp = backend.xp
    with force_generic(path == "generic"):
        got = P.take_along_axis(backend.asarray(a, "float64"), backend.asarray(idx), axis=1, xp=xp)
        oh = P.one_hot(backend.asarray(idx[:, 0, :]), 5, dtype=xp.float64, axis=1, xp=xp)
        oh_last = P.one_hot(backend.asarray(idx[:, 0, :]), 5, dtype=xp.float32, xp=xp)
    np.testing.assert_array_equal(backend.to_numpy(got), np.take_along_axis(a, idx, axis=1))
    expected = (idx[:, 0, :][:, None, :] == np.arange(5)[None, :, None]).astype(np.float64)
    np.testing.assert_array_equal(backend.to_numpy(oh), expected)
    np.testing.assert_array_equal(backend.to_numpy(oh_last), np.moveaxis(expected, 1, -1))
    assert backend_name(__import__("array_api_compat").array_namespace(oh_last)) == backend_name(xp)


@pytest.mark.parametrize(
    "shape, idx_shape, axis",
    [
        ((6, 4), (6, 1), 1),
        ((6, 4), (6, 3), 1),
        ((5, 6, 2), (2, 6, 2), 0),
        ((3, 4, 5), (3, 4, 2), -1),
    ],
    ids=["one", "several", "axis0", "last"],
)
def test_generic_take_along_axis_without_native(backend, shape, idx_shape, axis):
    """The one-hot fallback used by libraries lacking take_along_axis (dask) is exact, for
    several indices along any axis, and an inf among the values not taken stays out."""
    rng = rng_for("take-fallback")
    a = rng.standard_normal(shape)
    idx = rng.integers(0, shape[axis], idx_shape)
    a_inf = a.copy()
    untaken = np.ones(shape, dtype=bool)
    np.put_along_axis(untaken, idx, False, axis=axis)
    a_inf[np.unravel_index(int(np.flatnonzero(untaken)[0]), shape)] = np.inf

    class NoTake:  # the backend's namespace minus take_along_axis
        def __getattr__(self, name):
            if name == "take_along_axis":
                raise AttributeError(name)
            return getattr(backend.xp, name)

    for values in (a, a_inf):
        got = P._generic_take_along_axis(backend.asarray(values, "float64"),
                                         backend.asarray(idx), axis=axis, xp=NoTake())
        np.testing.assert_array_equal(backend.to_numpy(got),
                                      np.take_along_axis(values, idx, axis=axis))


def test_force_generic_context_and_env():
    assert not generic_forced()
    with force_generic():
        assert generic_forced()
        with force_generic(False):
            assert not generic_forced()
        assert generic_forced()
    assert not generic_forced()
    code = "import arrayloss.testing as t; print(t.generic_forced())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"ARRAYLOSS_FORCE_GENERIC": "1", "PATH": ""}, check=True)
    assert out.stdout.strip() == "True"


@pytest.mark.backends("torch")
def test_generic_path_really_avoids_native_kernels(backend, monkeypatch):
    """force_generic must bypass the table: patch a native kernel to fail and call under it."""
    import torch.nn.functional as F

    x = backend.asarray(np.linspace(-3, 3, 12).reshape(3, 4), "float64")

    def boom(*a, **k):
        raise AssertionError("native kernel called")

    monkeypatch.setattr(F, "log_softmax", boom)
    D._PRIMITIVES.pop("torch", None)  # rebuild the table with the patched function
    try:
        with force_generic():
            out = P.log_softmax(x, axis=1, xp=backend.xp)
        np.testing.assert_allclose(out.numpy(), sp.log_softmax(x.numpy(), axis=1), rtol=1e-12)
    finally:
        D._PRIMITIVES.pop("torch", None)


# -- namespace resolution ---------------------------------------------------------------------


def test_namespace_ignores_none_and_scalars(backend):
    x = backend.asarray(np.ones(3), "float64")
    xp = namespace_of("some_loss", input=x, target=None, margin=1.0, flag=True, n=3)
    assert backend_name(xp) == backend_name(backend.xp)


def test_namespace_errors():
    import torch

    msg = r"^mse_loss: `input` is a numpy array but `target` is a torch"
    with pytest.raises(TypeError, match=msg):
        namespace_of("mse_loss", input=np.ones(2), target=torch.ones(2))
    with pytest.raises(TypeError, match=r"^mse_loss: argument `target` must be an array.*list"):
        namespace_of("mse_loss", input=np.ones(2), target=[1.0, 2.0])
    with pytest.raises(TypeError, match=r"^mse_loss: none of the arguments"):
        namespace_of("mse_loss", input=None, target=1.0)


def test_namespace_mixed_devices_strict():
    import array_api_strict as strict

    a = strict.asarray([1.0])
    b = strict.asarray([1.0], device=strict.Device("device1"))
    with pytest.raises(ValueError, match=r"^l1_loss: `input` is on device .* but `target` is on"):
        namespace_of("l1_loss", input=a, target=b)
    with pytest.raises(ValueError, match=r"^l1_loss: .*on device"):
        arrayloss.l1_loss(a, b)


def test_explicit_xp_skips_inspection():
    sentinel = object()
    assert namespace_of("x", xp=sentinel, input=np.ones(1), target=None) is sentinel


# -- reduction, validation, dtypes -----------------------------------------------------------


def test_reduce_and_weighted_reduce(backend):
    xp = backend.xp
    l_np = np.array([[1.0, 2.0], [3.0, 4.0]])
    w_np = np.array([[1.0], [3.0]])
    loss, w = backend.asarray(l_np, "float64"), backend.asarray(w_np, "float64")
    assert float(backend.to_numpy(reduce(loss, "mean", xp=xp))) == 2.5
    assert float(backend.to_numpy(reduce(loss, "sum", xp=xp))) == 10.0
    np.testing.assert_array_equal(backend.to_numpy(reduce(loss, "none", xp=xp)), l_np)
    wl = l_np * w_np
    assert float(backend.to_numpy(weighted_reduce(loss, w, "mean", xp=xp))) == wl.sum() / 8.0
    assert float(backend.to_numpy(weighted_reduce(loss, w, "sum", xp=xp))) == wl.sum()
    np.testing.assert_array_equal(backend.to_numpy(weighted_reduce(loss, w, "none", xp=xp)), wl)


def test_check_reduction_lists_allowed_values():
    with pytest.raises(ValueError, match=r"^kl_div: `reduction` must be one of 'mean', 'sum', "
                                         r"'none', 'batchmean', got 'avg'"):
        check_reduction("kl_div", "avg", ("mean", "sum", "none", "batchmean"))


def test_labels_in_range_message(backend):
    t = backend.asarray(np.array([0, 3, 1, -100]))
    if not is_concrete(t, backend.xp):
        assert backend.name == "dask"  # lazy: value checks are skipped, never computed early
        return
    check_labels_in_range("nll_loss", "target", t, 4, backend.xp, ignore_index=-100)
    with pytest.raises(ValueError, match=r"^nll_loss: `target` .* \[0, 2\] .* found 3"):
        check_labels_in_range("nll_loss", "target", t, 3, backend.xp, ignore_index=-100)
    with pytest.raises(ValueError, match=r"found -100"):
        check_labels_in_range("nll_loss", "target", t, 4, backend.xp)


def test_low_precision_is_computed_in_float32(backend, dtype):
    """float16/bfloat16 promote to a float32 working dtype and keep their own result dtype."""
    xp = backend.xp
    x = backend.asarray(np.ones(3), dtype)
    t = backend.asarray(np.array([1, 0, 1]))
    out, work, (xc, tc) = promote_floating("l", xp, input=x, target=t)
    assert out == x.dtype
    assert work == (xp.float32 if dtype in ("float16", "bfloat16") else x.dtype)
    assert xc.dtype == work and tc.dtype == work


def test_float16_sum_does_not_overflow(backend):
    """A float16 sum of 10^5 squared errors of 4 overflows float16 arithmetic (max 65504);
    computed in float32 it is exact and its mean fits float16."""
    if "float16" not in backend.dtypes:
        pytest.skip(f"{backend} has no float16")
    a = np.full(100_000, 2.0)
    x, y = backend.asarray(a, "float16"), backend.asarray(np.zeros_like(a), "float16")
    out = arrayloss.mse_loss(x, y, reduction="mean")
    assert backend.to_numpy(out) == 4.0
    with np.errstate(over="ignore"):  # NumPy warns when the float32 sum is cast to inf
        total = backend.to_numpy(arrayloss.mse_loss(x, y, reduction="sum"))
    assert np.isinf(total)  # 4e5 > 65504: the true sum is not representable in float16


def test_integer_input_is_type_error():
    with pytest.raises(TypeError, match=r"^mse_loss: `input` must have a real floating dtype"):
        arrayloss.mse_loss(np.ones(3, dtype=np.int64), np.ones(3))


@pytest.mark.parametrize("shape", [(1,), (2, 2), (16,), (4, 4), (17,), (5, 7)])
def test_value_range(backend, path, shape):
    """Both sides of the small-array read (16 values and fewer: read into Python), 1-D and
    2-D, against NumPy's min and max."""
    v = np.random.default_rng(math.prod(shape)).integers(-50, 50, shape)
    t = backend.asarray(v)
    if not is_concrete(t, backend.xp):
        assert backend.name == "dask"
        return
    with force_generic(path == "generic"):
        lo, hi = P.value_range(t, xp=backend.xp)
    assert (lo, hi) == (int(v.min()), int(v.max())) and type(lo) is int and type(hi) is int


def test_add_matmul(backend, dtype, path):
    """acc + a @ b on every backend and path (torch's native path accumulates in place)."""
    rng = np.random.default_rng(0)
    acc, a, b = rng.normal(size=(4, 5)), rng.normal(size=(4, 3)), rng.normal(size=(3, 5))
    with force_generic(path == "generic"):
        got = P.add_matmul(*(backend.asarray(v, dtype) for v in (acc, a, b)), xp=backend.xp)
    tol = {"float64": 1e-12, "float32": 1e-5}.get(dtype, 2e-2)
    np.testing.assert_allclose(backend.to_numpy(got), acc + a @ b, rtol=tol, atol=tol)


@pytest.mark.parametrize("value_shape", [(5,), (5, 3)], ids=["rows", "matrix"])
def test_add_at_rows(backend, dtype, path, value_shape):
    """A scatter-add with repeated indices (np.add.at as the reference); torch, JAX and
    NumPy scatter natively, the generic path is a one-hot matmul."""
    rng = np.random.default_rng(1)
    acc = rng.normal(size=(4, *value_shape[1:]))
    vals = rng.normal(size=value_shape)
    idx = np.array([2, 0, 2, 3, 2])
    expected = acc.copy()
    np.add.at(expected, idx, vals)
    with force_generic(path == "generic"):
        got = P.add_at_rows(
            backend.asarray(acc, dtype), backend.asarray(idx), backend.asarray(vals, dtype),
            xp=backend.xp,
        )
    tol = {"float64": 1e-12, "float32": 1e-5}.get(dtype, 2e-2)
    np.testing.assert_allclose(backend.to_numpy(got), expected, rtol=tol, atol=tol)


def test_scale_owned(backend, dtype, path):
    a = np.array([[1.5, -2.0], [0.25, 4.0]])
    with force_generic(path == "generic"):
        got = P.scale_owned(backend.asarray(a, dtype), backend.asarray(np.array(3.0), dtype),
                            xp=backend.xp)
    np.testing.assert_allclose(backend.to_numpy(got), 3.0 * a)


def test_exp_shifted_owned(backend, dtype, path):
    """exp(z - m) with a row shift, as the chunk loops use it (in place on torch/NumPy)."""
    z = np.array([[1.5, -2.0, 0.5], [0.25, 4.0, -30.0]])
    m = z.max(axis=1, keepdims=True)
    zz = backend.asarray(z, dtype)
    with force_generic(path == "generic"):
        got = P.exp_shifted_owned(zz, backend.asarray(m, dtype), xp=backend.xp)
    ref = np.exp(_rounded(backend, z, dtype) - _rounded(backend, m, dtype))
    _assert_close(backend, got, ref, dtype, "exp_shifted_owned")


@pytest.mark.parametrize("bias", [False, True], ids=["plain", "bias"])
def test_matmul_into_scratch(backend, dtype, path, bias):
    """a @ b (+ add) written into a scratch array where the library can (torch, NumPy),
    twice into the same array (a chunk loop reuses it); a new array elsewhere, and when
    the scratch's shape does not fit (a short last chunk)."""
    rng = np.random.default_rng(2)
    a, b, add = rng.normal(size=(4, 3)), rng.normal(size=(3, 5)), rng.normal(size=(4, 1))
    xp = backend.xp
    aa, bb = backend.asarray(a, dtype), backend.asarray(b, dtype)
    kw = {"add": backend.asarray(add, dtype)} if bias else {}
    ref = a @ b + (add if bias else 0.0)
    tol = {"float64": 1e-12, "float32": 1e-5}.get(dtype, 3e-2)
    with force_generic(path == "generic"):
        buf = P.scratch((4, 5), aa.dtype, aa, xp=xp)
        for scale in (1.0, 2.0):
            got = P.matmul_into(buf, aa * scale, bb, **kw, xp=xp)
            want = scale * (a @ b) + (add if bias else 0.0)
            np.testing.assert_allclose(backend.to_numpy(got), want, rtol=tol, atol=tol)
        short = P.matmul_into(buf, aa[:2, ...], bb, **({"add": kw["add"][:2, ...]} if bias else {}),
                              xp=xp)
    np.testing.assert_allclose(backend.to_numpy(short), ref[:2], rtol=tol, atol=tol)
    if path == "native" and backend.name in ("numpy", "torch"):
        assert buf is not None and got is buf
    else:
        assert path == "native" or buf is None


def test_clamped_log(backend, dtype, path):
    """max(log p, -100) as torch's BCE clamps it: -100 at p == 0 and below e^-100 (a float64
    value), log p elsewhere, NaN for NaN."""
    if dtype not in ("float32", "float64"):
        pytest.skip("float32/float64 carry the values")
    # float32 has no normal number with log below -100 (JAX flushes denormals to 0); in
    # float64, either side of e^-100 = 3.7200759760208e-44 (NumPy's bound on p)
    tiny = [1e-300, 3.72007597602e-44, 3.72007597603e-44] if dtype == "float64" else [2e-38]
    p = np.array([0.0, -0.5, -np.inf, *tiny, 1e-30, 0.5, 1.0, np.nan])
    rounded = _rounded(backend, p, dtype).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        ref = np.where(rounded <= 0, -100.0, np.maximum(np.log(rounded), -100.0))
    with force_generic(path == "generic"):
        got = P.clamped_log(backend.asarray(p, dtype), -100.0, xp=backend.xp)
    _assert_close(backend, got, ref, dtype, "clamped_log")


# the autodiff libraries (torch, JAX) and both code paths, for primitives' gradients
_AUTODIFF_LIBS = pytest.mark.parametrize(
    "lib",
    [pytest.param("torch", marks=pytest.mark.needs("torch")),
     pytest.param("jax", marks=pytest.mark.needs("jax"))],
)
_NATIVE_OR_GENERIC = pytest.mark.parametrize("generic", [False, True], ids=["native", "generic"])


@_AUTODIFF_LIBS
@_NATIVE_OR_GENERIC
def test_clamped_log_gradient(lib, generic):
    """Gradient 1/p where log p > -100, 0 where clamped (p == 0: no 0 * inf = nan)."""
    p = np.array([0.0, 1e-50, 0.25, 1.0])
    want = np.array([0.0, 0.0, 4.0, 1.0])  # log(1e-50) = -115 < -100: clamped
    with force_generic(generic):
        if lib == "torch":
            torch = pytest.importorskip("torch")
            import array_api_compat.torch as xt

            t = torch.from_numpy(p).requires_grad_(True)
            P.clamped_log(t, -100.0, xp=xt).sum().backward()
            got = t.grad.numpy()
        else:
            jax = pytest.importorskip("jax")
            import jax.numpy as jnp

            xj = jnp.asarray(p)
            f = lambda a: jnp.sum(P.clamped_log(a, -100.0, xp=jnp))
            got = np.asarray(jax.jit(jax.grad(f))(xj))
    np.testing.assert_allclose(got, want, rtol=1e-12)


@_AUTODIFF_LIBS
@_NATIVE_OR_GENERIC
def test_floor_straight_through(lib, generic):
    """The value max(x, floor) (NaN kept), the gradient the identity: below the floor too
    (torch's gaussian_nll_loss clamps its variance under no_grad); the input unchanged."""
    x = np.array([0.0, 1e-9, 1e-6, 0.5, np.nan])
    w = np.array([1.0, 2.0, 3.0, 4.0, 5.0])  # d/dx sum(w * y) = w
    want = np.where(np.isnan(x), np.nan, np.maximum(x, 1e-6))
    with force_generic(generic):
        if lib == "torch":
            torch = pytest.importorskip("torch")
            import array_api_compat.torch as xt

            t = torch.from_numpy(x.copy()).requires_grad_(True)
            y = P.floor_straight_through(t, floor=1e-6, xp=xt)
            (y * torch.from_numpy(w)).sum().backward()
            got, grad = y.detach().numpy(), t.grad.numpy()
            np.testing.assert_array_equal(t.detach().numpy(), x)
        else:
            jax = pytest.importorskip("jax")
            import jax.numpy as jnp

            f = lambda a: P.floor_straight_through(a, floor=1e-6, xp=jnp)
            got = np.asarray(f(jnp.asarray(x)))
            grad = np.asarray(jax.jit(jax.grad(lambda a: jnp.sum(f(a) * w)))(jnp.asarray(x)))
    np.testing.assert_allclose(got, want, rtol=1e-12, equal_nan=True)
    np.testing.assert_array_equal(grad, w)


@pytest.mark.parametrize("values, want", [
    ([0.0, 1.0, 1.0, 0.0], True),
    ([0.0, -0.0, 1.0], True),
    ([], True),
    ([0.0, 1.0, 2.0], False),
    ([0.0, 1.0, -1.0], False),
    ([0.0, 1.0, 1e-30], False),  # t(t - 1) = -1e-30: no underflow to 0 in float32
    ([0.0, 1.0, 1.0 - 2.0**-24], False),
    ([0.0, 1.0, np.nan], False),
    ([0.0, np.inf], False),
])
def test_all_zero_or_one(backend, dtype, path, values, want):
    """Every element 0 or 1 (Keras's hinge label test), natively and generically."""
    if dtype not in ("float32", "float64"):
        pytest.skip("float32/float64 carry the values")
    with force_generic(path == "generic"):
        got = P.all_zero_or_one(backend.asarray(np.array(values), dtype), xp=backend.xp)
    assert bool(backend.to_numpy(got)) is want


@pytest.mark.parametrize("values, want", [
    ([1.0, -1.0, -1.0], True),
    ([], True),
    ([1.0, -1.0, 0.0], False),
    ([1.0, -1.0, 1.0 + 2.0**-23], False),
    ([-1.0, np.nan], False),
    ([1.0, -np.inf], False),
])
# torch reads up to 64 values into Python (arrayloss/_backends/torch.py), then takes one aminmax up to 2^18
@pytest.mark.parametrize("n", [1, 20, 600], ids=["small", "64", "large"])
def test_all_signs(backend, dtype, path, values, want, n):
    """Every element -1 or 1 (the embedding losses' target check), natively and
    generically, below and above the size where torch's native changes method, and on a
    transposed (non-contiguous) 2-d view."""
    if dtype not in ("float32", "float64"):
        pytest.skip("float32/float64 carry the values")
    a = np.tile(np.array(values), n)
    if n == 20 and a.size:
        a = np.concatenate([a, np.ones(64 - a.size)])  # exactly at the threshold
    with force_generic(path == "generic"):
        got = P.all_signs(backend.asarray(a, dtype), xp=backend.xp)
        ints = np.sign(a[np.isfinite(a)]).astype(np.int64)  # integer targets too
        got_int = P.all_signs(backend.asarray(ints), xp=backend.xp)
        got_2d = None
        if a.size % 2 == 0 and a.size:
            got_2d = P.all_signs(
                backend.xp.permute_dims(backend.asarray(a.reshape(2, -1), dtype), (1, 0)),
                xp=backend.xp,
            )
    assert bool(backend.to_numpy(got)) is want
    assert bool(backend.to_numpy(got_int)) is bool(np.all(np.abs(ints) == 1))
    if got_2d is not None:
        assert bool(backend.to_numpy(got_2d)) is want


def test_all_signs_reads_every_block(backend, path):
    """A bad value in the last of several 2^18-element blocks (torch reads block by block),
    and a target that requires grad."""
    a = np.ones(2**18 + 5)
    a[::2] = -1.0
    with force_generic(path == "generic"):
        assert bool(backend.to_numpy(P.all_signs(backend.asarray(a, "float64"), xp=backend.xp)))
        a[-1] = 0.999
        assert not bool(backend.to_numpy(P.all_signs(backend.asarray(a, "float64"),
                                                     xp=backend.xp)))
    if backend.name == "torch":
        import torch

        t = torch.tensor([1.0, -1.0], requires_grad=True)
        assert bool(P.all_signs(t, xp=backend.xp))


def test_divide_exact_is_correctly_rounded(backend, path):
    """x / d with d broadcast along rows: the float32 quotient correctly rounded (the float64
    quotient rounded once), where XLA's reciprocal-multiply rewrite of a plain division by a
    broadcast is 1 ulp off for some elements; under jax.jit too."""
    rng = rng_for("divide_exact")
    x = rng.normal(size=(64, 33)).astype(np.float32)
    d = rng.uniform(0.3, 3.0, size=(64, 1)).astype(np.float32)
    want = (x.astype(np.float64) / d.astype(np.float64)).astype(np.float32)
    with force_generic(path == "generic"):
        got = P.divide_exact(backend.asarray(x, "float32"), backend.asarray(d, "float32"),
                             xp=backend.xp)
    if backend.name == "jax" and path == "generic":  # the plain division: XLA's reciprocal
        g = backend.to_numpy(got).astype(np.float32)  # (to_numpy: float64)
        np.testing.assert_array_max_ulp(g, want, maxulp=1)
        return
    np.testing.assert_array_equal(backend.to_numpy(got), want)
    if backend.name == "jax":
        import jax

        f = jax.jit(lambda a, b: P.divide_exact(a, b, xp=backend.xp))
        np.testing.assert_array_equal(np.asarray(f(x, d)), want)
        plain = np.asarray(jax.jit(lambda a, b: a / b)(x, d))
        assert np.any(plain != want)  # the rewrite this guards against (XLA on CPU)


@pytest.mark.parametrize("shape", [(7,), (3, 4), (0,)])
def test_sum_ratio(backend, dtype, path, shape):
    """sum(num) / sum(den), the weighted means of cross_entropy/nll_loss and weight=: against
    float64 NumPy; every weight 0 (so every weighted loss 0) gives nan: 0/0, as in torch."""
    if dtype not in ("float32", "float64"):
        pytest.skip("float32/float64 carry the values")
    rng = rng_for("sum_ratio", shape)
    num, den = rng.normal(size=shape), rng.uniform(0.5, 2.0, size=shape)
    with force_generic(path == "generic"), np.errstate(invalid="ignore"):
        got = P.sum_ratio(backend.asarray(num, dtype), backend.asarray(den, dtype),
                          xp=backend.xp)
        zero = P.sum_ratio(backend.asarray(0 * num, dtype), backend.asarray(0 * den, dtype),
                           xp=backend.xp)
        if num.size:
            _assert_close(backend, got, num.sum() / den.sum(), dtype, "sum_ratio")
        assert np.isnan(backend.to_numpy(zero))  # (Dask computes here)


def test_squared_log1p_diff(backend, dtype, path):
    """(log1p(max(a, floor)) - log1p(max(b, floor)))^2, msle_loss's elements: against the
    float64 formula on the rounded inputs, with values below the floor, an infinite argument
    (inf), both infinite and a NaN (nan)."""
    if dtype not in ("float32", "float64"):
        pytest.skip("float32/float64 carry the values")
    rng = rng_for("squared_log1p_diff")
    a = np.concatenate([rng.uniform(0, 5, 40), [-1.0, 0.0, 1e-9, np.inf, np.inf, np.nan, 2.0]])
    b = np.concatenate([rng.uniform(0, 5, 40), [0.5, 1e-9, 3.0, 1.0, np.inf, 1.0, np.inf]])
    ar, br = _rounded(backend, a, dtype), _rounded(backend, b, dtype)
    floor = 1e-7
    fl = float(_rounded(backend, np.array([floor]), dtype)[0])
    with np.errstate(invalid="ignore"):
        want = (np.log1p(np.maximum(ar, fl)) - np.log1p(np.maximum(br, fl))) ** 2
    with force_generic(path == "generic"), np.errstate(invalid="ignore"):  # inf - inf
        got = P.squared_log1p_diff(
            backend.asarray(a, dtype), backend.asarray(b, dtype), floor=floor, xp=backend.xp
        )
        _assert_close(backend, got, want, dtype, "squared_log1p_diff", scale=25.0)  # Dask computes


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


def test_relu(backend, dtype, path):
    """max(x, 0) with NaN propagating (torch.relu's semantics)."""
    a = np.array([-2.0, -0.0, 0.0, 0.5, np.inf, -np.inf, np.nan])
    with force_generic(path == "generic"):
        got = P.relu(backend.asarray(a, dtype), xp=backend.xp)
    np.testing.assert_array_equal(backend.to_numpy(got), np.where(a <= 0, 0.0, a))


@pytest.mark.parametrize("flag", [True, False])
def test_cond_runs_the_chosen_branch(backend, flag):
    """cond picks true_fn's result for a true 0-d predicate, false_fn's otherwise: a host
    branch on concrete arrays, a where on lazy Dask (and lax.cond under jax.jit, below)."""
    from arrayloss._lib._scan import cond

    xp = backend.xp
    x = backend.asarray(np.array([1.0, -2.0, 3.0]), "float64")
    pred = xp.all(x > 0) if not flag else xp.any(x > 0)
    got = cond(pred, lambda a: xp.sum(a * 2.0), lambda a: xp.sum(a - 1.0), x, xp=xp)
    assert float(backend.to_numpy(got)) == (4.0 if flag else -1.0)


@pytest.mark.needs("jax")
def test_cond_under_jit_and_grad():
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    from arrayloss._lib._scan import cond

    def f(a):
        return cond(jnp.all(a > 0), lambda v: jnp.sum(v * v), lambda v: jnp.sum(3.0 * v), a,
                    xp=jnp)

    g = jax.jit(jax.value_and_grad(f))
    val, grad = g(jnp.asarray([1.0, 2.0]))
    assert float(val) == 5.0 and np.asarray(grad).tolist() == [2.0, 4.0]
    val, grad = g(jnp.asarray([1.0, -2.0]))
    assert float(val) == -3.0 and np.asarray(grad).tolist() == [3.0, 3.0]


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


@pytest.mark.parametrize("n", [1, 7, 8, 9, 20])
def test_chunked_scan_carry_and_rows(backend, n):
    """Rows of every chunk land at their place (written into one buffer on mutable
    libraries, concatenated elsewhere, a padded lax.scan on JAX); the carry sums them."""
    from arrayloss._lib._chunk import chunked_scan

    xp = backend.xp
    a = np.arange(n * 3, dtype=np.float64).reshape(n, 3)
    t = np.arange(n) % 4

    def body(carry, xs):
        xc, tc = xs
        y = xc * 2.0 + xp.astype(tc, xc.dtype)[:, None]
        return carry + xp.sum(xc), (y, tc + 1)

    zero = backend.asarray(np.array(0.0), "float64")
    carry, (y, t1) = chunked_scan(
        body, zero, (backend.asarray(a, "float64"), backend.asarray(t)), chunk=4,
        pad=(0.0, 0), xp=xp,
    )
    np.testing.assert_allclose(backend.to_numpy(carry), a.sum())
    np.testing.assert_allclose(backend.to_numpy(y), a * 2.0 + t[:, None])
    np.testing.assert_array_equal(backend.to_numpy(t1), t + 1)


def test_labels_in_range_reports_whether_all_were_in_range(backend):
    """True only when every label was read and lies in [0, C) (a loss then skips its
    ignore mask); False with an ignored label, when empty, or when not read (lazy Dask)."""
    xp = backend.xp
    ok = backend.asarray(np.array([0, 3, 1]))
    if not is_concrete(ok, xp):
        assert check_labels_in_range("l", "target", ok, 4, xp) is False
        return
    assert check_labels_in_range("l", "target", ok, 4, xp) is True
    ignored = backend.asarray(np.array([0, -100, 1]))
    assert check_labels_in_range("l", "target", ignored, 4, xp, ignore_index=-100) is False
    empty = backend.asarray(np.zeros((0,), dtype=np.int64))
    assert check_labels_in_range("l", "target", empty, 4, xp) is False


def test_native_checks_labels_only_torch_cpu(backend):
    t = backend.asarray(np.array([0, 1]))
    expected = backend.name == "torch"
    assert P.native_checks_labels("cross_entropy", t, backend.xp) is expected
    assert P.native_checks_labels("focal_loss", t, backend.xp) is False
    with force_generic():
        assert P.native_checks_labels("cross_entropy", t, backend.xp) is False


def test_cached_isdtype_agrees_with_namespace(backend):
    from arrayloss._lib._compat import isdtype

    xp = backend.xp
    for dt in ("float32", "float64"):
        x = backend.asarray(np.zeros(2), dt)
        for kind in ("real floating", "integral", ("integral", "bool")):
            assert isdtype(x.dtype, kind, xp) == xp.isdtype(x.dtype, kind)
            assert isdtype(x.dtype, kind, xp) == xp.isdtype(x.dtype, kind)  # cached


def _log_cosh_reference(d, dtype):
    """float64 log cosh(d), rounded to ``dtype``: cosh a = 1 + 2 sinh^2(a / 2), no
    cancellation near 0; past 20, a + log1p(e^-2a) - log 2, no overflow."""
    a = np.abs(d)
    with np.errstate(invalid="ignore", over="ignore"):
        want = np.where(a < 20, np.log1p(2 * np.sinh(a / 2) ** 2),
                        a + np.log1p(np.exp(-2 * a)) - np.log(2.0))
    return want.astype(dtype)  # 1e-30 ** 2 / 2 is 0 in float32


_LOG_COSH_EDGES = [0.0, -0.0, 1e-30, -1e-8, 3e-4, 0.5, -1.0, 39.9, 40.0, -41.0, 100.0,
                   np.inf, -np.inf, np.nan]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_numpy_log_cosh_blocks(dtype):
    """NumPy's log_cosh runs in place in 64k-element blocks: the edges, both sides of a
    block boundary, a strided view and a 0-d array, against float64."""
    rng = np.random.default_rng(1)
    d = np.concatenate([_LOG_COSH_EDGES, rng.normal(scale=5.0, size=(1 << 17) + 3)]).astype(dtype)
    rtol = 1e-6 if dtype == "float32" else 1e-13
    for x in (d, d.reshape(-1, 1)[::2], d[:7].reshape(7, 1, 1), d[5:6].reshape(())):
        y = np.zeros_like(x)
        got = arrayloss.log_cosh_loss(x, y, reduction="none")
        assert got.shape == x.shape and got.dtype == x.dtype
        np.testing.assert_allclose(got, _log_cosh_reference(x.astype(np.float64), dtype),
                                   rtol=rtol, atol=1e-300)


# d = 0 exactly is where log cosh curves most (a perfect fit) and where autodiff through |d|
# would give a second derivative of 0.
_LOG_COSH_SMOOTH = np.array([0.0, -0.0, 1e-30, -1e-8, 3e-4, 0.5, -1.0, 3.0, -39.9, 41.0, 100.0])


def _sech2(d):
    with np.errstate(over="ignore"):
        return 1.0 / np.cosh(d) ** 2


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


# Huber's elements: both sides of delta, the ties at +-delta, -0, the infinities and NaN.
_HUBER_D = np.array([-np.inf, -1e30, -2.5, -0.5, -1e-20, -0.0, 0.0, 0.25, 0.7, 3.0, 1e30,
                     np.inf, np.nan])


@pytest.mark.parametrize("delta", [1.0, 0.7])
def test_huber_elements(backend, dtype, path, delta):
    """0.5 d^2 below delta, delta (|d| - delta / 2) from it on: against the float64 two-branch
    formula on the rounded inputs, with the ties d = +-delta."""
    if dtype not in ("float32", "float64"):
        pytest.skip("float32/float64 carry the values")
    rng = rng_for("huber_elements")
    a = np.concatenate([_HUBER_D, [delta, -delta], rng.normal(scale=2.0, size=40)])
    ar = _rounded(backend, a, dtype)
    ad = np.abs(ar)
    with np.errstate(invalid="ignore"):
        want = np.where(ad < delta, 0.5 * ad * ad, delta * (ad - 0.5 * delta))
    with force_generic(path == "generic"):
        got = P.huber_elements(backend.asarray(a, dtype), backend.asarray(np.zeros_like(a), dtype),
                               delta=delta, xp=backend.xp)
        _assert_close(backend, got, want, dtype, "huber_elements")


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
