"""The device side of ``scripts/gpu_check.py``: each sweep runs in a child process of it (its
own time limit, the carried wheels on its path) and writes its records as it goes, so a sweep
stopped at its limit still leaves what it found.

    python scripts/gpu_sweeps.py probe                      # JSON on stdout: what works here
    python scripts/gpu_sweeps.py nosync --out DIR           # DIR/nosync.json
    python scripts/gpu_sweeps.py compare --out DIR --backends cupy,jax   # DIR/compare.json

The judges (:func:`judge_nosync`, :func:`judge_compare`) read those records back in the parent.
Frameworks are imported inside the functions: importing this module needs the standard library
only.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

# float64 on the GPU vs NumPy float64 differs by summation order only; float32 as the main job.
TOLERANCE = {"float64": 1e-9, "float32": 1e-4}


def probe() -> dict[str, Any]:
    """What works here: each capability is a small computation on the device."""
    caps: dict[str, bool] = {}
    info: dict[str, Any] = {"versions": {}, "errors": {}}
    for dist in ("torch", "cupy-cuda13x", "cupy-cuda12x", "jax", "jaxlib", "optax", "numpy",
                 "array-api-compat", "array-api-strict", "monai", "pytest", "hypothesis"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            info["versions"][dist] = importlib.metadata.version(dist)
    try:
        import torch

        caps["torch_cuda"] = bool(torch.cuda.is_available())
        if caps["torch_cuda"]:
            caps["torch_cuda"] = float(torch.ones(3, device="cuda").sum()) == 3.0
            info["device"] = torch.cuda.get_device_name()
    except Exception as e:
        info["errors"]["torch_cuda"] = f"{type(e).__name__}: {e}"
    try:
        import cupy

        caps["cupy"] = cupy.cuda.runtime.getDeviceCount() > 0 and float(cupy.ones(3).sum()) == 3
    except Exception as e:
        info["errors"]["cupy"] = f"{type(e).__name__}: {e}"
    try:
        import jax

        caps["jax_cuda"] = jax.default_backend() == "gpu"
        info["jax_devices"] = [str(d) for d in jax.devices()]
    except Exception as e:
        info["errors"]["jax_cuda"] = f"{type(e).__name__}: {e}"
    try:
        import arrayloss

        info["arrayloss"] = str(Path(arrayloss.__file__).parent)
    except Exception as e:
        info["errors"]["arrayloss"] = f"{type(e).__name__}: {e}"
    return {"caps": caps, **info}


def _where(exc: BaseException) -> str:
    """The innermost arrayloss frame of a traceback: where the host read happens."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if "arrayloss" in Path(f.filename).parts]
    if not frames:
        return ""
    f = frames[-1]
    rel = Path(f.filename).as_posix().split("/arrayloss/", 1)[-1]
    return f" at arrayloss/{rel}:{f.lineno} ({f.name})"


def sync_probe(fn: Callable[[], Any]) -> str:
    """``ok``, ``sync<where>`` or ``error: ...`` for one call under the sync debug mode; one
    warm-up call first, outside it (CUDA's lazy initialisation is not the loss's)."""
    import torch

    try:
        fn()
        torch.cuda.synchronize()
    except Exception as e:
        return f"error: {type(e).__name__}: {e}".splitlines()[0][:300]
    torch.cuda.set_sync_debug_mode("error")
    try:
        fn()
        return "ok"
    except RuntimeError as e:
        if "synchroniz" in str(e):
            return "sync" + _where(e)
        return f"error: RuntimeError: {e}".splitlines()[0][:300]
    except Exception as e:
        return f"error: {type(e).__name__}: {e}".splitlines()[0][:300]
    finally:
        torch.cuda.set_sync_debug_mode(0)
        torch.cuda.synchronize()


def _fwd_bwd(
    f: Callable[..., Any], args: Sequence[Any], kwargs: dict[str, Any]
) -> Callable[[], Any]:
    def step() -> Any:
        x = args[0].detach().requires_grad_(True)
        f(x, *args[1:], **kwargs).sum().backward()
        return x.grad

    return step


