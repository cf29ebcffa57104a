"""The package's structure, checked by walking its source (docs/design.md, "Layers"):

* frameworks are imported only behind the backend boundary (``arrayloss/_backends``), by the
  optional integrations and by the check engine behind ``python -m arrayloss``;
* ``_lib`` names no framework and imports nothing above it;
* the import graph of the package's modules, lazy (in-function) imports included, has no
  cycle;
* ``import arrayloss`` imports no framework at all.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "arrayloss"
FRAMEWORKS = {"torch", "jax", "jaxlib", "cupy", "dask", "numpy", "array_api_strict", "keras",
              "optax", "scipy", "monai"}
# Where a framework import is allowed: the backend modules, the optional integrations and
# the check engine behind ``python -m arrayloss`` (which imports them lazily).
ALLOWED = ("arrayloss._backends.", "arrayloss.integrations.", "arrayloss._check",
           "arrayloss.__main__")


def _module_name(path: Path) -> str:
    parts = ("arrayloss", *path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _imports(name: str, path: Path) -> list[tuple[str, int]]:
    """Every module an import statement in ``path`` names (top-level or in a function),
    relative imports resolved, ``from pkg import sub`` counted as ``pkg.sub`` where ``sub``
    is a module; and every string constant that names one of the package's modules (the
    dispatcher imports the backend modules by name)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[str, int]] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            subs = [f"{mod}.{a.name}" for a in node.names if f"{mod}.{a.name}" in MODULES]
            found += [(s, node.lineno) for s in subs]
            if len(subs) < len(node.names):
                found.append((mod, node.lineno))
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str)
              and node.value in MODULES and node.value != name):
            found.append((node.value, node.lineno))
    return found


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def test_the_walk_sees_the_package():
    assert "arrayloss._lib._dispatch" in MODULES and "arrayloss._backends.torch" in MODULES
    torch_imports = {m for m, _ in GRAPH["arrayloss._backends.torch"]}
    assert "torch" in torch_imports and "arrayloss._backends._torch_autograd" in torch_imports
    # the dispatcher reaches the backend modules through their names
    assert "arrayloss._backends.jax" in {m for m, _ in GRAPH["arrayloss._backends"]}


def test_frameworks_are_imported_only_behind_the_backend_boundary():
    offenders = [
        f"{name}:{line} imports {mod}"
        for name, edges in GRAPH.items()
        if not name.startswith(ALLOWED)
        for mod, line in edges
        if mod.split(".")[0] in FRAMEWORKS
    ]
    assert not offenders, "\n".join(offenders)


def test_backend_modules_do_not_import_the_layers_above():
    offenders = [
        f"{name}:{line} imports {mod}"
        for name, edges in GRAPH.items()
        if name.startswith("arrayloss._backends")
        for mod, line in edges
        if mod.startswith("arrayloss.") and not mod.startswith("arrayloss._backends")
    ]
    assert not offenders, "\n".join(offenders)


def test_lib_imports_nothing_above_it():
    below = ("arrayloss._lib", "arrayloss._backends")
    offenders = [
        f"{name}:{line} imports {mod}"
        for name, edges in GRAPH.items()
        if name.startswith("arrayloss._lib")
        for mod, line in edges
        if mod.startswith("arrayloss") and not mod.startswith(below)
    ]
    assert not offenders, "\n".join(offenders)


CREATORS = {"asarray", "zeros", "ones", "full", "arange", "eye", "linspace", "empty",
            "from_dlpack", "tril_indices", "triu_indices", "meshgrid"}


def test_arrays_are_created_only_through_lib_create():
    """A loss makes an array from nothing only through ``_lib/_create.py`` (on the device of
    an array it was given): ``xp.arange(n)`` would land on the default device, which CUDA
    and a second array-api-strict device refuse to combine with the inputs."""
    offenders = []
    for name, path in MODULES.items():
        if name == "arrayloss._lib._create" or name.startswith(ALLOWED):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in CREATORS and ast.unparse(node.func.value) in
                    ("xp", "self.xp", "np", "jnp", "torch")):
                offenders.append(f"{name}:{node.lineno}: {ast.unparse(node.func)}(...)")
    assert not offenders, "\n".join(offenders)


def find_cycles(edges: dict[str, list[str]]) -> list[list[str]]:
    """The cycles a depth-first walk of ``edges`` meets (empty: the graph is acyclic)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in edges.get(node, ()):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt):], nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for node in edges:
        if node not in state:
            visit(node, [node])
    return cycles


def test_the_import_graph_has_no_cycle():
    edges = {n: sorted({m for m, _ in e if m in MODULES and m != n}) for n, e in GRAPH.items()}
    cycles = find_cycles(edges)
    assert not cycles, "\n".join(" -> ".join(c) for c in cycles)


def test_the_cycle_finder_finds_cycles():
    assert find_cycles({"a": ["b"], "b": ["c"], "c": ["a"]}) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": ["b", "c"], "b": ["c"], "c": []}) == []


@pytest.mark.parametrize("stmt", ["import arrayloss", "import arrayloss.nn",
                                  "import arrayloss.testing"])
def test_importing_arrayloss_imports_no_framework(stmt):
    code = (
        f"import sys; {stmt}; "
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({sorted(FRAMEWORKS)!r})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT.parent)
    assert out.stdout.strip() == "[]", out.stdout
