"""Why does the rate go unused? One factor at a time, at one size and budget, on PTB.

    python scripts/ablation.py --list                      # the rows and their state
    python scripts/ablation.py ROW [ROW …] [--jobs 2]      # train + measure (resumes, skips finished rows)
    python scripts/ablation.py --report                    # write docs/ABLATION.md from what is measured

Every row is the shipped β_C recipe (C = 100 held from step 0, LSTM encoder and decoder, Adam 1e-3,
gradient clipping at 5, length-bucketed batches of 64) with one change, trained by the project's own
trainer into runs/ablation/ROW and measured on the PTB test set with the evaluation's "probe" profile:
D, R, the KL from q(z)'s moment-matched Gaussian to the prior (a lower bound on KL(q(z) ‖ p(z)), so
R − it bounds I(x; z) from above), ‖E z‖², active units, I(x; z) (He et al.'s estimator) and
reconstruction BLEU-4 (greedy from μ). Rows that change the budget or the size say so.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a file: the repository's packages

from textvae_core.cli import parse_dataclass, positional, run_main
from textvae_core.config import RunConfig
from textvae_core.objectives import preset
from textvae_core.paths import ROOT
from textvae_core.rundir import EVAL, WEIGHTS, read_config, read_eval, read_metrics, weights_step

OUT = Path("runs/ablation")
TIME = "train_seconds.json"  # wall seconds spent training a row (summed over resumes)
DOC = Path("docs/ABLATION.md")
PTB_TRAIN = 42068  # sentences in data/ptb/ptb.train.txt: steps per epoch = ⌈42068 / batch⌉
PTB_TARGET_TOKENS = 887521 + PTB_TRAIN  # words + one end of sentence each
SIZE = {"emb_dim": 64, "hidden": 128, "z_dim": 32}  # the sweep's size: ~5× cheaper per step than 128/256
EPOCHS = 8.0
C = 100.0


def epoch_steps(batch: int = 64) -> int:
    return math.ceil(PTB_TRAIN / batch)


@dataclass
class Row:
    name: str
    what: str  # one line: what differs from the base row
    objective: dict[str, Any] = field(default_factory=dict)
    model: dict[str, Any] = field(default_factory=dict)
    train: dict[str, Any] = field(default_factory=dict)
    after: str = ""  # a row this one starts from (its embedding and encoder): AE pre-training

    def config(self, threads: int) -> RunConfig:
        cfg = RunConfig(objective=preset("beta-c", C=C, **self.objective))
        cfg.data.max_vocab = 5000
        for k, v in {**SIZE, **self.model}.items():
            setattr(cfg.model, k, v)
        cfg.train.out = str(OUT / self.name)
        cfg.train.epochs, cfg.train.num_threads, cfg.train.progress = EPOCHS, threads, False
        cfg.train.log_every = 10
        for k, v in self.train.items():
            setattr(cfg.train, k, v)
        if self.after:
            cfg.train.init_from = str(OUT / self.after)
        return cfg


RAMP = {"C_schedule": "linear", "C_warmup_steps": 2 * epoch_steps()}  # the β_C paper's code: 0 → C over 2 epochs
RANDOM = {"bucket_chunk": 1}  # random batches (what a batch-normalised μ needs)

ROWS = [
    Row("base", "the shipped recipe: C = 100 from step 0"),
    Row("ramp", "C ramped 0 → 100 over 2 epochs (the paper's code)", objective=RAMP),
    Row("noclip", "no gradient clipping", train={"grad_clip": 0.0}),
    Row(
        "paper-opt",
        "the paper's optimiser: batch 128, Adam 7.5e-4, no clipping, ramp",
        objective=RAMP,
        train={"batch_size": 128, "lr": 7.5e-4, "grad_clip": 0.0},
    ),
    Row("lr3e-3", "Adam lr 3e-3", train={"lr": 3e-3}),
    Row("z-init", "z initialises the decoder's state instead of entering every step", model={"z_mode": "init"}),
    Row("z-both", "z initialises the state and enters every step", model={"z_mode": "both"}),
    Row("bidi", "bidirectional encoder", model={"bidirectional": True}),
    Row("enc2", "two-layer encoder", model={"enc_layers": 2}),
    Row("wdrop", "word dropout 0.5 on the decoder's inputs", train={"word_dropout": 0.5}),
    Row("random", "random (not length-bucketed) batches", train=RANDOM),
    Row(
        "bn",
        "batch-normalised μ, γ = 1 (Zhu et al. 2020), random batches",
        model={"mu_norm": "batchnorm"},
        train=RANDOM,
    ),
    Row("bow", "bag-of-words loss on z, weight 1 (Zhao et al. 2017)", objective={"bow": 1.0}, model={"bow_head": True}),
    Row("ae", "no KL term (β = 0): a plain autoencoder, the most z can carry at this budget", objective={"beta": 0.0}),
    Row("ae-pre", "encoder pre-trained as an autoencoder (row ae), then β_C (Li et al. 2019)", after="ae"),
    Row(
        "bnl-bow-ramp",
        "batch-normalised μ with a learned γ per dimension (from 1) + bag-of-words loss + C ramp",
        objective={**RAMP, "bow": 1.0},
        model={"mu_norm": "batchnorm", "mu_scale_learn": True, "bow_head": True},
        train=RANDOM,
    ),
    Row(
        "bnl-ramp",
        "batch-normalised μ with a learned γ per dimension (from 1) + C ramp",
        objective=RAMP,
        model={"mu_norm": "batchnorm", "mu_scale_learn": True},
        train=RANDOM,
    ),
    Row("bn-ramp", "batch-normalised μ + C ramp", objective=RAMP, model={"mu_norm": "batchnorm"}, train=RANDOM),
    Row("bow-ramp", "bag-of-words loss + C ramp", objective={**RAMP, "bow": 1.0}, model={"bow_head": True}),
    Row(
        "bn-bow-ramp",
        "batch-normalised μ + bag-of-words loss + C ramp",
        objective={**RAMP, "bow": 1.0},
        model={"mu_norm": "batchnorm", "bow_head": True},
        train=RANDOM,
    ),
]
BY_NAME = {r.name: r for r in ROWS}


def state(row: Row) -> str:
    run = OUT / row.name
    if (run / "probe.json").exists():
        return "measured"
    if (run / WEIGHTS).exists():
        return "trained (partly?)"
    return "—"


def run_row(row: Row, threads: int) -> None:
    """Train (or resume) one row, then measure it into runs/ablation/ROW/probe.json."""
    from textvae_core.evaluate import EvalConfig, evaluate
    from textvae_core.train import train

    if row.after and state(BY_NAME[row.after]) != "measured":
        run_row(BY_NAME[row.after], threads)
    cfg = row.config(threads)
    run = Path(cfg.train.out)
    target = cfg.train.max_steps or math.ceil(cfg.train.epochs * epoch_steps(cfg.train.batch_size))
    step = weights_step(run) if (run / WEIGHTS).exists() else 0
    if step < target:
        t0 = time.perf_counter()
        if step:
            saved = read_config(run)
            saved.train.num_threads = threads
            train(saved, resume=True)
        else:
            train(cfg)
        spent = json.loads((run / TIME).read_text()) if (run / TIME).exists() else 0.0
        (run / TIME).write_text(json.dumps(spent + time.perf_counter() - t0))
    result = read_eval(run) if (run / EVAL).exists() else {}
    if result.get("step") != target or result.get("profile") != "probe":
        result = evaluate(run, EvalConfig.for_profile("probe", threads=threads), progress=False)
    probe = {
        "row": row.name,
        "step": result["step"],
        "train_s": json.loads((run / TIME).read_text()) if (run / TIME).exists() else logged_seconds(run),
        "D": result["bounds"]["rec"],
        "R": result["bounds"]["kl"],
        "kl_mm": result["latent"]["kl_moment_matched"],
        "mean_sq_norm": result["latent"]["mean_sq_norm"],
        "log_det_cov": result["latent"]["log_det_cov"],
        "au": result["latent"]["active_units"],
        "mi": result["latent"]["mutual_information"],
        "bleu4": result["reconstruction"]["scores"]["all"]["bleu4"],
        "examples": result["reconstruction"]["examples"][:3],
    }
    probe["valid_D"] = [round(r["rec"], 2) for r in read_metrics(run, "valid")]
    (run / "probe.json").write_text(json.dumps(probe, indent=2) + "\n")
    print(json.dumps({k: v for k, v in probe.items() if k != "examples"}))


def logged_seconds(run: Path) -> float:
    """Training time from the log alone (rows trained before wall time was recorded): each record's
    steps × the mean target tokens of a step, over its tokens per second."""
    cfg = read_config(run)
    per_step = PTB_TARGET_TOKENS / PTB_TRAIN * cfg.train.batch_size
    train = [r for r in read_metrics(run, "train") if r.get("tok_per_s")]
    steps = [r["step"] - p["step"] for p, r in zip([{"step": 0}, *train], train, strict=False)]
    return round(sum(n * per_step / r["tok_per_s"] for n, r in zip(steps, train, strict=True)), 1)


def measured() -> dict[str, dict]:
    return {r.name: json.loads((OUT / r.name / "probe.json").read_text()) for r in ROWS if state(r) == "measured"}


def early(row: str, step: int = 200) -> dict[str, float] | None:
    """Where the codes sat after ``step`` training steps (rows trained since the trainer logs it)."""
    records = [r for r in read_metrics(OUT / row, "train") if "mu_shift" in r and r["step"] <= step]
    return records[-1] if records else None


def report() -> str:
    rows = measured()
    mi_cap = math.log(3761)
    lines = [
        "# Why the rate goes unused: an ablation",
        "",
        "Generated by `python scripts/ablation.py --report` from runs/ablation/*/probe.json "
        "(`python scripts/ablation.py ROW` trains and measures a row; `--list` shows them).",
        f"Every row: PTB, LSTM encoder and decoder at emb {SIZE['emb_dim']} / hidden {SIZE['hidden']} / "
        f"z {SIZE['z_dim']}, 5k vocabulary, β_C with C = {C:g}, {EPOCHS:g} epochs of batches of 64, bf16 autocast "
        "on the CPU; one change per row. Test set (3,761 sentences), per sentence. KL_mm: KL from q(z)'s "
        "moment-matched Gaussian to the prior (≤ KL(q(z) ‖ p(z))), so R − KL_mm bounds I(x; z) from above; "
        f"MI: He et al.'s estimate of I(x; z), which cannot exceed log 3,761 = {mi_cap:.2f} nats (every row with a "
        "large rate reads that bound); BLEU-4: reconstructions decoded greedily from μ; train min: wall minutes "
        "on a shared 2-core machine (other jobs beside it: compare within a row group, not across sittings).",
        "",
        "| row | what changes | D | R | KL_mm | R − KL_mm | ‖E z‖² | AU | MI | BLEU-4 | valid D by epoch | train min |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in ROWS:
        p = rows.get(row.name)
        if p is None:
            lines.append(f"| {row.name} | {row.what} | not measured |||||||||||")
            continue
        curve = " / ".join(f"{d:.1f}" for d in p["valid_D"])
        mins = f"{p['train_s'] / 60:.0f}" if p.get("train_s") else "–"
        lines.append(
            f"| {row.name} | {row.what} | {p['D']:.2f} | {p['R']:.2f} | {p['kl_mm']:.2f} | "
            f"{p['R'] - p['kl_mm']:.2f} | {p['mean_sq_norm']:.2f} | {p['au']} | {p['mi']:.2f} | "
            f"{p['bleu4']:.2f} | {curve} | {mins} |"
        )
    base = rows.get("base")
    if base:
        lines += [
            "",
            "## Each change against the base row",
            "",
            "Sorted by the distortion it saves. Δ(R − KL_mm) is how much more of the rate can describe the "
            "sentence; Δ‖E z‖² how much less of it moves every code off the prior alike.",
            "",
            "| row | ΔD | Δ(R − KL_mm) | Δ‖E z‖² | ΔBLEU-4 |",
            "|---|---|---|---|---|",
        ]
        deltas = [
            (name, p["D"] - base["D"], (p["R"] - p["kl_mm"]) - (base["R"] - base["kl_mm"]),
             p["mean_sq_norm"] - base["mean_sq_norm"], p["bleu4"] - base["bleu4"])
            for name, p in rows.items() if name != "base"
        ]  # fmt: skip
        for name, d, info, shift, bleu in sorted(deltas, key=lambda x: x[1]):
            lines.append(f"| {name} | {d:+.2f} | {info:+.2f} | {shift:+.2f} | {bleu:+.2f} |")
    starts = {name: early(name) for name in rows}
    starts = {k: v for k, v in starts.items() if v}
    if starts:
        lines += [
            "",
            "## The first 200 steps",
            "",
            "Where the training batches' codes sat after 200 steps (logged by the trainer: ‖mean μ‖² of a batch, "
            "and Σ_d Var(μ_d) across it), against the KL and C(t) then. A large ‖mean μ‖² with a small spread "
            "means the KL was met by moving every code off the prior alike.",
            "",
            "| row | step | C(t) | KL | ‖mean μ‖² | Σ Var μ |",
            "|---|---|---|---|---|---|",
        ]
        for name, r in starts.items():
            lines.append(
                f"| {name} | {r['step']} | {r.get('C', float('nan')):.1f} | {r['kl']:.1f} | "
                f"{r['mu_shift']:.2f} | {r['mu_spread']:.2f} |"
            )
    return "\n".join(lines) + "\n"


@dataclass
class Options:
    rows: list[str] = positional()  # row names, or 'all'
    list: bool = False  # show the rows and what is measured of them, then stop
    report: bool = False  # write docs/ABLATION.md from the measured rows
    jobs: int = 1  # rows trained side by side, one thread each
    threads: int = 0  # torch threads per row (0: torch's default)


def main(argv: list[str] | None = None) -> int:
    opts = parse_dataclass(Options, argv, "python scripts/ablation.py", __doc__)
    os.chdir(ROOT)
    if opts.list or not (opts.rows or opts.report):
        for r in ROWS:
            print(f"{r.name:<14} {state(r):<18} {r.what}")
        return 0
    names = [r.name for r in ROWS] if opts.rows == ["all"] else opts.rows
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        print(f"error: unknown rows {unknown}; see --list", file=sys.stderr)
        return 2
    todo = [n for n in names if state(BY_NAME[n]) != "measured"]
    if opts.jobs > 1 and len(todo) > 1:
        procs: list[subprocess.Popen] = []
        for name in todo:
            while len([p for p in procs if p.poll() is None]) >= opts.jobs:
                time.sleep(5)
            procs.append(subprocess.Popen([sys.executable, __file__, name, "--threads", "1"]))
        for p in procs:
            p.wait()
    else:
        for name in todo:
            run_row(BY_NAME[name], opts.threads)
    if opts.report:
        DOC.write_text(report(), encoding="utf-8")
        print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    run_main(main)
