"""Why does the rate go unused? One factor at a time, at one size and budget, on PTB.

    python -m experiments.ablation --list                      # the rows and their state
    python -m experiments.ablation ROW [ROW …] [--jobs 2]      # train + measure (resumes, skips finished rows)
    python -m experiments.ablation --early all                 # every row's first 200 steps (minutes, not hours)
    python -m experiments.ablation --report                    # write docs/ABLATION.md (and experiments/ablation.json)

Every row is the first shipped β_C recipe (C = 100 held from step 0, LSTM encoder and decoder, Adam 1e-3,
gradient clipping at 5, length-bucketed batches of 64) with one change, trained by the project's own
trainer into runs/ablation/ROW and measured on the PTB test set with the evaluation's "probe" profile:
D, R, the KL from q(z)'s moment-matched Gaussian to the prior (a lower bound on KL(q(z) ‖ p(z)), so
R − it bounds I(x; z) from above), ‖E z‖², active units, I(x; z) (He et al.'s estimator) and
reconstruction BLEU-4 (greedy from μ). Rows that change the budget or the size say so.

The figures behind the report are kept in experiments/ablation.json (committed): runs/ablation is not, so a
clone regenerates the report from the store, and a row measured again here replaces its stored figures.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from experiments import capacity
from textvae_core.cli import parse_dataclass, positional, run_main
from textvae_core.config import RunConfig
from textvae_core.objectives import preset
from textvae_core.paths import ROOT
from textvae_core.rundir import CONFIG, EVAL, WEIGHTS, read_config, read_eval, read_metrics, weights_step

OUT = Path("runs/ablation")
EARLY = OUT / "early"  # each row's first EARLY_STEPS steps, trained on their own (--early)
EARLY_STEPS = 200
TIME = "train_seconds.json"  # wall seconds spent training a row (summed over resumes)
DOC = Path("docs/ABLATION.md")
STORE = Path("experiments/ablation.json")  # every figure the report shows: rows' probes and their first steps
EARLY_KEYS = ("step", "C", "kl", "rec", "mu_shift", "mu_spread", "enc_updates")  # read of a first-steps record
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

    def config(self, threads: int, out: Path) -> RunConfig:
        cfg = RunConfig(objective=preset("beta-c", **{"C": C, **self.objective}))
        cfg.data.max_vocab = 5000
        for k, v in {**SIZE, **self.model}.items():
            setattr(cfg.model, k, v)
        cfg.train.out = str(out / self.name)
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
    Row("base", "the first shipped recipe: C = 100 from step 0"),
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
    Row(
        "freebits",
        f"free bits (Kingma et al. 2016): K = Σ_d max({C / SIZE['z_dim']:g}, KL_d), the same {C:g} nats spread over "
        "the dimensions as floors, instead of a capacity C",
        objective={"C": None, "free_bits": C / SIZE["z_dim"]},
    ),
    Row(
        "aggressive",
        "aggressive encoder updates (He et al. 2019) until validation I(x; z) falls",
        train={"aggressive": True},
    ),
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
# the fixed recipe (the bnl-bow-ramp row) at smaller capacities: does D fall as C rises once the rate is spent
# on the sentence? (The β_C paper's central claim; the old recipe's sweeps had D rising with C.)
BEST = next(r for r in ROWS if r.name == "bnl-bow-ramp")
SWEEP_C = (10.0, 30.0)
ROWS += [
    Row(
        f"bnl-bow-ramp-c{c:g}",
        f"as bnl-bow-ramp, C = {c:g} (ramped over 2 epochs)",
        objective={**BEST.objective, "C": c},
        model=BEST.model,
        train=BEST.train,
    )
    for c in SWEEP_C
]
# on top of the fixed recipe: what else makes the decoder read z (greedy reconstructions from μ)?
ON_TOP = [
    Row(
        "bnl-bow-ramp-wdrop",
        "as bnl-bow-ramp + word dropout 0.5 on the decoder's inputs",
        objective=BEST.objective,
        model=BEST.model,
        train={**BEST.train, "word_dropout": 0.5},
    ),
    Row(
        "bnl-bow-ramp-aepre",
        "as bnl-bow-ramp, from the autoencoder's embedding and encoder (row ae)",
        objective=BEST.objective,
        model=BEST.model,
        train=BEST.train,
        after="ae",
    ),
    Row(
        "bnl-bow-ramp-e16",
        "as bnl-bow-ramp, 16 epochs (the budget the ae row and bnl-bow-ramp-aepre spend together)",
        objective=BEST.objective,
        model=BEST.model,
        train={**BEST.train, "epochs": 2 * EPOCHS},
    ),
    Row(
        "bnl-bow-ramp-zboth",
        "as bnl-bow-ramp + z also initialises the decoder's state",
        objective=BEST.objective,
        model={**BEST.model, "z_mode": "both"},
        train=BEST.train,
    ),
    Row(
        "bnl-bow-ramp-bidi",
        "as bnl-bow-ramp + a bidirectional encoder",
        objective=BEST.objective,
        model={**BEST.model, "bidirectional": True},
        train=BEST.train,
    ),
    Row(
        "bnl-bow-ramp-bidi-zboth",
        "as bnl-bow-ramp + a bidirectional encoder + z also initialises the decoder's state (do the gains add up?)",
        objective=BEST.objective,
        model={**BEST.model, "bidirectional": True, "z_mode": "both"},
        train=BEST.train,
    ),
    Row(
        "bnl-bow-ramp-lr3e-3",
        "as bnl-bow-ramp + Adam lr 3e-3",
        objective=BEST.objective,
        model=BEST.model,
        train={**BEST.train, "lr": 3e-3},
    ),
]
ROWS += ON_TOP
RECIPE_ROWS = tuple(r.name for r in ON_TOP)
BY_NAME = {r.name: r for r in ROWS}
SWEEP_ROWS = {f"bnl-bow-ramp-c{c:g}": c for c in SWEEP_C}


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
    cfg = row.config(threads, OUT)
    run = Path(cfg.train.out)
    target = cfg.train.max_steps or math.ceil(cfg.train.epochs * epoch_steps(cfg.train.batch_size))
    step = weights_step(run) if (run / WEIGHTS).exists() else 0
    if step == 0 and (run / CONFIG).exists():  # killed before its first checkpoint: nothing to resume from
        print(f"{row.name}: no checkpoint in {run} (stopped before its first); training it from the start")
        shutil.rmtree(run)
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
        step = weights_step(run) if (run / WEIGHTS).exists() else 0
    if step < target:  # stopped (a signal, a time limit): measuring it would store a shorter budget's figures
        raise SystemExit(f"{row.name}: trained to step {step} of {target}; run the row again to resume it")
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


def stored() -> dict[str, dict[str, dict]]:
    """The committed figures: {"rows": {row: probe}, "early": {row: first-steps record}}."""
    data = json.loads(STORE.read_text(encoding="utf-8")) if STORE.exists() else {}
    return {"rows": data.get("rows", {}), "early": data.get("early", {})}


def measured() -> dict[str, dict]:
    """Every measured row, in the table's order: measured here (runs/ablation) or else stored."""
    found = stored()["rows"]
    for r in ROWS:
        if state(r) == "measured":
            probe = json.loads((OUT / r.name / "probe.json").read_text())
            found[r.name] = {k: v for k, v in probe.items() if k != "examples"}
    return {r.name: found[r.name] for r in ROWS if r.name in found}


