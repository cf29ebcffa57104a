"""The process-wide options (``arrayloss.set_options`` / ``options`` / environment) and the
``check_values`` policy that decides when a value check may read an array."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import arrayloss
from arrayloss._lib._validation import is_concrete, values_readable


def test_set_get_and_context_restore():
    assert arrayloss.get_options() == {"check_values": "auto"}
    with arrayloss.options(check_values="never"):
        assert arrayloss.get_options()["check_values"] == "never"
        with arrayloss.options(check_values="always"):
            assert arrayloss.get_options()["check_values"] == "always"
        assert arrayloss.get_options()["check_values"] == "never"
    assert arrayloss.get_options() == {"check_values": "auto"}
    arrayloss.set_options(check_values="always")
    try:
        arrayloss.set_options()  # None keeps the value
        assert arrayloss.get_options()["check_values"] == "always"
    finally:
        arrayloss.set_options(check_values="auto")


def test_bad_values_raise_naming_the_option():
    with pytest.raises(ValueError, match=r"set_options: `check_values` must be one of"):
        arrayloss.set_options(check_values="sometimes")
    with pytest.raises(ValueError, match="check_values"), arrayloss.options(check_values=1):
        pass
    assert arrayloss.get_options()["check_values"] == "auto"


@pytest.mark.parametrize("env, out", [("never", "never"), ("ALWAYS", "always"), ("", "auto")])
def test_environment_variable(env, out):
    code = "import arrayloss; print(arrayloss.get_options()['check_values'])"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"ARRAYLOSS_CHECK_VALUES": env, "PATH": ""}, check=True)
    assert res.stdout.strip() == out


def test_environment_variable_bad_value_is_named():
    res = subprocess.run([sys.executable, "-c", "import arrayloss"], capture_output=True,
                         text=True, env={"ARRAYLOSS_CHECK_VALUES": "maybe", "PATH": ""})
    assert res.returncode != 0 and "ARRAYLOSS_CHECK_VALUES must be one of" in res.stderr


def test_policy_on_numpy():
    from array_api_compat import numpy as xp

    x = np.arange(3)
    assert is_concrete(x, xp) and values_readable((x, x), xp)
    with arrayloss.options(check_values="never"):
        assert not is_concrete(x, xp)
    with arrayloss.options(check_values="always"):
        assert is_concrete(x, xp)


@pytest.mark.needs("torch")
def test_policy_on_torch_devices():
    import torch
    from array_api_compat import torch as xp

    cpu, meta = torch.arange(3), torch.arange(3, device="meta")
    assert is_concrete(cpu, xp)
    assert not is_concrete(meta, xp)  # an accelerator stand-in: never read by default
    assert not values_readable((cpu, meta), xp)
    with arrayloss.options(check_values="always"):
        assert not is_concrete(meta, xp)  # a meta tensor has no values to read at all
        assert is_concrete(cpu, xp)


@pytest.mark.needs("jax")
def test_policy_on_jax():
    import jax
    import jax.numpy as jnp

    x = jnp.arange(3)
    assert is_concrete(x, jnp)
    seen = []
    jax.jit(lambda a: seen.append(is_concrete(a, jnp)) or a)(x)
    assert seen == [False]
