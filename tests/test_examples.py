"""The training examples in ``examples/`` train: each runs as a user would run it (a
subprocess, at a small size) and must lower its loss and pass an accuracy threshold on
held-out digits."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_example(script: str, *args: str, env: dict[str, str] | None = None) -> dict:
    pytest.importorskip("sklearn")
    full_env = {**os.environ, "OMP_NUM_THREADS": "1", "JAX_PLATFORMS": "cpu", **(env or {})}
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / script), *args],
                          cwd=ROOT, env=full_env, capture_output=True, text=True,
                          timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def assert_trained(result: dict, accuracy: float = 0.9) -> None:
    assert result["final_loss"] < 0.5 * result["initial_loss"], result
    assert result["test_accuracy"] >= accuracy, result


@pytest.mark.backends("numpy")
def test_numpy_logistic_regression(backend):
    assert_trained(run_example("numpy_logistic_regression.py", "--epochs", "100"))


@pytest.mark.backends("torch")
def test_torch_mlp(backend):
    assert_trained(run_example("torch_mlp.py", "--epochs", "8"))


@pytest.mark.backends("jax")
def test_jax_optax(backend):
    assert_trained(run_example("jax_optax.py", "--epochs", "8"))


@pytest.mark.backends("torch,jax")
def test_keras_model(backend):
    """Keras on the backend under test (its torch and jax backends), saved and reloaded."""
    result = run_example("keras_model.py", "--epochs", "8",
                         env={"KERAS_BACKEND": backend.name})
    assert result["example"] == f"keras-{backend.name}"
    assert result["restored_loss"] == "KerasLoss"
    assert_trained(result)
