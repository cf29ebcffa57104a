"""Scale-out: JAX sharding, a Dask distributed cluster, and torch's functional transforms,
over every registered loss (a family joins by its ``LossInfo`` entries).

* JAX: the losses under ``jax.jit`` on inputs sharded over the batch on 8 fake CPU devices
  equal the unsharded run, value and gradient; the compiled HLO never gathers the inputs
  (batch-coupled losses excepted, listed below with why); the gradient comes back sharded
  like its input. Runs in one subprocess (``tests/_sharding_worker.py``) because the device
  count is fixed when JAX starts.
* Dask: the losses on Dask arrays return lazy Dask results, computed on a
  ``dask.distributed`` ``LocalCluster`` of two worker processes on loopback; the result
  equals the reference.
* torch: ``torch.func.grad`` equals torch autograd of the reference, and ``torch.func.vmap``
  over stacked samples equals the reference of each. (``torch.compile(fullgraph=True)`` is in
  ``test_losses.py``; ``jax.vmap`` likewise.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests._harness import (
    convert,
    cotangent,
    differentiable_positions,
    reference_grads,
    reference_value,
    rng_for,
    rounded,
    skip_if,
)
from tests.loss_info import LOSSES, SampleInput

IDS = [info.name for info in LOSSES]
ROOT = Path(__file__).resolve().parents[1]

# Losses whose value couples the whole batch, so a batch-sharded input must be exchanged
# between devices (an all-gather is the right plan there, not a defect).
BATCH_COUPLED = {
    "info_nce_loss": "every embedding is compared with every other one in the batch",
    "lovasz_hinge_loss": "sorts the errors of the whole batch (per_image=False)",
    "lovasz_softmax_loss": "sorts the errors of the whole batch (per_image=False)",
}


def _mean_samples(info, tag, reductions=("mean",)):
    return [s for s in info.expanded_samples(rng_for(info.name, tag))
            if s.kwargs.get("reduction", "mean") in reductions]


# -- JAX sharding --------------------------------------------------------------------------


def _run_fake_devices(args, timeout):
    """Run a JAX program on 8 fake CPU devices in a fresh process. XLA's in-process
    collectives abort the process (SIGABRT, "Termination timeout ... rendezvous") when one
    of the 8 device threads is not scheduled within 40 s, which a 2-core machine running
    another test worker can starve it of (seen once in CI, 2026-12-04): that abort, and only
    it, is run once more."""
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "OMP_NUM_THREADS": "1"}

    def run():
        return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=timeout, check=False)

    proc = run()
    if proc.returncode == -6 and "Termination timeout" in proc.stderr:
        proc = run()
    return proc


@pytest.fixture(scope="module")
def sharding_rows():
    pytest.importorskip("jax")
    proc = _run_fake_devices(["-m", "tests._sharding_worker"], timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    return {r["loss"]: r for r in rows}


@pytest.mark.backends("jax")
@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_jax_batch_sharded_jit(info, backend, sharding_rows):
    skip_if(info, "test_jax_batch_sharded_jit")
    row = sharding_rows[info.name]
    assert "error" not in row, row.get("error")
    if "skipped" in row:
        pytest.skip(row["skipped"])
    assert row["n_devices"] == 8
    assert row["value_rel_diff"] < 1e-12, row
    assert row["grad_rel_diff"] < 1e-12, row
    assert row["grad_sharded"], f"gradient not sharded like its input: {row}"
    if info.name not in BATCH_COUPLED:
        assert not row["all_gather"], f"compiled HLO gathers the sharded inputs: {row}"


@pytest.mark.backends("jax")
@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_jax_arrays_on_a_second_device_stay_there(info, backend, sharding_rows):
    """Inputs committed to the second of several CPU devices: the result, eager and jitted,
    is on that device too (nothing the loss creates pulls it to the default device), and
    equals the default device's."""
    row = sharding_rows[info.name]
    assert "error" not in row, row.get("error")
    placed = row["second_device"]
    assert placed["eager_devices"] == [placed["expected"]], placed
    assert placed["jit_devices"] == [placed["expected"]], placed
    assert placed["max_diff"] == 0.0, placed


