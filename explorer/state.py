"""What the pages share: where runs live, which runs are chosen, and the cached models.

The only explorer module that imports Streamlit; the rest is plain Python tested without a browser.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import streamlit as st

from textvae_core.rundir import WEIGHTS

from .jobs import train_root
from .latent_map import LatentMap
from .runs import RunSummary, find_runs, run_dirs

if TYPE_CHECKING:  # torch and SQLAlchemy are imported when a page first needs a model or the survey store
    from textvae_core.decoding import DecodeConfig
    from textvae_core.inference import TextVAE

    from .survey.db import Store
    from .survey.repo import SurveyRow

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FOLDER = ROOT / "checkpoints"
FOLDERS_ENV = "TEXTVAE_RUNS"  # run folders separated by os.pathsep; replaces checkpoints/ when set


def metrics_tail(run_dir: Path) -> list[dict]:
    """A run's training log so far, read incrementally: each call parses only the lines added since the
    last call of this session (the live views call it every second or two)."""
    from .jobs import read_metrics

    tails = st.session_state.setdefault("metrics_tails", {})
    offset, records = tails.get(str(run_dir), (0, []))
    new, offset = read_metrics(run_dir, offset)
    if offset < 0:  # rewritten (a resume dropped replayed steps): read it again
        new, offset = read_metrics(run_dir, 0)
        records = []
    records = records + new
    tails[str(run_dir)] = (offset, records)
    return records


def run_folders() -> list[str]:
    """Folders searched for runs: $TEXTVAE_RUNS or checkpoints/, the training folder of the Training page,
    and any the user added this session."""
    if "run_folders" not in st.session_state:
        env = [p for p in os.environ.get(FOLDERS_ENV, "").split(os.pathsep) if p]
        st.session_state.run_folders = env or [str(DEFAULT_FOLDER)]
        trained = str(train_root())  # runs trained from the app appear on every page
        if not any(Path(f).expanduser().resolve() == Path(trained) for f in st.session_state.run_folders):
            st.session_state.run_folders.append(trained)
    return st.session_state.run_folders


def _stamp(folders: list[str]) -> tuple[float, ...]:
    """Modification times of the folders' config files: a new or retrained run refreshes the cache."""
    stamps = []
    for folder in folders:
        for run in run_dirs(Path(folder)):
            stamps += [f.stat().st_mtime for f in (run / "config.json", run / WEIGHTS) if f.exists()]
    return tuple(sorted(stamps))


@st.cache_data(show_spinner=False)
def _find(folders: tuple[str, ...], stamp: tuple[float, ...]) -> tuple[list[RunSummary], list[str]]:
    return find_runs(*folders)


def all_runs() -> tuple[list[RunSummary], list[str]]:
    """Every run in the run folders (from JSON only) and a warning per broken folder."""
    folders = run_folders()
    return _find(tuple(folders), _stamp(folders))


@st.cache_resource(max_entries=24, show_spinner="Loading model…")
def _load(path: str, mtime: float) -> TextVAE:
    from textvae_core.inference import TextVAE

    return TextVAE.load(path)  # eval mode; callers only read it (no_grad inside TextVAE)


def load_model(run: RunSummary | str | Path) -> TextVAE:
    """The cached model of a run, keyed by its path and its weights' modification time."""
    path = Path(run.path if isinstance(run, RunSummary) else run)
    return _load(str(path.resolve()), (path / WEIGHTS).stat().st_mtime)


def chosen_runs(runs: list[RunSummary]) -> list[RunSummary]:
    """The runs chosen on the Runs page (or by clicking a point); by default three evaluated ones, else any three."""
    by_path = {str(r.path): r for r in runs if r.has_weights}
    chosen = [p for p in st.session_state.get("chosen_runs", []) if p in by_path]
    if not chosen:
        chosen = sorted(by_path, key=lambda p: not (Path(p) / "eval.json").exists())[:3]
    return [by_path[p] for p in chosen]


def set_chosen(paths: list[str]) -> None:
    st.session_state.chosen_runs = list(paths)


def require_runs() -> tuple[list[RunSummary], list[RunSummary]]:
    """All runs and the chosen ones; shows why when there are none and stops the page there."""
    runs, warnings = all_runs()
    if warnings:
        with st.expander(f"{len(warnings)} run folder(s) skipped or incomplete", expanded=not runs):
            for w in warnings:
                st.warning(w)
    loadable = [r for r in runs if r.has_weights]
    if not loadable:
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


@st.cache_data(show_spinner=False, max_entries=64)
def sentences_of(path: str, digest: str, split: str = "test") -> list[str]:
    """A run's held-out sentences as text (cached per run and weights)."""
    from .latent_map import corpus_for

    return corpus_for(path, split)


@st.cache_data(show_spinner=False, max_entries=64)
def labels_of(path: str, digest: str, split: str = "test") -> list[str] | None:
    """A labelled run's held-out labels (None for a corpus without labels)."""
    from .latent_map import labels_for

    return labels_for(path, split)


