"""Held-out measurements. Every figure is per sentence unless its name says per token."""

from __future__ import annotations

import math

import torch

from .data import Corpus
from .models import SentenceVAE


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
