"""The map loss -> peer callables that the benchmark times arrayloss against.

Built from the registry (``@register(torch=..., optax=..., keras=...)``) wherever the peer
takes the same arrays as arrayloss (``arrayloss/_check.py::peer_from_registry``), plus
small explicit tables below where it does not line up by itself:

* ``_optax_table``: optax losses whose argument order/reduction needs an adapter;
* ``keras_peer``: Keras 3 loss classes (called ``loss(y_true, y_pred)``, mean over the batch);
* ``NUMPY``: a NumPy formula for the NumPy backend; the same formulas with CuPy as the array
  module (:func:`formulas`) are the CuPy backend's peer.

Every peer computes the loss with arrayloss's defaults (``reduction="mean"``) on the sample
of the kind the loss declares at registration (:func:`arrayloss._check.make_sample`, the one
sample source of the main job, the benchmarks and the tests); ``benchmarks/run.py`` checks
each peer's value against arrayloss's before timing it and drops a peer that disagrees (so a
wrong adapter shows up as "peer disagrees", never as a bogus ratio).
"""

from __future__ import annotations

import importlib
import importlib.util
import re
from collections.abc import Callable
from typing import Any

import numpy as np

from arrayloss import _check
from arrayloss._lib._registry import LossSpec


def have(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


# ---------------------------------------------------------------------------------------------
# NumPy formulas (reduction="mean", arrayloss's argument order), written against an array
# module ``m`` so that the same formulas are the CuPy peer on a GPU
# ---------------------------------------------------------------------------------------------


def formulas(m: Any) -> dict[str, Callable[..., Any]]:
    """Each loss's formula with the array module ``m`` (``numpy`` or ``cupy``)."""

    def logsumexp(x: Any, axis: int) -> Any:
        mx = m.max(x, axis=axis, keepdims=True)
        return m.log(m.sum(m.exp(x - mx), axis=axis, keepdims=True)) + mx

    def cross_entropy(x: Any, t: Any) -> Any:
        picked = m.take_along_axis(x, t[:, None], axis=1)
        return m.mean(logsumexp(x, 1) - picked)

    def huber(x: Any, t: Any, delta: float = 1.0) -> Any:
        d = m.abs(x - t)
        return m.mean(m.where(d < delta, 0.5 * d * d, delta * (d - 0.5 * delta)))

    def smooth_l1(x: Any, t: Any, beta: float = 1.0) -> Any:
        d = m.abs(x - t)
        return m.mean(m.where(d < beta, 0.5 * d * d / beta, d - 0.5 * beta))

    def kl_div(x: Any, t: Any) -> Any:
        # torch.nn.functional.kl_div(input=log q, target=p), "mean": mean of p (log p - x)
        safe = m.where(t > 0, t, 1.0)
        return m.mean(m.where(t > 0, t * m.log(safe), 0.0) - t * x)

    def bce(p: Any, t: Any) -> Any:
        return -m.mean(t * m.maximum(m.log(p), -100) + (1 - t) * m.maximum(m.log1p(-p), -100))

    return {
        "mse_loss": lambda x, t: m.mean((x - t) ** 2),
        "l1_loss": lambda x, t: m.mean(m.abs(x - t)),
        "huber_loss": huber,
        "smooth_l1_loss": smooth_l1,
        "rmse_loss": lambda x, t: m.sqrt(m.mean((x - t) ** 2)),
        "log_cosh_loss": lambda x, t: m.mean(
            m.abs(x - t) + m.log1p(m.exp(-2 * m.abs(x - t))) - m.log(2.0)
        ),
        "poisson_nll_loss": lambda x, t: m.mean(m.exp(x) - t * x),
        "cross_entropy": cross_entropy,
        "nll_loss": lambda x, t: -m.mean(m.take_along_axis(x, t[:, None], axis=1)),
        "binary_cross_entropy": bce,
        "binary_cross_entropy_with_logits": lambda x, t: m.mean(m.logaddexp(0, x) - t * x),
        "kl_div": kl_div,
        "soft_margin_loss": lambda x, t: m.mean(m.logaddexp(0, -t * x)),
        "hinge_loss": lambda x, t: m.mean(m.maximum(0, 1 - t * x)),
        "squared_hinge_loss": lambda x, t: m.mean(m.maximum(0, 1 - t * x) ** 2),
    }


NUMPY: dict[str, Callable[..., Any]] = formulas(np)


# ---------------------------------------------------------------------------------------------
# optax (jax): explicit adapters where the registry field does not line up by itself
# ---------------------------------------------------------------------------------------------


def _optax_table() -> dict[str, Callable[..., Any]]:
    import jax.numpy as jnp
    import optax

    L = optax.losses
    return {
        "cross_entropy": lambda x, t: jnp.mean(L.softmax_cross_entropy_with_integer_labels(x, t)),
        "nll_loss": lambda x, t: -jnp.mean(jnp.take_along_axis(x, t[:, None], axis=1)),
        "mse_loss": lambda x, t: jnp.mean(L.squared_error(x, t)),
        "l1_loss": lambda x, t: jnp.mean(jnp.abs(x - t)),  # optax has no absolute_error
        "huber_loss": lambda x, t: jnp.mean(L.huber_loss(x, t, delta=1.0)),
        "log_cosh_loss": lambda x, t: jnp.mean(L.log_cosh(x, t)),
        "binary_cross_entropy_with_logits": lambda x, t: jnp.mean(
            L.sigmoid_binary_cross_entropy(x, t)
        ),
        # torch kl_div(log q, p) "mean" averages over elements; optax sums each row.
        "kl_div": lambda x, t: jnp.mean(L.kl_divergence(x, t)) / x.shape[-1],
        "hinge_loss": lambda x, t: jnp.mean(L.hinge_loss(x, t)),
    }


# ---------------------------------------------------------------------------------------------
# Keras 3: classes named in the registry's keras= field (one backend per process)
# ---------------------------------------------------------------------------------------------

_KERAS_FIELD = re.compile(r"^(keras\.losses\.\w+)(?:\((.*)\))?$")


def keras_backend() -> str | None:
    """The backend Keras runs on in this process (``KERAS_BACKEND``), None without Keras."""
    if not have("keras"):
        return None
    import keras

    return str(keras.backend.backend())


def keras_peer(spec: LossSpec, backend: str) -> Callable[..., Any] | None:
    """``keras.losses.X`` or ``keras.losses.X(from_logits=True)`` -> ``f(input, target)``,
    when Keras runs on ``backend`` in this process."""
    field = spec.peers.get("keras", "")
    m = _KERAS_FIELD.match(field.strip())
    if not m or keras_backend() != backend:
        return None
    path, kwargs_src = m.group(1), m.group(2) or ""
    kwargs: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in kwargs_src.split(","))):
        key, _, value = part.partition("=")
        kwargs[key.strip()] = {"True": True, "False": False}.get(value.strip(), value.strip())
    module, _, name = path.rpartition(".")
    try:
        obj = getattr(importlib.import_module(module), name)(**kwargs)
    except Exception:
        return None
    return lambda x, t: obj(t, x)  # Keras: (y_true, y_pred)


