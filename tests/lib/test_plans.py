"""Per-signature plans (``arrayloss/_lib/_plans.py``): a delegated torch call's checks run
once per signature; a planned call must give torch's value and raise every error the
checks raise. References: ``torch.nn.functional`` on the same tensors."""

from __future__ import annotations

import inspect
import math
import threading
from pathlib import Path

import numpy as np
import pytest

import arrayloss as al
from arrayloss._lib import _plans
from arrayloss._lib._compat import array_namespace
from arrayloss._lib._plans import plans_of
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
        (plans_of(al.nll_loss), al.nll_loss, F.nll_loss, (x, t), {"weight": w}),
        (plans_of(al.cross_entropy), al.cross_entropy, F.cross_entropy, (x, t),
         {"label_smoothing": 0.2, "reduction": "sum"}),
        (plans_of(al.cross_entropy), al.cross_entropy, F.cross_entropy, (x, y.softmax(1)), {}),
        (plans_of(al.binary_cross_entropy), al.binary_cross_entropy, F.binary_cross_entropy,
         (p, y), {"reduction": "none"}),
        (plans_of(al.binary_cross_entropy_with_logits), al.binary_cross_entropy_with_logits,
         F.binary_cross_entropy_with_logits, (x, y), {"pos_weight": w}),
        (plans_of(al.kl_div), al.kl_div, F.kl_div, (x, y.softmax(1)), {"reduction": "batchmean"}),
        (plans_of(al.mse_loss), al.mse_loss, F.mse_loss, (x, y), {}),
        (plans_of(al.l1_loss), al.l1_loss, F.l1_loss, (x, y), {"reduction": "sum"}),
        (plans_of(al.huber_loss), al.huber_loss, F.huber_loss, (x, y), {"delta": 0.3}),
        (plans_of(al.smooth_l1_loss), al.smooth_l1_loss, F.smooth_l1_loss, (x, y), {"beta": 0.5}),
    ]
    for table, loss, ref, arrays, options in cases:
        assert _planned(table, loss, *arrays, **options), loss.__name__
        torch.testing.assert_close(loss(*arrays, **options), ref(*arrays, **options),
                                   rtol=1e-12, atol=1e-14, msg=loss.__name__)


def test_planned_signature_still_rejects_a_bad_label():
    x, t = _logp()
    assert _planned(plans_of(al.nll_loss), al.nll_loss, x, t)
    assert _planned(plans_of(al.cross_entropy), al.cross_entropy, x, t)
    bad = t.clone()
    bad[2] = 7
    for loss in (al.nll_loss, al.cross_entropy):
        with pytest.raises(ValueError, match=r"`target` holds class indices that must lie in "
                                             r"\[0, 4\].*found 7") as info:
            loss(x, bad)
        assert info.value.__cause__ is None and info.value.__context__ is None


@pytest.mark.parametrize("bad", [True, 1.0], ids=["bool", "float"])
def test_option_types_are_part_of_the_signature(bad):
    """1 == 1.0 == True (and they hash alike): a plan for ignore_index=1 must not serve a
    call whose ignore_index is not an int."""
    x, t = _logp()
    assert _planned(plans_of(al.nll_loss), al.nll_loss, x, t, ignore_index=1)
    with pytest.raises(TypeError, match=r"^nll_loss: `ignore_index` must be an int"):
        al.nll_loss(x, t, ignore_index=bad)


def test_a_numpy_integer_option_is_its_own_signature_and_the_same_option():
    """np.int64(1) == 1 and hashes alike, but it is another type: it gets its own plan (the
    int's plan is not reused blindly), and it is the same option (issue: NumPy scalars
    are accepted like Python numbers)."""
    x, t = _logp()
    assert _planned(plans_of(al.nll_loss), al.nll_loss, x, t, ignore_index=1)
    key_int = _plans.signature((x, t), {"ignore_index": 1})
    key_np = _plans.signature((x, t), {"ignore_index": np.int64(1)})
    assert key_int != key_np
    torch.testing.assert_close(al.nll_loss(x, t, ignore_index=np.int64(1)),
                               F.nll_loss(x, t, ignore_index=1))


