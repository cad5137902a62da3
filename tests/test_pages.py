"""Every explorer page, run headlessly with AppTest on tiny runs written to a temp folder."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from explorer.latent_map import load_map
from textvae_core.rundir import CONFIG

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PAGES = [
    "runs", "rate_distortion", "posterior", "reconstructions", "homotopy", "encoder_lens", "neighbours", "arithmetic",
    "prior_samples",
]  # fmt: skip


def plain(markdown: str) -> str:
    """What an element says, without the escapes that keep names and typed text from being read as markdown."""
    return re.sub(r"\\(.)", r"\1", markdown)


@pytest.fixture(autouse=True)
def _fresh_caches() -> None:
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()


def open_page(page: str, folder: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("TEXTVAE_RUNS", str(folder))
    at = AppTest.from_file(APP, default_timeout=60).run()
    if page != "runs":
        at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize("page", PAGES)
def test_no_runs_says_how_to_train_one(page: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_page(page, tmp_path, monkeypatch)
    assert any("No trained runs found" in plain(i.value) and "textvae_core.train" in plain(i.value) for i in at.info)


@pytest.mark.parametrize("page", PAGES)
def test_broken_run_is_skipped_with_a_warning(page: str, run_folder: Path, tmp_path: Path, monkeypatch) -> None:
    shutil.copytree(run_folder / "tiny-bc3", tmp_path / "good")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / CONFIG).write_text("{ not json")
    at = open_page(page, tmp_path, monkeypatch)
    assert any("broken" in plain(w.value) for w in at.warning)
    assert not any("No trained runs found" in plain(i.value) for i in at.info)


def test_runs_page_lists_knobs_and_figures(run_folder: Path, monkeypatch) -> None:
    at = open_page("runs", run_folder, monkeypatch)
    table = at.dataframe[0].value
    assert sorted(table["run"]) == ["tiny-bc10", "tiny-bc3"]
    assert sorted(table["C"]) == [3.0, 10.0] and set(table["objective"]) == {"beta-c"}
    assert (table["kl"] > 0).all() and (table["source"] == "metrics.jsonl (valid)").all()
    assert "tiny-bc10" in at.success[0].value and "tiny-bc3" in at.success[0].value
    diff = at.dataframe[1].value  # how the two chosen runs differ: their C, not their bookkeeping
    assert list(diff["setting"]) == ["objective.C"] and sorted(diff.iloc[0, 1:]) == ["10.0", "3.0"]


def test_rate_distortion_shows_every_beta_c_run(run_folder: Path, monkeypatch) -> None:
    at = open_page("rate_distortion", run_folder, monkeypatch)
    charts = at.get("plotly_chart")
    assert len(charts) >= 3  # R–D, KL against C, two training curves
    rd = json.loads(charts[0].proto.spec)["data"]  # one curve, named in the legend by its runs' group name
    assert [t["name"] for t in rd] == ["tiny-bc*"] and "%{x:.2f}" in rd[0]["hovertemplate"]
    table = at.dataframe[0].value
    assert list(table["C"]) == sorted(table["C"]) and len(table) == 2
    valid = at.radio(key="rd_valid")  # validation curves of the chosen runs, one figure at a time
    assert valid.options == ["D", "R", "−ELBO"] and valid.value == "rec"  # labels shown, data keys kept
    valid.set_value("kl").run()
    assert not at.exception and len(at.get("plotly_chart")) == len(charts)


def test_runs_chosen_by_clicking_rate_distortion_points_are_what_every_page_compares(
    run_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A click on a point of the rate–distortion chart chooses its run: the page's own "Runs to plot" starts from
    that choice instead of writing its earlier one back, and the other pages compare the clicked run. The chart
    keeps its selection across reruns: a later change of "Runs to plot" is not undone by it."""
    import streamlit as st

    clicked: list[dict] = []  # the points the chart reports selected (AppTest cannot click a plotly chart)
    real = st.plotly_chart

    def plotly_chart(*args, **kwargs):
        event = real(*args, **kwargs)
        if kwargs.get("key") == "rd" and clicked:
            return {"selection": {"points": list(clicked), "point_indices": [], "box": [], "lasso": []}}
        return event

    monkeypatch.setattr(st, "plotly_chart", plotly_chart)
    at = open_page("rate_distortion", run_folder, monkeypatch)
    plotted = next(m for m in at.multiselect if m.label == "Runs to plot")
    assert sorted(plotted.value) == ["tiny-bc10", "tiny-bc3"]  # nothing chosen yet: the default choice
    clicked.append({"customdata": [str(run_folder / "tiny-bc3")]})
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(plain(s.value) == "Chosen: **tiny-bc3**" for s in at.success)
    assert next(m for m in at.multiselect if m.label == "Runs to plot").value == ["tiny-bc3"]
    at.switch_page("pages/reconstructions.py").run()
    assert at.multiselect[0].value == ["tiny-bc3"]  # the clicked run, not the page's earlier selection
    at.switch_page("pages/rate_distortion.py").run()
    next(m for m in at.multiselect if m.label == "Runs to plot").set_value(["tiny-bc3", "tiny-bc10"]).run()
    at.run()  # the chart still reports its selected point: applied once, it does not take the choice back
    assert sorted(next(m for m in at.multiselect if m.label == "Runs to plot").value) == ["tiny-bc10", "tiny-bc3"]
    at.switch_page("pages/reconstructions.py").run()
    assert sorted(at.multiselect[0].value) == ["tiny-bc10", "tiny-bc3"]


