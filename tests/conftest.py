"""Test configuration: the backend × dtype × code-path matrix.

* ``--backends numpy,torch`` (or ``ARRAYLOSS_BACKENDS``) selects backends; default: all. A
  backend that is not installed (or needs a GPU this machine lacks) is skipped with the
  reason, never failed.
* Tests that take a ``backend`` fixture run once per selected backend; ``dtype`` adds every
  floating dtype that backend has; ``path`` adds ``native`` and ``generic`` (the latter
  forces the generic array-API kernels) for backends that have native overrides.
* A backend-independent test that needs one library (JAX for ``jax.jit``) is marked
  ``@pytest.mark.needs("jax")`` and runs in the sessions selecting that backend.
* The default run compiles a representative subset (every code path at least once, see
  ``LossInfo.representative_samples``); ``--exhaustive`` (or ``ARRAYLOSS_EXHAUSTIVE=1``;
  ``--slow`` is the old name) runs every sample under every compiler, every loss in the
  traced suites, the full hypothesis budgets and the sweeps marked ``slow``.
* A loss's ``DecorateInfo`` directives (typed skips and strict xfails) are applied to the
  tests it parametrizes at collection, by test name, backend and dtype.
* JAX keeps its compiled programs in a persistent cache outside the clone,
  ``~/.cache/arrayloss/jax-cache`` (``ARRAYLOSS_JAX_CACHE``; empty or ``0`` turns it off), so a
  second run on the same machine skips most XLA compiles.
"""

from __future__ import annotations

import contextlib
import os

os.environ.setdefault("KERAS_BACKEND", "torch")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import pytest

from tests._backends import BACKENDS, selected_backends


def _jax_cache_settings() -> dict[str, object]:
    """JAX's persistent compilation cache, outside the clone: every program is cached (the
    tests' programs are small and quick to compile, below JAX's default thresholds)."""
    path = os.environ.get("ARRAYLOSS_JAX_CACHE", "~/.cache/arrayloss/jax-cache")
    if path in ("", "0"):
        return {}
    return {
        "jax_compilation_cache_dir": os.path.expanduser(path),
        "jax_persistent_cache_min_compile_time_secs": 0.0,
        "jax_persistent_cache_min_entry_size_bytes": -1,
    }


def _prune(path: str, limit: int = 2 * 2**30) -> None:
    """Bound the cache once per run (past ``limit``, the oldest entries go, down to half):
    JAX's own bound, jax_compilation_cache_max_size, rescans the directory on every write."""
    try:
        stats = sorted((e.stat().st_mtime, e.stat().st_size, e.path)
                       for e in os.scandir(path) if e.is_file())
    except FileNotFoundError:
        return
    total = sum(size for _, size, _ in stats)
    if total <= limit:
        return
    for _, size, file in stats:
        if total <= limit // 2:
            break
        with contextlib.suppress(FileNotFoundError):
            os.remove(file)
        total -= size


_JAX_CACHE = _jax_cache_settings()
# Subprocesses (tests/_sharding_worker.py) read the same settings from the environment.
for _name, _value in _JAX_CACHE.items():
    os.environ.setdefault(_name.upper(), str(_value))
if _JAX_CACHE and "PYTEST_XDIST_WORKER" not in os.environ:
    _prune(os.environ["JAX_COMPILATION_CACHE_DIR"])

try:  # float64 in JAX tests, as every other backend has it.
    import jax

    jax.config.update("jax_enable_x64", True)
    for _name, _value in _JAX_CACHE.items():  # an environment setting wins, as in JAX
        jax.config.update(_name, type(_value)(os.environ[_name.upper()]))
except ImportError:  # pragma: no cover
    pass


