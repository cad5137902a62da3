"""Controls more than one page draws: choosing runs, decoding settings, choosing a survey."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from .. import labels
from ..markup import md_escape, tables_csv
from ..runs import RunSummary, default_choice
from . import keys
from .caches import all_runs, digest, projector_files, run_folders, sentences_of

if TYPE_CHECKING:
    from textvae_core.decoding import DecodeConfig

    from ..survey.db import Store
    from ..survey.repo import SurveyRow


def table_columns(table: pd.DataFrame, **given: dict[str, object]) -> dict[str, object]:
    """st.dataframe column_config for a table keyed by data names (shown through explorer.labels.shown): each
    column under its screen label with its tooltip, numbers to their labels.DECIMALS; ``given`` adds
    settings by key (``model={"width": "large"}``)."""
    config: dict[str, object] = {}
    for key in table.columns:
        settings = {"label": labels.label(key), "help": labels.HELP.get(key), **given.get(key, {})}
        if key in labels.DECIMALS and pd.api.types.is_numeric_dtype(table[key]):
            config[key] = st.column_config.NumberColumn(format=f"%.{labels.DECIMALS[key]}f", **settings)
        else:
            aligned = {"alignment": "right"} if key in table.attrs.get("number_text", ()) else {}
            config[key] = st.column_config.Column(**(aligned | settings))
    return config


def chosen_runs(runs: list[RunSummary]) -> list[RunSummary]:
    """The runs chosen on the Runs page (or by clicking a point); by default the three whose
    reconstructions score best (explorer.runs.default_choice)."""
    by_path = {str(r.path): r for r in runs if r.has_weights}
    chosen = [p for p in st.session_state.get(keys.CHOSEN_RUNS, []) if p in by_path]
    return [by_path[p] for p in chosen] if chosen else default_choice(runs)


def set_chosen(paths: list[str]) -> None:
    st.session_state[keys.CHOSEN_RUNS] = list(paths)


def choose_clicked(paths: list[str], selector: str) -> None:
    """Points clicked on a chart choose their runs, once per new click (a chart keeps its selection across
    reruns, and re-applying it would undo every later change); the page's own run selector ``selector``
    starts again from the new choice instead of writing its old one back."""
    if not paths:  # nothing selected now: the next click counts, even on the same point
        st.session_state.pop(keys.RD_CLICKED, None)
    elif paths != st.session_state.get(keys.RD_CLICKED):
        st.session_state[keys.RD_CLICKED] = list(paths)
        set_chosen(paths)
        st.session_state.pop(selector, None)


def require_runs() -> tuple[list[RunSummary], list[RunSummary]]:
    """All runs and the chosen ones; shows why when there are none and stops the page there."""
    runs, warnings = all_runs()
    if warnings:
        with st.expander(f"{len(warnings)} run folder(s) skipped or incomplete", expanded=not runs):
            for w in warnings:
                st.warning(w)
    if not any(r.has_weights for r in runs):
        st.info(
            f"No trained runs found under {', '.join(f'`{f}`' for f in run_folders())}. Train one with\n\n"
            "`python -m textvae_core.train --objective=beta-c --objective.C=15 --out=checkpoints/my-run`\n\n"
            "or add a folder holding runs on the **Runs** page."
        )
        st.stop()
    return runs, chosen_runs(runs)


def pick_runs(
    runs: list[RunSummary], chosen: list[RunSummary], label: str = "Runs", key: str = "pick"
) -> list[RunSummary]:
    """A multiselect over loadable runs, starting from the chosen ones; keeps the choice across pages."""
    names = {r.name: r for r in runs if r.has_weights}
    picked = st.multiselect(label, list(names), default=[r.name for r in chosen if r.name in names], key=key)
    set_chosen([str(names[n].path) for n in picked])
    if not picked:
        st.info("Choose at least one run above (or on the Runs page).")
        st.stop()
    return [names[n] for n in picked]


def run_panels(picked: list[RunSummary], per_row: int = 3) -> Iterator[RunSummary]:
    """Each run in a column of its own under its name, ``per_row`` to a row (every run shown, however many are
    picked, all one width): what the loop body draws for a run lands in that run's column."""
    width = max(1, min(per_row, len(picked)))
    for start in range(0, len(picked), width):
        for col, run in zip(st.columns(width), picked[start : start + width], strict=False):
            with col:
                st.markdown(f"**{md_escape(run.name)}**")
                yield run


