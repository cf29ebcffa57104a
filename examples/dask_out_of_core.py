"""A loss over arrays larger than memory, chunk by chunk, with Dask.

Predictions and targets are generated lazily (never held in memory whole), ``arrayloss``
builds a lazy Dask graph of the loss, and Dask streams the chunks through the workers. With
the defaults (2×10⁹ float32 elements per array: 16 GB of inputs) the run needs a few hundred
megabytes of memory:

    python examples/dask_out_of_core.py --elements 2e9 --workers 2

Prints the loss, the elapsed time and the throughput as a final JSON line. ``--check`` also
computes the loss with NumPy on the materialised arrays (small sizes only).
"""

from __future__ import annotations

import argparse
import json
import time

import dask
import dask.array as da
import numpy as np

import arrayloss


def make_inputs(n: int, chunk: int) -> tuple[da.Array, da.Array]:
    """Lazily generated predictions and noisy targets: each chunk is made on a worker when
    the graph reaches it, so nothing of size ``n`` exists at any time."""
    rng = da.random.default_rng(0)
    pred = rng.random(n, chunks=chunk, dtype=np.float32)
    target = pred + 0.1 * rng.standard_normal(n, chunks=chunk, dtype=np.float32)
    return pred, target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--elements", type=float, default=2e9)
    parser.add_argument("--chunk", type=float, default=2.5e7)
    parser.add_argument("--workers", type=int, default=0,
                        help="dask.distributed worker processes (0: threaded scheduler)")
    parser.add_argument("--check", action="store_true", help="compare with NumPy (small n)")
    args = parser.parse_args()
    n, chunk = int(args.elements), int(args.chunk)

    pred, target = make_inputs(n, chunk)
    loss = arrayloss.mse_loss(pred, target)  # lazy: nothing is computed yet
    client = None
    if args.workers:
        from dask.distributed import Client, LocalCluster

        cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None,
                               # No dashboard; its HTTP server (health/metrics routes) still
                               # starts, by default on 8787: a free port instead, so two
                               # clusters (pytest-xdist workers) do not collide.
                               scheduler_kwargs={"dashboard_address": "127.0.0.1:0"})
        client = Client(cluster)
    start = time.perf_counter()
    value = float(loss.compute())
    elapsed = time.perf_counter() - start
    result = {
        "elements": n,
        "chunks": pred.numblocks[0],
        "input_gb": 2 * n * 4 / 1e9,
        "mse": value,
        "seconds": elapsed,
        "elements_per_s": n / elapsed,
        "input_gb_per_s": 2 * n * 4 / 1e9 / elapsed,
        "scheduler": f"distributed ({args.workers} workers)" if client else "threads",
    }
    if args.check:
        with dask.config.set(scheduler="sync"):
            p, t = dask.compute(pred, target)
        result["numpy_mse"] = float(np.mean((p.astype(np.float64) - t) ** 2))
    if client is not None:
        client.close()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
