"""Peak memory and time of forward+backward for large-vocabulary linear cross entropy.

torch CPU: arrayloss.linear_cross_entropy vs the naive two-step ``F.cross_entropy(x @ W.T)``
and torch 2.13's chunked ``F.linear_cross_entropy(..., options=LinearCrossEntropyOptions())``.
Peak memory is the growth of the process's resident set during the first call above the
resident set just before it (each case runs in a fresh subprocess; the kernel's peak mark is
reset with ``/proc/self/clear_refs`` right before the call, so a transient of the set-up,
such as creating the inputs, does not hide part of the call's peak), measured with glibc's
mmap threshold fixed at 1 MiB (``MALLOC_MMAP_THRESHOLD_``) so that freed blocks leave the
resident set at once: with glibc's adaptive default, freed chunk temporaries linger in the
heap and the same call measured anywhere from 200 to 700 MiB from run to run. The inputs
and the gradients' own memory (``input.grad``, ``linear_weight.grad``: the same for every
method) count. Time is measured in a second subprocess with the default allocator (the
fixed threshold costs page faults). JAX: temp memory from the compiled executable's
``memory_analysis()`` of value_and_grad, arrayloss vs naive optax
``softmax_cross_entropy_with_integer_labels(x @ W.T)``.

    python benchmarks/bench_linear_ce.py            # the three SIZES below
    python benchmarks/bench_linear_ce.py --quick    # a small size, for development

Writes benchmarks/results/linear_ce.md.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys

SIZES = [(4096, 512, 32768), (8192, 1024, 32768), (8192, 1024, 65536)]
QUICK = [(1024, 256, 8192)]
METHODS = ["naive", "torch_chunked", "arrayloss"]


def _status_kib(field: str) -> int:
    for line in pathlib.Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def _reset_peak() -> int:
    """Reset the kernel's peak-RSS mark to the current RSS (Linux ``clear_refs`` 5) and
    return that RSS in KiB: the call's peak is then measured from the state just before it,
    not from an earlier transient (creating the inputs). Falls back to ``ru_maxrss``."""
    import resource

    try:
        pathlib.Path("/proc/self/clear_refs").write_text("5")
        return _status_kib("VmRSS")
    except OSError:
        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def _peak_kib() -> int:
    import resource

    try:
        return _status_kib("VmHWM")
    except (OSError, KeyError):
        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def _torch_case(method: str, n: int, d: int, v: int) -> dict:
    import time

    import numpy as np
    import torch
    import torch.nn.functional as F

    import arrayloss as al
    from arrayloss._check import linear_ce_inputs

    x64, w64, t64 = linear_ce_inputs(np.random.default_rng(0), n, d, v)
    x = torch.from_numpy(x64.astype(np.float32)).requires_grad_(True)
    w = torch.from_numpy(w64.astype(np.float32)).requires_grad_(True)
    t = torch.from_numpy(t64)
    del x64, w64  # the float64 draws are not part of the call's memory

    def run() -> None:
        if method == "naive":
            loss = F.cross_entropy(x @ w.T, t)
        elif method == "torch_chunked":
            loss = F.linear_cross_entropy(x, w, t, options=torch.nn.LinearCrossEntropyOptions())
        else:
            loss = al.linear_cross_entropy(x, w, t)
        loss.backward()
        x.grad = w.grad = None

    # Warm up at a tiny size first: lazy imports and allocator set-up are not the loss's.
    xs, ws, ts = x[:8].detach(), w[:16].detach(), t[:8] % 16
    F.cross_entropy(xs @ ws.T, ts)
    F.linear_cross_entropy(xs, ws, ts, options=torch.nn.LinearCrossEntropyOptions())
    al.linear_cross_entropy(xs, ws, ts)
    base = _reset_peak()
    t0 = time.perf_counter()
    run()
    first = time.perf_counter() - t0
    peak = _peak_kib() - base
    t0 = time.perf_counter()
    run()
    second = time.perf_counter() - t0
    return {"peak_mib": peak / 1024, "time_s": min(first, second)}


def _jax_case(n: int, d: int, v: int) -> dict:
    import jax
    import jax.numpy as jnp
    import optax

    import arrayloss as al

    x = jnp.zeros((n, d), jnp.float32)
    w = jnp.zeros((v, d), jnp.float32)
    t = jnp.zeros((n,), jnp.int32)

    def ours(x, w, t):
        return al.linear_cross_entropy(x, w, t)

    def naive(x, w, t):
        return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(x @ w.T, t))

    out = {}
    for name, fn in (("optax_naive", naive), ("arrayloss", ours)):
        c = jax.jit(jax.value_and_grad(fn, argnums=(0, 1))).lower(x, w, t).compile()
        out[name] = c.memory_analysis().temp_size_in_bytes / 2**20
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--n-sizes", type=int, default=len(SIZES))
    ap.add_argument("--case", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.case:
        spec = json.loads(args.case)
        if spec["method"] == "jax":
            print(json.dumps(_jax_case(*spec["size"])))
        else:
            print(json.dumps(_torch_case(spec["method"], *spec["size"])))
        return
    sizes = QUICK if args.quick else SIZES[: args.n_sizes]
    rows = []
    for size in sizes:
        res = {}
        for method in [*METHODS, "jax"]:
            spec = json.dumps({"method": method, "size": size})
            runs = []
            for env in ({"MALLOC_MMAP_THRESHOLD_": str(2**20)}, {}):
                proc = subprocess.run(
                    [sys.executable, __file__, "--case", spec],
                    capture_output=True,
                    text=True,
                    check=True,
                    env={**os.environ, **env},
                )
                runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
                if method == "jax":
                    break
            res[method] = runs[0]
            if method != "jax":
                res[method]["time_s"] = runs[1]["time_s"]
            print(size, method, res[method], flush=True)
        rows.append((size, res))
    lines = [
        "# linear_cross_entropy: forward + backward, torch CPU (float32)",
        "",
        "Peak = growth of the resident set during the first call over the set just before it "
        "(peak mark reset before the call; glibc mmap threshold fixed at 1 MiB, so freed "
        "memory leaves the RSS; the gradients themselves count); time = best of 2 calls, "
        "default allocator, separate process.",
        "JAX = temp bytes of the compiled value_and_grad (XLA memory_analysis).",
        "",
        "| N, D, V | naive MiB / s | torch chunked MiB / s | arrayloss MiB / s "
        "| JAX optax naive MiB | JAX arrayloss MiB |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for size, r in rows:
        cells = [f"{r[m]['peak_mib']:.0f} / {r[m]['time_s']:.2f}" for m in METHODS]
        lines.append(
            f"| {size} | "
            + " | ".join(cells)
            + f" | {r['jax']['optax_naive']:.0f} | {r['jax']['arrayloss']:.0f} |"
        )
    lines += [
        "",
        "Ratios, arrayloss / peer (lower is better; targets: memory <= torch chunked and "
        "<= 1/8 of naive, time <= naive, JAX memory <= 1/8 of naive optax):",
        "",
        "| N, D, V | memory / torch chunked | memory / naive | time / naive "
        "| time / torch chunked | JAX memory / optax naive |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for size, r in rows:
        a, nv, ch, jx = r["arrayloss"], r["naive"], r["torch_chunked"], r["jax"]
        lines.append(
            f"| {size} | {a['peak_mib'] / ch['peak_mib']:.2f} "
            f"| {a['peak_mib'] / nv['peak_mib']:.3f} "
            f"| {a['time_s'] / nv['time_s']:.2f} | {a['time_s'] / ch['time_s']:.2f} "
            f"| {jx['arrayloss'] / jx['optax_naive']:.3f} |"
        )
    out = pathlib.Path(__file__).parent / "results" / "linear_ce.md"
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
