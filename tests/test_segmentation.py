"""Segmentation-specific tests, beyond the registry-driven ones.

* MONAI option sweeps: ``DiceLoss``, ``GeneralizedDiceLoss``, ``TverskyLoss`` (and
  ``DiceCELoss``/``DiceFocalLoss`` in their own tests) are constructed with MONAI's own
  options, and arrayloss is called with the mapped options (the mapping written in the
  docstrings); value and torch-autograd gradient must agree in float64. A small sweep runs
  by default, the full cartesian product with ``--slow``.
* Lovász: the sort-based gradient on every backend: torch autograd and ``jax.grad`` (also
  under ``jax.jit``) against torch autograd of the float64 re-derivation of Berman et al.
  (``tests/loss_info/segmentation.py``), and central finite differences of the values on
  the backends without autodiff (the loss is piecewise linear in the logits, so away from
  ties the difference quotient is the gradient).
* Empty masks: every overlap loss in every mode, classes absent from prediction and target,
  with and without smoothing: the documented finite value and a finite gradient.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

import arrayloss as al
from tests.loss_info.segmentation import _ref_lovasz_hinge, _ref_lovasz_softmax

torch = pytest.importorskip("torch")
monai_losses = pytest.importorskip("monai.losses")


def _data(rng, n=2, c=3, spatial=(4, 5)):
    x = rng.standard_normal((n, c, *spatial)) * 2
    y = rng.integers(0, c, (n, *spatial))
    return x, y


def _to_torch(a, grad=False):
    t = torch.from_numpy(np.array(a, copy=True))
    if t.is_floating_point():
        t = t.double().requires_grad_(grad)
    return t


def _assert_matches(ours, theirs, x, what):
    """Values and d/d input of sum(loss * cot) agree in float64."""
    xa = _to_torch(x, grad=True)
    xb = _to_torch(x, grad=True)
    a = ours(xa)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        b = theirs(xb)
    b = b.reshape(a.shape)
    torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12, msg=lambda m: f"{what}: {m}")
    cot = torch.linspace(0.5, 1.5, a.numel(), dtype=torch.float64).reshape(a.shape)
    (ga,) = torch.autograd.grad((a * cot).sum(), xa)
    (gb,) = torch.autograd.grad((b * cot).sum(), xb)
    torch.testing.assert_close(ga, gb, rtol=1e-8, atol=1e-12, msg=lambda m: f"grad {what}: {m}")


# -- MONAI option sweeps ---------------------------------------------------------------------

# (activation, target kind): how MONAI is told to read the data, and the arrayloss mode.
_READS = [
    ("softmax", "index"),  # multiclass, index target (MONAI to_onehot_y=True)
    ("softmax", "onehot"),  # multiclass, one-hot target
    ("sigmoid", "multilabel"),
    ("none", "onehot"),  # probabilities
]


def _monai_case(read, rng, c=3, spatial=(4, 5)):
    """Inputs and MONAI/arrayloss keyword pairs for one way of reading the data."""
    act, kind = read
    x, y = _data(rng, c=c, spatial=spatial)
    monai_kw = {"softmax": act == "softmax", "sigmoid": act == "sigmoid"}
    ours_kw = {"from_logits": act != "none"}
    if kind == "index":
        y_monai, y_ours = y[:, None], y
        monai_kw["to_onehot_y"] = True
        ours_kw["mode"] = "multiclass"
    elif kind == "onehot":
        y_monai = y_ours = np.eye(c)[y].transpose(0, 3, 1, 2)
        ours_kw["mode"] = "multiclass"
        if act == "none":
            e = np.exp(x)
            x = e / e.sum(axis=1, keepdims=True)
    else:
        y_monai = y_ours = rng.integers(0, 2, x.shape).astype(float)
        ours_kw["mode"] = "multilabel"
    return x, y_monai, y_ours, monai_kw, ours_kw


_DICE_OPTIONS = {
    "include_background": (True, False),
    "squared_pred": (False, True),
    "jaccard": (False, True),
    "batch": (False, True),
    "soft_label": (False, True),
    "reduction": ("mean", "sum", "none"),
    "weight": (None, "classes"),
}


def _sweep(options, fast):
    keys = list(options)
    full = [dict(zip(keys, vals)) for vals in itertools.product(*options.values())]
    if not fast:
        return full
    # Default run: each option value at least once against the defaults, plus a few mixes.
    base = {k: v[0] for k, v in options.items()}
    picked = [base]
    for k, vals in options.items():
        picked += [{**base, k: v} for v in vals[1:]]
    picked += full[:: max(1, len(full) // 6)][:6]
    return picked


def _dice_case(read, opts, seed):
    rng = np.random.default_rng(seed)
    x, y_monai, y_ours, monai_kw, ours_kw = _monai_case(read, rng)
    w = None
    if opts["weight"] == "classes":
        w = rng.uniform(0.2, 2.0, 3)
    monai_w = None if w is None else (w if opts["include_background"] else w[1:])
    mk = {**monai_kw, **{k: v for k, v in opts.items() if k != "weight"}}
    mk["weight"] = None if monai_w is None else torch.from_numpy(monai_w)
    ok = {
        **ours_kw,
        "include_background": opts["include_background"],
        "squared": opts["squared_pred"],
        "batch": opts["batch"],
        "soft_label": opts["soft_label"],
        "reduction": opts["reduction"],
    }
    return x, y_monai, y_ours, mk, ok, w


def _assert_dice_matches(read, opts, seed):
    x, y_monai, y_ours, mk, ok, w = _dice_case(read, opts, seed)
    jaccard = mk.pop("jaccard")
    fn = al.jaccard_loss if jaccard else al.dice_loss
    wt = None if w is None else torch.from_numpy(w)
    loss = monai_losses.DiceLoss(jaccard=jaccard, **mk)
    if mk["squared_pred"] and mk.get("to_onehot_y"):
        # MONAI one-hots in float32 and its squared path takes a float32 norm of it (1e-7
        # relative): give it the float64 one-hot instead (to_onehot_y is swept elsewhere).
        mk["to_onehot_y"] = False
        loss = monai_losses.DiceLoss(jaccard=jaccard, **mk)
        y_monai = np.eye(x.shape[1])[y_monai[:, 0]].transpose(0, 3, 1, 2)
    yt_m, yt_o = _to_torch(y_monai), _to_torch(y_ours)
    _assert_matches(
        lambda t: fn(t, yt_o, weight=wt, **ok),
        lambda t: loss(t, yt_m),
        x,
        f"DiceLoss(jaccard={jaccard}, {mk}) read={read}",
    )


_DICE_FAST = [(r, o) for r in _READS for o in _sweep(_DICE_OPTIONS, fast=True)]
_DICE_SLOW = [(r, o) for r in _READS for o in _sweep(_DICE_OPTIONS, fast=False)]


@pytest.mark.backends("torch")
@pytest.mark.parametrize("read,opts", _DICE_FAST[::3] + _DICE_FAST[1::7])
def test_dice_matches_monai(backend, read, opts):
    _assert_dice_matches(read, opts, seed=len(str(opts)) + len(read[1]))


@pytest.mark.slow
@pytest.mark.backends("torch")
@pytest.mark.parametrize("read,opts", _DICE_SLOW)
def test_dice_matches_monai_exhaustive(backend, read, opts):
    _assert_dice_matches(read, opts, seed=len(str(opts)) + len(read[1]))


_GDL_OPTIONS = {
    "w_type": ("square", "simple", "uniform"),
    "include_background": (True, False),
    "batch": (False, True),
    "soft_label": (False, True),
    "reduction": ("mean", "sum", "none"),
}


def _assert_gdl_matches(read, opts, seed, absent=False):
    from tests.loss_info.segmentation import _gdl_class

    rng = np.random.default_rng(seed)
    x, y_monai, y_ours, monai_kw, ours_kw = _monai_case(read, rng)
    if absent and read[1] == "index":  # class 2 absent: MONAI's max-weight substitution
        y_ours = y_ours % 2
        y_monai = y_ours[:, None]
    loss = _gdl_class()(**monai_kw, **opts)
    ok = {
        **ours_kw,
        "weight_type": opts["w_type"],
        "include_background": opts["include_background"],
        "batch": opts["batch"],
        "soft_label": opts["soft_label"],
        "reduction": opts["reduction"],
    }
    yt_m, yt_o = _to_torch(y_monai), _to_torch(y_ours)
    _assert_matches(
        lambda t: al.generalized_dice_loss(t, yt_o, **ok),
        lambda t: loss(t, yt_m),
        x,
        f"GeneralizedDiceLoss({opts}) read={read}",
    )


@pytest.mark.backends("torch")
@pytest.mark.parametrize(
    "read,opts", [(r, o) for r in _READS for o in _sweep(_GDL_OPTIONS, fast=True)][::4]
)
def test_generalized_dice_matches_monai(backend, read, opts):
    _assert_gdl_matches(read, opts, seed=len(str(opts)), absent=True)


@pytest.mark.slow
@pytest.mark.backends("torch")
@pytest.mark.parametrize(
    "read,opts", [(r, o) for r in _READS for o in _sweep(_GDL_OPTIONS, fast=False)]
)
def test_generalized_dice_matches_monai_exhaustive(backend, read, opts):
    _assert_gdl_matches(read, opts, seed=len(str(opts)), absent=True)


_TVERSKY_OPTIONS = {
    "alpha_beta": ((0.5, 0.5), (0.3, 0.7), (1.0, 0.2)),
    "include_background": (True, False),
    "batch": (False, True),
    "soft_label": (False, True),
    "ignore_index": (None, -1),
    "reduction": ("mean", "sum", "none"),
}


def _assert_tversky_matches(read, opts, seed):
    rng = np.random.default_rng(seed)
    x, y_monai, y_ours, monai_kw, ours_kw = _monai_case(read, rng)
    ii = opts["ignore_index"]
    if ii is not None:
        if read[1] != "index":
            raise AssertionError("MONAI reads ignore_index on one-hot targets as a class channel")
        y_ours = np.where(rng.random(y_ours.shape) < 0.2, ii, y_ours)
        y_monai = y_ours[:, None]
    a, b = opts["alpha_beta"]
    mk = {k: v for k, v in opts.items() if k != "alpha_beta"}
    loss = monai_losses.TverskyLoss(alpha=a, beta=b, **monai_kw, **mk)
    yt_m, yt_o = _to_torch(y_monai), _to_torch(y_ours)
    _assert_matches(
        lambda t: al.tversky_loss(t, yt_o, alpha=a, beta=b, **ours_kw, **mk),
        lambda t: loss(t, yt_m),
        x,
        f"TverskyLoss({opts}) read={read}",
    )


@pytest.mark.backends("torch")
@pytest.mark.parametrize(
    "read,opts",
    [
        (r, o)
        for r in _READS
        for o in _sweep(_TVERSKY_OPTIONS, fast=True)
        if o["ignore_index"] is None or r[1] == "index"
    ][::3],
)
def test_tversky_matches_monai(backend, read, opts):
    _assert_tversky_matches(read, opts, seed=len(str(opts)))


@pytest.mark.slow
@pytest.mark.backends("torch")
@pytest.mark.parametrize(
    "read,opts",
    [
        (r, o)
        for r in _READS
        for o in _sweep(_TVERSKY_OPTIONS, fast=False)
        if o["ignore_index"] is None or r[1] == "index"
    ],
)
def test_tversky_matches_monai_exhaustive(backend, read, opts):
    _assert_tversky_matches(read, opts, seed=len(str(opts)))


@pytest.mark.backends("torch")
@pytest.mark.parametrize("spatial", [(6,), (3, 4), (2, 3, 4)], ids=["1d", "2d", "3d"])
@pytest.mark.parametrize("ignore_index", [None, 255, 1])
def test_dice_ignore_index_and_spatial_dims_match_monai(backend, spatial, ignore_index):
    """ignore_index (a sentinel and a real class) with 1-, 2- and 3-D images."""
    rng = np.random.default_rng(len(spatial) * 10 + (ignore_index or 0))
    x, y = _data(rng, spatial=spatial)
    if ignore_index is not None:
        y = np.where(rng.random(y.shape) < 0.25, ignore_index, y)
    loss = monai_losses.DiceLoss(
        softmax=True, to_onehot_y=True, ignore_index=ignore_index, reduction="none"
    )
    yt = _to_torch(y)
    _assert_matches(
        lambda t: al.dice_loss(t, yt, ignore_index=ignore_index, reduction="none"),
        lambda t: loss(t, yt[:, None]),
        x,
        f"DiceLoss ignore_index={ignore_index}",
    )


def test_tversky_squared_with_half_weights_is_squared_dice():
    """MONAI's Tversky has no squared form: with alpha = beta = 1/2 and no smoothing the
    Tversky index is the Dice coefficient, squared denominators included."""
    rng = np.random.default_rng(3)
    x, y = _data(rng)
    kw = {"squared": True, "smooth_nr": 0.0, "smooth_dr": 0.0, "reduction": "none"}
    np.testing.assert_allclose(al.tversky_loss(x, y, **kw), al.dice_loss(x, y, **kw), rtol=1e-12)
    assert not np.allclose(
        al.dice_loss(x, y, reduction="none"), al.dice_loss(x, y, squared=True, reduction="none")
    )


# -- Lovász: the sort-based gradient on every backend ----------------------------------------


def _lovasz_cases():
    rng = np.random.default_rng(11)
    xh = rng.standard_normal((2, 3, 4, 5))  # 3-D images
    yh = rng.integers(0, 2, (2, 3, 4, 5))
    yi = np.where(rng.random(yh.shape) < 0.2, 255, yh)
    xs = rng.standard_normal((2, 4, 3, 5)) * 2
    ys = rng.integers(0, 4, (2, 3, 5))
    ysi = np.where(rng.random(ys.shape) < 0.2, -1, ys)
    return [
        ("hinge", xh, yh, {}),
        ("hinge", xh, yh, {"per_image": True, "reduction": "none"}),
        ("hinge", xh, yi, {"ignore_index": 255, "per_image": True}),
        ("softmax", xs, ys, {}),
        ("softmax", xs, ys % 2, {"classes": "all", "per_image": True, "reduction": "none"}),
        ("softmax", xs, ysi, {"ignore_index": -1, "classes": [0, 2]}),
    ]


_LOVASZ = _lovasz_cases()
_LOVASZ_IDS = [f"{k}-{i}" for i, (k, *_rest) in enumerate(_LOVASZ)]


def _lovasz_fns(kind):
    return (
        (al.lovasz_hinge_loss, _ref_lovasz_hinge)
        if kind == "hinge"
        else (al.lovasz_softmax_loss, _ref_lovasz_softmax)
    )


def _lovasz_ref_grad(kind, x, y, kw):
    _, ref = _lovasz_fns(kind)
    xt = _to_torch(x, grad=True)
    kw = {"reduction": "mean", **kw}
    out = ref(xt, _to_torch(y), **kw)
    (g,) = torch.autograd.grad(out.sum(), xt)
    return out.detach().numpy(), g.numpy()


@pytest.mark.backends("torch,jax")
@pytest.mark.parametrize("case", _LOVASZ, ids=_LOVASZ_IDS)
def test_lovasz_autodiff_gradient(backend, case):
    """torch autograd / jax.grad and jax.jit(jax.grad) of the sort-based loss equal torch
    autograd of the reference algorithm."""
    kind, x, y, kw = case
    fn, _ = _lovasz_fns(kind)
    expected_val, expected = _lovasz_ref_grad(kind, x, y, kw)
    if backend.name == "torch":
        xt = _to_torch(x, grad=True)
        out = fn(xt, _to_torch(y), **kw)
        (g,) = torch.autograd.grad(out.sum(), xt)
        np.testing.assert_allclose(out.detach().numpy(), expected_val, rtol=1e-12)
        np.testing.assert_allclose(g.numpy(), expected, rtol=1e-10, atol=1e-14)
        return
    import jax
    import jax.numpy as jnp

    f = lambda a: jnp.sum(fn(a, jnp.asarray(y), **kw))
    xj = jnp.asarray(x)
    np.testing.assert_allclose(np.asarray(jax.grad(f)(xj)), expected, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(
        np.asarray(jax.jit(jax.grad(f))(xj)), expected, rtol=1e-10, atol=1e-14
    )


@pytest.mark.backends("numpy,array_api_strict,dask")
@pytest.mark.parametrize("case", _LOVASZ, ids=_LOVASZ_IDS)
def test_lovasz_finite_difference_gradient(backend, case):
    """Backends without autodiff: central differences of the values (piecewise linear, so
    exact away from ties) equal the reference gradient at a few coordinates."""
    kind, x, y, kw = case
    fn, _ = _lovasz_fns(kind)
    _, expected = _lovasz_ref_grad(kind, x, y, kw)
    rng = np.random.default_rng(5)
    h = 1e-6
    yb = backend.asarray(y)
    for flat in rng.choice(x.size, 4, replace=False):
        idx = np.unravel_index(flat, x.shape)
        xp_, xm = x.copy(), x.copy()
        xp_[idx] += h
        xm[idx] -= h
        fp = backend.to_numpy(fn(backend.asarray(xp_, "float64"), yb, **kw)).sum()
        fm = backend.to_numpy(fn(backend.asarray(xm, "float64"), yb, **kw)).sum()
        np.testing.assert_allclose(
            (fp - fm) / (2 * h),
            expected[idx],
            rtol=1e-5,
            atol=1e-8,
            err_msg=f"{kind} {kw} d/dx{idx}",
        )


# -- empty masks -----------------------------------------------------------------------------

_OVERLAP = [
    al.dice_loss,
    al.jaccard_loss,
    al.tversky_loss,
    al.focal_tversky_loss,
    al.generalized_dice_loss,
]


@pytest.mark.backends("torch,jax")
@pytest.mark.parametrize("fn", _OVERLAP, ids=lambda f: f.__name__)
@pytest.mark.parametrize("smooth", [0.0, 1e-5])
def test_empty_masks_finite(backend, fn, smooth):
    """Classes absent from prediction and target: perfect predictions give exactly 0, and
    every value and gradient is finite, in every mode, with and without smoothing."""
    if backend.name == "jax":
        import jax
        import jax.numpy as jnp

    y = np.zeros((2, 4, 5), dtype=np.int64)
    y[0, :2] = 1  # class 2 absent everywhere, class 1 absent from sample 1
    onehot = np.eye(3)[y].transpose(0, 3, 1, 2)
    cases = [
        (onehot, y, {"mode": "multiclass"}),
        (onehot, onehot, {"mode": "multilabel"}),
        (np.zeros((2, 1, 4, 5)), np.zeros((2, 1, 4, 5)), {"mode": "binary"}),
    ]
    for x, t, kw in cases:
        kw = {
            **kw,
            "from_logits": False,
            "smooth_nr": smooth,
            "smooth_dr": smooth,
            "reduction": "none",
        }
        if backend.name == "torch":
            xt = _to_torch(x, grad=True)
            out = fn(xt, _to_torch(t), **kw)
            (g,) = torch.autograd.grad(out.sum(), xt)
            out, g = out.detach().numpy(), g.numpy()
        else:
            out = np.asarray(fn(jnp.asarray(x), jnp.asarray(t), **kw))
            g = np.asarray(
                jax.grad(lambda a, t=t, kw=kw: jnp.sum(fn(a, jnp.asarray(t), **kw)))(jnp.asarray(x))
            )
        assert np.all(np.isfinite(out)), (fn.__name__, kw, out)
        assert np.all(np.isfinite(g)), (fn.__name__, kw, g)
        np.testing.assert_allclose(out, 0.0, atol=1e-12, err_msg=f"{fn.__name__} {kw}")
        # A wrong prediction on an empty class is still finite and positive, except for
        # the generalized Dice of an all-empty target: every class weight is 0 there and
        # the loss is the documented 1 - smooth_nr / smooth_dr (0/0 defined as 0).
        bad = float(fn(x * 0.5 + 0.25, t, **{**kw, "reduction": "mean"}))
        assert np.isfinite(bad)
        if fn is al.generalized_dice_loss and kw["mode"] == "binary":
            assert bad == 0.0
        else:
            assert bad > 0


@pytest.mark.parametrize("classes", ["present", "all"])
def test_lovasz_all_ignored_is_zero(classes):
    x = np.random.default_rng(0).standard_normal((2, 3, 4))
    y = np.full((2, 4), -1)
    out = al.lovasz_softmax_loss(
        x, y, ignore_index=-1, classes=classes, per_image=True, reduction="none"
    )
    np.testing.assert_array_equal(out, np.zeros(2))  # the reference's empty mean
    np.testing.assert_array_equal(
        al.lovasz_hinge_loss(x[:, 0], np.full((2, 4), 9), ignore_index=9), 0.0
    )


# -- DiceCELoss / DiceFocalLoss, MONAI's classes with their own options ----------------------

_COMBO_CASES = [
    {},
    {"include_background": False, "weight": True},
    {"squared_pred": True, "jaccard": True, "batch": True, "reduction": "sum"},
    {"lambda_dice": 0.5, "weight": True, "smooth_nr": 0.0},
]


@pytest.mark.backends("torch")
@pytest.mark.parametrize("opts", _COMBO_CASES)
@pytest.mark.parametrize("combo", ["ce", "focal"])
def test_dice_combinations_match_monai(backend, combo, opts):
    """MONAI's DiceCELoss(softmax, to_onehot_y, label_smoothing) and DiceFocalLoss(softmax,
    to_onehot_y, gamma, alpha) against dice_ce_loss/dice_focal_loss. DiceFocalLoss computes
    its focal part in float32, hence the looser tolerance there."""
    rng = np.random.default_rng(len(str(opts)) + len(combo))
    x, y = _data(rng)
    opts = dict(opts)
    w = rng.uniform(0.2, 2.0, 3) if opts.pop("weight", False) else None
    bg = opts.get("include_background", True)
    ours = {
        "include_background": bg,
        "squared": opts.get("squared_pred", False),
        "jaccard": opts.get("jaccard", False),
        "batch": opts.get("batch", False),
        "reduction": opts.get("reduction", "mean"),
        "smooth_nr": opts.get("smooth_nr", 1e-5),
        "lambda_dice": opts.get("lambda_dice", 1.0),
        "weight": None if w is None else torch.from_numpy(w),
    }
    yt = _to_torch(y)
    y_monai = yt[:, None]
    if opts.get("squared_pred"):  # MONAI's float32 one-hot (see the Dice sweep)
        y_monai = torch.nn.functional.one_hot(yt, 3).movedim(-1, 1).double()
    onehot = {"to_onehot_y": not opts.get("squared_pred")}
    if combo == "ce":
        loss = monai_losses.DiceCELoss(
            softmax=True, label_smoothing=0.1, weight=ours["weight"], **onehot, **opts
        )
        fn = lambda t: al.dice_ce_loss(t, yt, label_smoothing=0.1, **ours)
        if opts.get("squared_pred"):  # CE with probability targets: no weights here
            assert w is None
        _assert_matches(fn, lambda t: loss(t, y_monai), x, f"DiceCELoss({opts})")
        return
    mw = None if w is None else torch.from_numpy(w if bg else w[1:])
    loss = monai_losses.DiceFocalLoss(
        softmax=True, gamma=1.5, alpha=0.25, weight=mw, **onehot, **opts
    )
    xt = _to_torch(x)
    a = al.dice_focal_loss(xt, yt, gamma=1.5, alpha=0.25, **ours)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        b = loss(xt, y_monai)
    torch.testing.assert_close(a, b.double(), rtol=2e-6, atol=1e-7)


# -- values the checks cannot read -----------------------------------------------------------


def test_unchecked_bad_label_marks_only_its_sample():
    """Where the label check does not run, an out-of-range label makes its sample's losses
    NaN (every loss where the batch is pooled), and the other samples keep their values; an
    unchecked negative class weight makes its class NaN."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 3, 4, 4))
    y = rng.integers(0, 3, size=(3, 4, 4))
    bad = y.copy()
    bad[1, 0, 0] = 3
    for fn, kw in [
        (al.dice_loss, {}),
        (al.generalized_dice_loss, {}),
        (al.lovasz_softmax_loss, {"per_image": True}),
    ]:
        want = np.asarray(fn(x, y, reduction="none", **kw))
        with al.options(check_values="never"):
            got = np.asarray(fn(x, bad, reduction="none", **kw))
        assert np.isnan(got[1]).all(), fn.__name__
        np.testing.assert_array_equal(got[[0, 2]], want[[0, 2]], err_msg=fn.__name__)
    with al.options(check_values="never"):
        pooled = np.asarray(al.dice_loss(x, bad, reduction="none", batch=True))
        got = np.asarray(al.dice_loss(x, y, weight=np.array([1.0, -1.0, 1.0]), reduction="none"))
    assert np.isnan(pooled).all()
    assert np.isnan(got[:, 1]).all() and np.isfinite(got[:, [0, 2]]).all()
