"""The report's Tables 1–2 on our data: train and evaluate every model family, write docs/MODEL_FAMILIES.md.

    nice -n 5 python -m experiments.report_families --threads 1            # all rows, both data sets
    python -m experiments.report_families --datasets toy --rows rnn-dls,lvae-3
    python -m experiments.report_families --report-only                     # rewrite the doc from finished rows
    python -m experiments.report_families --ship char/rnn-dls,char/lcnnvae-5  # copy rows into checkpoints/

Rows (Petersen's report, §2 and §4): RNN, CNN and Hybrid VAEs with a dense latent (DLS) and a feature-map
latent (FMP), the LVAE and the LCNNVAE with 3 and 5 stochastic layers, on the toy sines (data/toy_sine,
word level) and on short SNLI sentences read character by character (data/snli_char). Every row of a
data set gets the same objective (the ELBO with β warmed up linearly from 0 to 1 over the first half of
training, as the report anneals β; α = 0.2 for the Hybrids, Semeniuta et al.'s value), the same number
of optimizer steps and batch size, and seed 0; sizes are of one scale per data set (parameters listed).
Each run lives in runs/families/<data set>/<row>/ (resumable; a finished row is not retrained) with its
held-out figures in table.json: ELBO, D, KL (per layer / position), the importance-sampled NLL, active
units, greedy reconstruction BLEU, training CPU seconds. The doc states which of the report's
conclusions hold on these figures.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from textvae_core.checkpoint import load_run
from textvae_core.cli import parse_dataclass, run_main
from textvae_core.config import RunConfig
from textvae_core.data import Corpus, read_corpus
from textvae_core.decoding import DecodeConfig
from textvae_core.evaluate import latent_stats
from textvae_core.inference import TextVAE
from textvae_core.metrics import bleu, likelihood_pass
from textvae_core.models import family_name
from textvae_core.objectives import preset
from textvae_core.paths import ROOT
from textvae_core.rundir import WEIGHTS, read_config, weights_step
from textvae_core.train import train

OUT = Path("runs/families")
DOC = Path("docs/MODEL_FAMILIES.md")
ALPHA = 0.2  # Semeniuta et al.'s auxiliary weight (their default and the report's Hybrid)


@dataclass
class DataSet:
    name: str
    title: str
    folder: str
    level: str
    seq_len: int  # fixed width of the convolutional models (max_len = seq_len − 1)
    steps: int
    batch_size: int
    emb: int
    hidden: int
    z: int  # dense latent size
    fmp_z: int  # per-position latent size of the FMP models
    conv: list[int]  # CNN / Hybrid encoder (and mirrored decoder) channels
    ladder: dict[int, dict[str, list[int]]] = field(default_factory=dict)  # L → ladder_z, ladder_hidden, conv
    k: int = 20  # importance samples for the held-out NLL


DATASETS = {
    "toy": DataSet(
        "toy",
        "Toy sines (data/toy_sine, word level: 16 levels, 16–30 tokens)",
        "data/toy_sine",
        "word",
        seq_len=32,
        steps=4000,
        batch_size=32,
        emb=16,
        hidden=64,
        z=8,
        fmp_z=2,
        conv=[32, 64],
        ladder={
            3: {"ladder_z": [8, 4, 2], "ladder_hidden": [64, 32, 16], "conv_channels": [32, 48, 64]},
            5: {
                "ladder_z": [8, 6, 4, 3, 2],
                "ladder_hidden": [64, 48, 32, 24, 16],
                "conv_channels": [24, 32, 48, 64, 96],
            },
        },
    ),
    "char": DataSet(
        "char",
        "Short SNLI sentences read as characters (data/snli_char, ≤ 63 characters)",
        "data/snli_char",
        "char",
        seq_len=64,
        steps=3000,
        batch_size=64,
        emb=32,
        hidden=128,
        z=16,
        fmp_z=4,
        conv=[64, 128, 256],
        ladder={
            3: {"ladder_z": [16, 8, 4], "ladder_hidden": [128, 64, 32], "conv_channels": [64, 96, 128]},
            5: {
                "ladder_z": [16, 12, 8, 6, 4],
                "ladder_hidden": [128, 96, 64, 48, 32],
                "conv_channels": [48, 64, 96, 128, 160],
            },
        },
    ),
}

# Not rows of the report's tables: the same models under the β_C objective (KL held at C nats), so that their
# latents are in use: an equal-rate comparison where the ELBO rows collapse, and the shipped runs.
VARIANTS: dict[str, tuple[str, float]] = {
    "rnn-dls-c10": ("rnn-dls", 10.0),
    "lvae-5-c10": ("lvae-5", 10.0),
    "lcnnvae-5-c10": ("lcnnvae-5", 10.0),
}

ROWS = [
    "rnn-dls",
    "cnn-dls",
    "hybrid-dls",
    "rnn-fmp",
    "cnn-fmp",
    "hybrid-fmp",
    "lvae-3",
    "lcnnvae-3",
    "lvae-5",
    "lcnnvae-5",
]


def row_model(row: str, ds: DataSet) -> dict[str, Any]:
    """Model settings of one row at the data set's scale."""
    base: dict[str, Any] = {"emb_dim": ds.emb, "hidden": ds.hidden, "z_dim": ds.z, "seq_len": ds.seq_len}
    family, _, variant = row.partition("-")
    if family in {"lvae", "lcnnvae"}:
        layers = ds.ladder[int(variant)]
        base.update(latent="ladder", ladder_z=layers["ladder_z"], ladder_hidden=layers["ladder_hidden"])
        if family == "lcnnvae":
            base.update(encoder="cnn", conv_channels=layers["conv_channels"])
        return base
    base["conv_channels"] = ds.conv
    base["encoder"] = "lstm" if family == "rnn" else "cnn"
    base["decoder"] = {"rnn": "lstm", "cnn": "deconv", "hybrid": "hybrid"}[family]
    if variant == "fmp":
        # as many latent vectors for the RNN as the CNN's last map has positions
        base.update(latent="fmp", z_dim=ds.fmp_z, fmp_positions=ds.seq_len // 2 ** len(ds.conv))
    return base


def row_config(row: str, ds: DataSet, threads: int) -> RunConfig:
    base, capacity = VARIANTS.get(row, (row, None))
    if capacity is None:
        cfg = RunConfig(objective=preset("vae-anneal", schedule="linear", warmup_steps=ds.steps // 2, beta_start=0.0))
    else:
        cfg = RunConfig(objective=preset("beta-c", C=capacity))
    if base.startswith("hybrid"):
        cfg.objective.alpha = ALPHA
    cfg.data.train, cfg.data.valid, cfg.data.test = (f"{ds.folder}/{s}.txt" for s in ("train", "valid", "test"))
    cfg.data.level, cfg.data.max_len = ds.level, ds.seq_len - 1
    for k, v in row_model(base, ds).items():
        setattr(cfg.model, k, v)
    t = cfg.train
    t.out = str(OUT / ds.name / row)
    t.max_steps, t.batch_size, t.seed, t.lr = ds.steps, ds.batch_size, 0, 1e-3
    t.val_every, t.ckpt_every, t.log_every = ds.steps // 4, ds.steps // 4, 10
    t.num_threads, t.progress, t.device = threads, False, "cpu"
    return cfg


def run_row(row: str, ds: DataSet, threads: int) -> dict[str, Any]:
    """Train (or resume) one row, then measure it on the test split; cached in table.json."""
    out = OUT / ds.name / row
    table = out / "table.json"
    if table.exists():
        return json.loads(table.read_text())
    cfg = row_config(row, ds, threads)
    cpu_before = json.loads((out / "cpu.json").read_text())["train_cpu_s"] if (out / "cpu.json").exists() else 0.0
    c0, t0 = time.process_time(), time.perf_counter()
    if (out / WEIGHTS).exists():
        if (weights_step(out) or 0) < ds.steps:
            saved = read_config(out)
            saved.train.num_threads = threads
            train(saved, resume=True)
    else:
        train(cfg)
    train_cpu = cpu_before + time.process_time() - c0
    (out / "cpu.json").write_text(json.dumps({"train_cpu_s": train_cpu}) + "\n")
    wall = time.perf_counter() - t0
    c1 = time.process_time()
    result = measure(out, ds)
    result.update(row=row, train_cpu_s=round(train_cpu, 1), train_wall_s=round(wall, 1))
    result["eval_cpu_s"] = round(time.process_time() - c1, 1)
    table.write_text(json.dumps(result, indent=2) + "\n")
    return result


@torch.no_grad()
def measure(out: Path, ds: DataSet) -> dict[str, Any]:
    """Held-out figures of one trained row (test split, per sentence unless named per token)."""
    run = load_run(out)
    sentences = read_corpus(run.config.data.test, ds.level, max_len=ds.seq_len - 1)
    corpus = Corpus(sentences, run.vocab, "test")
    lik = likelihood_pass(run.model, corpus, torch.device("cpu"), k=ds.k, batch_size=64, seed=0)
    b = lik.bounds
    lat = latent_stats(lik.mu, lik.logvar, 0, run.model.parts, lik.kl_dims, run.model.hierarchical)
    vae = TextVAE(run.model, run.vocab, run.config)
    inputs = [run.vocab.detokenize(s) for s in sentences]
    outputs = vae.decode(lik.mu, DecodeConfig(method="greedy", max_len=ds.seq_len))
    samples = vae.sample(5, DecodeConfig(method="greedy", max_len=ds.seq_len), seed=1)
    tokens = b["n_tokens"]
    return {
        "family": family_name(run.config.model),
        "params": sum(p.numel() for p in run.model.parameters()),
        "step": run.step,
        "n_sentences": b["n_sentences"],
        "elbo": b["elbo"],
        "rec": b["rec"],
        "kl": b["kl"],
        "rec_per_token": b["rec"] * b["n_sentences"] / tokens,
        "elbo_per_token": b["elbo"] * b["n_sentences"] / tokens,
        "iw_nll": lik.iw_nll["nll"],
        "k": lik.iw_nll["k"],
        "kl_terms": b.get("kl_terms"),
        "aux_rec": b.get("aux_rec"),
        "active_units": lat["active_units"],
        "latent_dim": lat["z_dim"],
        "parts_au": {k: v["active_units"] for k, v in lat.get("parts", {}).items()},
        "bleu4_greedy": bleu(outputs, inputs, 4) if ds.level == "word" else None,
        "char_bleu4_greedy": bleu([" ".join(o) for o in outputs], [" ".join(i) for i in inputs], 4),
        "exact_match": sum(o == i for o, i in zip(outputs, inputs, strict=True)) / len(inputs),
        "examples": [{"input": i, "output": o} for i, o in list(zip(inputs, outputs, strict=True))[:3]],
        "prior_samples": samples,
    }


# ---- the document -----------------------------------------------------------------------------------


def fmt(x: float | None, digits: int = 2) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def label(row: str, r: dict[str, Any]) -> str:
    """The report's row names: RNN VAE (DLS), CNN VAE (FMP), LCNNVAE (5), …; variants say their C."""
    if row in VARIANTS:
        return f"{r['family']}{' (DLS)' if '-dls' in row else ''}, β_C C = {VARIANTS[row][1]:g}"
    return r["family"] + (" (DLS)" if row.endswith("-dls") else "")


def table_md(results: dict[str, dict[str, Any]], rows: list[str]) -> list[str]:
    lines = [
        "| model | params | ELBO | D | KL | D / token | IW-NLL | AU | KL per layer / position | recon. char-BLEU-4 | exact | train CPU s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        r = results.get(row)
        if r is None:
            continue
        parts = r["kl_terms"] or {}
        per = " / ".join(f"{v:.1f}" for v in parts.values()) if parts else "–"
        if r.get("aux_rec") is not None:
            per = f"(D_aux {r['aux_rec']:.1f})" if per == "–" else f"{per} (D_aux {r['aux_rec']:.1f})"
        lines.append(
            f"| {label(row, r)} | {r['params'] / 1e3:.0f}k | {fmt(r['elbo'])} | {fmt(r['rec'])} | {fmt(r['kl'])} | "
            f"{fmt(r['rec_per_token'], 3)} | {fmt(r['iw_nll'])} | {r['active_units']}/{r['latent_dim']} | {per} | "
            f"{fmt(r['char_bleu4_greedy'], 1)} | {100 * r['exact_match']:.0f}% | {r['train_cpu_s']:.0f} |"
        )
    return lines


def verdicts(results: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    """The report's conclusions, each tested on the measured figures of both data sets."""
    out: list[str] = []
    for ds_name, all_rows in results.items():
        res = {r: v for r, v in all_rows.items() if r in ROWS}
        if not res:
            continue
        ds = DATASETS[ds_name]
        elbo = {r: v["elbo"] for r, v in res.items()}
        rec = {r: v["rec"] for r, v in res.items()}
        best = max(elbo, key=elbo.get)
        worst_rec = max(rec, key=rec.get)
        name = lambda r, res=res: label(r, res[r])  # noqa: E731
        out.append(f"\n### {ds.title}\n")
        hybrids = [r for r in res if r.startswith("hybrid")]
        if hybrids:
            hb = max(hybrids, key=elbo.get)
            holds = best in hybrids and worst_rec in hybrids
            rank_elbo = sorted(elbo.values(), reverse=True).index(elbo[hb]) + 1
            rank_rec = sorted(rec.values(), reverse=True).index(rec[hb]) + 1
            out.append(
                f"- **Hybrid: best ELBO with the worst reconstruction** — {'holds' if holds else 'does not hold'}. "
                f"Best ELBO: {name(best)} ({elbo[best]:.2f}); best Hybrid: {name(hb)} (ELBO {elbo[hb]:.2f}, rank "
                f"{rank_elbo} of {len(elbo)}; D {rec[hb]:.2f}, rank {rank_rec} from the worst); worst D: "
                f"{name(worst_rec)} ({rec[worst_rec]:.2f})."
            )
        ladders = [r for r in res if r.startswith(("lvae", "lcnnvae"))]
        others = [r for r in res if r not in ladders]
        if ladders and others:
            bl, bo = max(ladders, key=elbo.get), max(others, key=elbo.get)
            wins = elbo[bl] > elbo[bo]
            complex_data = ds.name != "toy"  # the report: ladders win on complex data, lose on the simple toy set
            out.append(
                f"- **Ladder best on complex data, simpler models better on simple data** — "
                f"{'holds' if wins == complex_data else 'does not hold'} here ({'complex' if complex_data else 'simple'} "
                f"data): the best ladder, {name(bl)} (ELBO {elbo[bl]:.2f}, D {rec[bl]:.2f}, KL {res[bl]['kl']:.2f}), "
                f"{'beats' if wins else 'does not beat'} the best single-latent model, {name(bo)} (ELBO "
                f"{elbo[bo]:.2f}, D {rec[bo]:.2f}, KL {res[bo]['kl']:.2f})"
                + (
                    "; but that ladder has collapsed (KL ≈ 0): its ELBO is its LSTM's, not its latent's."
                    if collapsed(res[bl])
                    else "."
                )
            )
        pairs = [(f"lcnnvae-{n}", f"lvae-{n}") for n in (3, 5) if f"lcnnvae-{n}" in res and f"lvae-{n}" in res]
        for conv, mlp in pairs:
            better = elbo[conv] > elbo[mlp]
            out.append(
                f"- **Convolutional deterministic layers improve the ladder** (L = {conv[-1]}) — "
                f"{'holds' if better else 'does not hold'} by the ELBO: LCNNVAE {elbo[conv]:.2f} vs LVAE "
                f"{elbo[mlp]:.2f} (D {rec[conv]:.2f} vs {rec[mlp]:.2f}, KL {res[conv]['kl']:.2f} vs "
                f"{res[mlp]['kl']:.2f}, active units {res[conv]['active_units']} vs {res[mlp]['active_units']})"
                + (
                    "; both have collapsed (KL ≈ 0), so the gap is not their latents': it lies between two LSTM language models "
                    "trained alike."
                    if collapsed(res[conv]) and collapsed(res[mlp])
                    else "."
                )
            )
        fmp = [(r.replace("-dls", "-fmp"), r) for r in res if r.endswith("-dls") and r.replace("-dls", "-fmp") in res]
        if fmp:
            more_kl = sum(res[f]["kl"] > res[d]["kl"] for f, d in fmp)
            better = sum(elbo[f] > elbo[d] for f, d in fmp)
            out.append(
                f"- **Feature-map latents** (the report: more KL) — FMP carries more KL than the dense latent in "
                f"{more_kl} of {len(fmp)} pairs and has the better ELBO in {better} of {len(fmp)}."
            )
        out += equal_rate(all_rows)
    return out


def compare(a: dict[str, Any], b: dict[str, Any], tolerance: float = 0.5) -> str:
    """a better than b? By D where the rates match (within ``tolerance`` nats), else by the ELBO, saying so."""
    if abs(a["kl"] - b["kl"]) <= tolerance:
        return f"{'yes' if a['rec'] < b['rec'] else 'no'} (D {a['rec']:.2f} vs {b['rec']:.2f})"
    verdict = "yes" if a["elbo"] > b["elbo"] else "no"
    if abs(a["elbo"] - b["elbo"]) < 0.1:
        verdict = "a tie"
    return (
        f"{verdict} by the ELBO ({a['elbo']:.2f} vs {b['elbo']:.2f}); their KLs differ ({a['kl']:.2f} vs "
        f"{b['kl']:.2f}), so D alone does not compare them (D {a['rec']:.2f} vs {b['rec']:.2f})"
    )


def collapsed(r: dict[str, Any]) -> bool:
    return r["kl"] < 0.1


def equal_rate(rows: dict[str, dict[str, Any]]) -> list[str]:
    """The ladder claims again where the latents are in use: the β_C variants, all at about the same KL."""
    have = [v for v in VARIANTS if v in rows]
    if len(have) < 2:
        return []
    figures = ", ".join(
        f"{label(v, rows[v])}: ELBO {rows[v]['elbo']:.2f}, D {rows[v]['rec']:.2f}, KL {rows[v]['kl']:.2f}" for v in have
    )
    out = [f"- **At an equal rate** (the β_C variants, KL held near 10 nats; lower D is better use of it) — {figures}."]
    lc, lv, rn = (rows.get(v) for v in ("lcnnvae-5-c10", "lvae-5-c10", "rnn-dls-c10"))
    if lc and lv:
        out.append(f"  Convolutional deterministic layers improve the ladder at this rate: {compare(lc, lv)}.")
    if lc and rn:
        out.append(f"  The LCNNVAE (5) beats the RNN VAE at this rate: {compare(lc, rn)}.")
    return out


def write_doc(results: dict[str, dict[str, dict[str, Any]]], threads: int) -> None:
    lines = [
        "# The report's model families on our data (Tables 1–2)",
        "",
        "Generated by `nice -n 5 python -m experiments.report_families --threads 1` (do not edit by hand). The report",
        "(Petersen, *Text generation with variational autoencoders*) compares RNN, CNN and",
        "Hybrid VAEs with dense (DLS) and feature-map (FMP) latents and Ladder VAEs (LVAE, LCNNVAE) on a toy sine set",
        "and on tweets read as characters. Here: the toy sines of `data/toy_sine` (word level) and short SNLI sentences",
        "of `data/snli_char` read as characters. Figures are on the test split, per sentence in nats unless per token;",
        "ELBO = −(D + KL) with the closed-form KL (a ladder's: the sum over its layers against its conditional priors);",
        "IW-NLL uses k importance samples from the model's own posterior. AU: active units of the flat latent.",
        "",
        "**Set-up, the same for every row of a table:** the ELBO objective with β warmed up linearly from 0 to 1 over",
        "the first half of training (the report anneals β), α = 0.2 for the Hybrids (Semeniuta et al.), Adam at",
        "1e-3, seed 0, the same number of steps and batch size; one thread on a shared CPU, so the budget of each",
        "row is its number of steps (its training CPU seconds are listed). Sizes are one scale per data set; the",
        "report's models were ~1M parameters, ours are smaller so that the whole table fits about an hour of one",
        "CPU core.",
        "",
        "**Reading the figures.** Only the orderings compare with the report (other data, sizes and β_max). An",
        "autoregressive decoder (RNN, Hybrid, the ladders' LSTM) can model the text without z, and under the ELBO",
        "such a model may let KL fall to ≈ 0 (posterior collapse): its row is then a language model, its D the best",
        "its LSTM does alone. The CNN VAE's decoder is not autoregressive, so every nat of D it saves costs KL, and",
        "its ELBO is the price of that. A ladder's KL is the sum of its layers' (each against its conditional prior),",
        "so information can sit in z₂ with KL₁ ≈ 0: z₁ then follows p(z₁|z₂).",
    ]
    for name, res in results.items():
        if not res:
            continue
        ds = DATASETS[name]
        cost = {k: r["train_cpu_s"] + r.get("eval_cpu_s", 0) for k, r in res.items()}
        total = sum(v for k, v in cost.items() if k in ROWS)
        lines += [
            "",
            f"## {ds.title}",
            "",
            f"{ds.steps} steps of {ds.batch_size} sentences per row (β reaches 1 at step {ds.steps // 2}); "
            f"embeddings {ds.emb}, RNN hidden {ds.hidden}, dense z {ds.z}, FMP {ds.fmp_z} per position, "
            f"conv channels {ds.conv} at width {ds.seq_len}; ladders: "
            + "; ".join(
                f"L = {n}: z {v['ladder_z']}, MLP {v['ladder_hidden']}, conv {v['conv_channels']}"
                for n, v in ds.ladder.items()
            )
            + f". k = {ds.k}. Training and evaluation of this table: {total / 60:.1f} CPU-minutes.",
            "",
            *table_md(res, ROWS),
        ]
        variants = [v for v in VARIANTS if v in res]
        if variants:
            lines += [
                "",
                "The same models under the β_C objective (β = 1, KL held near C from the first step, same steps), so "
                "that their latents are in use: an equal-rate comparison where the ELBO rows collapse, and the "
                f"shipped runs ({sum(cost[v] for v in variants) / 60:.1f} CPU-minutes more).",
                "",
                *table_md(res, variants),
            ]
    lines += ["", "## Which of the report's conclusions hold here", *verdicts(results)]
    lines += [
        "",
        "## Examples (test sentences, greedy reconstruction from μ; greedy prior samples)",
    ]
    for name, res in results.items():
        for row in ("rnn-dls", "hybrid-dls", "lcnnvae-5"):
            r = res.get(row)
            if r is None:
                continue
            lines.append(f"\n{DATASETS[name].title}, {r['family']}:\n")
            lines += [f"- `{e['input']}` → `{e['output']}`" for e in r["examples"]]
            lines += [f"- prior: `{s}`" for s in r["prior_samples"][:3]]
    DOC.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {DOC}")


def ship(spec: str) -> None:
    """Copy a finished row into checkpoints/ in float16 with a thinned log, then evaluate it (grid profile)."""
    from textvae_core.checkpoint import export_run
    from textvae_core.evaluate import EvalConfig, evaluate
    from textvae_core.rundir import thin_metrics, write_config

    ds_name, row = spec.split("/")
    dst = Path("checkpoints") / (f"snli-char-{row}" if ds_name == "char" else f"toy-{row}")
    if dst.exists():
        raise SystemExit(f"{dst} exists: shipped runs are not overwritten")
    export_run(OUT / ds_name / row, dst)  # config, vocabulary, log and float16 weights; no resume state
    cfg = read_config(dst)
    cfg.train.out = str(dst)
    write_config(dst, cfg)
    thin_metrics(dst, 10)
    evaluate(dst, EvalConfig.for_profile("grid", threads=torch.get_num_threads()))
    print(f"{dst}: shipped ({(dst / WEIGHTS).stat().st_size / 1e6:.1f} MB) and evaluated")


@dataclass
class Options:
    datasets: str = "toy,char"  # comma-separated data sets: toy (sines) and char (SNLI characters)
    rows: str = ",".join(ROWS)  # comma-separated rows (and β_C variants) to train and measure; finished ones are read
    threads: int = 1  # torch CPU threads
    report_only: bool = False  # write the doc from finished rows, train nothing
    ship: str = ""  # comma-separated DATASET/ROW to copy into checkpoints/
    steps: int = 0  # override every data set's steps (a smoke test); 0 = the data set's own
    out: str = str(OUT)  # folder of the runs
    doc: str = str(DOC)  # where the table goes


def main(argv: list[str] | None = None) -> int:
    global OUT, DOC
    args = parse_dataclass(Options, argv, "python -m experiments.report_families", __doc__)
    os.chdir(ROOT)  # run configs hold repository-relative data paths
    torch.set_num_threads(args.threads)
    OUT, DOC = Path(args.out), Path(args.doc)
    if args.steps:
        for ds in DATASETS.values():
            ds.steps = args.steps
    if args.ship:
        for spec in args.ship.split(","):
            ship(spec)
        return 0
    results: dict[str, dict[str, dict[str, Any]]] = {}
    for name in args.datasets.split(","):
        ds = DATASETS[name]
        results[name] = {}
        for row in ROWS:
            table = OUT / name / row / "table.json"
            if row in args.rows.split(",") and not args.report_only:  # the report's rows, in order
                print(f"[{name}] {row} …", flush=True)
                results[name][row] = run_row(row, ds, args.threads)
                r = results[name][row]
                print(
                    f"[{name}] {row}: ELBO {r['elbo']:.2f}  D {r['rec']:.2f}  KL {r['kl']:.2f}  "
                    f"({r['train_cpu_s']:.0f} CPU s)",
                    flush=True,
                )
            elif table.exists():
                results[name][row] = json.loads(table.read_text())
        for row in VARIANTS:
            if row in args.rows.split(",") and not args.report_only:
                print(f"[{name}] {row} …", flush=True)
                results[name][row] = run_row(row, ds, args.threads)
            elif (OUT / name / row / "table.json").exists():
                results[name][row] = json.loads((OUT / name / row / "table.json").read_text())
    write_doc(results, args.threads)
    return 0


if __name__ == "__main__":
    run_main(main)
