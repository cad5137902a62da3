"""The papers' headline behaviours, reproduced in miniature (seeded, tiny model, random-word corpus).

Sentences of 3-6 words drawn uniformly from 12 words carry ~11 nats that no decoder can guess, so
a latent that encodes them pays off only when the objective rewards reconstruction enough:
the plain VAE collapses, AutoGen (m = 1) keeps information in z, β_C pins the KL at C.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.helpers import tiny_config
from textvae_core.train import train


@pytest.fixture(scope="module")
def random_word_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("random_words")
    words = [f"w{i}" for i in range(12)]
    for split, n, seed in (("train", 600, 1), ("valid", 100, 2), ("test", 100, 3)):
        rng = random.Random(seed)
        lines = [" ".join(rng.choice(words) for _ in range(rng.randint(3, 6))) for _ in range(n)]
        (root / f"{split}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def held_out_kl(corpus: Path, out: Path, objective: str, **knobs: float) -> float:
    cfg = tiny_config(corpus, out, objective, **knobs)
    cfg.model.hidden, cfg.model.z_dim = 64, 8
    cfg.train.lr, cfg.train.max_steps, cfg.train.seed = 3e-3, 500, 0
    return train(cfg).valid["kl"]


def test_vae_collapses_autogen_keeps_kl_beta_c_hits_capacity(random_word_corpus: Path, tmp_path: Path) -> None:
    vae = held_out_kl(random_word_corpus, tmp_path / "vae", "vae")
    autogen = held_out_kl(random_word_corpus, tmp_path / "autogen", "autogen", m=1.0)
    beta_c = held_out_kl(random_word_corpus, tmp_path / "bc", "beta-c", C=3.0)
    assert vae < 0.5, f"plain VAE should collapse, KL = {vae:.3f}"
    assert autogen > 1.0 and autogen > 5 * vae, f"AutoGen KL {autogen:.2f} vs VAE {vae:.3f}"
    assert 2.0 <= beta_c <= 4.0, f"β_C-VAE with C = 3 should hold KL near 3, got {beta_c:.2f}"
