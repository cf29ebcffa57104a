"""Helpers for testing code that uses arrayloss (and for arrayloss's own tests)."""

from __future__ import annotations

from ._lib._primitives import force_generic, generic_forced

__all__ = ["force_generic", "generic_forced"]
