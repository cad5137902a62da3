"""The precision probe: it picks the faster precision (a tie keeps fp32), records the pick, and leaves no trace."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import torch
from conftest import tiny_config

from textvae_core import precision, trainer
from textvae_core.config import RunConfig
from textvae_core.rundir import CONFIG, METRICS
from textvae_core.trainer import Trainer


def timed(fp32_s: float, bf16_s: float):
    """A one-weight model and a loss that takes the given seconds to compute in each precision."""
    model = torch.nn.Module()
    model.weight = torch.nn.Parameter(torch.ones(3))

    def loss_of(m: torch.nn.Module, bf16: bool, k: int) -> torch.Tensor:
        time.sleep(bf16_s if bf16 else fp32_s)
        return (m.weight * k).sum()

    return model, loss_of


@pytest.mark.parametrize(
    ("fp32_s", "bf16_s", "picks_bf16"), [(0.02, 0.005, True), (0.005, 0.02, False), (0.05, 0.05, False)]
)
def test_the_probe_picks_the_faster_precision_and_a_tie_keeps_fp32(
    fp32_s: float, bf16_s: float, picks_bf16: bool
) -> None:
    model, loss_of = timed(fp32_s, bf16_s)
    probe = precision.faster_precision(model, loss_of, steps=3)
    assert probe.bf16 is picks_bf16
    assert probe.fp32_s >= fp32_s and probe.bf16_s >= bf16_s
    assert torch.equal(model.weight.detach(), torch.ones(3)), "the probe steps a copy, never the model"


def run(corpus_dir: Path, out: Path, amp: bool, probe: bool) -> RunConfig:
    cfg = tiny_config(corpus_dir, out, "beta-c", C=2.0)
    cfg.train.max_steps, cfg.train.word_dropout, cfg.train.amp, cfg.train.amp_probe = 6, 0.3, amp, probe
    Trainer(cfg).fit()
    return RunConfig.load(out / CONFIG)


def test_a_probed_run_records_its_pick_and_trains_as_one_told_that_precision(
    corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pick lands in config.json (amp, and amp_probe off so a resume keeps it) and as an event; the steps
    after it equal, bit for bit, those of a run given that precision outright: the probe's own steps (word
    dropout draws, batch-normalised statistics, Adam) leave no trace."""
    monkeypatch.setattr(precision, "MIN_PARAMS", 0)  # the tiny model counts as large
    monkeypatch.setattr(trainer, "cpu_has_bf16", lambda: True)  # the probe runs on any CPU
    probed = run(corpus_dir, tmp_path / "probed", amp=True, probe=True)
    assert probed.train.amp_probe is False
    logs = [json.loads(line) for line in (tmp_path / "probed" / METRICS).read_text().splitlines()]
    [event] = [r for r in logs if r.get("event") == "precision"]
    assert event["bf16"] is probed.train.amp and event["fp32_ms"] > 0 and event["bf16_ms"] > 0
    told = run(corpus_dir, tmp_path / "told", amp=probed.train.amp, probe=False)
    assert told.train.amp == probed.train.amp

    def rec(name: str) -> list[float]:
        lines = (tmp_path / name / METRICS).read_text().splitlines()
        return [r["rec"] for r in map(json.loads, lines) if r["split"] == "train"]

    assert rec("probed") == rec("told") and len(rec("told")) == 6


def test_small_models_and_fp32_runs_are_not_probed(
    corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(trainer, "cpu_has_bf16", lambda: True)
    small = run(corpus_dir, tmp_path / "small", amp=True, probe=True)  # the tiny model is under MIN_PARAMS
    assert small.train.amp is True and small.train.amp_probe is True
    monkeypatch.setattr(precision, "MIN_PARAMS", 0)
    fp32 = run(corpus_dir, tmp_path / "fp32", amp=False, probe=True)  # asked for fp32: nothing to choose
    assert fp32.train.amp is False and fp32.train.amp_probe is True
    assert "precision" not in (tmp_path / "fp32" / METRICS).read_text()
