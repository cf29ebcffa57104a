"""Per-signature plans (``arrayloss/_lib/_plans.py``): a delegated torch call's checks run
once per signature; a planned call must give torch's value and raise every error the
checks raise. References: ``torch.nn.functional`` on the same tensors."""

from __future__ import annotations

import numpy as np
import pytest

import arrayloss as al
from arrayloss import classification as C
from arrayloss import regression as R
from arrayloss._lib import _plans
from arrayloss.testing import force_generic

torch = pytest.importorskip("torch")
F = torch.nn.functional

pytestmark = pytest.mark.needs("torch")


def _planned(table, loss, *arrays, **options):
    """Whether the signature of ``loss(*arrays, **options)`` gets a plan: from an empty
    table, two calls (the first of a process may load the kernels) leave one plan."""
    table.table.clear()
    loss(*arrays, **options)
    loss(*arrays, **options)
    return len(table.table) == 1


def _logp(n=6, c=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, c, generator=g, dtype=torch.float64).log_softmax(1)
    t = torch.randint(0, c, (n,), generator=g)
    return x, t


def test_planned_calls_equal_torch_for_each_delegated_loss():
    x, t = _logp()
    y = torch.rand(6, 5, dtype=torch.float64)
    p = torch.sigmoid(torch.randn(6, 5, dtype=torch.float64))
    w = torch.rand(5, dtype=torch.float64)
    cases = [
        (C._PLANS["nll_loss"], al.nll_loss, F.nll_loss, (x, t), {"weight": w}),
        (C._PLANS["cross_entropy"], al.cross_entropy, F.cross_entropy, (x, t),
         {"label_smoothing": 0.2, "reduction": "sum"}),
        (C._PLANS["cross_entropy"], al.cross_entropy, F.cross_entropy, (x, y.softmax(1)), {}),
        (C._PLANS["binary_cross_entropy"], al.binary_cross_entropy, F.binary_cross_entropy,
         (p, y), {"reduction": "none"}),
        (C._PLANS["binary_cross_entropy_with_logits"], al.binary_cross_entropy_with_logits,
         F.binary_cross_entropy_with_logits, (x, y), {"pos_weight": w}),
        (C._PLANS["kl_div"], al.kl_div, F.kl_div, (x, y.softmax(1)), {"reduction": "batchmean"}),
        (R._PLANS["mse_loss"], al.mse_loss, F.mse_loss, (x, y), {}),
        (R._PLANS["l1_loss"], al.l1_loss, F.l1_loss, (x, y), {"reduction": "sum"}),
        (R._PLANS["huber_loss"], al.huber_loss, F.huber_loss, (x, y), {"delta": 0.3}),
        (R._PLANS["smooth_l1_loss"], al.smooth_l1_loss, F.smooth_l1_loss, (x, y), {"beta": 0.5}),
    ]
    for table, loss, ref, arrays, options in cases:
        assert _planned(table, loss, *arrays, **options), loss.__name__
        torch.testing.assert_close(loss(*arrays, **options), ref(*arrays, **options),
                                   rtol=1e-12, atol=1e-14, msg=loss.__name__)


def test_planned_signature_still_rejects_a_bad_label():
    x, t = _logp()
    assert _planned(C._PLANS["nll_loss"], al.nll_loss, x, t)
    assert _planned(C._PLANS["cross_entropy"], al.cross_entropy, x, t)
    bad = t.clone()
    bad[2] = 7
    for loss in (al.nll_loss, al.cross_entropy):
        with pytest.raises(ValueError, match=r"`target` holds class indices that must lie in "
                                             r"\[0, 4\].*found 7") as info:
            loss(x, bad)
        assert info.value.__cause__ is None and info.value.__context__ is None


@pytest.mark.parametrize("bad", [True, 1.0, np.int64(1)], ids=["bool", "float", "numpy_int"])
def test_option_types_are_part_of_the_signature(bad):
    """1 == 1.0 == True == np.int64(1) (and they hash alike): a plan for ignore_index=1 must
    not serve a call whose ignore_index is not an int."""
    x, t = _logp()
    assert _planned(C._PLANS["nll_loss"], al.nll_loss, x, t, ignore_index=1)
    with pytest.raises(TypeError, match=r"^nll_loss: `ignore_index` must be an int"):
        al.nll_loss(x, t, ignore_index=bad)


def test_signatures_that_are_not_planned():
    x, t = _logp()
    # a cast (float16 is computed in float32): the checks must run every time
    h = x.to(torch.float16)
    assert not _planned(C._PLANS["nll_loss"], al.nll_loss, h, t)
    assert al.nll_loss(h, t).dtype == torch.float16
    # mixed floating dtypes promote (float32 input, float64 target)
    assert not _planned(R._PLANS["mse_loss"], al.mse_loss, x.float(), x)
    assert al.mse_loss(x.float(), x).dtype == torch.float64
    # channels-last cross entropy moves the class axis
    xl = x.T.contiguous().T
    assert not _planned(C._PLANS["cross_entropy"], al.cross_entropy, x.T.contiguous(), t, axis=0)
    torch.testing.assert_close(al.cross_entropy(xl, t), F.cross_entropy(x, t))
    # the caller's own namespace
    table = C._PLANS["nll_loss"]
    key, plan = table.lookup((x, t, None), (-100, "mean", 1), object())
    assert key is None and plan is None


def test_no_plans_inside_torch_func_transforms_or_compile():
    x, _ = _logp()
    table = R._PLANS["mse_loss"]
    al.mse_loss(x, x)
    al.mse_loss(x, x)
    seen = []

    def probe(a):
        seen.append(table.lookup((a, a, None), ("mean",), None)[0])
        return al.mse_loss(a, 2 * a)

    torch.func.vmap(probe)(x)
    torch.func.grad(lambda a: probe(a))(x[0])
    assert seen == [None, None]
    compiled = torch.compile(lambda a: al.mse_loss(a, 2 * a), fullgraph=True, backend="eager")
    torch.testing.assert_close(compiled(x), F.mse_loss(x, 2 * x))


def test_force_generic_clears_plans():
    x, t = _logp()
    assert _planned(C._PLANS["nll_loss"], al.nll_loss, x, t)
    with force_generic():
        assert C._PLANS["nll_loss"].table == {}
        torch.testing.assert_close(al.nll_loss(x, t), F.nll_loss(x, t), rtol=1e-12, atol=0)
        assert C._PLANS["nll_loss"].table == {}  # no native kernel chosen, nothing stored
    assert C._PLANS["nll_loss"].table == {}


def test_plan_table_is_bounded(monkeypatch):
    monkeypatch.setattr(_plans, "_MAX_PLANS", 3)
    table = R._PLANS["l1_loss"]
    table.table.clear()
    for n in range(1, 9):
        a = torch.ones(n, dtype=torch.float64)
        al.l1_loss(a, a)
        al.l1_loss(a, a)
        assert len(table.table) <= 3