def train_early(row: Row, threads: int) -> None:
    """The row's first EARLY_STEPS steps into runs/ablation/early/ROW: where its codes go while the KL meets
    C(t) is settled in the first few hundred steps, which takes a minute, not the row's full budget."""
    from textvae_core.train import train

    cfg = row.config(threads, EARLY)
    if (Path(cfg.train.out) / WEIGHTS).exists():
        return
    if row.after and not (OUT / row.after / WEIGHTS).exists():
        print(f"{row.name}: needs row {row.after} trained first", file=sys.stderr)
        return
    cfg.train.max_steps, cfg.train.ckpt_every, cfg.train.val_every = EARLY_STEPS, 0, 0
    train(cfg)


def early(row: str, step: int = EARLY_STEPS) -> dict[str, float] | None:
    """Where the codes sat after ``step`` training steps: the row's own log when the trainer logged it
    (mu_shift, mu_spread), else its --early run, else the stored figures."""
    for run in (OUT / row, EARLY / row):
        if (run / WEIGHTS).exists():
            records = [r for r in read_metrics(run, "train") if "mu_shift" in r and r["step"] <= step]
            if records:
                return {k: records[-1][k] for k in EARLY_KEYS if k in records[-1]}
    return stored()["early"].get(row) if step == EARLY_STEPS else None