def nosync_sweep(
    out: Path, n: int = 16, c: int = 10, losses: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """Every registered loss (or ``losses``), and its torch peer, on CUDA float32 tensors."""
    from arrayloss._check import convert, make_sample, peer_from_registry, registered

    records: list[dict[str, Any]] = []
    for spec in registered(losses):
        rec: dict[str, Any] = {"loss": spec.name}
        sample = make_sample(spec, n, c)
        if sample is None:
            rec["fwd"] = "error: no sample kind"
        else:
            args = [convert(a, "torch_cuda", "float32") for a in sample.args]
            kw = {k: convert(v, "torch_cuda", "float32") for k, v in sample.kwargs.items()}
            calls = {"": spec.func}
            peer = peer_from_registry(spec, "torch")
            if peer is not None:
                calls["peer_"] = peer
            for prefix, f in calls.items():
                rec[prefix + "fwd"] = sync_probe(lambda f=f: f(*args, **kw))
                if args[0].is_floating_point():
                    rec[prefix + "fwd+bwd"] = sync_probe(_fwd_bwd(f, args, kw))
        records.append(rec)
        dump(out / "nosync.json", {"records": records})
    return records


def _to_float64(x: Any) -> Any:
    import numpy as np

    mod = type(x).__module__
    if mod.startswith("cupy"):
        x = x.get()
    return np.asarray(x, dtype=np.float64)


def on_device(x: Any, backend: str) -> bool:
    """Whether a result stayed where its backend's inputs were (the GPU)."""
    if backend == "cupy":
        return type(x).__module__.startswith("cupy")
    if backend == "jax":
        return {d.platform for d in x.devices()} == {"gpu"}
    return True  # numpy: the reference itself (tests run the sweep with it)


def _call(f: Callable[..., Any], args: Sequence[Any], kw: dict[str, Any], backend: str) -> Any:
    if backend == "jax":
        import jax

        # One compiled program per loss: eager JAX compiles every primitive on the GPU, which
        # would not fit the phase (the eager calls run in the jax test phase).
        return jax.jit(lambda *a: f(*a, **kw))(*args)
    return f(*args, **kw)


def compare_sweep(out: Path, backends: Sequence[str], n: int = 16, c: int = 10,
                  losses: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Each loss on each backend in float64 and float32 (JAX under ``jax.jit``) vs arrayloss on
    NumPy float64."""
    from arrayloss.__main__ import rel_error
    from arrayloss._check import convert, make_sample, registered

    if "jax" in backends:
        import jax

        jax.config.update("jax_enable_x64", True)
    records: list[dict[str, Any]] = []
    for spec in registered(losses):
        rec: dict[str, Any] = {"loss": spec.name, "errors": {}}
        sample = make_sample(spec, n, c)
        if sample is None:
            continue
        ref = _to_float64(spec.func(*sample.args, **sample.kwargs))
        for b in backends:
            for dtype in TOLERANCE:
                key = f"{b}:{dtype}"
                try:
                    args = [convert(a, b, dtype) for a in sample.args]
                    kw = {k: convert(v, b, dtype) for k, v in sample.kwargs.items()}
                    got = _call(spec.func, args, kw, b)
                    if not on_device(got, b):
                        rec["errors"][key] = "result left the GPU"
                    rec[key] = rel_error(_to_float64(got), ref)
                except Exception as e:
                    rec["errors"][key] = f"{type(e).__name__}: {e}".splitlines()[0][:300]
        records.append(rec)
        dump(out / "compare.json", {"backends": list(backends), "records": records})
    return records


def dump(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, default=str))


# ---------------------------------------------------------------------------------------------
# Judging the records (in the parent, from the JSON a sweep wrote)
# ---------------------------------------------------------------------------------------------


def judge_nosync(records: Sequence[dict[str, Any]]) -> tuple[str, str, dict[str, Any]]:
    """A loss fails when it syncs (or errs) where torch's own function, on the same inputs,
    does not; where torch's syncs too, delegating to it cannot do better: reported only."""
    bad, torch_too = [], []
    for r in records:
        for mode in ("fwd", "fwd+bwd"):
            mine, peer = r.get(mode), r.get("peer_" + mode)
            if mine is None or mine == "ok":
                continue
            if mine.startswith("sync") and peer is not None and peer.startswith("sync"):
                torch_too.append(f"{r['loss']} {mode}")
            else:
                bad.append(f"{r['loss']} {mode}")
    status = "failed" if bad else "passed"
    detail = (f"{len(records)} losses; {len(bad)} calls sync or err where torch's does not"
              + (f", {len(torch_too)} sync as torch's own does" if torch_too else ""))
    return status, detail, {"bad": bad, "torch_syncs_too": torch_too}


def judge_compare(records: Sequence[dict[str, Any]]) -> tuple[str, str, dict[str, Any]]:
    bad = []
    for r in records:
        for key, err in r.items():
            if ":" in key and err > TOLERANCE[key.split(":")[1]]:
                bad.append(f"{r['loss']} {key} {err:.2g}")
        bad += [f"{r['loss']} {k}: {msg}" for k, msg in r.get("errors", {}).items()]
    compared = sum(":" in k for r in records for k in [*r, *r.get("errors", {})])
    detail = f"{len(records)} losses; {len(bad)} results off or failing"
    if not compared:
        return "failed", f"{len(records)} losses; no backend compared", {"bad": bad}
    return ("failed" if bad else "passed"), detail, {"bad": bad}



def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("sweep", choices=("probe", "nosync", "compare"))
    p.add_argument("--out", default=".", help="folder for the sweep's JSON")
    p.add_argument("--backends", default="", help="compare: comma-separated, among cupy, jax")
    opts = p.parse_args(argv)
    out = Path(opts.out)
    if opts.sweep == "probe":
        print(json.dumps(probe()))
    elif opts.sweep == "nosync":
        nosync_sweep(out)
    else:
        compare_sweep(out, [b for b in opts.backends.split(",") if b])
    return 0


if __name__ == "__main__":
    sys.exit(main())
