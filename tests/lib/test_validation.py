"""``_lib/_validation.py``: the reduction check's message, the label range check (its message,
its answer, and no read of lazy arrays)."""

from __future__ import annotations

import numpy as np
import pytest

from arrayloss._lib._validation import check_labels_in_range, check_reduction, is_concrete


def test_check_reduction_lists_allowed_values():
    with pytest.raises(ValueError, match=r"^kl_div: `reduction` must be one of 'mean', 'sum', "
                                         r"'none', 'batchmean', got 'avg'"):
        check_reduction("kl_div", "avg", ("mean", "sum", "none", "batchmean"))


def test_labels_in_range_message(backend):
    t = backend.asarray(np.array([0, 3, 1, -100]))
    if not is_concrete(t, backend.xp):
        assert backend.name == "dask"  # lazy: value checks are skipped, never computed early
        return
    check_labels_in_range("nll_loss", "target", t, 4, backend.xp, ignore_index=-100)
    with pytest.raises(ValueError, match=r"^nll_loss: `target` .* \[0, 2\] .* found 3"):
        check_labels_in_range("nll_loss", "target", t, 3, backend.xp, ignore_index=-100)
    with pytest.raises(ValueError, match=r"found -100"):
        check_labels_in_range("nll_loss", "target", t, 4, backend.xp)


def test_labels_in_range_reports_whether_all_were_in_range(backend):
    """True only when every label was read and lies in [0, C) (a loss then skips its
    ignore mask); False with an ignored label, when empty, or when not read (lazy Dask)."""
    xp = backend.xp
    ok = backend.asarray(np.array([0, 3, 1]))
    if not is_concrete(ok, xp):
        assert check_labels_in_range("l", "target", ok, 4, xp) is False
        return
    assert check_labels_in_range("l", "target", ok, 4, xp) is True
    ignored = backend.asarray(np.array([0, -100, 1]))
    assert check_labels_in_range("l", "target", ignored, 4, xp, ignore_index=-100) is False
    empty = backend.asarray(np.zeros((0,), dtype=np.int64))
    assert check_labels_in_range("l", "target", empty, 4, xp) is False
