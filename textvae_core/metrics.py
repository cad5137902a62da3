"""Held-out measurements of the papers. Every figure is per sentence unless its name says per token.

Latent statistics work on the encoder outputs (μ, log σ²) of a whole corpus, computed once (by
``likelihood_pass``, which also gives R, D, the ELBO and the IW-NLL from one pass, or by
``encode_corpus``); likelihood figures batch sentences and vectorise over importance samples.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from .data import Corpus, make_batch
from .inference import ENCODE_BATCH, encode_ids
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
    extra: dict[str, float] = {}  # per-layer / per-position KL (kl_<part>) and a Hybrid's aux_rec, summed
    with torch.random.fork_rng(devices=[device.index or 0] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        for batch in corpus.iter_batches(batch_size):
            out = model(batch.to(device), sample=True)
            rec += float(out.rec.sum())
            kl += float(out.kl.sum())
            parts = {f"kl_{k}": v for k, v in (out.kl_terms or {}).items()}
            if out.aux_rec is not None:
                parts["aux_rec"] = out.aux_rec
            for key, value in parts.items():
                extra[key] = extra.get(key, 0.0) + float(value.sum())
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
        **{k: v / n for k, v in extra.items()},
    }


def encode_corpus(
    model: SentenceVAE, corpus: Corpus, device: torch.device | None = None, batch_size: int = ENCODE_BATCH
) -> tuple[torch.Tensor, torch.Tensor]:
    """Flat μ and log σ² [N, latent_dim] on the CPU for every sentence of a corpus, in corpus order.

    ``device`` is accepted for symmetry with the other metrics; the model's own device is used.
    """
    mu, logvar = encode_ids(model, corpus.ids, corpus.vocab, batch_size)
    return mu.cpu(), logvar.cpu()


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
    n, d = mu.shape
    mu, logvar = mu.double(), logvar.double()
    gen = torch.Generator().manual_seed(seed)
    z = mu + torch.randn(mu.shape, generator=gen, dtype=mu.dtype) * (0.5 * logvar).exp()
    var = logvar.exp()
    log_qzx = -0.5 * (((z - mu) ** 2) / var + logvar + LOG_2PI).sum(-1)
    # Σ_d (z_d − μ_jd)² / v_jd expanded into matrix products: the N × N densities cost two GEMMs
    inv_var = 1.0 / var  # [N, d]
    const = (mu**2 * inv_var).sum(-1) + logvar.sum(-1) + d * LOG_2PI  # [N]
    log_qz = torch.empty(n, dtype=mu.dtype)
    for start in range(0, n, chunk):
        zc = z[start : start + chunk]  # [c, d]
        quad = (zc**2) @ inv_var.T - 2.0 * zc @ (mu * inv_var).T + const  # [c, N]
        log_qz[start : start + chunk] = torch.logsumexp(-0.5 * quad, dim=1) - math.log(n)
    return float((log_qzx - log_qz).mean())


@dataclass
class Likelihood:
    """What one pass of ``likelihood_pass`` measures: the ELBO terms, the IW-NLL, and q(z|x)'s parameters."""

    bounds: dict[str, float]  # as heldout_bounds, with D averaged over the k samples
    iw_nll: dict[str, float]  # as importance_sampled_nll
    mu: torch.Tensor  # [N, latent_dim] on the CPU, corpus order (a ladder: its mean path)
    logvar: torch.Tensor
    kl_dims: torch.Tensor | None = None  # [N, latent_dim] closed-form KL per coordinate against the model's prior


