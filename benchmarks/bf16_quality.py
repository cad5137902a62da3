"""bf16 on the CPU against fp32: training speed, and the test −ELBO after the same budget.

    python -m benchmarks.bf16_quality [--steps 658] [--seeds 0,1] [--threads 2] [--size small] [--config anchor|RUN/config.json]

Trains the same run (β_C with C = 15, PTB, the default small model unless --size says otherwise; or
--config: timbmg/Sentence-VAE's defaults, or a run's config.json) in each of textvae_core.precision's
modes: fp32 (``--train.amp=false``), fp32 with oneDNN's bf16 matrix products (``--train.bf16_matmul=true``:
fp32 tensors, the products computed in bf16) and bf16 autocast (``--train.amp=true``: bf16 matrix products
and recurrent cells, fp32 master weights, loss and sums over a sentence in fp32), one seed after the
other, the modes' order rotating with the seed so that a machine whose load drifts slows all alike.
Evaluation is fp32 for all: the test −ELBO per sentence (one z ~ q(z|x) each, closed-form KL) on all 3,761
PTB test sentences. Prints a table and the speed ratios; it measures, it does not pass or fail.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from experiments.anchors.matched import sentence_vae_config
from textvae_core.cli import parse_dataclass, run_main
from textvae_core.paths import ROOT
from textvae_core.precision import MODES, Mode
from textvae_core.rundir import read_metrics


@dataclass
class Options:
    steps: int = 658  # optimizer steps per run (658 = one PTB epoch at batch 64)
    seeds: list[int] = field(default_factory=lambda: [0, 1])  # seeds, each trained in every mode
    threads: int = 2  # torch CPU threads per run
    size: str = "small"  # model size preset (small, paper, autogen)
    config: str = ""  # instead of --size: "anchor" (timbmg/Sentence-VAE's defaults) or a run's config.json


def train_one(out: Path, mode: Mode, seed: int, args: Options) -> dict[str, float]:
    if args.config == "anchor":
        recipe = [f"--config={write_anchor_config(out.parent)}"]
    elif args.config:
        recipe = [f"--config={args.config}"]
    else:
        recipe = ["--objective=beta-c", "--objective.C=15", f"--size={args.size}"]
    cmd = [
        sys.executable, "-m", "textvae_core.train", *recipe, f"--out={out}", f"--train.max_steps={args.steps}",
        f"--train.seed={seed}", f"--train.amp={str(mode.amp).lower()}", f"--train.bf16_matmul={str(mode.bf16_matmul).lower()}",
        "--train.amp_probe=false", f"--train.num_threads={args.threads}", "--train.progress=false",
        "--train.log_every=10", "--train.val_every=0", "--data.valid=", "--train.keep_best=", "--train.max_minutes=0",
        "--train.init_from=",
    ]  # fmt: skip
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    steps = read_metrics(out, "train")
    rate = statistics.median(r["tok_per_s"] for r in steps[len(steps) // 5 :])  # after warm-up
    return {"tok_per_s": rate, **test_bound(out, args.threads)}


def write_anchor_config(folder: Path) -> Path:
    """timbmg/Sentence-VAE's defaults as a config.json the training CLI reads (experiments.anchors.matched)."""
    path = folder / "anchor-config.json"
    if not path.exists():
        sentence_vae_config(str(folder / "unused")).save(path)
    return path


def test_bound(run: Path, threads: int) -> dict[str, float]:
    import torch

    from textvae_core.checkpoint import load_run
    from textvae_core.data import Corpus, read_corpus
    from textvae_core.metrics import heldout_bounds

    torch.set_num_threads(threads)
    loaded = load_run(run)
    test = Corpus(read_corpus(str(ROOT / loaded.config.data.test)), loaded.vocab)
    figures = heldout_bounds(loaded.model, test, torch.device("cpu"))
    return {"nll_bound": figures["nll_bound"], "kl": figures["kl"], "rec": figures["rec"]}


def main(argv: list[str] | None = None) -> int:
    args = parse_dataclass(Options, argv, "python -m benchmarks.bf16_quality", __doc__)
    rows, names = [], list(MODES)
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            for name in names[seed % len(names) :] + names[: seed % len(names)]:
                res = train_one(Path(tmp) / f"{name.replace(' ', '-')}-{seed}", MODES[name], seed, args)
                rows.append({"precision": name, "seed": seed, **res})
                print(json.dumps(rows[-1]), flush=True)
    what = args.config or f"size {args.size}"
    print(f"\n{what}, {args.steps} steps, {args.threads} threads; test per sentence (3,761 sentences)")
    print("| precision | seed | target tokens / s | test −ELBO | D | KL |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['precision']} | {r['seed']} | {r['tok_per_s']:,.0f} | {r['nll_bound']:.2f} | {r['rec']:.2f} | {r['kl']:.2f} |"
        )
    mean = {p: statistics.mean(r["tok_per_s"] for r in rows if r["precision"] == p) for p in names}
    elbo = {p: [r["nll_bound"] for r in rows if r["precision"] == p] for p in names}
    spread = max(max(v) - min(v) for v in elbo.values())
    for p in names[1:]:
        gap = statistics.mean(elbo[p]) - statistics.mean(elbo["fp32"])
        print(f"{p} / fp32: tokens/s {mean[p] / mean['fp32']:.2f}×, test −ELBO {gap:+.2f} nats (mean over seeds)")
    print(f"seed-to-seed spread of the test −ELBO within a precision: up to {spread:.2f} nats")
    return 0


if __name__ == "__main__":
    run_main(main)
