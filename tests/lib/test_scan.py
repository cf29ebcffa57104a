"""``_lib/_scan.py``: ``cond`` runs the chosen branch, eagerly, lazily and under ``jax.jit``."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.mark.parametrize("flag", [True, False])
def test_cond_runs_the_chosen_branch(backend, flag):
    """cond picks true_fn's result for a true 0-d predicate, false_fn's otherwise: a host
    branch on concrete arrays, a where on lazy Dask (and lax.cond under jax.jit, below)."""
    from arrayloss._lib._scan import cond

    xp = backend.xp
    x = backend.asarray(np.array([1.0, -2.0, 3.0]), "float64")
    pred = xp.all(x > 0) if not flag else xp.any(x > 0)
    got = cond(pred, lambda a: xp.sum(a * 2.0), lambda a: xp.sum(a - 1.0), x, xp=xp)
    assert float(backend.to_numpy(got)) == (4.0 if flag else -1.0)


@pytest.mark.needs("jax")
def test_cond_under_jit_and_grad():
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    from arrayloss._lib._scan import cond

    def f(a):
        return cond(jnp.all(a > 0), lambda v: jnp.sum(v * v), lambda v: jnp.sum(3.0 * v), a,
                    xp=jnp)

    g = jax.jit(jax.value_and_grad(f))
    val, grad = g(jnp.asarray([1.0, 2.0]))
    assert float(val) == 5.0 and np.asarray(grad).tolist() == [2.0, 4.0]
    val, grad = g(jnp.asarray([1.0, -2.0]))
    assert float(val) == -3.0 and np.asarray(grad).tolist() == [3.0, 3.0]
