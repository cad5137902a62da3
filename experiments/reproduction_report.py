"""Write docs/REPRODUCTION.md from the eval.json files of the grid runs (never typed by hand).

    python -m experiments.reproduction_report [--checkpoints checkpoints] [--out docs/REPRODUCTION.md]

Each published claim becomes a row: the claim, the paper's figure, ours, and a verdict: holds, does
not hold (with a short explanation of why we think so), or not yet measured (the runs it needs are
named). The claims are data (experiments/reproduction/claims.py), the published figures too
(explorer/published.toml), and the runs come from the grid (experiments/grid.toml), so a run that is
not trained or not evaluated yet is listed, never silently left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from experiments.reproduction import build
from textvae_core.cli import parse_dataclass, run_main
from textvae_core.paths import CHECKPOINTS, DOCS


@dataclass
class Options:
    checkpoints: str = str(CHECKPOINTS)  # folder of the runs, one sub-folder each
    out: str = str(DOCS / "REPRODUCTION.md")  # the report written


def main(argv: list[str] | None = None) -> int:
    args = parse_dataclass(Options, argv, "python -m experiments.reproduction_report", __doc__)
    text = build(Path(args.checkpoints))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    run_main(main)
