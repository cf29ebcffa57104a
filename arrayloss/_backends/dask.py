"""Dask: lazy arrays. No value can be read without computing the graph, so no array is ever
concrete: value checks do not run (a generic path shows bad values as NaN instead). No
framework import is needed for that answer.
"""

from __future__ import annotations

from typing import Any

__all__ = ["all_concrete"]


def all_concrete(arrays: Any) -> bool:
    return False
