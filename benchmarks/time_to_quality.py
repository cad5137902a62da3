"""Time to quality against the anchor itself: test −ELBO after each epoch, and the wall time to reach it.

    python -m benchmarks.time_to_quality --anchor SRC --anchor_python VENV/bin/python \\
        [--epochs 4] [--snapshot_steps 0] [--threads 2] [--amp true] [--bf16_matmul false] [--scratch DIR]

In one sitting, one after the other (never side by side: each has the CPU to itself, as far as the
machine's other jobs allow), trains timbmg/Sentence-VAE unmodified at its defaults for --epochs epochs
(its train.py from a scratch folder under its own interpreter; experiments/anchors/sentence_vae.py) and
our Trainer at the same defaults (GRU 256, emb 300, z 16, batch 32, embedding dropout 0.5, logistic KL
anneal, no clipping: experiments/anchors/matched.py) for as many epochs on the same PTB training
sentences. Then, with the training clocks stopped, it measures every per-epoch checkpoint of the anchor
on the test split with the anchor's own model.py and ptb.py, and every epoch's weights of ours (and
every --snapshot_steps steps) with ours: D and KL per sentence from one z ~ q(z|x), −ELBO = D + KL per
sentence and per target token, each beside the training wall time at which those weights existed
(from the launch of the anchor's process, from the creation of our Trainer: data reading, model
building and the validation passes of earlier epochs included on both sides).

It ends with the time each side needs to reach the anchor's final test −ELBO per sentence (the issue's
goal: ours in ≤ ¼ of the anchor's time) and per target token.

The tokenisations differ, so compare with care: we read PTB as distributed (whitespace tokens + <eos>,
82,430 test target tokens, vocabulary 9,972), the anchor re-tokenises it with NLTK's TweetTokenizer and
truncates at 59 words + <eos> (85,358 test target tokens, vocabulary 9,877). Per sentence both sides
score the same 3,761 test sentences (the anchor four of them truncated); per token each counts its own
tokens. --train_sentences / --valid_sentences / --test_sentences shrink the run for a quick check (a
seeded random subset of training sentences, the first N of the others, the same sentences for both).
It prints figures, not pass/fail.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from experiments.anchors import matched
from experiments.anchors import sentence_vae as svae
from textvae_core.cli import CLIError, parse_dataclass, run_main
from textvae_core.paths import repo_path


@dataclass
class Options:
    anchor: str = ""  # a timbmg/Sentence-VAE checkout (a scratch folder outside the repository)
    anchor_python: str = ""  # the python of a venv with torch, numpy, nltk and tensorboardX
    epochs: int = 4  # training epochs of each side (the anchor's README reports 4)
    threads: int = 2  # CPU threads of each side (OMP_NUM_THREADS for the anchor, torch threads for us)
    amp: bool = True  # ours in bf16 autocast (our default where the CPU has native bf16); false: fp32
    bf16_matmul: bool = False  # ours, with --amp false: fp32 with oneDNN's bf16 matrix products
    z_mode: str = "init"  # ours: how z enters the decoder (init: h0, as the anchor does; concat; both)
    snapshot_steps: int = 0  # ours: also measure the weights every this many steps (0: at each epoch's end only)
    train_sentences: int = 0  # a seeded random subset of this many training sentences for both (0: all 42,068)
    valid_sentences: int = 0  # the first N validation sentences for both (0: all 3,370)
    test_sentences: int = 0  # measure on the first N test sentences (0: all 3,761)
    seed: int = 0  # our training seed and the subset's
    order: str = "anchor-first"  # anchor-first | ours-first
    scratch: str = ""  # folder for the anchor's data and runs, kept and reused ("": temporary)
    out: str = ""  # also write every figure to this JSON file


def train_anchor(args: Options, anchor: svae.Anchor, sub: svae.Subset, work: Path) -> list[dict]:
    def echo(t: float, line: str) -> None:
        if " Epoch " in line:
            print(f"  anchor {t:8.1f} s  {line}", flush=True)

    run = svae.train(
        anchor,
        sub.data_dir,
        work / f"runs/quality-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}",
        args.epochs,
        echo=echo,
    )
    print(f"  anchor: measuring {len(run.log.epochs)} checkpoints on the test split …", flush=True)
    return svae.evaluate(anchor, run, sub.data_dir, limit=args.test_sentences)


def train_ours(args: Options, sub: svae.Subset) -> tuple[list[dict], float]:
    with tempfile.TemporaryDirectory() as out:
        cfg = matched.sentence_vae_config(f"{out}/run", args.amp, args.threads, args.seed, args.z_mode, args.epochs)
        cfg.train.bf16_matmul = args.bf16_matmul
        run = matched.train_with_snapshots(
            cfg,
            sub.train_lines if args.train_sentences else None,
            sub.valid_lines if args.valid_sentences else None,
            args.snapshot_steps,
        )
        print(f"  ours: trained in {run.seconds:.1f} s; measuring {len(run.snapshots)} snapshots …", flush=True)
        return matched.evaluate_snapshots(run, limit=args.test_sentences), run.seconds


def first_reaching(records: list[dict], key: str, target: float) -> dict | None:
    return next((r for r in records if r[key] <= target), None)


def report(anchor_rows: list[dict], ours_rows: list[dict], args: Options) -> dict:
    print("\n| side | epoch | step | wall s | test D | test KL | −ELBO / sentence | −ELBO / target token |")
    print("|---|---|---|---|---|---|---|---|")
    for r in anchor_rows:
        print(
            f"| anchor | {r['epoch'] + 1} | | {r['seconds']:.0f} | {r['rec']:.2f} | {r['kl']:.2f} "
            f"| {r['nll_bound']:.2f} | {r['nll_bound_per_token']:.3f} |"
        )
    for r in ours_rows:
        print(
            f"| ours | {r['epoch']:g} | {r['step']} | {r['seconds']:.0f} | {r['rec']:.2f} | {r['kl']:.2f} "
            f"| {r['nll_bound']:.2f} | {r['nll_bound_per_token']:.3f} |"
        )
    a, o = anchor_rows[-1], ours_rows[-1]
    print(
        f"\ntest: anchor {a['n_sentences']} sentences / {a['n_tokens']:,} target tokens (TweetTokenizer, ≤ 59 words + "
        f"<eos>); ours {o['n_sentences']} sentences / {o['n_tokens']:,} (whitespace PTB + <eos>)"
    )
    summary: dict = {
        "anchor": anchor_rows,
        "ours": ours_rows,
        "epochs": args.epochs,
        "amp": args.amp,
        "bf16_matmul": args.bf16_matmul,
    }
    for key, unit in (("nll_bound", "per sentence"), ("nll_bound_per_token", "per target token")):
        target, t_anchor = a[key], a["seconds"]
        hit = first_reaching(ours_rows, key, target)
        if hit is None:
            line = f"not reached by ours in {args.epochs} epochs (ours at the end: {o[key]:.3f})"
            summary[f"time_ratio {unit}"] = None
        else:
            ratio = hit["seconds"] / t_anchor
            line = f"ours {hit['seconds']:.0f} s (step {hit['step']}, {hit[key]:.3f}): {ratio:.2f}× the anchor's time"
            summary[f"time_ratio {unit}"] = round(ratio, 3)
        print(f"anchor's final −ELBO {unit} {target:.3f}, reached by the anchor in {t_anchor:.0f} s; {line}")
    return summary


def main(argv: list[str] | None = None) -> int:
    args = parse_dataclass(Options, argv, "python -m benchmarks.time_to_quality", __doc__)
    if not (args.anchor and args.anchor_python):
        raise CLIError(
            "--anchor SRC and --anchor_python PATH are required (a timbmg/Sentence-VAE checkout and its venv)"
        )
    if args.order not in {"anchor-first", "ours-first"}:
        raise CLIError(f"--order must be anchor-first or ours-first, not {args.order!r}")
    try:
        anchor = svae.Anchor.at(args.anchor, args.anchor_python, args.threads)
        with tempfile.TemporaryDirectory(prefix="svae-") as tmp:
            work = Path(args.scratch).resolve() if args.scratch else Path(tmp)
            work.mkdir(parents=True, exist_ok=True)
            print(f"preparing the anchor's data in {work / 'prep'} (its train.py with 0 epochs) …", flush=True)
            data = svae.prepare(anchor, repo_path("data/ptb"), work)
            name = f"subset-{args.train_sentences}-{args.valid_sentences}-{args.seed}"
            sub = svae.make_subset(data, work / name, args.train_sentences, args.valid_sentences, args.seed)
            results: dict[str, list[dict]] = {}
            for side in ("anchor", "ours") if args.order == "anchor-first" else ("ours", "anchor"):
                print(f"{side}: {args.epochs} epochs on {len(sub.train_lines):,} sentences …", flush=True)
                if side == "anchor":
                    results[side] = train_anchor(args, anchor, sub, work)
                else:
                    results[side], _ = train_ours(args, sub)
    except svae.AnchorError as err:
        raise CLIError(str(err)) from None
    summary = report(results["anchor"], results["ours"], args)
    if args.out:
        Path(args.out).write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in summary.items() if k.startswith("time_ratio")}))
    return 0


if __name__ == "__main__":
    run_main(main)
