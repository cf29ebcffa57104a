"""Imports every loss family, so that importing it fills the loss registry.

One line per family module (helpers add theirs here).
"""

from . import (
    classification,
    embedding,
    generative,
    margin,
    regression,
    segmentation,
    sequence,
)

__all__ = [
    "classification",
    "embedding",
    "generative",
    "margin",
    "regression",
    "segmentation",
    "sequence",
]
