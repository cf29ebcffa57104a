"""Doctest collection of the package (``--doctest-modules`` over ``arrayloss/``): a backend
module imports its library at the top, so it is collected only where that library is
installed (the nox sessions install different ones)."""

from __future__ import annotations

import importlib.util

_LIBRARY = {"torch.py": "torch", "_torch_autograd.py": "torch", "jax.py": "jax",
            "cupy.py": "cupy", "numpy.py": "numpy"}

collect_ignore = [
    f"arrayloss/_backends/{module}"
    for module, library in _LIBRARY.items()
    if importlib.util.find_spec(library) is None
]
