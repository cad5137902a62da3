"""Likelihood figures on held-out text: rate R, distortion D, the ELBO and the importance-sampled NLL.

Every figure is per sentence unless its name says per token. ``likelihood_pass`` gives R, D, the ELBO
and the IW-NLL from one encode and k decoder samples per sentence, and returns q(z|x)'s parameters for
the latent statistics, so evaluation encodes the corpus once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..data import Corpus
from ..inference import ENCODE_BATCH, encode_ids
from ..models import SentenceVAE
from .latent import mutual_information

LOG_2PI = math.log(2 * math.pi)


@torch.no_grad()
def heldout_bounds(
    model: SentenceVAE, corpus: Corpus, device: torch.device, batch_size: int = 256, seed: int = 0, mi: bool = False
) -> dict[str, float]:
    """Rate R (closed-form KL), distortion D and the ELBO on a corpus, one z ~ q(z|x) per sentence.

    ``nll_bound`` = D + R ≥ −log p(x) per sentence; ``ppl_bound`` = exp of that per target token
    (words + one end-of-sentence each), the usual ELBO-based perplexity. With ``mi``, also I(x; z) over the
    corpus (He et al.'s estimator, what ends their aggressive phase).
    """
    was_training = model.training
    model.eval()
    rec = kl = 0.0
    extra: dict[str, float] = {}  # per-layer / per-position KL (kl_<part>) and a Hybrid's aux_rec, summed
    stats: list[tuple[torch.Tensor, torch.Tensor]] = []  # (μ, log σ²) per batch, for I(x; z)
    with torch.random.fork_rng(devices=[device.index or 0] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        for batch in corpus.iter_batches(batch_size):
            out = model(batch.to(device), sample=True)
            if mi:
                stats.append((out.mu.float().cpu(), out.logvar.float().cpu()))
            rec += float(out.rec.sum())
            kl += float(out.kl.sum())
            parts = {f"kl_{k}": v for k, v in (out.kl_terms or {}).items()}
            if out.aux_rec is not None:
                parts["aux_rec"] = out.aux_rec
            for key, value in parts.items():
                extra[key] = extra.get(key, 0.0) + float(value.sum())
    model.train(was_training)
    n = len(corpus)
    figures = {**bounds_per_sentence(rec, kl, n, corpus.n_tokens + n), **{k: v / n for k, v in extra.items()}}
    if stats:
        figures["mi"] = mutual_information(torch.cat([m for m, _ in stats]), torch.cat([v for _, v in stats]), seed)
    return figures


def bounds_per_sentence(rec: float, kl: float, n: int, n_tok: int) -> dict[str, float]:
    """D, R, the ELBO and its perplexity bound from sums over ``n`` sentences of ``n_tok`` target tokens."""
    return {
        "rec": rec / n,
        "kl": kl / n,
        "elbo": -(rec + kl) / n,
        "nll_bound": (rec + kl) / n,
        "ppl_bound": math.exp((rec + kl) / n_tok),
        "n_sentences": n,
        "n_tokens": n_tok,
    }


def encode_corpus(
    model: SentenceVAE, corpus: Corpus, batch_size: int = ENCODE_BATCH
) -> tuple[torch.Tensor, torch.Tensor]:
    """Flat μ and log σ² [N, latent_dim] on the CPU for every sentence of a corpus, in corpus order (on the model's device)."""
    mu, logvar = encode_ids(model, corpus.ids, corpus.vocab, batch_size)
    return mu.cpu(), logvar.cpu()


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
    bounds = {**bounds_per_sentence(rec_total, kl_total, n, n_tok), "rec_samples": k}
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


def kl_share(
    rec: float, kl: float, m: float, beta: float, C: float | None, alpha: float = 0.0, aux_rec: float = 0.0
) -> float:
    """The regulariser's fraction of the objective (1+m)·D + β·K + α·D_aux, as logged during training."""
    reg = beta * (kl if C is None else abs(kl - C))
    return reg / ((1 + m) * rec + reg + alpha * aux_rec)
