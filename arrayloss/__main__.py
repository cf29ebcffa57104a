"""``python -m arrayloss``: check that every loss works here, on every installed backend.

For each registered loss and each installed backend (NumPy always; array-api-strict,
PyTorch, JAX, Dask, CuPy and PyTorch CUDA when installed / when a GPU is present):

1. run the loss in **float32** on a sample input of the kind it declares at registration
   (``arrayloss/_check.py``);
2. compare it with a **float64 reference** computed once per loss, independent of the code
   under test where possible: ``torch.nn.functional.<loss>`` in float64 when PyTorch is
   installed and torch has the loss (``ref = torch``), else arrayloss's own generic
   array-API path in NumPy float64 (``ref = generic``: a float32-vs-float64 consistency
   check of the native kernels, not an independent reference);
3. time it against the backend's native loss where one exists: ``torch.nn.functional`` on
   PyTorch (eager), optax on JAX (both under ``jax.jit``); on JAX the arrayloss time is the
   jitted call too.

It prints one table (loss x backend: max relative error, time, ratio to native) and exits
with status 1 if any loss errs or misses the float32 tolerance.

    python -m arrayloss [--losses cross_entropy,mse_loss] [--backends numpy,torch]
                        [--json results.json] [--quick] [--size 256x256]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from ._check import (
    Sample,
    convert,
    make_sample,
    peer_from_registry,
    registered,
    sync_for,
    time_interleaved,
)
from ._lib._registry import LossSpec
from .testing import force_generic

BACKENDS = ("numpy", "array_api_strict", "torch", "jax", "dask", "cupy", "torch_cuda")
_MODULE = {"array_api_strict": "array_api_strict", "torch_cuda": "torch"}
# float32 result vs float64 reference: sums of a few 10^5 float32 terms stay well inside.
TOLERANCE = 1e-4
DTYPE = "float32"


def installed_backends() -> list[str]:
    out = []
    for b in BACKENDS:
        if importlib.util.find_spec(_MODULE.get(b, b)) is None:
            continue
        if b == "torch_cuda" or b == "cupy":
            try:
                if b == "cupy":
                    import cupy

                    if cupy.cuda.runtime.getDeviceCount() == 0:
                        continue
                else:
                    import torch

                    if not torch.cuda.is_available():
                        continue
            except Exception:
                continue
        out.append(b)
    return out


def to_numpy(x: Any) -> np.ndarray:
    mod = type(x).__module__
    if mod.startswith("torch"):
        return np.asarray(x.detach().cpu().double().numpy())
    if mod.startswith("dask"):
        x = x.compute()
    elif mod.startswith("cupy"):
        x = x.get()
    elif mod.startswith("array_api_strict"):
        x = np.from_dlpack(x)
    return np.asarray(x, dtype=np.float64)


def reference(spec: LossSpec, sample: Sample, have_torch: bool) -> tuple[np.ndarray, str]:
    """The float64 reference value and what it is (``torch`` or ``generic``)."""
    peer = peer_from_registry(spec, "torch") if have_torch else None
    if peer is not None:
        try:
            args = [convert(a, "torch", "float64") for a in sample.args]
            return to_numpy(peer(*args, **sample.kwargs)), "torch"
        except Exception:
            pass
    with force_generic():
        return to_numpy(spec.func(*sample.args, **sample.kwargs)), "generic"


def rel_error(got: np.ndarray, ref: np.ndarray) -> float:
    """Normwise relative error: max |got - ref| / max |ref|."""
    if got.shape != ref.shape:
        return float("inf")
    scale = float(np.max(np.abs(ref))) if ref.size else 0.0
    diff = float(np.max(np.abs(got - ref))) if ref.size else 0.0
    if not np.all(np.isfinite(got)):
        return float("inf")
    return diff / scale if scale > 0 else diff


def native_for(spec: LossSpec, backend: str) -> tuple[Any, str] | None:
    if backend in ("torch", "torch_cuda"):
        peer = peer_from_registry(spec, "torch")
        return (peer, "torch.nn.functional") if peer is not None else None
    if backend == "jax":
        peer = peer_from_registry(spec, "optax")
        return (peer, "optax (jit)") if peer is not None else None
    return None


def run_one(
    spec: LossSpec, backend: str, sample: Sample, ref: np.ndarray, timing: dict[str, Any]
) -> dict[str, Any]:
    rec: dict[str, Any] = {"loss": spec.name, "backend": backend, "dtype": DTYPE}
    args = [convert(a, backend, DTYPE) for a in sample.args]
    kwargs = sample.kwargs
    fn: Callable[[], Any] = lambda: spec.func(*args, **kwargs)
    native = native_for(spec, backend)
    nat_fn: Callable[[], Any] | None = None
    if backend == "jax":
        import jax

        jitted = jax.jit(lambda *a: spec.func(*a, **kwargs))
        fn = lambda: jitted(*args)
        if native is not None:
            nat_jit = jax.jit(lambda *a: native[0](*a, **kwargs))
            nat_fn = lambda: nat_jit(*args)
    elif native is not None:
        nat_fn = lambda: native[0](*args, **kwargs)
    try:
        got = to_numpy(fn())
    except Exception as e:
        rec.update(status="error", error=f"{type(e).__name__}: {e}"[:200])
        return rec
    rec["max_rel_error"] = err = rel_error(got, ref)
    rec["status"] = "ok" if err <= TOLERANCE else "FAIL"
    if nat_fn is not None:
        try:
            nat_err = rel_error(to_numpy(nat_fn()), ref)
            rec["native_rel_error"] = nat_err
        except Exception as e:
            rec["native_error"] = f"{type(e).__name__}: {e}"[:200]
            nat_fn = None
    if timing["enabled"]:
        fns = {"arrayloss": fn}
        if nat_fn is not None:
            fns["native"] = nat_fn
        try:
            times = time_interleaved(
                fns,
                sync=sync_for(backend),
                repeat=timing["repeat"],
                min_time=timing["min_time"],
                warmup=1,
            )
        except Exception as e:
            rec["timing_error"] = f"{type(e).__name__}: {e}"[:200]
        else:
            rec["time_s"] = times["arrayloss"]
            if "native" in times:
                rec["native"] = native[1] if native else None
                rec["native_time_s"] = times["native"]
                rec["ratio"] = times["arrayloss"] / times["native"]
    return rec


def _fmt_time(t: float | None) -> str:
    if t is None:
        return "-"
    if t < 1e-3:
        return f"{t * 1e6:.1f} us"
    if t < 1:
        return f"{t * 1e3:.2f} ms"
    return f"{t:.2f} s"


def format_table(records: list[dict[str, Any]]) -> str:
    head = (
        "loss",
        "backend",
        "ref",
        "max rel err",
        "time",
        "native",
        "native time",
        "ratio",
        "status",
    )
    rows = [head]
    for r in records:
        err = r.get("max_rel_error")
        rows.append(
            (
                r["loss"],
                r["backend"],
                r.get("reference", "-"),
                "-" if err is None else f"{err:.1e}",
                _fmt_time(r.get("time_s")),
                r.get("native") or "-",
                _fmt_time(r.get("native_time_s")),
                f"{r['ratio']:.2f}x" if "ratio" in r else "-",
                r["status"] + (f" ({r['error']})" if "error" in r else ""),
            )
        )
    widths = [max(len(str(row[i])) for row in rows[:]) for i in range(len(head) - 1)]
    lines = []
    for k, row in enumerate(rows):
        cells = [str(c).ljust(w) for c, w in zip(row[:-1], widths)] + [str(row[-1])]
        lines.append("  ".join(cells).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths) + "  ------")
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "numpy": np.__version__,
    }
    for mod in ("torch", "jax", "dask", "array_api_strict", "cupy", "optax"):
        if mod in sys.modules:
            info[mod] = getattr(sys.modules[mod], "__version__", "?")
    return info


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m arrayloss", description=__doc__.split("\n")[0])
    p.add_argument("--losses", help="comma-separated loss names (default: all registered)")
    p.add_argument(
        "--backends",
        help=f"comma-separated, from {', '.join(BACKENDS)} (default: every installed one)",
    )
    p.add_argument("--json", metavar="PATH", help="also write the records as JSON")
    p.add_argument("--quick", action="store_true", help="tiny inputs, minimal timing")
    p.add_argument("--no-timing", action="store_true", help="check values only")
    p.add_argument(
        "--size",
        default=None,
        help="batch x classes/features of the sample inputs (default 256x256; --quick: 8x10)",
    )
    return p.parse_args(argv)


def select_backends(requested: str | None) -> list[str] | None:
    """The backends to run: the requested ones that are installed (every installed one by
    default); None when a requested name is not a backend."""
    available = installed_backends()
    if not requested:
        return available
    backends = [b.strip() for b in requested.split(",") if b.strip()]
    unknown = [b for b in backends if b not in BACKENDS]
    if unknown:
        print(f"unknown backend(s) {unknown}; known: {', '.join(BACKENDS)}", file=sys.stderr)
        return None
    for b in backends:
        if b not in available:
            print(f"skipping {b}: not installed (or no GPU)", file=sys.stderr)
    return [b for b in backends if b in available]


def check_loss(
    spec: LossSpec,
    backends: list[str],
    size: tuple[int, int],
    timing: dict[str, Any],
    have_torch: bool,
) -> list[dict[str, Any]]:
    """The records of one loss: its float64 reference once, then one record per backend."""
    sample = make_sample(spec, *size)
    if sample is None:
        error = "no sample input kind fits this loss"
        return [{"loss": spec.name, "backend": "-", "status": "skipped", "error": error}]
    try:
        with warnings.catch_warnings():
            # Peers' deprecation notices (torch kl_div "mean") are not this job's news.
            warnings.simplefilter("ignore")
            ref, ref_name = reference(spec, sample, have_torch)
    except Exception as e:
        error = f"reference: {type(e).__name__}: {e}"[:200]
        return [{"loss": spec.name, "backend": "-", "status": "error", "error": error}]
    records: list[dict[str, Any]] = []
    for backend in backends:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rec = run_one(spec, backend, sample, ref, timing)
        rec["reference"] = ref_name
        rec["shapes"] = [list(a.shape) for a in sample.args if hasattr(a, "shape")]
        records.append(rec)
    return records


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    args = parse_args(argv)
    specs = registered(args.losses.split(",") if args.losses else None)
    backends = select_backends(args.backends)
    if backends is None:
        return 2
    if args.size:
        n, c = (int(v) for v in args.size.lower().split("x"))
    else:
        n, c = (8, 10) if args.quick else (256, 256)
    timing = {
        "enabled": not args.no_timing,
        "repeat": 3 if args.quick else 5,
        "min_time": 0.002 if args.quick else 0.01,
    }
    have_torch = importlib.util.find_spec("torch") is not None
    if "jax" in backends:
        import jax

        jax.config.update("jax_enable_x64", True)  # type: ignore[no-untyped-call]  # float64 references and inputs kept
    t0 = time.perf_counter()
    records: list[dict[str, Any]] = []
    for spec in specs:
        records += check_loss(spec, backends, (n, c), timing, have_torch)
    elapsed = time.perf_counter() - t0
    print(
        f"arrayloss main job: {len(specs)} losses x {len(backends)} backends "
        f"({', '.join(backends)}), {DTYPE} vs float64 reference, inputs ~{n}x{c}"
    )
    print(
        "ref: torch = torch.nn.functional in float64 (independent peer); generic = "
        "arrayloss's generic array-API path in NumPy float64 (consistency check)"
    )
    print(
        "time: median per call; ratio = arrayloss / native (torch.nn.functional eager on "
        "torch, optax on jax; both jitted on jax)\n"
    )
    print(format_table(records))
    bad = [r for r in records if r["status"] not in ("ok", "skipped")]
    n_ok = sum(r["status"] == "ok" for r in records)
    print(
        f"\n{n_ok} ok, {len(bad)} not ok, {len(records) - n_ok - len(bad)} skipped, "
        f"in {elapsed:.1f} s"
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {"machine": machine(), "size": [n, c], "tolerance": TOLERANCE, "records": records},
                f,
                indent=1,
            )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
