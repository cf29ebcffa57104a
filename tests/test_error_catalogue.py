"""Error catalogue: every registered loss × every class of bad input (issue 7).

Table-driven from the ``LossInfo`` entries only (no loss-specific code): each class below
derives its bad inputs from the entry's first sample and signature, so a family joins by
adding entries. A case checks the exception type, that the message starts with
``"<loss name>: "`` and that it names the offending argument in backticks.

Classes: mismatched shapes; mixed frameworks (every pair of the installed eager libraries,
positional arrays and array options); mixed devices (array-api-strict's CPU devices, and
CUDA where available); integer/boolean arrays where floats are needed; float labels where
indices are needed; labels out of range (eager backends; lazy Dask and traced arrays skip
value checks by design); unknown reductions; invalid option values (a generic table by
option name plus the entry's ``invalid_options``). NaN inputs never raise and propagate
like the reference (torch's semantics): a NaN in the unreduced reference is a NaN here.

``test_losses.py::test_bad_input_raises_clear_error`` runs the entries' own ``errors``; this
suite adds the generic classes.
"""

from __future__ import annotations

import inspect
import os
import warnings
from collections import Counter
from typing import Any

import numpy as np
import pytest

from tests._harness import convert, reference_value, rng_for, skip_if
from tests.loss_info import LOSSES, LossInfo, SampleInput

IDS = [info.name for info in LOSSES]
CASES: Counter[str] = Counter()

# Option values that are invalid for every loss taking an option of that name.
GENERIC_INVALID: dict[str, tuple[Any, ...]] = {
    "eps": (-1.0,),
    "delta": (0.0, -1.0),
    "beta": (-1.0,),
    "quantile": (0.0, 1.0, -0.5, 1.5),
    "label_smoothing": (-0.1, 1.5),
}
BAD_REDUCTIONS: tuple[Any, ...] = ("avg", "MEAN", "", 1, None)

# A bug this suite finds in a loss is declared at the loss, as DecorateInfo("xfail", reason,
# tests=(...), backends=...) in tests/loss_info: a strict xfail, so the fix shows.


@pytest.fixture(scope="module", autouse=True)
def _case_log():
    """With ARRAYLOSS_CASE_LOG=path, append how many cases each class ran (for reports)."""
    yield
    path = os.environ.get("ARRAYLOSS_CASE_LOG")
    if path:
        with open(path, "a") as f:
            f.writelines(f"errors {k} {v}\n" for k, v in sorted(CASES.items()))


def arg_names(info: LossInfo) -> list[str]:
    return [
        p.name
        for p in inspect.signature(info.func).parameters.values()
        if p.kind is inspect.Parameter.POSITIONAL_ONLY
    ]


def options(info: LossInfo) -> dict[str, Any]:
    return {
        p.name: p.default
        for p in inspect.signature(info.func).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    }


def base_sample(info: LossInfo) -> SampleInput:
    """The first sample with batched (rank >= 1) arrays, reduction 'mean' where it has one."""
    samples = info.expanded_samples(rng_for(info.name, "catalogue"))
    ranked = [
        s for s in samples if all(not isinstance(a, np.ndarray) or a.ndim >= 1 for a in s.args)
    ]
    mean = [s for s in ranked if s.kwargs.get("reduction", "mean") == "mean"]
    return (mean or ranked or samples)[0]


def is_array(a: Any) -> bool:
    return isinstance(a, np.ndarray)


def index_positions(info: LossInfo, sample: SampleInput) -> list[int]:
    return [
        i
        for i, a in enumerate(sample.args)
        if is_array(a) and a.dtype.kind in "iu" and i not in info.float_args
    ]


def assert_raises_named(
    info: LossInfo, exc_types: tuple[type[Exception], ...], names: list[str], fn, what: str
) -> None:
    """``fn()`` raises one of ``exc_types``; the message starts with the loss name and names
    one of ``names`` in backticks."""
    with pytest.raises(exc_types) as exc:
        fn()
    msg = str(exc.value)
    assert msg.startswith(f"{info.name}: "), f"{what}: message does not start with the name: {msg}"
    assert any(f"`{n}`" in msg for n in names), f"{what}: message names none of {names}: {msg}"
    CASES[what.split(":")[0]] += 1


def run(info: LossInfo, backend, sample: SampleInput, dtype: str | None = "float64"):
    args, kwargs = convert(sample, backend, dtype)
    return lambda: info.func(*args, **kwargs)


# -- the catalogue -----------------------------------------------------------------------------


@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_mismatched_shapes(info, backend):
    """The last positional array grown by one along its first axis: ValueError."""
    skip_if(info, backend.name, "errors", "test_mismatched_shapes")
    sample = base_sample(info)
    names = arg_names(info)
    pos = [i for i, a in enumerate(sample.args) if is_array(a) and a.ndim >= 1]
    if len(pos) < 2:
        pytest.skip(f"{info.name}: a single batched array")
    i = pos[-1]
    a = sample.args[i]
    bad = list(sample.args)
    bad[i] = np.concatenate([a, a[:1]], axis=0)
    assert_raises_named(
        info,
        (ValueError,),
        names,
        run(info, backend, SampleInput(tuple(bad), sample.kwargs)),
        f"shape: {info.name} arg {names[i]} {a.shape} -> {bad[i].shape}",
    )


