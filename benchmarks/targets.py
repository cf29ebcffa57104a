"""The benchmark issue's targets, checked over one or more full runs of ``benchmarks/run.py``.

On a shared 2-core VM ratios move from run to run (a compiled program timed against itself
can read well above 1), so a single miss says little. This reads the ``results.json`` of each
run, applies each target to every row it covers and writes a table per target: the rows that
miss in every run (a real gap: profile it), and the rows that miss in only some (look again
before acting).

The targets (issue 11, on this machine):

* T1: torch eager, large: arrayloss <= 1.2x ``torch.nn.functional`` for the eight losses of
  ``run.TARGETS``, forward and forward+backward;
* T2: per-call overhead at the tiny size <= 20 us above the native call (torch eager, NumPy);
* T3: under ``jax.jit``, <= 1.1x optax;
* T4: faster than Keras 3's own losses (ratio < 1) on its torch and jax backends.

    python benchmarks/targets.py RUN.json [RUN.json ...] [--out benchmarks/results/targets.md]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import TARGETS, row_name  # the eight losses the issue names; a row's loss label

ROOT = Path(__file__).resolve().parent


class Target(NamedTuple):
    name: str
    covers: Callable[[dict[str, Any]], bool]
    field: str  # the record's value the bound applies to
    bound: float
    strict: bool  # ratio < bound (Keras: faster), not <=


TARGET_LIST = (
    Target(
        "T1: torch eager, large, the named eight: ratio <= 1.2",
        lambda r: r["peer"] == "torch.F" and r["size"] == "large" and r["loss"] in TARGETS,
        "ratio",
        1.2,
        False,
    ),
    Target(
        "T2: tiny per-call overhead (torch eager, NumPy): delta <= 20 us",
        lambda r: r["size"] == "tiny" and r["peer"] in ("torch.F", "numpy"),
        "delta_us",
        20.0,
        False,
    ),
    Target(
        "T3: jax.jit against optax under jax.jit: ratio <= 1.1",
        lambda r: r["peer"] == "optax+jit",
        "ratio",
        1.1,
        False,
    ),
    Target(
        "T4: Keras 3 (torch and jax backends): ratio < 1",
        lambda r: r["peer"].startswith("keras"),
        "ratio",
        1.0,
        True,
    ),
)


def _key(r: dict[str, Any]) -> tuple[str, ...]:
    return (row_name(r), r["backend"], r["size"], r["mode"], r["peer"])


def _met(t: Target, value: float) -> bool:
    return value < t.bound if t.strict else value <= t.bound


def check(runs: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Per target: the rows it covers, and each row that misses in some run with its value
    in every run (None where that run did not time it)."""
    tables = [{_key(r): r for r in recs if r.get("status") == "ok"} for recs in runs]
    keys = sorted(set().union(*tables))
    report = []
    for t in TARGET_LIST:
        covered = [k for k in keys if any(k in tb and t.covers(tb[k]) for tb in tables)]
        misses = []
        for k in covered:
            values = [tb[k][t.field] if k in tb else None for tb in tables]
            missed = sum(v is not None and not _met(t, v) for v in values)
            if missed:
                misses.append({"row": k, "values": values, "missed": missed})
        misses.sort(key=lambda m: (-m["missed"], m["row"]))
        report.append({"target": t, "rows": len(covered), "misses": misses})
    return report


def markdown(report: list[dict[str, Any]], labels: list[str]) -> str:
    n = len(labels)
    lines = [
        "# The benchmark targets over several runs",
        "",
        f"Runs: {', '.join(labels)}. Written by `benchmarks/targets.py` from each run's "
        "`results.json`. A row that misses in every run is a gap to profile; one that misses "
        "in some runs only sits inside this machine's run-to-run noise.",
        "",
    ]
    for part in report:
        t, misses = part["target"], part["misses"]
        always = sum(m["missed"] == n for m in misses)
        lines += [
            f"## {t.name}",
            "",
            f"{part['rows']} rows; missed in every run: {always}; in some runs only: "
            f"{len(misses) - always}.",
            "",
        ]
        if misses:
            head = " | ".join(labels)
            lines += [
                f"| loss | backend | size | mode | peer | missed | {head} |",
                "| --- | --- | --- | --- | --- | --- | " + " | ".join("---" for _ in labels) + " |",
            ]
            for m in misses:
                cells = ["-" if v is None else f"{v:.2f}" for v in m["values"]]
                lines.append(
                    "| " + " | ".join(m["row"]) + f" | {m['missed']}/{n} | "
                    + " | ".join(cells) + " |"
                )
            lines.append("")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("runs", nargs="+", help="results.json of full runs of benchmarks/run.py")
    p.add_argument("--out", default=str(ROOT / "results" / "targets.md"))
    opts = p.parse_args(argv)
    runs, labels = [], []
    for path in opts.runs:
        data = json.loads(Path(path).read_text())
        if data.get("quick"):
            print(f"{path}: a --quick run; its timings are not meaningful", file=sys.stderr)
            return 2
        runs.append(data["records"])
        labels.append(Path(path).stem)
    text = markdown(check(runs), labels)
    Path(opts.out).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