def sweep_section(rows: dict[str, dict]) -> list[str]:
    """D, the rate's parts and BLEU-4 against C under the fixed recipe, with Spearman's ρ of D with C."""
    from textvae_core.extras import require

    require("lab", "the ablation report")
    from scipy.stats import spearmanr

    points = sorted(
        [(c, rows[name]) for name, c in SWEEP_ROWS.items() if name in rows]
        + ([(C, rows["bnl-bow-ramp"])] if "bnl-bow-ramp" in rows else [])
    )
    if len(points) < 2:
        return []
    lines = [
        "",
        "## D against C under the fixed recipe",
        "",
        "The bnl-bow-ramp row at smaller capacities (same size, budget and seed). The β_C paper: D falls as C "
        "rises; the old recipe's sweeps (C held from step 0) had it rising (Spearman ρ = +1.00 for the LSTM), "
        "the LSTM, GRU and CNN sweeps retrained with this recipe have it falling (ρ = −0.99, −0.96 and "
        "−0.90, docs/REPRODUCTION.md).",
        "",
        "| C | D | R | R − KL_mm | ‖E z‖² | AU | BLEU-4 |",
        "|---|---|---|---|---|---|---|",
    ]
    for c, p in points:
        lines.append(
            f"| {c:g} | {p['D']:.2f} | {p['R']:.2f} | {p['R'] - p['kl_mm']:.2f} | {p['mean_sq_norm']:.2f} | "
            f"{p['au']} | {p['bleu4']:.2f} |"
        )
    rho = spearmanr([c for c, _ in points], [p["D"] for _, p in points]).statistic
    lines += ["", f"Spearman ρ of D with C: {rho:+.2f} over {len(points)} capacities."]
    return lines


def shift_share(r: dict[str, float]) -> float:
    """The part of a batch's E‖μ‖² = ‖mean μ‖² + Σ Var μ that is the shared mean."""
    return r["mu_shift"] / max(1e-9, r["mu_shift"] + r["mu_spread"])


OPTIMISER_AND_SHAPE = ("noclip", "paper-opt", "lr3e-3", "z-init", "z-both", "bidi", "enc2", "wdrop", "random")


def full_rows(base: dict, full: list[tuple[str, dict]]) -> str:
    """The optimiser and shape rows trained for the whole budget, against the base row: does any of them stop
    the shift, or only make D fall faster?"""
    parts = [
        f"{n} D {p['D']:.2f} ({p['D'] - base['D']:+.2f}), ‖E z‖² {p['mean_sq_norm']:.0f}, BLEU-4 {p['bleu4']:.2f}"
        for n, p in sorted(full, key=lambda np: np[1]["D"])
    ]
    unshifted = [n for n, p in full if p["mean_sq_norm"] < 10]
    verdict = (
        f"only {', '.join(unshifted)} {'brings' if len(unshifted) == 1 else 'bring'} ‖E z‖² below 10 by the end"
        if unshifted
        else f"every one keeps the shift (‖E z‖² ≥ {min(p['mean_sq_norm'] for _, p in full):.0f}): they change how "
        "fast D falls, not where the rate goes"
    )
    return (
        f"- **Trained in full**, against the base row (D {base['D']:.2f}, ‖E z‖² {base['mean_sq_norm']:.0f}, "
        f"BLEU-4 {base['bleu4']:.2f}): " + "; ".join(parts) + f". {verdict[0].upper()}{verdict[1:]}."
    )


