"""Property tests (hypothesis) over every registered loss and every backend.

Driven only by the ``LossInfo`` entries: no loss-specific code here. Examples are the
entry's own samples, perturbed (floating arguments of ``scale_args`` multiplied by a
positive factor 1e-4..1e4, the batch permuted, weights rescaled), plus its declared
``extreme_samples``. The float64 reference is the oracle for "the math is finite here" and
for the loss's own reduction semantics (its mean denominator: a count, summed weights, a
batch size), so a family joins by adding entries, nothing else.

Properties:

* finite values, and finite gradients on torch/jax, wherever the float64 reference is
  finite and representable in the dtype; unconditionally on the ``extreme_samples``;
* ``sum == mean * D`` with ``D`` the reference's own ``sum / mean`` (the element count,
  the summed weights...), ``sum == sum(none)`` where the reference has it, and the
  ``reduction="none"`` shape equal to torch's (the reference's);
* weighted analogue: ``weight=ones`` equals no weight, and rescaling the weights changes
  mean and sum by the reference's factor (0 for a weight-normalised mean, c for a sum);
* the mean (and the unreduced losses, permuted) is invariant under a permutation of the
  batch, wherever the reference is.

Budgets: ``max_examples`` 10 per (loss, backend) by default, 100 with ``--exhaustive``;
``deadline=None``, ``derandomize=True`` (CI reproducible), no example database.
"""

from __future__ import annotations

import os
import warnings
from collections import Counter
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arrayloss.testing import force_generic
from tests._harness import (
    convert,
    differentiable_positions,
    exhaustive,
    loss_grads,
    reference_grads,
    reference_value,
    rng_for,
    rounded,
)
from tests.loss_info import LOSSES, LossInfo, SampleInput

IDS = [info.name for info in LOSSES]
FAST_EXAMPLES, SLOW_EXAMPLES = 10, 100
# An example counts as "finite math" only if the float64 reference is below finfo.max / MARGIN
# (values within a factor 1000 of overflow may legitimately overflow in an intermediate).
MARGIN = 1e3

CASES: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def _case_log():
    """With ARRAYLOSS_CASE_LOG=path, append how many cases each property ran (for reports)."""
    yield
    path = os.environ.get("ARRAYLOSS_CASE_LOG")
    if path:
        with open(path, "a") as f:
            f.writelines(f"properties {k} {v}\n" for k, v in sorted(CASES.items()))


