"""The app on the report's model families, with the two shipped character-level runs: the runs table names
the family from config.json alone, the encoder lens shows each ladder layer's KL, edits reach the decoder
through the layers below, prior samples and homotopies live in the full (top-down) latent, sliders know α."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from explorer import plots
from explorer.latent_map import MapConfig, sample_points
from explorer.runs import find_runs, headline, knob_family
from explorer.textlab import (
    Endpoints,
    decode_config,
    decode_latent,
    edited_latent,
    encoder_lens,
    homotopy_texts,
    prior_draw,
    prior_samples,
)
from textvae_core.config import RunConfig
from textvae_core.data import make_batch
from textvae_core.inference import TextVAE
from textvae_core.objectives import preset
from textvae_core.paths import CHECKPOINTS, ROOT
from textvae_core.rundir import WEIGHTS, write_config

LADDER = CHECKPOINTS / "snli-char-lcnnvae-5-c10"
RNN = CHECKPOINTS / "snli-char-rnn-dls-c10"
SENTENCE = "a man is playing a guitar on stage ."
GREEDY = decode_config("greedy")


@pytest.fixture(scope="module")
def ladder() -> TextVAE:
    return TextVAE.load(LADDER, device="cpu")


@pytest.fixture(scope="module")
def rnn() -> TextVAE:
    return TextVAE.load(RNN, device="cpu")


def test_the_runs_table_names_each_family_from_its_json_without_torch() -> None:
    runs, _ = find_runs(CHECKPOINTS)
    rows = {r.name: r.row() for r in runs}
    assert rows["snli-char-lcnnvae-5-c10"]["family"] == "LCNNVAE (5)"
    assert rows["snli-char-lcnnvae-5-c10"]["latent"] == "ladder 16/12/8/6/4"
    assert (
        rows["snli-char-rnn-dls-c10"]["family"] == "RNN VAE" and rows["snli-char-rnn-dls-c10"]["latent"] == "dense 16"
    )
    assert rows["ptb-lstm-bc15"]["family"] == "RNN VAE" and rows["ptb-lstm-bc15"]["alpha"] == 0.0
    heads = {r.name: headline(r) for r in runs}
    assert heads["snli-char-lcnnvae-5-c10"]["model"].startswith("LCNNVAE (5) 32/128, ladder 16/12/8/6/4")
    assert "characters" in heads["snli-char-lcnnvae-5-c10"]["model"]
    assert heads["ptb-lstm-bc15"]["model"].startswith("lstm→lstm ")  # the RNN VAE rows keep their curve names
    assert heads["sweep-cnn-c10"]["model"].startswith("lstm→cnn 64/128/32, 5000 words")  # named as its peers
    code = (
        "import sys; from explorer.runs import find_runs, headline; from textvae_core.paths import CHECKPOINTS\n"
        "runs, _ = find_runs(CHECKPOINTS); [headline(r) | r.row() for r in runs]\n"
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"  # the family and latent parts come from config.json alone


def test_the_encoder_lens_shows_the_kl_of_every_ladder_layer(ladder: TextVAE) -> None:
    lens = encoder_lens(ladder, SENTENCE)
    assert [p.name for p in lens.parts] == ["z1", "z2", "z3", "z4", "z5"] and lens.hierarchical
    assert lens.mu.shape == lens.kl.shape == (16 + 12 + 8 + 6 + 4,)
    # each layer against its conditional prior, as training counts it: the model's own figures
    ids, _, _ = ladder.tokenize([SENTENCE])
    batch = make_batch(ids, ladder.vocab)
    with torch.no_grad():
        post = ladder.model.posterior(batch.src, batch.lengths, sample=False)
    assert np.allclose(lens.kl, post.kl_dims[0].double().numpy(), atol=1e-5)
    assert sum(lens.part_kl.values()) == pytest.approx(float(lens.kl.sum()), rel=1e-6)
    assert all(v >= -1e-6 for v in lens.part_kl.values()) and max(lens.part_kl.values()) > 0.1
    assert lens.label(0) == "z1[0]" and lens.label(16 + 3) == "z2[3]" and lens.label(45) == "z5[3]"


def test_an_edit_above_z1_reaches_the_decoder_through_the_layers_below(ladder: TextVAE) -> None:
    lens = encoder_lens(ladder, SENTENCE)
    top = lens.parts[4]
    dim = top.start + int(np.argmax(lens.kl[top.start : top.stop]))
    edited = edited_latent(ladder, SENTENCE, lens, dim, lens.mu[dim] + 3.0)
    assert edited[dim] == pytest.approx(lens.mu[dim] + 3.0, abs=1e-6)  # the edit itself is kept
    z1 = lens.parts[0]
    assert not np.allclose(edited[z1.start : z1.stop], lens.mu[z1.start : z1.stop])  # z1 follows it
    unchanged = edited_latent(ladder, SENTENCE, lens, dim, float(lens.mu[dim]))
    assert np.allclose(unchanged, lens.mu, atol=1e-4)  # no edit: the sentence's own mean path again
    in_z1 = edited_latent(ladder, SENTENCE, lens, 2, 1.5)
    assert np.allclose(np.delete(in_z1, 2), np.delete(lens.mu, 2)) and in_z1[2] == 1.5
    assert isinstance(decode_latent(ladder, edited, GREEDY), str)


def test_a_dense_lens_is_unchanged(rnn: TextVAE) -> None:
    lens = encoder_lens(rnn, SENTENCE)
    assert [p.name for p in lens.parts] == ["z"] and lens.label(5) == "z5" and not lens.hierarchical
    mu, lv = torch.as_tensor(lens.mu), torch.log(torch.as_tensor(lens.sigma) ** 2)
    assert np.allclose(lens.kl, (0.5 * (mu**2 + lv.exp() - lv - 1)).numpy(), atol=1e-5)  # against N(0, I)
    edited = edited_latent(rnn, SENTENCE, lens, 3, 2.0)
    assert edited[3] == 2.0 and np.allclose(np.delete(edited, 3), np.delete(lens.mu, 3))


def test_prior_samples_and_homotopies_live_in_the_full_top_down_latent(ladder: TextVAE, rnn: TextVAE) -> None:
    z = prior_draw(ladder, 6, seed=5)
    assert z.shape == (6, 46)
    top = torch.randn(6, 4, generator=torch.Generator().manual_seed(5))
    assert torch.allclose(z[:, -4:], top)  # z_5 ~ N(0, I) is drawn first …
    with torch.no_grad():
        mu_p, _ = ladder.model.p_rungs[3](top)
    assert not torch.allclose(z[:, 36:42], mu_p) and (z[:, 36:42] - mu_p).abs().mean() < 3  # … then z_4 | z_5
    texts, stats = prior_samples(ladder, 6, GREEDY, seed=5)
    assert texts == ladder.decode(z, GREEDY, seed=5) and stats["n"] == 6
    assert torch.equal(prior_draw(rnn, 3, seed=5), torch.randn(3, 16, generator=torch.Generator().manual_seed(5)))
    path, _ = homotopy_texts(ladder, Endpoints("prior", seed=5), 5, "linear", GREEDY)
    ends = ladder.decode(prior_draw(ladder, 2, seed=5), GREEDY, seed=5)
    assert len(path) == 5 and [path[0], path[-1]] == ends
    path, unknown = homotopy_texts(ladder, Endpoints("sentences", SENTENCE, "two dogs run ."), 4, "slerp", GREEDY)
    assert len(path) == 4 and unknown == []


def test_the_latent_map_draws_a_ladder_top_down(ladder: TextVAE) -> None:
    lm = sample_points(ladder, [SENTENCE, "two dogs run .", "a woman is sleeping ."], MapConfig(n_prior=5, seed=2))
    assert lm.z.shape == (8, 46) and lm.n_posterior == 3
    gen = torch.Generator().manual_seed(2)
    with torch.no_grad():
        prior = ladder.model.prior_z(5, gen, "cpu")
    assert np.allclose(lm.z[3:], prior.numpy(), atol=1e-6)


def _run(root: Path, name: str, alpha: float, decoder: str = "hybrid", latent: str = "dense") -> None:
    cfg = RunConfig(objective=preset("vae"))
    cfg.model.encoder, cfg.model.decoder, cfg.model.latent = "cnn", decoder, latent
    cfg.objective.alpha = alpha
    (root / name).mkdir()
    write_config(root / name, cfg)
    (root / name / WEIGHTS).write_bytes(b"")


def test_the_knob_slider_walks_over_alpha_within_one_family(tmp_path: Path) -> None:
    _run(tmp_path, "h-a0.5", 0.5)
    _run(tmp_path, "h-a0.2", 0.2)
    _run(tmp_path, "h-fmp-a1", 1.0, latent="fmp")  # another latent: another family
    _run(tmp_path, "cnn-a0.5", 0.5, decoder="deconv")
    runs, _ = find_runs(tmp_path)
    by = {r.name: r for r in runs}
    family = knob_family(runs, by["h-a0.5"], "alpha")
    assert [(v, r.name) for v, r in family] == [(0.2, "h-a0.2"), (0.5, "h-a0.5")]
    assert knob_family(runs, by["h-a0.5"], "C") == []  # no capacity: nothing to slide over
    assert by["h-fmp-a1"].row()["family"] == "Hybrid VAE (FMP)" and by["cnn-a0.5"].row()["family"] == "CNN VAE"


@pytest.fixture
def char_runs(tmp_path: Path) -> Path:
    for run in (LADDER, RNN):
        shutil.copytree(run, tmp_path / run.name)
    return tmp_path


def test_runs_page_and_encoder_lens_page_on_the_shipped_char_runs(
    char_runs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    st.cache_data.clear()
    st.cache_resource.clear()
    monkeypatch.setenv("TEXTVAE_RUNS", str(char_runs))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    assert not at.exception, [e.value for e in at.exception]
    table = at.dataframe[0].value
    assert dict(zip(table["run"], table["family"], strict=True)) == {
        "snli-char-lcnnvae-5-c10": "LCNNVAE (5)",
        "snli-char-rnn-dls-c10": "RNN VAE",
    }
    assert "alpha" in table.columns
    at.switch_page("pages/encoder_lens.py").run()
    at.selectbox[0].set_value("snli-char-lcnnvae-5-c10").run()
    at.text_input[0].set_value(SENTENCE).run()
    assert not at.exception, [e.value for e in at.exception]
    layers = [c.value for c in at.caption if c.value.startswith("KL per ladder layer")]
    assert layers and all(f"z{i}" in layers[0] for i in range(1, 6)) and "conditional prior" in layers[0]
    assert len(at.get("plotly_chart")) == 2  # the per-dimension bars and the per-layer KL
    at.selectbox[1].set_value(16 + 12 + 8 + 6).run()  # the top layer's first coordinate
    at.slider[0].set_value(3.0).run()
    assert any(m.value.startswith("**z5[0] = +3.00:**") for m in at.markdown)
    assert any("inferred again from the sentence" in c.value for c in at.caption)


def test_the_two_rate_charts_colour_a_curve_alike() -> None:
    """The KL-against-C chart has no legend of its own: its points must take the colour that the rate–distortion
    chart's legend gives their curve, whichever rows each chart keeps."""
    runs, _ = find_runs(CHECKPOINTS)
    table = pd.DataFrame([headline(r) for r in runs])
    rd, kc = plots.rate_distortion(table), plots.kl_against_target(table)
    line = {t.name: t.line.color for t in rd.data}
    points = [t for t in kc.data if t.mode == "markers"]
    assert len(points) >= 3 and not any(t.showlegend for t in points)
    assert len({t.marker.color for t in points}) == len(points)
    for t in points:
        assert t.marker.color == line[t.name]
