"""Decoding: batched = one at a time, scores are real log-probabilities, samplers filter correctly."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from textvae_core.data import make_batch
from textvae_core.decoding import DecodeConfig, _filter_logits, decode, sample_next
from textvae_core.inference import InputError, TextVAE


@pytest.fixture(scope="module")
def vae(trained_run: Path) -> TextVAE:
    return TextVAE.load(trained_run)


def sequence_logp(vae: TextVAE, z: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """Teacher-forced log p(x|z) of decoded id rows (cut at the first <eos>, which is scored)."""
    seqs = [vae.vocab.decode(row.tolist()) for row in ids]
    batch = make_batch([vae.vocab.encode(s)[0] or [vae.vocab.unk_id] for s in seqs], vae.vocab)
    return -vae.model.sentence_nll(z, batch.dec_in, batch.target, batch.lengths)


@pytest.mark.parametrize("method", ["greedy", "beam"])
def test_reported_scores_are_the_models_log_probabilities(vae: TextVAE, method: str) -> None:
    z = vae.prior_z(6, seed=1)
    ids, logp = decode(vae.model, z, DecodeConfig(method=method, beam_size=4), vae.vocab.bos_id, vae.vocab.eos_id)
    assert (ids == vae.vocab.eos_id).any(1).all()  # every row finished
    assert torch.allclose(logp, sequence_logp(vae, z, ids), atol=1e-3)


def test_beam_search_finds_at_least_greedy_probability(vae: TextVAE) -> None:
    z = vae.prior_z(16, seed=2)
    _, greedy = decode(vae.model, z, DecodeConfig(method="greedy"), vae.vocab.bos_id, vae.vocab.eos_id)
    _, beam = decode(vae.model, z, DecodeConfig(method="beam", beam_size=5), vae.vocab.bos_id, vae.vocab.eos_id)
    assert (beam >= greedy - 1e-4).float().mean() >= 0.9  # the greedy path is usually on the beam
    assert beam.mean() >= greedy.mean()


def test_beam_stops_when_its_best_hypothesis_ends_without_changing_the_answer(vae: TextVAE) -> None:
    """Settling a sentence once its top beam ends (no length penalty) gives what waiting for every
    beam gives: a length penalty of 1e-9 ranks the same but makes the search wait for all beams."""
    z = 2 * vae.prior_z(40, seed=7)  # far from the data: some beams never end, the best ones do
    args = (vae.vocab.bos_id, vae.vocab.eos_id)
    early = decode(vae.model, z, DecodeConfig(method="beam", beam_size=4, max_len=30), *args)
    waited = decode(vae.model, z, DecodeConfig(method="beam", beam_size=4, max_len=30, length_penalty=1e-9), *args)
    width = min(early[0].size(1), waited[0].size(1))
    assert torch.equal(early[0][:, :width], waited[0][:, :width])
    assert (early[0][:, width:] == vae.vocab.eos_id).all() and (waited[0][:, width:] == vae.vocab.eos_id).all()
    assert torch.allclose(early[1], waited[1], atol=1e-5)
    assert early[0].size(1) < waited[0].size(1)  # and it did stop sooner


@pytest.mark.parametrize("method", ["greedy", "beam"])
def test_batched_decoding_equals_one_sentence_at_a_time(vae: TextVAE, method: str) -> None:
    z = vae.prior_z(5, seed=3)
    cfg = DecodeConfig(method=method, beam_size=3)
    together = vae.decode(z, cfg)
    alone = [vae.decode(z[i : i + 1], cfg)[0] for i in range(5)]
    assert together == alone


def test_degenerate_samplers_equal_greedy(vae: TextVAE) -> None:
    z = vae.prior_z(8, seed=4)
    greedy = vae.decode(z, DecodeConfig(method="greedy"))
    assert vae.decode(z, DecodeConfig(method="sample", top_k=1), seed=0) == greedy
    assert vae.decode(z, DecodeConfig(method="sample", top_p=1e-6), seed=0) == greedy
    assert vae.decode(z, DecodeConfig(method="beam", beam_size=1)) == greedy


def test_sampling_is_seeded_and_varies(vae: TextVAE) -> None:
    cfg = DecodeConfig(method="sample", top_p=0.95, temperature=1.5)
    a = vae.sample(20, cfg, seed=5)
    assert a == vae.sample(20, cfg, seed=5)
    assert a != vae.sample(20, cfg, seed=6)
    assert len(set(a)) > 5


def test_filter_logits_on_a_known_distribution() -> None:
    probs = torch.tensor([[0.5, 0.3, 0.15, 0.05]])
    logits = probs.log()
    keep = lambda f: torch.isfinite(f).squeeze(0).tolist()  # noqa: E731
    assert keep(_filter_logits(logits, 2, 1.0)) == [True, True, False, False]
    assert keep(_filter_logits(logits, 0, 0.5)) == [True, False, False, False]
    assert keep(_filter_logits(logits, 0, 0.8)) == [True, True, False, False]
    assert keep(_filter_logits(logits, 0, 0.81)) == [True, True, True, False]
    # top-k first, then the nucleus of the renormalised rest (0.5 + 0.3 = 84% of the top 3)
    assert keep(_filter_logits(logits, 3, 0.81)) == [True, True, False, False]
    assert keep(_filter_logits(logits, 3, 0.85)) == [True, True, True, False]


def test_max_len_is_respected(vae: TextVAE) -> None:
    for method in ("greedy", "beam", "sample"):
        ids, _ = decode(vae.model, vae.prior_z(4, seed=0), DecodeConfig(method=method, max_len=3), 2, 3)
        assert ids.size(1) <= 3


def test_reconstruct_reports_unknown_words_and_samples(vae: TextVAE) -> None:
    out = vae.reconstruct(["the cat sees the zeppelin", "a dog buys a red car"], n_samples=3, use_mean=False, seed=0)
    assert out[0].unknown == ["zeppelin"] and out[1].unknown == []
    assert all(len(r.outputs) == 3 for r in out)
    mean = vae.reconstruct(["a dog buys a red car"], n_samples=2, use_mean=True)
    assert mean[0].outputs[0] == mean[0].outputs[1]
    with pytest.raises(InputError, match="sentence 2 is empty"):
        vae.reconstruct(["fine", "   "])


def test_encode_keeps_input_order_across_length_batches(vae: TextVAE) -> None:
    sents = ["the cat sees the river", "a dog", "my sister paints the moon with great care", "the bank"]
    together = vae.encode(sents, batch_size=2).mu
    for i, s in enumerate(sents):
        assert torch.allclose(together[i], vae.encode([s]).mu[0], atol=1e-5)


def test_interpolation(vae: TextVAE) -> None:
    z1, z2 = vae.prior_z(2, seed=7)
    line = vae.interpolate(z1, z2, 5)
    assert torch.allclose(line[0], z1) and torch.allclose(line[-1], z2)
    assert torch.allclose(line[2], (z1 + z2) / 2)
    arc = vae.interpolate(z1, z2, 5, kind="slerp")
    assert torch.allclose(arc[0], z1, atol=1e-5) and torch.allclose(arc[-1], z2, atol=1e-5)
    assert len(vae.decode(arc)) == 5
    with pytest.raises(ValueError):
        vae.interpolate(z1, z2, 1)


def test_invalid_decode_configs() -> None:
    for bad in (
        DecodeConfig(method="viterbi"),
        DecodeConfig(top_p=0.0),
        DecodeConfig(temperature=0),
        DecodeConfig(beam_size=0),
    ):
        with pytest.raises(ValueError):
            bad.validate()


@pytest.mark.parametrize(
    ("top_k", "top_p", "temperature"),
    [(0, 1.0, 1.0), (3, 1.0, 1.0), (0, 0.8, 1.0), (4, 0.7, 0.5), (0, 0.95, 2.0), (0, 0.3, 1.0), (0, 0.5, 0.5)],
)
def test_sampler_draws_from_the_filtered_distribution(top_k: int, top_p: float, temperature: float) -> None:
    """Empirical frequencies of sample_next match softmax(_filter_logits(...)) over 40k draws."""
    from textvae_core.decoding import sample_next

    g = torch.Generator().manual_seed(0)
    logits = torch.randn(1, 300, generator=g) * 2
    cfg = DecodeConfig(method="sample", top_k=top_k, top_p=top_p, temperature=temperature)
    expected = _filter_logits(logits / temperature, top_k, top_p).softmax(-1)[0]
    draws = sample_next(logits.expand(40000, -1), cfg, generator=g)
    freq = torch.bincount(draws, minlength=300).float() / 40000
    assert (freq[expected == 0] == 0).all()  # nothing outside the filter is ever drawn
    assert torch.allclose(freq, expected, atol=0.01)


def test_nucleus_rejection_gives_up_to_the_search_for_rare_nuclei() -> None:
    """Rows whose draws keep missing the nucleus are finished by the top-candidate search, same law."""
    from textvae_core.decoding import REJECTION_ROUNDS, _nucleus_by_rejection

    # one token holds 0.5 (the whole nucleus at top_p = 0.5), the rest is spread over 999 others
    logits = torch.cat([torch.tensor([[0.0]]), torch.full((1, 999), -math.log(999))], 1).expand(20000, -1)
    g = torch.Generator().manual_seed(1)
    choice, unfinished = _nucleus_by_rejection(logits, 0.5, g)
    assert (choice[~unfinished] == 0).all()  # only the nucleus token is ever accepted
    assert abs(unfinished.float().mean().item() - 0.5**REJECTION_ROUNDS) < 0.003
    draws = sample_next(logits, DecodeConfig(method="sample", top_p=0.5), generator=g)
    assert (draws == 0).all()


@pytest.mark.parametrize("decoder", ["lstm", "gru", "cnn"])
@pytest.mark.parametrize("method", ["greedy", "beam"])
def test_dropping_finished_rows_changes_no_output(decoder: str, method: str) -> None:
    """Rows that finish early leave the batch at sync points; every row decodes as it would alone."""
    from textvae_core.config import SIZES, ModelConfig
    from textvae_core.models import build_model

    torch.manual_seed(0)
    model = build_model(ModelConfig(**SIZES["tiny"], decoder=decoder), 40).eval()
    with torch.no_grad():  # make <eos> (id 3) the best next token in some states only
        model.out.weight[3] *= 10.0
        model.out.bias[3] -= 1.0
    z = torch.randn(16, model.cfg.z_dim, generator=torch.Generator().manual_seed(1)) * 3
    cfg = DecodeConfig(method=method, beam_size=3, max_len=20)
    ids, logp = decode(model, z, cfg, 2, 3)
    ends = [int((row == 3).nonzero()[0]) if (row == 3).any() else cfg.max_len for row in ids]
    assert len(set(ends)) >= 3  # rows really finish at different steps
    for i in range(z.size(0)):
        alone, alone_logp = decode(model, z[i : i + 1], cfg, 2, 3)
        width = alone.size(1)
        assert torch.equal(ids[i, :width], alone[0]) and (ids[i, width:] == 3).all()
        assert torch.allclose(logp[i], alone_logp[0], atol=1e-4)
