"""The entry page, driven headlessly with Streamlit's AppTest."""

from __future__ import annotations

import shutil
from pathlib import Path

from streamlit.testing.v1 import AppTest

from explorer.runs import find_runs

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def test_no_runs_says_how_to_train_one(tmp_path: Path) -> None:
    at = AppTest.from_file(APP, default_timeout=30).run()
    at.text_input[0].set_value(str(tmp_path)).run()
    assert not at.exception
    assert any("No runs found" in i.value and "textvae_core.train" in i.value for i in at.info)


def test_runs_are_listed_from_json_and_broken_ones_skipped(trained_run: Path, tmp_path: Path) -> None:
    shutil.copytree(trained_run, tmp_path / "good-run")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "config.json").write_text("{ nope")
    at = AppTest.from_file(APP, default_timeout=30).run()
    at.text_input[0].set_value(str(tmp_path)).run()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["run"]) == ["good-run"]
    assert table.loc[0, "objective"] == "beta-c" and table.loc[0, "C"] == 3.0 and table.loc[0, "m"] == 0.0
    assert table.loc[0, "valid KL"] > 0
    assert any("broken" in w.value for w in at.warning)


def test_find_runs_does_not_read_weights(trained_run: Path, tmp_path: Path) -> None:
    run = shutil.copytree(trained_run, tmp_path / "r")
    (run / "model.safetensors").write_bytes(b"garbage")  # listing must not care
    runs, warnings = find_runs(tmp_path)
    assert [r.name for r in runs] == ["r"] and not warnings
    assert runs[0].row()["C"] == 3.0
