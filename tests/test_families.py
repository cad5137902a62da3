"""The report's model families end to end: they learn on the toy sines, log and evaluate their KL per layer
or position, go through a run directory and back, and serve the app's inference calls."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from tests.helpers import tiny_config
from tests.test_models import FAMILIES, tiny
from textvae_core.checkpoint import export_run, load_run, weights_bytes
from textvae_core.config import ConfigError, RunConfig
from textvae_core.inference import InputError, TextVAE
from textvae_core.metrics import heldout_bounds
from textvae_core.models import build_model
from textvae_core.objectives import preset
from textvae_core.paths import ROOT
from textvae_core.rundir import WEIGHTS, read_metrics, write_config, write_vocab
from textvae_core.train import prepare_data, train
from textvae_core.vocab import Vocab

TOY = ROOT / "data" / "toy_sine"
SENTENCES = ["the cat sees the river today", "a dog finds some bread", "my sister paints a red car near the park"]


def toy_config(kind: str, out: Path) -> RunConfig:
    """Small LVAE (3 layers) or Hybrid on the toy sines, with the report's β warm-up from 0. Each gets the
    collapse remedy of its paper: the Hybrid its auxiliary term (α = 1), the ladder word dropout."""
    cfg = RunConfig(
        objective=preset(
            "vae", schedule="linear", warmup_steps=150, beta_start=0.0, alpha=1.0 if kind == "hybrid" else 0.0
        )
    )
    cfg.data.train, cfg.data.valid, cfg.data.test = (str(TOY / f"{s}.txt") for s in ("train", "valid", "test"))
    cfg.data.max_len = 31
    m = cfg.model
    m.emb_dim, m.hidden, m.z_dim = 16, 48, 8
    if kind == "hybrid":
        m.encoder, m.decoder, m.seq_len, m.conv_channels = "cnn", "hybrid", 32, [32, 48]
    else:
        m.latent, m.ladder_z, m.ladder_hidden = "ladder", [8, 4, 2], [48, 32, 16]
        cfg.train.word_dropout = 0.5
    t = cfg.train
    t.out, t.max_steps, t.batch_size, t.val_every, t.lr = str(out), 400, 32, 200, 3e-3
    t.progress, t.ckpt_every, t.seed, t.num_threads = False, 0, 0, 1
    return cfg


@pytest.mark.parametrize("kind", ["ladder", "hybrid"])
def test_ladder_and_hybrid_learn_the_toy_sines(kind: str, tmp_path: Path) -> None:
    threads = torch.get_num_threads()
    cfg = toy_config(kind, tmp_path / kind)
    vocab, _, valid = prepare_data(cfg)
    torch.manual_seed(cfg.train.seed)
    before = heldout_bounds(build_model(cfg.model, len(vocab)), valid, torch.device("cpu"))
    try:
        after = train(cfg).valid
    finally:
        torch.set_num_threads(threads)
    assert after["elbo"] > before["elbo"] + 25  # ≈ −73 nats untrained (a uniform guess) → ≈ −31 to −34
    assert after["kl"] > 0.5  # the latent carries information
    trained = read_metrics(tmp_path / kind, "train")
    if kind == "ladder":  # every layer's KL logged while training and measured at validation, summing to KL
        assert {"kl_z1", "kl_z2", "kl_z3"} <= set(trained[-1]) and {"kl_z1", "kl_z2", "kl_z3"} <= set(after)
        assert after["kl_z1"] + after["kl_z2"] + after["kl_z3"] == pytest.approx(after["kl"], rel=1e-4)
    else:  # the deconvolution's own reconstruction is logged and improves on a uniform guess
        assert "aux_rec" in trained[-1] and after["aux_rec"] < before["aux_rec"] - 5


def write_run(cfg_model: object, vocab: Vocab, folder: Path) -> Path:
    """A run directory (config, vocabulary, weights) for a freshly built model."""
    folder.mkdir(parents=True)
    cfg = RunConfig(model=cfg_model, vocab_size=len(vocab))
    write_config(folder, cfg)
    write_vocab(folder, vocab)
    torch.manual_seed(0)
    model = build_model(cfg.model, len(vocab))
    (folder / WEIGHTS).write_bytes(weights_bytes(model, {"step": "0"}))
    return folder


@pytest.fixture(scope="module")
def vocab() -> Vocab:
    return Vocab.build([s.split() for s in SENTENCES])


@pytest.mark.parametrize(("enc", "dec", "z_mode", "latent"), [*FAMILIES, ("cnn", "deconv", "concat", "dense")])
def test_every_family_survives_a_run_directory(
    enc: str, dec: str, z_mode: str, latent: str, vocab: Vocab, tmp_path: Path
) -> None:
    src = write_run(tiny(enc, dec, z_mode, latent), vocab, tmp_path / "run")
    vae = TextVAE.load(src)
    assert vae.z_dim == vae.model.latent_dim and vae.latent_parts[0].name in {"z", "z1", "pos1"}
    enc_out = vae.encode(SENTENCES)
    assert enc_out.mu.shape == (3, vae.z_dim) and torch.allclose(enc_out.kl.sum(-1), enc_out.kl.sum(-1).clamp_min(0))
    z = vae.prior_z(4, seed=3)
    before = vae.decode(torch.cat([enc_out.mu, z]))
    again = TextVAE.load(src)
    assert torch.equal(again.encode(SENTENCES).mu, enc_out.mu) and again.decode(torch.cat([enc_out.mu, z])) == before
    assert torch.equal(again.prior_z(4, seed=3), z)
    half = TextVAE.load(export_run(src, tmp_path / "half"))  # the shipped float16 form
    assert torch.allclose(half.encode(SENTENCES).mu, enc_out.mu, atol=2e-2)
    assert load_run(tmp_path / "half").config.model == load_run(src).config.model


def test_ladder_inference_samples_and_scores_in_the_full_latent(vocab: Vocab, tmp_path: Path) -> None:
    vae = TextVAE.load(write_run(tiny("lstm", "lstm", latent="ladder", ladder_z=[5, 4]), vocab, tmp_path / "r"))
    enc = vae.encode(SENTENCES)
    parts = {p.name: enc.kl[:, p.start : p.stop].sum(-1) for p in vae.latent_parts}
    assert list(parts) == ["z1", "z2"] and all((v >= 0).all() for v in parts.values())
    draws = vae.posterior_z(enc, use_mean=False, n_samples=6, seed=1)  # drawn top-down, not from flat μ, σ
    assert draws.shape == (6, 3, 9) and torch.equal(draws, vae.posterior_z(enc, use_mean=False, n_samples=6, seed=1))
    path = vae.interpolate(vae.prior_z(2, seed=0)[0], vae.prior_z(2, seed=0)[1], 5)
    assert len(vae.decode(path)) == 5
    texts = vae.reconstruct(SENTENCES[:1], use_mean=False, n_samples=2, seed=0)
    assert len(texts[0].outputs) == 2


def test_fixed_width_models_refuse_what_they_cannot_hold(vocab: Vocab, tmp_path: Path, corpus_dir: Path) -> None:
    vae = TextVAE.load(write_run(tiny("cnn", "hybrid", seq_len=8, conv_channels=[8]), vocab, tmp_path / "r"))
    assert vae.model.max_tokens == 7
    vae.encode(SENTENCES[:2])
    with pytest.raises(InputError, match="9 words; this model reads at most 7"):
        vae.encode(SENTENCES)
    assert all(len(t.split()) <= 8 for t in vae.sample(20, seed=0))  # the decoder is 8 positions wide
    cfg = tiny_config(corpus_dir, tmp_path / "t")
    cfg.model.encoder = "cnn"
    with pytest.raises(ConfigError, match=r"set data\.max_len to at most 63"):
        train(cfg)


def test_evaluation_reports_the_kl_of_every_layer(corpus_dir: Path, tmp_path: Path) -> None:
    from textvae_core.evaluate import EvalConfig, evaluate

    cfg = tiny_config(corpus_dir, tmp_path / "lvae")
    cfg.model.latent, cfg.model.ladder_z, cfg.model.ladder_hidden = "ladder", [4, 3, 2], [16, 16, 16]
    cfg.train.max_steps = 30
    train(cfg)
    res = evaluate(
        tmp_path / "lvae",
        EvalConfig(
            k=4, max_sentences=40, prior_samples=10, homotopy_pairs=2, fce_schemes="", syntax_dir="", device="cpu"
        ),
        progress=False,
    )
    assert res["family"] == "LVAE (3)"
    b, lat = res["bounds"], res["latent"]
    assert list(b["kl_terms"]) == ["z1", "z2", "z3"] and sum(b["kl_terms"].values()) == pytest.approx(b["kl"])
    assert res["iw_nll"]["nll"] <= b["nll_bound"] + 1e-6  # the ladder's own densities: a valid bound
    assert lat["z_dim"] == 9 and list(lat["parts"]) == ["z1", "z2", "z3"]
    assert sum(p["active_units"] for p in lat["parts"].values()) == lat["active_units"]
    assert lat["prior"].startswith("hierarchical")
    assert math.isfinite(lat["mutual_information"])
    assert b["n_sentences"] == 40


def test_evaluation_decodes_characters_with_a_character_budget(vocab: Vocab, tmp_path: Path) -> None:
    from textvae_core.decoding import DecodeConfig
    from textvae_core.evaluate import EvalConfig, decoding

    words = TextVAE.load(write_run(tiny("lstm", "lstm"), vocab, tmp_path / "w"))
    chars_vocab = Vocab.build([list(s) for s in SENTENCES], level="char")
    chars = TextVAE.load(write_run(tiny("lstm", "lstm"), chars_vocab, tmp_path / "c"))
    greedy = DecodeConfig(method="greedy")
    assert decoding(greedy, EvalConfig(), words).max_len == 50  # the word-level default, as before
    assert decoding(greedy, EvalConfig(), chars).max_len == 150  # a 50-word sentence is ~250 characters
    assert decoding(greedy, EvalConfig(max_len=80), chars).max_len == 80


def test_family_names_follow_the_report() -> None:
    from textvae_core.layout import family_name

    names = {
        ("lstm", "lstm", "dense"): "RNN VAE",
        ("cnn", "deconv", "dense"): "CNN VAE",
        ("cnn", "hybrid", "fmp"): "Hybrid VAE (FMP)",
        ("gru", "gru", "fmp"): "RNN VAE (FMP)",
        ("lstm", "lstm", "ladder"): "LVAE (2)",
        ("cnn", "lstm", "ladder"): "LCNNVAE (2)",
        ("lstm", "cnn", "dense"): "LSTM→dilated CNN VAE",
    }
    for (enc, dec, latent), want in names.items():
        assert family_name(tiny(enc, dec, latent=latent)) == want


def test_main_recipe_knobs_train_with_a_family_through_the_trainer(corpus_dir: Path, tmp_path: Path) -> None:
    """A Hybrid with a feature-map latent under BN-μ and the bag-of-words loss: every term of the objective
    (α·D_aux, bow, the KL of each position) is logged, and the ladder refuses BN-μ before reading data."""
    cfg = tiny_config(corpus_dir, tmp_path / "h", "beta-c", C=3.0, alpha=0.5, bow=0.3)
    m = cfg.model
    m.encoder, m.decoder, m.latent, m.seq_len, m.conv_channels = "cnn", "hybrid", "fmp", 16, [8, 8]
    m.mu_norm, m.bow_head = "batchnorm", True
    cfg.data.max_len, cfg.train.bucket_chunk, cfg.train.max_steps = 15, 1, 6
    result = train(cfg)
    last = read_metrics(tmp_path / "h", "train")[-1]
    assert {"aux_rec", "bow", "kl_pos1", "kl_pos4"} <= set(last)
    assert sum(last[f"kl_pos{k}"] for k in range(1, 5)) == pytest.approx(last["kl"], rel=1e-4)
    assert {"kl_pos1", "aux_rec"} <= set(result.valid)
    ladder = tiny_config(corpus_dir, tmp_path / "l")
    ladder.model.latent, ladder.model.mu_norm, ladder.train.bucket_chunk = "ladder", "batchnorm", 1
    with pytest.raises(ConfigError, match="conditional priors"):
        train(ladder)