def _run(request, strategy, body) -> None:
    """Run ``body`` on ``strategy`` under this suite's hypothesis budget."""
    slow = exhaustive(request.config)

    @settings(max_examples=SLOW_EXAMPLES if slow else FAST_EXAMPLES, deadline=None,
              derandomize=True, database=None, print_blob=False,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def inner(example):
        body(*example)

    inner()


# -- sample pools and perturbations ---------------------------------------------------------

_POOLS: dict[tuple[str, str], list[SampleInput]] = {}


def pool(info: LossInfo, kind: str = "samples") -> list[SampleInput]:
    """The entry's samples (or extreme samples), crossed with its reductions, cached."""
    key = (info.name, kind)
    if key not in _POOLS:
        if kind == "samples":
            _POOLS[key] = info.expanded_samples(rng_for(info.name, "properties"))
        else:
            raw = LossInfo(info.name, info.func, info.extreme_samples, info.ref, "",
                           reductions=info.reductions)
            _POOLS[key] = raw.expanded_samples(rng_for(info.name, "extreme"))
    return _POOLS[key]


def is_float_array(a: Any) -> bool:
    return isinstance(a, np.ndarray) and a.dtype.kind == "f"


def scaled(info: LossInfo, sample: SampleInput, factor: float) -> SampleInput:
    pos = info.scale_args if info.scale_args is not None else info.float_args
    args = tuple(a * factor if i in pos and is_float_array(a) else a
                 for i, a in enumerate(sample.args))
    return SampleInput(args, dict(sample.kwargs), f"{sample.desc} x{factor:.3g}", sample.grad)


def with_kwargs(sample: SampleInput, **kw: Any) -> SampleInput:
    kwargs = {k: v for k, v in {**sample.kwargs, **kw}.items() if v is not _DROP}
    return SampleInput(sample.args, kwargs, sample.desc, sample.grad)


_DROP = object()


def batch_axes(info: LossInfo, sample: SampleInput) -> tuple[list[int | None], dict[str, int]]:
    """Batch axis of each positional array and of each array option (see LossInfo)."""
    first = sample.args[0]
    if info.batch_axes is not None:
        return list(info.batch_axes), {}
    if not isinstance(first, np.ndarray) or first.ndim == 0:
        return [None] * len(sample.args), {}
    n = first.shape[0]
    axes: list[int | None] = [
        0 if isinstance(a, np.ndarray) and a.ndim >= 1 and a.shape[0] == n else None
        for a in sample.args
    ]
    # Array options (weights) are batched when they broadcast against the input row-wise.
    kw = {k: 0 for k, v in sample.kwargs.items()
          if isinstance(v, np.ndarray) and v.ndim == first.ndim and v.shape[0] == n}
    return axes, kw


def permuted(sample: SampleInput, axes: list[int | None], kw_axes: dict[str, int],
             perm: np.ndarray) -> SampleInput:
    take = lambda a, ax: a if ax is None else np.take(a, perm, axis=ax)
    args = tuple(take(a, ax) if isinstance(a, np.ndarray) else a
                 for a, ax in zip(sample.args, axes))
    kwargs = {k: take(v, kw_axes.get(k)) if isinstance(v, np.ndarray) else v
              for k, v in sample.kwargs.items()}
    return SampleInput(args, kwargs, sample.desc + " permuted", sample.grad)


# -- evaluation ----------------------------------------------------------------------------

_REF_CACHE: dict[tuple, Any] = {}


def ref_or_none(info: LossInfo, sample: SampleInput, key: tuple | None = None) -> Any:
    """The float64 reference, or None if it raises (the example is outside the domain)."""
    if key is not None and key in _REF_CACHE:
        return _REF_CACHE[key]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = reference_value(info, sample)
    except Exception:
        out = None
    if key is not None:
        _REF_CACHE[key] = out
    return out


def call(info: LossInfo, backend, sample: SampleInput, dtype: str, generic: bool = False):
    args, kwargs = convert(sample, backend, dtype)
    with force_generic(generic):
        return info.func(*args, **kwargs)


def call_np(info, backend, sample, dtype="float64", generic=False) -> np.ndarray:
    return backend.to_numpy(call(info, backend, sample, dtype, generic))


def representable(x: np.ndarray, dtype: str) -> bool:
    import ml_dtypes  # ships with jax; gives bfloat16's finfo

    info = np.finfo(ml_dtypes.bfloat16 if dtype == "bfloat16" else dtype)
    return bool(np.all(np.isfinite(x)) and np.all(np.abs(x) < float(info.max) / MARGIN))


def prop_dtypes(backend) -> list[str]:
    return [d for d in ("float32", "float64") if d in backend.dtypes]


def assert_finite(info, backend, sample, dtype, generic, check_grad, what):
    args, kwargs = convert(sample, backend, dtype)
    with force_generic(generic):
        out = info.func(*args, **kwargs)
    got = backend.to_numpy(out)
    assert np.all(np.isfinite(got)), f"{what}: non-finite value {got}"
    pos = differentiable_positions(info, sample)
    if check_grad and backend.differentiable and sample.grad and pos:
        with force_generic(generic):
            grads = loss_grads(info, backend, args, kwargs, pos, tuple(got.shape))
        for i, g in zip(pos, grads):
            bad = ~np.isfinite(g)
            assert not bad.any(), f"{what}: non-finite d/d arg{i} at {np.argwhere(bad)[:4]}"
        CASES["finite-grad"] += 1
    CASES["finite-value"] += 1


# -- properties ------------------------------------------------------------------------------


@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_extreme_samples_finite(info, backend):
    """Every declared extreme sample: finite value, and finite gradients (torch, jax), on the
    native and the generic path, in float32 and float64."""
    extremes = pool(info, "extreme")
    if not extremes:
        pytest.skip(f"{info.name} declares no extreme_samples")
    paths = (False, True) if backend.has_natives else (False,)
    for dtype in prop_dtypes(backend):
        for sample in extremes:
            for generic in paths:
                assert_finite(info, backend, sample, dtype, generic, True,
                              f"{info.name} extreme {sample!r} {backend}/{dtype}"
                              f"/{'generic' if generic else 'native'}")


@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_finite_where_math_is_finite(info, backend, request):
    """Perturbed samples: finite value (and gradient) wherever the float64 reference is."""
    samples = pool(info)
    dtypes = prop_dtypes(backend)
    strategy = st.tuples(st.integers(0, len(samples) - 1), st.floats(-4, 4),
                         st.sampled_from(dtypes), st.booleans())

    def body(idx, log_scale, dtype, generic):
        factor = float(10.0 ** round(log_scale, 1))
        sample = scaled(info, samples[idx], factor)
        r = rounded(sample, backend, dtype)
        ref = ref_or_none(info, r, (info.name, "finite", idx, factor, dtype))
        if ref is None or not representable(ref, dtype):
            CASES["finite-n/a (reference not finite)"] += 1
            return
        check_grad = False
        if backend.differentiable and info.ref_grad and r.grad:
            try:
                rg = reference_grads(info, r)
                check_grad = all(representable(g, dtype) for g in rg)
            except Exception:
                check_grad = False
        assert_finite(info, backend, sample, dtype, generic and backend.has_natives, check_grad,
                      f"{info.name} {sample!r} {backend}/{dtype}")

    _run(request, strategy, body)


def _ratio(a: float, b: float) -> float | None:
    return a / b if np.isfinite(a) and np.isfinite(b) and b != 0 else None


@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_reductions_are_consistent(info, backend, request):
    """sum == mean * D (D from the reference), sum == sum(none) where the reference has it,
    the ``none`` shape equals the reference's; the weighted analogues."""
    if not {"mean", "sum", "none"} <= set(info.reductions):
        pytest.skip(f"{info.name} does not take mean/sum/none reductions")
    base = [s for s in pool(info) if s.kwargs.get("reduction") == "mean"]
    if not base:
        pytest.skip(f"{info.name}: no sample with reduction='mean'")
    strategy = st.tuples(st.integers(0, len(base) - 1), st.floats(-2, 2),
                         st.sampled_from([0.5, 3.0, 1e3]))
    dtype = "float64" if "float64" in backend.dtypes else "float32"
    rtol = 1e-9 if dtype == "float64" else 1e-4

    def body(idx, log_scale, c):
        factor = float(10.0 ** round(log_scale, 1))
        sample = rounded(scaled(info, base[idx], factor), backend, dtype)
        what = f"{info.name} {sample!r} {backend}/{dtype}"
        red = {r: with_kwargs(sample, reduction=r) for r in ("mean", "sum", "none")}
        ref = {r: ref_or_none(info, s) for r, s in red.items()}
        if any(v is None or not np.all(np.isfinite(v)) for v in ref.values()):
            CASES["reductions-n/a"] += 1
            return
        got = {r: call_np(info, backend, s, dtype) for r, s in red.items()}
        assert got["none"].shape == ref["none"].shape, (
            f"{what}: reduction='none' shape {got['none'].shape}, torch {ref['none'].shape}")
        assert got["mean"].shape == () and got["sum"].shape == (), what
        d = _ratio(float(ref["sum"]), float(ref["mean"]))
        if d is not None:
            np.testing.assert_allclose(got["sum"], got["mean"] * d, rtol=rtol, atol=1e-300,
                                       err_msg=f"{what}: sum != mean * {d:.6g}")
            CASES["sum == mean*D"] += 1
        if np.isclose(ref["none"].sum(), ref["sum"], rtol=1e-12, atol=1e-300):
            np.testing.assert_allclose(got["sum"], got["none"].sum(), rtol=rtol, atol=1e-300,
                                       err_msg=f"{what}: sum != sum(none)")
            CASES["sum == sum(none)"] += 1
        w = sample.kwargs.get("weight")
        if is_float_array(w):
            for r in ("mean", "sum", "none"):
                ones = call_np(info, backend, with_kwargs(red[r], weight=np.ones_like(w)), dtype)
                plain = call_np(info, backend, with_kwargs(red[r], weight=_DROP), dtype)
                np.testing.assert_allclose(ones, plain, rtol=rtol, atol=1e-300,
                                           err_msg=f"{what}: weight=ones != no weight ({r})")
                CASES["weight=ones == unweighted"] += 1
            for r in ("mean", "sum"):
                big = with_kwargs(red[r], weight=w * c)
                ref_ratio = _ratio(float(ref_or_none(info, big)), float(ref[r]))
                if ref_ratio is None:
                    continue
                got_ratio = float(call_np(info, backend, big, dtype)) / float(got[r])
                np.testing.assert_allclose(got_ratio, ref_ratio, rtol=rtol * 10,
                                           err_msg=f"{what}: weight * {c} scales {r} wrongly")
                CASES["weight scaling"] += 1
        CASES["reductions"] += 1

    _run(request, strategy, body)


@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_mean_invariant_under_batch_permutation(info, backend, request):
    """Permuting the batch leaves the mean unchanged and permutes the unreduced losses,
    wherever the reference behaves so (the batch axes are inferred, see LossInfo)."""
    base = [s for s in pool(info)
            if s.kwargs.get("reduction", "mean") == "mean"
            and isinstance(s.args[0], np.ndarray) and s.args[0].ndim >= 1
            and s.args[0].shape[0] >= 2]
    if not base:
        pytest.skip(f"{info.name}: no batched sample")
    dtype = "float64" if "float64" in backend.dtypes else "float32"
    rtol = 1e-10 if dtype == "float64" else 1e-5
    has_none = "none" in info.reductions
    strategy = st.tuples(st.integers(0, len(base) - 1), st.integers(0, 2**31 - 1))

    def body(idx, seed):
        sample = rounded(base[idx], backend, dtype)
        axes, kw_axes = batch_axes(info, sample)
        if axes[0] is None:
            CASES["permutation-n/a"] += 1
            return
        n = sample.args[0].shape[axes[0]]
        perm = np.random.default_rng(seed).permutation(n)
        p = permuted(sample, axes, kw_axes, perm)
        ref0, ref1 = ref_or_none(info, sample), ref_or_none(info, p)
        if ref0 is None or ref1 is None or not np.allclose(ref0, ref1, rtol=1e-12, atol=0,
                                                           equal_nan=True):
            CASES["permutation-n/a"] += 1  # not a batch axis for this loss
            return
        what = f"{info.name} {sample!r} perm={perm} {backend}/{dtype}"
        np.testing.assert_allclose(call_np(info, backend, p, dtype),
                                   call_np(info, backend, sample, dtype), rtol=rtol,
                                   atol=1e-300, equal_nan=True, err_msg=what)
        CASES["mean permutation-invariant"] += 1
        if has_none:
            none0 = with_kwargs(sample, reduction="none")
            r0 = ref_or_none(info, none0)
            if r0 is not None and r0.ndim >= 1 and r0.shape[0] == n:
                r1 = ref_or_none(info, with_kwargs(p, reduction="none"))
                if r1 is not None and np.allclose(r1, r0[perm], rtol=1e-12, equal_nan=True):
                    np.testing.assert_allclose(
                        call_np(info, backend, with_kwargs(p, reduction="none"), dtype),
                        call_np(info, backend, none0, dtype)[perm], rtol=rtol, atol=1e-300,
                        equal_nan=True, err_msg=what + " (none)")
                    CASES["none permutes with the batch"] += 1

    _run(request, strategy, body)
