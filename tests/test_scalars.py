"""Python and NumPy scalars in every argument position, for every registered loss.

* A Python number where a loss takes an array positionally (``mse_loss(x, 0.0)``) is a
  ``TypeError`` that starts with the loss's name and names the argument, except where the
  loss declares the position scalar-capable (``@register(scalar_args=...)``, e.g.
  ``gaussian_nll_loss``'s ``var``): there the number means the array full of it.
* A NumPy scalar option (``delta=np.float32(0.5)``, ``ignore_index=np.int64(2)``) is the
  same option as the Python number.
"""

from __future__ import annotations

import numpy as np
import pytest

from arrayloss._check import make_sample, registered
from tests._harness import convert, rng_for
from tests.loss_info import LOSSES

SPECS = registered()
IDS = [s.name for s in SPECS]


@pytest.mark.backends("numpy,torch,jax")
@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_python_scalar_in_an_array_position(spec, backend):
    sample = make_sample(spec, 4, 3)
    assert sample is not None
    checked = 0
    for i, arg in enumerate(spec.array_args[: len(sample.args)]):
        if not isinstance(sample.args[i], np.ndarray):
            continue
        for value in (0.5, 1):
            args = [backend.asarray(a, "float64") if isinstance(a, np.ndarray) else a
                    for a in sample.args]
            kwargs = {k: backend.asarray(v, "float64") if isinstance(v, np.ndarray) else v
                      for k, v in sample.kwargs.items()}
            filled = np.full(sample.args[i].shape, value, dtype=np.float64)
            args[i] = value
            if arg in spec.scalar_args:
                try:
                    got = spec.func(*args, **kwargs)
                except TypeError as err:  # scalar-capable in some calls only (ctc: unbatched)
                    assert str(err).startswith(f"{spec.name}: `{arg}`"), str(err)
                    continue
                args[i] = backend.asarray(filled, "float64")
                want = spec.func(*args, **kwargs)
                np.testing.assert_allclose(backend.to_numpy(got), backend.to_numpy(want),
                                           rtol=1e-12)
            else:
                with pytest.raises(TypeError, match=rf"^{spec.name}: .*`{arg}`"):
                    spec.func(*args, **kwargs)
            checked += 1
    assert checked


def _numpy_twins(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return []
    if isinstance(value, int):
        return [np.int64(value), np.int32(value)]
    exact32 = float(np.float32(value)) == value  # else float32 is another option value
    return [np.float64(value), np.float32(value)] if exact32 else [np.float64(value)]


@pytest.mark.backends("numpy,torch")
@pytest.mark.parametrize("info", LOSSES, ids=[i.name for i in LOSSES])
def test_numpy_scalar_options_are_python_numbers(info, backend):
    checked = 0
    for sample in info.expanded_samples(rng_for(info.name, "numpy scalars")):
        args, kwargs = convert(sample, backend, "float64")
        for key, value in sample.kwargs.items():
            twins = _numpy_twins(value)
            if not twins:
                continue
            want = backend.to_numpy(info.func(*args, **kwargs))
            for twin in twins:
                got = backend.to_numpy(info.func(*args, **{**kwargs, key: twin}))
                np.testing.assert_array_equal(got, want, err_msg=f"{key}={twin!r}")
                checked += 1
    if not checked:
        pytest.skip(f"{info.name}'s samples set no numeric option")
