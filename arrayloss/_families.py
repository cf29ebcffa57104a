"""Imports every loss family, so that importing it fills the loss registry.

One line per family module (helpers add theirs here).
"""

from . import margin, regression, segmentation

__all__ = ["margin", "regression", "segmentation"]
