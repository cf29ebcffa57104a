"""arrayloss against every native peer, in one process and one run (``nox -s bench``).

For each loss that has a peer (``benchmarks/peers.py``), each backend (NumPy, PyTorch, JAX)
and each size, every arrayloss variant and every peer are timed **interleaved** in one group
(warm-up, calibrated loops, median of the rounds; ``arrayloss/_check.py``), forward
and forward+backward, and reported as ratios arrayloss / peer:

* PyTorch: ``torch.nn.functional`` eager (vs arrayloss eager) and under ``torch.compile``
  (vs arrayloss under ``torch.compile``), Keras 3 on its torch backend (vs arrayloss eager);
* JAX: optax under ``jax.jit`` (vs arrayloss under ``jax.jit``) and eager, Keras 3 on its
  JAX backend under ``jax.jit`` (a second process: Keras picks one backend per process);
* NumPy: a NumPy formula;
* CuPy (GPU): the same formula run with CuPy as the array module (``peers.formulas``).

On a GPU (``scripts/gpu_check.py`` runs it there), ``--backends torch_cuda,jax,cupy`` with
``JAX_PLATFORMS=cuda`` times torch CUDA against ``torch.nn.functional``, JAX on the GPU
against optax and CuPy against the CuPy formula; CPU runs are unchanged.

A bandwidth yardstick (a plain sum over the same input bytes) is timed in the same run, so a
large-size time reads as a fraction of what the memory system allows (``bw``: yardstick
time / arrayloss forward time).

Writes ``results.md`` (tables + the machine), ``results.json`` and ``ratios.png`` under
``benchmarks/results/`` (``--out``).

    python benchmarks/run.py [--quick] [--losses a,b] [--backends numpy,torch,jax]
                             [--sizes tiny,medium,large] [--no-compile] [--no-keras]
                             [--modes fwd,fwd+bwd,value+grad] [--repeat 7] [--min-time 0.02]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from functools import partial
from pathlib import Path
from typing import Any

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import contextlib

import peers as peers_mod

from arrayloss import _check

ROOT = Path(__file__).resolve().parent
SIZES = {"tiny": (8, 10), "medium": (256, 1000), "large": (8192, 1280)}
QUICK_SIZES = {"tiny": (8, 10), "small": (64, 100)}
# Only on request (--sizes): the classification issue's cross_entropy target size.
EXTRA_SIZES = {"ce4096": (4096, 1000)}
# The losses the targets of the benchmark issue name (torch eager, large: <= 1.2x).
TARGETS = (
    "cross_entropy",
    "nll_loss",
    "binary_cross_entropy_with_logits",
    "mse_loss",
    "l1_loss",
    "huber_loss",
    "smooth_l1_loss",
    "kl_div",
)
# arrayloss variant each peer is compared with.
PAIRING = {
    "numpy": "arrayloss",
    "cupy": "arrayloss",
    "torch.F": "arrayloss",
    "torch.F+compile": "arrayloss+compile",
    "keras(torch)": "arrayloss",
    "optax+jit": "arrayloss+jit",
    "optax": "arrayloss",
    "keras(jax)": "arrayloss+jit",
}
# Keyword arguments that give arrayloss the formula a peer computes where its default does
# more: optax's hinge_loss and the NumPy formula take the labels as given, Keras's (and
# arrayloss's default) first tests whether they are {0, 1}; optax's and the NumPy
# cross-entropy and NLL ignore no target, torch's (and arrayloss's default) mask those equal
# to -100 and count the rest. The torch and Keras rows keep the default.
SAME_FORMULA: dict[tuple[str, str], dict[str, Any]] = {
    **{
        (peer, loss): {"labels": "signed"}
        for peer in ("optax", "optax+jit", "numpy", "cupy")
        for loss in ("hinge_loss", "squared_hinge_loss")
    },
    **{
        (peer, loss): {"ignore_index": None}
        for peer in ("optax", "optax+jit", "numpy", "cupy")
        for loss in ("cross_entropy", "nll_loss")
    },
}


def row_name(record: dict[str, Any]) -> str:
    """A record's loss as the tables name it: the loss, plus the keywords of its variant
    (``hinge_loss [labels=signed]``)."""
    v = record.get("variant", "")
    return record["loss"] + (" [" + v.split("[", 1)[1] if "[" in v else "")


def variant_of(peer: str, loss: str) -> str:
    """The arrayloss variant timed against ``peer``: ``arrayloss+jit[labels=signed]``."""
    kw = SAME_FORMULA.get((peer, loss))
    extra = ",".join(f"{k}={v}" for k, v in kw.items()) if kw else ""
    return f"{PAIRING[peer]}[{extra}]" if extra else PAIRING[peer]


# ---------------------------------------------------------------------------------------------
# Building the callables of one group
# ---------------------------------------------------------------------------------------------


def _forward(f: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    return lambda: f(*args, **kwargs)


def _torch_fwd_bwd(f: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    x = args[0].detach().clone().requires_grad_(True)
    rest = args[1:]

    def step() -> Any:
        x.grad = None
        out = f(x, *rest, **kwargs)
        out.backward()
        return x.grad

    return step


def _jax_fwd_bwd(
    f: Any, args: list[Any], kwargs: dict[str, Any], jit: bool, value: bool = False
) -> Any:
    """``jax.grad`` (mode ``fwd+bwd``) or ``jax.value_and_grad`` (``value+grad``: what a
    training step that logs its loss runs; XLA may compile the pair differently)."""
    import jax

    g = (jax.value_and_grad if value else jax.grad)(lambda x, *rest: f(x, *rest, **kwargs))
    if jit:
        g = jax.jit(g)
    return lambda: g(*args)


def candidates(
    spec: Any, backend: str, args: list[Any], mode: str, opts: argparse.Namespace
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(arrayloss variants, peers) as zero-argument callables for one group."""
    loss = spec.func
    compile_ = opts.compile and spec.name in TARGETS
    peers = peers_mod.peers_for(spec, backend, compile=compile_, keras=opts.keras)
    if opts.keras_only:
        peers = {k: v for k, v in peers.items() if k.startswith("keras")}
    wanted = {variant_of(p, spec.name): SAME_FORMULA.get((p, spec.name), {}) for p in peers}
    al: dict[str, Any] = {}
    pe: dict[str, Any] = {}
    if backend == "jax":
        import jax

        jit_peers = {"optax+jit", "keras(jax)"}
        for name, kw in wanted.items():
            jit = name.startswith("arrayloss+jit")
            if mode == "fwd":
                f = jax.jit(partial(loss, **kw)) if jit else partial(loss, **kw)
                al[name] = _forward(f, args, {})
            else:
                al[name] = _jax_fwd_bwd(loss, args, kw, jit, value=mode == "value+grad")
        for name, f in peers.items():
            jit = name in jit_peers
            base = getattr(f, "__wrapped__", f) if name == "optax+jit" else f
            if mode == "fwd":
                pe[name] = _forward(jax.jit(base) if jit else base, args, {})
            else:
                pe[name] = _jax_fwd_bwd(base, args, {}, jit, value=mode == "value+grad")
        return al, pe
    build = _forward if mode == "fwd" else _torch_fwd_bwd
    for name, kw in wanted.items():
        if name.startswith("arrayloss+compile"):
            import torch

            compiled = torch.compile(lambda *a, kw=kw: loss(*a, **kw), dynamic=False)
            al[name] = build(compiled, args, {})
        else:
            al[name] = build(loss, args, kw)
    for name, f in peers.items():
        pe[name] = build(f, args, {})
    return al, pe


