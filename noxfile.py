"""The backend test matrix: ``nox`` runs lint and one test session per backend that installs
on a CPU machine (numpy, strict, torch, jax, dask); ``nox -s tests-cupy`` needs a GPU.

Every session installs the reference peers the tests compare each backend's result with
(torch, scipy, MONAI, Keras on its torch backend) and scikit-learn (the examples' data).
Torch is pinned to ``torch==2.13.0`` (a local CPU wheel on our machines; an unpinned torch
pulls a multi-GB CUDA build): override with ``ARRAYLOSS_TORCH_SPEC``, e.g.
``ARRAYLOSS_TORCH_SPEC='torch>=2.6' nox``.

``ARRAYLOSS_NOX_ENVDIR`` moves the virtualenvs out of the clone (CI keeps them between runs;
they hold only third-party packages, arrayloss is re-installed editable every time, so reuse
is safe). Extra pytest arguments go after ``--``: ``nox -s tests-torch -- -k cross_entropy``.

The default run keeps every loss x backend x code path, but compiles (``jax.jit``,
``torch.compile``) only each loss's representative samples, traces a rotating subset of the
losses and runs small hypothesis budgets; ``nox -- --exhaustive`` (or
``ARRAYLOSS_EXHAUSTIVE=1 nox``; one backend: ``nox -s tests-jax -- --exhaustive``) runs every
sample under every compiler, every loss traced and the full budgets. JAX's compiled programs
are cached in ``~/.cache/arrayloss/jax-cache`` (``ARRAYLOSS_JAX_CACHE`` moves it; ``0`` turns
it off), outside the clone, so a machine's second run compiles little.
"""

from __future__ import annotations

import os

import nox

TORCH = os.environ.get("ARRAYLOSS_TORCH_SPEC", "torch==2.13.0")
REFERENCES = [TORCH, "scipy", "monai", "keras", "scikit-learn"]
BACKEND_DEPS = {
    "numpy": [],
    "strict": ["array-api-strict"],
    "torch": [],
    "jax": ["jax", "optax"],
    # dask's own extra pins distributed to its release: a bare "distributed" let pip pair
    # dask 2026.11.0 (no distributed of that release yet) with distributed 2021.4.1, which
    # cannot import (dask.base.collections_to_dsk is gone).
    "dask": ["dask[array,distributed]"],
    "cupy": ["cupy-cuda12x"],
}
# strict also runs every test on array-api-strict's second device (a CUDA stand-in).
PYTEST_BACKEND = {"strict": "array_api_strict,strict_device1", "cupy": "cupy,torch_cuda"}

nox.options.envdir = os.environ.get("ARRAYLOSS_NOX_ENVDIR", ".nox")
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = False
nox.options.sessions = ["lint"] + [f"tests-{b}" for b in BACKEND_DEPS if b != "cupy"]


def _install(session: nox.Session, *extra: str) -> None:
    # The package's runtime deps and test extras, then arrayloss itself, editable, so a
    # reused virtualenv always tests this checkout.
    session.install(*REFERENCES, *extra)
    session.install("-e", ".[test]")


def _tests(session: nox.Session, backend: str) -> None:
    """The registry-driven suite on one backend (backend-independent tests run with numpy)."""
    _install(session, *BACKEND_DEPS[backend])
    session.run(
        "python", "-m", "pytest",
        f"--backends={PYTEST_BACKEND.get(backend, backend)}",
        "-n", os.environ.get("ARRAYLOSS_TEST_WORKERS", "2"),
        *session.posargs,
        env={"KERAS_BACKEND": "torch", "JAX_PLATFORMS": "cpu"},
    )


def _register_tests(backend: str) -> None:
    def session_fn(session: nox.Session) -> None:
        _tests(session, backend)

    session_fn.__doc__ = f"Tests on {backend} (plus the reference peers)."
    nox.session(name=f"tests-{backend}", tags=["tests"])(session_fn)


for _backend in BACKEND_DEPS:
    _register_tests(_backend)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff and mypy on the package (and ruff on tests, benchmarks, noxfile)."""
    # mypy reads torch's and JAX's annotations: without them the types differ (subclassing
    # Any, untyped decorators) from what developers see in a full environment.
    session.install("ruff", "mypy", "numpy", "array-api-compat", TORCH, "jax")
    paths = [p for p in ("arrayloss", "tests", "benchmarks", "examples", "scripts", "noxfile.py")
             if os.path.exists(p)]
    session.run("ruff", "check", *paths)
    session.run("mypy", "arrayloss")


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks against every native peer (writes benchmarks/results/)."""
    _install(session, "jax", "optax", "matplotlib")
    session.run("python", "benchmarks/run.py", *session.posargs, env={"JAX_PLATFORMS": "cpu"})


@nox.session
def docs(session: nox.Session) -> None:
    """The documentation site: generated pages, ``mkdocs build --strict`` (warnings fail),
    then headless-Chromium screenshots of key pages (``site/_screenshots/``)."""
    session.install("-e", ".[docs]", "jax", "matplotlib")
    session.run("python", "scripts/gen_docs.py", env={"JAX_PLATFORMS": "cpu"})
    session.run("mkdocs", "build", "--strict", "-d", "site", env={"NO_MKDOCS_2_WARNING": "1"})
    session.run("python", "scripts/docs_screenshots.py", "site")


@nox.session
def main(session: nox.Session) -> None:
    """The main job, ``python -m arrayloss``, on every installed backend."""
    _install(session, "jax", "dask[array]", "array-api-strict")
    session.run("python", "-m", "arrayloss", *session.posargs)
