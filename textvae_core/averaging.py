"""Stochastic weight averaging (Izmailov et al. 2018): the equal-weight mean of the weights a run passes
through from ``train.average_from`` epochs on, one sample every ``train.average_every`` updates.

Why: at a constant learning rate the weights wander around a basin rather than settle in it; their mean
lies nearer its centre. Measured on the β_C C = 100 run at the paper's size (docs/PAPER_SIZE.md), the mean
of six checkpoints of epochs 8–10 lowered test D by 0.82 nats and raised BLEU-4 by 0.44 over the last
step's weights, with no further training; on a decaying lr it added nothing. The Trainer validates, keeps
and ships the mean once it exists; the raw weights go on training, and both are saved with every
checkpoint, so a resumed run averages exactly as an unbroken one. ``Averaging`` is the piece the Trainer
calls: it samples after a step, lends the mean, writes average.safetensors after a validation and owns
the mean's part of a resume file.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import torch

from .checkpoint import save_average
from .config import TrainConfig
from .rundir import CheckpointError


def start_step(t: TrainConfig, n_batches: int) -> int | None:
    """The update after which the first sample is taken (None: averaging is off)."""
    return round(t.average_from * n_batches) if t.average_from > 0 else None


def sample_due(step: int, start: int | None, every: int) -> bool:
    """Whether the weights after update ``step`` join the mean: at ``start`` and every ``every`` updates on."""
    return start is not None and step >= start and (step - start) % every == 0


class WeightAverage:
    """The running mean of a model's floating-point tensors (parameters and buffers), in float32."""

    def __init__(self, model: torch.nn.Module) -> None:
        self.tensors = {k: v.detach().float().clone() for k, v in model.state_dict().items() if v.is_floating_point()}
        self.count = 0  # samples in the mean
        self._model: torch.nn.Module | None = None

    @torch.no_grad()
    def add(self, model: torch.nn.Module) -> None:
        """Fold the model's current weights into the mean (the n-th sample weighs 1/n)."""
        self.count += 1
        current = model.state_dict()
        for name, mean in self.tensors.items():
            mean.lerp_(current[name].detach().float(), 1.0 / self.count)

    @torch.no_grad()
    def model(self, like: torch.nn.Module) -> torch.nn.Module:
        """A model holding the mean (one copy of ``like``, refilled on every call; eval mode)."""
        if self._model is None:
            self._model = copy.deepcopy(like)
        state = self._model.state_dict()
        for name, mean in self.tensors.items():
            state[name].copy_(mean)
        return self._model.eval()

    def state_dict(self) -> dict[str, object]:
        """What a resume file keeps of the mean."""
        return {"count": self.count, "tensors": self.tensors}

    def load_state_dict(self, saved: dict[str, object]) -> None:
        tensors = saved["tensors"]
        if not isinstance(tensors, dict) or set(tensors) != set(self.tensors):
            raise CheckpointError("the resume file's weight average does not fit this model")
        self.tensors = {k: v.float().to(self.tensors[k].device).clone() for k, v in tensors.items()}
        self.count = int(saved["count"])  # type: ignore[call-overload]


class Averaging:
    """train.average_from for the Trainer: the mean of the weights sampled from update ``start`` on, every
    ``every`` updates, and its file in the run folder."""

    KEY = "average"  # its entry in a resume file (written once the mean holds a sample)

    def __init__(self, model: torch.nn.Module, run_dir: Path, start: int, every: int) -> None:
        self.mean = WeightAverage(model)
        self.run_dir, self.start, self.every = Path(run_dir), start, every

    @property
    def count(self) -> int:
        """Samples in the mean."""
        return self.mean.count

    def after_step(self, step: int, model: torch.nn.Module) -> None:
        """Fold the weights after update ``step`` into the mean when a sample is due."""
        if sample_due(step, self.start, self.every):
            self.mean.add(model)

    def model(self, like: torch.nn.Module) -> torch.nn.Module | None:
        """A model holding the mean (refilled from it on every call), or None before the first sample."""
        return self.mean.model(like) if self.count else None

    def save(self, model: torch.nn.Module, state: dict[str, Any]) -> None:
        """average.safetensors: the mean as a validation just measured it (``model``, its batch-normalised
        statistics refreshed), with the training ``state`` in the header."""
        save_average(self.run_dir, model, state, self.count)

    def state_dict(self) -> dict[str, object] | None:
        """The mean's part of a resume file; None before the first sample (nothing to keep)."""
        return self.mean.state_dict() if self.count else None

    def load_state_dict(self, saved: dict[str, object]) -> None:
        self.mean.load_state_dict(saved)
