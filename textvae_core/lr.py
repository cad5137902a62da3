"""The learning rate's two schedules, for the Trainer: a half cosine read off the step count (nothing to
save: a resumed run lands on the same curve), and a plateau decay that acts after validations and keeps
its own state, saved with every checkpoint under ``PlateauLR.KEY``.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from .config import TrainConfig


def cosine_lr(start: float, final: float, step: int, total: int, hold: int = 0) -> float:
    """The lr of update ``step`` (0-based) of ``total`` on a half cosine from ``start`` to ``final``: a fixed
    budget spent with the lr falling where the run settles, instead of waiting for validations to stall.

    The first ``hold`` updates stay at ``start`` and the cosine spans the rest: a run trained on at a constant
    lr then ends on a decay phase of its own length (resumed with a longer budget, it decays from there)."""
    progress = min(1.0, max(0, step - hold) / max(1, total - hold - 1))
    return final + (start - final) * 0.5 * (1.0 + math.cos(math.pi * progress))


class PlateauLR:
    """train.lr_decay < 1: the lr falls by train.lr_decay after train.lr_patience validations without a
    figure at least train.lr_min_gain below the best (a plateau that still creeps down by hundredths counts
    as one). It watches the figure the run keeps its best by (train.keep_best), else the −ELBO."""

    KEY = "scheduler"  # its entry in a resume file (torch's ReduceLROnPlateau state, as before it had a class)

    def __init__(self, optimizer: torch.optim.Optimizer, t: TrainConfig) -> None:
        self.optimizer = optimizer
        self.watched = t.keep_best or "nll_bound"  # the validation figure it counts
        self.min_gain = t.lr_min_gain
        self.scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer,
            mode="min",
            factor=t.lr_decay,
            patience=max(1, t.lr_patience) - 1,  # torch counts validations *beyond* its patience
            threshold=t.lr_min_gain,
            threshold_mode="abs",  # nats per sentence, whatever the −ELBO's size
            eps=0.0,  # decay however small the lr already is
        )

    def after_validation(self, value: float) -> float:
        """Count a scheduled validation's figure; returns the lr of the next update (lowered on a plateau)."""
        self.scheduler.step(value)
        return float(self.optimizer.param_groups[0]["lr"])

    def state_dict(self) -> dict[str, Any]:
        return self.scheduler.state_dict()

    def load_state_dict(self, saved: dict[str, Any]) -> None:
        """The saved count and best; the gain that makes a new best is today's (train.* may change on resume)."""
        self.scheduler.load_state_dict(saved)
        self.scheduler.threshold = self.min_gain

    def start_from(self, best: float | None, bad_validations: int) -> None:
        """A run resumed with a decay it trained without, or from a resume file older than the Trainer: the
        plateau starts from the best figure so far and the validations counted since."""
        self.scheduler.best = best if best is not None else math.inf
        self.scheduler.num_bad_epochs = bad_validations
