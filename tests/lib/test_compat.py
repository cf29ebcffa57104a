"""``_lib/_compat.py``: the cached dtype test agrees with the namespace's own."""

from __future__ import annotations

import numpy as np


def test_cached_isdtype_agrees_with_namespace(backend):
    from arrayloss._lib._compat import isdtype

    xp = backend.xp
    for dt in ("float32", "float64"):
        x = backend.asarray(np.zeros(2), dt)
        for kind in ("real floating", "integral", ("integral", "bool")):
            assert isdtype(x.dtype, kind, xp) == xp.isdtype(x.dtype, kind)
            assert isdtype(x.dtype, kind, xp) == xp.isdtype(x.dtype, kind)  # cached