def findings(rows: dict[str, dict], starts: dict[str, dict]) -> list[str]:
    """What the rows say, each sentence built from the figures it cites (missing rows: the sentence is left out)."""
    out: list[str] = []
    b, e = rows.get("base"), starts.get("base")
    if b and e:
        out.append(
            f"- **The cause.** With C held from step 0 the KL reaches C within the first few hundred steps by "
            f"moving every code off the prior alike: after {e['step']} steps ‖mean μ‖² of a batch is "
            f"{e['mu_shift']:.0f} while the codes' spread Σ Var μ is {e['mu_spread']:.2f}. The decoder can ignore "
            f"a shift shared by all sentences, and it stays: at the end ‖E z‖² is {b['mean_sq_norm']:.0f}, "
            f"KL(q(z) ‖ p(z)) ≥ {b['kl_mm']:.1f} of the rate {b['R']:.1f}, BLEU-4 {b['bleu4']:.2f}."
        )
    r, er = rows.get("ramp"), starts.get("ramp")
    if b and r and er:
        out.append(
            f"- **The C ramp alone (the β_C paper's code) does not change that**: the KL follows C(t) "
            f"({er['kl']:.1f} at C(t) = {er['C']:.1f} after {er['step']} steps), but by the same shift "
            f"(‖mean μ‖² {er['mu_shift']:.0f}, spread {er['mu_spread']:.2f}); at the end D {r['D']:.2f} against "
            f"{b['D']:.2f}, ‖E z‖² {r['mean_sq_norm']:.0f}."
        )
    shape = [(n, starts[n]) for n in OPTIMISER_AND_SHAPE if n in starts]
    if shape:
        shares = [shift_share(s) for _, s in shape]
        out.append(
            f"- **Optimiser, batching, how z enters the decoder, encoder size, word dropout** "
            f"({', '.join(n for n, _ in shape)}): after {shape[0][1]['step']} steps every one still meets the "
            f"KL by the shift ({100 * min(shares):.0f}–{100 * max(shares):.0f}% of E‖μ‖² is the shared mean); "
            "none changes how the KL is met at the start."
        )
    full = [(n, rows[n]) for n in OPTIMISER_AND_SHAPE if n in rows]
    if b and full:
        out.append(full_rows(b, full))
    bn = rows.get("bn")
    if b and bn:
        out.append(
            f"- **A batch-normalised μ** (Zhu et al. 2020) has mean 0 by construction, so the rate must tell "
            f"sentences apart: ‖E z‖² {bn['mean_sq_norm']:.2f}, R − KL_mm {bn['R'] - bn['kl_mm']:.1f} of "
            f"{bn['R']:.1f} nats, D {bn['D']:.2f} ({bn['D'] - b['D']:+.2f}), BLEU-4 {bn['bleu4']:.2f}. It "
            "needs random batches (length-bucketed batches give statistics that describe one length each)"
            + (
                f"; random batches alone give D {rows['random']['D']:.2f} and ‖E z‖² "
                f"{rows['random']['mean_sq_norm']:.0f}: the normalisation, not the batching, removes the shift."
                if "random" in rows
                else "."
            )
        )
    fb = rows.get("freebits")
    if b and fb:
        than_bn = f" (a batch-normalised μ: {bn['R'] - bn['kl_mm']:.1f} and {bn['mean_sq_norm']:.2f})" if bn else ""
        out.append(
            f"- **Free bits instead of a capacity** (Kingma et al. 2016; λ = {C / SIZE['z_dim']:g} nats on each of "
            f"the {SIZE['z_dim']} dimensions, the same {C:g} nats as floors): D {fb['D']:.2f} ({fb['D'] - b['D']:+.2f}), "
            f"R {fb['R']:.1f}, ‖E z‖² {fb['mean_sq_norm']:.1f}, R − KL_mm {fb['R'] - fb['kl_mm']:.1f}{than_bn}, "
            f"BLEU-4 {fb['bleu4']:.2f}. |KL − C| pulls the KL up to C, and a shift of every code is the cheapest way "
            "there; a floor only stops penalising the KL below it and pulls nothing up, so most of the rate the "
            "encoder spends is rate the decoder reads. Most, not all: the shift is smaller but not gone."
        )
    ag, e = starts.get("aggressive"), starts.get("base")
    if ag and e and "enc_updates" in ag:
        out.append(
            f"- **Aggressive encoder updates** (He et al. 2019; the first {ag['step']} steps only): ‖mean μ‖² "
            f"{ag['mu_shift']:.0f}, spread {ag['mu_spread']:.2f} (base: {e['mu_shift']:.0f} and "
            f"{e['mu_spread']:.2f}): an encoder given time to catch up with the decoder "
            + ("still meets C by the shift" if shift_share(ag) > 0.5 else "meets C less by the shift than the base")
            + f". Each step of the phase came after {ag['enc_updates']:.0f} encoder-only updates (the mean of "
            f"steps {ag['step'] - 9}–{ag['step']}), and the phase lasts at least an epoch (it ends at the first "
            "validation whose I(x; z) falls): the full row would cost tens of times the base row's budget, more "
            "than these two cores had for it, so it is not measured."
        )
    bow, bowr = rows.get("bow"), rows.get("bow-ramp")
    if b and bow:
        tail = f"; with the ramp D {bowr['D']:.2f}, ‖E z‖² {bowr['mean_sq_norm']:.0f}" if bowr else ""
        out.append(
            f"- **A bag-of-words loss on z** (Zhao et al. 2017) makes z name the sentence's words: alone D "
            f"{bow['D']:.2f} ({bow['D'] - b['D']:+.2f}), ‖E z‖² {bow['mean_sq_norm']:.0f}{tail}: it moves part "
            "of the rate into I(x; z) but leaves most of the shift."
        )
    best, bnl = rows.get("bn-bow-ramp"), rows.get("bnl-bow-ramp")
    if b and best and bnl:
        out.append(
            f"- **Together** (batch-normalised μ + bag-of-words + ramp): D {best['D']:.2f} "
            f"({best['D'] - b['D']:+.2f}), BLEU-4 {best['bleu4']:.2f}; with γ learned per dimension D "
            f"{bnl['D']:.2f}, BLEU-4 {bnl['bleu4']:.2f}, KL_mm {bnl['kl_mm']:.1f} against {best['kl_mm']:.1f} "
            "(dimensions the decoder does not read can shrink, so active units mean something). This is the "
            "recipe of the shipped ptb-lstm-bc100, of the three shipped sweeps and of every β_C run in "
            "`experiments/grid.toml`."
        )
        nobow = rows.get("bnl-ramp")
        if nobow:
            out.append(
                f"- **What the bag-of-words loss adds to the normalised μ** (bnl-ramp, the recipe without it): D "
                f"{nobow['D']:.2f} against {bnl['D']:.2f}, BLEU-4 {nobow['bleu4']:.2f} against {bnl['bleu4']:.2f}: "
                + (
                    "it buys more exact greedy reconstructions, not a lower D"
                    if nobow["D"] <= bnl["D"] and nobow["bleu4"] < bnl["bleu4"]
                    else "it helps both"
                    if nobow["D"] > bnl["D"] and nobow["bleu4"] < bnl["bleu4"]
                    else "it does not help greedy reconstructions here"
                )
                + "."
            )
    ae = rows.get("ae")
    if ae and bnl:
        out.append(
            f"- **No KL term at all** (a plain autoencoder, the same budget): D {ae['D']:.2f} with a rate of "
            f"{ae['R']:.0f} nats, BLEU-4 {ae['bleu4']:.2f}, ‖E z‖² {ae['mean_sq_norm']:.0f}: the recipe's D "
            f"{bnl['D']:.2f} at 100 nats beats it. The size of the rate was not what held the base row back: "
            "how the code is shaped (normalised, made to name the words) decides how much of it the decoder "
            "uses within this budget (the autoencoder's codes shift too)."
        )
    pre_row = rows.get("ae-pre")
    if pre_row and b:
        out.append(
            f"- **β_C from an autoencoder's encoder** (Li et al. 2019, row ae-pre): D {pre_row['D']:.2f} "
            f"({pre_row['D'] - b['D']:+.2f}), ‖E z‖² {pre_row['mean_sq_norm']:.2f}, BLEU-4 {pre_row['bleu4']:.2f}, "
            f"KL_mm {pre_row['kl_mm']:.1f}. Its embedding and encoder trained twice as long (the ae row's "
            "epochs first), so its D is not one budget's; the codes no longer shift, but q(z) is not shaped like "
            "the prior (KL_mm), and its greedy reconstructions are less exact than the recipe's"
            + (f" ({bnl['bleu4']:.2f})" if bnl else "")
            + "."
            + ("" if "bnl-bow-ramp-aepre" in rows else " Pre-training combined with the recipe is not measured yet.")
        )
    pre = starts.get("ae-pre")
    if pre and not pre_row:
        out.append(
            f"- **Autoencoder pre-training of the encoder** (Li et al. 2019; 200 steps only): ‖mean μ‖² "
            f"{pre['mu_shift']:.0f}, spread {pre['mu_spread']:.1f} — less shift than any row without "
            "normalisation, but not gone."
        )
    out += on_top(rows)
    if not out:
        return []
    return ["", "## What the rows say", "", *out]


