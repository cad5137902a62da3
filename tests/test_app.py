"""Listing runs from JSON alone (the pages themselves: test_pages.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

from explorer.runs import find_runs, weights_label
from textvae_core.rundir import WEIGHTS


def test_find_runs_does_not_read_weights(trained_run: Path, tmp_path: Path) -> None:
    run = shutil.copytree(trained_run, tmp_path / "r")
    (run / WEIGHTS).write_bytes(b"garbage")  # listing must not care
    runs, warnings = find_runs(tmp_path)
    assert [r.name for r in runs] == ["r"] and not warnings
    assert runs[0].row()["C"] == 3.0
    assert weights_label(run) == "unreadable"


def test_the_runs_table_says_how_weights_are_stored(trained_run: Path, tmp_path: Path) -> None:
    from textvae_core.checkpoint import export_run

    assert weights_label(trained_run).startswith("float32 · ")  # a run in training
    assert weights_label(export_run(trained_run, tmp_path / "half")).startswith("float16 · ")
    small = export_run(trained_run, tmp_path / "int8", dtype="int8")
    size = (small / WEIGHTS).stat().st_size / 1e6
    assert weights_label(small) == f"int8 · {size:.1f} MB"
    (small / WEIGHTS).unlink()
    assert weights_label(small) == "none"
