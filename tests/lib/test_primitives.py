"""``_lib/_primitives.py``: every primitive, native and generic, on every backend, against
float64 SciPy / NumPy references; the gradients the autodiff libraries take through them."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.special as sp

from arrayloss._lib import _primitives as P
from arrayloss._lib._compat import backend_name
from arrayloss._lib._validation import is_concrete
from arrayloss.testing import force_generic
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
# torch reads up to 64 values into Python (arrayloss/_backends/torch.py), then takes one
# aminmax up to 2^18
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


def test_relu(backend, dtype, path):
    """max(x, 0) with NaN propagating (torch.relu's semantics)."""
    a = np.array([-2.0, -0.0, 0.0, 0.5, np.inf, -np.inf, np.nan])
    with force_generic(path == "generic"):
        got = P.relu(backend.asarray(a, dtype), xp=backend.xp)
    np.testing.assert_array_equal(backend.to_numpy(got), np.where(a <= 0, 0.0, a))


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
