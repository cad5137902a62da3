"""scripts/ablation.py --report never replaces measured figures with "not measured" unless told to."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.helpers import load_script


@pytest.fixture()
def ablation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    mod = load_script("ablation")
    monkeypatch.setattr(mod, "OUT", tmp_path / "runs")
    monkeypatch.setattr(mod, "EARLY", tmp_path / "runs" / "early")
    monkeypatch.setattr(mod, "DOC", tmp_path / "ABLATION.md")
    return mod


def test_report_keeps_figures_it_cannot_regenerate(ablation: Any, capsys: pytest.CaptureFixture) -> None:
    base = ablation.BY_NAME["base"]
    written = f"# old\n\n| base | {base.what} | 102.74 | 99.02 |\n| ramp | 200 | 15.1 | 15.0 |\n"
    ablation.DOC.write_text(written, encoding="utf-8")
    assert ablation.doc_measured() == {"base", f"ramp (first {ablation.EARLY_STEPS} steps)"}

    assert ablation.main(["--report"]) == 1
    assert ablation.DOC.read_text(encoding="utf-8") == written
    assert "base, ramp (first 200 steps)" in capsys.readouterr().err

    assert ablation.main(["--report", "--force"]) == 0
    text = ablation.DOC.read_text(encoding="utf-8")
    assert f"| base | {base.what} | not measured |" in text
    assert ablation.doc_measured() == set()
    assert ablation.main(["--report"]) == 0  # nothing left to lose
