"""Which precision trains faster on this CPU, measured on the run's own model before its first step.

bf16 autocast is not faster on every CPU with native bf16: on one with AMX it was 0.86× fp32's tokens/s
for the anchor's GRU (hidden 256) and 1.29× at the paper's size (hidden 512, docs/BENCHMARKS.md), so no
rule of thumb picks it; nor between it and fp32 with oneDNN's bf16 matrix products (no casts outside the
products). Timing a few training steps of the run's own batches in each does.
"""

from __future__ import annotations

import copy
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from .device import bf16_matmul

MIN_PARAMS = 1_000_000  # below this a step takes milliseconds either way: not worth a probe, nor its noise
STEPS = 8  # timed training steps per precision, after one untimed step each (allocations, kernel selection)
MARGIN = 0.95  # a reduced precision must take at most this fraction of fp32's time: a tie keeps full precision


@dataclass(frozen=True)
class Mode:
    """One way to train: train.amp and train.bf16_matmul."""

    amp: bool  # bf16 autocast (matrix products and recurrent cells in bf16)
    bf16_matmul: bool  # fp32 tensors, matrix products computed in bf16 inside oneDNN (device.bf16_matmul)


MODES = {"fp32": Mode(False, False), "bf16 matmul": Mode(False, True), "bf16": Mode(True, False)}


@dataclass(frozen=True)
class Probe:
    """The probe's verdict and what it measured (seconds per training step, medians, per MODES name)."""

    choice: str
    seconds: dict[str, float]

    @property
    def mode(self) -> Mode:
        return MODES[self.choice]


def faster_precision(
    model: torch.nn.Module,
    loss_of: Callable[[torch.nn.Module, bool, int], torch.Tensor],
    steps: int = STEPS,
    modes: tuple[str, ...] = tuple(MODES),
) -> Probe:
    """Time whole training steps (``loss_of(copy, amp, k)``, backward, Adam) in each mode on the run's own
    batches k = 0, 1, …: every mode steps on batch k, the order rotating with k, so that the batch's shape
    and a neighbour's load weigh on all alike. Timing the forward and backward passes alone is not enough:
    on a CPU with AMX they ran 1.2× faster in bf16 at the anchor's size while whole steps tied. The steps
    run on a copy with its own optimizer (a batch-normalised μ also updates running statistics) and the
    random stream is restored afterwards: the run trains as if no probe had run."""
    probe = copy.deepcopy(model)
    optimizer = torch.optim.Adam(probe.parameters(), fused=True)
    rng = torch.get_rng_state()
    times: dict[str, list[float]] = {name: [] for name in modes}
    try:
        for k in range(steps + 1):
            for name in modes[k % len(modes) :] + modes[: k % len(modes)]:
                t0 = time.perf_counter()
                with bf16_matmul(torch.device("cpu"), MODES[name].bf16_matmul):
                    loss_of(probe, MODES[name].amp, k).backward()
                    torch.nn.utils.clip_grad_norm_(probe.parameters(), float("inf"))
                    optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                if k > 0:
                    times[name].append(time.perf_counter() - t0)
    finally:
        torch.set_rng_state(rng)
    seconds = {name: statistics.median(t) for name, t in times.items()}
    fastest = min(seconds, key=seconds.__getitem__)
    choice = fastest if fastest == "fp32" or seconds[fastest] <= MARGIN * seconds["fp32"] else "fp32"
    return Probe(choice=choice, seconds=seconds)


def worth_probing(model: torch.nn.Module) -> bool:
    """Large enough for the precision to matter (MIN_PARAMS)."""
    return sum(p.numel() for p in model.parameters()) >= MIN_PARAMS