def _eager_libs() -> list[str]:
    import importlib.util

    return [m for m in ("numpy", "torch", "jax") if importlib.util.find_spec(m)]


@pytest.mark.backends("numpy")
@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_mixed_frameworks(info, backend):
    """Every ordered pair of eager libraries, for each second array and each array option:
    TypeError naming the loss and both arguments' libraries."""
    from tests._backends import BACKENDS

    sample = base_sample(info)
    names = arg_names(info)
    arrays = [i for i, a in enumerate(sample.args) if is_array(a)]
    kw_arrays = [k for k, v in sample.kwargs.items() if is_array(v)]
    if len(arrays) + len(kw_arrays) < 2:
        pytest.skip(f"{info.name} takes a single array")
    libs = _eager_libs()
    checked = 0
    for a in libs:
        for b in libs:
            if a == b:
                continue
            ba, bb = BACKENDS[a], BACKENDS[b]
            args, kwargs = convert(sample, ba, "float64")
            for i in arrays[1:]:
                bad = list(args)
                bad[i] = bb.asarray(sample.args[i], "float64")
                assert_raises_named(
                    info,
                    (TypeError,),
                    [names[0], names[i]],
                    lambda bad=bad: info.func(*bad, **kwargs),
                    f"mixed frameworks: {info.name} {names[i]} {a}/{b}",
                )
                checked += 1
            for k in kw_arrays:
                badk = {**kwargs, k: bb.asarray(sample.kwargs[k], "float64")}
                assert_raises_named(
                    info,
                    (TypeError,),
                    [names[0], k],
                    lambda badk=badk: info.func(*args, **badk),
                    f"mixed frameworks: {info.name} {k} {a}/{b}",
                )
                checked += 1
    assert checked


@pytest.mark.backends("numpy,torch_cuda")
@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_mixed_devices(info, backend):
    """An array on a second device: ValueError (array-api-strict's CPU devices; CUDA vs CPU
    torch where a GPU exists)."""
    import array_api_strict as strict

    sample = base_sample(info)
    names = arg_names(info)
    arrays = [i for i, a in enumerate(sample.args) if is_array(a)]
    kw_arrays = [k for k, v in sample.kwargs.items() if is_array(v)]
    if len(arrays) + len(kw_arrays) < 2:
        pytest.skip(f"{info.name} takes a single array")
    if backend.name == "numpy":
        dev = strict.Device("device1")
        put = lambda v, other=False: strict.asarray(v, device=dev) if other else strict.asarray(v)
    else:
        import torch

        put = lambda v, other=False: torch.from_numpy(np.array(v)).to("cpu" if other else "cuda")
    args = [put(a) if is_array(a) else a for a in sample.args]
    kwargs = {k: put(v) if is_array(v) else v for k, v in sample.kwargs.items()}
    for i in arrays[1:]:
        bad = list(args)
        bad[i] = put(sample.args[i], other=True)
        assert_raises_named(
            info,
            (ValueError,),
            [names[0], names[i]],
            lambda bad=bad: info.func(*bad, **kwargs),
            f"mixed devices: {info.name} {names[i]}",
        )
    for k in kw_arrays:
        badk = {**kwargs, k: put(sample.kwargs[k], other=True)}
        assert_raises_named(
            info,
            (ValueError,),
            [names[0], k],
            lambda badk=badk: info.func(*args, **badk),
            f"mixed devices: {info.name} {k}",
        )


@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_non_floating_where_floats_needed(info, backend):
    """int32, int64 and bool arrays in each floating-only argument: TypeError naming it."""
    skip_if(info, backend.name, "errors")
    sample = base_sample(info)
    names = arg_names(info)
    for i in info.float_args:
        if not is_array(sample.args[i]):
            continue
        for dt in ("int32", "int64", "bool"):
            bad = list(sample.args)
            bad[i] = (sample.args[i] > 0) if dt == "bool" else np.round(sample.args[i]).astype(dt)
            assert_raises_named(
                info,
                (TypeError,),
                [names[i]],
                run(info, backend, SampleInput(tuple(bad), sample.kwargs)),
                f"non-floating: {info.name} {names[i]} {dt}",
            )


@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_float_labels_where_indices_needed(info, backend):
    """Class-index arguments given as floats (same values): TypeError or ValueError naming
    the argument (a float target may be read as probabilities, whose shape is then wrong)."""
    skip_if(info, backend.name, "errors")
    sample = base_sample(info)
    names = arg_names(info)
    pos = index_positions(info, sample)
    if not pos:
        pytest.skip(f"{info.name} takes no index arrays")
    for i in pos:
        bad = list(sample.args)
        bad[i] = sample.args[i].astype(np.float64)
        if bad[i].shape == sample.args[0].shape:
            continue  # a floating target of the input's shape is a valid soft label
        assert_raises_named(
            info,
            (TypeError, ValueError),
            [names[i]],
            run(info, backend, SampleInput(tuple(bad), sample.kwargs)),
            f"float labels: {info.name} {names[i]}",
        )


