"""The evaluate CLI writes a complete eval.json for a run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from textvae_core.evaluate import EVAL, main


def test_evaluate_writes_every_section(trained_run: Path, tmp_path: Path, capsys) -> None:
    run = shutil.copytree(trained_run, tmp_path / "run")
    assert main([str(run), "--k", "5", "--prior-samples", "20", "--homotopy-pairs", "3", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "IW-NLL(k=5)" in out and "AU" in out
    res = json.loads((run / EVAL).read_text())
    assert {"bounds", "iw_nll", "latent", "reconstruction", "generation", "homotopy", "timings_s"} <= set(res)
    assert res["iw_nll"]["nll"] <= res["bounds"]["nll_bound"] + 1.0
    assert 0 <= res["latent"]["active_units"] <= res["latent"]["z_dim"]
    assert set(res["reconstruction"]["scores"]) == {"all", "<=10", "11-20", "21-30"}
    assert set(res["generation"]["schemes"]) >= {"greedy", "top15", "nucleus0.9"}
    assert 0 <= res["homotopy"]["mean_repeats"] <= res["homotopy"]["max_repeats"]
    assert res["config"]["k"] == 5


def test_evaluate_bad_run_is_reported(tmp_path: Path, capsys) -> None:
    assert main([str(tmp_path / "missing")]) == 2
    assert "no such run" in capsys.readouterr().err
