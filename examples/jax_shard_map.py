"""Data-parallel training with ``jax.shard_map`` and an arrayloss loss.

Each device holds a slice of the batch, computes the arrayloss loss and its gradient on its
slice, and the gradients are averaged with ``jax.lax.pmean``: arrayloss never moves data
between devices itself, the program around it decides. On a CPU-only machine, fake devices
stand in for accelerators:

    XLA_FLAGS=--xla_force_host_platform_device_count=8 python examples/jax_shard_map.py

(the script sets that flag itself when it is not set). Prints the loss every few steps and a
final JSON line with the initial and final loss.
"""

from __future__ import annotations

import argparse
import json
import os

if "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "")
                               + " --xla_force_host_platform_device_count=8")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

import arrayloss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch-per-device", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.1)
    args = parser.parse_args()

    devices = jax.devices()
    mesh = Mesh(np.array(devices), ("batch",))
    n = args.batch_per_device * len(devices)

    # A noisy linear-regression problem: y = x @ w_true + 0.1 noise, fitted with Huber loss.
    rng = np.random.default_rng(0)
    w_true = rng.standard_normal((16, 4)).astype(np.float32)
    x = rng.standard_normal((n, 16)).astype(np.float32)
    y = x @ w_true + 0.1 * rng.standard_normal((n, 4)).astype(np.float32)
    batch = NamedSharding(mesh, P("batch"))
    x, y = jax.device_put(x, batch), jax.device_put(y, batch)
    params = jnp.zeros((16, 4), jnp.float32)

    def local_loss(w, xb, yb):
        return arrayloss.huber_loss(xb @ w, yb, delta=1.0)

    @jax.jit
    @jax.shard_map(mesh=mesh, in_specs=(P(), P("batch"), P("batch")), out_specs=(P(), P()))
    def loss_and_grad(w, xb, yb):
        loss, g = jax.value_and_grad(local_loss)(w, xb, yb)
        # Every shard has the same number of examples, so the mean of the per-shard means is
        # the global mean (arrayloss's reduction="mean"), and likewise for the gradient.
        return jax.lax.pmean(loss, "batch"), jax.lax.pmean(g, "batch")

    initial = None
    loss = jnp.nan
    for step in range(args.steps):
        loss, g = loss_and_grad(params, x, y)
        params = params - args.lr * g
        if initial is None:
            initial = float(loss)
        if step % max(args.steps // 5, 1) == 0:
            print(f"step {step:4d}  loss {float(loss):.5f}")
    full = float(arrayloss.huber_loss(x @ params, y, delta=1.0))
    print(json.dumps({"devices": len(devices), "initial_loss": initial,
                      "final_loss": float(loss), "final_loss_unsharded": full}))


if __name__ == "__main__":
    main()
