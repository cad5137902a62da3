"""The capacity at every C: what holds the KL at C under the rate recipe, one change at a time, on validation.

    python -m experiments.capacity --list             # the rows and their state
    python -m experiments.capacity ROW [ROW …]        # train + measure into runs/capacity/ROW (resumable)
    python -m experiments.capacity --report           # docs/capacity.json → its section of docs/ABLATION.md

Every row is the default RunConfig (the rate recipe at the small size) on PTB for EPOCHS epochs, one thread,
with one change, at one capacity; it is measured on the *validation* split (the evaluation's "probe"
profile): KL, D, −ELBO, ‖E z‖², active units, I(x; z), reconstruction BLEU-4 (greedy from μ). Choices of
the recipe are made on these figures; the shipped runs' test figures are reported elsewhere, never chosen on.
From the training log: the mean batch KL of the last epoch and the multiplier ν of the constraint at the end.

The figures are kept in experiments/capacity.json (committed), so a clone regenerates the section without the runs.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textvae_core.cli import parse_dataclass, positional, run_main
from textvae_core.rundir import EVAL, read_eval, read_metrics

OUT = Path("runs/capacity")
STORE = Path(__file__).with_name("capacity.json")
EPOCHS = 4.0


@dataclass(frozen=True)
class Variant:
    name: str
    what: str
    args: tuple[str, ...] = ()


VARIANTS = (
    Variant(
        "before",
        "the recipe before this change: γ = 1 at the start, C held by β·|KL − C| alone (β = 1)",
        ("--objective.C_control=fixed", "--model.mu_scale=1.0"),
    ),
    Variant("gamma", "γ started from C only (no multiplier)", ("--objective.C_control=fixed",)),
    Variant("dual", "the multiplier only (γ = 1 at the start)", ("--model.mu_scale=1.0",)),
    Variant("default", "γ started from C + the multiplier: the defaults"),
    Variant("nobow", "the defaults without the bag-of-words head", ("--model.bow_head=false",)),
    Variant("lr3e-3", "the defaults with Adam's lr 3e-3", ("--train.lr=3e-3",)),
)
CAPACITIES = {
    "before": (3.0, 15.0, 100.0),
    "gamma": (3.0,),
    "dual": (1.0, 3.0, 15.0),
    "default": (1.0, 3.0, 15.0, 100.0),
    "nobow": (3.0, 15.0, 100.0),
    "lr3e-3": (3.0, 15.0, 100.0),
}


@dataclass(frozen=True)
class Row:
    variant: Variant
    C: float

    @property
    def name(self) -> str:
        return f"{self.variant.name}-c{self.C:g}"

    def argv(self) -> list[str]:
        return [f"--objective.C={self.C:g}", f"--epochs={EPOCHS:g}", "--num_threads=1", "--progress=false",
                *self.variant.args, f"--out={OUT / self.name}"]  # fmt: skip


ROWS = [Row(v, c) for v in VARIANTS for c in CAPACITIES[v.name]]
BY_NAME = {r.name: r for r in ROWS}


def state(row: Row) -> str:
    run = OUT / row.name
    if (run / EVAL).exists():
        return "measured"
    return "trained" if any(r.get("event") == "finished" for r in _metrics(run)) else "to train"


def _metrics(run: Path) -> list[dict[str, Any]]:
    return read_metrics(run) if (run / "metrics.jsonl").exists() else []


def run_row(row: Row) -> None:
    """Train (or resume) the row, then measure it on validation."""
    run = OUT / row.name
    train = [sys.executable, "-m", "textvae_core.train"]
    if state(row) == "to train":
        argv = [f"--resume={run}", "--progress=false"] if (run / "config.json").exists() else row.argv()
        subprocess.run([*train, *argv], check=True)
    if state(row) == "trained":
        evaluate = [sys.executable, "-m", "textvae_core.evaluate", str(run), "--profile", "probe"]
        subprocess.run([*evaluate, "--split", "valid", "--train-sentences", "0", "--threads", "1"], check=True)


def measure(row: Row) -> dict[str, Any]:
    """The row's validation figures and its training log's last epoch."""
    run = OUT / row.name
    ev = read_eval(run) or {}
    train = [r for r in _metrics(run) if r.get("split") == "train"]
    start = next((r for r in _metrics(run) if r.get("event") == "start"), {})
    per_epoch = math.ceil(start.get("total_steps", 0) / EPOCHS) if start else 0
    last = [r for r in train if r["step"] > start.get("total_steps", 0) - per_epoch]
    b, lat = ev.get("bounds", {}), ev.get("latent", {})
    return {
        "C": row.C,
        "split": ev.get("split"),
        "kl": b.get("kl"),
        "rec": b.get("rec"),
        "nll_bound": b.get("nll_bound"),
        "mean_sq_norm": lat.get("mean_sq_norm"),
        "active_units": lat.get("active_units"),
        "mutual_information": lat.get("mutual_information"),
        "bleu4": ev.get("reconstruction", {}).get("scores", {}).get("all", {}).get("bleu4"),
        "train_kl_last_epoch": sum(r["kl"] for r in last) / len(last) if last else None,
        "multiplier_end": train[-1].get("multiplier") if train else None,
    }


def stored() -> dict[str, dict[str, Any]]:
    return json.loads(STORE.read_text()) if STORE.exists() else {}


def _fmt(value: Any, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def section(rows: dict[str, dict[str, Any]] | None = None) -> list[str]:
    """The capacity section of docs/ABLATION.md, from the store."""
    rows = stored() if rows is None else rows
    if not rows:
        return []
    out = [
        "## The capacity at every C (validation)",
        "",
        f"Generated by `python -m experiments.capacity --report` from {STORE}. Every row: the default RunConfig (the rate "
        f"recipe, small size: emb 128 / hidden 256 / z 32, PTB's 10k vocabulary), {EPOCHS:g} epochs, C ramped over the "
        "first 2, one change per row; figures on the PTB **validation** split (3,370 sentences), the split the "
        "recipe's choices are made on. |KL − C|: the contract is ≤ 1. Train KL: the mean batch KL of the last epoch. "
        "ν: the constraint's multiplier at the end (nats of loss per nat of KL above C).",
        "",
        "| row | what | C | KL | \\|KL − C\\| | D | −ELBO | ‖E z‖² | AU | MI | BLEU-4 | train KL | ν |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in ROWS:
        r = rows.get(row.name)
        if not r or r.get("kl") is None:
            continue
        miss = abs(r["kl"] - row.C)
        out.append(
            f"| {row.name} | {row.variant.what} | {row.C:g} | {_fmt(r['kl'])} | {_fmt(miss)} | {_fmt(r['rec'])} | "
            f"{_fmt(r['nll_bound'])} | {_fmt(r['mean_sq_norm'])} | {_fmt(r['active_units'])} | "
            f"{_fmt(r['mutual_information'])} | {_fmt(r['bleu4'])} | {_fmt(r['train_kl_last_epoch'])} | "
            f"{_fmt(r['multiplier_end'])} |"
        )
    return out


@dataclass
class Options:
    rows: list[str] = positional()  # rows to train and measure (names from --list), or "all"
    list: bool = False  # show every row and its state
    report: bool = False  # store the measured rows' figures and print the doc section


def main(argv: list[str] | None = None) -> int:
    args = parse_dataclass(Options, argv, "python -m experiments.capacity", __doc__)
    if args.list:
        for row in ROWS:
            print(f"{row.name:16} {state(row):9} {row.variant.what}")
        return 0
    names = [r.name for r in ROWS] if args.rows == ["all"] else args.rows
    for name in names:
        run_row(BY_NAME[name])
    if args.report:
        figures = {**stored(), **{r.name: measure(r) for r in ROWS if state(r) == "measured"}}
        STORE.write_text(json.dumps(figures, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        print("\n".join(section(figures)))
    return 0


if __name__ == "__main__":
    run_main(main)
