"""The loss registry for tests (in the spirit of PyTorch's OpInfo).

One :class:`LossInfo` per public loss: its sample-input generator, its *independent*
reference, tolerances per dtype, error inputs, capability flags and typed skips
(``DecorateInfo``; types in ``_core.py``). A family adds its
entries in ``tests/loss_info/<family>.py`` as a list ``LOSSES`` and is listed in
``_FAMILIES`` below; nothing else in the test machinery changes.
"""

from __future__ import annotations

import importlib

from ._core import (
    CAPABILITIES,
    DEFAULT_TOLS,
    REDUCTIONS,
    DecorateInfo,
    ErrorInput,
    LossInfo,
    SampleInput,
    randn,
    ref_reduce,
    uniform,
)

__all__ = [
    "BY_NAME",
    "CAPABILITIES",
    "DEFAULT_TOLS",
    "LOSSES",
    "REDUCTIONS",
    "DecorateInfo",
    "ErrorInput",
    "LossInfo",
    "SampleInput",
    "randn",
    "ref_reduce",
    "uniform",
]

_FAMILIES = ("regression", "classification", "margin", "segmentation", "linear_ce", "embedding",
             "sequence", "generative")


def all_losses() -> list[LossInfo]:
    losses: list[LossInfo] = []
    for fam in _FAMILIES:
        losses.extend(importlib.import_module(f"tests.loss_info.{fam}").LOSSES)
    return losses


LOSSES = all_losses()
BY_NAME = {info.name: info for info in LOSSES}


