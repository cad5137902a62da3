"""The precision probe: it picks the fastest mode (a tie keeps fp32), records the pick, and leaves no trace."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import torch
from conftest import tiny_config

from textvae_core import precision, trainer
from textvae_core.config import RunConfig
from textvae_core.rundir import CONFIG, METRICS, RunSetup, read_setup
from textvae_core.trainer import Trainer


def timed(seconds: dict[str, float]):
    """A one-weight model and a loss that takes the given seconds to compute in each mode (MODES' names)."""
    model = torch.nn.Module()
    model.weight = torch.nn.Parameter(torch.ones(3))

    def loss_of(m: torch.nn.Module, amp: bool, k: int) -> torch.Tensor:
        in_bf16 = torch.backends.mkldnn.matmul.fp32_precision == "bf16"
        time.sleep(seconds["bf16" if amp else "bf16 matmul" if in_bf16 else "fp32"])
        return (m.weight * k).sum()

    return model, loss_of


@pytest.mark.parametrize(
    ("fp32", "matmul", "bf16", "pick"),
    [
        (0.02, 0.03, 0.005, "bf16"),
        (0.02, 0.005, 0.01, "bf16 matmul"),
        (0.005, 0.02, 0.02, "fp32"),
        (0.05, 0.05, 0.05, "fp32"),  # a tie keeps full precision
    ],
)
def test_the_probe_picks_the_fastest_mode_and_a_tie_keeps_fp32(
    fp32: float, matmul: float, bf16: float, pick: str
) -> None:
    model, loss_of = timed({"fp32": fp32, "bf16 matmul": matmul, "bf16": bf16})
    before = torch.backends.mkldnn.matmul.fp32_precision
    probe = precision.faster_precision(model, loss_of, steps=3)
    assert probe.choice == pick and probe.mode == precision.MODES[pick]
    assert probe.seconds["fp32"] >= fp32 and probe.seconds["bf16 matmul"] >= matmul and probe.seconds["bf16"] >= bf16
    assert torch.equal(model.weight.detach(), torch.ones(3)), "the probe steps a copy, never the model"
    assert torch.backends.mkldnn.matmul.fp32_precision == before, "the process's matmul precision is restored"


def config(corpus_dir: Path, out: Path, amp: bool, probe: bool, matmul: bool = False) -> RunConfig:
    cfg = tiny_config(corpus_dir, out, "beta-c", C=2.0)
    cfg.train.max_steps, cfg.train.word_dropout, cfg.train.amp, cfg.train.amp_probe = 6, 0.3, amp, probe
    cfg.train.bf16_matmul = matmul
    return cfg


def run(corpus_dir: Path, out: Path, amp: bool, probe: bool, matmul: bool = False) -> RunSetup:
    """Train; what setup.json says it trained in (config.json keeps the precision settings as given)."""
    cfg = config(corpus_dir, out, amp, probe, matmul)
    Trainer(cfg).fit()
    saved = RunConfig.load(out / CONFIG).train
    assert (saved.amp, saved.amp_probe, saved.bf16_matmul) == (amp, probe, matmul)
    setup = read_setup(out)
    assert setup is not None
    return setup


def test_a_probed_run_records_its_pick_and_trains_as_one_told_that_precision(
    corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pick lands in setup.json (config.json keeps amp and amp_probe as given) and as an event; the steps
    after it equal, bit for bit, those of a run given that precision outright: the probe's own steps (word
    dropout draws, batch-normalised statistics, Adam) leave no trace."""
    monkeypatch.setattr(precision, "MIN_PARAMS", 0)  # the tiny model counts as large
    monkeypatch.setattr(trainer, "cpu_has_bf16", lambda: True)  # the probe runs on any CPU
    probed = run(corpus_dir, tmp_path / "probed", amp=True, probe=True)
    logs = [json.loads(line) for line in (tmp_path / "probed" / METRICS).read_text().splitlines()]
    [event] = [r for r in logs if r.get("event") == "precision"]
    assert event["bf16"] is probed.amp and event["bf16_matmul"] is probed.bf16_matmul
    assert event["fp32_ms"] > 0 and event["bf16_ms"] > 0 and event["bf16_matmul_ms"] > 0
    assert probed.probed == event["choice"]
    assert precision.MODES[event["choice"]] == precision.Mode(probed.amp, probed.bf16_matmul)
    told = run(corpus_dir, tmp_path / "told", amp=probed.amp, probe=False, matmul=probed.bf16_matmul)
    assert (told.amp, told.bf16_matmul, told.probed) == (probed.amp, probed.bf16_matmul, None)

    def rec(name: str) -> list[float]:
        lines = (tmp_path / name / METRICS).read_text().splitlines()
        return [r["rec"] for r in map(json.loads, lines) if r["split"] == "train"]

    assert rec("probed") == rec("told") and len(rec("told")) == 6


def test_small_models_and_fp32_runs_are_not_probed(
    corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(trainer, "cpu_has_bf16", lambda: True)
    small = run(corpus_dir, tmp_path / "small", amp=True, probe=True)  # the tiny model is under MIN_PARAMS
    assert small.amp is True and small.probed is None
    monkeypatch.setattr(precision, "MIN_PARAMS", 0)
    fp32 = run(corpus_dir, tmp_path / "fp32", amp=False, probe=True)  # asked for fp32: nothing to choose
    assert fp32.amp is False and fp32.probed is None
    assert "precision" not in (tmp_path / "fp32" / METRICS).read_text()


def test_bf16_matmul_covers_the_training_step_and_not_validation(
    corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """train.bf16_matmul: the step's forward and backward run with oneDNN's bf16 products; the validation the
    weights are kept by runs in full precision, and the process's setting is left as it was."""
    seen: dict[str, set[str]] = {"train": set(), "valid": set()}
    cfg = tiny_config(corpus_dir, tmp_path / "run", "beta-c", C=2.0)
    cfg.train.max_steps, cfg.train.val_every, cfg.train.bf16_matmul, cfg.train.amp = 4, 2, True, False
    run = Trainer(cfg)
    terms, validate = run._terms, trainer.heldout_bounds
    monkeypatch.setattr(run, "_terms", lambda *a: seen["train"].add(matmul()) or terms(*a))
    monkeypatch.setattr(trainer, "heldout_bounds", lambda *a, **k: seen["valid"].add(matmul()) or validate(*a, **k))
    before = matmul()
    run.fit()
    assert seen == {"train": {"bf16"}, "valid": {before}} and before != "bf16" and matmul() == before


def matmul() -> str:
    return torch.backends.mkldnn.matmul.fp32_precision
