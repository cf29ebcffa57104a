"""``_lib/_namespace.py``: namespace resolution, its errors for mixed libraries, non-arrays and
mixed devices, and the explicit ``xp=`` that skips inspection."""

from __future__ import annotations

import numpy as np
import pytest

import arrayloss
from arrayloss._lib._compat import backend_name
from arrayloss._lib._namespace import namespace_of


def test_namespace_ignores_none_and_scalars(backend):
    x = backend.asarray(np.ones(3), "float64")
    xp = namespace_of("some_loss", input=x, target=None, margin=1.0, flag=True, n=3)
    assert backend_name(xp) == backend_name(backend.xp)


def test_namespace_errors():
    import torch

    msg = r"^mse_loss: `input` is a numpy array but `target` is a torch"
    with pytest.raises(TypeError, match=msg):
        namespace_of("mse_loss", input=np.ones(2), target=torch.ones(2))
    with pytest.raises(TypeError, match=r"^mse_loss: argument `target` must be an array.*list"):
        namespace_of("mse_loss", input=np.ones(2), target=[1.0, 2.0])
    with pytest.raises(TypeError, match=r"^some_loss: none of the arguments"):
        namespace_of("some_loss", input=None, target=1.0)
    # a registered loss names the positional argument that must be an array
    with pytest.raises(TypeError, match=r"^mse_loss: `target` must be an array, got a Python"):
        namespace_of("mse_loss", input=None, target=1.0)


def test_namespace_mixed_devices_strict():
    import array_api_strict as strict

    a = strict.asarray([1.0])
    b = strict.asarray([1.0], device=strict.Device("device1"))
    with pytest.raises(ValueError, match=r"^l1_loss: `input` is on device .* but `target` is on"):
        namespace_of("l1_loss", input=a, target=b)
    with pytest.raises(ValueError, match=r"^l1_loss: .*on device"):
        arrayloss.l1_loss(a, b)


def test_explicit_xp_skips_inspection():
    sentinel = object()
    assert namespace_of("x", xp=sentinel, input=np.ones(1), target=None) is sentinel