def test_posterior_page_opens_on_the_stored_map(run_folder: Path, monkeypatch) -> None:
    at = open_page("posterior", run_folder, monkeypatch)
    at.multiselect[0].set_value(["tiny-bc3"]).run()
    assert not at.exception
    assert at.radio[0].value == "pca"  # the only stored projection: the page opens on it, no fit to wait for
    assert any("60 test sentences, 15 prior samples" in c.value for c in at.caption)
    assert load_map(run_folder / "tiny-bc3") is not None


def test_reconstructions_slider_swaps_the_run(run_folder: Path, monkeypatch) -> None:
    at = open_page("reconstructions", run_folder, monkeypatch)
    at.multiselect[0].set_value(["tiny-bc3"]).run()
    at.text_area[0].set_value("the cat sees the zeppelin\n\nmy sister buys a red car").run()
    assert any("zeppelin" in plain(w.value) for w in at.warning)  # unknown word shown
    inputs = at.table[0].value
    assert list(inputs["input"]) == ["the cat sees the zeppelin", "my sister buys a red car"]
    assert any(plain(m.value) == "**tiny-bc3**" for m in at.markdown)
    slider = at.select_slider[0]
    assert slider.options == ["3.0", "10.0"]
    slider.set_value(10.0).run()
    assert not at.exception
    assert any(plain(m.value) == "**tiny-bc10**" for m in at.markdown)
    assert not any(plain(m.value) == "**tiny-bc3**" for m in at.markdown)


def test_reconstructions_empty_input(run_folder: Path, monkeypatch) -> None:
    at = open_page("reconstructions", run_folder, monkeypatch)
    at.text_area[0].set_value("  \n ").run()
    assert any("Type at least one sentence" in plain(i.value) for i in at.info)


def test_homotopy_decodes_every_step_for_every_run(run_folder: Path, monkeypatch) -> None:
    at = open_page("homotopy", run_folder, monkeypatch)
    frames = at.table
    assert len(frames) == 2 and all(len(f.value) == 7 for f in frames)
    repeats = [c.value for c in at.caption if "repeat" in c.value]
    assert len(repeats) == 2 and all("repeat(s) in 6 steps" in c for c in repeats)
    at.radio[0].set_value("two sentences").run()
    at.text_input[0].set_value("the cat sees the zeppelin").run()
    assert at.table[0].value["sentence"].iloc[0]
    assert any("zeppelin" in plain(w.value) for w in at.warning)
    at.text_input[1].set_value("").run()
    assert any("Type both sentences" in plain(i.value) for i in at.info)


def test_encoder_lens_shows_dimensions_and_unknown_words(run_folder: Path, monkeypatch) -> None:
    at = open_page("encoder_lens", run_folder, monkeypatch)
    at.text_input[0].set_value("the cat sees a zeppelin").run()
    assert any("zeppelin" in plain(w.value) for w in at.warning)
    assert any("KL of this sentence" in c.value for c in at.caption)
    before = [plain(m.value) for m in at.markdown if plain(m.value).startswith("**z")]
    at.slider[0].set_value(3.5).run()
    after = [plain(m.value) for m in at.markdown if plain(m.value).startswith("**z")]
    assert before != after and "+3.50" in after[0]


def test_prior_samples_page(run_folder: Path, monkeypatch) -> None:
    at = open_page("prior_samples", run_folder, monkeypatch)
    at.slider[0].set_value(12).run()
    assert len(at.table) == 2 and all(len(f.value) == 12 for f in at.table)  # one table of samples per run
    assert {m.label for m in at.metric} >= {"mean length", "% unk", "distinct"}


