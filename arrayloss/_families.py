"""Imports every loss family, so that importing it fills the loss registry.

One line per family module (helpers add theirs here).
"""

from . import (
    _linear_cross_entropy,
    classification,
    embedding,
    generative,
    margin,
    regression,
    segmentation,
    sequence,
)

__all__ = [
    "_linear_cross_entropy",
    "classification",
    "embedding",
    "generative",
    "margin",
    "regression",
    "segmentation",
    "sequence",
]
