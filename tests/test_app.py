"""Listing runs from JSON alone (the pages themselves: test_pages.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

from explorer.runs import find_runs
from textvae_core.rundir import WEIGHTS


def test_find_runs_does_not_read_weights(trained_run: Path, tmp_path: Path) -> None:
    run = shutil.copytree(trained_run, tmp_path / "r")
    (run / WEIGHTS).write_bytes(b"garbage")  # listing must not care
    runs, warnings = find_runs(tmp_path)
    assert [r.name for r in runs] == ["r"] and not warnings
    assert runs[0].row()["C"] == 3.0
