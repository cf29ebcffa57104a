"""Generate the registry-driven pages of the documentation site (``nox -s docs`` runs it
before ``mkdocs build --strict``).

Writes, under ``docs/`` (all git-ignored, regenerated on every build, so never stale):

* ``api/<family>.md``: one page per loss family: a summary table, then for each loss its
  peers and its API reference (summary, formula, parameters, notes, examples) rendered by
  mkdocstrings from the docstring;
* ``migration.md``: tables mapping every torch.nn.functional, torchvision, optax, Keras 3 and
  MONAI name to arrayloss;
* ``gallery.md`` and ``gallery/*.png``: each loss's value and gradient against the margin,
  logit, probability or error it is a function of, computed by arrayloss (gradients by JAX
  autodiff) — plotted by this script, not drawn by hand;
* ``benchmarks.md``: the tables under ``benchmarks/results/``.
"""

from __future__ import annotations

import inspect
import os
import re
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rst_to_markdown import convert

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
FAMILY_ORDER = ["regression", "classification", "embedding", "segmentation", "sequence",
                "generative"]
FAMILY_TITLES = {
    "regression": "Regression",
    "classification": "Classification and probabilistic",
    "embedding": "Embedding, ranking and contrastive",
    "segmentation": "Segmentation",
    "sequence": "Sequence",
    "generative": "Generative",
}
PEERS = [  # registry key, page title, column title
    ("torch", "PyTorch (`torch.nn.functional`)", "PyTorch"),
    ("torchvision", "torchvision (`torchvision.ops`)", "torchvision"),
    ("optax", "optax", "optax"),
    ("keras", "Keras 3 (`keras.losses`)", "Keras 3"),
    ("monai", "MONAI (`monai.losses`)", "MONAI"),
]


# Public functions and classes that are not registered losses (they return more than a loss,
# or hold weights), documented on their family's page: family -> (name, object path, summary).
EXTRAS: dict[str, list[tuple[str, str]]] = {
    "sequence": [
        ("adaptive_log_softmax_loss", "arrayloss.adaptive_log_softmax_loss"),
        ("AdaptiveLogSoftmaxWithLoss", "arrayloss.nn.AdaptiveLogSoftmaxWithLoss"),
    ],
}


def registry() -> dict[str, Any]:
    import arrayloss  # noqa: F401  (fills the registry)
    from arrayloss._lib._registry import REGISTRY

    return REGISTRY


def families(reg: dict[str, Any]) -> list[str]:
    order = {f: i for i, f in enumerate(FAMILY_ORDER)}
    return sorted({s.family for s in reg.values()}, key=lambda f: (order.get(f, 99), f))


def summary(func: Callable[..., Any]) -> str:
    doc = inspect.getdoc(func) or ""
    return convert(doc.strip().split("\n\n", 1)[0].replace("\n", " ")).replace("|", "\\|")


def write_family_pages(reg: dict[str, Any]) -> list[str]:
    out_dir = DOCS / "api"
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    pages = []
    for fam in families(reg):
        specs = sorted((s for s in reg.values() if s.family == fam), key=lambda s: s.name)
        lines = [f"# {FAMILY_TITLES.get(fam, fam.title())} losses", "",
                 "| loss | class | summary |", "| --- | --- | --- |"]
        lines += [f"| [`{s.name}`](#{s.name}) | `nn.{s.class_name}` | "
                  f"{summary(s.func)} |" for s in specs]
        for s in specs:
            # The summary and formula come with the rendered docstring below.
            lines += ["", f"## {s.name}", ""]
            peers = ", ".join(f"{title}: `{s.peers[key]}`" for key, _, title in PEERS
                              if key in s.peers)
            if peers:
                lines += [f"Peers: {peers}.", ""]
            lines += [f"::: arrayloss.{s.name}", "    options:",
                      "      show_root_heading: false", "      show_root_toc_entry: false", ""]
        for name, path in EXTRAS.get(fam, []):
            lines += ["", f"## {name}", "", f"::: {path}", "    options:",
                      "      show_root_heading: false", "      show_root_toc_entry: false", ""]
        (out_dir / f"{fam}.md").write_text("\n".join(lines))
        pages.append(f"api/{fam}.md")
    return pages


def write_migration(reg: dict[str, Any]) -> None:
    lines = ["# Migration guides", "",
             "Every loss of a peer library that arrayloss covers, by the peer's name. "
             "Arguments keep the peer's names where the peer is PyTorch; for the others, see "
             "each loss's page for the option mapping. Generated from the loss registry.", ""]
    for key, title, _ in PEERS:
        rows = sorted((s.peers[key], s) for s in reg.values() if key in s.peers)
        if not rows:
            continue
        lines += [f"## From {title}", "", "| peer | arrayloss | class |", "| --- | --- | --- |"]
        lines += [f"| `{peer}` | [`arrayloss.{s.name}`](api/{s.family}.md#"
                  f"{s.name}) | `arrayloss.nn.{s.class_name}` |"
                  for peer, s in rows]
        lines.append("")
    (DOCS / "migration.md").write_text("\n".join(lines))


# -- gallery -------------------------------------------------------------------------------

