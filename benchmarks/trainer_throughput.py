"""Does the Trainer cost anything? Training tokens/s of the Trainer against train.train as it was before it.

The baseline is the training loop of the commit before the Trainer, read from git history and run
unmodified (``git show BASELINE:textvae_core/train.py``, imported as a module of this package). Both
train the default small model on Penn Treebank with the same seed, so they see the same batches; runs
alternate within each round, in ABBA order (before, Trainer | Trainer, before | …), so that a drift in
machine load hits both alike; the figure is the median over rounds of the round's ratio.
Tokens/s counts target tokens of the steps after a warm-up, timed from the on_log callback both offer.

    python benchmarks/trainer_throughput.py [--steps 150] [--rounds 4] [--threads 0] [--baseline 5115e92]
"""

from __future__ import annotations

import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a file: the repository's packages

from textvae_core.cli import parse_dataclass, run_main
from textvae_core.config import RunConfig
from textvae_core.paths import ROOT
from textvae_core.train import prepare_data, train


@dataclass
class Options:
    steps: int = 150  # optimizer steps per run
    warmup: int = 10  # first steps left out of the timing
    rounds: int = 4  # rounds, each training both variants (ABBA order)
    baseline: str = "5115e92"  # the commit whose train.train is the reference
    threads: int = 0  # torch threads (0: torch's default; 1 on a busy machine)


def baseline_train(commit: str):
    """``train`` from textvae_core/train.py at ``commit``, imported beside today's modules."""
    source = subprocess.run(
        ["git", "show", f"{commit}:textvae_core/train.py"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    spec = importlib.util.spec_from_loader("textvae_core._train_before_trainer", loader=None)
    module = importlib.util.module_from_spec(spec)
    module.__package__ = "textvae_core"
    sys.modules[spec.name] = module  # dataclasses look their module up
    exec(compile(source, f"{commit}:textvae_core/train.py", "exec"), module.__dict__)
    return module.train


def measure(fn, steps: int, warmup: int, out: Path, tokens: list[int], threads: int) -> float:
    cfg = RunConfig()
    cfg.data.train, cfg.data.valid = str(ROOT / cfg.data.train), ""
    cfg.train.num_threads = threads
    cfg.train.out, cfg.train.max_steps, cfg.train.ckpt_every, cfg.train.progress = str(out), steps, 0, False
    marks: dict[int, float] = {}
    fn(
        cfg,
        on_log=lambda rec: marks.setdefault(rec["step"], time.perf_counter()) if rec.get("split") == "train" else None,
    )
    return sum(tokens[warmup:steps]) / (marks[steps] - marks[warmup])


def main(argv: list[str] | None = None) -> int:
    args = parse_dataclass(Options, argv, "python benchmarks/trainer_throughput.py", __doc__)
    cfg = RunConfig()
    cfg.data.train, cfg.data.valid = str(ROOT / cfg.data.train), ""
    _, train_set, _ = prepare_data(cfg)
    order = train_set.batches(
        cfg.train.batch_size, shuffle=True, seed=cfg.train.seed * 100003, chunk=cfg.train.bucket_chunk
    )
    tokens = [sum(train_set.lengths[i] for i in idx) + len(idx) for idx in order]  # target tokens of step s + 1
    variants = {"train.train before the Trainer": baseline_train(args.baseline), "Trainer (train.train today)": train}
    rates: dict[str, list[float]] = {name: [] for name in variants}
    ratios = []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            order = list(variants.items()) if r % 2 == 0 else list(variants.items())[::-1]  # ABBA: drift cancels
            for name, fn in order:
                rate = measure(
                    fn, args.steps, args.warmup, Path(tmp) / f"{r}-{len(rates[name])}-{name[:5]}", tokens, args.threads
                )
                rates[name].append(rate)
                print(f"round {r + 1}  {name:<32} {rate:>8,.0f} target tokens/s", flush=True)
            ratios.append(rates["Trainer (train.train today)"][-1] / rates["train.train before the Trainer"][-1])
    summary = {k: [round(x) for x in v] for k, v in rates.items()}
    summary |= {"ratio_per_round": [round(x, 3) for x in ratios], "median_ratio": round(statistics.median(ratios), 3)}
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    run_main(main)
