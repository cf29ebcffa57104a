"""Shared machinery of the registry-driven tests: converting samples, evaluating the
reference (values and gradients), and asserting results."""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from tests._backends import BACKENDS, Backend
from tests.loss_info import LossInfo, SampleInput


def seed_for(*parts: object) -> int:
    """A stable seed from test identifiers (hash() is salted per process)."""
    return zlib.crc32("/".join(map(str, parts)).encode())


def rng_for(*parts: object) -> np.random.Generator:
    return np.random.default_rng(seed_for(*parts))


def convert(sample: SampleInput, backend: Backend, dtype: str | None) -> tuple[tuple, dict]:
    """The sample's NumPy arrays as backend arrays (floats cast to ``dtype``)."""
    conv = lambda v: backend.asarray(v, dtype) if isinstance(v, np.ndarray) else v
    return tuple(conv(a) for a in sample.args), {k: conv(v) for k, v in sample.kwargs.items()}


def rounded(sample: SampleInput, backend: Backend, dtype: str | None) -> SampleInput:
    """The sample with its floating arrays rounded to ``dtype`` (kept as float64 NumPy)."""
    args, kwargs = convert(sample, backend, dtype)
    back = lambda v, orig: backend.to_numpy(v) if isinstance(orig, np.ndarray) else v
    return SampleInput(
        tuple(back(a, o) for a, o in zip(args, sample.args)),
        {k: back(v, sample.kwargs[k]) for k, v in kwargs.items()},
        sample.desc,
        sample.grad,
    )


def _to_torch(v: Any, requires_grad: bool = False) -> Any:
    import torch

    if not isinstance(v, np.ndarray):
        return v
    t = torch.from_numpy(np.array(v, copy=True))
    if t.is_floating_point():
        t = t.double().requires_grad_(requires_grad)
    return t


def cotangent(shape: tuple[int, ...]) -> np.ndarray:
    """A fixed random cotangent, so a gradient check covers the whole VJP, not just sum()."""
    return rng_for("cotangent", shape).uniform(0.5, 1.5, shape)


def reference_value(info: LossInfo, sample: SampleInput) -> np.ndarray:
    import torch

    with torch.no_grad():
        out = info.ref(*map(_to_torch, sample.args),
                       **{k: _to_torch(v) for k, v in sample.kwargs.items()})
    return out.detach().double().numpy()


def differentiable_positions(info: LossInfo, sample: SampleInput) -> list[int]:
    return [
        i for i in info.grad_args
        if i < len(sample.args) and isinstance(sample.args[i], np.ndarray)
        and np.issubdtype(sample.args[i].dtype, np.floating)
    ]


def reference_grads(info: LossInfo, sample: SampleInput) -> list[np.ndarray]:
    """torch autograd of the reference: d/d args[i] of sum(ref(...) * cotangent)."""
    import torch

    pos = differentiable_positions(info, sample)
    args = [_to_torch(a, requires_grad=i in pos) for i, a in enumerate(sample.args)]
    out = info.ref(*args, **{k: _to_torch(v) for k, v in sample.kwargs.items()})
    cot = torch.from_numpy(cotangent(tuple(out.shape)))
    grads = torch.autograd.grad((out * cot).sum(), [args[i] for i in pos], allow_unused=True)
    return [np.zeros(sample.args[i].shape) if g is None else g.double().numpy()
            for i, g in zip(pos, grads)]