def test_signatures_that_are_not_planned():
    x, t = _logp()
    # a cast (float16 is computed in float32): the checks must run every time
    h = x.to(torch.float16)
    assert not _planned(plans_of(al.nll_loss), al.nll_loss, h, t)
    assert al.nll_loss(h, t).dtype == torch.float16
    # mixed floating dtypes promote (float32 input, float64 target)
    assert not _planned(plans_of(al.mse_loss), al.mse_loss, x.float(), x)
    assert al.mse_loss(x.float(), x).dtype == torch.float64
    # channels-last cross entropy moves the class axis
    xl = x.T.contiguous().T
    assert not _planned(plans_of(al.cross_entropy), al.cross_entropy, x.T.contiguous(), t, axis=0)
    torch.testing.assert_close(al.cross_entropy(xl, t), F.cross_entropy(x, t))
    # the caller's own namespace
    assert _plans.signature((x, t), {"ignore_index": -100}) is not None
    assert _plans.signature((x, t), {"ignore_index": -100, "xp": object()}) is None
    assert not _planned(plans_of(al.nll_loss), al.nll_loss, x, t, xp=array_namespace(x))


def test_no_plans_inside_torch_func_transforms_or_compile():
    x, _ = _logp()
    al.mse_loss(x, x)
    al.mse_loss(x, x)
    seen = []

    def probe(a):
        seen.append(_plans.signature((a, a), {"reduction": "mean"}))
        return al.mse_loss(a, 2 * a)

    torch.func.vmap(probe)(x)
    torch.func.grad(lambda a: probe(a))(x[0])
    assert seen == [None, None]
    compiled = torch.compile(lambda a: al.mse_loss(a, 2 * a), fullgraph=True, backend="eager")
    torch.testing.assert_close(compiled(x), F.mse_loss(x, 2 * x))


def test_force_generic_clears_plans():
    x, t = _logp()
    assert _planned(plans_of(al.nll_loss), al.nll_loss, x, t)
    with force_generic():
        assert plans_of(al.nll_loss).table == {}
        torch.testing.assert_close(al.nll_loss(x, t), F.nll_loss(x, t), rtol=1e-12, atol=0)
        assert plans_of(al.nll_loss).table == {}  # no native kernel chosen, nothing stored
    assert plans_of(al.nll_loss).table == {}


def test_plan_table_is_bounded(monkeypatch):
    monkeypatch.setattr(_plans, "_MAX_PLANS", 3)
    table = plans_of(al.l1_loss)
    table.table.clear()
    for n in range(1, 9):
        a = torch.ones(n, dtype=torch.float64)
        al.l1_loss(a, a)
        al.l1_loss(a, a)
        assert len(table.table) <= 3


def _pm1(n, seed):
    g = torch.Generator().manual_seed(seed)
    return (torch.randint(0, 2, (n,), generator=g) * 2 - 1).to(torch.float64)


def _embedding_cases():
    """(plans, arrayloss loss, torch reference, arrays, options) of the embedding and margin
    losses that arrayloss hands to torch's own implementation on eager tensors."""
    g = torch.Generator().manual_seed(3)
    a, b, c = (torch.randn(6, 4, generator=g, dtype=torch.float64) for _ in range(3))
    y = _pm1(6, 4)
    x = torch.randn(6, 5, generator=g, dtype=torch.float64)
    t = torch.randint(0, 5, (6,), generator=g)
    w = torch.rand(5, generator=g, dtype=torch.float64)
    lists = torch.tensor([[3, 0, -1, 1, 2], [1, -1, 0, 0, 0], [4, 3, 2, 1, 0],
                          [-1, 2, 2, 2, 2], [2, 2, -1, 0, 0], [0, 1, 2, 3, -1]])
    return [
        (plans_of(al.margin_ranking_loss), al.margin_ranking_loss, F.margin_ranking_loss,
         (a[:, 0], b[:, 0], y), {"margin": 0.3}),
        (plans_of(al.hinge_embedding_loss), al.hinge_embedding_loss, F.hinge_embedding_loss,
         (a[:, 0].abs(), y), {"margin": 0.7, "reduction": "sum"}),
        (plans_of(al.cosine_embedding_loss), al.cosine_embedding_loss, F.cosine_embedding_loss,
         (a, b, y), {"margin": 0.2, "reduction": "none"}),
        (plans_of(al.triplet_margin_loss), al.triplet_margin_loss, F.triplet_margin_loss,
         (a, b, c), {"p": 1.5, "swap": True}),
        (plans_of(al.triplet_margin_with_distance_loss), al.triplet_margin_with_distance_loss,
         F.triplet_margin_with_distance_loss, (a, b, c), {"margin": 0.5}),
        (plans_of(al.multi_margin_loss), al.multi_margin_loss, F.multi_margin_loss,
         (x, t), {"p": 2, "margin": 0.8, "weight": w}),
        (plans_of(al.multilabel_margin_loss), al.multilabel_margin_loss,
         F.multilabel_margin_loss, (x, lists), {"reduction": "none"}),
    ]


