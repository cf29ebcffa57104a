"""Accelerator stand-ins that a CPU machine can run (docs/design.md, "Devices").

torch ``meta`` tensors have shapes and dtypes but no data: any read of a value fails, as a
host synchronisation would stall a GPU. Every registered loss must run on them and return a
meta tensor of the right shape and dtype, wherever torch's own function runs there (and, for
losses torch lacks, everywhere: the registry's default check policy reads no value on a
non-CPU device). The expected shape and dtype come from torch's own function on meta where
it has one, else from the same call on CPU tensors.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from arrayloss._check import make_sample, peer_from_registry, registered
from arrayloss.testing import force_generic

SPECS = registered()


def _tensors(sample, device):
    import torch

    def conv(v):
        if not isinstance(v, np.ndarray):
            return v
        t = torch.from_numpy(np.array(v, copy=True))
        if t.is_floating_point():
            t = t.float()
        return t.to(device)

    return tuple(conv(a) for a in sample.args), {k: conv(v) for k, v in sample.kwargs.items()}


def _torch_peer_on_meta(peer, args, kwargs):
    """torch's own result on meta tensors, or None where torch needs values there too."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. kl_div's reduction="mean" notice
            return peer(*args, **kwargs)
    except (RuntimeError, NotImplementedError):
        return None


@pytest.mark.backends("torch")
@pytest.mark.parametrize("generic", [False, True], ids=["native", "generic"])
@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_every_loss_runs_on_meta_tensors(spec, generic, backend):
    sample = make_sample(spec, 6, 5)
    assert sample is not None, f"{spec.name} declares no sample kind"
    args, kwargs = _tensors(sample, "meta")
    cpu_args, cpu_kwargs = _tensors(sample, "cpu")
    peer = peer_from_registry(spec, "torch")
    reductions = ("mean", "sum") if "reduction" in spec.options else (None,)
    for reduction in reductions:
        kw = {} if reduction is None else {"reduction": reduction}
        if peer is not None:
            expected = _torch_peer_on_meta(peer, args, {**kwargs, **kw})
            if expected is None:
                pytest.skip(f"torch's own {spec.name} does not run on meta tensors either")
        else:
            expected = spec.func(*cpu_args, **cpu_kwargs, **kw)
        with force_generic(generic):
            out = spec.func(*args, **kwargs, **kw)
        assert out.is_meta, f"{spec.name}: result on {out.device}, not meta"
        assert out.dtype == expected.dtype, f"{spec.name}: dtype {out.dtype}"
        assert tuple(out.shape) == tuple(expected.shape), f"{spec.name}: shape {out.shape}"
