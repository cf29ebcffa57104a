"""mkdocs hook: the "Losses" section lists the family pages scripts/gen_docs.py wrote."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def on_config(config: Any) -> Any:
    listing = Path(config["docs_dir"]) / "api" / ".pages.txt"
    pages = listing.read_text().split() if listing.exists() else []
    titles = {"regression": "Regression", "classification": "Classification",
              "embedding": "Embedding", "segmentation": "Segmentation",
              "sequence": "Sequence", "generative": "Generative"}
    for item in config["nav"]:
        if isinstance(item, dict) and "Losses" in item:
            item["Losses"] = [{titles.get(Path(p).stem, Path(p).stem.title()): p}
                              for p in pages]
    return config
