"""Every arrayloss loss as a ``torch.nn.Module``.

``arrayloss.nn`` classes are framework-neutral callables; a PyTorch training loop often wants
a real ``torch.nn.Module`` instead (to sit in an ``nn.ModuleDict``, to move its class weights
with ``.to(device)``, to show in ``print(model)``). This module generates one Module class per
registered loss, with the ``arrayloss.nn`` name (torch.nn's name where torch has the loss)::

    from arrayloss.integrations.torch import CrossEntropyLoss
    criterion = CrossEntropyLoss(weight=torch.ones(10), label_smoothing=0.1).to("cuda")
    loss = criterion(logits, labels)

Array-valued options become buffers (moved by ``.to``, saved in ``state_dict``); the others
are plain attributes shown by ``repr``. Importing this module imports torch.
"""

from __future__ import annotations

from typing import Any

import torch

from .. import nn as _nn
from .._lib._registry import REGISTRY

__all__ = ["TorchLoss", "module_class"]


class TorchLoss(torch.nn.Module):
    """Base class: a ``torch.nn.Module`` calling an arrayloss loss."""

    loss_class: type[_nn.Loss]

    def __init__(self, **options: Any) -> None:
        super().__init__()
        self.loss_class(**options)  # validates option names like arrayloss.nn
        self._plain: dict[str, Any] = {}
        self._buffers_named: list[str] = []
        for key, value in options.items():
            if isinstance(value, torch.Tensor):
                self.register_buffer(key, value)
                self._buffers_named.append(key)
            else:
                self._plain[key] = value

    def options(self) -> dict[str, Any]:
        return {**self._plain, **{k: getattr(self, k) for k in self._buffers_named}}

    def forward(self, *arrays: Any, **options: Any) -> Any:
        return self.loss_class(**self.options())(*arrays, **options)

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self._plain.items())


def module_class(name: str) -> type[TorchLoss]:
    """The Module class for a loss, by class name (``"CrossEntropyLoss"``) or function name
    (``"cross_entropy"``)."""
    for spec in REGISTRY.values():
        if name in (spec.name, spec.class_name):
            return _CLASSES[spec.class_name]
    raise ValueError(f"arrayloss.integrations.torch: unknown loss {name!r}")


def _make(class_name: str) -> type[TorchLoss]:
    base = getattr(_nn, class_name)
    return type(class_name, (TorchLoss,), {
        "loss_class": base,
        "__doc__": f"``torch.nn.Module`` form of :class:`arrayloss.nn.{class_name}`.",
        "__module__": __name__,
        "__qualname__": class_name,
    })


_CLASSES = {spec.class_name: _make(spec.class_name) for spec in REGISTRY.values()}
globals().update(_CLASSES)
__all__ += sorted(_CLASSES)
