"""Does ``torch.compile`` speed up our training step on this CPU? Our Trainer at timbmg/Sentence-VAE's
defaults (``experiments/anchors/matched.py``), the network eager against the same network compiled
(inductor, dynamic shapes: sentence lengths vary from batch to batch).

One process, one model: each round trains on one slice of batches four times, in ABBA order (eager,
compiled, compiled, eager), so both variants time the same batches and a drift in machine load hits both
alike; the figure is the median over rounds of the round's time ratio. The compiled network is warmed up
first on batches of its own (its compile time is printed, not counted).

    python -m benchmarks.compile_speed [--rounds 3] [--batches 40] [--threads 2] [--amp]
"""

from __future__ import annotations

import statistics
import tempfile
import time
from dataclasses import dataclass

import torch

from experiments.anchors.matched import sentence_vae_config
from textvae_core.cli import parse_dataclass, run_main
from textvae_core.trainer import Trainer


@dataclass
class Options:
    rounds: int = 3  # rounds, each timing both variants twice on one slice of batches (ABBA)
    batches: int = 40  # optimizer steps per timing
    warmup: int = 20  # batches that compile the network (not timed)
    threads: int = 2  # torch threads
    amp: bool = False  # bf16 autocast (fp32 master weights), as train.amp


def main(argv: list[str] | None = None) -> int:
    opt = parse_dataclass(Options, argv, "python -m benchmarks.compile_speed", __doc__)
    torch.set_num_threads(opt.threads)
    with tempfile.TemporaryDirectory() as out:
        trainer = Trainer(sentence_vae_config(out, amp=opt.amp, threads=opt.threads))
        eager = trainer.net
        compiled = torch.compile(trainer.model, dynamic=True)
        batches = trainer._epoch_batches(0)

        def seconds(net: torch.nn.Module, chunk: list[list[int]]) -> float:
            trainer.net = net
            start = time.perf_counter()
            for indices in chunk:
                trainer.train_step(indices)
            return time.perf_counter() - start

        print(f"compile warm-up: {seconds(compiled, batches[: opt.warmup]):.1f} s", flush=True)
        ratios = []
        for r in range(opt.rounds):
            lo = opt.warmup + r * opt.batches
            chunk = batches[lo : lo + opt.batches]
            e1, c1, c2, e2 = (seconds(net, chunk) for net in (eager, compiled, compiled, eager))
            ratios.append((e1 + e2) / (c1 + c2))
            sentences = sum(map(len, chunk))
            print(
                f"round {r + 1}: eager {2 * sentences / (e1 + e2):.1f} sentences/s, compiled "
                f"{2 * sentences / (c1 + c2):.1f}: compiled / eager {ratios[-1]:.2f}×",
                flush=True,
            )
    precision = "bf16 autocast" if opt.amp else "fp32"
    print(f"{precision}, {opt.threads} threads: compiled / eager, median of rounds {statistics.median(ratios):.2f}×")
    return 0


if __name__ == "__main__":
    run_main(main)
