"""Regenerate the loss table of README.md from the loss registry.

    python scripts/loss_table.py          # rewrite README.md in place
    python scripts/loss_table.py --check  # exit 1 if README.md is out of date (tests use it)
"""

from __future__ import annotations

import sys
from pathlib import Path

START, END = "<!-- loss-table:start -->", "<!-- loss-table:end -->"
README = Path(__file__).resolve().parents[1] / "README.md"
FAMILY_ORDER = ["regression", "classification", "embedding", "segmentation", "sequence",
                "generative"]


def table() -> str:
    import arrayloss  # noqa: F401  (fills the registry)
    from arrayloss._lib._registry import REGISTRY

    def peer(spec, key):
        v = spec.peers.get(key)
        return f"`{v}`" if v else ""

    rows = ["| loss | class (`arrayloss.nn`) | family | PyTorch | optax | Keras 3 | other |",
            "| --- | --- | --- | --- | --- | --- | --- |"]
    order = {f: i for i, f in enumerate(FAMILY_ORDER)}
    for spec in sorted(REGISTRY.values(), key=lambda s: (order.get(s.family, 99), s.name)):
        torch_peer = peer(spec, "torch") or peer(spec, "torchvision")
        other = peer(spec, "monai")
        rows.append(f"| `{spec.name}` | `{spec.class_name}` | {spec.family} | {torch_peer} | "
                    f"{peer(spec, 'optax')} | {peer(spec, 'keras')} | {other} |")
    return "\n".join(rows)


def render(text: str) -> str:
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{table()}\n{END}{tail}"


def main() -> int:
    text = README.read_text()
    new = render(text)
    if "--check" in sys.argv:
        if new != text:
            print("README.md loss table is out of date: run python scripts/loss_table.py")
            return 1
        return 0
    README.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