def loss_grads(info: LossInfo, backend: Backend, args: tuple, kwargs: dict,
               pos: list[int], out_shape: tuple[int, ...]) -> list[np.ndarray]:
    """Gradient of sum(loss * cotangent) by the backend's own autodiff."""
    cot_np = cotangent(out_shape)
    if backend.name.startswith("torch"):
        import torch

        targs = list(args)
        for i in pos:
            targs[i] = targs[i].detach().requires_grad_(True)
        out = info.func(*targs, **kwargs)
        cot = torch.from_numpy(cot_np).to(device=out.device, dtype=out.dtype)
        grads = torch.autograd.grad((out * cot).sum(), [targs[i] for i in pos], allow_unused=True)
        return [np.zeros(args[i].shape) if g is None else backend.to_numpy(g)
                for i, g in zip(pos, grads)]
    if backend.name == "jax":
        import jax
        import jax.numpy as jnp

        def f(*diff):
            full = list(args)
            for i, d in zip(pos, diff):
                full[i] = d
            out = info.func(*full, **kwargs)
            return jnp.sum(out * jnp.asarray(cot_np, dtype=out.dtype))

        grads = jax.grad(f, argnums=tuple(range(len(pos))))(*[args[i] for i in pos])
        return [backend.to_numpy(g) for g in grads]
    raise AssertionError(f"{backend.name} has no autodiff")


def dtype_name(dtype: Any) -> str:
    return str(dtype).rsplit(".", 1)[-1].replace("'", "").replace(")", "").replace("dtype(", "")


def assert_result(out: Any, backend: Backend, dtype: str, like: Any, expected: np.ndarray,
                  tol: tuple[float, float], what: str) -> None:
    """Result is of the backend's library, device and dtype, of the reference's shape, and
    equals the reference within ``tol``."""
    from array_api_compat import array_namespace, device

    from arrayloss._lib._compat import backend_name

    got_backend = backend_name(array_namespace(out))
    assert got_backend == backend_name(backend.xp), f"{what}: result is a {got_backend} array"
    assert dtype_name(out.dtype) == dtype, f"{what}: dtype {out.dtype}, expected {dtype}"
    assert tuple(out.shape) == expected.shape, f"{what}: shape {out.shape} != {expected.shape}"
    if hasattr(like, "shape") and not isinstance(out, np.generic):
        assert device(out) == device(like), f"{what}: device {device(out)} != {device(like)}"
    got = backend.to_numpy(out)
    np.testing.assert_allclose(got, expected, rtol=tol[0], atol=tol[1], equal_nan=True,
                               err_msg=what)


def skip_if(info: LossInfo, *keys: str) -> None:
    """Skip when one of the loss's skip directives names one of ``keys`` (test names or
    tags; a backend name among them is the backend). The conftest already applies every
    directive to the tests it names; this serves tests that run under a tag."""
    backend = next((k for k in keys if k in BACKENDS), None)
    d = info.directive(set(keys), backend)
    if d is not None and d.kind == "skip":
        pytest.skip(f"{info.name}: {d.reason}")


def exhaustive(config: pytest.Config) -> bool:
    """Whether this run sweeps everything (``--exhaustive`` / ``ARRAYLOSS_EXHAUSTIVE=1``)."""
    return bool(config.getoption("exhaustive"))


def sweep_samples(info: LossInfo, config: pytest.Config, *tag: object,
                  keep: Callable[[SampleInput], bool] | None = None) -> list[SampleInput]:
    """The samples a costly sweep (a compiler, autodiff, a low precision) runs: the representative
    ones, every code path once, or every expanded sample with ``--exhaustive``."""
    rng = rng_for(info.name, *tag)
    if exhaustive(config):
        return [s for s in info.expanded_samples(rng) if keep is None or keep(s)]
    return info.representative_samples(rng, keep)


def assert_unsupported(info: LossInfo, capability: str, call: Callable[[], Any],
                       error: type[Exception] = Exception, match: str | None = None) -> None:
    """A capability flag whose value is False is still needed: ``call`` fails, with the
    documented ``error`` and message where there is one."""
    try:
        call()
    except error as e:
        if match is not None:
            assert re.search(match, str(e)), f"{info.name}: unsupported {capability}: {e}"
        return
    pytest.fail(f"{info.name}: supports_{capability} says no, but it works now: update the "
                "flag in tests/loss_info")