@pytest.mark.backends("jax")
def test_shard_map_data_parallel_example(backend):
    """The shard_map data-parallel training example runs on 8 fake devices and learns."""
    proc = _run_fake_devices([str(ROOT / "examples" / "jax_shard_map.py"), "--steps", "60"],
                             timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["devices"] == 8
    assert result["final_loss"] < 0.5 * result["initial_loss"], result


# -- Dask distributed ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("dask.distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=None,
                                       # No dashboard; its HTTP server (health/metrics routes) still
                                       # starts, by default on 8787: a free port instead, so two
                                       # clusters (pytest-xdist workers) do not collide.
                                       scheduler_kwargs={"dashboard_address": "127.0.0.1:0"})
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


@pytest.mark.backends("dask")
@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_dask_distributed_cluster(info, backend, dask_client):
    """Lazy result; computed by two worker processes on loopback, it equals the reference."""
    import dask.array as da

    skip_if(info, "dask")
    samples = _mean_samples(info, "distributed", ("mean", "none"))[:2]
    assert samples
    for sample in samples:
        args, kwargs = convert(sample, backend, "float64")
        out = info.func(*args, **kwargs)
        assert isinstance(out, da.Array), f"{info.name} returned {type(out)} on Dask"
        got = dask_client.compute(out).result()
        expected = reference_value(info, rounded(sample, backend, "float64"))
        np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-9, atol=1e-12,
                                   err_msg=f"{info.name} {sample!r}")


@pytest.mark.backends("dask")
def test_dask_out_of_core_example_small(backend):
    """The out-of-core example at a small size: chunked, lazy, equal to NumPy's mse."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "dask_out_of_core.py"), "--elements", "4e6",
         "--chunk", "1e6", "--check"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-4000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["elements"] == 4_000_000
    np.testing.assert_allclose(result["mse"], result["numpy_mse"], rtol=1e-6)


# -- torch.func ----------------------------------------------------------------------------


@pytest.mark.backends("torch")
@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_torch_func_grad(info, backend):
    """torch.func.grad of sum(loss * cotangent) equals torch autograd of the reference."""
    import torch

    skip_if(info, "torch.func")
    if not info.ref_grad:
        pytest.skip(f"{info.name}: the reference's gradient is not the loss's (ref_grad=False)")
    checked = 0
    for sample in _mean_samples(info, "func.grad", ("mean", "none"))[:3]:
        pos = differentiable_positions(info, sample)
        if not pos or not sample.grad:
            continue
        args, kwargs = convert(sample, backend, "float64")
        expected_out = reference_value(info, sample)
        cot = torch.from_numpy(cotangent(expected_out.shape))

        def f(*diff, args=args, kwargs=kwargs, pos=pos, cot=cot):
            full = list(args)
            for i, d in zip(pos, diff):
                full[i] = d
            return (info.func(*full, **kwargs) * cot).sum()

        grads = torch.func.grad(f, argnums=tuple(range(len(pos))))(*[args[i] for i in pos])
        expected = reference_grads(info, sample)
        rtol, atol = info.grad_tol("float64")
        for g, e in zip(grads, expected):
            np.testing.assert_allclose(g.detach().numpy(), e, rtol=rtol, atol=atol,
                                       err_msg=f"torch.func.grad {info.name} {sample!r}")
        checked += 1
    if not checked:
        pytest.skip(f"{info.name}: no differentiable sample")


@pytest.mark.backends("torch")
@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_torch_func_vmap(info, backend):
    """torch.func.vmap over three stacked variants of a sample equals the reference of each
    (data-dependent checks are skipped on vmapped tensors, never a host read)."""
    import torch

    skip_if(info, "torch.func")
    sample = _mean_samples(info, "func.vmap")[0]
    variants = [
        SampleInput(tuple(a * s if isinstance(a, np.ndarray) and a.dtype.kind == "f"
                          and i in info.float_args else a for i, a in enumerate(sample.args)),
                    sample.kwargs, sample.desc)
        for s in (1.0, 0.5, 1.5)
    ]
    arr_pos = [i for i, a in enumerate(sample.args) if isinstance(a, np.ndarray)]
    conv = [convert(v, backend, "float64") for v in variants]
    args0, kwargs = conv[0]

    def call(*arrays):
        full = list(args0)
        for i, a in zip(arr_pos, arrays):
            full[i] = a
        return info.func(*full, **kwargs)

    stacked = [torch.stack([c[0][i] for c in conv]) for i in arr_pos]
    got = torch.func.vmap(call)(*stacked)
    rtol, atol = info.tol("float64")
    for k, v in enumerate(variants):
        np.testing.assert_allclose(got[k].numpy(), reference_value(info, v), rtol=rtol,
                                   atol=atol, err_msg=f"torch.func.vmap {info.name} #{k}")