def _gallery_specs() -> dict[str, tuple[str, Callable[[Any, Any], Any]]]:
    """loss -> (x-axis label, f(t, jnp) -> scalar loss of a scalar sweep variable t)."""
    import arrayloss as al

    zero = lambda jnp: jnp.zeros(())
    one = lambda jnp: jnp.ones(())
    return {
        "l1_loss": ("error", lambda t, jnp: al.l1_loss(t, zero(jnp))),
        "mse_loss": ("error", lambda t, jnp: al.mse_loss(t, zero(jnp))),
        "huber_loss": ("error", lambda t, jnp: al.huber_loss(t, zero(jnp))),
        "smooth_l1_loss": ("error", lambda t, jnp: al.smooth_l1_loss(t, zero(jnp))),
        "log_cosh_loss": ("error", lambda t, jnp: al.log_cosh_loss(t, zero(jnp))),
        "quantile_loss": ("error", lambda t, jnp: al.quantile_loss(t, zero(jnp),
                                                                   quantile=0.8)),
        "binary_cross_entropy_with_logits": (
            "logit (target 1)",
            lambda t, jnp: al.binary_cross_entropy_with_logits(t, one(jnp))),
        "binary_cross_entropy": (
            "probability (target 1)",
            lambda t, jnp: al.binary_cross_entropy(jnp.clip(t, 1e-4, 1 - 1e-4), one(jnp))),
        "cross_entropy": ("logit margin (2 classes, true class 0)",
                          lambda t, jnp: al.cross_entropy(jnp.stack([t, 0.0 * t]),
                                                          jnp.asarray(0))),
        "sigmoid_focal_loss": ("logit (target 1)",
                               lambda t, jnp: al.sigmoid_focal_loss(t, one(jnp))),
        "soft_margin_loss": ("margin y·x", lambda t, jnp: al.soft_margin_loss(t, one(jnp))),
        "hinge_loss": ("margin y·x", lambda t, jnp: al.hinge_loss(t, one(jnp))),
        "squared_hinge_loss": ("margin y·x", lambda t, jnp: al.squared_hinge_loss(t, one(jnp))),
        "hinge_embedding_loss": ("distance (dissimilar pair)",
                                 lambda t, jnp: al.hinge_embedding_loss(t, -one(jnp))),
        "margin_ranking_loss": ("x1 - x2 (target 1)",
                                lambda t, jnp: al.margin_ranking_loss(t, zero(jnp), one(jnp))),
    }


def write_gallery(reg: dict[str, Any]) -> None:
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import matplotlib

    matplotlib.use("Agg")
    import jax
    import jax.numpy as jnp
    import matplotlib.pyplot as plt
    import numpy as np

    out_dir = DOCS / "gallery"
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    lines = ["# Gallery", "",
             "Each loss against the one quantity it depends on (an error, a logit, a margin, "
             "a probability), with its derivative, both computed by arrayloss under JAX "
             "(`jax.vmap(jax.grad(...))`). Generated by `scripts/gen_docs.py`.", ""]
    for name, (xlabel, f) in _gallery_specs().items():
        if name not in reg:
            continue
        lo, hi = (0.0, 1.0) if "probability" in xlabel else (-4.0, 4.0)
        t = jnp.linspace(lo, hi, 401)
        try:
            value = jax.vmap(lambda s, f=f: f(s, jnp))(t)
            grad = jax.vmap(jax.grad(lambda s, f=f: f(s, jnp)))(t)
        except Exception as exc:  # a signature changed: report, do not hide a broken page
            raise RuntimeError(f"gallery: {name} failed: {exc}") from exc
        fig, ax = plt.subplots(figsize=(5, 3.2), dpi=100)
        ax.plot(np.asarray(t), np.asarray(value), label="loss")
        ax.plot(np.asarray(t), np.asarray(grad), "--", label="derivative")
        ax.axhline(0, color="0.8", lw=0.8)
        ax.set_xlabel(xlabel)
        ax.set_title(name)
        ax.legend()
        fig.tight_layout()
        fig.savefig(out_dir / f"{name}.png")
        plt.close(fig)
        lines += [f"## {name}", "", f"![{name}](gallery/{name}.png)", ""]
    (DOCS / "gallery.md").write_text("\n".join(lines))


def write_benchmarks() -> None:
    lines = ["# Benchmarks", "",
             "Ratios of arrayloss's time to the native peer's, measured in the same run "
             "(`nox -s bench`; `python benchmarks/run.py`). Machine and method are stated in "
             "each table.", ""]
    results = sorted((ROOT / "benchmarks" / "results").glob("*.md"))
    for path in results:
        text = path.read_text()
        text = re.sub(r"^# ", "## ", text, flags=re.MULTILINE)
        text = re.sub(r"!\[([^\]]*)\]\(([^)/]+\.png)\)", "", text)  # images stay in repo
        lines += [text, ""]
    if not results:
        lines.append("No results yet: run `nox -s bench`.")
    (DOCS / "benchmarks.md").write_text("\n".join(lines))


def main() -> int:
    reg = registry()
    pages = write_family_pages(reg)
    write_migration(reg)
    write_gallery(reg)
    write_benchmarks()
    (DOCS / "api" / ".pages.txt").write_text("\n".join(pages))
    print(f"generated {len(pages)} family pages, migration, gallery, benchmarks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
