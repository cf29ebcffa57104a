"""Smoke tests of the main job (``python -m arrayloss``) and the benchmark's quick mode.

They check that the machinery runs on NumPy and PyTorch at tiny sizes and that its value
checks pass; they assert nothing about timings (the machine is shared and noisy).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from arrayloss import __main__ as main_job
from arrayloss._lib import _bench
from arrayloss._lib._registry import REGISTRY

ROOT = Path(__file__).resolve().parents[1]
HAVE_TORCH = importlib.util.find_spec("torch") is not None
BACKENDS = "numpy,torch" if HAVE_TORCH else "numpy"


def test_every_loss_has_a_sample_kind() -> None:
    missing = [s.name for s in _bench.registered() if _bench.sample_kind(s) is None]
    assert missing == [], f"add these losses to SAMPLE_KINDS in arrayloss/_lib/_bench.py: {missing}"


def test_main_job_values_every_loss(tmp_path: Path) -> None:
    """Every registered loss agrees with its float64 reference in float32 on numpy/torch."""
    out = tmp_path / "main.json"
    rc = main_job.main(["--quick", "--no-timing", "--backends", BACKENDS, "--json", str(out)])
    data = json.loads(out.read_text())
    bad = [r for r in data["records"] if r["status"] != "ok"]
    assert bad == [] and rc == 0
    losses = {r["loss"] for r in data["records"]}
    assert losses == set(REGISTRY)
    assert {r["backend"] for r in data["records"]} == set(BACKENDS.split(","))
    for r in data["records"]:
        assert 0 <= r["max_rel_error"] <= main_job.TOLERANCE
        if HAVE_TORCH and "torch" in REGISTRY[r["loss"]].peers:
            assert r["reference"] == "torch", r


def test_main_job_timing_and_ratio(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "main.json"
    rc = main_job.main(
        [
            "--quick",
            "--losses",
            "mse_loss,cross_entropy",
            "--backends",
            BACKENDS,
            "--json",
            str(out),
        ]
    )
    assert rc == 0
    printed = capsys.readouterr().out
    assert "mse_loss" in printed and "ratio" in printed
    records = json.loads(out.read_text())["records"]
    assert len(records) == 2 * len(BACKENDS.split(","))
    for r in records:
        assert r["time_s"] > 0
        if r["backend"] == "torch":
            assert r["native"] == "torch.nn.functional" and r["ratio"] > 0


def test_main_job_rejects_unknown_names() -> None:
    with pytest.raises(ValueError, match="unknown loss"):
        main_job.main(["--quick", "--losses", "no_such_loss"])
    assert main_job.main(["--quick", "--backends", "no_such_backend"]) == 2


def test_rel_error() -> None:
    assert main_job.rel_error(np.array(2.0), np.array(2.0)) == 0
    assert main_job.rel_error(np.array([1.0, 3.0]), np.array([1.0, 2.0])) == pytest.approx(0.5)
    assert main_job.rel_error(np.array(np.nan), np.array(1.0)) == float("inf")
    assert main_job.rel_error(np.zeros(2), np.zeros(3)) == float("inf")


def test_time_interleaved_reports_every_callable() -> None:
    calls = {"a": 0, "b": 0}

    def a() -> int:
        calls["a"] += 1
        return 0

    def b() -> int:
        calls["b"] += 1
        return 0

    t = _bench.time_interleaved({"a": a, "b": b}, repeat=3, min_time=1e-4, warmup=1)
    assert set(t) == {"a", "b"} and all(v > 0 for v in t.values())
    assert calls["a"] > 3 and calls["b"] > 3


def test_benchmark_quick_mode(tmp_path: Path) -> None:
    script = ROOT / "benchmarks" / "run.py"
    if not script.exists():
        pytest.skip("benchmarks/ not in this checkout")
    proc = subprocess.run(
        [
            sys.executable,
            str(script),
            "--quick",
            "--backends",
            BACKENDS,
            "--losses",
            "mse_loss,cross_entropy",
            "--out",
            str(tmp_path),
            "--no-keras",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    table = (tmp_path / "results.md").read_text()
    assert "mse_loss" in table and "cross_entropy" in table
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["records"] and all(r["ratio"] > 0 for r in data["records"] if "ratio" in r)
