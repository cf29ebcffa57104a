"""The framework adapters: every loss as a ``torch.nn.Module``, and the Keras 3 ``Loss``
adapter against Keras's own losses (reduction, sample weights, serialization)."""

from __future__ import annotations

import numpy as np
import pytest

from arrayloss._lib._registry import REGISTRY
from tests._harness import convert, rng_for
from tests.loss_info import LOSSES

IDS = [info.name for info in LOSSES]


@pytest.mark.backends("torch")
@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_torch_module_equals_function(info, backend):
    import torch

    from arrayloss.integrations.torch import TorchLoss, module_class

    cls = module_class(info.name)
    assert issubclass(cls, torch.nn.Module) and issubclass(cls, TorchLoss)
    assert cls.__name__ == REGISTRY[info.name].class_name
    for sample in info.expanded_samples(rng_for(info.name, "module"))[:4]:
        args, kwargs = convert(sample, backend, "float64")
        module = cls(**kwargs)
        tensors = {k for k, v in kwargs.items() if isinstance(v, torch.Tensor)}
        assert tensors <= set(module.state_dict()), "array options must be buffers"
        torch.testing.assert_close(module(*args), info.func(*args, **kwargs), rtol=0, atol=0)
    with pytest.raises(TypeError, match="unknown option"):
        cls(not_an_option=1)


@pytest.mark.backends("torch")
def test_torch_module_buffers_follow_dtype(backend):
    import torch

    from arrayloss.integrations.torch import MSELoss

    weight = torch.ones(3, dtype=torch.float64)
    module = MSELoss(weight=weight).float()
    assert module.weight.dtype == torch.float32
    assert "weight" in repr(dict(module.named_buffers()))


KERAS_PAIRS = [  # arrayloss name, options, Keras class, its options
    ("mse_loss", {}, "MeanSquaredError", {}),
    ("l1_loss", {}, "MeanAbsoluteError", {}),
    ("huber_loss", {"delta": 0.7}, "Huber", {"delta": 0.7}),
    ("log_cosh_loss", {}, "LogCosh", {}),
    ("mape_loss", {}, "MeanAbsolutePercentageError", {}),
    ("msle_loss", {}, "MeanSquaredLogarithmicError", {}),
    ("cross_entropy", {}, "SparseCategoricalCrossentropy", {"from_logits": True}),
    ("binary_cross_entropy_with_logits", {}, "BinaryCrossentropy", {"from_logits": True}),
]


@pytest.mark.backends("torch")
@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", None])
@pytest.mark.parametrize(("name", "opts", "keras_cls", "keras_opts"), KERAS_PAIRS,
                         ids=[p[0] for p in KERAS_PAIRS])
def test_keras_adapter_equals_keras(backend, name, opts, keras_cls, keras_opts, reduction):
    """Same value as Keras's own loss, with and without sample weights, for each reduction.
    (Keras runs on its torch backend in-process; the jax backend runs in test_examples.)"""
    keras = pytest.importorskip("keras")
    if name not in REGISTRY:
        pytest.skip(f"{name} is not implemented yet")
    from arrayloss.integrations.keras import KerasLoss

    rng = rng_for("keras", name)
    y_pred = rng.standard_normal((6, 5)).astype(np.float32)
    if name == "cross_entropy":
        y_true = rng.integers(0, 5, 6)
    elif name == "binary_cross_entropy_with_logits":
        y_true = rng.integers(0, 2, (6, 5)).astype(np.float32)
    elif name in ("mape_loss", "msle_loss"):
        y_pred, y_true = np.abs(y_pred) + 0.5, rng.uniform(0.5, 2, (6, 5)).astype(np.float32)
    else:
        y_true = rng.standard_normal((6, 5)).astype(np.float32)
    ours = KerasLoss(name, reduction=reduction, **opts)
    theirs = getattr(keras.losses, keras_cls)(reduction=reduction, **keras_opts)
    sw = rng.uniform(0.1, 2.0, 6).astype(np.float32)
    for kwargs in ({}, {"sample_weight": sw}):
        got = keras.ops.convert_to_numpy(ours(y_true, y_pred, **kwargs))
        want = keras.ops.convert_to_numpy(theirs(y_true, y_pred, **kwargs))
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-6, err_msg=f"{kwargs}")


@pytest.mark.backends("torch")
def test_keras_adapter_serializes(backend):
    keras = pytest.importorskip("keras")
    from arrayloss.integrations.keras import KerasLoss

    loss = KerasLoss("huber_loss", delta=0.3, reduction="sum", name="h")
    again = keras.losses.deserialize(keras.losses.serialize(loss))
    assert isinstance(again, KerasLoss)
    assert again.options == {"delta": 0.3} and again.reduction == "sum" and again.name == "h"
    x = np.linspace(-2, 2, 12, dtype=np.float32).reshape(4, 3)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(again(x * 0, x)),
                               keras.ops.convert_to_numpy(loss(x * 0, x)))


def test_keras_adapter_rejects_bad_options():
    pytest.importorskip("keras")
    from arrayloss.integrations.keras import KerasLoss

    with pytest.raises(ValueError, match="unknown arrayloss loss"):
        KerasLoss("no_such_loss")
    with pytest.raises(TypeError, match="unknown option"):
        KerasLoss("mse_loss", delta=1.0)