def _value(fn_result: Any) -> float:
    if isinstance(fn_result, tuple):  # value_and_grad: (value, gradient)
        return sum(_value(r) for r in fn_result)
    return float(np.asarray(_to_numpy(fn_result)).sum())


def _to_numpy(x: Any) -> Any:
    if type(x).__module__.startswith("torch"):
        return x.detach().cpu().double().numpy()
    if type(x).__module__.startswith("cupy"):
        return x.get().astype(np.float64)
    return np.asarray(x, dtype=np.float64)


# ---------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------


def run_group(
    spec: Any, backend: str, size: str, nc: tuple[int, int], mode: str, opts: argparse.Namespace
) -> list[dict[str, Any]]:
    sample = _check.make_sample(spec, *nc)
    if sample is None:
        return []
    args = [_check.convert(a, backend, "float32") for a in sample.args]
    al, pe = candidates(spec, backend, args, mode, opts)
    if not pe:
        return []
    base = {
        "loss": spec.name,
        "backend": backend,
        "size": size,
        "mode": mode,
        "shapes": [list(a.shape) for a in sample.args if hasattr(a, "shape")],
        "elements": sample.elements,
    }
    # Check each peer's value against arrayloss's (fwd values; fwd+bwd: the gradient sums).
    records: list[dict[str, Any]] = []
    try:
        ref = {name: _value(f()) for name, f in al.items()}
    except Exception as e:
        return [{**base, "status": f"arrayloss error: {type(e).__name__}: {e}"[:200]}]
    ok_peers = {}
    for name, f in pe.items():
        a = ref[variant_of(name, spec.name)]
        try:
            v = _value(f())
        except Exception as e:
            msg = f"peer error: {type(e).__name__}: {e}".replace("\n", " ")[:200]
            records.append({**base, "peer": name, "status": msg})
            continue
        if not abs(v - a) <= 1e-3 * max(abs(a), abs(v), 1e-6):
            records.append({**base, "peer": name, "status": f"peer disagrees ({v:.6g} vs {a:.6g})"})
            continue
        ok_peers[name] = f
    if not ok_peers:
        return records
    sync = _check.sync_for(backend)
    used = {variant_of(p, spec.name) for p in ok_peers}
    fns = {
        **{f"al:{k}": v for k, v in al.items() if k in used},
        **{f"peer:{k}": v for k, v in ok_peers.items()},
    }
    times = _check.time_interleaved(
        fns, sync=sync, repeat=opts.repeat, min_time=opts.min_time, warmup=2
    )
    yard = None
    if mode == "fwd" and size != "tiny":
        xp = _namespace(args[0])
        yard, nbytes = _check.bandwidth_yardstick(args, xp, sync=sync, min_time=opts.min_time)
        base["yardstick_s"] = yard
        base["bytes"] = nbytes
    for name in ok_peers:
        t_al, t_pe = times[f"al:{variant_of(name, spec.name)}"], times[f"peer:{name}"]
        rec = {
            **base,
            "peer": name,
            "variant": variant_of(name, spec.name),
            "t_arrayloss": t_al,
            "t_peer": t_pe,
            "ratio": t_al / t_pe,
            "delta_us": (t_al - t_pe) * 1e6,
            "status": "ok",
        }
        if yard is not None:
            rec["bw_fraction"] = yard / t_al
        records.append(rec)
    return records


