"""Tracing safety (issue 7): jax.jit/vmap/grad, torch.compile(fullgraph=True), Dask laziness.

Extends ``tests/test_losses.py``, which already runs every loss under ``jax.jit`` and
``jax.vmap`` (values, float32/float64) and ``torch.compile(fullgraph=True)`` on one
``reduction="mean"`` sample. Here, registry-driven (no loss-specific code):

* ``jax.jit(jax.grad(...))`` equals torch autograd of the float64 reference, and
  ``jax.vmap(jax.grad(...))`` over a stacked batch of variants equals the eager gradients;
* ``torch.compile(fullgraph=True)`` on every reduction of a sample, called on
  the sample and on a batch-resized copy (automatic dynamic shapes), equals
  eager, values and gradients;
* Dask: building the loss of every sample (and every extreme sample) computes nothing (a
  scheduler callback counts computes), the result is lazy, and ``.compute()`` computes once
  and equals the reference.

The traced suites run on a representative subset of the losses, rotated by a seed:
``--trace-seed`` is not a pytest option here, so the environment variable
``ARRAYLOSS_TRACE_SEED`` (default 0; CI may pass its run number) picks ``SUBSET`` losses
per run, and ``--exhaustive`` runs them all. The Dask laziness test always covers every loss.
"""

from __future__ import annotations

import os
import random
import warnings
from collections import Counter

import numpy as np
import pytest

from tests._harness import (
    assert_unsupported,
    convert,
    cotangent,
    differentiable_positions,
    exhaustive,
    reference_grads,
    reference_value,
    rng_for,
    rounded,
)
from tests.loss_info import LOSSES, LossInfo, SampleInput

IDS = [info.name for info in LOSSES]
SUBSET = 8
CASES: Counter[str] = Counter()


def trace_seed() -> int:
    return int(os.environ.get("ARRAYLOSS_TRACE_SEED", "0"))


def rotated_subset(seed: int, k: int = SUBSET) -> set[str]:
    """``k`` loss names, a different (seeded) selection per seed."""
    names = sorted(IDS)
    return set(random.Random(seed).sample(names, min(k, len(names))))


def in_subset(request, info: LossInfo) -> None:
    if exhaustive(request.config):
        return
    seed = trace_seed()
    if info.name not in rotated_subset(seed):
        pytest.skip(f"not in this run's rotated subset (ARRAYLOSS_TRACE_SEED={seed}; "
                    "--exhaustive: all)")


@pytest.fixture(scope="module", autouse=True)
def _case_log():
    """With ARRAYLOSS_CASE_LOG=path, append how many cases each check ran (for reports)."""
    yield
    path = os.environ.get("ARRAYLOSS_CASE_LOG")
    if path:
        with open(path, "a") as f:
            f.writelines(f"tracing {k} {v}\n" for k, v in sorted(CASES.items()))


def _grad_samples(info: LossInfo, tag: str) -> list[SampleInput]:
    return [
        s
        for s in info.expanded_samples(rng_for(info.name, tag))
        if s.grad and differentiable_positions(info, s)
    ]


def test_rotation_covers_every_loss():
    """The rotation is a real rotation: over enough seeds every loss is traced."""
    seen: set[str] = set()
    for seed in range(4 * len(IDS)):
        seen |= rotated_subset(seed)
    assert seen == set(IDS)


# -- jax.grad ----------------------------------------------------------------------------------


