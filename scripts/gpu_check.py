"""The GPU check of arrayloss, in one go: tests, no-sync sweep, comparison and benchmark.

On a machine with an NVIDIA GPU (and torch, CuPy and JAX for CUDA installed), it runs these
phases in order, each with its own share of one time budget (``--budget``), continuing past a
phase that fails:

  install          the wheels carried with the tree (``--wheels``) into ``--site`` with
                   ``pip install --no-index --no-deps --target``, put first on PYTHONPATH
  probe            which of torch CUDA, CuPy and JAX on CUDA work here; a later phase that
                   needs none of what it uses is skipped
  nosync           every registered loss on CUDA tensors under
                   ``torch.cuda.set_sync_debug_mode("error")`` (forward, then forward and
                   backward, after one warm-up call), and torch's own function on the same
                   inputs: a loss fails when it makes the host wait and torch's does not
  compare          every loss on CuPy and on JAX (CUDA), in float64 and float32, against
                   arrayloss on NumPy float64 (normwise relative error; the result must stay
                   on the GPU)
  tests-torch_cuda, tests-cupy, tests-jax_cuda
                   the pytest suite on that backend (JAX: the ``jax`` backend with
                   ``JAX_PLATFORMS=cuda``); ``--tests auto`` picks the largest selection the
                   phase's share allows (full > core > smoke)
  bench            ``benchmarks/run.py`` on torch_cuda (vs torch.nn.functional), JAX on the
                   GPU (vs optax) and CuPy (vs the NumPy formula run by CuPy), forward and
                   forward+backward, at ``--bench-sizes``

It writes, under ``--out``: ``gpu.md`` (the report), ``summary.json`` (everything in it, as
data), ``phases.log`` (every command's output), ``nosync.json``, ``compare.json`` and
``bench/results.{md,json}``; and the same ``gpu.md`` to ``benchmarks/results/gpu.md`` when a
GPU was found. Exit status 0 when every phase passed, 1 otherwise.

How to run
----------
Here, on a CPU machine with network, once (again when a carried package should change):

    python scripts/gpu_check.py --prepare

downloads into ``.whl/`` (git-ignored) the wheels a GPU machine without network lacks, for
its Python 3.12, and prints, as JSON, the remote run to make there (the command, the folders
to copy with the working tree, a time limit); it is:

    {"command": "PYTHONUNBUFFERED=1 python3 scripts/gpu_check.py --wheels .whl --out \\"$OUT\\"
     --budget 450", "carry": [".whl"], "timeout_s": 510}   (the command is one line)

``$OUT`` is the folder the remote run returns: copy its ``gpu.md`` to
``benchmarks/results/gpu.md`` and commit it. On any machine with a GPU and the packages
installed:

    python scripts/gpu_check.py --out /tmp/gpu-check [--phases nosync,compare] [--budget 450]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import importlib.util
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gpu_sweeps import TOLERANCE, dump, judge_compare, judge_nosync

ROOT = Path(__file__).resolve().parents[1]
SWEEPS = Path(__file__).resolve().parent / "gpu_sweeps.py"
# What the GPU machine's image lacks (the device README's package list): the runtime
# dependency, array-api-strict (tests import it) and MONAI (the segmentation references).
CARRIED = ("array-api-compat", "array-api-strict", "monai")
GPU_PYTHON = "3.12"
PLATFORMS = (
    "manylinux_2_28_x86_64",
    "manylinux_2_27_x86_64",
    "manylinux_2_17_x86_64",
    "manylinux2014_x86_64",
    "manylinux1_x86_64",
)
DEFAULT_BUDGET_S = 450
# The device call's limit: the budget plus each phase's stop grace and the report.
DEVICE_TIMEOUT_S = DEFAULT_BUDGET_S + 60
MAX_COMMAND_CHARS = 2000

# phase -> (nominal seconds, capabilities of which it needs one); the budget left is split
# among the phases still to run in proportion to these, so a quick phase's spare time goes on.
PHASES: dict[str, tuple[float, tuple[str, ...]]] = {
    "install": (10, ()),
    "probe": (30, ()),
    "nosync": (30, ("torch_cuda",)),
    "compare": (60, ("cupy", "jax_cuda")),
    "tests-torch_cuda": (90, ("torch_cuda",)),
    "tests-cupy": (60, ("cupy",)),
    "tests-jax_cuda": (90, ("jax_cuda",)),
    "bench": (80, ("torch_cuda", "cupy", "jax_cuda")),
}
# Test phase -> (the --backends name, JAX_PLATFORMS for it).
TEST_BACKENDS = {
    "tests-torch_cuda": ("torch_cuda", "cpu"),
    "tests-cupy": ("cupy", "cpu"),
    "tests-jax_cuda": ("jax", "cuda"),
}
# Test selections, largest first. "core" is the registry-driven suite (values, gradients,
# options, errors, properties); "smoke" its value and gradient checks.
CORE_FILES = (
    "tests/test_losses.py",
    "tests/test_error_catalogue.py",
    "tests/test_properties.py",
    "tests/test_sequence.py",
    "tests/test_adaptive_softmax.py",
)
TEST_LEVELS: dict[str, tuple[str, ...]] = {
    "full": ("tests",),
    "core": CORE_FILES,
    "smoke": ("tests/test_losses.py", "-k", "value_matches_reference or gradient_matches"),
}
# The least share (s) at which --tests auto picks a level, per phase: first guesses (JAX compiles
# for the GPU in every test), to be tuned from the durations the summary records.
LEVEL_MIN_S = {
    "tests-torch_cuda": {"full": 400.0, "core": 80.0, "smoke": 0.0},
    "tests-cupy": {"full": 300.0, "core": 60.0, "smoke": 0.0},
    "tests-jax_cuda": {"full": 600.0, "core": 150.0, "smoke": 0.0},
}
STATUSES = ("passed", "failed", "timeout", "skipped")


# ---------------------------------------------------------------------------------------------
# Arguments
# ---------------------------------------------------------------------------------------------


def _csv(choices: Iterable[str]) -> Callable[[str], list[str]]:
    allowed = list(choices)

    def parse(text: str) -> list[str]:
        items = [s.strip() for s in text.split(",") if s.strip()]
        bad = [s for s in items if s not in allowed]
        if bad:
            raise argparse.ArgumentTypeError(f"unknown {bad}; choose among {allowed}")
        return items

    return parse


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="gpu_check.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--prepare", action="store_true",
                   help="on a CPU machine with network: download the wheels the GPU machine "
                   "lacks into --wheels and print the remote run to make; runs no check")
    p.add_argument("--wheels", default=".whl",
                   help="folder of .whl files to install (relative to the repository; default "
                   "%(default)s); missing or empty: nothing is installed")
    p.add_argument("--site", default="/tmp/arrayloss-gpu-site",
                   help="where the wheels are installed, put first on PYTHONPATH "
                   "(default %(default)s)")
    p.add_argument("--out", default=os.environ.get("OUT") or "/tmp/arrayloss-gpu-check",
                   help="folder for gpu.md, summary.json, phases.log and the sweeps' JSON "
                   "(default: $OUT, else %(default)s)")
    p.add_argument("--budget", type=float, default=DEFAULT_BUDGET_S,
                   help="seconds for all phases together (default %(default)s); each phase "
                   "gets the time left in proportion to its share: "
                   + ", ".join(f"{k} {v[0]:.0f}" for k, v in PHASES.items()))
    p.add_argument("--phases", type=_csv(PHASES), default=list(PHASES),
                   help="comma-separated subset, in the order above (default: all)")
    p.add_argument("--tests", choices=("auto", *TEST_LEVELS), default="auto",
                   help="test selection per backend: full (tests/), core ("
                   + ", ".join(Path(f).name for f in CORE_FILES) + "), smoke (test_losses.py "
                   "value and gradient checks); auto: the largest the phase's share allows")
    p.add_argument("--workers", type=int, default=8,
                   help="pytest-xdist workers per test phase (default %(default)s; 1: none)")
    p.add_argument("--bench-sizes", default="tiny,large",
                   help="benchmarks/run.py --sizes (default %(default)s: per-call overhead "
                   "and bandwidth)")
    p.add_argument("--results", default=str(ROOT / "benchmarks" / "results" / "gpu.md"),
                   help="where gpu.md is also written when a GPU was found (default: "
                   "benchmarks/results/gpu.md)")
    p.add_argument("--no-results", action="store_true",
                   help="write the report under --out only")
    p.add_argument("--python-version", default=GPU_PYTHON,
                   help="--prepare: the GPU machine's Python (default %(default)s)")
    p.add_argument("--packages", default=",".join(CARRIED),
                   help="--prepare: distributions to download, pinned to the versions "
                   "installed here when they are (default %(default)s)")
    return p


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    return build_parser().parse_args(argv)


# ---------------------------------------------------------------------------------------------
# Running commands and phases
# ---------------------------------------------------------------------------------------------


@dataclass
class CommandResult:
    returncode: int | None
    timed_out: bool
    seconds: float
    output: str


def run_command(
    cmd: Sequence[str],
    *,
    timeout: float,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    log: Path | None = None,
    grace: float = 5.0,
) -> CommandResult:
    """Run ``cmd`` in its own process group; past ``timeout`` the group gets SIGINT (pytest
    then prints what it has), and SIGKILL ``grace`` seconds later."""
    t0 = time.monotonic()
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as buf:
        proc = subprocess.Popen(
            list(cmd), stdout=buf, stderr=subprocess.STDOUT, env=env, cwd=cwd,
            start_new_session=True,
        )
        timed_out = False
        try:
            proc.wait(timeout=max(timeout, 0.01))
        except subprocess.TimeoutExpired:
            timed_out = True
            _stop(proc, grace)
        buf.seek(0)
        output = buf.read()
    seconds = time.monotonic() - t0
    if log is not None:
        with log.open("a", encoding="utf-8") as fh:
            fh.write(f"\n$ {shlex.join(cmd)}\n{output}\n[rc={proc.returncode}, "
                     f"{seconds:.1f} s{', timed out' if timed_out else ''}]\n")
    return CommandResult(proc.returncode, timed_out, seconds, output)


def _stop(proc: subprocess.Popen[Any], grace: float) -> None:
    for sig, wait in ((signal.SIGINT, grace), (signal.SIGKILL, None)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


@dataclass
class Outcome:
    status: str
    detail: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Phase:
    name: str
    share: float
    action: Callable[[float], Outcome]
    needs: tuple[str, ...] = ()  # any one of these capabilities (found by the probe)
    min_s: float = 10.0


@dataclass
class PhaseResult:
    name: str
    status: str
    seconds: float = 0.0
    budget_s: float = 0.0
    detail: str = ""
    data: dict[str, Any] = field(default_factory=dict)


def run_phases(
    phases: Sequence[Phase],
    total_s: float,
    caps: dict[str, bool],
    *,
    clock: Callable[[], float] = time.monotonic,
    say: Callable[[str], Any] = print,
) -> list[PhaseResult]:
    """Run each phase with its share of the time left; a failure or an exception stops only
    that phase. ``caps`` is read at each phase (the probe fills it; a capability not probed
    counts as present, and the phase that needs it finds out)."""
    start = clock()
    results: list[PhaseResult] = []

    def runnable(ph: Phase) -> bool:
        return not ph.needs or any(caps.get(n, True) for n in ph.needs)

    for i, ph in enumerate(phases):
        if not runnable(ph):
            results.append(PhaseResult(ph.name, "skipped",
                                       detail=f"needs {' or '.join(ph.needs)}: not found"))
            say(f"== {ph.name}: skipped ({results[-1].detail})")
            continue
        left = total_s - (clock() - start)
        shares = sum(p.share for p in phases[i:] if runnable(p))
        budget = max(0.0, left * ph.share / shares)
        if budget < ph.min_s:
            results.append(PhaseResult(ph.name, "timeout", budget_s=budget,
                                       detail=f"not started: {budget:.0f} s of the budget left"))
            say(f"== {ph.name}: not started ({budget:.0f} s left for it)")
            continue
        say(f"== {ph.name} (up to {budget:.0f} s)")
        t0 = clock()
        try:
            out = ph.action(budget)
        except Exception as e:  # a broken phase must not stop the others
            out = Outcome("failed", f"{type(e).__name__}: {e}",
                          {"traceback": traceback.format_exc()[-4000:]})
        if out.status not in STATUSES:
            out = Outcome("failed", f"phase returned status {out.status!r}", out.data)
        results.append(PhaseResult(ph.name, out.status, clock() - t0, budget, out.detail,
                                   out.data))
        say(f"== {ph.name}: {out.status} in {clock() - t0:.0f} s. {out.detail}")
    return results


def exit_code(results: Sequence[PhaseResult]) -> int:
    return 0 if results and all(r.status == "passed" for r in results) else 1


# ---------------------------------------------------------------------------------------------
# Installation
# ---------------------------------------------------------------------------------------------


def _dist_name(wheel: Path) -> str:
    return re.sub(r"[-_.]+", "-", wheel.name.split("-", 1)[0]).lower()


def duplicate_wheels(wheels: Iterable[Path]) -> dict[str, list[str]]:
    """Distributions with more than one wheel (two versions stop the whole install)."""
    seen: dict[str, list[str]] = {}
    for w in wheels:
        seen.setdefault(_dist_name(w), []).append(w.name)
    return {k: sorted(v) for k, v in seen.items() if len(v) > 1}


def install_command(wheels: Sequence[Path], site: Path, python: str = sys.executable) -> list[str]:
    """Offline install of exactly these wheels into ``site`` (their needs are on the machine
    or carried too)."""
    return [python, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-compile",
            "--no-cache-dir", "--upgrade", "--target", str(site), *map(str, wheels)]


def child_env(site: Path | None, base: dict[str, str] | None = None,
              jax_platforms: str = "cpu") -> dict[str, str]:
    """The environment of every phase's process: the installed wheels and the repository
    first on PYTHONPATH, JAX allocating GPU memory as needed (pytest-xdist workers share it)."""
    env = dict(os.environ if base is None else base)
    paths = [str(site)] if site is not None else []
    paths.append(str(ROOT))
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env.update(PYTHONPATH=os.pathsep.join(paths), PYTHONUNBUFFERED="1",
               XLA_PYTHON_CLIENT_PREALLOCATE="false", KERAS_BACKEND="torch",
               JAX_PLATFORMS=jax_platforms)
    return env


# ---------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------


def pick_level(requested: str, phase: str, budget_s: float) -> str:
    if requested != "auto":
        return requested
    return next(level for level in TEST_LEVELS if budget_s >= LEVEL_MIN_S[phase][level])


def pytest_command(backend: str, level: str, workers: int, xdist: bool = True,
                   python: str = sys.executable) -> list[str]:
    parallel = ["-n", str(workers)] if xdist and workers > 1 else []
    return [python, "-m", "pytest", "-p", "no:cacheprovider", "-v", "-rfE", "--color=no",
            f"--backends={backend}", *parallel, *TEST_LEVELS[level]]


_OUTCOMES = "PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS"
_XDIST_LINE = re.compile(rf"^\[gw\d+\] \[\s*\d+%\] ({_OUTCOMES}) (\S+)")
_PLAIN_LINE = re.compile(rf"^(\S+::\S+) ({_OUTCOMES})\b")
_SUMMARY = re.compile(r"^=+ (.*\d+ \w+.*) in [\d.]+s")


def parse_pytest(output: str) -> dict[str, Any]:
    """Counts per outcome and the failing test ids, from ``pytest -v`` output; a run stopped
    early (no summary line) is counted from its per-test lines."""
    counts: dict[str, int] = {}
    failures: list[str] = []
    summary = None
    for line in output.splitlines():
        m = _XDIST_LINE.match(line)
        outcome, test = (m.group(1), m.group(2)) if m else (None, None)
        if m is None and (m := _PLAIN_LINE.match(line)):
            outcome, test = m.group(2), m.group(1)
        if outcome is not None:
            counts[outcome.lower()] = counts.get(outcome.lower(), 0) + 1
            if outcome in ("FAILED", "ERROR") and test not in failures:
                failures.append(str(test))
        elif s := _SUMMARY.match(line):
            summary = s.group(1)
    if summary is not None:
        counts = {}
        for n, what in re.findall(r"(\d+) (\w+)", summary):
            key = {"errors": "error", "xfailed": "xfail", "xpassed": "xpass"}.get(what, what)
            counts[key] = int(n)
    return {"counts": counts, "failures": failures, "complete": summary is not None}


def tests_phase(ctx: Context, name: str) -> Callable[[float], Outcome]:
    backend, platforms = TEST_BACKENDS[name]

    def action(budget: float) -> Outcome:
        level = pick_level(ctx.opts.tests, name, budget)
        xdist = importlib.util.find_spec("xdist") is not None
        cmd = pytest_command(backend, level, ctx.opts.workers, xdist)
        res = run_command(cmd, timeout=budget, env=child_env(ctx.site, jax_platforms=platforms),
                          cwd=ROOT, log=ctx.log)
        parsed = parse_pytest(res.output)
        counts = ", ".join(f"{v} {k}" for k, v in parsed["counts"].items()) or "no test ran"
        status = "timeout" if res.timed_out else "passed" if res.returncode == 0 else "failed"
        data = {**parsed, "level": level, "backend": backend, "command": shlex.join(cmd[1:])}
        if not parsed["counts"]:
            data["tail"] = res.output[-3000:]
        return Outcome(status, f"{level}: {counts}", data)

    return action


# ---------------------------------------------------------------------------------------------
# The sweeps (scripts/gpu_sweeps.py), each in a child process
# ---------------------------------------------------------------------------------------------


def worker_phase(ctx: Context, worker: str, judge: Callable[..., tuple[str, str, dict]],
                 backends: Callable[[], str] = lambda: "",
                 platforms: str = "cpu") -> Callable[[float], Outcome]:
    def action(budget: float) -> Outcome:
        cmd = [sys.executable, str(SWEEPS), worker, "--out", str(ctx.out),
               "--backends", backends()]
        res = run_command(cmd, timeout=budget, env=child_env(ctx.site, jax_platforms=platforms),
                          cwd=ROOT, log=ctx.log)
        path = ctx.out / f"{worker}.json"
        records = json.loads(path.read_text())["records"] if path.exists() else []
        status, detail, data = judge(records)
        if res.timed_out:
            status, detail = "timeout", f"stopped after {len(records)} losses; {detail}"
        elif res.returncode != 0:
            status = "failed"
            detail = f"worker exit {res.returncode}: {res.output.strip()[-300:]}; {detail}"
        return Outcome(status, detail, {**data, "records": records})

    return action


# ---------------------------------------------------------------------------------------------
# The phases of this run
# ---------------------------------------------------------------------------------------------


@dataclass
class Context:
    opts: argparse.Namespace
    out: Path
    log: Path
    site: Path | None = None
    caps: dict[str, bool] = field(default_factory=dict)
    probe: dict[str, Any] = field(default_factory=dict)


def install_phase(ctx: Context) -> Callable[[float], Outcome]:
    def action(budget: float) -> Outcome:
        folder = ROOT / ctx.opts.wheels
        wheels = sorted(folder.glob("*.whl")) if folder.is_dir() else []
        if not wheels:
            return Outcome("passed", f"no wheels in {ctx.opts.wheels}: nothing to install")
        dups = duplicate_wheels(wheels)
        if dups:
            return Outcome("failed", f"several versions of {sorted(dups)}", {"duplicates": dups})
        site = Path(ctx.opts.site)
        res = run_command(install_command(wheels, site), timeout=budget, log=ctx.log)
        if res.returncode != 0 or res.timed_out:
            return Outcome("timeout" if res.timed_out else "failed",
                           res.output.strip()[-500:] or f"pip exit {res.returncode}")
        ctx.site = site
        return Outcome("passed", f"{len(wheels)} wheels into {site}",
                       {"wheels": [w.name for w in wheels]})

    return action


def probe_phase(ctx: Context) -> Callable[[float], Outcome]:
    def action(budget: float) -> Outcome:
        cmd = [sys.executable, str(SWEEPS), "probe"]
        res = run_command(cmd, timeout=budget, env=child_env(ctx.site, jax_platforms="cuda"),
                          cwd=ROOT, log=ctx.log)
        lines = [ln for ln in res.output.splitlines() if ln.startswith("{")]
        if not lines:
            return Outcome("timeout" if res.timed_out else "failed", res.output.strip()[-500:])
        ctx.probe = json.loads(lines[-1])
        ctx.caps.update(ctx.probe["caps"])
        found = [c for c in ("torch_cuda", "cupy", "jax_cuda") if ctx.caps.get(c)]
        missing = [c for c in ("torch_cuda", "cupy", "jax_cuda") if not ctx.caps.get(c)]
        status = "passed" if not missing else "failed"
        detail = f"{ctx.probe.get('device', 'no GPU')}; works: {', '.join(found) or 'none'}"
        if missing:
            detail += f"; not working: {', '.join(missing)}"
        return Outcome(status, detail, ctx.probe)

    return action


def bench_command(backends: Sequence[str], sizes: str, out: Path,
                  python: str = sys.executable) -> list[str]:
    """benchmarks/run.py at a reduced cost: no torch.compile, no Keras, 3 rounds."""
    return [python, str(ROOT / "benchmarks" / "run.py"), "--backends", ",".join(backends),
            "--sizes", sizes, "--modes", "fwd,fwd+bwd", "--no-compile", "--no-keras",
            "--no-plot", "--repeat", "3", "--min-time", "0.005", "--out", str(out)]


def bench_phase(ctx: Context) -> Callable[[float], Outcome]:
    def action(budget: float) -> Outcome:
        names = {"torch_cuda": "torch_cuda", "jax_cuda": "jax", "cupy": "cupy"}
        backends = [b for cap, b in names.items() if ctx.caps.get(cap, True)]
        out = ctx.out / "bench"
        cmd = bench_command(backends, ctx.opts.bench_sizes, out)
        res = run_command(cmd, timeout=budget, env=child_env(ctx.site, jax_platforms="cuda"),
                          cwd=ROOT, log=ctx.log)
        records = _bench_records(out)
        ok = sum(r.get("status") == "ok" for r in records)
        detail = f"{ok} ratios timed, {len(records) - ok} not timed"
        status = "timeout" if res.timed_out else "failed" if res.returncode or not ok else "passed"
        return Outcome(status, detail, {"command": shlex.join(cmd[1:]), "records": records})

    return action


def _bench_records(out: Path) -> list[dict[str, Any]]:
    for name in ("results.json", "results.partial.json"):
        if (out / name).exists():
            return list(json.loads((out / name).read_text())["records"])
    return []


def build_phases(ctx: Context) -> list[Phase]:
    def gpu_backends() -> str:
        return ",".join(b for cap, b in (("cupy", "cupy"), ("jax_cuda", "jax"))
                        if ctx.caps.get(cap, True))

    actions: dict[str, Callable[[float], Outcome]] = {
        "install": install_phase(ctx),
        "probe": probe_phase(ctx),
        "nosync": worker_phase(ctx, "nosync", judge_nosync),
        "compare": worker_phase(ctx, "compare", judge_compare, gpu_backends, "cuda"),
        "bench": bench_phase(ctx),
    }
    actions.update({name: tests_phase(ctx, name) for name in TEST_BACKENDS})
    return [Phase(name, PHASES[name][0], actions[name], PHASES[name][1],
                  min_s=30.0 if name.startswith(("tests", "bench")) else 5.0)
            for name in PHASES if name in ctx.opts.phases]


# ---------------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------------


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _phase_table(phases: Sequence[dict[str, Any]]) -> list[str]:
    lines = ["## Phases", "", "| phase | status | seconds | share s | detail |",
             "| --- | --- | --- | --- | --- |"]
    lines += [f"| {p['name']} | {p['status']} | {p['seconds']:.0f} | {p['budget_s']:.0f} | "
              f"{_cell(p['detail'])} |" for p in phases]
    return lines


def _tests_section(phases: Sequence[dict[str, Any]]) -> list[str]:
    runs = [p for p in phases if p["name"].startswith("tests-") and p.get("data")]
    if not runs:
        return []
    lines = ["", "## Test suite on the GPU backends", ""]
    for p in runs:
        d = p["data"]
        lines.append(f"- **{p['name']}** (`{d.get('command', '')}`): {_cell(p['detail'])}"
                     + ("" if d.get("complete", True) else " (stopped early: partial counts)"))
        lines += [f"  - failed: `{t}`" for t in d.get("failures", [])[:30]]
    return lines


def _nosync_section(phase: dict[str, Any] | None) -> list[str]:
    if not phase or not phase.get("data", {}).get("records"):
        return []
    records = phase["data"]["records"]
    lines = ["", "## No host synchronisation (torch CUDA)", "",
             'Each loss on CUDA float32 tensors under `torch.cuda.set_sync_debug_mode("error")`, '
             "after one warm-up call; torch's own function (the registry's `torch=` peer) on "
             f"the same inputs beside it. {_cell(phase['detail'])}.", ""]
    noisy = [r for r in records if any(v != "ok" for k, v in r.items() if k != "loss")]
    if not noisy:
        return [*lines, f"All {len(records)} losses ran without a host sync."]
    lines += ["| loss | arrayloss fwd | arrayloss fwd+bwd | torch fwd | torch fwd+bwd |",
              "| --- | --- | --- | --- | --- |"]
    keys = ("fwd", "fwd+bwd", "peer_fwd", "peer_fwd+bwd")
    lines += [f"| {r['loss']} | " + " | ".join(_cell(r.get(k, "-")) for k in keys) + " |"
              for r in noisy]
    lines += ["", f"The other {len(records) - len(noisy)} losses: ok in every column."]
    return lines


def _compare_section(phase: dict[str, Any] | None) -> list[str]:
    if not phase or not phase.get("data", {}).get("records"):
        return []
    records = phase["data"]["records"]
    seen = {k for r in records for k in [*r, *r.get("errors", {})] if ":" in k}
    backends = sorted({k.split(":")[0] for k in seen})
    keys = [f"{b}:{d}" for b in backends for d in TOLERANCE if f"{b}:{d}" in seen]
    lines = ["", "## CuPy and JAX (CUDA) against NumPy float64", "",
             "Max normwise relative error against arrayloss on NumPy float64 (tolerance: "
             + ", ".join(f"{k} {v:g}" for k, v in TOLERANCE.items())
             + "; JAX under `jax.jit`); ✗ marks a result beyond it or an error.", "",
             "| loss | " + " | ".join(keys) + " |", "| --- |" + " --- |" * len(keys)]
    for r in records:
        cells = []
        for k in keys:
            cell = "-"
            if k in r:
                cell = f"{r[k]:.1e}" + (" ✗" if r[k] > TOLERANCE[k.split(":")[1]] else "")
            if k in r.get("errors", {}):
                cell = ("" if cell == "-" else cell.removesuffix(" ✗") + " ") + "✗ " + _cell(
                    r["errors"][k])
            cells.append(cell)
        lines.append(f"| {r['loss']} | " + " | ".join(cells) + " |")
    return lines


def _bench_section(phase: dict[str, Any] | None, out: Path) -> list[str]:
    if not phase or "command" not in phase.get("data", {}):
        return []  # not run
    lines = ["", "## Benchmark on the GPU", "",
             f"`JAX_PLATFORMS=cuda {phase['data']['command']}`: the jax rows ran on the GPU.", ""]
    md = out / "bench" / "results.md"
    if md.exists() and phase["status"] == "passed":
        # run.py's own report, its headings one level down
        return lines + [("#" + ln if ln.startswith("#") else ln)
                        for ln in md.read_text().splitlines()]
    ok = [r for r in phase.get("data", {}).get("records", []) if r.get("status") == "ok"]
    lines += [f"Stopped early ({_cell(phase['detail'])}); the ratios measured:", "",
              "| loss | backend | size | mode | peer | ratio | Δ µs |",
              "| --- | --- | --- | --- | --- | --- | --- |"]
    lines += [f"| {r['loss']} | {r['backend']} | {r['size']} | {r['mode']} | {r['peer']} | "
              f"{r['ratio']:.2f}× | {r['delta_us']:+.1f} |" for r in ok]
    return lines


def render_markdown(summary: dict[str, Any], out: Path) -> str:
    probe_ = summary.get("probe", {})
    versions = ", ".join(f"{k} {v}" for k, v in probe_.get("versions", {}).items())
    by_name = {p["name"]: p for p in summary["phases"]}
    lines = ["# arrayloss GPU check", "",
             f"Run {summary['started']} on {probe_.get('device', 'no GPU found')} "
             f"({versions or 'versions unknown'}): {summary['elapsed_s']:.0f} s of a "
             f"{summary['budget_s']:.0f} s budget; exit status {summary['exit']}. Written by "
             "`scripts/gpu_check.py`.", ""]
    lines += _phase_table(summary["phases"])
    lines += _tests_section(summary["phases"])
    lines += _nosync_section(by_name.get("nosync"))
    lines += _compare_section(by_name.get("compare"))
    lines += _bench_section(by_name.get("bench"), out)
    return "\n".join(lines) + "\n"


def write_reports(summary: dict[str, Any], out: Path, results: Path | None) -> list[Path]:
    """summary.json and gpu.md under ``out``; gpu.md also at ``results`` (None: not)."""
    out.mkdir(parents=True, exist_ok=True)
    dump(out / "summary.json", summary)
    text = render_markdown(summary, out)
    written = [out / "summary.json", out / "gpu.md"]
    (out / "gpu.md").write_text(text)
    if results is not None:
        results.parent.mkdir(parents=True, exist_ok=True)
        results.write_text(text)
        written.append(results)
    return written


# ---------------------------------------------------------------------------------------------
# --prepare (CPU machine) and the check (GPU machine)
# ---------------------------------------------------------------------------------------------


def pinned(name: str) -> str:
    """``name==version`` of the distribution installed here (tested with it), else ``name``."""
    try:
        return f"{name}=={importlib.metadata.version(name)}"
    except importlib.metadata.PackageNotFoundError:
        return name


def download_command(requirements: Sequence[str], dest: Path, python_version: str,
                     python: str = sys.executable) -> list[str]:
    platforms = [a for p in PLATFORMS for a in ("--platform", p)]
    return [python, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
            "--python-version", python_version, "--implementation", "cp", *platforms,
            "-d", str(dest), *requirements]


def device_call(opts: argparse.Namespace) -> dict[str, Any]:
    """The remote run that makes this check on a GPU machine: its command, the folders to
    copy with the working tree, its time limit."""
    command = (f"PYTHONUNBUFFERED=1 python3 scripts/gpu_check.py --wheels {opts.wheels} "
               f'--out "$OUT" --budget {opts.budget:g}')
    return {"command": command, "carry": [opts.wheels],
            "timeout_s": int(min(600, opts.budget + 60))}


def prepare(opts: argparse.Namespace,
            runner: Callable[..., Any] = subprocess.run) -> int:
    dest = ROOT / opts.wheels
    dest.mkdir(parents=True, exist_ok=True)
    reqs = [pinned(n.strip()) for n in opts.packages.split(",") if n.strip()]
    cmd = download_command(reqs, dest, opts.python_version)
    print("$", shlex.join(cmd), flush=True)
    if runner(cmd).returncode != 0:
        print("gpu_check: the download failed (see pip's message above)", file=sys.stderr)
        return 1
    dups = duplicate_wheels(dest.glob("*.whl"))
    if dups:
        print(f"gpu_check: remove all but one version of each: {dups}", file=sys.stderr)
        return 1
    call = device_call(opts)
    if len(call["command"]) > MAX_COMMAND_CHARS:
        print("gpu_check: the command is too long for a remote run", file=sys.stderr)
        return 1
    print(f"\nWheels in {dest}: " + ", ".join(sorted(w.name for w in dest.glob("*.whl"))))
    print("On a GPU machine, make this remote run, then copy the returned gpu.md to "
          "benchmarks/results/gpu.md:")
    print(json.dumps(call))
    return 0


def check(opts: argparse.Namespace) -> int:
    out = Path(opts.out)
    out.mkdir(parents=True, exist_ok=True)
    ctx = Context(opts, out, out / "phases.log")
    ctx.log.write_text("")
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    t0 = time.monotonic()
    results = run_phases(build_phases(ctx), opts.budget, ctx.caps,
                         say=lambda s: print(s, flush=True))
    code = exit_code(results)
    summary = {"started": started, "budget_s": opts.budget,
               "elapsed_s": time.monotonic() - t0, "exit": code, "probe": ctx.probe,
               "phases": [asdict(r) for r in results]}
    gpu = any(ctx.caps.get(c) for c in ("torch_cuda", "cupy", "jax_cuda"))
    target = Path(opts.results) if gpu and not opts.no_results else None
    for path in write_reports(summary, out, target):
        print(f"wrote {path}")
    return code


def main(argv: Sequence[str] | None = None) -> int:
    opts = parse_args(argv)
    if opts.prepare:
        return prepare(opts)
    return check(opts)


if __name__ == "__main__":
    sys.exit(main())