def held_out(run: RunSummary, split: str = "test") -> list[str]:
    """A run's held-out sentences; none, with a warning, when its corpus file cannot be read here (a run
    copied from another machine keeps that machine's data paths)."""
    from textvae_core.corpus import CorpusError

    try:
        return sentences_of(str(run.path), digest(run), split)
    except (OSError, CorpusError) as err:
        st.warning(md_escape(f"{run.name}'s {split} sentences cannot be read: {err}"))
        return []


def warn_unknown(run: str, words: list[str], sentence: str = "") -> None:
    """Words a run's vocabulary lacks (read as <unk>), each named once, in the order typed."""
    if words:
        where = f" — in “{md_escape(sentence)}”" if sentence else ""
        said = ", ".join(md_escape(w) for w in dict.fromkeys(words))  # typed text: never markdown (an image fetches)
        st.warning(f"Not in {md_escape(run)}'s vocabulary (read as <unk>): {said}{where}")


def download_rows(tables: dict[str, pd.DataFrame], what: str, key: str) -> None:
    """A button for one CSV of every run's table on a page (explorer.markup.tables_csv)."""
    if csv := tables_csv(tables):
        st.download_button(f"Download {what} (CSV, every run)", csv, f"{key}.csv", "text/csv", key=f"dl-{key}")


def projector_downloads(run: RunSummary) -> None:
    """The run's held-out μ and sentences as the Embedding Projector's two TSV files (projector.tensorflow.org:
    Load, the vectors first, then the metadata)."""
    vectors, metadata = projector_files(str(run.path), digest(run))
    how = (
        "The test sentences' μ and the sentences themselves, for the TensorFlow Embedding Projector: load the "
        "vectors, then the metadata."
    )
    a, b = st.columns(2)
    a.download_button("Vectors μ (TSV)", vectors, f"{run.name}-vectors.tsv", "text/tab-separated-values",
                      key=f"proj-v-{run.name}", help=how)  # fmt: skip
    b.download_button("Metadata (TSV)", metadata, f"{run.name}-metadata.tsv", "text/tab-separated-values",
                      key=f"proj-m-{run.name}", help=how)  # fmt: skip


def decoding_widgets(
    key: str,
    methods: tuple[str, ...] = ("greedy", "beam", "sample"),
    method: str | None = None,
    top_k: int = 15,
    top_p: float = 0.9,
    max_len: int | None = None,
) -> DecodeConfig:
    """Decoding controls in one row: the method, then its own settings (beam size; top-k, nucleus p and
    temperature); ``method``, ``top_k`` and ``top_p`` are the defaults; ``max_len`` adds a length limit."""
    from ..textlab import decode_config

    cols = st.columns(5 if max_len else 4)
    index = methods.index(method) if method in methods else 0
    chosen = cols[0].selectbox("Decoding", methods, index=index, key=f"{key}_method")
    beam, k, p, temperature = 1, 0, 1.0, 1.0
    if chosen == "beam":
        beam = cols[1].slider("Beam size", 1, 10, 5, key=f"{key}_beam")
    elif chosen == "sample":
        k = cols[1].number_input("Top-k (0 = all)", 0, 1000, top_k, key=f"{key}_k")
        p = cols[2].slider("Nucleus p", 0.05, 1.0, top_p, 0.05, key=f"{key}_p")
        temperature = cols[3].slider("Temperature", 0.1, 2.0, 1.0, 0.05, key=f"{key}_t")
    cfg = decode_config(chosen, beam=max(1, beam), top_k=int(k), top_p=p, temperature=temperature)
    if max_len:
        limit = cols[-1].number_input("Max tokens", 1, 200, max_len, key=f"{key}_len")
        cfg = dataclasses.replace(cfg, max_len=int(limit))
    return cfg


def pick_survey(db: Store, empty: str) -> SurveyRow:
    """A survey chosen in a select box (the last one chosen on any page first); stops the page with
    ``empty`` when there is none."""
    from ..survey import repo
    from ..survey.view import survey_label

    if not (surveys := {s.id: s for s in repo.list_surveys(db)}):
        st.info(empty)
        st.stop()
    ids, selected = list(surveys), st.session_state.get(keys.SURVEY_SELECTED)
    index = ids.index(selected) if selected in ids else 0
    return surveys[st.selectbox("Survey", ids, index, lambda i: survey_label(surveys[i]))]
