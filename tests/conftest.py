"""Shared fixtures: a tiny synthetic corpus and tiny configs, so the whole suite runs on 2 CPU cores."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch

from textvae_core.config import SIZES, RunConfig
from textvae_core.objectives import preset

SUBJECTS = ["the cat", "a dog", "the old man", "my sister", "the bank", "a small bird", "the teacher"]
VERBS = ["sees", "likes", "follows", "buys", "paints", "finds", "calls"]
OBJECTS = ["the house", "a red car", "the river", "some bread", "the market", "a new book", "the moon"]
TAILS = ["", "today", "in the morning", "with great care", "again and again", "near the park"]


def make_sentences(n: int, seed: int) -> list[str]:
    """Sentences from a small grammar: enough structure to learn, enough variety to need a latent."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        words = [rng.choice(SUBJECTS), rng.choice(VERBS), rng.choice(OBJECTS), rng.choice(TAILS)]
        out.append(" ".join(w for w in words if w))
    return out


@pytest.fixture(scope="session")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    for split, n, seed in (("train", 600, 1), ("valid", 100, 2), ("test", 100, 3)):
        (root / f"{split}.txt").write_text("\n".join(make_sentences(n, seed)) + "\n", encoding="utf-8")
    return root


def tiny_config(
    corpus_dir: Path, out: Path, objective: str = "vae", decoder: str = "lstm", **knobs: object
) -> RunConfig:
    cfg = RunConfig(objective=preset(objective, **knobs))
    cfg.data.train = str(corpus_dir / "train.txt")
    cfg.data.valid = str(corpus_dir / "valid.txt")
    cfg.data.test = str(corpus_dir / "test.txt")
    for k, v in SIZES["tiny"].items():
        setattr(cfg.model, k, v)
    cfg.model.decoder = decoder
    cfg.train.out = str(out)
    cfg.train.batch_size = 32
    cfg.train.epochs = 1
    cfg.train.progress = False
    cfg.train.ckpt_every = 0
    return cfg


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