def _namespace(x: Any) -> Any:
    from array_api_compat import array_namespace

    return array_namespace(x)


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info: dict[str, Any] = {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "numpy": np.__version__,
    }
    with contextlib.suppress(OSError):
        info["loadavg"] = os.getloadavg()
    for mod in ("torch", "jax", "optax", "keras", "scipy", "cupy"):
        if mod in sys.modules:
            info[mod] = getattr(sys.modules[mod], "__version__", "?")
    if "jax" in sys.modules and sys.modules["jax"].default_backend() != "cpu":
        info["jax_platform"] = sys.modules["jax"].default_backend()  # the GPU run's JAX rows
    try:
        import torch

        info["gpu"] = torch.cuda.get_device_name() if torch.cuda.is_available() else "none"
        info["torch_threads"] = torch.get_num_threads()
    except ImportError:
        pass
    return info


def _fmt_t(t: float | None) -> str:
    if t is None:
        return "-"
    return f"{t * 1e6:.1f} µs" if t < 1e-3 else f"{t * 1e3:.2f} ms"


def markdown(records: list[dict[str, Any]], info: dict[str, Any], opts: argparse.Namespace) -> str:
    lines = ["# arrayloss benchmark: ratio arrayloss / peer (lower is better; < 1: faster)", ""]
    lines.append(
        f"Run: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"{'quick (smoke) mode, tiny sizes, timings not meaningful' if opts.quick else 'full'}"
        f"; float32; median of {opts.repeat} interleaved rounds."
    )
    lines.append("")
    lines.append("Machine: " + ", ".join(f"{k}={v}" for k, v in info.items()))
    lines.append("")
    lines.append(
        "Sizes: "
        + ", ".join(
            f"{k} = {v[0]}x{v[1]} (batch x classes/features)" for k, v in opts.sizes.items()
        )
        + ". bw = yardstick (plain sum over the same input bytes) / arrayloss time."
    )
    lines.append("")
    lines.append(
        "A loss marked [labels=signed] or [ignore_index=None] was called with that keyword, "
        "the formula of the peer (optax's hinge_loss and the NumPy formula take the labels as "
        "given; optax's and the NumPy cross-entropy and NLL ignore no target); the Keras rows "
        "time the default, which first tests whether every label is 0 or 1, as Keras does, "
        "and the torch rows the default ignore_index=-100, as torch does."
    )
    lines.append("")
    ok = [r for r in records if r.get("status") == "ok"]
    # Summary per peer and size: median ratio over losses.
    lines += [
        "## Summary: median ratio over losses",
        "",
        "| backend | peer | mode | " + " | ".join(opts.sizes) + " |",
        "| --- | --- | --- | " + " | ".join("---" for _ in opts.sizes) + " |",
    ]
    keys = sorted({(r["backend"], r["peer"], r["mode"]) for r in ok})
    for b, p, m in keys:
        cells = []
        for s in opts.sizes:
            rs = [
                r["ratio"]
                for r in ok
                if (r["backend"], r["peer"], r["mode"], r["size"]) == (b, p, m, s)
            ]
            cells.append(f"{statistics.median(rs):.2f}× ({len(rs)})" if rs else "-")
        lines.append(f"| {b} | {p} | {m} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## All measurements",
        "",
        "| loss | backend | size | mode | peer | arrayloss | peer time | ratio | Δ µs | bw |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in ok:
        bw = f"{r['bw_fraction']:.0%}" if "bw_fraction" in r else "-"
        lines.append(
            f"| {row_name(r)} | {r['backend']} | {r['size']} | {r['mode']} | {r['peer']} | "
            f"{_fmt_t(r['t_arrayloss'])} | {_fmt_t(r['t_peer'])} | {r['ratio']:.2f}× | "
            f"{r['delta_us']:+.1f} | {bw} |"
        )
    other = [r for r in records if r.get("status") != "ok"]
    if other:
        lines += ["", "## Not timed", ""]
        lines += [
            f"- {r['loss']} / {r['backend']} / {r['size']} / {r['mode']} / "
            f"{r.get('peer', '-')}: {r['status']}"
            for r in other
        ]
    return "\n".join(lines) + "\n"


def plot(records: list[dict[str, Any]], sizes: list[str], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    ok = [r for r in records if r.get("status") == "ok"]
    backends = sorted({r["backend"] for r in ok})
    if not backends:
        return False
    fig, axes = plt.subplots(1, len(backends), figsize=(5.5 * len(backends), 4.5), squeeze=False)
    for ax, b in zip(axes[0], backends):
        for p, m in sorted({(r["peer"], r["mode"]) for r in ok if r["backend"] == b}):
            xs, meds, los, his = [], [], [], []
            for i, s in enumerate(sizes):
                rs = [
                    r["ratio"]
                    for r in ok
                    if (r["backend"], r["peer"], r["mode"], r["size"]) == (b, p, m, s)
                ]
                if rs:
                    xs.append(i)
                    meds.append(statistics.median(rs))
                    los.append(min(rs))
                    his.append(max(rs))
            if xs:
                (line,) = ax.plot(xs, meds, marker="o", label=f"vs {p} ({m})")
                ax.fill_between(xs, los, his, color=line.get_color(), alpha=0.12)
        ax.axhline(1.0, color="k", lw=0.8, ls="--")
        ax.set_yscale("log")
        ax.set_xticks(range(len(sizes)), sizes)
        ax.set_title(f"{b}: arrayloss / peer (median, min-max over losses)")
        ax.set_ylabel("time ratio")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def keras_jax_worker(opts: argparse.Namespace) -> list[dict[str, Any]]:
    """Keras on its JAX backend needs its own process (KERAS_BACKEND is read at import)."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--keras-only",
            "--backends",
            "jax",
            "--out",
            tmp,
            "--sizes",
            ",".join(opts.sizes),
            "--modes",
            opts.modes,
            "--no-compile",
            "--no-plot",
        ]
        if opts.losses:
            cmd += ["--losses", opts.losses]
        if opts.quick:
            cmd.append("--quick")
        env = {**os.environ, "KERAS_BACKEND": "jax"}
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            print("keras(jax) worker failed:", proc.stderr[-2000:], file=sys.stderr)
            return []
        return json.loads((Path(tmp) / "results.json").read_text())["records"]


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="smoke mode: tiny sizes, few rounds")
    p.add_argument("--losses", help="comma-separated (default: every loss with a peer)")
    p.add_argument(
        "--backends",
        default="numpy,torch,jax",
        help="among numpy, torch, jax, torch_cuda, cupy "
        "(JAX on GPU: install jax[cuda] and set JAX_PLATFORMS=cuda)",
    )
    p.add_argument(
        "--sizes",
        help="comma-separated names among " + ", ".join({**SIZES, **QUICK_SIZES, **EXTRA_SIZES}),
    )
    p.add_argument(
        "--modes",
        default="fwd,fwd+bwd",
        help="among fwd, fwd+bwd (jax.grad on JAX) and value+grad (jax.value_and_grad; "
        "JAX only)",
    )
    p.add_argument(
        "--compile",
        dest="compile",
        action="store_true",
        default=None,
        help="torch.compile variants for the target losses (default: on unless --quick)",
    )
    p.add_argument("--no-compile", dest="compile", action="store_false")
    p.add_argument("--no-keras", dest="keras", action="store_false", default=True)
    p.add_argument("--keras-only", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--no-plot", action="store_true")
    p.add_argument("--out", default=str(ROOT / "results"))
    p.add_argument(
        "--repeat", type=int, help="interleaved rounds per group (default 7; 3 with --quick)"
    )
    p.add_argument(
        "--min-time",
        type=float,
        help="seconds each timed sample lasts at least (default 0.02; 0.002 with --quick)",
    )
    opts = p.parse_args(argv)
    table = QUICK_SIZES if opts.quick else SIZES
    if opts.sizes:
        table = {**SIZES, **QUICK_SIZES, **EXTRA_SIZES}
        opts.sizes = {s: table[s] for s in opts.sizes.split(",")}
    else:
        opts.sizes = table
    if opts.compile is None:
        opts.compile = not opts.quick
    if opts.repeat is None:
        opts.repeat = 3 if opts.quick else 7
    if opts.min_time is None:
        opts.min_time = 0.002 if opts.quick else 0.02
    return opts


def _cupy_gpu() -> bool:
    try:
        import cupy

        return bool(cupy.cuda.runtime.getDeviceCount())
    except Exception:  # no driver or no device: CuPy raises its own runtime errors
        return False


def available(requested: str) -> list[str]:
    """The requested backends that are installed and, for the GPU ones, have a GPU."""
    backends = [b for b in requested.split(",") if peers_mod.have(b.split("_cuda")[0])]
    if "torch_cuda" in backends:
        import torch

        if not torch.cuda.is_available():
            print("skipping torch_cuda: no GPU", file=sys.stderr)
            backends.remove("torch_cuda")
    if "cupy" in backends and not _cupy_gpu():
        print("skipping cupy: no GPU", file=sys.stderr)
        backends.remove("cupy")
    return backends


def main(argv: list[str] | None = None) -> int:
    opts = parse(argv)
    backends = available(opts.backends)
    if "jax" in backends:
        import jax

        jax.config.update("jax_enable_x64", True)  # inputs are float32 anyway
    if "torch" in backends or "torch_cuda" in backends:
        import torch

        torch._dynamo.config.cache_size_limit = 256
        if hasattr(torch._dynamo.config, "recompile_limit"):
            torch._dynamo.config.recompile_limit = 256
    specs = _check.registered(opts.losses.split(",") if opts.losses else None)
    records: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    for spec in specs:
        for backend in backends:
            for size, nc in opts.sizes.items():
                for mode in opts.modes.split(","):
                    if backend in ("numpy", "cupy") and mode != "fwd":
                        continue  # no autodiff: the formula peers are forward only
                    if mode == "value+grad" and backend != "jax":
                        continue  # torch's fwd+bwd rows already compute the value
                    try:
                        with warnings.catch_warnings():
                            warnings.simplefilter("ignore")  # peers' deprecation notices
                            recs = run_group(spec, backend, size, nc, mode, opts)
                    except Exception as e:
                        recs = [
                            {
                                "loss": spec.name,
                                "backend": backend,
                                "size": size,
                                "mode": mode,
                                "status": f"error: {type(e).__name__}: {e}"[:200],
                            }
                        ]
                    for r in recs:
                        if r.get("status") == "ok":
                            print(
                                f"{r['loss']:<34} {backend:<6} {size:<7} {mode:<8} "
                                f"{r['peer']:<16} {r['ratio']:6.2f}x  {r['delta_us']:+9.1f} us",
                                flush=True,
                            )
                        else:
                            print(
                                f"{r['loss']:<34} {backend:<6} {size:<7} {mode:<8} "
                                f"{r.get('peer', '-'):<16} {r['status']}".replace("\n", " "),
                                flush=True,
                            )
                    records += recs
        # After each loss, the records so far: a run killed later (out of memory, a
        # timeout) still leaves what it measured.
        partial = Path(opts.out) / "results.partial.json"
        partial.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(json.dumps({"records": records}, indent=1))
    if opts.keras and "jax" in backends and not opts.keras_only:
        records += keras_jax_worker(opts)
    info = machine()
    info["elapsed_s"] = round(time.perf_counter() - t0, 1)
    out = Path(opts.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(
        json.dumps(
            {"machine": info, "quick": opts.quick, "sizes": opts.sizes, "records": records},
            indent=1,
        )
    )
    (out / "results.partial.json").unlink(missing_ok=True)
    if not opts.keras_only:
        (out / "results.md").write_text(markdown(records, info, opts))
        if not opts.no_plot:
            plot(records, list(opts.sizes), out / "ratios.png")
        print(f"wrote {out / 'results.md'} ({info['elapsed_s']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
