"""The learning rate's schedules as pieces of their own: the cosine's curve and the plateau decay, whose state
travels in a resume file (the Trainer's runs: tests/test_trainer.py)."""

from __future__ import annotations

import math

import pytest
import torch

from textvae_core.config import TrainConfig
from textvae_core.lr import PlateauLR, cosine_lr


def plateau(decay: float = 0.5, patience: int = 2, min_gain: float = 0.1, keep_best: str = "") -> PlateauLR:
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    return PlateauLR(
        optimizer, TrainConfig(lr_decay=decay, lr_patience=patience, lr_min_gain=min_gain, keep_best=keep_best)
    )


def test_the_cosine_starts_at_lr_holds_then_ends_at_lr_final() -> None:
    assert cosine_lr(1e-2, 1e-4, 0, 12) == 1e-2 and cosine_lr(1e-2, 1e-4, 11, 12) == pytest.approx(1e-4)
    assert cosine_lr(1e-2, 1e-4, 3, 12, hold=4) == 1e-2 and cosine_lr(1e-2, 1e-4, 11, 12, hold=4) == pytest.approx(1e-4)


def test_the_plateau_decays_after_its_patience_of_validations_without_a_gain_of_min_gain() -> None:
    lr = plateau()
    # 9.95 and 9.91 are lower, but by less than min_gain: no new best, and the second ends the patience
    assert [lr.after_validation(v) for v in (10.0, 9.95, 9.91)] == [1.0, 1.0, 0.5]
    assert [lr.after_validation(v) for v in (9.5, 9.6, 9.45)] == [0.5, 0.5, 0.25]  # a new best resets the count
    assert plateau(keep_best="rec").watched == "rec" and plateau().watched == "nll_bound"


def test_the_plateau_goes_on_from_its_saved_state_as_if_never_stopped() -> None:
    figures = [10.0, 9.0, 9.5, 9.4, 9.3, 8.0, 8.5, 8.6]
    straight = plateau()
    expected = [straight.after_validation(v) for v in figures]
    first = plateau()
    for v in figures[:3]:
        first.after_validation(v)
    saved = first.state_dict()
    assert saved["num_bad_epochs"] == 1 and saved["best"] == 9.0
    resumed = plateau(min_gain=0.05)  # train.* may change on resume: today's gain holds, the count is carried
    resumed.optimizer.param_groups[0]["lr"] = first.optimizer.param_groups[0]["lr"]
    resumed.load_state_dict(saved)
    assert resumed.scheduler.threshold == 0.05
    assert [resumed.after_validation(v) for v in figures[3:]] == expected[3:]


def test_a_plateau_switched_on_by_a_resume_starts_from_the_best_so_far() -> None:
    lr = plateau(patience=1)
    lr.start_from(9.0, 0)
    assert lr.after_validation(9.5) == 0.5  # no better than the run's best before the decay existed
    fresh = plateau(patience=1)
    fresh.start_from(None, 0)
    assert fresh.scheduler.best == math.inf and fresh.after_validation(9.5) == 1.0