def test_planned_embedding_and_margin_losses_equal_torch():
    """Planned calls give torch's values and gradients (each input differentiated)."""
    for table, loss, ref, arrays, options in _embedding_cases():
        assert _planned(table, loss, *arrays, **options), loss.__name__
        mine = [a.detach().requires_grad_(a.is_floating_point()) for a in arrays]
        theirs = [a.detach().requires_grad_(a.is_floating_point()) for a in arrays]
        got, want = loss(*mine, **options), ref(*theirs, **options)
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-14, msg=loss.__name__)
        got.sum().backward()
        want.sum().backward()
        for m, r in zip(mine, theirs):
            if r.grad is not None:
                torch.testing.assert_close(m.grad, r.grad, rtol=1e-12, atol=1e-14,
                                           msg=loss.__name__)


def test_planned_signature_still_checks_signs_and_labels():
    """A plan repeats the {-1, 1} check torch does not make, and a bad class label raised
    by torch's kernel becomes arrayloss's ValueError, with nothing chained."""
    cases = {case[1].__name__: case for case in _embedding_cases()}
    for name in ("margin_ranking_loss", "hinge_embedding_loss", "cosine_embedding_loss"):
        table, loss, _, arrays, options = cases[name]
        assert _planned(table, loss, *arrays, **options)
        bad = arrays[-1].clone()
        bad[1] = 0.5
        with pytest.raises(ValueError, match=rf"^{name}: `target` must hold only -1 and 1, "
                                             r"found 0\.5"):
            loss(*arrays[:-1], bad, **options)
    for name, value, message in (("multi_margin_loss", 5, r"must lie in \[0, 4\]"),
                                 ("multilabel_margin_loss", -2, r"must lie in \[-1, 4\]")):
        table, loss, _, (x, t), options = cases[name]
        assert _planned(table, loss, x, t, **options)
        bad = t.clone()
        bad.view(-1)[-1] = value
        with pytest.raises(ValueError, match=rf"^{name}: `target` holds class indices that "
                                             rf"{message}") as info:
            loss(x, bad, **options)
        assert info.value.__cause__ is None and info.value.__context__ is None


def test_embedding_and_margin_signatures_not_handed_to_torch():
    """p < 1 and p = inf triplets keep arrayloss's norm; empty batches stay generic (torch's
    multi-margin kernels return an uninitialised value for N = 0); under torch.func.vmap
    (no batching rule: torch would warn, a test error here) and torch.compile (whose
    decomposition of multilabel_margin_loss ignores the -1 terminators) the generic formula
    runs and agrees with torch's eager values."""
    g = torch.Generator().manual_seed(5)
    a, b, c = (torch.randn(6, 4, generator=g, dtype=torch.float64) for _ in range(3))
    for p in (0.5, math.inf):
        assert not _planned(plans_of(al.triplet_margin_loss), al.triplet_margin_loss, a, b, c, p=p)
        with force_generic():
            want = al.triplet_margin_loss(a, b, c, p=p)
        torch.testing.assert_close(al.triplet_margin_loss(a, b, c, p=p), want, rtol=0, atol=0)
    empty = torch.zeros(0, 5, dtype=torch.float64)
    none = torch.zeros(0, dtype=torch.int64)
    assert not _planned(plans_of(al.multi_margin_loss), al.multi_margin_loss, empty, none)
    assert math.isnan(al.multi_margin_loss(empty, none).item())  # mean of nothing
    assert al.multilabel_margin_loss(empty, none.reshape(0, 5), reduction="sum").item() == 0.0

    x = torch.randn(3, 5, generator=g, dtype=torch.float64)
    lists = torch.tensor([[3, 0, -1, 1, 2], [1, -1, 0, 0, 0], [4, 3, 2, 1, 0]])
    compiled = torch.compile(lambda u, v: al.multilabel_margin_loss(u, v), fullgraph=True,
                             backend="aot_eager")
    torch.testing.assert_close(compiled(x, lists), F.multilabel_margin_loss(x, lists))
    y = _pm1(6, 6)
    batched = torch.func.vmap(lambda u, v, s: al.margin_ranking_loss(u, v, s))
    want = torch.stack([F.margin_ranking_loss(a[:, k], b[:, k], y) for k in range(4)])
    torch.testing.assert_close(batched(a.T, b.T, y.expand(4, 6)), want)
    mm = torch.func.vmap(lambda u: al.multi_margin_loss(u, lists[:, 0].clamp_min(0)))
    want = torch.stack([F.multi_margin_loss(x, lists[:, 0].clamp_min(0)) for _ in range(2)])
    torch.testing.assert_close(mm(torch.stack([x, x])), want)


