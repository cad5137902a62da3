"""The Trainer never changes the config it is given: config.json is its resolved copy (with the vocabulary's
size, a model dimension), and what the run derives while it trains goes to setup.json, which a resume reads
back for the precision it was trained in. Runs from before setup.json (every shipped one) read as before."""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import shutil
from pathlib import Path

import pytest
import torch
from conftest import tiny_config

from textvae_core import precision, trainer
from textvae_core.checkpoint import export_run, load_run, read_weights
from textvae_core.config import RunConfig
from textvae_core.paths import CHECKPOINTS
from textvae_core.recipe import resolve
from textvae_core.rundir import (
    AVERAGE_WEIGHTS,
    BEST_WEIGHTS,
    CONFIG,
    SETUP,
    WEIGHTS,
    CheckpointError,
    RunSetup,
    read_config,
    read_metrics,
    read_setup,
    read_vocab,
    resume_file,
)
from textvae_core.trainer import Trainer, resume_parts

PICK = precision.Probe("bf16 matmul", {"fp32": 2.0, "bf16 matmul": 1.0, "bf16": 3.0})


def probed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The precision probe runs (on any CPU, for the tiny model) and picks bf16 matrix products."""
    monkeypatch.setattr(precision, "MIN_PARAMS", 0)
    monkeypatch.setattr(trainer, "cpu_has_bf16", lambda: True)
    monkeypatch.setattr(trainer, "faster_precision", lambda model, loss_of: PICK)


def given_config(corpus_dir: Path, out: Path) -> RunConfig:
    """The rate recipe (unset knobs the Trainer resolves), ramps in epochs, averaging, keep_best, the probe."""
    cfg = tiny_config(corpus_dir, out, "beta-c", C=2.0)
    cfg.train.epochs, cfg.train.average_from, cfg.train.average_every, cfg.train.keep_best = 2.0, 1.0, 5, "rec"
    cfg.objective.warmup_epochs, cfg.objective.schedule = 0.5, "linear"
    return cfg


def matmul() -> str:
    return torch.backends.mkldnn.matmul.fp32_precision


def test_the_given_config_is_unchanged_config_json_is_its_resolved_copy_and_setup_json_holds_the_rest(
    corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    probed(monkeypatch)
    out = tmp_path / "run"
    given = given_config(corpus_dir, out)
    before = copy.deepcopy(given)
    run = Trainer(given)
    run.fit()
    assert given == before, "the Trainer changed the config it was given"
    saved = RunConfig.load(out / CONFIG)
    # config.json = resolve(given), apart from vocab_size: the size of the vocabulary built from the data
    assert saved.vocab_size == len(read_vocab(out)) > 4
    assert dataclasses.replace(saved, vocab_size=given.vocab_size) == resolve(before)
    assert (saved.train.amp, saved.train.amp_probe, saved.train.bf16_matmul) == (True, True, False)  # as given
    steps = math.ceil(600 / 32)  # the corpus' 600 training sentences in batches of 32
    assert read_setup(out) == RunSetup(
        steps_per_epoch=steps,
        total_steps=2 * steps,
        warmup_steps=round(0.5 * steps),
        C_warmup_steps=round(resolve(before).objective.C_warmup_epochs * steps),  # the rate recipe's ramp
        average_start=steps,
        device="cpu",
        world_size=1,
        amp=False,
        bf16_matmul=True,
        probed="bf16 matmul",
    )
    assert (run.objective.warmup_steps, run.average_start, run.total_steps) == (round(0.5 * steps), steps, 2 * steps)
    shipped = export_run(out, tmp_path / "shipped")  # a shipped run keeps its record
    assert read_setup(shipped) == read_setup(out) and RunConfig.load(shipped / CONFIG) == saved


def test_a_resume_trains_in_the_precision_its_run_was_trained_in(
    corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """setup.json's pick holds on resume (no probe runs again) while config.json still asks for the probe;
    a run from before setup.json resumes in the pick its config.json holds; a config that names a precision
    outright trains in it."""
    probed(monkeypatch)
    out = tmp_path / "run"
    cfg = tiny_config(corpus_dir, out, "vae")
    cfg.train.max_steps = 4
    first = Trainer(cfg)
    first.add_callback("on_log", lambda tr, rec: rec["step"] == 2 and tr.stop("pause"))
    first.fit()
    monkeypatch.setattr(trainer, "faster_precision", lambda *a: pytest.fail("a resume must not probe again"))
    outside = matmul()

    def resumed_in(cfg: RunConfig) -> set[str]:
        given = copy.deepcopy(cfg)
        run = Trainer(cfg, resume=True)
        seen: set[str] = set()
        terms = run._terms
        monkeypatch.setattr(run, "_terms", lambda *a: seen.add(matmul()) or terms(*a))
        run.fit()
        assert cfg == given and RunConfig.load(out / CONFIG) == resolve(given)
        return seen

    again = RunConfig.load(out / CONFIG)
    assert resumed_in(again) == {"bf16"} and read_setup(out).probed == "bf16 matmul"  # type: ignore[union-attr]

    (out / SETUP).unlink()  # a run from before setup.json: config.json held the pick, with the probe off
    older = RunConfig.load(out / CONFIG)
    older.train.amp, older.train.bf16_matmul, older.train.amp_probe, older.train.max_steps = False, True, False, 6
    assert resumed_in(older) == {"bf16"}
    assert read_setup(out) == dataclasses.replace(read_setup(out), amp=False, bf16_matmul=True, probed=None)

    named = RunConfig.load(out / CONFIG)
    named.train.bf16_matmul, named.train.max_steps = False, 8  # fp32 named outright
    assert resumed_in(named) == {outside}


def test_the_capacity_multiplier_goes_on_through_a_resume_as_in_an_unbroken_run(
    corpus_dir: Path, tmp_path: Path
) -> None:
    """objective.C_control=dual (the rate recipe's): ν has its own entry in the resume file, and a run stopped
    and resumed logs the straight run's ν at every step and ends on its weights."""

    def dual(out: Path) -> RunConfig:
        cfg = tiny_config(corpus_dir, out, "beta-c", C=2.0)
        cfg.train.max_steps, cfg.objective.dual_lr = 10, 0.5
        cfg.objective.C_warmup_steps = 2
        return cfg

    Trainer(dual(tmp_path / "straight")).fit()
    split = Trainer(dual(tmp_path / "split"))
    split.add_callback("on_log", lambda tr, rec: rec["step"] == 5 and tr.stop("pause"))
    split.fit()
    assert split.dual.multiplier != 0.0
    Trainer(RunConfig.load(tmp_path / "split" / CONFIG), resume=True).fit()

    def nu(run: Path) -> list[float]:
        return [r["multiplier"] for r in read_metrics(run, "train")]

    assert nu(tmp_path / "split") == nu(tmp_path / "straight") and len(set(nu(tmp_path / "straight"))) > 2
    a, b = load_run(tmp_path / "straight").model.state_dict(), load_run(tmp_path / "split").model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_resume_files_from_before_the_pieces_had_entries_read_their_state() -> None:
    older = {"state": {"step": 9, "best_kept": 80.5, "aggressive": True, "mi": 1.5, "multiplier": 0.25}}
    parts = resume_parts(older)
    assert parts["keep_best"] == {"value": 80.5} and parts["dual"] == {"multiplier": 0.25}
    assert parts["aggressive"] == {"on": True, "mi": 1.5}
    newer = resume_parts({**older, "dual": {"multiplier": 0.5}, "keep_best": {"by": "rec", "value": 70.0}})
    assert newer["dual"] == {"multiplier": 0.5} and newer["keep_best"] == {"by": "rec", "value": 70.0}


def test_a_broken_setup_json_is_refused_by_name(tmp_path: Path) -> None:
    assert read_setup(tmp_path) is None  # a run from before the record
    (tmp_path / SETUP).write_text(json.dumps({"amp": "yes"}))
    with pytest.raises(CheckpointError, match="amp is 'yes', not a bool"):
        read_setup(tmp_path)
    (tmp_path / SETUP).write_text("[1, 2]")
    with pytest.raises(CheckpointError, match="not a JSON object"):
        read_setup(tmp_path)
    (tmp_path / SETUP).write_text(json.dumps({"steps_per_epoch": 3, "a_later_key": 1}))
    assert read_setup(tmp_path) == RunSetup(steps_per_epoch=3)


def test_shipped_runs_without_setup_json_load_as_they_are() -> None:
    """Every shipped run's config.json holds vocab_size and its precision pick, and loads with no setup.json."""
    runs = sorted(
        (p.parent for p in CHECKPOINTS.glob("*/config.json")), key=lambda r: r.joinpath(WEIGHTS).stat().st_size
    )
    assert runs, "no shipped runs found"
    for run in runs:
        assert read_setup(run) is None and read_config(run).vocab_size == len(read_vocab(run)), run
    for run in runs[:2]:  # the smallest: built from config.json's vocab_size, resumed nowhere
        loaded = load_run(run)
        assert loaded.model.embedding.num_embeddings == loaded.config.vocab_size


def as_written_before_setup_json(run: Path, step: int) -> None:
    """Turn a run folder into one an older release wrote: no setup.json, and a resume file whose kept best,
    aggressive phase and capacity multiplier sit in its TrainState instead of entries of their own."""
    (run / SETUP).unlink()
    path = resume_file(run, step)
    saved = torch.load(path, map_location="cpu", weights_only=True)
    keep, phase, dual = saved.pop("keep_best"), saved.pop("aggressive"), saved.pop("dual")
    saved["state"] |= {"best_kept": keep["value"], "aggressive": phase["on"], "mi": phase["mi"]}
    saved["state"]["multiplier"] = dual["multiplier"]
    torch.save(saved, path)


def test_a_run_from_before_setup_json_loads_evaluates_and_resumes_as_an_unbroken_run(
    corpus_dir: Path, tmp_path: Path
) -> None:
    """A run folder an older release left (no setup.json, the pieces' state in the resume file's TrainState)
    loads and evaluates as it is, and a resume goes on bit for bit: the multiplier, the plateau lr, the kept
    best and the weight average as in a run never stopped; the resume writes its setup.json."""
    from textvae_core.evaluate import EVAL, main

    def cfg(out: Path) -> RunConfig:
        cfg = tiny_config(corpus_dir, out, "beta-c", C=2.0)
        cfg.train.max_steps, cfg.train.val_every, cfg.train.keep_best = 10, 2, "rec"
        cfg.train.lr_decay, cfg.train.lr_patience, cfg.train.lr = 0.5, 1, 3e-2
        cfg.train.lr_min_gain = 100.0  # no validation is a new best for the plateau: the lr halves at each
        cfg.train.average_from, cfg.train.average_every, cfg.objective.dual_lr = 0.2, 2, 0.5
        cfg.objective.C_warmup_steps = 2  # the multiplier moves from step 2 on
        return cfg

    straight, split = tmp_path / "straight", tmp_path / "split"
    Trainer(cfg(straight)).fit()
    first = Trainer(cfg(split))
    first.add_callback("on_log", lambda tr, rec: rec["step"] == 5 and tr.stop("pause"))
    assert first.fit().step == 5 and first.dual.multiplier != 0.0 and first.keeper.value is not None
    as_written_before_setup_json(split, 5)

    assert read_setup(split) is None and load_run(split).config == RunConfig.load(split / CONFIG)
    evaluated = tmp_path / "evaluated"
    shutil.copytree(split, evaluated)
    small = ["--k", "3", "--prior-samples", "20", "--homotopy-pairs", "3", "--device", "cpu", "--max-sentences", "30"]
    assert main([str(evaluated), *small, "--fce-schemes", "", "--syntax-dir", ""]) == 0
    assert json.loads((evaluated / EVAL).read_text())["bounds"]["n_sentences"] == 30

    Trainer(RunConfig.load(split / CONFIG), resume=True).fit()

    def valid(run: Path) -> list[tuple]:
        return [(r["step"], r["rec"], r["lr"], r.get("averaged")) for r in read_metrics(run, "valid")]

    def nu(run: Path) -> list[float]:
        return [r["multiplier"] for r in read_metrics(run, "train")]

    assert valid(split) == valid(straight) and [r[2] for r in valid(straight)] == [3e-2 / 2**i for i in range(5)]
    assert nu(split) == nu(straight) and len(set(nu(straight))) > 2
    for name in (WEIGHTS, BEST_WEIGHTS, AVERAGE_WEIGHTS):
        a, b = read_weights(straight / name)[0], read_weights(split / name)[0]
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), name
    assert read_setup(split) == read_setup(straight)