@torch.no_grad()
def likelihood_pass(
    model: SentenceVAE, corpus: Corpus, device: torch.device, k: int = 100, batch_size: int = 128, seed: int = 0
) -> Likelihood:
    """Rate, distortion, ELBO and the importance-sampled NLL from one encode and k decoder samples per sentence.

    −log p(x) ≈ −logsumexp_i [log p(x|z_i) + log p(z_i) − log q(z_i|x)] + log k (Burda et al.), all k
    samples of a batch through the decoder in one call. The same k values of −log p(x|z_i) give the
    distortion D = E_q[−log p(x|z)] (their mean: the k-sample estimate, lower variance than one
    sample, and no second pass over the corpus); R is the closed-form KL; μ and log σ² come back
    for the latent statistics, so the corpus is encoded once. The samples and their densities come
    from the model (``posterior_draws``): a ladder samples top-down and weighs by its conditional priors.
    """
    was_training = model.training
    model.eval()
    n = len(corpus)
    mu_all = torch.empty(n, model.latent_dim)
    logvar_all = torch.empty_like(mu_all)
    kl_all = torch.empty_like(mu_all)
    iw_total = rec_total = aux_total = 0.0
    gen = torch.Generator(device=device).manual_seed(seed)
    for idx in corpus.batches(batch_size):
        b = corpus.batch(idx).to(device)
        draws = model.posterior_draws(b.src, b.lengths, k, gen)
        post = draws.posterior
        mu_all[idx], logvar_all[idx] = post.mu.float().cpu(), post.logvar.float().cpu()
        kl_all[idx] = post.kl_dims.float().cpu()
        bsz, d = post.mu.shape
        rep = lambda t: t.repeat(k, *([1] * (t.dim() - 1)))  # noqa: E731 - sample-major copies
        z = draws.z.reshape(k * bsz, d)
        rec = model.sentence_nll(z, rep(b.dec_in), rep(b.target), rep(b.lengths)).view(k, bsz)
        log_w = -rec + draws.log_ratio
        iw_total += float(-(torch.logsumexp(log_w, 0) - math.log(k)).sum())
        rec_total += float(rec.mean(0).sum())
        aux = model.aux_nll(draws.z[0], b.dec_in, b.target, b.lengths)  # Hybrid: one sample's D_aux
        aux_total += float(aux.sum()) if aux is not None else 0.0
    model.train(was_training)
    kl_total = float(kl_all.sum())
    n_tok = corpus.n_tokens + n
    bounds = {
        "rec": rec_total / n,
        "kl": kl_total / n,
        "elbo": -(rec_total + kl_total) / n,
        "nll_bound": (rec_total + kl_total) / n,
        "ppl_bound": math.exp((rec_total + kl_total) / n_tok),
        "n_sentences": n,
        "n_tokens": n_tok,
        "rec_samples": k,
    }
    if model.aux_out is not None:
        bounds["aux_rec"] = aux_total / n
    if len(model.parts) > 1:  # per ladder layer / FMP position, in the latent's order
        bounds["kl_terms"] = {p.name: float(kl_all[:, p.start : p.stop].sum(-1).mean()) for p in model.parts}
    iw = {"nll": iw_total / n, "ppl": math.exp(iw_total / n_tok), "k": k, "n_sentences": n}
    return Likelihood(bounds, iw, mu_all, logvar_all, kl_all)


def importance_sampled_nll(
    model: SentenceVAE, corpus: Corpus, device: torch.device, k: int = 100, batch_size: int = 128, seed: int = 0
) -> dict[str, float]:
    """−log p(x) per sentence by importance sampling with k samples from q(z|x) (Burda et al.).

    Always ≥ the true NLL in expectation, and ≤ −ELBO; see ``likelihood_pass``.
    """
    return likelihood_pass(model, corpus, device, k, batch_size, seed).iw_nll


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
    """BLEU-2/4 and ROUGE-2/4 of reconstructions, overall and per input-length bucket.

    ROUGE is a mean over sentence pairs, so each pair is scored once (rouge-score) and the buckets
    average those scores; BLEU is a corpus statistic, computed by sacrebleu per group.
    """
    from rouge_score.rouge_scorer import RougeScorer

    scorer = RougeScorer(["rouge2", "rouge4"])
    pair_scores = [scorer.score(r, h) for h, r in zip(outputs, inputs, strict=True)]
    groups: dict[str, list[int]] = {"all": list(range(len(inputs)))}
    for name, (lo, hi) in BUCKETS.items():
        groups[name] = [i for i, s in enumerate(inputs) if lo <= len(s.split()) <= hi]

    def mean_rouge(idx: list[int], key: str) -> float:
        if not idx:
            return float("nan")
        return 100.0 * sum(pair_scores[i][key].fmeasure for i in idx) / len(idx)

    out = {}
    for name, idx in groups.items():
        hyp, ref = [outputs[i] for i in idx], [inputs[i] for i in idx]
        out[name] = {
            "n": len(idx),
            "bleu2": bleu(hyp, ref, 2),
            "bleu4": bleu(hyp, ref, 4),
            "rouge2": mean_rouge(idx, "rouge2"),
            "rouge4": mean_rouge(idx, "rouge4"),
        }
    return out


