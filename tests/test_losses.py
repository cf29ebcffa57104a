"""Generic, registry-driven tests: every LossInfo × backend × dtype × code path.

Values are compared with the entry's independent reference evaluated in float64 on the same
(rounded) inputs; gradients with torch autograd of that reference; and the result's
library, device, dtype and shape are checked on every call.
"""

from __future__ import annotations

import numpy as np
import pytest

import arrayloss
from arrayloss._lib._dispatch import native_loss
from arrayloss.testing import force_generic
from tests._backends import BACKENDS, FLOAT_DTYPES
from tests._harness import (
    assert_result,
    assert_unsupported,
    convert,
    cotangent,
    differentiable_positions,
    loss_grads,
    reference_grads,
    reference_value,
    rng_for,
    rounded,
    sweep_samples,
)
from tests.loss_info import CAPABILITIES, LOSSES, DecorateInfo, ErrorInput, SampleInput
from tests.loss_info._core import sample_features

IDS = [info.name for info in LOSSES]


def _test_names() -> set[str]:
    import ast
    import pathlib

    return {node.name for f in pathlib.Path(__file__).parent.glob("test_*.py")
            for node in ast.walk(ast.parse(f.read_text()))
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")}


def test_registry_directives_and_capabilities_are_well_formed():
    """Every DecorateInfo says why and names real tests, backends and dtypes (a typo would
    silently skip nothing); every capability is a bool or names real backends."""
    names = _test_names()
    for info in LOSSES:
        for d in info.decorators:
            assert d.kind in ("skip", "xfail") and d.reason, (info.name, d)
            assert d.tests is None or set(d.tests) <= names, (info.name, d.tests)
            assert d.backends is None or set(d.backends) <= set(BACKENDS), (info.name, d)
            assert d.dtypes is None or set(d.dtypes) <= set(FLOAT_DTYPES), (info.name, d)
        for cap in CAPABILITIES:
            value = getattr(info, f"supports_{cap}")
            assert isinstance(value, bool) or set(value) <= set(BACKENDS), (info.name, cap)
    d = DecorateInfo("skip", "why", tests=("test_a",), backends=("jax",))
    assert d.applies("test_a", "jax") and d.applies({"test_a", "tag"}, "jax", "float32")
    assert not d.applies("test_b", "jax") and not d.applies("test_a", "torch")


@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_representative_samples_reach_every_code_path(info):
    """The compiled tests' default subset shows every reduction, option, flag value and
    shape signature that the full sample set shows."""
    rng = lambda: rng_for(info.name, "jit")
    every = info.expanded_samples(rng())
    chosen = info.representative_samples(rng())
    assert chosen and len(chosen) <= len(every)
    assert set().union(*map(sample_features, chosen)) == set().union(
        *map(sample_features, every))


@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_value_matches_reference(info, backend, dtype, path, request):
    """Value, result type, device, dtype and shape, on the native and the generic path: every
    sample in float64, the representative samples (every code path) in the other dtypes
    (``--exhaustive``: every sample in every dtype)."""
    rtol, atol = info.tol(dtype)
    if dtype == "float64":
        samples = info.expanded_samples(rng_for(info.name, "value"))
    else:
        samples = sweep_samples(info, request.config, "value")
    for sample in samples:
        args, kwargs = convert(sample, backend, dtype)
        with force_generic(path == "generic"):
            out = info.func(*args, **kwargs)
        expected = reference_value(info, rounded(sample, backend, dtype))
        assert_result(out, backend, dtype, args[0], expected, (rtol, atol),
                      f"{info.name} {sample!r} on {backend}/{dtype}/{path}")


@pytest.mark.backends("torch,jax,torch_cuda")
@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_gradient_matches_reference(info, backend, dtype, path, request):
    """Gradient by the backend's autodiff vs torch autograd of the reference: every sample in
    float64, the representative samples (every code path) in the other dtypes
    (``--exhaustive``: every sample in every dtype)."""
    dtype_tol = info.grad_tol(dtype)
    if not info.ref_grad:
        pytest.skip(f"{info.name}: reference ({info.provenance}) is not differentiable by torch")
    checked = 0
    keep = lambda s: s.grad and bool(differentiable_positions(info, s))
    if dtype == "float64":
        samples = [s for s in info.expanded_samples(rng_for(info.name, "grad")) if keep(s)]
    else:
        samples = sweep_samples(info, request.config, "grad", keep=keep)
    for sample in samples:
        pos = differentiable_positions(info, sample)
        args, kwargs = convert(sample, backend, dtype)
        r = rounded(sample, backend, dtype)
        expected = reference_grads(info, r)
        out_shape = reference_value(info, r).shape
        with force_generic(path == "generic"):
            got = loss_grads(info, backend, args, kwargs, pos, out_shape)
        for i, g, e in zip(pos, got, expected):
            # Gradients scale with the values; an absolute floor relative to the largest
            # component keeps low-precision checks meaningful for tiny components.
            atol = dtype_tol[1] + dtype_tol[0] * float(np.max(np.abs(e), initial=0.0))
            np.testing.assert_allclose(
                g, e, rtol=dtype_tol[0], atol=atol,
                err_msg=f"d {info.name} / d arg{i}, {sample!r} on {backend}/{dtype}/{path}")
        checked += 1
    assert checked, f"{info.name}: no sample was differentiable"


@pytest.mark.backends("torch")
@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_torch_gradcheck(info, backend):
    """torch.autograd.gradcheck in float64 (finite differences vs autograd)."""
    import torch

    checked = 0
    for sample in info.expanded_samples(rng_for(info.name, "gradcheck"))[:4]:
        pos = differentiable_positions(info, sample)
        if not sample.grad or not pos:
            continue
        args, kwargs = convert(sample, backend, "float64")

        def f(*diff, args=args, kwargs=kwargs, pos=pos):
            full = list(args)
            for i, d in zip(pos, diff):
                full[i] = d
            return info.func(*full, **kwargs)

        inputs = tuple(args[i].detach().requires_grad_(True) for i in pos)
        assert torch.autograd.gradcheck(f, inputs, eps=1e-6, atol=1e-5, rtol=1e-4)
        checked += 1
    assert checked


@pytest.mark.backends("jax")
@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_jax_jit_and_vmap(info, backend, dtype, request):
    """Under jax.jit the value equals the reference; jax.vmap over a stacked batch of samples
    equals the reference of each (the representative samples; ``--exhaustive``: all)."""
    if dtype not in ("float32", "float64"):
        pytest.skip("jit/vmap are checked in float32/float64; low precision is covered eagerly")
    rtol, atol = info.tol(dtype)
    for sample in sweep_samples(info, request.config, "jit"):
        args, kwargs = convert(sample, backend, dtype)
        arr_pos = [i for i, a in enumerate(sample.args) if isinstance(a, np.ndarray)]

        def call(*arrays, args=args, kwargs=kwargs, arr_pos=arr_pos):
            full = list(args)
            for i, a in zip(arr_pos, arrays):
                full[i] = a
            return info.func(*full, **kwargs)

        arrays = [args[i] for i in arr_pos]
        expected = reference_value(info, rounded(sample, backend, dtype))
        _check_jit(info, backend, dtype, sample, call, arrays, expected, (rtol, atol))
        _check_vmap(info, backend, dtype, sample, call, arr_pos, (rtol, atol))


def _check_jit(info, backend, dtype, sample, call, arrays, expected, tol):
    import jax

    if not info.supports("jit", backend.name):
        assert_unsupported(info, "jit", lambda: jax.jit(call)(*arrays))
        return
    out = jax.jit(call)(*arrays)
    assert_result(out, backend, dtype, arrays[0], expected, tol, f"jit {info.name} {sample!r}")


def _check_vmap(info, backend, dtype, sample, call, arr_pos, tol):
    """Three variants of the sample (float arrays scaled), stacked on a new axis."""
    import jax
    import jax.numpy as jnp

    scales = (1.0, 0.5, 1.5)
    variants = [
        SampleInput(
            tuple(a * s if isinstance(a, np.ndarray) and a.dtype.kind == "f"
                  and i in info.float_args else a for i, a in enumerate(sample.args)),
            sample.kwargs, sample.desc)
        for s in scales
    ]
    conv = [convert(v, backend, dtype)[0] for v in variants]
    stacked = [jnp.stack([c[i] for c in conv]) for i in arr_pos]
    if not info.supports("vmap", backend.name):
        assert_unsupported(info, "vmap", lambda: jax.vmap(call)(*stacked))
        return
    got = jax.vmap(call)(*stacked)
    for k, v in enumerate(variants):
        exp_k = reference_value(info, rounded(v, backend, dtype))
        assert_result(got[k], backend, dtype, stacked[0][k], exp_k, tol,
                      f"vmap {info.name} {v!r} #{k}")


@pytest.mark.backends("torch")
@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_torch_compile_fullgraph(info, backend):
    """torch.compile(fullgraph=True) traces the loss without graph breaks (aot_eager backend:
    the full Dynamo + AOTAutograd trace, without inductor's C++ build time) and agrees with
    eager, value and gradient."""
    import torch

    sample = next(s for s in info.expanded_samples(rng_for(info.name, "compile"))
                  if s.kwargs.get("reduction", "mean") == "mean")
    args, kwargs = convert(sample, backend, "float32")
    pos = differentiable_positions(info, sample)
    torch._dynamo.reset()
    compiled = torch.compile(lambda *a: info.func(*a, **kwargs), fullgraph=True,
                             backend="aot_eager")
    eager_args = [a.detach().requires_grad_(True) if i in pos else a for i, a in enumerate(args)]
    comp_args = [a.detach().requires_grad_(True) if i in pos else a for i, a in enumerate(args)]
    eager = info.func(*eager_args, **kwargs)
    if not info.supports("compile", backend.name):
        assert_unsupported(info, "compile", lambda: compiled(*comp_args))
        return
    comp = compiled(*comp_args)
    torch.testing.assert_close(comp, eager, rtol=1e-5, atol=1e-6)
    if pos and sample.grad:
        ge = torch.autograd.grad(eager.sum(), [eager_args[i] for i in pos])
        gc = torch.autograd.grad(comp.sum(), [comp_args[i] for i in pos])
        for a, b in zip(gc, ge):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def _error_cases(info):
    rng = rng_for(info.name, "errors")
    cases = list(info.errors(rng))
    base = info.expanded_samples(rng)[0]
    if "reduction" in _options(info):
        cases.append(ErrorInput(SampleInput(base.args, {**base.kwargs, "reduction": "avg"}),
                                ValueError, r"`reduction` must be one of 'mean', 'sum', 'none'"))
    for i in info.float_args:
        if isinstance(base.args[i], np.ndarray):
            bad = list(base.args)
            bad[i] = np.zeros(base.args[i].shape, dtype=np.int64)
            cases.append(ErrorInput(SampleInput(tuple(bad), base.kwargs), TypeError,
                                    r"must have a real floating dtype"))
    return cases


def _options(info):
    import inspect

    return {p.name for p in inspect.signature(info.func).parameters.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY}


@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_bad_input_raises_clear_error(info, backend):
    """Every error input raises its documented type, and the message names the loss."""
    cases = _error_cases(info)
    assert cases
    for case in cases:
        if case.data_dependent and backend.name == "dask":
            continue  # lazy: value checks would force a compute (tested in test_lazy_*)
        args, kwargs = convert(case.sample, backend, "float64")
        with pytest.raises(case.error_type, match=case.match) as exc:
            info.func(*args, **kwargs)
        assert str(exc.value).startswith(f"{info.name}:"), str(exc.value)


@pytest.mark.backends("numpy")
@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_mixed_frameworks_and_devices_raise(info, backend):
    """Arrays of two libraries: TypeError; arrays on two devices: ValueError (array-api-strict
    has several devices on CPU, so this runs without a GPU)."""
    pytest.importorskip("torch")
    import array_api_strict as strict
    import torch

    sample = info.expanded_samples(rng_for(info.name, "mixed"))[0]
    arrays = [i for i, a in enumerate(sample.args) if isinstance(a, np.ndarray)]
    if len(arrays) < 2:
        pytest.skip(f"{info.name} takes a single array")
    args = list(sample.args)
    args[arrays[1]] = torch.from_numpy(args[arrays[1]])
    with pytest.raises(TypeError, match=rf"^{info.name}: .*numpy array but .* torch array"):
        info.func(*args, **sample.kwargs)

    dev = strict.Device("device1")
    args = [strict.asarray(a) if isinstance(a, np.ndarray) else a for a in sample.args]
    args[arrays[1]] = strict.asarray(sample.args[arrays[1]], device=dev)
    kwargs = {k: strict.asarray(v) if isinstance(v, np.ndarray) else v
              for k, v in sample.kwargs.items()}
    with pytest.raises(ValueError, match=rf"^{info.name}: .*on device"):
        info.func(*args, **kwargs)


@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_class_wrapper_equals_function(info):
    """The generated arrayloss.nn class gives the function's result, options included."""
    from arrayloss._lib._registry import REGISTRY

    spec = REGISTRY[info.name]
    cls = getattr(arrayloss.nn, spec.class_name)
    for sample in info.expanded_samples(rng_for(info.name, "nn"))[:6]:
        obj = cls(**sample.kwargs)
        np.testing.assert_array_equal(obj(*sample.args), info.func(*sample.args, **sample.kwargs))
    with pytest.raises(TypeError, match=rf"{spec.class_name}: unknown option"):
        cls(not_an_option=1)


def _torch_hvp(out, xs, cot, vs, to_numpy):
    """d/dx <grad sum(out * cot), v> by torch autograd with create_graph, as NumPy; a first
    derivative that is constant (no graph) counts as 0."""
    import torch

    gs = torch.autograd.grad((out * torch.as_tensor(cot)).sum(), xs, create_graph=True,
                             allow_unused=True)
    inner = sum((g * torch.as_tensor(v)).sum() for g, v in zip(gs, vs)
                if g is not None and g.requires_grad)
    if not torch.is_tensor(inner):  # every first derivative is constant
        return [np.zeros(v.shape) for v in vs]
    hv = torch.autograd.grad(inner, xs, allow_unused=True)
    return [np.zeros(v.shape) if h is None or h._is_zerotensor() else to_numpy(h)
            for h, v in zip(hv, vs)]


def _reference_hvp(info, sample, pos, cot, vs):
    """torch double backward of the float64 reference, or None where torch's own kernels
    have no second derivative."""
    from tests._harness import _to_torch

    args = [_to_torch(a, requires_grad=i in pos) for i, a in enumerate(sample.args)]
    try:
        out = info.ref(*args, **{k: _to_torch(v) for k, v in sample.kwargs.items()})
        return _torch_hvp(out, [args[i] for i in pos], cot, vs,
                          lambda h: h.double().numpy())
    except RuntimeError:
        return None


def _backend_hvp(info, backend, args, kwargs, pos, cot, vs):
    """The same product by the backend's own autodiff (eager torch create_graph, or JAX
    reverse over reverse)."""
    if backend.name.startswith("torch"):
        targs = list(args)
        for i in pos:
            targs[i] = targs[i].detach().requires_grad_(True)
        out = info.func(*targs, **kwargs)
        return _torch_hvp(out, [targs[i] for i in pos], cot, vs, backend.to_numpy)
    import jax
    import jax.numpy as jnp

    def f(*diff):
        full = list(args)
        for i, d in zip(pos, diff):
            full[i] = d
        return jnp.sum(info.func(*full, **kwargs) * jnp.asarray(cot))

    def inner(*diff):
        gs = jax.grad(f, argnums=tuple(range(len(pos))))(*diff)
        return sum(jnp.sum(g * jnp.asarray(v)) for g, v in zip(gs, vs))

    hv = jax.jit(jax.grad(inner, argnums=tuple(range(len(pos)))))(*[args[i] for i in pos])
    return [backend.to_numpy(h) for h in hv]


FIRST_ORDER_ONLY = "the second derivative is not implemented"


@pytest.mark.backends("torch,jax")
@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_second_order_matches_reference(info, backend):
    """Hessian-vector products (float64, the default path) against torch's double backward
    of the reference, for the first two kinds of differentiable sample. Where a loss's
    gradient is first order only on a backend (``supports_gradgrad``, e.g. a hand-written
    chunked gradient), differentiating twice raises, naming the loss, never a silently
    dropped second derivative; some sample must still be refused there."""
    if not info.ref_grad:
        pytest.skip(f"{info.name}: reference ({info.provenance}) is not differentiable by torch")
    supported, checked, refused = info.supports("gradgrad", backend.name), 0, 0
    rng = rng_for(info.name, "hvp")
    firsts = {}  # the first two kinds of sample (a reference's double backward is not
    for s in info.expanded_samples(rng):  # accurate at the extremes: cosh(166) squared)
        if s.grad and len(firsts) < 2:
            firsts.setdefault(s.desc, s)
    for sample in firsts.values():
        pos = differentiable_positions(info, sample)
        if not pos:
            continue
        cot = cotangent(reference_value(info, sample).shape)
        vs = [rng.standard_normal(np.shape(sample.args[i])) for i in pos]
        expected = _reference_hvp(info, sample, pos, cot, vs)
        if expected is None:
            continue
        args, kwargs = convert(sample, backend, "float64")
        try:
            got = _backend_hvp(info, backend, args, kwargs, pos, cot, vs)
        except RuntimeError as e:
            if supported or not str(e).startswith(f"{info.name}: {FIRST_ORDER_ONLY}"):
                raise
            refused += 1
            checked += 1
            continue
        for i, g, e in zip(pos, got, expected):
            np.testing.assert_allclose(
                g, e, rtol=1e-6, atol=1e-8 * (1 + float(np.max(np.abs(e), initial=0.0))),
                err_msg=f"HVP of {info.name} / arg{i}, {sample!r} on {backend}")
        checked += 1
    if not supported:  # the flag is still needed: some sample is refused
        assert refused, (f"{info.name}: supports_gradgrad excludes {backend}, but every "
                         "sample's second derivative works: update the flag in tests/loss_info")
    if not checked:
        pytest.skip(f"{info.name}: the reference has no second derivative")


@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_unchecked_bad_values_give_nan(info, backend, path):
    """Where a value check does not run (``check_values="never"``, the stand-in for an
    accelerator, a trace or a lazy array; lazy Dask always), an input the check would refuse
    gives a NaN result, never a plausible number. A loss handed to the library's own kernel
    (torch) gets that kernel's behaviour: its error, or torch's value where torch checks
    nothing."""
    import arrayloss

    cases = [c for c in _error_cases(info) if c.data_dependent]
    if not cases:
        pytest.skip(f"{info.name} has no value check")
    for case in cases:
        args, kwargs = convert(case.sample, backend, "float64")
        with arrayloss.options(check_values="never"), force_generic(path == "generic"):
            try:
                out = info.func(*args, **kwargs)
            except (IndexError, RuntimeError) as err:
                if path == "native" and backend.name in ("torch", "torch_cuda"):
                    continue  # torch's own kernel checks on the device, as torch does
                raise AssertionError(f"{case.sample}: raised {err!r}") from err
        got = backend.to_numpy(out)
        if path == "native" and native_loss(info.name, backend.xp) is not None:
            continue  # handed to the library's own kernel: its checks, as the library has
        assert np.isnan(got).any(), f"{info.name} {case.sample}: {got} has no NaN"