@pytest.mark.backends("jax")
@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_jax_jit_grad_and_vmap_grad(info, backend, request):
    """jit(grad(loss)) equals torch autograd of the reference; vmap(grad(loss)) over three
    scaled variants equals the eager grad of each."""
    import jax
    import jax.numpy as jnp

    in_subset(request, info)
    if not info.ref_grad:
        pytest.skip(f"{info.name}: reference is not differentiable by torch")
    dtype = "float64"
    samples = _grad_samples(info, "trace-grad")
    if not samples:
        pytest.skip(f"{info.name}: no differentiable sample")
    rtol, atol = info.grad_tol(dtype)
    for sample in samples[:6]:
        pos = differentiable_positions(info, sample)
        args, kwargs = convert(sample, backend, dtype)
        r = rounded(sample, backend, dtype)
        expected = reference_grads(info, r)
        out_shape = reference_value(info, r).shape
        # The reference's VJP uses the harness cotangent; sum() needs a scalar.
        cot = jnp.asarray(cotangent(out_shape))

        def scalar(*diff, args=args, kwargs=kwargs, pos=pos, cot=cot):
            full = list(args)
            for i, d in zip(pos, diff):
                full[i] = d
            return jnp.sum(info.func(*full, **kwargs) * cot)

        argnums = tuple(range(len(pos)))
        if not info.supports("jit", backend.name):
            assert_unsupported(info, "jit", lambda: jax.jit(jax.grad(scalar, argnums=argnums))(
                *[args[i] for i in pos]))
            continue
        got = jax.jit(jax.grad(scalar, argnums=argnums))(*[args[i] for i in pos])
        for i, g, e in zip(pos, got, expected):
            np.testing.assert_allclose(
                np.asarray(g),
                e,
                rtol=rtol,
                atol=atol + rtol * float(np.max(np.abs(e), initial=0.0)),
                err_msg=f"jit(grad) d {info.name}/d arg{i} {sample!r}",
            )
        CASES["jax.jit(jax.grad)"] += 1

        # vmap over variants of the differentiable arrays (scaled), the rest shared.
        scales = (1.0, 0.5, 1.5)
        stacked = [jnp.stack([args[i] * s for s in scales]) for i in pos]
        if not info.supports("vmap", backend.name):
            assert_unsupported(info, "vmap",
                               lambda: jax.vmap(jax.grad(scalar, argnums=argnums))(*stacked))
            continue
        vgot = jax.vmap(jax.grad(scalar, argnums=argnums))(*stacked)
        for k, s in enumerate(scales):
            eager = jax.grad(scalar, argnums=argnums)(*[args[i] * s for i in pos])
            for g_v, g_e in zip(vgot, eager):
                np.testing.assert_allclose(
                    np.asarray(g_v[k]),
                    np.asarray(g_e),
                    rtol=1e-10,
                    atol=1e-12,
                    err_msg=f"vmap(grad) {info.name} {sample!r} variant {k}",
                )
        CASES["jax.vmap(jax.grad)"] += 1


# -- torch.compile ----------------------------------------------------------------------------


def _resized(sample: SampleInput, n: int) -> SampleInput | None:
    """The sample with its batch (axis 0 of every array whose first dim is the input's)
    resized to ``n`` by repeating rows; None if the input is not batched."""
    first = sample.args[0]
    if not isinstance(first, np.ndarray) or first.ndim < 2:
        return None
    b = first.shape[0]
    idx = np.arange(n) % b

    def take(a):
        if isinstance(a, np.ndarray) and a.ndim >= 1 and a.shape[0] == b and a.ndim == first.ndim:
            return a[idx]
        if isinstance(a, np.ndarray) and a.ndim >= 1 and a.shape[0] == b:
            return a[idx]
        return a

    return SampleInput(tuple(take(a) for a in sample.args), sample.kwargs, sample.desc, sample.grad)