def self_bleu(sentences: list[str], order: int = 4, max_sentences: int = 500, seed: int = 0) -> float:
    """Self-BLEU-n: each sentence scored against all the others as references (Zhu et al. 2018).

    The score of each sentence is sacrebleu's ``sentence_score`` (exp smoothing, effective order),
    fed with statistics gathered once rather than re-extracted from n − 1 references n times: per
    n-gram its largest and second-largest count over the sentences (so the largest count among the
    *others* is a lookup), and the closest other length from a length histogram. Computed on at most
    ``max_sentences`` sentences (a seeded sample, which the caller reports): the figure depends on n.
    """
    from sacrebleu.metrics import BLEU
    from sacrebleu.metrics.helpers import extract_all_word_ngrams

    if len(sentences) > max_sentences:
        sentences = random.Random(seed).sample(sentences, max_sentences)
    n = len(sentences)
    if n < 2:
        return float("nan")
    grams = [extract_all_word_ngrams(s.rstrip(), 1, order) for s in sentences]  # sacrebleu's preprocessing
    top: dict[tuple[str, ...], tuple[int, int, int]] = {}  # n-gram → (largest count, its sentence, second largest)
    for i, (counts, _) in enumerate(grams):
        for g, c in counts.items():
            best = top.get(g)
            if best is None:
                top[g] = (c, i, 0)
            elif c > best[0]:
                top[g] = (c, i, best[0])
            elif c > best[2]:
                top[g] = (best[0], best[1], c)
    lengths = Counter(length for _, length in grams)
    total_score = 0.0
    for i, (counts, hyp_len) in enumerate(grams):
        others = [ln for ln, c in lengths.items() if c - (ln == hyp_len) > 0]
        ref_len = min(others, key=lambda ln: (abs(hyp_len - ln), ln))  # sacrebleu: closest, ties → shorter
        correct, total = [0] * order, [0] * order
        for g, c in counts.items():
            best, holder, second = top[g]
            total[len(g) - 1] += c
            correct[len(g) - 1] += min(c, second if holder == i else best)
        total_score += BLEU.compute_bleu(
            correct, total, hyp_len, ref_len, smooth_method="exp", effective_order=True, max_ngram_order=order
        ).score
    return total_score / n


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


def vocab_fingerprint(vocab: Vocab) -> str:
    """Short hash of a vocabulary's tokens: FCE figures are comparable only under the same one."""
    return hashlib.sha256("\n".join(vocab.itos).encode("utf-8")).hexdigest()[:12]


