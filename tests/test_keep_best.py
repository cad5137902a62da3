"""Keeping the best weights as a piece of its own: a new low keeps the weights it measured, nothing else
does, and its state travels in a resume file (the Trainer's runs: tests/test_trainer.py)."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from textvae_core.checkpoint import read_weights
from textvae_core.keep_best import KeepBest
from textvae_core.rundir import BEST_WEIGHTS, weights_meta


def weights(value: float) -> torch.nn.Module:
    model = torch.nn.Linear(2, 2)
    with torch.no_grad():
        model.weight.fill_(value)
    return model


def test_a_new_low_keeps_the_weights_it_measured_and_a_higher_figure_keeps_nothing(tmp_path: Path) -> None:
    keeper = KeepBest(tmp_path, "rec")
    state = {"step": 4, "epoch": 0}
    assert keeper.after_validation({"rec": 5.0, "nll_bound": 9.0}, weights(1.0), state) == 5.0
    state = {"step": 8, "epoch": 0}
    assert keeper.after_validation({"rec": 6.0, "nll_bound": 1.0}, weights(2.0), state) is None  # watches D alone
    tensors, _ = read_weights(tmp_path / BEST_WEIGHTS)
    assert torch.equal(tensors["weight"], torch.full((2, 2), 1.0))
    assert keeper.after_validation({"rec": 4.0}, weights(3.0), {"step": 12}, averaged=3) == 4.0
    tensors, _ = read_weights(tmp_path / BEST_WEIGHTS)
    header = weights_meta(tmp_path, BEST_WEIGHTS)
    assert torch.equal(tensors["weight"], torch.full((2, 2), 3.0))
    assert json.loads(header["kept"]) == {"by": "rec", "step": 12, "value": 4.0}
    assert json.loads(header["averaged"]) == {"count": 3, "step": 12}


def test_keep_best_off_keeps_nothing(tmp_path: Path) -> None:
    keeper = KeepBest(tmp_path, "")
    assert keeper.after_validation({"rec": 1.0, "nll_bound": 2.0}, weights(1.0), {"step": 1}) is None
    assert not (tmp_path / BEST_WEIGHTS).exists() and keeper.value is None


def test_its_state_carries_the_low_unless_the_figure_changed(tmp_path: Path) -> None:
    keeper = KeepBest(tmp_path, "nll_bound")
    keeper.after_validation({"nll_bound": 7.5}, weights(1.0), {"step": 2})
    resumed = KeepBest(tmp_path, "nll_bound")
    resumed.load_state_dict(keeper.state_dict())
    assert resumed.value == 7.5
    assert resumed.after_validation({"nll_bound": 8.0}, weights(2.0), {"step": 4}) is None  # not below the low
    other = KeepBest(tmp_path, "rec")  # resumed with another figure: D is not compared with the −ELBO
    other.load_state_dict(keeper.state_dict())
    assert other.value is None
    older = KeepBest(tmp_path, "rec")  # a resume file from before the piece had an entry: its value is taken
    older.load_state_dict({"value": 3.0})
    assert older.value == 3.0
