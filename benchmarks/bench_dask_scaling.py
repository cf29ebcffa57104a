"""Dask scaling and out-of-core throughput of an arrayloss loss.

Runs ``examples/dask_out_of_core.py`` (MSE of two lazily generated float32 arrays) with the
threaded scheduler and with a ``dask.distributed`` LocalCluster of 1 and 2 worker processes,
plus one out-of-core run (default 2×10⁹ elements per array: 16 GB of inputs, more than this
machine holds comfortably), and writes ``benchmarks/results/dask_scaling.md``.

    python benchmarks/bench_dask_scaling.py [--elements 2e8] [--big 2e9] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "dask_out_of_core.py"


def run(elements: float, workers: int, chunk: float) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, str(EXAMPLE), "--elements", str(elements),
                           "--chunk", str(chunk), "--workers", str(workers)],
                          env=env, capture_output=True, text=True, check=True)
    row = json.loads(proc.stdout.strip().splitlines()[-1])
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    row["max_rss_mb_any_child"] = usage.ru_maxrss / 1024
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--elements", type=float, default=2e8)
    parser.add_argument("--big", type=float, default=2e9)
    parser.add_argument("--chunk", type=float, default=2.5e7)
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke run)")
    args = parser.parse_args()
    if args.quick:
        args.elements, args.big, args.chunk = 4e6, 8e6, 1e6
    rows = [("threads", run(args.elements, 0, args.chunk))]
    for workers in (1, 2):
        rows.append((f"distributed, {workers} worker(s)", run(args.elements, workers,
                                                                 args.chunk)))
    big = run(args.big, 2, args.chunk)
    lines = [
        "# Dask: scaling and out-of-core",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}. `mse_loss` of two lazily generated float32 arrays "
        "(uniform predictions, noisy targets; the generation is part of the time), chunks of "
        f"{int(args.chunk):,} elements.",
        "",
        "| scheduler | elements | input GB | seconds | elements/s | speed-up vs 1 worker |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    one = next(r for name, r in rows if name.startswith("distributed, 1"))
    for name, r in rows:
        lines.append(f"| {name} | {r['elements']:,} | {r['input_gb']:.1f} | "
                     f"{r['seconds']:.2f} | {r['elements_per_s']:.3g} | "
                     f"{one['seconds'] / r['seconds']:.2f}× |")
    lines += [
        "",
        f"Out of core: {big['elements']:,} elements per array ({big['input_gb']:.0f} GB of "
        f"inputs, never materialised) on 2 workers in {big['seconds']:.1f} s: "
        f"{big['input_gb_per_s']:.2f} GB/s of input, {big['elements_per_s']:.3g} elements/s; "
        f"largest process resident set {big['max_rss_mb_any_child']:.0f} MB; "
        f"mse = {big['mse']:.6f} (expected ≈ 0.01: targets are predictions plus noise of "
        "standard deviation 0.1).",
        "",
    ]
    out = ROOT / "benchmarks" / "results" / "dask_scaling.md"
    if not args.quick:
        out.write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
