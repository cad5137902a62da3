"""Training tokens/s of today's package against the package at another commit (by default the commit
before the Trainer: does the Trainer cost anything?; or any commit, to measure a change such as a faster
output layer).

The baseline is the package at that commit, run unmodified (``git archive BASELINE textvae_core`` into
a scratch folder); each run is its own Python process with its own package on the path, fp32 on both
sides unless ``--amp`` (bf16 autocast on both; the baseline must have it: commits from c2f822b on). Both
train the same model on Penn Treebank with the same seed, so they see the same batches: the default small
model, or with ``--model anchor`` timbmg/Sentence-VAE's defaults (GRU 256, emb 300, z 16, batch 32;
``experiments/anchors/matched.py``); runs alternate within each round, in ABBA order (baseline, today |
today, baseline | …), so that a drift in
machine load hits both alike; the figure is the median over rounds of the round's ratio.
Tokens/s counts target tokens of the steps after a warm-up, timed from the on_log callback both offer.

    python -m benchmarks.trainer_throughput [--steps 150] [--rounds 4] [--threads 0] [--baseline 5115e92] [--amp] [--model anchor]
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from experiments.anchors.matched import sentence_vae_config
from textvae_core.cli import parse_dataclass, run_main
from textvae_core.config import RunConfig
from textvae_core.paths import ROOT
from textvae_core.recipe import resolve
from textvae_core.train import prepare_data


@dataclass
class Options:
    steps: int = 150  # optimizer steps per run
    warmup: int = 10  # first steps left out of the timing
    rounds: int = 4  # rounds, each training both variants (ABBA order)
    baseline: str = "5115e92"  # the commit whose train.train is the reference
    threads: int = 0  # torch threads (0: torch's default; 1 on a busy machine)
    amp: bool = False  # bf16 autocast on both sides (the baseline commit must have it)
    model: str = "small"  # small (the default RunConfig) | anchor (timbmg/Sentence-VAE's defaults: anchors/matched.py)


DRIVER = """
import json, sys, time
from textvae_core.config import RunConfig
from textvae_core.train import train
steps, threads, out, data, amp, model = sys.argv[1:7]
steps, threads, amp = int(steps), int(threads), amp == "1"
if model == "anchor":
    from experiments.anchors.matched import sentence_vae_config
    cfg = sentence_vae_config(out, amp=amp, threads=threads)
else:
    cfg = RunConfig()
    cfg.data.train = data
cfg.data.valid = ""
cfg.train.num_threads, cfg.train.amp = threads, amp
cfg.train.amp_probe = False  # the precision named, not timed (an attribute the baseline ignores)
cfg.train.out, cfg.train.max_steps, cfg.train.ckpt_every, cfg.train.progress = out, steps, 0, False
marks = {}
train(cfg, on_log=lambda r: marks.setdefault(r["step"], time.perf_counter()) if r.get("split") == "train" else None)
print(json.dumps(marks))
"""


def package_at(commit: str, into: Path) -> Path:
    """The textvae_core package as it was at ``commit``, extracted under ``into`` (a folder for PYTHONPATH)."""
    archive = subprocess.run(["git", "archive", commit, "textvae_core"], cwd=ROOT, capture_output=True, check=True)
    into.mkdir(parents=True, exist_ok=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


def measure(
    package_root: Path, steps: int, warmup: int, out: Path, tokens: list[int], threads: int, amp: bool, model: str
) -> float:
    """Target tokens/s of steps warmup+1 … steps, trained in a fresh process importing ``package_root``: it is
    the process's working folder, which ``python -c`` searches first (before PYTHONPATH and the installed
    package), and the repository comes after it for experiments.anchors."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    data = str(ROOT / RunConfig().data.train)
    proc = subprocess.run(
        [sys.executable, "-c", DRIVER, str(steps), str(threads), str(out), data, str(int(amp)), model],
        cwd=package_root, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    marks = {int(k): v for k, v in json.loads(proc.stdout.strip().splitlines()[-1]).items()}
    return sum(tokens[warmup:steps]) / (marks[steps] - marks[warmup])


def main(argv: list[str] | None = None) -> int:
    args = parse_dataclass(Options, argv, "python -m benchmarks.trainer_throughput", __doc__)
    if args.model == "anchor":
        cfg = sentence_vae_config("unused")
    else:
        cfg = resolve(RunConfig())  # the batches the Trainer draws: the recipe's (random) chunking included
        cfg.data.train = str(ROOT / cfg.data.train)
    cfg.data.valid = ""
    _, train_set, _ = prepare_data(cfg)
    order = train_set.batches(
        cfg.train.batch_size, shuffle=True, seed=cfg.train.seed * 100003, chunk=cfg.train.bucket_chunk
    )
    tokens = [sum(train_set.lengths[i] for i in idx) + len(idx) for idx in order]  # target tokens of step s + 1
    base, today = f"package at {args.baseline}", "package today"
    rates: dict[str, list[float]] = {base: [], today: []}
    ratios = []
    with tempfile.TemporaryDirectory() as tmp:
        before = package_at(args.baseline, Path(tmp) / "before")
        variants = {base: before, today: ROOT}
        for r in range(args.rounds):
            order = list(variants.items()) if r % 2 == 0 else list(variants.items())[::-1]  # ABBA: drift cancels
            for name, package in order:
                rate = measure(
                    package,
                    args.steps,
                    args.warmup,
                    Path(tmp) / f"{r}-{'base' if name == base else 'today'}",
                    tokens,
                    args.threads,
                    args.amp,
                    args.model,
                )
                rates[name].append(rate)
                print(f"round {r + 1}  {name:<32} {rate:>8,.0f} target tokens/s", flush=True)
            ratios.append(rates[today][-1] / rates[base][-1])
    summary = {k: [round(x) for x in v] for k, v in rates.items()}
    summary |= {"ratio_per_round": [round(x, 3) for x in ratios], "median_ratio": round(statistics.median(ratios), 3)}
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    run_main(main)