def on_top(rows: dict[str, dict]) -> list[str]:
    """What each change on top of the fixed recipe does to D, the shift and greedy reconstructions; AE
    pre-training is also set against the recipe trained as many epochs (its encoder's extra budget)."""
    bnl = rows.get("bnl-bow-ramp")
    top = [(n, rows[n]) for n in RECIPE_ROWS if n in rows]
    if not (bnl and top):
        return []
    parts = [
        f"{BY_NAME[n].what.removeprefix('as bnl-bow-ramp').strip(' ,+')}: D {p['D']:.2f} ({p['D'] - bnl['D']:+.2f}), "
        f"R {p['R']:.2f}, ‖E z‖² {p['mean_sq_norm']:.2f}, AU {p['au']}, BLEU-4 {p['bleu4']:.2f} "
        f"({p['bleu4'] - bnl['bleu4']:+.2f})"
        for n, p in top
    ]
    out = [
        f"- **On top of the recipe** (bnl-bow-ramp, {EPOCHS:g} epochs: D {bnl['D']:.2f}, BLEU-4 "
        f"{bnl['bleu4']:.2f}): " + "; ".join(parts) + "."
    ]
    both, singles = rows.get("bnl-bow-ramp-bidi-zboth"), [rows.get("bnl-bow-ramp-bidi"), rows.get("bnl-bow-ramp-zboth")]
    if both and all(singles):
        apart = sum(p["bleu4"] - bnl["bleu4"] for p in singles)
        together = both["bleu4"] - bnl["bleu4"]
        out.append(
            f"- **Do the gains add up?** A bidirectional encoder and z in the decoder's state gain "
            f"{singles[0]['bleu4'] - bnl['bleu4']:+.2f} and {singles[1]['bleu4'] - bnl['bleu4']:+.2f} BLEU-4 apart "
            f"(sum {apart:+.2f}), {together:+.2f} together (D {both['D']:.2f}, {both['D'] - bnl['D']:+.2f}): "
            + (
                "about their sum"
                if abs(together - apart) <= 0.25
                else "more than their sum"
                if together > apart
                else "less than their sum"
            )
            + "."
        )
    pre, longer = rows.get("bnl-bow-ramp-aepre"), rows.get("bnl-bow-ramp-e16")
    if pre and longer:
        d, b = pre["D"] - longer["D"], pre["bleu4"] - longer["bleu4"]
        verdict = (
            "pre-training does more than its extra epochs would"
            if d < 0 and b > 0
            else "its gain is no more than the extra epochs give the recipe anyway"
            if d >= 0 and b <= 0
            else "neither reading wins on both figures"
        )
        out.append(
            f"- **AE pre-training against the same budget**: the pre-trained row's encoder has had {EPOCHS:g} more "
            f"epochs; the recipe trained {2 * EPOCHS:g} epochs reaches D {longer['D']:.2f} and BLEU-4 "
            f"{longer['bleu4']:.2f}, the pre-trained row {pre['D']:.2f} ({d:+.2f}) and {pre['bleu4']:.2f} "
            f"({b:+.2f}): {verdict}."
        )
    return out