def test_planned_soft_margin_equals_torch_and_stays_finite():
    """soft_margin_loss's eager plan (arrayloss's softplus formula in torch calls) gives
    torch's value and gradient where torch's log1p(exp(-y x)) is finite, and the float64
    softplus (NumPy's logaddexp) where torch's overflows to inf (y x < -89 in float32)."""
    table = plans_of(al.soft_margin_loss)
    g = torch.Generator().manual_seed(7)
    x = torch.randn(6, 5, generator=g, dtype=torch.float64)
    y = (torch.randint(0, 2, (6, 5), generator=g) * 2 - 1).to(torch.float64)
    for reduction in ("mean", "sum", "none"):
        assert _planned(table, al.soft_margin_loss, x, y, reduction=reduction), reduction
        mine, theirs = x.clone().requires_grad_(), x.clone().requires_grad_()
        got = al.soft_margin_loss(mine, y, reduction=reduction)
        want = F.soft_margin_loss(theirs, y, reduction=reduction)
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-14, msg=reduction)
        got.sum().backward()
        want.sum().backward()
        torch.testing.assert_close(mine.grad, theirs.grad, rtol=1e-12, atol=1e-14)
    big = torch.tensor([200.0, -150.0, 3.0, 95.0])
    sign = torch.tensor([-1.0, 1.0, 1.0, -1.0])
    assert _planned(table, al.soft_margin_loss, big, sign, reduction="none")
    assert torch.isinf(F.soft_margin_loss(big, sign, reduction="none")).any()
    z = -(sign.double() * big.double()).numpy()
    want = np.logaddexp(0.0, z)
    got = al.soft_margin_loss(big, sign, reduction="none")
    assert got.dtype == torch.float32
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-6)
    with_grad = big.clone().requires_grad_()
    got = al.soft_margin_loss(with_grad, sign, reduction="none")  # the autograd path
    np.testing.assert_allclose(got.detach().numpy(), want, rtol=1e-6)
    # an integer target is cast (not the caller's array): no plan for that signature
    assert not _planned(table, al.soft_margin_loss, x, y.long())


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_planned_soft_margin_without_autograd_is_torch_and_leaves_inputs_alone(dtype):
    """Without autograd (plain tensors, or torch.no_grad) the planned soft_margin_loss works
    in place on its own -(x * y): torch's values for every reduction, the caller's arrays
    unchanged, and a "none" result that is not one of them."""
    table = plans_of(al.soft_margin_loss)
    g = torch.Generator().manual_seed(11)
    x = torch.randn(7, 9, generator=g, dtype=dtype) * 4
    y = (torch.randint(0, 2, (7, 9), generator=g) * 2 - 1).to(dtype)
    x0, y0 = x.clone(), y.clone()
    tol = {"rtol": 1e-6, "atol": 1e-7} if dtype == torch.float32 else {}
    for reduction in ("mean", "sum", "none"):
        assert _planned(table, al.soft_margin_loss, x, y, reduction=reduction), reduction
        want = F.soft_margin_loss(x.double(), y.double(), reduction=reduction)
        got = al.soft_margin_loss(x, y, reduction=reduction)
        assert got.dtype == dtype and not got.requires_grad
        torch.testing.assert_close(got.double(), want, **tol, msg=reduction)
        with torch.no_grad():  # inputs that require grad, autograd off
            got = al.soft_margin_loss(x.clone().requires_grad_(), y, reduction=reduction)
        assert not got.requires_grad
        torch.testing.assert_close(got.double(), want, **tol, msg=reduction)
        if reduction == "none":
            assert got.data_ptr() not in (x.data_ptr(), y.data_ptr())
    torch.testing.assert_close(x, x0, rtol=0, atol=0)
    torch.testing.assert_close(y, y0, rtol=0, atol=0)


