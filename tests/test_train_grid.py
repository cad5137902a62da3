"""The experiment grid (experiments/grid.toml) and experiments/train_grid.py's lock that keeps two processes off one run."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from filelock import Timeout

from experiments.grid import load_grid, runs_of
from textvae_core.config import ConfigError
from textvae_core.paths import CHECKPOINTS
from textvae_core.rundir import CONFIG


def test_run_lock_keeps_a_second_holder_off_and_frees_a_dead_process_lock(tmp_path: Path) -> None:
    grid = importlib.import_module("experiments.train_grid")
    run = tmp_path / "checkpoints" / "sweep-x"
    with grid.run_lock(run), pytest.raises(Timeout), grid.run_lock(run):  # a second holder may not take it
        pass
    with grid.run_lock(run):  # released: free again
        pass
    holder = textwrap.dedent(f"""
        import os, sys, time
        from filelock import FileLock
        lock = FileLock({str(run.parent / ".sweep-x.lock")!r}, timeout=0)
        lock.acquire()
        print("held", flush=True)
        time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", holder], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "held"
        with pytest.raises(Timeout), grid.run_lock(run):
            pass
        proc.kill()  # dies holding the lock: no chance to release it
        proc.wait(timeout=10)
        with grid.run_lock(run):  # the system freed it with the process
            pass
    finally:
        if proc.poll() is None:
            proc.kill()


def test_grid_names_are_unique_and_groups_cover_the_issue() -> None:
    runs = load_grid()
    names = [r.name for r in runs]
    assert len(names) == len(set(names))
    groups = {r.group for r in runs}
    assert {"autogen", "betac", "sweep-gru", "sweep-cnn", "record"} <= groups
    # the defaults on a second corpus: β_C at six capacities, a VAE, AutoGen m = 1 (PTB's: experiments/capacity.py)
    assert runs_of("snli-defaults") == [f"snli-c{c:g}" for c in (1, 3, 5, 15, 50, 100)]
    assert runs_of("snli-defaults-papers") == ["snli-vae", "snli-autogen-m1"]
    record = next(r for r in runs if r.group == "record").config("cpu")
    assert record.model.emb_dropout > 0 and record.model.tie_embeddings and record.objective.C > 5
    assert record.train.lr_schedule == "cosine" and 0 < record.train.lr_hold < record.train.epochs
    for dec in ("lstm", "gru", "cnn"):
        cs = [r.knobs["C"] for r in runs if r.group == f"sweep-{dec}"]
        assert cs == [float(c) for c in range(10, 101, 10)] and all(isinstance(c, float) for c in cs)
        assert runs_of(f"sweep-{dec}") == [f"sweep-{dec}-c{c}" for c in range(10, 101, 10)]
    assert runs_of("betac") == ["ptb-lstm-bc3", "ptb-lstm-bc15", "ptb-lstm-bc100"]


def test_the_grids_beta_c_runs_use_the_rate_recipe() -> None:
    """Every β_C run of the grid (the record run aside) uses the rate recipe, Table 1 at the paper's size and
    budget keeping its best validation weights, and the trainer accepts every run of the grid."""
    from textvae_core.validation import validate as check_recipe

    grid = load_grid()
    for r in grid:
        cfg = r.config("cpu")
        check_recipe(cfg)
        if cfg.objective.name == "beta-c" and r.group != "record":
            assert cfg.model.mu_norm == "batchnorm", r.name
            assert cfg.objective.C_schedule == "linear" and cfg.train.bucket_chunk == 1, r.name
            # Table 1's small C go without the bag-of-words loss: it rewards rate beyond C (grid.toml)
            assert (cfg.objective.bow > 0) == (r.name not in ("ptb-lstm-bc3", "ptb-lstm-bc15")), r.name
    table1 = [r.config("cpu") for r in grid if r.group == "betac"]
    assert {(c.model.emb_dim, c.model.hidden, c.model.z_dim, c.train.epochs) for c in table1} == {(256, 512, 64, 10.0)}
    assert {c.train.keep_best for c in table1} == {"rec"}


def test_every_shipped_run_was_trained_with_its_grid_config() -> None:
    """The grid file describes the shipped runs: model, objective, data and budget as in their config.json."""
    for r in load_grid():
        shipped = CHECKPOINTS / r.name / CONFIG
        if not shipped.exists():
            continue
        saved, ours = json.loads(shipped.read_text()), r.config("cpu").to_dict()
        for section in ("model", "objective", "data"):  # fields added since a run was trained take their defaults
            assert saved[section] == {k: ours[section][k] for k in saved[section]}, (r.name, section)
        assert saved["train"]["epochs"] == ours["train"]["epochs"], r.name


def test_a_broken_grid_file_is_refused_with_its_reason(tmp_path: Path) -> None:
    bad = tmp_path / "grid.toml"
    bad.write_text('[groups.a]\nruns = [{ name = "x", objective = "vae", model = { hiden = 3 } }]\n')
    with pytest.raises(ConfigError, match="unknown model keys"):
        load_grid(bad)
    bad.write_text('[groups.a]\nruns = [{ name = "x", objective = "vae" }, { name = "x", objective = "vae" }]\n')
    with pytest.raises(ConfigError, match="unique"):
        load_grid(bad)
    bad.write_text('[groups.a]\nship_dtype = "int4"\nruns = [{ name = "x", objective = "vae" }]\n')
    with pytest.raises(ConfigError, match="ship_dtype 'int4'"):
        load_grid(bad)


def test_a_group_ships_its_runs_in_the_dtype_it_names(tmp_path: Path) -> None:
    grid = tmp_path / "grid.toml"
    grid.write_text('[groups.a]\nship_dtype = "int8"\nruns = [{ name = "x", objective = "vae" }, '
                    '{ name = "y", objective = "vae", ship_dtype = "float16" }]\n[groups.b]\n'
                    'runs = [{ name = "z", objective = "vae" }]\n')  # fmt: skip
    assert [(r.name, r.ship_dtype) for r in load_grid(grid)] == [("x", "int8"), ("y", "float16"), ("z", "float16")]
