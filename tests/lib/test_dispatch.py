"""``_lib/_dispatch.py``: the switch that forces the generic kernels (context and environment
variable) really bypasses the native table; which whole-loss kernels check labels themselves."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import scipy.special as sp

from arrayloss._lib import _dispatch as D
from arrayloss._lib import _primitives as P
from arrayloss.testing import force_generic, generic_forced


def test_force_generic_context_and_env():
    assert not generic_forced()
    with force_generic():
        assert generic_forced()
        with force_generic(False):
            assert not generic_forced()
        assert generic_forced()
    assert not generic_forced()
    code = "import arrayloss.testing as t; print(t.generic_forced())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"ARRAYLOSS_FORCE_GENERIC": "1", "PATH": ""}, check=True)
    assert out.stdout.strip() == "True"


@pytest.mark.backends("torch")
def test_generic_path_really_avoids_native_kernels(backend, monkeypatch):
    """force_generic must bypass the table: patch a native kernel to fail and call under it."""
    import torch.nn.functional as F

    x = backend.asarray(np.linspace(-3, 3, 12).reshape(3, 4), "float64")

    def boom(*a, **k):
        raise AssertionError("native kernel called")

    monkeypatch.setattr(F, "log_softmax", boom)
    D._PRIMITIVES.pop("torch", None)  # rebuild the table with the patched function
    try:
        with force_generic():
            out = P.log_softmax(x, axis=1, xp=backend.xp)
        np.testing.assert_allclose(out.numpy(), sp.log_softmax(x.numpy(), axis=1), rtol=1e-12)
    finally:
        D._PRIMITIVES.pop("torch", None)


def test_native_checks_labels_only_torch_cpu(backend):
    t = backend.asarray(np.array([0, 1]))
    expected = backend.name == "torch"
    assert P.native_checks_labels("cross_entropy", t, backend.xp) is expected
    assert P.native_checks_labels("focal_loss", t, backend.xp) is False
    with force_generic():
        assert P.native_checks_labels("cross_entropy", t, backend.xp) is False