# Run as a subprocess by test_scale_out (it imports JAX at module level); not a test module, and
# --doctest-modules would otherwise import it in sessions that have no JAX.
collect_ignore = ["_sharding_worker.py"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--backends", default=None, help="comma-separated backends (default: all)")
    parser.addoption(
        "--exhaustive", "--slow", action="store_true", dest="exhaustive",
        default=os.environ.get("ARRAYLOSS_EXHAUSTIVE", "") not in ("", "0"),
        help="every sample under every compiler, every loss traced, full hypothesis budgets "
        "and the sweeps marked slow (default: ARRAYLOSS_EXHAUSTIVE)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "backends(names): run only on these backends")
    config.addinivalue_line("markers", "not_selected: no selected backend applies (deselected)")
    config.addinivalue_line(
        "markers",
        "needs(name): a backend-independent test that imports this backend's library; it runs "
        "in the sessions that select it (not the numpy one, which lacks the library)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # A run restricted to backends other than numpy (one nox session per backend) leaves the
    # backend-independent tests (API guards, doctests, class wrappers) to the numpy session,
    # so the matrix runs them once.
    selected = {b.name for b in selected_backends(config.getoption("--backends"))}
    keep, dropped = [], []
    for item in items:
        uses_backend = "backend" in getattr(item, "fixturenames", ())
        # Every needs(...) mark counts, not only the closest: a test comparing JAX with torch
        # runs in a session that selects one of them and has the other's library installed
        # (the jax session, where torch is a reference peer), not in the torch session, which
        # has no JAX.
        needs = {m.args[0] for m in item.iter_markers("needs")}
        if needs and not item.get_closest_marker("not_selected"):
            runs = needs & selected and all(_installed(n) for n in needs)
            (keep if runs else dropped).append(item)
        elif item.get_closest_marker("not_selected") or (
            not uses_backend and "numpy" not in selected
        ):
            dropped.append(item)
        else:
            keep.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
    for item in items:
        _apply_directives(item)
    if config.getoption("exhaustive"):
        return
    skip = pytest.mark.skip(reason="exhaustive sweep: run with --exhaustive")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def _apply_directives(item: pytest.Item) -> None:
    """The DecorateInfo of the loss this item runs, as a skip or strict xfail mark."""
    params = getattr(getattr(item, "callspec", None), "params", {})
    info = params.get("info")
    if not hasattr(info, "directive"):  # not a registry-driven test
        return
    backend = params.get("backend")
    name = getattr(item, "originalname", item.name)
    d = info.directive(name, getattr(backend, "name", None), params.get("dtype"))
    if d is not None:
        mark = pytest.mark.skip if d.kind == "skip" else pytest.mark.xfail(strict=True)
        item.add_marker(mark(reason=f"{info.name}: {d.reason}"))


def _installed(name: str) -> bool:
    return BACKENDS[name].skip_reason() is None


def _backend_param(b, *values, id_suffix=""):
    reason = b.skip_reason()
    marks = [pytest.mark.skip(reason=f"{b.name}: {reason}")] if reason else []
    return pytest.param(b, *values, marks=marks, id=f"{b.name}{id_suffix}")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    names = metafunc.fixturenames
    if "backend" not in names:
        return
    backends = selected_backends(metafunc.config.getoption("--backends"))
    marker = metafunc.definition.get_closest_marker("backends")
    if marker is not None:
        allowed = set(marker.args[0].split(","))
        backends = [b for b in backends if b.name in allowed]
    want_dtype, want_path = "dtype" in names, "path" in names
    params = []
    for b in backends:
        dtypes = b.dtypes if want_dtype else (None,)
        paths = (("native", "generic") if b.has_natives else ("native",)) if want_path else (None,)
        for d in dtypes:
            for p in paths:
                values = [v for v in (d, p) if v is not None]
                suffix = "".join(f"-{v}" for v in values)
                params.append(_backend_param(b, *values, id_suffix=suffix))
    argnames = ["backend"] + (["dtype"] if want_dtype else []) + (["path"] if want_path else [])
    if not params:  # none of this test's backends is selected: deselected at collection
        params = [pytest.param(*([None] * len(argnames)), marks=pytest.mark.not_selected,
                               id="not-selected")]
    metafunc.parametrize(argnames, params)


@pytest.fixture
def xp(backend):
    return backend.xp


__all__ = ["BACKENDS"]
