"""experiments/ablation.py --report renders from the committed store where runs/ablation lacks a row (a clone),
and a row measured here replaces its stored figures."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import pytest

from textvae_core.rundir import CONFIG, METRICS

BASE = {"row": "base", "step": 5264, "train_s": 1200.0, "D": 102.74, "R": 99.02, "kl_mm": 84.88,
        "mean_sq_norm": 111.0, "au": 26, "mi": 7.28, "bleu4": 0.82, "valid_D": [122.7, 115.1]}  # fmt: skip
RAMP_START = {"step": 200, "C": 15.1, "kl": 15.0, "rec": 145.0, "mu_shift": 25.08, "mu_spread": 1.94}


@pytest.fixture()
def ablation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    mod = importlib.import_module("experiments.ablation")
    monkeypatch.setattr(mod, "OUT", tmp_path / "runs")
    monkeypatch.setattr(mod, "EARLY", tmp_path / "runs" / "early")
    monkeypatch.setattr(mod, "DOC", tmp_path / "ABLATION.md")
    monkeypatch.setattr(mod, "STORE", tmp_path / "ablation.json")
    mod.STORE.write_text(json.dumps({"rows": {"base": BASE}, "early": {"ramp": RAMP_START}}), encoding="utf-8")
    return mod


def test_a_clone_without_runs_regenerates_the_stored_figures(ablation: Any) -> None:
    assert ablation.main(["--report"]) == 0
    text = ablation.DOC.read_text(encoding="utf-8")
    base = ablation.BY_NAME["base"]
    assert f"| base | {base.what} | 102.74 | 99.02 | 84.88 | 14.14 | 111.00 | 26 | 7.28 | 0.82 |" in text
    assert "| ramp | 200 | 15.1 | 15.0 | 145.0 | 25.08 | 1.94 | 93% |" in text
    assert "| ramp | C ramped 0 → 100 over 2 epochs (the paper's code) | not measured" in text
    stored = json.loads(ablation.STORE.read_text(encoding="utf-8"))
    assert stored == {"rows": {"base": BASE}, "early": {"ramp": RAMP_START}}  # nothing lost, nothing invented


def test_a_row_measured_here_replaces_its_stored_figures(ablation: Any) -> None:
    run = ablation.OUT / "base"
    run.mkdir(parents=True)
    (run / "probe.json").write_text(json.dumps({**BASE, "D": 101.5, "examples": ["a sentence"]}), encoding="utf-8")
    assert ablation.main(["--report"]) == 0
    assert "| 101.50 | 99.02 |" in ablation.DOC.read_text(encoding="utf-8")
    stored = json.loads(ablation.STORE.read_text(encoding="utf-8"))
    assert stored["rows"]["base"]["D"] == 101.5
    assert "examples" not in stored["rows"]["base"]  # the store keeps figures, not sentences
    assert stored["early"] == {"ramp": RAMP_START}


def test_pre_training_is_judged_against_the_recipe_at_its_budget(ablation: Any) -> None:
    def probe(d: float, bleu: float) -> dict[str, Any]:
        return {**BASE, "D": d, "bleu4": bleu, "kl_mm": 7.0, "mean_sq_norm": 0.1, "au": 32}

    rows = {"bnl-bow-ramp": probe(87.73, 6.77), "bnl-bow-ramp-aepre": probe(84.37, 7.15)}
    for longer, verdict in ((probe(85.0, 7.0), "pre-training does more"), (probe(84.0, 7.5), "no more than")):
        lines = ablation.on_top({**rows, "bnl-bow-ramp-e16": longer})
        assert "BLEU-4 7.15 (+0.38)" in lines[0]
        assert verdict in lines[1]
    assert len(ablation.on_top(rows)) == 1  # without the longer row, no verdict


def test_a_row_stopped_before_its_budget_is_not_measured(ablation: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A row whose training was stopped (SIGTERM, a time limit) must not store a shorter budget's figures."""
    from textvae_core import evaluate, train

    row = ablation.BY_NAME["base"]

    def stopped_at_once(cfg: Any, resume: bool = False) -> None:  # a run folder, no weights yet
        Path(cfg.train.out).mkdir(parents=True)

    monkeypatch.setattr(train, "train", stopped_at_once)
    measured: list[str] = []
    monkeypatch.setattr(evaluate, "evaluate", lambda run, cfg, progress=False: measured.append(str(run)))
    with pytest.raises(SystemExit, match="base: trained to step 0 of 5264; run the row again"):
        ablation.run_row(row, threads=1)
    assert measured == [] and not (ablation.OUT / "base" / "probe.json").exists()


