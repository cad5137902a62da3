"""Metrics on cases where the answer is known."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest
import torch

from textvae_core.checkpoint import load_run
from textvae_core.data import Corpus, read_corpus
from textvae_core.metrics import (
    active_units,
    aggregated_posterior,
    encode_corpus,
    heldout_bounds,
    importance_sampled_nll,
    kl_share,
    mutual_information,
)


def test_active_units_of_a_hand_made_encoder() -> None:
    g = torch.Generator().manual_seed(0)
    scales = torch.tensor([0.0, 0.05, 0.2, 1.0, 3.0])  # variances 0, .0025, .04, 1, 9 across x
    mu = torch.randn(5000, 5, generator=g) * scales
    au, var = active_units(mu)
    assert au == 3
    assert torch.allclose(var, scales**2, rtol=0.1, atol=1e-4)
    assert active_units(mu, threshold=2.0)[0] == 1


def test_aggregated_posterior_of_a_known_gaussian() -> None:
    # every x has q(z|x) = N(m, diag s²): the aggregate is that Gaussian
    m = torch.tensor([1.0, -2.0, 0.5])
    s2 = torch.tensor([0.5, 2.0, 1.0])
    n = 40000
    stats = aggregated_posterior(m.expand(n, 3), s2.log().expand(n, 3), seed=1)
    assert stats["log_det_cov"] == pytest.approx(float(s2.log().sum()), abs=0.05)
    assert stats["mean_sq_norm"] == pytest.approx(float(m @ m), abs=0.05)
    expected_kl = 0.5 * float(s2.sum() + m @ m - 3 - s2.log().sum())
    assert stats["kl_moment_matched"] == pytest.approx(expected_kl, abs=0.05)
    # the prior itself: q(z) = N(0, I) gives log det 0, mean 0, KL 0
    prior = aggregated_posterior(torch.zeros(n, 3), torch.zeros(n, 3), seed=2)
    assert abs(prior["log_det_cov"]) < 0.05 and prior["kl_moment_matched"] < 0.01


def test_mutual_information_bounds() -> None:
    n, d = 512, 4
    collapsed = mutual_information(torch.zeros(n, d), torch.zeros(n, d))
    assert abs(collapsed) < 1e-6  # q(z|x) = q(z): no information
    g = torch.Generator().manual_seed(0)
    separated = mutual_information(torch.randn(n, d, generator=g) * 50, torch.full((n, d), -6.0))
    assert separated == pytest.approx(math.log(n), abs=0.01)  # every x identifiable: I = log N


def test_kl_share_formula() -> None:
    assert kl_share(20.0, 4.0, 0.0, 1.0, None) == pytest.approx(4 / 24)
    assert kl_share(20.0, 4.0, 1.0, 1.0, None) == pytest.approx(4 / 44)
    assert kl_share(20.0, 4.0, 0.0, 1.0, 15.0) == pytest.approx(11 / 31)


@pytest.fixture(scope="module")
def run_and_test(trained_run: Path, corpus_dir: Path):
    run = load_run(trained_run)
    return run, Corpus(read_corpus(corpus_dir / "test.txt"), run.vocab, "test")


def test_importance_sampled_nll_is_tighter_than_the_elbo(run_and_test) -> None:
    run, test = run_and_test
    cpu = torch.device("cpu")
    elbo = heldout_bounds(run.model, test, cpu)
    iw = importance_sampled_nll(run.model, test, cpu, k=50)
    one = importance_sampled_nll(run.model, test, cpu, k=1)
    assert iw["nll"] <= elbo["nll_bound"]  # log p(x) ≥ IW bound ≥ ELBO
    assert one["nll"] == pytest.approx(elbo["nll_bound"], rel=0.03)  # k = 1 is the ELBO estimate
    assert iw["nll"] > 0 and iw["ppl"] > 1 and iw["k"] == 50


def test_encode_corpus_matches_per_sentence_encoding(run_and_test) -> None:
    run, test = run_and_test
    mu, logvar = encode_corpus(run.model, test, batch_size=7)
    b = test.batch([3])
    m3, lv3 = run.model.encode(b.src, b.lengths)
    assert torch.allclose(mu[3], m3[0], atol=1e-5) and torch.allclose(logvar[3], lv3[0], atol=1e-5)
    au, _ = active_units(mu)
    assert 0 <= au <= mu.size(1)


def test_bleu_and_rouge_known_values() -> None:
    from textvae_core.metrics import bleu, reconstruction_scores, rouge

    refs = ["the cat sat on the mat today", "a dog ran in the park"]
    assert bleu(refs, refs, 4) == pytest.approx(100.0)
    assert rouge(refs, refs, 2) == pytest.approx(100.0) and rouge(refs, refs, 4) == pytest.approx(100.0)
    unrelated = ["xx yy zz ww vv uu", "qq rr ss tt pp oo"]
    assert bleu(unrelated, refs, 2) == pytest.approx(0.0) and rouge(unrelated, refs, 2) == 0.0
    half = ["the cat sat on a rug yesterday", "a dog ran in the park"]
    assert 0 < bleu(half, refs, 2) < 100 and 0 < rouge(half, refs, 2) < 100
    # ROUGE-2 by hand for the first pair: 3 shared bigrams of 6 each → F1 = 0.5
    assert rouge(half[:1], refs[:1], 2) == pytest.approx(50.0)
    scores = reconstruction_scores(["a b c d e f g h i j k l", "a b c"], ["a b c d e f g h i j k l", "x y z"])
    assert scores["11-20"]["n"] == 1 and scores["11-20"]["bleu4"] == pytest.approx(100.0)
    assert scores["<=10"]["n"] == 1 and scores["<=10"]["bleu2"] == pytest.approx(0.0)
    assert scores["21-30"]["n"] == 0 and math.isnan(scores["21-30"]["bleu2"])


def test_bleu_of_tokenised_text_says_nothing_about_detokenising(caplog: pytest.LogCaptureFixture) -> None:
    """We score whitespace-tokenised text on purpose (tokenize="none"): sacrebleu's warning that 100 lines end
    in a tokenised period would be printed by every evaluation of a corpus with periods, once per bucket."""
    from textvae_core.metrics import bleu, reconstruction_scores

    sentences = [f"sentence number {i} ends here ." for i in range(120)]
    with caplog.at_level("WARNING", logger="sacrebleu"):
        assert bleu(sentences, sentences) == pytest.approx(100.0)
        reconstruction_scores(sentences, sentences)
    assert caplog.records == []


def test_generation_statistics_and_homotopy() -> None:
    from textvae_core.metrics import generation_stats, homotopy_repeats, self_bleu

    same = ["the market fell sharply today"] * 5
    assert self_bleu(same) == pytest.approx(100.0)
    varied = ["the market fell", "investors bought shares quickly", "a new plant opened in ohio", "rates rose again"]
    assert self_bleu(varied) < 20
    stats = generation_stats(["a <unk> b", "c d e f <unk>"])
    assert stats == {"n": 2, "mean_length": 4.0, "pct_unk": 25.0, "distinct": 2}
    assert homotopy_repeats(["a", "a", "b", "b", "b", "c"]) == 3
    assert homotopy_repeats(["a", "b", "c"]) == 0


def test_forward_cross_entropy_prefers_text_like_the_test_set(run_and_test, corpus_dir: Path) -> None:
    from tests.helpers import make_sentences
    from textvae_core.lm import LMConfig
    from textvae_core.metrics import forward_cross_entropy

    run, _ = run_and_test
    test = make_sentences(100, seed=9)
    lm = LMConfig(emb_dim=16, hidden=32, epochs=4, lr=1e-2)
    cpu = torch.device("cpu")
    matched = forward_cross_entropy(make_sentences(300, seed=10), test, run.vocab, cpu, lm)
    words = sorted({w for s in test for w in s.split()})
    g = torch.Generator().manual_seed(0)
    garbage = [" ".join(words[int(i)] for i in torch.randint(0, len(words), (8,), generator=g)) for _ in range(300)]
    shuffled = forward_cross_entropy(garbage, test, run.vocab, cpu, lm)
    assert matched["fce"] < shuffled["fce"] - 2.0
    assert matched["n_test"] == 100 and matched["pct_unk_test"] == 0.0


def test_syntactic_test_on_pairs_with_known_outcomes(run_and_test, tmp_path: Path) -> None:
    from textvae_core.metrics import syntactic_test

    run, _ = run_and_test
    (tmp_path / "same.tsv").write_text(
        "condition\tgrammatical\tungrammatical\n" + "c1\tthe cat sees the moon\tthe cat sees the moon\n" * 4
    )
    # the "ungrammatical" side is the same sentence with five extra words: always less probable
    longer = "a\tthe cat sees the moon\tthe cat sees the moon the moon the moon the\n"
    (tmp_path / "longer.tsv").write_text(
        "condition\tgrammatical\tintrusive\tungrammatical\n"
        + longer.replace("\tthe cat sees the moon\t", "\tthe cat sees the moon\tx\t") * 3
    )
    (tmp_path / "unknown.tsv").write_text("condition\tgrammatical\tungrammatical\nc\tzorp blick\tzorp blicks\n")
    res = syntactic_test(run.model, run.vocab, tmp_path, torch.device("cpu"))
    cats = res["categories"]
    same = dict(cats["same"])
    assert all(math.isnan(v) for v in same.pop("distinct").values())  # only ties: nothing to tell apart
    assert same == {
        "p1": 0.0,
        "p2": 0.0,
        "p1_bar": 0.0,
        "p2_bar": 0.0,
        "n_distinct": 0,
        "n_pairs": 4,
        "coverage": 1.0,
        "pairs_fully_known": 1.0,
    }
    assert cats["longer"]["n_distinct"] == 3 and cats["longer"]["distinct"]["p1"] == 1.0
    # "blick" and "blicks" are both unknown: one id sequence, a tie that p1 counts as a miss
    assert cats["unknown"]["n_distinct"] == 0 and cats["unknown"]["p1"] == 0.0
    assert cats["longer"]["p1"] == 1.0 and cats["longer"]["p2"] == 1.0 and cats["longer"]["n_pairs"] == 3
    assert cats["unknown"]["coverage"] == 0.0 and cats["unknown"]["pairs_fully_known"] == 0.0
    known = 4 * 10 + 3 * (5 + 10)
    assert res["coverage"] == pytest.approx(known / (known + 4))
    assert res["pairs_fully_known"] == pytest.approx(7 / 8) and res["n_pairs"] == 8
    capped = syntactic_test(run.model, run.vocab, tmp_path, torch.device("cpu"), max_pairs=2)
    assert capped["categories"]["same"]["n_pairs"] == 2 and capped["categories"]["longer"]["n_pairs"] == 2


def test_first_difference_positions() -> None:
    from textvae_core.metrics import first_difference

    assert first_difference([5, 6, 7], [5, 6, 8]) == 2
    assert first_difference([5, 6], [5, 6, 7]) == 2  # <eos> of the shorter against the extra word
    assert first_difference([9], [5, 6]) == 0
    assert first_difference([5, 6], [5, 6]) == 3  # identical: nothing left to score


def test_scored_logp_from_the_first_difference_keeps_the_comparison(run_and_test) -> None:
    from textvae_core.data import make_batch
    from textvae_core.metrics import first_difference, scored_logp

    run, test = run_and_test
    last = lambda w: w + 1 if w + 1 < len(run.vocab) else 4  # noqa: E731 - another real word
    good = test.ids[:12]
    bad = [[*s[:-1], last(s[-1])] if i % 2 else [*s, last(s[-1])] for i, s in enumerate(good)]  # swap / extra word
    z = torch.randn(12, run.model.cfg.z_dim, generator=torch.Generator().manual_seed(3))
    start = [first_difference(g, b) for g, b in zip(good, bad, strict=True)]
    assert all(0 < s <= len(g) for s, g in zip(start, good, strict=True))

    def full(seqs: list[list[int]]) -> torch.Tensor:
        b = make_batch(seqs, run.vocab)
        return -run.model.sentence_nll(z, b.dec_in, b.target, b.lengths)

    diff_full = full(good) - full(bad)
    diff_suffix = scored_logp(run.model, good, start, z, run.vocab, batch_size=5) - scored_logp(
        run.model, bad, start, z, run.vocab, batch_size=5
    )
    assert torch.allclose(diff_full, diff_suffix, atol=1e-4)
    assert (scored_logp(run.model, good, [0] * 12, z, run.vocab) - full(good)).abs().max() < 1e-4


def test_fast_self_bleu_equals_sacrebleu_sentence_scores() -> None:
    from sacrebleu.metrics import BLEU

    from textvae_core.metrics import self_bleu

    rng = random.Random(4)
    words = ["a", "b", "c", "d", "e", "f", "the", "market", "fell"]
    sents = [" ".join(rng.choice(words) for _ in range(rng.randint(1, 9))) for _ in range(40)]
    sents += [sents[0], sents[1], sents[1], ""]  # duplicates, and an empty generation
    scorer = BLEU(max_ngram_order=4, tokenize="none", effective_order=True)
    slow = sum(scorer.sentence_score(h, sents[:i] + sents[i + 1 :]).score for i, h in enumerate(sents)) / len(sents)
    assert self_bleu(sents, max_sentences=100) == pytest.approx(slow, abs=1e-9)
    bigram = BLEU(max_ngram_order=2, tokenize="none", effective_order=True)
    pair = ["x y z", "x y w v"]
    ref = (bigram.sentence_score(pair[0], pair[1:]).score + bigram.sentence_score(pair[1], pair[:1]).score) / 2
    assert self_bleu(pair, order=2) == pytest.approx(ref) and ref > 0
    assert math.isnan(self_bleu(["x"]))  # one sentence: no references


def test_likelihood_pass_one_encode_for_every_figure(run_and_test) -> None:
    from textvae_core.metrics import likelihood_pass

    run, test = run_and_test
    cpu = torch.device("cpu")
    lik = likelihood_pass(run.model, test, cpu, k=20, batch_size=16)
    one = heldout_bounds(run.model, test, cpu)
    assert lik.bounds["kl"] == pytest.approx(one["kl"], rel=1e-4)  # closed form: no sampling
    assert lik.bounds["rec"] == pytest.approx(one["rec"], rel=0.03)  # k-sample mean vs one sample
    assert lik.iw_nll["nll"] <= lik.bounds["nll_bound"] and lik.bounds["rec_samples"] == 20
    mu, logvar = encode_corpus(run.model, test)
    assert torch.allclose(lik.mu, mu, atol=1e-5) and torch.allclose(lik.logvar, logvar, atol=1e-5)


def test_bucketed_rouge_is_the_per_pair_mean() -> None:
    from textvae_core.metrics import reconstruction_scores, rouge

    inputs = ["the cat sat on the mat", "a dog ran in the park today", "x y z " * 5 + "w"]
    outputs = ["the cat sat on a mat", "a dog ran to the park", "x y z " * 4]
    scores = reconstruction_scores(inputs, outputs)
    assert scores["all"]["rouge2"] == pytest.approx(rouge(outputs, inputs, 2))
    assert scores["<=10"]["rouge4"] == pytest.approx(rouge(outputs[:2], inputs[:2], 4))
    assert scores["11-20"]["rouge2"] == pytest.approx(rouge(outputs[2:], inputs[2:], 2))