# ---------------------------------------------------------------------------------------------
# The map
# ---------------------------------------------------------------------------------------------


def peers_for(spec: LossSpec, backend: str, *, compile: bool, keras: bool) -> dict[str, Any]:
    """``{peer label: callable(*arrays)}`` for one loss on one backend.

    Labels say how the peer runs: ``torch.F`` (eager), ``torch.F+compile``, ``optax+jit``,
    ``optax`` (eager), ``keras``, ``numpy``, ``cupy`` (the NumPy formula run by CuPy).
    ``run.py`` pairs each with the matching arrayloss variant (compiled with compiled, jitted
    with jitted, eager with eager).
    """
    out: dict[str, Any] = {}
    if backend == "numpy" and spec.name in NUMPY:
        out["numpy"] = NUMPY[spec.name]
    if backend == "cupy" and spec.name in NUMPY and have("cupy"):
        import cupy

        out["cupy"] = formulas(cupy)[spec.name]
    if backend in ("torch", "torch_cuda"):
        f = _check.peer_from_registry(spec, "torch")
        if f is not None:
            out["torch.F"] = f
            if compile:
                import torch

                out["torch.F+compile"] = torch.compile(f, dynamic=False)
        if keras and backend == "torch":
            k = keras_peer(spec, "torch")
            if k is not None:
                out["keras(torch)"] = k
    if backend == "jax":
        f = None
        if have("optax"):
            f = _optax_table().get(spec.name) or _check.peer_from_registry(spec, "optax")
        if f is not None:
            import jax

            out["optax+jit"] = jax.jit(f)
            out["optax"] = f
        if keras:
            k = keras_peer(spec, "jax")
            if k is not None:
                out["keras(jax)"] = k
    return out