def test_full_rows_say_whether_any_stops_the_shift(ablation: Any) -> None:
    shifted = [
        ("noclip", {**BASE, "D": 100.0, "mean_sq_norm": 90.0}),
        ("bidi", {**BASE, "D": 99.1, "mean_sq_norm": 75.6}),
    ]
    line = ablation.full_rows(BASE, shifted)
    assert line.index("bidi D 99.10 (-3.64)") < line.index("noclip D 100.00 (-2.74)")  # sorted by D
    assert "Every one keeps the shift (‖E z‖² ≥ 76)" in line
    assert "Only z-init brings ‖E z‖² below 10 by the end" in ablation.full_rows(
        BASE, [*shifted, ("z-init", {**BASE, "mean_sq_norm": 2.0})]
    )


def test_free_bits_and_aggressive_findings_cite_their_figures(ablation: Any) -> None:
    fb = {**BASE, "D": 91.78, "R": 91.5, "kl_mm": 34.8, "mean_sq_norm": 5.07, "bleu4": 3.54}
    starts = {"base": {**RAMP_START, "mu_shift": 170.0, "mu_spread": 0.8},
              "aggressive": {**RAMP_START, "mu_shift": 150.0, "mu_spread": 3.0, "enc_updates": 48.0}}  # fmt: skip
    text = "\n".join(ablation.findings({"base": BASE, "freebits": fb}, starts))
    assert "D 91.78 (-10.96), R 91.5, ‖E z‖² 5.1, R − KL_mm 56.7, BLEU-4 3.54" in text
    assert "still meets C by the shift. Each step of the phase came after 48 encoder-only updates" in text
    calm = {**starts["aggressive"], "mu_shift": 1.0}
    assert "less by the shift" in "\n".join(ablation.findings({"base": BASE}, {**starts, "aggressive": calm}))


def test_a_row_killed_before_its_first_checkpoint_starts_again(ablation: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its folder holds a config and no weights: resuming cannot work and a fresh start would be refused."""
    from textvae_core import train

    killed = ablation.OUT / "base"
    killed.mkdir(parents=True)
    (killed / CONFIG).write_text("{}", encoding="utf-8")
    (killed / METRICS).write_text('{"step": 0, "event": "start"}\n', encoding="utf-8")
    calls: list[bool] = []

    def fresh_start(cfg: Any, resume: bool = False) -> None:
        assert not Path(cfg.train.out).exists()  # the dead run's files are gone, so the trainer may start
        calls.append(resume)
        Path(cfg.train.out).mkdir(parents=True)

    monkeypatch.setattr(train, "train", fresh_start)
    with pytest.raises(SystemExit, match="trained to step 0"):
        ablation.run_row(ablation.BY_NAME["base"], threads=1)
    assert calls == [False]


def test_combined_gains_are_set_against_their_sum(ablation: Any) -> None:
    def probe(bleu: float) -> dict[str, Any]:
        return {**BASE, "D": 86.0, "bleu4": bleu, "kl_mm": 7.0, "mean_sq_norm": 0.1, "au": 32}

    rows = {"bnl-bow-ramp": probe(6.77), "bnl-bow-ramp-bidi": probe(7.15), "bnl-bow-ramp-zboth": probe(7.34)}
    for combined, verdict in ((7.70, "about their sum"), (8.20, "more than their sum"), (7.00, "less than their")):
        text = "\n".join(ablation.on_top({**rows, "bnl-bow-ramp-bidi-zboth": probe(combined)}))
        assert "gain +0.38 and +0.57 BLEU-4 apart (sum +0.95)" in text and verdict in text
    assert "add up" not in "\n".join(ablation.on_top(rows))


def test_the_bag_of_words_contribution_is_read_from_the_recipe_without_it(ablation: Any) -> None:
    def probe(d: float, bleu: float) -> dict[str, Any]:
        return {**BASE, "D": d, "bleu4": bleu, "kl_mm": 7.0, "mean_sq_norm": 0.1, "au": 32}

    rows = {"base": BASE, "bn-bow-ramp": probe(87.8, 6.68), "bnl-bow-ramp": probe(87.73, 6.77)}
    for nobow, verdict in ((probe(86.08, 5.58), "not a lower D"), (probe(90.0, 5.0), "it helps both")):
        text = "\n".join(ablation.findings({**rows, "bnl-ramp": nobow}, {}))
        assert f"D {nobow['D']:.2f} against 87.73, BLEU-4 {nobow['bleu4']:.2f} against 6.77" in text and verdict in text
