"""Tables and plots keep data keys (ASCII, eval.json's names) and show screen labels from explorer.labels: a
label or a typo is an error where a page picks columns, never a silently missing column; a missing value is
"—", never Streamlit's grey "None"."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pandas as pd
import pytest

from explorer import labels, plots
from explorer.references import TABLE1_COLUMNS, beta_c_table
from explorer.runs import HEADLINE_FIRST, KNOBS, find_runs, headline
from textvae_core.paths import CHECKPOINTS


def test_every_key_the_app_names_has_a_label() -> None:
    named = {*HEADLINE_FIRST, *KNOBS, *plots.HOVER_LATENT, *plots.VALID_FIGURES, *TABLE1_COLUMNS}
    named |= {*labels.FIGURES, *labels.PERCENTS, *labels.HELP}
    assert named <= set(labels.LABELS)
    assert all(key.isascii() and key.isidentifier() for key in labels.LABELS)


def test_shipped_runs_rows_are_keyed_by_data_names() -> None:
    runs, _ = find_runs(CHECKPOINTS)
    keys = {k for r in runs for k in (*headline(r), *r.row())}
    assert keys <= set(labels.LABELS) and {"nll_bound", "kl", "rec", "beta", "mean_sq_norm"} <= keys
    assert set(beta_c_table().columns) <= set(labels.LABELS)


def test_a_label_or_a_typo_is_an_error_not_a_dropped_column() -> None:
    table = pd.DataFrame({"run": ["a"], "nll_bound": [100.0]})
    assert labels.label("nll_bound") == "−ELBO"
    assert labels.present(table.columns, ["run", "nll_bound", "bleu4"]) == ["run", "nll_bound"]  # not evaluated yet
    for wrong in ("-ELBO", "−ELBO", "β"):
        with pytest.raises(KeyError, match="not a data key"):
            labels.present(table.columns, ["run", wrong])


def test_missing_values_are_shown_as_a_dash_and_full_columns_stay_numbers() -> None:
    table = pd.DataFrame(
        {"run": ["a", "b"], "C": [3.0, math.nan], "rec": [87.123, math.nan], "kl": [1.0, 2.0], "source": ["x", None]}
    )
    shown = labels.shown(table)
    assert list(shown["C"]) == ["3", "—"] and list(shown["rec"]) == ["87.12", "—"]
    assert list(shown["source"]) == ["x", "—"] and shown["kl"].dtype == float  # no gap: still sorts as a number
    assert shown.attrs["number_text"] == ["C", "rec"] and table["C"].isna().any()  # the input is left alone


def test_the_makes_sense_labels_follow_the_survey_s_split() -> None:
    from explorer.survey.stats import SHORT

    assert f"≤ {SHORT}" in labels.label("pct_yes_short") and f"> {SHORT}" in labels.label("n_long")


def test_the_runs_page_shows_labels_over_data_keys_and_no_none(tmp_path: Path, monkeypatch) -> None:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    for name in ("ptb-lstm-vae", "ptb-lstm-bc3"):  # no capacity, and C = 3
        shutil.copytree(CHECKPOINTS / name, tmp_path / name)
    st.cache_data.clear()
    st.cache_resource.clear()
    monkeypatch.setenv("TEXTVAE_RUNS", str(tmp_path))
    at = AppTest.from_file(str(CHECKPOINTS.parent / "app.py"), default_timeout=120).run()
    assert not at.exception, [e.value for e in at.exception]
    table = at.dataframe[0]
    data = table.value.set_index("run")
    assert data.loc["ptb-lstm-vae", "C"] == "—" and data.loc["ptb-lstm-bc3", "C"] == "3"
    assert not (data.astype(str) == "None").any().any()
    config = json.loads(table.proto.columns)
    assert config["nll_bound"]["label"] == "−ELBO" and config["beta"]["label"] == "β"
    assert config["mean_sq_norm"]["label"] == "‖μ‖²" and config["C"]["help"] == labels.HELP["C"]