@pytest.mark.backends("torch")
@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_torch_compile_every_reduction_dynamic(info, backend, request):
    """torch.compile(fullgraph=True) for each reduction of a sample, then on a
    batch-resized copy (automatic dynamic shapes): no graph break, equal to eager (value
    and gradient)."""
    import torch

    in_subset(request, info)
    samples = info.expanded_samples(rng_for(info.name, "trace-compile"))
    by_red: dict[object, SampleInput] = {}
    for s in samples:
        by_red.setdefault(s.kwargs.get("reduction"), s)
    for red, sample in by_red.items():
        variants = [sample]
        bigger = _resized(sample, sample.args[0].shape[0] + 3) if sample.args else None
        if bigger is not None:
            variants.append(bigger)
        torch._dynamo.reset()
        kwargs0 = convert(sample, backend, "float32")[1]
        compiled = torch.compile(
            lambda *a, kw=kwargs0: info.func(*a, **kw),
            fullgraph=True,
            backend="aot_eager",
        )
        for v in variants:
            if v is not sample and any(isinstance(val, np.ndarray) for val in v.kwargs.values()):
                continue  # array options are closed over: sized for the first variant
            args, _ = convert(v, backend, "float32")
            pos = differentiable_positions(info, v) if v.grad else []
            ea = [a.detach().requires_grad_(True) if i in pos else a for i, a in enumerate(args)]
            ca = [a.detach().requires_grad_(True) if i in pos else a for i, a in enumerate(args)]
            eager = info.func(*ea, **kwargs0)
            if not info.supports("compile", backend.name):
                assert_unsupported(info, "compile", lambda: compiled(*ca))
                return
            comp = compiled(*ca)
            what = f"compile {info.name} reduction={red} {v!r}"
            torch.testing.assert_close(comp, eager, rtol=1e-5, atol=1e-6, msg=what)
            if pos:
                ge = torch.autograd.grad(eager.sum(), [ea[i] for i in pos])
                gc = torch.autograd.grad(comp.sum(), [ca[i] for i in pos])
                for a, b in zip(gc, ge):
                    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6, msg=what)
            CASES["torch.compile(fullgraph, dynamic)"] += 1


# -- Dask laziness ------------------------------------------------------------------------------


class ComputeCounter:
    """Counts Dask computes (every scheduler ``get``) through a callback."""

    def __init__(self) -> None:
        from dask.callbacks import Callback

        self.n = 0
        outer = self

        class _CB(Callback):
            def _start(self, dsk):
                outer.n += 1

        self.cb = _CB()

    def __enter__(self):
        self.cb.__enter__()
        return self

    def __exit__(self, *exc):
        self.cb.__exit__(*exc)


@pytest.mark.backends("dask")
def test_compute_counter_counts(backend):
    """The counter sees an explicit compute (so a 0 below means none happened)."""
    import dask.array as da

    x = da.ones((4, 4), chunks=2)
    with ComputeCounter() as c:
        y = (x * 2).sum()
        assert c.n == 0
        y.compute()
        assert c.n == 1
        bool(y > 0)  # a hidden compute, the kind the suite guards against
        assert c.n == 2


@pytest.mark.backends("dask")
@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_dask_is_lazy_until_compute(info, backend):
    """Building the loss computes nothing; ``.compute()`` computes once and equals the
    reference (every sample, every reduction, and the extreme samples)."""
    import dask.array as da

    rng = rng_for(info.name, "trace-dask")
    extremes = LossInfo(
        info.name, info.func, info.extreme_samples, info.ref, "", reductions=info.reductions
    ).expanded_samples(rng)
    samples = info.expanded_samples(rng) + extremes
    dtype = "float64"
    rtol, atol = info.tol(dtype)
    for sample in samples:
        args, kwargs = convert(sample, backend, dtype)
        with ComputeCounter() as c:
            out = info.func(*args, **kwargs)
            assert c.n == 0, f"{info.name} {sample!r}: {c.n} compute(s) before .compute()"
            assert isinstance(out, da.Array), f"{info.name}: result is {type(out)}, not lazy"
            got = out.compute()
            assert c.n == 1, f"{info.name} {sample!r}: .compute() ran {c.n} computes"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = reference_value(info, rounded(sample, backend, dtype))
        if any(sample is e for e in extremes) and not np.all(np.isfinite(expected)):
            continue
        np.testing.assert_allclose(
            np.asarray(got, dtype=np.float64),
            expected,
            rtol=rtol,
            atol=atol,
            equal_nan=True,
            err_msg=f"dask {info.name} {sample!r}",
        )
        CASES["dask lazy until compute"] += 1