# ---------------------------------------------------------------------------------------------
# The delegation wrapper itself (``_plans.planned``, what ``@register(delegates=True)`` puts
# around a body), on a toy loss: kernel(x, y, w) = scale * sum(x * y * w)
# ---------------------------------------------------------------------------------------------


def _toy_kernel(x, y, w, /, *, scale):
    return (x * y if w is None else x * y * w).sum() * scale


def _toy(calls, *, keep=True):
    """A delegating body that counts its calls. ``cast`` hands the kernel a float64 copy of
    ``x`` (not the caller's array); a 0-d tensor ``scale`` is read as a value."""

    def toy(x, y, /, *, scale=1.0, weight=None, cast=False, xp=None):
        """The toy loss."""
        calls.append(None)
        xp = array_namespace(x, y)
        s = float(scale)
        used = (xp.astype(x, xp.float64) if cast else x, y, weight)
        return _plans.delegate(_toy_kernel, used, {"scale": s}, out=x.dtype, xp=xp, keep=keep)

    return _plans.planned(toy)


@pytest.fixture
def toy():
    al.mse_loss(torch.ones(2), torch.ones(2))  # loads torch's backend, which enables plans
    calls = []
    return _toy(calls), calls


def _arrays(*shapes, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(*s, generator=g, dtype=torch.float64) for s in shapes]


def _want(x, y, w=None, scale=1.0):
    return _toy_kernel(x, y, w, scale=scale)


def test_wrapper_keeps_the_body_s_signature_and_name(toy):
    loss, _ = toy
    assert loss.__name__ == "toy" and loss.__doc__ == "The toy loss."
    assert str(inspect.signature(loss)) == str(inspect.signature(inspect.unwrap(loss)))
    # a loss that does not delegate is registered as it is: no wrapper, no per-call cost
    assert inspect.unwrap(al.focal_loss) is al.focal_loss
    assert inspect.unwrap(al.nll_loss) is not al.nll_loss


def test_a_plan_serves_a_signature_on_new_arrays(toy):
    loss, calls = toy
    x, y, w = _arrays((4, 3), (4, 3), (3,))
    torch.testing.assert_close(loss(x, y, weight=w), _want(x, y, w))
    assert len(calls) == 1 and len(plans_of(loss).table) == 1
    a, b, c = _arrays((4, 3), (4, 3), (3,), seed=1)
    torch.testing.assert_close(loss(a, b, weight=c), _want(a, b, c))  # the plan
    torch.testing.assert_close(loss(b, a, weight=c), _want(b, a, c))
    assert len(calls) == 1
    # the same options in another order: another key (the key fixes where arrays come from)
    torch.testing.assert_close(loss(a, b, scale=2.0, weight=c), _want(a, b, c, 2.0))
    torch.testing.assert_close(loss(a, b, weight=c, scale=2.0), _want(a, b, c, 2.0))
    assert len(calls) == 3
    torch.testing.assert_close(loss(b, a, weight=c, scale=2.0), _want(b, a, c, 2.0))
    assert len(calls) == 3


def test_a_changed_option_or_option_type_misses(toy):
    loss, calls = toy
    x, y = _arrays((5,), (5,))
    for scale in (1.0, 2.0, 1, True, 2.0):
        torch.testing.assert_close(loss(x, y, scale=scale), _want(x, y, scale=float(scale)))
    assert len(calls) == 4  # 1.0, 2.0, 1 and True are four signatures; 2.0 came back
    loss(x[:4], y[:4], scale=2.0)  # a changed shape
    loss(x.float(), y, scale=2.0)  # a changed dtype
    assert len(calls) == 6


