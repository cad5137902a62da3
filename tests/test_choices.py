"""The audit of recipe choices (experiments/choices): the generator runs on the repository and docs/CHOICES.md is
its output; every choice has a verdict and a validation figure, or says what to retrain; every figure written
into the data file is where it says it comes from; and a verdict the figures contradict stops the report."""

from __future__ import annotations

import json
import subprocess
import tomllib
from pathlib import Path

import pytest

from experiments.choices import make_choices as mc
from textvae_core.paths import ROOT
from textvae_core.rundir import EVAL, METRICS, parse_metrics


@pytest.fixture(scope="module")
def loaded() -> dict:
    return mc.load()


def test_the_shipped_report_regenerates_byte_for_byte() -> None:
    """docs/CHOICES.md is what the generator makes of choices.toml and checkpoints/: regenerate it after either."""
    assert mc.build() == (ROOT / "docs" / "CHOICES.md").read_text(encoding="utf-8")


def test_every_choice_has_a_verdict_and_a_validation_figure_or_says_what_to_retrain(loaded: dict) -> None:
    assert len(loaded["choices"]) >= 30
    for c in loaded["choices"]:
        assert c.verdict in mc.VERDICTS and c.verdict == c.raw["verdict"], c.id
        constraint = mc.FIGURES[c.raw["figure"]][2]
        alts = [c.raw["chosen"]] if constraint else c.raw["alternatives"]
        have = {e.alt for e in c.valid}
        if c.verdict == "needs retraining":
            assert c.raw["retrain"].strip() and set(alts) - have, c.id
        else:
            assert set(alts) <= have, c.id
            assert any(j.status for j in c.judged if j.decisive), c.id


def test_shipped_figures_are_read_not_typed() -> None:
    """An entry naming a shipped run (no commit) carries no figure of its own: the generator reads it."""
    raw = tomllib.loads(mc.DATA.read_text(encoding="utf-8"))
    for c in raw["choice"]:
        for e in [*c.get("valid", []), *c.get("test", [])]:
            if "ablation" in e or ("run" in e and "git" not in e):
                assert not set(e) & set(mc.GROUND), (c["id"], e)


def _git_show(spec: str) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(ROOT), "show", spec], capture_output=True, text=True, check=False)
    except OSError:
        return None
    return out.stdout if out.returncode == 0 else None


def test_figures_written_from_earlier_commits_match_those_commits() -> None:
    raw = tomllib.loads(mc.DATA.read_text(encoding="utf-8"))
    checked = 0
    for c in raw["choice"]:
        for kind in ("valid", "test"):
            for e in c.get(kind, []):
                if "git" not in e:
                    continue
                name = METRICS if kind == "valid" else EVAL
                text = _git_show(f"{e['git']}:checkpoints/{e['run']}/{name}")
                if text is None:
                    pytest.skip(f"git object {e['git']} not available in this clone")
                if kind == "valid":
                    lines = [r for r in parse_metrics(text.splitlines()) if r.get("split") == "valid"]
                    line = [r for r in lines if r.get("epoch") == e["epoch"]][-1]
                    actual = {k: line[k] for k in ("rec", "kl", "nll_bound")}
                else:
                    ev = json.loads(text)
                    actual = {k: ev["bounds"][k] for k in ("rec", "kl", "nll_bound")}
                    actual["bleu4"] = ev["reconstruction"]["scores"]["all"]["bleu4"]
                for key in set(e) & set(mc.GROUND):
                    assert abs(e[key] - actual[key]) <= 0.005 + 1e-9, (c["id"], kind, e, key, actual[key])
                    checked += 1
    assert checked > 100


def test_figures_written_from_docs_are_in_those_docs() -> None:
    raw = tomllib.loads(mc.DATA.read_text(encoding="utf-8"))
    unavailable = set()
    for c in raw["choice"]:
        for e in [*c.get("valid", []), *c.get("test", [])]:
            if "doc" not in e:
                continue
            # a doc that has since dropped the figure is read as it was at the commit the entry names
            at = e.get("doc_git")
            text = _git_show(f"{at}:{e['doc']}") if at else (ROOT / e["doc"]).read_text(encoding="utf-8")
            if text is None:  # a shallow clone: the other entries are still checked
                unavailable.add(at)
                continue
            for key in ("start_rec", *mc.GROUND):
                if key in e:
                    assert f"{e[key]:.2f}" in text, (c["id"], e["doc"], key, e[key])
    if unavailable:
        pytest.skip(f"every figure checked but those of git objects {sorted(unavailable)}, not in this clone")


def _with(tmp_path: Path, old: str, new: str) -> Path:
    text = mc.DATA.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path = tmp_path / "choices.toml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def test_a_verdict_the_figures_contradict_stops_the_report(tmp_path: Path) -> None:
    # dropout 0.3's validation D pushed above 0's: the data still says "holds"
    path = _with(
        tmp_path,
        'where = "\\"Lighter dropout, and z in the decoder\'s state too\\", run 5, e10", rec = 78.74',
        'where = "x", rec = 81.74',
    )
    with pytest.raises(mc.ChoicesError, match=r"decoder-dropout.*'holds'.*'flips'"):
        mc.load(path)


def test_an_alternative_without_a_figure_needs_retraining_and_a_note(tmp_path: Path) -> None:
    path = _with(tmp_path, 'retrain = "ptb-lstm-bc100 as shipped with `--train.average_from=0`', 'retrain_was = "')
    with pytest.raises(mc.ChoicesError, match=r"average-on-decay: no validation figure.*no 'retrain' note"):
        mc.load(path)
    gone = '    { alt = "0.5", setting = "C = 100", doc = "docs/PAPER_SIZE.md", where = "first table, run 3, e10", rec = 80.81 },\n'
    path = _with(tmp_path, gone, "")
    with pytest.raises(mc.ChoicesError, match=r"decoder-dropout: the data says 'holds'.*'needs retraining'"):
        mc.load(path)


def test_status_of_a_difference() -> None:
    assert mc.status_of(-0.5, 0.2, False) == "holds"
    assert mc.status_of(0.19, 0.2, False) == "tie within noise"
    assert mc.status_of(0.21, 0.2, False) == "flips"
    assert mc.status_of(0.0, 0.2, True) == "holds"
    assert mc.status_of(0.08, 0.2, True) == "tie within noise"
    assert mc.status_of(0.3, 0.2, True) == "flips"


def test_the_cli_writes_the_report(tmp_path: Path) -> None:
    out = tmp_path / "CHOICES.md"
    assert mc.main([f"--out={out}"]) == 0
    assert out.read_text(encoding="utf-8").startswith("# Recipe and run choices, checked on validation")