@pytest.mark.parametrize("page", ["homotopy", "prior_samples"])
def test_more_runs_than_a_row_holds_are_all_shown(page: str, run_folder: Path, tmp_path: Path, monkeypatch) -> None:
    names = [f"run{i}" for i in range(4)]  # three columns a row: the fourth run starts a second row
    for name in names:
        shutil.copytree(run_folder / "tiny-bc3", tmp_path / name)
    at = open_page(page, tmp_path, monkeypatch)
    at.multiselect[0].set_value(names).run()
    assert not at.exception
    assert {plain(m.value) for m in at.markdown} >= {f"**{n}**" for n in names} and len(at.table) == 4


FIRST_PAINT = r"""
import sys
from streamlit.testing.v1 import AppTest
at = AppTest.from_file(sys.argv[1], default_timeout=120).run()
at.switch_page(sys.argv[2]).run()
assert not at.exception, [e.value for e in at.exception]
print(len(at.get("plotly_chart")), len(at.dataframe), "torch" in sys.modules)
"""


@pytest.mark.parametrize(("page", "charts"), [("pages/posterior.py", 1), ("app.py", 0)])
def test_pages_draw_stored_results_without_importing_torch(run_folder: Path, tmp_path: Path, page: str, charts: int):
    """A cold app draws the Runs table and a stored latent map from JSON and safetensors alone: importing
    torch (seconds on two cores) waits until a model is needed, e.g. for decoding a clicked point."""
    import os
    import subprocess
    import sys

    shutil.copytree(run_folder / "tiny-bc3", tmp_path / "tiny-bc3")  # the run that carries a stored map
    env = {**os.environ, "TEXTVAE_RUNS": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", FIRST_PAINT, APP, page], env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    n_charts, n_tables, torch_loaded = out.stdout.split()[-3:]
    assert int(n_charts) >= charts and (charts or int(n_tables) >= 1)
    assert torch_loaded == "False"


def test_neighbours_page_lists_each_runs_nearest_test_sentences(run_folder: Path, monkeypatch) -> None:
    at = open_page("neighbours", run_folder, monkeypatch)
    assert len(at.table) == 2  # one table per run, the default sentence a test sentence
    query = at.text_input[0].value
    for table in (t.value for t in at.table):
        assert len(table) == 8 and query not in list(table["sentence"])  # the sentence itself is left out
        assert list(table["distance"]) == sorted(table["distance"])
    assert {m.label for m in at.metric} == {"shared words", "length gap"}
    downloads = [b.proto.label for b in at.get("download_button")]
    assert downloads.count("Vectors μ (TSV)") == downloads.count("Metadata (TSV)") == 2
    at.slider[0].set_value(3).run()
    at.radio[0].set_value("euclidean").run()
    assert all(len(t.value) == 3 for t in at.table)
    at.text_input[0].set_value("the cat sees the zeppelin").run()
    assert any("zeppelin" in plain(w.value) for w in at.warning) and len(at.table) == 2
    at.text_input[0].set_value("   ").run()
    assert any("Type a sentence" in plain(i.value) for i in at.info)


def test_latent_arithmetic_decodes_every_scale_for_every_run(run_folder: Path, monkeypatch) -> None:
    at = open_page("arithmetic", run_folder, monkeypatch)
    assert len(at.table) == 2 and all(len(t.value) == 7 for t in at.table)  # s = 0 … 1.5 in 6 steps
    assert [b.proto.label for b in at.get("download_button")] == ["Download the decodings (CSV, every run)"]
    assert list(at.table[0].value["s"]) == ["0", "0.25", "0.5", "0.75", "1", "1.25", "1.5"]
    at.text_input[2].set_value("the cat sees the zeppelin").run()
    assert any("zeppelin" in plain(w.value) for w in at.warning)
    at.text_input[0].set_value("").run()
    assert any("Type all three sentences" in plain(i.value) for i in at.info)


def test_pages_say_when_a_run_has_no_test_sentences_to_show(run_folder: Path, tmp_path: Path, monkeypatch) -> None:
    from textvae_core.config import RunConfig

    for name, test in (("no-test", ""), ("moved", str(tmp_path / "gone.txt"))):
        shutil.copytree(run_folder / "tiny-bc3", tmp_path / name)
        cfg = RunConfig.load(tmp_path / name / CONFIG)
        cfg.data.test = test
        cfg.save(tmp_path / name / CONFIG)
    at = open_page("neighbours", tmp_path, monkeypatch)
    at.multiselect[0].set_value(["moved", "no-test"]).run()
    assert not at.exception and not at.table
    assert any("no-test has no test sentences to search" in plain(i.value) for i in at.info)
    assert any("moved's test sentences cannot be read" in plain(w.value) for w in at.warning)
    for page in ("posterior", "reconstructions"):  # a run copied from another machine: its data paths are gone
        at = open_page(page, tmp_path, monkeypatch)
        at.multiselect[0].set_value(["moved"]).run()
        assert not at.exception and any("moved's test sentences cannot be read" in plain(w.value) for w in at.warning)
