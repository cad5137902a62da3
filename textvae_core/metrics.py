"""Held-out measurements of the papers. Every figure is per sentence unless its name says per token.

Latent statistics work on the encoder outputs (μ, log σ²) of a whole corpus, computed once by
``encode_corpus``; likelihood figures batch sentences and vectorise over importance samples.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from .data import Corpus
from .models import SentenceVAE, gaussian_kl
from .vocab import Vocab

if TYPE_CHECKING:
    from .lm import LMConfig

LOG_2PI = math.log(2 * math.pi)


@torch.no_grad()
def heldout_bounds(
    model: SentenceVAE, corpus: Corpus, device: torch.device, batch_size: int = 256, seed: int = 0
) -> dict[str, float]:
    """Rate R (closed-form KL), distortion D and the ELBO on a corpus, one z ~ q(z|x) per sentence.

    ``nll_bound`` = D + R ≥ −log p(x) per sentence; ``ppl_bound`` = exp of that per target token
    (words + one end-of-sentence each), the usual ELBO-based perplexity.
    """
    was_training = model.training
    model.eval()
    rec = kl = 0.0
    with torch.random.fork_rng(devices=[device.index or 0] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        for batch in corpus.iter_batches(batch_size):
            out = model(batch.to(device), sample=True)
            rec += float(out.rec.sum())
            kl += float(out.kl.sum())
    model.train(was_training)
    n = len(corpus)
    n_tok = corpus.n_tokens + n
    return {
        "rec": rec / n,
        "kl": kl / n,
        "elbo": -(rec + kl) / n,
        "nll_bound": (rec + kl) / n,
        "ppl_bound": math.exp((rec + kl) / n_tok),
        "n_sentences": n,
        "n_tokens": n_tok,
    }


@torch.no_grad()
def encode_corpus(
    model: SentenceVAE, corpus: Corpus, device: torch.device, batch_size: int = 512
) -> tuple[torch.Tensor, torch.Tensor]:
    """μ and log σ² [N, z_dim] for every sentence of a corpus, in corpus order."""
    mu = torch.empty(len(corpus), model.cfg.z_dim)
    logvar = torch.empty_like(mu)
    for idx in corpus.batches(batch_size):
        b = corpus.batch(idx).to(device)
        m, lv = model.encode(b.src, b.lengths)
        mu[idx], logvar[idx] = m.float().cpu(), lv.float().cpu()
    return mu, logvar


def active_units(mu: torch.Tensor, threshold: float = 0.01) -> tuple[int, torch.Tensor]:
    """Burda et al.: dimension i is active when Cov_x(E_q[z_i]) > threshold. Returns (AU, variances)."""
    variances = mu.double().var(dim=0, unbiased=True) if mu.size(0) > 1 else torch.zeros(mu.size(1))
    return int((variances > threshold).sum()), variances.float()


def aggregated_posterior(
    mu: torch.Tensor, logvar: torch.Tensor, samples_per_x: int = 1, seed: int = 0
) -> dict[str, float]:
    """Statistics of q(z) = mean_x q(z|x), from z ~ q(z|x) with x from the data (Prokhorov et al. §3.2).

    ``log_det_cov`` of the samples, ``mean_sq_norm`` = ‖mean‖², and ``kl_moment_matched``: the KL from
    N(mean, Cov) to the prior N(0, I).
    """
    gen = torch.Generator().manual_seed(seed)
    eps = torch.randn((samples_per_x, *mu.shape), generator=gen)
    z = (mu + eps * (0.5 * logvar).exp()).reshape(-1, mu.size(1)).double()
    mean = z.mean(0)
    cov = torch.cov(z.T).reshape(mu.size(1), mu.size(1))
    sign, logdet = torch.linalg.slogdet(cov)
    d = mu.size(1)
    kl = 0.5 * (torch.trace(cov) + mean @ mean - d - logdet)
    return {
        "log_det_cov": float(logdet) if sign > 0 else float("-inf"),
        "mean_sq_norm": float(mean @ mean),
        "kl_moment_matched": float(kl) if sign > 0 else float("inf"),
        "n_samples": int(z.size(0)),
    }


def mutual_information(mu: torch.Tensor, logvar: torch.Tensor, seed: int = 0, chunk: int = 1024) -> float:
    """I(x; z) under q, estimated as in He et al. 2019 (aggregated posterior over the given x's).

    I = E_x E_{q(z|x)}[log q(z|x) − log q(z)], with q(z) ≈ (1/N) Σ_j q(z|x_j) and one z ~ q(z|x_i)
    per sentence; both log densities are taken at the same z, so a collapsed encoder scores exactly
    0 (He et al. use the closed-form entropy for the first term, which adds sampling noise).
    Bounded above by log N.
    """
    n = mu.size(0)
    mu, logvar = mu.double(), logvar.double()
    gen = torch.Generator().manual_seed(seed)
    z = mu + torch.randn(mu.shape, generator=gen, dtype=mu.dtype) * (0.5 * logvar).exp()
    var = logvar.exp()
    log_qzx = -0.5 * (((z - mu) ** 2) / var + logvar + LOG_2PI).sum(-1)
    log_qz = torch.empty(n, dtype=mu.dtype)
    for start in range(0, n, chunk):
        zc = z[start : start + chunk].unsqueeze(1)  # [c, 1, d]
        log_dens = -0.5 * (((zc - mu) ** 2) / var + logvar + LOG_2PI).sum(-1)  # [c, N]
        log_qz[start : start + chunk] = torch.logsumexp(log_dens, dim=1) - math.log(n)
    return float((log_qzx - log_qz).mean())


@torch.no_grad()
def importance_sampled_nll(
    model: SentenceVAE, corpus: Corpus, device: torch.device, k: int = 100, batch_size: int = 64, seed: int = 0
) -> dict[str, float]:
    """−log p(x) per sentence by importance sampling with k samples from q(z|x) (Burda et al.).

    log p(x) ≈ logsumexp_i [log p(x|z_i) + log p(z_i) − log q(z_i|x)] − log k. All k samples of a
    batch go through the decoder in one call. Always ≥ the true NLL in expectation, and ≤ −ELBO.
    """
    was_training = model.training
    model.eval()
    total = 0.0
    gen = torch.Generator(device=device).manual_seed(seed)
    for idx in corpus.batches(batch_size):
        b = corpus.batch(idx).to(device)
        mu, logvar = model.encode(b.src, b.lengths)
        mu, logvar = mu.float(), logvar.float()
        bsz, d = mu.shape
        eps = torch.randn((k, bsz, d), generator=gen, device=device)
        z = mu + eps * (0.5 * logvar).exp()  # [k, B, d]
        log_q = (-0.5 * (eps**2 + logvar + LOG_2PI)).sum(-1)
        log_p = (-0.5 * (z**2 + LOG_2PI)).sum(-1)
        rep = lambda t: t.repeat(k, *([1] * (t.dim() - 1)))  # noqa: E731 - sample-major copies
        rec = model.sentence_nll(z.reshape(k * bsz, d), rep(b.dec_in), rep(b.target), rep(b.lengths))
        log_w = -rec.view(k, bsz) + log_p - log_q
        total += float(-(torch.logsumexp(log_w, 0) - math.log(k)).sum())
    model.train(was_training)
    n = len(corpus)
    nll = total / n
    return {"nll": nll, "ppl": math.exp(total / (corpus.n_tokens + n)), "k": k, "n_sentences": n}


# Length buckets of Prokhorov et al. Table 1 (tokens of the input sentence).
BUCKETS: dict[str, tuple[int, int]] = {"<=10": (1, 10), "11-20": (11, 20), "21-30": (21, 30)}


def bleu(hypotheses: list[str], references: list[str], order: int = 4) -> float:
    """Corpus BLEU-n (sacrebleu) of whitespace-tokenised text, 0-100."""
    from sacrebleu.metrics import BLEU

    if not hypotheses:
        return float("nan")
    scorer = BLEU(max_ngram_order=order, tokenize="none", effective_order=False)
    return float(scorer.corpus_score(hypotheses, [references]).score)


def rouge(hypotheses: list[str], references: list[str], n: int = 2) -> float:
    """Mean ROUGE-n F1 (rouge-score) over sentence pairs, 0-100."""
    from rouge_score.rouge_scorer import RougeScorer

    if not hypotheses:
        return float("nan")
    scorer = RougeScorer([f"rouge{n}"])
    return (
        100.0
        * sum(scorer.score(r, h)[f"rouge{n}"].fmeasure for h, r in zip(hypotheses, references, strict=True))
        / len(hypotheses)
    )


def reconstruction_scores(inputs: list[str], outputs: list[str]) -> dict[str, dict[str, float]]:
    """BLEU-2/4 and ROUGE-2/4 of reconstructions, overall and per input-length bucket."""
    groups: dict[str, list[int]] = {"all": list(range(len(inputs)))}
    for name, (lo, hi) in BUCKETS.items():
        groups[name] = [i for i, s in enumerate(inputs) if lo <= len(s.split()) <= hi]
    out = {}
    for name, idx in groups.items():
        hyp, ref = [outputs[i] for i in idx], [inputs[i] for i in idx]
        out[name] = {
            "n": len(idx),
            "bleu2": bleu(hyp, ref, 2),
            "bleu4": bleu(hyp, ref, 4),
            "rouge2": rouge(hyp, ref, 2),
            "rouge4": rouge(hyp, ref, 4),
        }
    return out


def self_bleu(sentences: list[str], order: int = 4, max_sentences: int = 500, seed: int = 0) -> float:
    """Self-BLEU-n: each sentence scored against all the others as references (Zhu et al. 2018).

    O(n²): computed on at most ``max_sentences`` sentences (a seeded sample), which the caller reports.
    """
    import random

    from sacrebleu.metrics import BLEU

    if len(sentences) > max_sentences:
        sentences = random.Random(seed).sample(sentences, max_sentences)
    n = len(sentences)
    if n < 2:
        return float("nan")
    scorer = BLEU(max_ngram_order=order, tokenize="none", effective_order=True)
    total = sum(scorer.sentence_score(h, sentences[:i] + sentences[i + 1 :]).score for i, h in enumerate(sentences))
    return total / n


def generation_stats(sentences: list[str], unk: str = "<unk>") -> dict[str, float]:
    """Mean length in tokens, % of tokens that are <unk>, and distinct sentences, of generated text."""
    tokens = [s.split() for s in sentences]
    n_tok = sum(len(t) for t in tokens)
    return {
        "n": len(sentences),
        "mean_length": n_tok / max(1, len(sentences)),
        "pct_unk": 100.0 * sum(t.count(unk) for t in tokens) / max(1, n_tok),
        "distinct": len(set(sentences)),
    }


def homotopy_repeats(decoded: list[str]) -> int:
    """Steps of a homotopy that decode to the same sentence as the step before (greyed out in the paper)."""
    return sum(a == b for a, b in itertools.pairwise(decoded))


def forward_cross_entropy(
    generated: list[str],
    test: list[str],
    vocab: Vocab,
    device: torch.device,
    cfg: LMConfig | None = None,
) -> dict[str, float]:
    """FCE: train an LSTM LM on generated sentences, report its NLL per sentence on real test sentences.

    ``vocab`` is fixed across the models being compared (Prokhorov et al. use the words common to all
    generated corpora); words outside it become <unk> in both the generated and the test text.
    """
    from .lm import LMConfig, corpus_nll, train_lm

    cfg = cfg or LMConfig()
    gen_tok = [s.split() for s in generated if s.split()]
    test_tok = [s.split() for s in test if s.split()]
    train_corpus, test_corpus = Corpus(gen_tok, vocab, "generated"), Corpus(test_tok, vocab, "test")
    lm = train_lm(train_corpus, cfg, device)
    unk = vocab.unk_id
    pct_unk = lambda c: 100.0 * sum(i == unk for s in c.ids for i in s) / max(1, c.n_tokens)  # noqa: E731
    return {
        "fce": corpus_nll(lm, test_corpus, device),
        "n_generated": len(train_corpus),
        "n_test": len(test_corpus),
        "vocab_size": len(vocab),
        "pct_unk_generated": pct_unk(train_corpus),
        "pct_unk_test": pct_unk(test_corpus),
    }


def read_syntax_pairs(path: Path) -> list[tuple[str, str, str]]:
    """(condition, grammatical, ungrammatical) rows of a Marvin & Linzen TSV; NPI files compare the
    grammatical sentence with the one that has no licensor (their last column)."""
    rows = []
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    for line in lines[1:]:
        cols = line.split("\t")
        if len(cols) >= 3:
            rows.append((cols[0], cols[1], cols[-1]))
    return rows


@torch.no_grad()
def syntactic_test(
    model: SentenceVAE,
    vocab: Vocab,
    folder: Path,
    device: torch.device,
    max_pairs: int = 0,
    batch_size: int = 512,
) -> dict[str, object]:
    """Prokhorov et al. §3.4 on Marvin & Linzen pairs (x⁺ grammatical, x⁻ not), per category (file):

    p1 = P[p(x⁻|z⁺) < p(x⁺|z⁺)], p2 = P[p(x⁻|z⁻) < p(x⁺|z⁻)] with z = μ(x); p̄1, p̄2 the same with
    z averaged within each sub-category (condition). Coverage: share of tokens the vocabulary knows.
    """
    from .data import make_batch

    def encode(sents: list[list[int]]) -> torch.Tensor:
        out = torch.empty(len(sents), model.cfg.z_dim, device=device)
        order = sorted(range(len(sents)), key=lambda i: len(sents[i]))
        for s in range(0, len(order), batch_size):
            idx = order[s : s + batch_size]
            b = make_batch([sents[i] for i in idx], vocab).to(device)
            out[torch.as_tensor(idx, device=device)] = model.encode(b.src, b.lengths)[0].float()
        return out

    def logp(sents: list[list[int]], z: torch.Tensor) -> torch.Tensor:
        out = torch.empty(len(sents), device=device)
        for s in range(0, len(sents), batch_size):
            b = make_batch(sents[s : s + batch_size], vocab).to(device)
            out[s : s + batch_size] = -model.sentence_nll(z[s : s + batch_size], b.dec_in, b.target, b.lengths)
        return out

    results, known = {}, [0, 0]
    for path in sorted(Path(folder).glob("*.tsv")):
        rows = read_syntax_pairs(path)
        if max_pairs:
            rows = rows[:: max(1, len(rows) // max_pairs)][:max_pairs]
        good = [vocab.encode(r[1].split()) for r in rows]
        bad = [vocab.encode(r[2].split()) for r in rows]
        for ids, unk in good + bad:
            known[0] += len(ids) - len(unk)
            known[1] += len(ids)
        good_ids, bad_ids = [g[0] for g in good], [b[0] for b in bad]
        z_good, z_bad = encode(good_ids), encode(bad_ids)
        conds = [r[0] for r in rows]
        mean_good, mean_bad = z_good.clone(), z_bad.clone()
        for c in set(conds):
            idx = torch.as_tensor([i for i, x in enumerate(conds) if x == c], device=device)
            mean_good[idx] = z_good[idx].mean(0)
            mean_bad[idx] = z_bad[idx].mean(0)
        p = {}
        for name, z in (("p1", z_good), ("p2", z_bad), ("p1_bar", mean_good), ("p2_bar", mean_bad)):
            p[name] = float((logp(bad_ids, z) < logp(good_ids, z)).float().mean())
        results[path.stem] = {**p, "n_pairs": len(rows)}
    return {"categories": results, "coverage": known[0] / max(1, known[1])}


def kl_share(rec: float, kl: float, m: float, beta: float, C: float | None) -> float:
    """The regulariser's fraction of the objective (1+m)·D + β·K, as logged during training."""
    reg = beta * (kl if C is None else abs(kl - C))
    return reg / ((1 + m) * rec + reg)


__all__ = [
    "BUCKETS",
    "active_units",
    "aggregated_posterior",
    "bleu",
    "encode_corpus",
    "forward_cross_entropy",
    "gaussian_kl",
    "generation_stats",
    "heldout_bounds",
    "homotopy_repeats",
    "importance_sampled_nll",
    "kl_share",
    "mutual_information",
    "read_syntax_pairs",
    "reconstruction_scores",
    "rouge",
    "self_bleu",
    "syntactic_test",
]
