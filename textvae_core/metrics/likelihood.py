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
from ..models import SentenceVAE, gaussian_kl

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


def encode_corpus(
    model: SentenceVAE, corpus: Corpus, batch_size: int = ENCODE_BATCH
) -> tuple[torch.Tensor, torch.Tensor]:
    """μ and log σ² [N, z_dim] on the CPU for every sentence of a corpus, in corpus order (on the model's device)."""
    mu, logvar = encode_ids(model, corpus.ids, corpus.vocab, batch_size)
    return mu.cpu(), logvar.cpu()


@dataclass
class Likelihood:
    """What one pass of ``likelihood_pass`` measures: the ELBO terms, the IW-NLL, and q(z|x)'s parameters."""

    bounds: dict[str, float]  # as heldout_bounds, with D averaged over the k samples
    iw_nll: dict[str, float]  # as importance_sampled_nll
    mu: torch.Tensor  # [N, z_dim] on the CPU, corpus order
    logvar: torch.Tensor


@torch.no_grad()
def likelihood_pass(
    model: SentenceVAE, corpus: Corpus, device: torch.device, k: int = 100, batch_size: int = 128, seed: int = 0
) -> Likelihood:
    """Rate, distortion, ELBO and the importance-sampled NLL from one encode and k decoder samples per sentence.

    −log p(x) ≈ −logsumexp_i [log p(x|z_i) + log p(z_i) − log q(z_i|x)] + log k (Burda et al.), all k
    samples of a batch through the decoder in one call. The same k values of −log p(x|z_i) give the
    distortion D = E_q[−log p(x|z)] (their mean: the k-sample estimate, lower variance than one
    sample, and no second pass over the corpus); R is the closed-form KL; μ and log σ² come back
    for the latent statistics, so the corpus is encoded once.
    """
    was_training = model.training
    model.eval()
    n = len(corpus)
    mu_all = torch.empty(n, model.cfg.z_dim)
    logvar_all = torch.empty_like(mu_all)
    iw_total = rec_total = kl_total = 0.0
    gen = torch.Generator(device=device).manual_seed(seed)
    for idx in corpus.batches(batch_size):
        b = corpus.batch(idx).to(device)
        mu, logvar = model.encode(b.src, b.lengths)
        mu, logvar = mu.float(), logvar.float()
        mu_all[idx], logvar_all[idx] = mu.cpu(), logvar.cpu()
        bsz, d = mu.shape
        eps = torch.randn((k, bsz, d), generator=gen, device=device)
        z = mu + eps * (0.5 * logvar).exp()  # [k, B, d]
        log_q = (-0.5 * (eps**2 + logvar + LOG_2PI)).sum(-1)
        log_p = (-0.5 * (z**2 + LOG_2PI)).sum(-1)
        rep = lambda t: t.repeat(k, *([1] * (t.dim() - 1)))  # noqa: E731 - sample-major copies
        rec = model.sentence_nll(z.reshape(k * bsz, d), rep(b.dec_in), rep(b.target), rep(b.lengths)).view(k, bsz)
        log_w = -rec + log_p - log_q
        iw_total += float(-(torch.logsumexp(log_w, 0) - math.log(k)).sum())
        rec_total += float(rec.mean(0).sum())
        kl_total += float(gaussian_kl(mu, logvar).sum())
    model.train(was_training)
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
    iw = {"nll": iw_total / n, "ppl": math.exp(iw_total / n_tok), "k": k, "n_sentences": n}
    return Likelihood(bounds, iw, mu_all, logvar_all)


def importance_sampled_nll(
    model: SentenceVAE, corpus: Corpus, device: torch.device, k: int = 100, batch_size: int = 128, seed: int = 0
) -> dict[str, float]:
    """−log p(x) per sentence by importance sampling with k samples from q(z|x) (Burda et al.).

    Always ≥ the true NLL in expectation, and ≤ −ELBO; see ``likelihood_pass``.
    """
    return likelihood_pass(model, corpus, device, k, batch_size, seed).iw_nll


def kl_share(rec: float, kl: float, m: float, beta: float, C: float | None) -> float:
    """The regulariser's fraction of the objective (1+m)·D + β·K, as logged during training."""
    reg = beta * (kl if C is None else abs(kl - C))
    return reg / ((1 + m) * rec + reg)
