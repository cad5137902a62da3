"""Which precision trains faster on this CPU, measured on the run's own model before its first step.

bf16 autocast is not faster on every CPU with native bf16: on one with AMX it was 0.86× fp32's tokens/s
for the anchor's GRU (hidden 256) and 1.29× at the paper's size (hidden 512, docs/BENCHMARKS.md), so no
rule of thumb picks it. Timing a few training steps of the run's own batches in each does.
"""

from __future__ import annotations

import copy
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

MIN_PARAMS = 1_000_000  # below this a step takes milliseconds either way: not worth a probe, nor its noise
STEPS = 8  # timed training steps per precision, after one untimed step each (allocations, kernel selection)
MARGIN = 0.95  # bf16 must take at most this fraction of fp32's time: a tie keeps full precision


@dataclass(frozen=True)
class Probe:
    """The probe's verdict and what it measured (seconds per training step, medians)."""

    bf16: bool
    fp32_s: float
    bf16_s: float


def faster_precision(
    model: torch.nn.Module, loss_of: Callable[[torch.nn.Module, bool, int], torch.Tensor], steps: int = STEPS
) -> Probe:
    """Time whole training steps (``loss_of(copy, bf16, k)``, backward, Adam) in each precision on the run's
    own batches k = 0, 1, …: both precisions step on batch k, in turn first, so that the batch's shape and a
    neighbour's load weigh on both alike. Timing the forward and backward passes alone is not enough: on a
    CPU with AMX they ran 1.2× faster in bf16 at the anchor's size while whole steps tied. The steps run on
    a copy with its own optimizer (a batch-normalised μ also updates running statistics) and the random
    stream is restored afterwards: the run trains as if no probe had run."""
    probe = copy.deepcopy(model)
    optimizer = torch.optim.Adam(probe.parameters(), fused=True)
    rng = torch.get_rng_state()
    times: dict[bool, list[float]] = {False: [], True: []}
    try:
        for k in range(steps + 1):
            for bf16 in (False, True) if k % 2 == 0 else (True, False):
                t0 = time.perf_counter()
                loss_of(probe, bf16, k).backward()
                torch.nn.utils.clip_grad_norm_(probe.parameters(), float("inf"))
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                if k > 0:
                    times[bf16].append(time.perf_counter() - t0)
    finally:
        torch.set_rng_state(rng)
    fp32_s, bf16_s = statistics.median(times[False]), statistics.median(times[True])
    return Probe(bf16=bf16_s <= MARGIN * fp32_s, fp32_s=fp32_s, bf16_s=bf16_s)


def worth_probing(model: torch.nn.Module) -> bool:
    """Large enough for the precision to matter (MIN_PARAMS)."""
    return sum(p.numel() for p in model.parameters()) >= MIN_PARAMS