def digest(run: RunSummary) -> str:
    from textvae_core.rundir import weights_digest

    return weights_digest(run.path)


def decode_point(run: RunSummary, z: np.ndarray) -> str:
    """Greedy decoding of one latent (a clicked point of a map) by the run's cached model."""
    from .textlab import decode_config, decode_latent

    return decode_latent(load_model(run), z, decode_config("greedy"))


@st.cache_data(show_spinner=False, max_entries=32)
def latent_points(path: str, digest: str) -> LatentMap:
    """The run's stored map (instant), or fresh samples with a PCA (seconds) when it has none."""
    from .latent_map import MapConfig, load_map, project, sample_points

    stored = load_map(path)
    if stored is not None:
        return stored
    vae = load_model(path)
    lm = sample_points(vae, sentences_of(path, digest), MapConfig())
    lm.coords["pca"] = project(lm.z, "pca")
    return lm


@st.cache_data(show_spinner=False, max_entries=64)
def projection(path: str, digest: str, method: str) -> np.ndarray:
    """2-D coordinates by one method: stored ones when the run has them, else computed once and cached."""
    from .latent_map import project

    lm = latent_points(path, digest)
    return lm.coords[method] if method in lm.coords else project(lm.z, method)


def decoding_widgets(key: str, methods: tuple[str, ...] = ("greedy", "beam", "sample")) -> DecodeConfig:
    """Decoding scheme controls (method, beam size, top-k, nucleus p, temperature) in one row."""
    from .textlab import decode_config

    cols = st.columns(4)
    method = cols[0].selectbox("Decoding", methods, key=f"{key}_method")
    beam = top_k = 0
    top_p, temperature = 1.0, 1.0
    if method == "beam":
        beam = cols[1].slider("Beam size", 1, 10, 5, key=f"{key}_beam")
    elif method == "sample":
        top_k = cols[1].number_input("Top-k (0 = all)", 0, 1000, 15, key=f"{key}_k")
        top_p = cols[2].slider("Nucleus p", 0.05, 1.0, 0.9, 0.05, key=f"{key}_p")
        temperature = cols[3].slider("Temperature", 0.1, 2.0, 1.0, 0.05, key=f"{key}_t")
    return decode_config(method, beam=max(1, beam), top_k=int(top_k), top_p=top_p, temperature=temperature)


@st.cache_data(show_spinner=False, max_entries=256)
def reconstruct(
    path: str, digest: str, sentences: tuple[str, ...], decoding: DecodeConfig, use_mean: bool, n: int, seed: int
) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """Cached reconstructions table and unknown words: swapping a slider back is instant."""
    from .textlab import reconstruct_table

    return reconstruct_table(load_model(path), list(sentences), decoding, use_mean, n, seed)


@st.cache_data(show_spinner=False, max_entries=64)
def active_units_of(path: str, digest: str) -> np.ndarray:
    """Boolean active-unit mask: from eval.json when it has one, else from up to 2,000 test sentences."""
    from .runs import read_eval
    from .textlab import active_mask

    variances = ((read_eval(Path(path)) or {}).get("latent") or {}).get("au_variances")
    if variances:
        return np.asarray(variances) > 0.01
    return active_mask(load_model(path), sentences_of(path, digest))


def survey_db() -> Store:
    """The survey database (SQLite by default, $TEXTVAE_SURVEY_DB otherwise), one engine per process."""
    from .survey.db import database_url

    return _survey_store(database_url())


def pick_survey(db: Store, empty: str) -> SurveyRow:
    """A survey chosen in a select box (the last one chosen on any page first); stops the page with
    ``empty`` when there is none."""
    from .survey import repo
    from .survey.view import survey_label

    if not (surveys := {s.id: s for s in repo.list_surveys(db)}):
        st.info(empty)
        st.stop()
    ids, selected = list(surveys), st.session_state.get("survey_selected")
    index = ids.index(selected) if selected in ids else 0
    return surveys[st.selectbox("Survey", ids, index, lambda i: survey_label(surveys[i]))]


@st.cache_resource(show_spinner=False)
def _survey_store(url: str) -> Store:
    from .survey.db import connect

    return connect(url)


LOCKS = {  # role → (session flag, form key, field label, refusal)
    "admin": ("survey_admin", "admin-login", "Admin secret", "That is not the admin secret."),
    "viewer": (
        "survey_viewer",
        "viewer-login",
        "Admin or viewer secret",
        "That is neither the admin nor the viewer secret.",
    ),
}


def unlock(role: str) -> None:
    """Stop the page until the user gives the admin (or, for role viewer, a viewer) secret."""
    from .survey import access

    if not access.configured("admin", st.secrets):
        st.error(access.HOW_TO)
        st.stop()
    flag, form, label, refusal = LOCKS[role]
    if st.session_state.get(flag):
        return
    with st.form(form):
        given = st.text_input(label, type="password")
        if st.form_submit_button("Unlock"):
            if access.check(given, role, st.secrets):
                st.session_state[flag] = True
                st.rerun()
            st.error(refusal)
    st.stop()