def report(rows: dict[str, dict], starts: dict[str, dict]) -> str:
    """docs/ABLATION.md from the measured rows and their first steps (measured() and early(), read once)."""
    mi_cap = math.log(3761)
    lines = [
        "# Why the rate goes unused: an ablation",
        "",
        "Generated by `python -m experiments.ablation --report` from experiments/ablation.json and runs/ablation/*/probe.json "
        "(`python -m experiments.ablation ROW` trains and measures a row; `--list` shows them).",
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
            lines.append(f"| {row.name} | {row.what} | not measured ||||||||||")
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
            for name, p in rows.items() if name != "base" and name not in SWEEP_ROWS and name not in RECIPE_ROWS
        ]  # fmt: skip
        for name, d, info, shift, bleu in sorted(deltas, key=lambda x: x[1]):
            lines.append(f"| {name} | {d:+.2f} | {info:+.2f} | {shift:+.2f} | {bleu:+.2f} |")
    lines += sweep_section(rows)
    lines += findings(rows, starts)
    if cap := capacity.section():
        lines += ["", *cap]
    if starts:
        lines += [
            "",
            f"## The first {EARLY_STEPS} steps",
            "",
            f"Where the training batches' codes sat after {EARLY_STEPS} steps (logged by the trainer, mean of its "
            "last 10 steps: ‖mean μ‖² of a batch, and Σ_d Var(μ_d) across it), against the KL, C(t) and D then "
            "(`python -m experiments.ablation --early all`: each row trained alone for these steps). A large "
            "‖mean μ‖² with a small spread means the KL was met by moving every code off the prior alike: a "
            "shift the decoder can ignore. D is per sentence on the last training batches, so it depends on "
            "their lengths: compare rows with length-bucketed batches among themselves, and rows with random "
            "batches (random, bn*, bnl*) among themselves. Shift share: ‖mean μ‖² / (‖mean μ‖² + Σ Var μ).",
            "",
            "| row | step | C(t) | KL | D (train batch) | ‖mean μ‖² | Σ Var μ | shift share |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for name, r in starts.items():
            cap = f"{r['C']:.1f}" if "C" in r else "—"  # free bits: no capacity
            lines.append(
                f"| {name} | {r['step']} | {cap} | {r['kl']:.1f} | {r['rec']:.1f} | "
                f"{r['mu_shift']:.2f} | {r['mu_spread']:.2f} | {100 * shift_share(r):.0f}% |"
            )
    return "\n".join(lines) + "\n"


@dataclass
class Options:
    rows: list[str] = positional()  # row names, or 'all'
    list: bool = False  # show the rows and what is measured of them, then stop
    report: bool = False  # write docs/ABLATION.md from the measured rows
    early: bool = False  # train only each named row's first 200 steps (runs/ablation/early/ROW)
    jobs: int = 1  # rows trained side by side, one thread each
    threads: int = 0  # torch threads per row (0: torch's default)


def main(argv: list[str] | None = None) -> int:
    opts = parse_dataclass(Options, argv, "python -m experiments.ablation", __doc__)
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
    if opts.early:
        for name in names:
            train_early(BY_NAME[name], opts.threads)
        names = []
    todo = [n for n in names if state(BY_NAME[n]) != "measured"]
    if opts.jobs > 1 and len(todo) > 1:
        procs: list[subprocess.Popen] = []
        for name in todo:
            while len([p for p in procs if p.poll() is None]) >= opts.jobs:
                time.sleep(5)
            procs.append(
                subprocess.Popen([sys.executable, "-m", "experiments.ablation", name, "--threads", "1"], cwd=ROOT)
            )
        for p in procs:
            p.wait()
    else:
        for name in todo:
            run_row(BY_NAME[name], opts.threads)
    if opts.report:
        rows, starts = measured(), {r.name: s for r in ROWS if (s := early(r.name))}
        STORE.write_text(json.dumps({"rows": rows, "early": starts}, indent=1) + "\n", encoding="utf-8")
        DOC.write_text(report(rows, starts), encoding="utf-8")
        print(f"wrote {DOC} and {STORE}")
    return 0


if __name__ == "__main__":
    run_main(main)
