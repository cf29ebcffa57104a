"""Runs every registered loss under ``jax.jit`` on batch-sharded inputs (8 fake CPU devices).

Executed in a subprocess by ``tests/test_scale_out.py`` because the device count must be
fixed (``XLA_FLAGS=--xla_force_host_platform_device_count=8``) before JAX initialises, and
the test process has already initialised it with one device. Prints one JSON object per
loss: the largest difference between the sharded and unsharded value and gradient, whether
the compiled HLO gathers the inputs (``all-gather``), and whether the gradient comes back
sharded like the input.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

N_DEVICES = 8
os.environ["XLA_FLAGS"] = (
    os.environ.get("XLA_FLAGS", "") + f" --xla_force_host_platform_device_count={N_DEVICES}"
)
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("KERAS_BACKEND", "torch")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax.sharding import Mesh, NamedSharding  # noqa: E402
from jax.sharding import PartitionSpec as P  # noqa: E402

jax.config.update("jax_enable_x64", True)

from tests._harness import differentiable_positions, rng_for  # noqa: E402
from tests.loss_info import LOSSES, LossInfo, SampleInput  # noqa: E402


def batch_axes(info: LossInfo, sample: SampleInput) -> list[int | None]:
    """The batch axis of each positional argument (the property tests' rule)."""
    if info.batch_axes is not None:
        axes = list(info.batch_axes) + [None] * len(sample.args)
        return axes[: len(sample.args)]
    first = sample.args[0]
    if not isinstance(first, np.ndarray) or first.ndim < 2:
        return [None] * len(sample.args)
    n = first.shape[0]
    return [0 if isinstance(a, np.ndarray) and a.ndim >= 1 and a.shape[0] == n else None
            for a in sample.args]


def tiled(sample: SampleInput, axes: list[int | None]) -> tuple:
    """The sample's batch repeated ``N_DEVICES`` times: every shard holds a full copy."""
    return tuple(np.concatenate([a] * N_DEVICES, axis=ax) if ax is not None else a
                 for a, ax in zip(sample.args, axes))


def check(info: LossInfo, mesh: Mesh) -> dict[str, Any]:
    samples = [s for s in info.expanded_samples(rng_for(info.name, "sharding"))
               if s.kwargs.get("reduction", "mean") in ("mean", "sum") and s.grad]
    for sample in samples:
        axes = batch_axes(info, sample)
        if axes[0] is None:
            continue
        args = tiled(sample, axes)
        pos = [i for i in differentiable_positions(info, sample) if axes[i] is not None][:1]
        if not pos:
            continue
        kwargs = sample.kwargs
        arr_pos = [i for i, a in enumerate(args) if isinstance(a, np.ndarray)]

        def f(*arrays: Any, args: tuple = args, kwargs: dict = kwargs,
              arr_pos: list[int] = arr_pos) -> Any:
            full = list(args)
            for i, a in zip(arr_pos, arrays):
                full[i] = a
            return jnp.sum(info.func(*full, **kwargs))

        plain = [jnp.asarray(args[i]) for i in arr_pos]
        try:
            expected = jax.jit(f)(*plain)
        except Exception:  # the tiled sample is not valid for this loss
            continue
        shardings = [NamedSharding(mesh, P(*[None] * axes[i], "batch")
                                   if axes[i] is not None else P())
                     for i in arr_pos]
        sharded = [jax.device_put(a, s) for a, s in zip(plain, shardings)]
        k = arr_pos.index(pos[0])
        grad_f = jax.jit(jax.grad(f, argnums=k))
        got = jax.jit(f)(*sharded)
        g_expected = grad_f(*plain)
        g_got = grad_f(*sharded)
        hlo = jax.jit(f).lower(*sharded).compile().as_text()
        scale = float(jnp.max(jnp.abs(g_expected))) or 1.0
        return {
            "loss": info.name,
            "sample": sample.desc or repr(kwargs),
            "value_rel_diff": float(abs(got - expected) / max(abs(float(expected)), 1e-300)),
            "grad_rel_diff": float(jnp.max(jnp.abs(g_got - g_expected))) / scale,
            "all_gather": "all-gather" in hlo,
            "grad_sharded": bool(
                g_got.sharding.is_equivalent_to(shardings[k], g_got.ndim)),
            "n_devices": len(jax.devices()),
        }
    return {"loss": info.name, "skipped": "no sample with a batch axis and a gradient"}


def second_device(info: LossInfo) -> dict[str, Any]:
    """The loss's first sample with every array committed to the second CPU device: where
    the result of an eager call and of a jitted one lives (arrays a loss creates must follow
    its inputs there), and how far the value is from the same call on the default device."""
    sample = info.expanded_samples(rng_for(info.name, "second device"))[0]
    dev = jax.devices()[1]

    def put(v: Any, target: Any) -> Any:
        return jax.device_put(jnp.asarray(v), target) if isinstance(v, np.ndarray) else v

    def call(target: Any, jit: bool) -> Any:
        args = [put(a, target) for a in sample.args]
        kwargs = {k: put(v, target) for k, v in sample.kwargs.items()}
        arrays = [i for i, a in enumerate(args) if isinstance(a, jax.Array)]

        def f(*arrs: Any) -> Any:
            full = list(args)
            for i, a in zip(arrays, arrs):
                full[i] = a
            return info.func(*full, **kwargs)

        return (jax.jit(f) if jit else f)(*[args[i] for i in arrays])

    default = call(jax.devices()[0], False)
    eager, jitted = call(dev, False), call(dev, True)
    return {
        "eager_devices": sorted(str(d) for d in eager.devices()),
        "jit_devices": sorted(str(d) for d in jitted.devices()),
        "expected": str(dev),
        "max_diff": float(np.max(np.abs(np.asarray(eager) - np.asarray(default)))),
    }


def main() -> None:
    names = set(sys.argv[1:])
    mesh = Mesh(np.array(jax.devices()), ("batch",))
    for info in LOSSES:
        if names and info.name not in names:
            continue
        try:
            row = check(info, mesh)
            row["second_device"] = second_device(info)
        except Exception as exc:
            row = {"loss": info.name, "error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