def forward_cross_entropy(
    generated: list[str],
    test: list[str],
    vocab: Vocab,
    device: torch.device,
    cfg: LMConfig | None = None,
) -> dict[str, float | str]:
    """FCE: train an LSTM LM on generated sentences, report its NLL per sentence on real test sentences.

    ``vocab`` is fixed across the models being compared (Prokhorov et al. use the words common to all
    generated corpora); words outside it become <unk> in both the generated and the test text.
    """
    from .lm import LMConfig, corpus_nll, train_lm

    cfg = cfg or LMConfig()
    gen_tok = [t for t in map(vocab.tokenize, generated) if t]  # words, or characters for a char-level run
    test_tok = [t for t in map(vocab.tokenize, test) if t]
    train_corpus, test_corpus = Corpus(gen_tok, vocab, "generated"), Corpus(test_tok, vocab, "test")
    lm = train_lm(train_corpus, cfg, device)
    unk = vocab.unk_id
    pct_unk = lambda c: 100.0 * sum(i == unk for s in c.ids for i in s) / max(1, c.n_tokens)  # noqa: E731
    nll = corpus_nll(lm, test_corpus, device)
    return {
        "fce": nll,
        "fce_per_token": nll * len(test_corpus) / max(1, test_corpus.n_tokens + len(test_corpus)),
        "n_generated": len(train_corpus),
        "n_test": len(test_corpus),
        "vocab_size": len(vocab),
        "vocab_fingerprint": vocab_fingerprint(vocab),
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


def first_difference(a: list[int], b: list[int]) -> int:
    """First target position (tokens, then <eos>) where two sentences differ; len(a) + 1 if equal."""
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return i
    return min(len(a), len(b)) if len(a) != len(b) else len(a) + 1


@torch.no_grad()
def scored_logp(
    model: SentenceVAE,
    seqs: list[list[int]],
    start: list[int],
    z: torch.Tensor,
    vocab: Vocab,
    batch_size: int = 512,
) -> torch.Tensor:
    """log p(x|z) of each sentence counted from target position ``start[i]`` on, batched by length.

    Two sentences that share their first s tokens get the same log-probabilities there under the
    same z, so comparing p(x⁻|z) with p(x⁺|z) only needs the positions from the first difference on.
    """
    out = torch.empty(len(seqs), device=z.device)
    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
    for s in range(0, len(order), batch_size):
        idx = order[s : s + batch_size]
        b = make_batch([seqs[i] for i in idx], vocab).to(z.device)
        where = torch.as_tensor(idx, device=z.device)
        first = torch.as_tensor([start[i] for i in idx], device=z.device)
        out[where] = -model.sentence_nll(z[where], b.dec_in, b.target, b.lengths, start=first)
    return out


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
    z averaged within each sub-category (condition). ``max_pairs`` pairs per category at most, evenly
    spaced through the file (every condition keeps its share). Coverage: share of tokens the
    vocabulary knows (overall and per category), and of pairs with no unknown word at all. A fixed-width
    model (CNN encoder, deconvolutional decoder) skips the pairs it cannot read (``n_too_long``).
    """
    results: dict[str, dict[str, float | int]] = {}
    known = total = pairs_known = n_pairs = too_long = 0
    limit = model.max_tokens
    for path in sorted(Path(folder).glob("*.tsv")):
        rows = read_syntax_pairs(path)
        if max_pairs:
            rows = rows[:: max(1, len(rows) // max_pairs)][:max_pairs]
        if limit is not None:
            fits = [r for r in rows if max(len(vocab.tokenize(r[1])), len(vocab.tokenize(r[2]))) <= limit]
            too_long, rows = too_long + len(rows) - len(fits), fits
        if not rows:
            continue
        good = [vocab.encode(vocab.tokenize(r[1])) for r in rows]
        bad = [vocab.encode(vocab.tokenize(r[2])) for r in rows]
        cat_total = sum(len(ids) for ids, _ in good + bad)
        cat_known = cat_total - sum(len(unk) for _, unk in good + bad)
        cat_pairs_known = sum(not g[1] and not b[1] for g, b in zip(good, bad, strict=True))
        good_ids, bad_ids = [g[0] for g in good], [b[0] for b in bad]
        n = len(rows)
        mu, _ = encode_ids(model, good_ids + bad_ids, vocab, batch_size)
        z_good, z_bad = mu[:n], mu[n:]
        conds = [r[0] for r in rows]
        mean_good, mean_bad = z_good.clone(), z_bad.clone()
        for c in sorted(set(conds)):
            idx = torch.as_tensor([i for i, x in enumerate(conds) if x == c], device=mu.device)
            mean_good[idx] = z_good[idx].mean(0)
            mean_bad[idx] = z_bad[idx].mean(0)
        start = [first_difference(g, b) for g, b in zip(good_ids, bad_ids, strict=True)]
        zs = (z_good, z_bad, mean_good, mean_bad)
        # every (sentence, latent) combination in one batched call: x⁺ and x⁻ under each of the four z's
        logp = scored_logp(
            model,
            (good_ids + bad_ids) * len(zs),
            start * (2 * len(zs)),
            torch.cat([torch.cat([zz, zz]) for zz in zs]),
            vocab,
            batch_size,
        ).view(len(zs), 2, n)
        names = ("p1", "p2", "p1_bar", "p2_bar")
        p = {name: float((logp[j, 1] < logp[j, 0]).float().mean()) for j, name in enumerate(names)}
        # pairs that unknown words turn into the same ids tie and count against p1 and p2 alike; the
        # same figures on the pairs the vocabulary tells apart say what the model itself prefers
        distinct = torch.as_tensor([g != b for g, b in zip(good_ids, bad_ids, strict=True)], device=logp.device)
        n_distinct = int(distinct.sum())
        p_distinct = {
            name: float((logp[j, 1] < logp[j, 0])[distinct].float().mean()) if n_distinct else float("nan")
            for j, name in enumerate(names)
        }
        results[path.stem] = {
            **p,
            "distinct": p_distinct,
            "n_distinct": n_distinct,
            "n_pairs": n,
            "coverage": cat_known / max(1, cat_total),
            "pairs_fully_known": cat_pairs_known / n,
        }
        known, total = known + cat_known, total + cat_total
        pairs_known, n_pairs = pairs_known + cat_pairs_known, n_pairs + n
    return {
        "categories": results,
        "coverage": known / max(1, total),
        "pairs_fully_known": pairs_known / max(1, n_pairs),
        "n_pairs": n_pairs,
        "max_pairs_per_category": max_pairs,
        "n_too_long": too_long,
    }


def kl_share(
    rec: float, kl: float, m: float, beta: float, C: float | None, alpha: float = 0.0, aux_rec: float = 0.0
) -> float:
    """The regulariser's fraction of the objective (1+m)·D + β·K + α·D_aux, as logged during training."""
    reg = beta * (kl if C is None else abs(kl - C))
    return reg / ((1 + m) * rec + reg + alpha * aux_rec)


__all__ = [
    "BUCKETS",
    "active_units",
    "aggregated_posterior",
    "bleu",
    "encode_corpus",
    "first_difference",
    "forward_cross_entropy",
    "gaussian_kl",
    "generation_stats",
    "heldout_bounds",
    "homotopy_repeats",
    "importance_sampled_nll",
    "kl_share",
    "likelihood_pass",
    "mutual_information",
    "read_syntax_pairs",
    "reconstruction_scores",
    "rouge",
    "scored_logp",
    "self_bleu",
    "syntactic_test",
    "vocab_fingerprint",
]
