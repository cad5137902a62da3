"""Shared fixtures: a tiny synthetic corpus and tiny trained runs, so the whole suite runs on 2 CPU cores
(the helpers they are built with: tests/helpers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.helpers import make_sentences, tiny_config


@pytest.fixture(scope="session")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    for split, n, seed in (("train", 600, 1), ("valid", 100, 2), ("test", 100, 3)):
        (root / f"{split}.txt").write_text("\n".join(make_sentences(n, seed)) + "\n", encoding="utf-8")
    return root


@pytest.fixture(scope="session")
def trained_run(corpus_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small β_C run trained once for the whole session (decoding and checkpoint tests read it)."""
    from textvae_core.train import train

    out = tmp_path_factory.mktemp("runs") / "bc"
    cfg = tiny_config(corpus_dir, out, "beta-c", C=3.0)
    cfg.train.epochs = 4
    train(cfg)
    return out


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def run_folder(corpus_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two tiny β_C runs on one corpus (C = 3 and 10, same budget: a family for the C slider), one with a
    stored map."""
    from explorer.latent_map import MapConfig, precompute
    from textvae_core.train import train

    root = tmp_path_factory.mktemp("app_runs")
    for c in (3, 10):
        cfg = tiny_config(corpus_dir, root / f"tiny-bc{c}", "beta-c", C=float(c))
        # long enough to write whole sentences, not "the the"; word dropout makes the two C's decode differently
        cfg.train.epochs, cfg.train.lr, cfg.train.word_dropout = 12, 3e-3, 0.5
        train(cfg)
    precompute(root / "tiny-bc3", MapConfig(n_posterior=60, n_prior=15), methods=("pca",))
    return root


@pytest.fixture(autouse=True)
def own_job_queue(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test's training queue in a folder of its own (explorer.jobs keeps it under var/jobs/ otherwise)."""
    folder = tmp_path_factory.mktemp("jobs")
    monkeypatch.setenv("TEXTVAE_JOBS_DIR", str(folder))
    return folder