@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_labels_out_of_range(info, backend):
    """One index far above and one far below the valid range: ValueError naming the
    argument, on eager arrays (Dask skips value checks by design: never an early compute)."""
    skip_if(info, backend.name, "errors")
    if backend.name == "dask":
        pytest.skip("value checks do not run on lazy arrays (docs/design.md)")
    sample = base_sample(info)
    names = arg_names(info)
    pos = index_positions(info, sample)
    if not pos:
        pytest.skip(f"{info.name} takes no index arrays")
    for i in pos:
        for v in (10**6, -(10**6)):
            bad = list(sample.args)
            bad[i] = sample.args[i].copy()
            bad[i].flat[0] = v
            assert_raises_named(
                info,
                (ValueError,),
                [names[i]],
                run(info, backend, SampleInput(tuple(bad), sample.kwargs)),
                f"labels out of range: {info.name} {names[i]}={v}",
            )


@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_unknown_reduction(info, backend):
    skip_if(info, backend.name, "errors")
    if "reduction" not in options(info):
        pytest.skip(f"{info.name} takes no reduction")
    sample = base_sample(info)
    for r in BAD_REDUCTIONS:
        assert_raises_named(
            info,
            (ValueError, TypeError),
            ["reduction"],
            run(info, backend, SampleInput(sample.args, {**sample.kwargs, "reduction": r})),
            f"unknown reduction: {info.name} {r!r}",
        )


def invalid_option_cases(info: LossInfo) -> list[tuple[str, Any]]:
    opts = options(info)
    cases = [(k, v) for k, vals in GENERIC_INVALID.items() if k in opts for v in vals]
    cases += [(k, v) for k, vals in info.invalid_options.items() for v in vals]
    return cases


@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_invalid_option_values(info, backend):
    """Generic invalid values by option name (eps < 0, delta <= 0, beta < 0, quantile outside
    (0, 1), label_smoothing outside [0, 1]) and the entry's ``invalid_options``."""
    skip_if(info, backend.name, "errors")
    cases = invalid_option_cases(info)
    if not cases:
        pytest.skip(f"{info.name} has no option with a known invalid value")
    sample = base_sample(info)
    for k, v in cases:
        assert_raises_named(
            info,
            (ValueError, TypeError),
            [k],
            run(info, backend, SampleInput(sample.args, {**sample.kwargs, k: v})),
            f"invalid option: {info.name} {k}={v!r}",
        )


@pytest.mark.parametrize("info", LOSSES, ids=IDS)
def test_nan_input_propagates(info, backend):
    """A NaN in the input never raises; the unreduced loss is NaN exactly where the reference
    (torch semantics) is, and the mean/sum are NaN if the reference's are."""
    skip_if(info, backend.name, "errors")
    sample = base_sample(info)
    x = sample.args[0]
    if not is_array(x) or x.dtype.kind != "f" or x.size == 0:
        pytest.skip(f"{info.name}: no floating input")
    bad = x.copy()
    bad.flat[0] = np.nan
    nan_sample = SampleInput((bad, *sample.args[1:]), sample.kwargs)
    reds = list(info.reductions) if "reduction" in options(info) else [None]
    for r in reds:
        s = (
            nan_sample
            if r is None
            else SampleInput(nan_sample.args, {**nan_sample.kwargs, "reduction": r})
        )
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ref = reference_value(info, s)
        except Exception:
            continue  # the reference itself rejects NaN: no semantics to compare with
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            got = backend.to_numpy(run(info, backend, s)())
        assert got.shape == ref.shape, f"{info.name} NaN input, reduction={r}: shape"
        np.testing.assert_array_equal(
            np.isnan(got),
            np.isnan(ref),
            err_msg=f"{info.name} NaN input, reduction={r}: NaN pattern differs from torch's",
        )
        CASES["nan propagates"] += 1


@pytest.mark.backends("torch")
@pytest.mark.parametrize("name, option", [("huber_loss", "delta"), ("smooth_l1_loss", "beta")])
def test_float_option_under_dynamic_compile(name, option, backend):
    """A float option traced as a symbolic float by torch.compile(dynamic=True, fullgraph=True)
    passes the option checks (no math.isnan on a SymFloat) and gives torch's values for two
    different option values."""
    import torch

    import arrayloss

    loss = getattr(arrayloss, name)
    peer = getattr(torch.nn.functional, name)
    torch._dynamo.reset()
    compiled = torch.compile(
        lambda x, y, v: loss(x, y, **{option: v}), dynamic=True, fullgraph=True
    )
    rng = rng_for(name, "dynamic-compile")
    x, y = (torch.from_numpy(rng.standard_normal(8)) for _ in range(2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for v in (0.5, 1.5):
            torch.testing.assert_close(compiled(x, y, v), peer(x, y, **{option: v}))
            CASES["nan check under dynamic compile"] += 1
