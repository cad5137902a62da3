"""scripts/train_grid.py: the grid's names and the lock that keeps two processes off one run."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _load():
    spec = importlib.util.spec_from_file_location("train_grid", ROOT / "scripts" / "train_grid.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["train_grid"] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


def test_run_lock_keeps_a_second_process_off_and_takes_over_a_dead_ones(tmp_path: Path) -> None:
    grid = _load()
    run = tmp_path / "checkpoints" / "sweep-x"
    with grid.RunLock(run) as first:
        assert first.held
        with grid.RunLock(run) as second:  # the same pid is alive: a live owner
            assert not second.held and second.owner > 0
        assert (tmp_path / "checkpoints" / ".sweep-x.lock").exists()
    assert not (tmp_path / "checkpoints" / ".sweep-x.lock").exists()  # released
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (tmp_path / "checkpoints" / ".sweep-x.lock").write_text(dead.stdout.strip())
    with grid.RunLock(run) as third:  # left by a process that is gone
        assert third.held


def test_grid_names_are_unique_and_groups_cover_the_issue() -> None:
    grid = _load()
    runs = grid.grid()
    names = [r.name for r in runs]
    assert len(names) == len(set(names))
    groups = {r.group for r in runs}
    assert {"autogen", "betac", "sweep-lstm", "sweep-gru", "sweep-cnn", "record"} <= groups
    record = next(r for r in runs if r.group == "record").config("cpu")
    assert record.model.emb_dropout > 0 and record.train.lr_decay < 1 and record.objective.C > 5
    for dec in ("lstm", "gru", "cnn"):
        cs = sorted(r.knobs["C"] for r in runs if r.group == f"sweep-{dec}")
        assert cs == [float(c) for c in range(10, 101, 10)]