def test_no_plan_unless_the_kernel_got_exactly_the_call_s_arrays(toy):
    loss, calls = toy
    x, y = _arrays((5,), (5,))
    a, b = _arrays((5,), (5,), seed=2)
    # a cast copy of x
    loss(x, y, cast=True)
    torch.testing.assert_close(loss(a, b, cast=True), _want(a, b))
    # an array option that the body read as a value (it is not among the kernel's arrays)
    loss(x, y, scale=torch.tensor(2.0))
    torch.testing.assert_close(loss(a, b, scale=torch.tensor(3.0)), _want(a, b, scale=3.0))
    # one array passed twice: which argument the kernel took it as is ambiguous
    loss(x, x)
    assert len(calls) == 5 and plans_of(loss).table == {}
    torch.testing.assert_close(loss(a, b), _want(a, b))  # keeps the plan: (0, 1)
    torch.testing.assert_close(loss(x, x), _want(x, x))
    assert len(calls) == 6 and len(plans_of(loss).table) == 1
    # keep=False: the checks read a value
    calls2 = []
    eager_only = _toy(calls2, keep=False)
    eager_only(x, y)
    eager_only(a, b)
    assert len(calls2) == 2 and plans_of(eager_only).table == {}


def test_no_plan_for_a_result_that_needs_a_cast(toy):
    """A plan returns the kernel's result as it is: a result cast to the caller's dtype
    (``out``) is never planned."""
    calls = []

    def half(x, y, /, *, xp=None):
        calls.append(None)
        xp = array_namespace(x, y)
        return _plans.delegate(_toy_kernel, (x, y, None), {"scale": 1.0}, out=xp.float16, xp=xp)

    loss = _plans.planned(half)
    x, y = _arrays((5,), (5,))
    for _ in range(2):
        got = loss(x, y)
        assert got.dtype == torch.float16
        torch.testing.assert_close(got, _want(x, y).half())
    assert len(calls) == 2 and plans_of(loss).table == {}


def test_no_plan_for_other_arrays_or_an_explicit_namespace(toy):
    loss, calls = toy
    x, y = _arrays((5,), (5,))
    loss(x, y, xp=array_namespace(x))
    loss(x, y, xp=array_namespace(x))
    loss(x.numpy(), y.numpy())
    loss(x.numpy(), y.numpy())
    assert len(calls) == 4 and plans_of(loss).table == {}


def test_wrapper_table_is_bounded(toy, monkeypatch):
    monkeypatch.setattr(_plans, "_MAX_PLANS", 3)
    loss, _ = toy
    for n in range(1, 9):
        x, y = _arrays((n,), (n,))
        torch.testing.assert_close(loss(x, y), _want(x, y))
        assert len(plans_of(loss).table) <= 3


def test_plans_are_shared_by_threads():
    """Threads calling planned losses with their own signatures, while another clears the
    tables, each get torch's value on every call."""
    cases = []
    for n in range(1, 7):
        x, t = _logp(n=n, c=3 + n, seed=n)
        y = torch.rand(n, 3 + n, dtype=torch.float64)
        cases.append((al.nll_loss, F.nll_loss, (x, t)))
        cases.append((al.mse_loss, F.mse_loss, (x, y)))
        cases.append((al.cross_entropy, F.cross_entropy, (x, y.softmax(1))))
    errors = []
    stop = threading.Event()

    def work(k):
        try:
            for i in range(200):
                loss, ref, arrays = cases[(k + i) % len(cases)]
                got, want = loss(*arrays), ref(*arrays)
                if not torch.equal(got, want):
                    errors.append((loss.__name__, got, want))
        except Exception as err:  # reported by the assertion below
            errors.append(err)

    def clear():
        while not stop.is_set():
            _plans.clear_plans()

    clearer = threading.Thread(target=clear)
    workers = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    clearer.start()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    stop.set()
    clearer.join()
    assert errors == []


def test_no_loss_module_holds_plan_bookkeeping():
    """Delegation and plans live in ``_lib/_plans.py`` (and the registry): a loss body
    returns ``delegate(...)`` and nothing else about plans."""
    package = Path(al.__file__).parent
    banned = ("_PLANS", ".lookup(", "Plans(", "NativeCall", "plans_of", "_plans.signature")
    found = []
    for path in package.rglob("*.py"):
        rel = path.relative_to(package)
        if rel.parts[0] in ("_lib", "_backends"):
            continue
        text = path.read_text()
        found += [f"{rel}: {word}" for word in banned if word in text]
    assert found == []
