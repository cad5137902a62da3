"""What pages share across reruns and sessions: the runs found on disk, the loaded models and what they
compute, cached by run path and weights (``st.cache_data`` for data, ``st.cache_resource`` for models).

Listing runs and drawing a stored map read JSON and safetensors only; torch is imported when a page
first needs a model.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import streamlit as st

from textvae_core.paths import CHECKPOINTS
from textvae_core.rundir import CONFIG, WEIGHTS, read_eval, read_metrics_since, weights_digest

from ..jobs import train_root
from ..latent_map import LatentMap
from ..runs import RunSummary, find_runs, run_dirs
from . import keys
from .survey_store import hidden_runs

if TYPE_CHECKING:  # torch is imported when a page first needs a model
    from textvae_core.decoding import DecodeConfig
    from textvae_core.inference import TextVAE

FOLDERS_ENV = "TEXTVAE_RUNS"  # run folders separated by os.pathsep; replaces checkpoints/ when set


def run_folders() -> list[str]:
    """Folders searched for runs: $TEXTVAE_RUNS or checkpoints/, the Training page's folder (runs trained
    from the app appear on every page), and any the user added this session."""
    if keys.RUN_FOLDERS not in st.session_state:
        env = [p for p in os.environ.get(FOLDERS_ENV, "").split(os.pathsep) if p]
        folders = env or [str(CHECKPOINTS)]
        trained = train_root()
        if not any(Path(f).expanduser().resolve() == trained.resolve() for f in folders):
            folders.append(str(trained))
        st.session_state[keys.RUN_FOLDERS] = folders
    return st.session_state[keys.RUN_FOLDERS]


def metrics_tail(run_dir: Path) -> list[dict]:
    """A run's training log so far, read incrementally: each call parses only the lines added since the
    last call of this session (the live views call it every second or two)."""
    tails = st.session_state.setdefault(keys.METRICS_TAILS, {})
    offset, records = tails.get(str(run_dir), (0, []))
    new, offset = read_metrics_since(run_dir, offset)
    if offset < 0:  # rewritten (a resume dropped replayed steps): read it again
        new, offset = read_metrics_since(run_dir, 0)
        records = []
    records = records + new
    tails[str(run_dir)] = (offset, records)
    return records


def _stamp(folders: list[str]) -> tuple[float, ...]:
    """Modification times of the folders' config and weights files: a new or retrained run refreshes the cache."""
    stamps = []
    for folder in folders:
        for run in run_dirs(Path(folder)):
            stamps += [f.stat().st_mtime for f in (run / CONFIG, run / WEIGHTS) if f.exists()]
    return tuple(sorted(stamps))


@st.cache_data(show_spinner=False)
def _find(folders: tuple[str, ...], stamp: tuple[float, ...]) -> tuple[list[RunSummary], list[str]]:
    return find_runs(*folders)


def all_runs() -> tuple[list[RunSummary], list[str]]:
    """Every run in the run folders (from JSON only) and a warning per broken folder."""
    folders = run_folders()
    runs, warnings = _find(tuple(folders), _stamp(folders))
    hidden = hidden_runs()  # runs of an open survey: a judge must not decode its sentences here
    return [r for r in runs if str(Path(r.path).resolve()) not in hidden], warnings


@st.cache_resource(max_entries=24, show_spinner="Loading model…")
def _load(path: str, mtime: float) -> TextVAE:
    from textvae_core.inference import TextVAE

    return TextVAE.load(path)  # eval mode; callers only read it (no_grad inside TextVAE)


def load_model(run: RunSummary | str | Path) -> TextVAE:
    """The cached model of a run, keyed by its path and its weights' modification time."""
    path = Path(run.path if isinstance(run, RunSummary) else run)
    return _load(str(path.resolve()), (path / WEIGHTS).stat().st_mtime)


def digest(run: RunSummary) -> str:
    """The recorded digest of the run's weights (part of every cache key below: new weights, new entries)."""
    return weights_digest(run.path)


@st.cache_data(show_spinner=False, max_entries=64)
def sentences_of(path: str, digest: str, split: str = "test") -> list[str]:
    """A run's held-out sentences as text (cached per run and weights)."""
    from ..latent_map import corpus_for

    return corpus_for(path, split)


@st.cache_data(show_spinner="Encoding the held-out sentences…", max_entries=16)
def code_bank(path: str, digest: str, split: str = "test") -> np.ndarray:
    """Posterior means μ of a run's held-out sentences [N, z_dim] (cached per run and weights)."""
    from ..neighbours import code_bank as encode_bank

    return encode_bank(load_model(path), sentences_of(path, digest, split))


@st.cache_data(show_spinner=False, max_entries=16)
def projector_files(path: str, digest: str, split: str = "test") -> tuple[str, str]:
    """A run's held-out μ and sentences as the Embedding Projector's vectors and metadata TSV files."""
    from ..neighbours import projector_tsv

    sentences = sentences_of(path, digest, split)
    return projector_tsv(code_bank(path, digest, split), sentences, labels_of(path, digest, split))


@st.cache_data(show_spinner=False, max_entries=64)
def labels_of(path: str, digest: str, split: str = "test") -> list[str] | None:
    """A labelled run's held-out labels (None for a corpus without labels)."""
    from ..latent_map import labels_for

    return labels_for(path, split)


def decode_point(run: RunSummary, z: np.ndarray) -> str:
    """Greedy decoding of one latent (a clicked point of a map) by the run's cached model."""
    from ..textlab import decode_config, decode_latent

    return decode_latent(load_model(run), z, decode_config("greedy"))


@st.cache_data(show_spinner=False, max_entries=32)
def latent_points(path: str, digest: str) -> LatentMap:
    """The run's stored map (instant), or fresh samples with a PCA (seconds) when it has none."""
    from ..latent_map import MapConfig, load_map, project, sample_points

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
    from ..latent_map import project

    lm = latent_points(path, digest)
    return lm.coords[method] if method in lm.coords else project(lm.z, method)


@st.cache_data(show_spinner=False, max_entries=256)
def reconstruct(
    path: str, digest: str, sentences: tuple[str, ...], decoding: DecodeConfig, use_mean: bool, n: int, seed: int
) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """Cached reconstructions table and unknown words: swapping a slider back is instant."""
    from ..textlab import reconstruct_table

    return reconstruct_table(load_model(path), list(sentences), decoding, use_mean, n, seed)


@st.cache_data(show_spinner=False, max_entries=64)
def active_units_of(path: str, digest: str) -> np.ndarray:
    """Boolean active-unit mask: from eval.json when it has one, else from up to 2,000 test sentences."""
    from ..textlab import active_mask

    variances = ((read_eval(path) or {}).get("latent") or {}).get("au_variances")
    if variances:
        return np.asarray(variances) > 0.01
    return active_mask(load_model(path), sentences_of(path, digest))
