"""The CPU-side parts of the GPU check (``scripts/gpu_check.py``, ``scripts/gpu_sweeps.py``).

No GPU and no network: argument parsing, the phase runner's time split and its going on past a
failing phase, the install and download commands it builds, the test selection and the reading
of pytest's output, the report it writes from (fake) results, ``--prepare``'s printed device
call, the comparison sweep on NumPy, and the benchmark options the check passes to
``benchmarks/run.py``.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import re
import shlex
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

import arrayloss

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str, path: Path) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod  # dataclasses look their module up while the class is built
    spec.loader.exec_module(mod)
    return mod


gc = _load("gpu_check", ROOT / "scripts" / "gpu_check.py")
sweeps = _load("gpu_sweeps", ROOT / "scripts" / "gpu_sweeps.py")


# ---------------------------------------------------------------------------------------------
# Arguments and help
# ---------------------------------------------------------------------------------------------


def test_help_explains_every_phase_and_how_to_run() -> None:
    text = gc.build_parser().format_help()
    for name in gc.PHASES:
        assert name in text
    for option in ("--prepare", "--wheels", "--out", "--budget", "--phases", "--tests",
                   "--bench-sizes", "--results"):
        assert option in text
    assert "How to run" in text and "set_sync_debug_mode" in text
    call = gc.device_call(gc.parse_args([]))
    # the docstring quotes the call --prepare prints
    assert f'"timeout_s": {call["timeout_s"]}' in gc.__doc__
    assert '"carry": [".whl"]' in gc.__doc__ and "--budget 450" in gc.__doc__


def test_parse_args_defaults_and_validation(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    monkeypatch.delenv("OUT", raising=False)
    opts = gc.parse_args([])
    assert opts.phases == list(gc.PHASES)
    assert (opts.budget, opts.wheels, opts.tests, opts.prepare) == (450, ".whl", "auto", False)
    assert opts.out == "/tmp/arrayloss-gpu-check"
    monkeypatch.setenv("OUT", "/device/out")
    assert gc.parse_args([]).out == "/device/out"
    assert gc.parse_args(["--phases", "nosync, compare"]).phases == ["nosync", "compare"]
    with pytest.raises(SystemExit):
        gc.parse_args(["--phases", "nosync,bogus"])
    assert "bogus" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        gc.parse_args(["--tests", "most"])


# ---------------------------------------------------------------------------------------------
# The phase runner
# ---------------------------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _phase(clock: FakeClock, seen: dict[str, float], name: str, share: float, spend: float,
           status: str = "passed", raises: bool = False, needs: tuple[str, ...] = ()) -> Any:
    def action(budget: float) -> Any:
        seen[name] = budget
        clock.now += spend
        if raises:
            raise RuntimeError("boom")
        return gc.Outcome(status, f"{name} done")

    return gc.Phase(name, share, action, needs, min_s=5.0)


def test_run_phases_splits_the_time_left_and_goes_on_past_failures() -> None:
    clock, seen = FakeClock(), {}
    phases = [
        _phase(clock, seen, "a", 10, spend=2),
        _phase(clock, seen, "b", 30, spend=30, raises=True),
        _phase(clock, seen, "c", 20, spend=0, needs=("cupy",)),
        _phase(clock, seen, "d", 60, spend=10, status="failed", needs=("gpu", "cupy")),
        _phase(clock, seen, "e", 10, spend=0, needs=("unprobed",)),
    ]
    results = gc.run_phases(phases, 110, {"gpu": True, "cupy": False}, clock=clock,
                            say=lambda s: None)
    assert [r.status for r in results] == ["passed", "failed", "skipped", "failed", "passed"]
    # The time left, split among the phases still able to run (c is not: no cupy) by share;
    # a capability nobody probed counts as present.
    assert seen["a"] == pytest.approx(110 * 10 / 110)
    assert seen["b"] == pytest.approx(108 * 30 / 100)
    assert seen["d"] == pytest.approx(78 * 60 / 70)
    assert seen["e"] == pytest.approx(68)
    assert "c" not in seen
    assert results[1].detail == "RuntimeError: boom" and "boom" in results[1].data["traceback"]
    assert results[2].detail == "needs cupy: not found"
    assert results[3].seconds == 10 and results[3].budget_s == pytest.approx(78 * 60 / 70)
    assert gc.exit_code(results) == 1


def test_run_phases_does_not_start_a_phase_without_time_and_exit_codes() -> None:
    clock, seen = FakeClock(), {}
    results = gc.run_phases([_phase(clock, seen, "a", 1, spend=0)], 4, {}, clock=clock,
                            say=lambda s: None)
    assert (results[0].status, seen) == ("timeout", {})
    assert results[0].detail.startswith("not started")
    ok = gc.run_phases([_phase(clock, seen, "a", 1, spend=1)], 60, {}, clock=clock,
                       say=lambda s: None)
    assert gc.exit_code(ok) == 0 and gc.exit_code([]) == 1
    odd = gc.run_phases([_phase(clock, seen, "a", 1, spend=0, status="fine")], 60, {},
                        clock=clock, say=lambda s: None)
    assert odd[0].status == "failed" and "'fine'" in odd[0].detail


def test_run_command_captures_output_and_stops_at_its_limit(tmp_path: Path) -> None:
    log = tmp_path / "phases.log"
    done = gc.run_command([sys.executable, "-c", "print('hello'); raise SystemExit(3)"],
                          timeout=60, log=log)
    assert (done.returncode, done.timed_out, done.output.strip()) == (3, False, "hello")
    slow = [sys.executable, "-c", "import time; print('started', flush=True); time.sleep(60)"]
    stopped = gc.run_command(slow, timeout=1.0, log=log, grace=2.0)
    assert stopped.timed_out and stopped.returncode != 0 and "started" in stopped.output
    text = log.read_text()
    assert "[rc=3," in text and "timed out]" in text and "hello" in text


# ---------------------------------------------------------------------------------------------
# Installation, tests, environment
# ---------------------------------------------------------------------------------------------


def test_install_command_and_duplicate_wheels() -> None:
    wheel = Path("/r/.whl/array_api_compat-1.16.0-py3-none-any.whl")
    assert gc.install_command([wheel], Path("/tmp/site"), python="py") == [
        "py", "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-compile",
        "--no-cache-dir", "--upgrade", "--target", "/tmp/site", str(wheel)]
    other = Path("Array.API_compat-1.15.0-py3-none-any.whl")
    monai = Path("monai-1.6.1-py3-none-any.whl")
    assert gc.duplicate_wheels([wheel, monai]) == {}
    assert gc.duplicate_wheels([wheel, other, monai]) == {
        "array-api-compat": sorted([wheel.name, other.name])}


def _ctx(tmp_path: Path, *argv: str) -> Any:
    opts = gc.parse_args(["--out", str(tmp_path / "out"), *argv])
    return gc.Context(opts, tmp_path / "out", tmp_path / "phases.log")


def test_install_phase_without_wheels_or_with_two_versions(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path, "--wheels", str(tmp_path / "none"))
    out = gc.install_phase(ctx)(30)
    assert out.status == "passed" and "nothing to install" in out.detail and ctx.site is None
    folder = tmp_path / "w"
    folder.mkdir()
    for name in ("monai-1.6.1-py3-none-any.whl", "monai-1.5.0-py3-none-any.whl"):
        (folder / name).write_bytes(b"")
    out = gc.install_phase(_ctx(tmp_path, "--wheels", str(folder)))(30)
    assert out.status == "failed" and out.data["duplicates"] == {
        "monai": ["monai-1.5.0-py3-none-any.whl", "monai-1.6.1-py3-none-any.whl"]}


def test_child_env_puts_the_wheels_then_the_repository_first() -> None:
    env = gc.child_env(Path("/tmp/site"), base={"PYTHONPATH": "/x", "HOME": "/h"},
                       jax_platforms="cuda")
    assert env["PYTHONPATH"].split(":") == ["/tmp/site", str(gc.ROOT), "/x"]
    assert env["JAX_PLATFORMS"] == "cuda" and env["HOME"] == "/h"
    assert env["XLA_PYTHON_CLIENT_PREALLOCATE"] == "false"
    assert gc.child_env(None, base={})["PYTHONPATH"] == str(gc.ROOT)


def test_test_selection_and_pytest_command() -> None:
    assert gc.pick_level("auto", "tests-torch_cuda", 90) == "core"
    assert gc.pick_level("auto", "tests-jax_cuda", 90) == "smoke"
    assert gc.pick_level("auto", "tests-cupy", 10_000) == "full"
    assert gc.pick_level("smoke", "tests-cupy", 10_000) == "smoke"
    cmd = gc.pytest_command("torch_cuda", "core", 8, python="py")
    assert cmd[:3] == ["py", "-m", "pytest"] and "--backends=torch_cuda" in cmd
    assert cmd[cmd.index("-n") + 1] == "8" and cmd[-len(gc.CORE_FILES):] == list(gc.CORE_FILES)
    assert "-n" not in gc.pytest_command("cupy", "smoke", 1)
    assert "-n" not in gc.pytest_command("cupy", "smoke", 8, xdist=False)
    for files in gc.TEST_LEVELS.values():
        assert all((ROOT / f).exists() for f in files if f.startswith("tests"))


XDIST_OUTPUT = """\
[gw0] [ 10%] PASSED tests/test_losses.py::test_value_matches_reference[mse_loss-cupy-float32]
[gw1] [ 20%] FAILED tests/test_losses.py::test_value_matches_reference[dice_loss-cupy-float64]
[gw1] [ 30%] SKIPPED tests/test_losses.py::test_gradient_matches_reference[mse_loss-cupy]
[gw0] [ 40%] PASSED tests/test_losses.py::test_value_matches_reference[l1_loss-cupy-float32]
"""


def test_parse_pytest_counts_a_stopped_run_and_reads_the_summary() -> None:
    partial = gc.parse_pytest(XDIST_OUTPUT)
    assert partial == {
        "counts": {"passed": 2, "failed": 1, "skipped": 1},
        "failures": ["tests/test_losses.py::test_value_matches_reference[dice_loss-cupy-float64]"],
        "complete": False,
    }
    done = gc.parse_pytest(
        XDIST_OUTPUT + "FAILED tests/test_losses.py::test_x[a] - AssertionError\n"
        "===== 1 failed, 2 passed, 1 skipped, 2 xfailed, 1 error in 12.34s =====\n")
    assert done["complete"] and done["counts"] == {
        "failed": 1, "passed": 2, "skipped": 1, "xfail": 2, "error": 1}
    plain = gc.parse_pytest("tests/test_a.py::test_b[x] ERROR                  [ 50%]\n")
    assert plain["counts"] == {"error": 1} and plain["failures"] == ["tests/test_a.py::test_b[x]"]


# ---------------------------------------------------------------------------------------------
# Sweeps: judging their records, and the comparison run on NumPy
# ---------------------------------------------------------------------------------------------

NOSYNC = [
    {"loss": "mse_loss", "fwd": "ok", "fwd+bwd": "ok", "peer_fwd": "ok", "peer_fwd+bwd": "ok"},
    {"loss": "cross_entropy", "fwd": "sync at arrayloss/_lib/_validation.py:40 (value_range)",
     "fwd+bwd": "ok", "peer_fwd": "ok", "peer_fwd+bwd": "ok"},
    {"loss": "ctc_loss", "fwd": "sync at arrayloss/sequence/_ctc.py:9 (ctc)", "fwd+bwd": "ok",
     "peer_fwd": "sync", "peer_fwd+bwd": "ok"},
    {"loss": "dice_loss", "fwd": "error: ValueError: x", "fwd+bwd": "ok"},
]
COMPARE = [
    {"loss": "mse_loss", "errors": {}, "cupy:float64": 1e-16, "cupy:float32": 2e-7},
    {"loss": "kl_div", "errors": {"jax:float32": "result left the GPU"}, "cupy:float64": 3e-6,
     "cupy:float32": 2e-7, "jax:float32": 1e-7},
]


def test_judges_fail_only_what_torch_does_better_and_what_is_off() -> None:
    status, detail, data = sweeps.judge_nosync(NOSYNC)
    assert status == "failed"
    assert data == {"bad": ["cross_entropy fwd", "dice_loss fwd"],
                    "torch_syncs_too": ["ctc_loss fwd"]}
    assert detail.startswith("4 losses; 2 calls")
    assert sweeps.judge_nosync(NOSYNC[:1])[0] == "passed"
    status, _, data = sweeps.judge_compare(COMPARE)
    assert status == "failed"
    assert data["bad"] == ["kl_div cupy:float64 3e-06", "kl_div jax:float32: result left the GPU"]
    assert sweeps.judge_compare(COMPARE[:1])[0] == "passed"
    assert sweeps.judge_compare([{"loss": "mse_loss", "errors": {}}]) == (
        "failed", "1 losses; no backend compared", {"bad": []})


def test_compare_sweep_on_numpy_writes_its_records(tmp_path: Path) -> None:
    records = sweeps.compare_sweep(tmp_path, ["numpy"], losses=["mse_loss", "cross_entropy"])
    assert [r["loss"] for r in records] == ["mse_loss", "cross_entropy"]
    for r in records:
        assert r["errors"] == {}
        assert r["numpy:float64"] == 0.0  # the reference's own code path
        assert 0.0 < r["numpy:float32"] < sweeps.TOLERANCE["float32"]
    saved = json.loads((tmp_path / "compare.json").read_text())
    assert saved == {"backends": ["numpy"], "records": records}


def test_where_names_the_innermost_arrayloss_frame() -> None:
    import numpy as np

    try:
        arrayloss.mse_loss(np.zeros(3), np.zeros(3), reduction="most")
    except ValueError as e:
        where = sweeps._where(e)
    assert re.fullmatch(r" at arrayloss/\S+\.py:\d+ \(\w+\)", where), where
    assert sweeps._where(ValueError("not raised")) == ""


# ---------------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------------


def _summary() -> dict[str, Any]:
    tests = {"counts": {"passed": 2, "failed": 1}, "complete": False, "level": "core",
             "failures": ["tests/test_losses.py::test_v[dice_loss-cupy]"], "command": "pytest"}
    bench = {"command": "benchmarks/run.py --backends cupy", "records": [
        {"loss": "mse_loss", "backend": "cupy", "size": "tiny", "mode": "fwd", "peer": "cupy",
         "ratio": 1.25, "delta_us": 3.0, "status": "ok"},
        {"loss": "l1_loss", "backend": "cupy", "size": "tiny", "mode": "fwd", "status": "x"}]}
    phases = [
        gc.PhaseResult("probe", "passed", 5, 30, "NVIDIA H100; works: torch_cuda, cupy"),
        gc.PhaseResult("tests-cupy", "timeout", 60, 60, "core: 2 passed, 1 failed", tests),
        gc.PhaseResult("nosync", "failed", 9, 30, "4 losses; 2 calls",
                       {"records": NOSYNC}),
        gc.PhaseResult("compare", "failed", 9, 60, "2 losses | 2 off", {"records": COMPARE}),
        gc.PhaseResult("bench", "timeout", 80, 80, "1 ratios timed, 1 not timed", bench),
    ]
    return {"started": "2026-12-08 02:00 UTC", "budget_s": 450, "elapsed_s": 163.4, "exit": 1,
            "probe": {"device": "NVIDIA H100", "versions": {"torch": "2.11.0"}},
            "phases": [gc.asdict(p) for p in phases]}


def test_write_reports_on_fake_results(tmp_path: Path) -> None:
    out, results = tmp_path / "out", tmp_path / "results" / "gpu.md"
    written = gc.write_reports(_summary(), out, results)
    assert written == [out / "summary.json", out / "gpu.md", results]
    text = (out / "gpu.md").read_text()
    assert results.read_text() == text
    assert json.loads((out / "summary.json").read_text()) == _summary()
    assert "Run 2026-12-08 02:00 UTC on NVIDIA H100 (torch 2.11.0): 163 s of a 450 s" in text
    assert "| tests-cupy | timeout | 60 | 60 | core: 2 passed, 1 failed |" in text
    assert "(stopped early: partial counts)" in text
    assert "  - failed: `tests/test_losses.py::test_v[dice_loss-cupy]`" in text
    assert ("| cross_entropy | sync at arrayloss/_lib/_validation.py:40 (value_range) | ok | ok "
            "| ok |") in text
    assert "| dice_loss | error: ValueError: x | ok | - | - |" in text
    assert "The other 1 losses: ok in every column." in text
    assert "| compare | failed | 9 | 60 | 2 losses \\| 2 off |" in text
    assert "| loss | cupy:float64 | cupy:float32 | jax:float32 |" in text
    assert "| mse_loss | 1.0e-16 | 2.0e-07 | - |" in text
    assert "| kl_div | 3.0e-06 ✗ | 2.0e-07 | 1.0e-07 ✗ result left the GPU |" in text
    assert "| mse_loss | cupy | tiny | fwd | cupy | 1.25× | +3.0 |" in text
    assert "l1_loss | cupy" not in text
    gc.write_reports(_summary(), tmp_path / "cpu", None)
    assert sorted(p.name for p in (tmp_path / "cpu").iterdir()) == ["gpu.md", "summary.json"]


def test_the_out_folder_fits_what_the_device_tool_sends_back() -> None:
    # at most 8 files, two folders down, names of letters, digits, '.', '_' and '-'
    names = ["gpu.md", "summary.json", "phases.log", "nosync.json", "compare.json",
             "bench/results.md", "bench/results.json"]
    assert len(names) <= 8
    assert all(re.fullmatch(r"[\w.-]+(/[\w.-]+)?", n) for n in names)
    for name in names:
        assert name in gc.__doc__.replace("bench/results.{md,json}",
                                          "bench/results.md bench/results.json")


# ---------------------------------------------------------------------------------------------
# --prepare
# ---------------------------------------------------------------------------------------------


def test_prepare_downloads_pinned_wheels_and_prints_the_device_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.setattr(gc, "ROOT", tmp_path)
    calls: list[list[str]] = []

    def fake_pip(cmd: list[str]) -> Any:
        calls.append(cmd)
        dest = Path(cmd[cmd.index("-d") + 1])
        for req in cmd[cmd.index("-d") + 2:]:
            name, _, version = req.partition("==")
            (dest / f"{name.replace('-', '_')}-{version or '1.0'}-py3-none-any.whl").touch()
        return SimpleNamespace(returncode=0)

    assert gc.prepare(gc.parse_args(["--prepare"]), runner=fake_pip) == 0
    (cmd,) = calls
    assert cmd[1:4] == ["-m", "pip", "download"]
    for flag in ("--no-deps", "--only-binary=:all:"):
        assert flag in cmd
    assert cmd[cmd.index("--python-version") + 1] == "3.12"
    assert cmd[cmd.index("--implementation") + 1] == "cp"
    assert [cmd[i + 1] for i, a in enumerate(cmd) if a == "--platform"] == list(gc.PLATFORMS)
    assert cmd[cmd.index("-d") + 1] == str(tmp_path / ".whl")
    compat = importlib.metadata.version("array-api-compat")
    assert f"array-api-compat=={compat}" in cmd and len(cmd) - cmd.index("-d") - 2 == 3
    call = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert call["carry"] == [".whl"] and 450 < call["timeout_s"] <= 600
    assert len(call["command"]) <= gc.MAX_COMMAND_CHARS
    words = shlex.split(call["command"])
    assert words[:3] == ["PYTHONUNBUFFERED=1", "python3", "scripts/gpu_check.py"]
    opts = gc.parse_args(words[3:])
    assert (opts.wheels, opts.out, opts.budget, opts.prepare) == (".whl", "$OUT", 450, False)


def test_prepare_stops_on_a_failed_download_or_two_versions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.setattr(gc, "ROOT", tmp_path)
    opts = gc.parse_args(["--prepare", "--packages", "monai"])
    assert gc.prepare(opts, runner=lambda cmd: SimpleNamespace(returncode=1)) == 1
    for v in ("1.5.0", "1.6.1"):
        (tmp_path / ".whl" / f"monai-{v}-py3-none-any.whl").touch()
    assert gc.prepare(opts, runner=lambda cmd: SimpleNamespace(returncode=0)) == 1
    err = capsys.readouterr().err
    assert "download failed" in err and "monai-1.5.0" in err


# ---------------------------------------------------------------------------------------------
# The benchmark options the check passes on
# ---------------------------------------------------------------------------------------------


def test_bench_command_parses_as_benchmarks_run_expects(tmp_path: Path) -> None:
    run = _load("arrayloss_bench_run", ROOT / "benchmarks" / "run.py")
    cmd = gc.bench_command(["torch_cuda", "jax", "cupy"], "tiny,large", tmp_path, python="py")
    assert cmd[:2] == ["py", str(ROOT / "benchmarks" / "run.py")]
    opts = run.parse(cmd[2:])
    assert opts.backends == "torch_cuda,jax,cupy" and list(opts.sizes) == ["tiny", "large"]
    assert (opts.repeat, opts.min_time, opts.compile, opts.keras) == (3, 0.005, False, False)
    assert (run.parse([]).repeat, run.parse([]).min_time) == (7, 0.02)  # CPU runs unchanged
    assert (run.parse(["--quick"]).repeat, run.parse(["--quick"]).min_time) == (3, 0.002)
    got = run.available("numpy,cupy,torch_cuda")  # the GPU backends only with a GPU
    assert got[0] == "numpy" and ("cupy" in got) == run._cupy_gpu()
    assert run.PAIRING["cupy"] == "arrayloss"
    assert run.variant_of("cupy", "hinge_loss") == run.variant_of("numpy", "hinge_loss")
