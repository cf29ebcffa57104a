"""Imports every loss family, so that importing it fills the loss registry."""

from . import regression

__all__ = ["regression"]
