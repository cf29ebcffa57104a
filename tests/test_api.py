"""Guards on the public API: every public loss is exported, registered, tested, wrapped in
arrayloss.nn, documented, and follows the signature conventions."""

from __future__ import annotations

import inspect
import re

import pytest

import arrayloss
from arrayloss._lib._registry import REGISTRY
from tests.loss_info import BY_NAME

PUBLIC_LOSSES = sorted(REGISTRY)
NON_LOSS_EXPORTS = {"__version__", "nn", "testing"}


def test_all_is_exactly_the_registry_plus_modules():
    """__all__ lists every registered loss and nothing else but the public modules/helpers."""
    exported = set(arrayloss.__all__)
    assert set(PUBLIC_LOSSES) <= exported
    extra = exported - set(PUBLIC_LOSSES) - NON_LOSS_EXPORTS
    for name in extra:  # non-loss helpers (e.g. gradient_penalty) must at least be callables
        assert callable(getattr(arrayloss, name)), name
    for name in exported:
        assert hasattr(arrayloss, name), name


def test_no_private_leaks_from_package():
    public = [n for n in dir(arrayloss) if not n.startswith("_")]
    # the family modules or packages (arrayloss.classification, arrayloss.segmentation...)
    family_modules = {s.func.__module__.split(".")[1] for s in REGISTRY.values()}
    # Subpackages imported on demand (``import arrayloss.integrations.torch``) become attributes
    # of the package once some test has imported them; they are public by design.
    on_demand = {"integrations"}
    for n in public:
        assert n in arrayloss.__all__ or n in family_modules or n in on_demand, (
            f"arrayloss.{n} is not in __all__"
        )


@pytest.mark.parametrize("name", PUBLIC_LOSSES)
def test_every_loss_has_a_registry_test_entry(name):
    assert name in BY_NAME, f"{name} has no LossInfo entry in tests/loss_info"
    assert BY_NAME[name].func is REGISTRY[name].func


@pytest.mark.parametrize("name", PUBLIC_LOSSES)
def test_signature_conventions(name):
    sig = inspect.signature(REGISTRY[name].func)
    params = list(sig.parameters.values())
    kinds = [p.kind for p in params]
    assert kinds[0] is inspect.Parameter.POSITIONAL_ONLY, f"{name}: arrays are positional-only"
    assert all(k in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.KEYWORD_ONLY)
               for k in kinds), f"{name}: options must be keyword-only"
    assert "xp" in sig.parameters and sig.parameters["xp"].default is None
    for deprecated in ("size_average", "reduce"):
        assert deprecated not in sig.parameters


@pytest.mark.parametrize("name", PUBLIC_LOSSES)
def test_docstring_sections(name):
    doc = inspect.getdoc(REGISTRY[name].func) or ""
    for section in ("Parameters", "Returns" if "Returns" in doc else "Parameters", "Examples"):
        assert section in doc, f"{name}: docstring lacks {section}"
    assert ".. math::" in doc, f"{name}: docstring lacks the formula"
    assert re.search(r">>> .*arrayloss", doc), f"{name}: example must call arrayloss"


@pytest.mark.parametrize("name", PUBLIC_LOSSES)
def test_class_wrapper_generated(name):
    spec = REGISTRY[name]
    cls = getattr(arrayloss.nn, spec.class_name)
    assert issubclass(cls, arrayloss.nn.Loss)
    assert cls.function is spec.func
    assert set(inspect.signature(cls).parameters) == set(spec.options)
    assert spec.class_name in arrayloss.nn.__all__


def test_wrapper_repr_config_and_equality():
    a = arrayloss.nn.HuberLoss(delta=0.5, reduction="sum")
    assert repr(a) == "HuberLoss(delta=0.5, reduction='sum')"
    assert a.get_config() == {"delta": 0.5, "reduction": "sum"}
    assert a == arrayloss.nn.HuberLoss(**a.get_config())
    assert a != arrayloss.nn.HuberLoss(delta=0.5)


def test_torch_names_for_torch_losses():
    """Losses with a torch.nn.functional peer carry the torch.nn class name."""
    import torch.nn as tnn

    for spec in REGISTRY.values():
        peer = spec.peers.get("torch", "")
        if peer.startswith("torch.nn.functional."):
            assert hasattr(tnn, spec.class_name), f"{spec.name}: {spec.class_name} is not torch's"


def test_readme_loss_table_is_current():
    """README.md's loss table is generated from the registry (scripts/loss_table.py)."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, str(root / "scripts" / "loss_table.py"), "--check"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
