"""Held-out measurements of the papers, one module per concern. Every figure is per sentence unless its
name says per token.

- ``likelihood``: rate R, distortion D, the ELBO, the importance-sampled NLL (one pass), the KL share;
- ``latent``: active units, the aggregated posterior q(z), the mutual information I(x; z);
- ``text``: BLEU / ROUGE of reconstructions, self-BLEU, generated-text statistics, homotopy repeats;
- ``fce``: forward cross-entropy of generated text;
- ``syntax``: the Marvin & Linzen syntactic test.

``from textvae_core.metrics import NAME`` works for every name below.
"""

from __future__ import annotations

from ..models import gaussian_kl
from .fce import forward_cross_entropy, vocab_fingerprint
from .latent import AU_THRESHOLD, active_units, aggregated_posterior, mutual_information
from .likelihood import (
    LOG_2PI,
    Likelihood,
    encode_corpus,
    heldout_bounds,
    importance_sampled_nll,
    kl_share,
    likelihood_pass,
)
from .syntax import first_difference, read_syntax_pairs, scored_logp, syntactic_test
from .text import BUCKETS, bleu, generation_stats, homotopy_repeats, reconstruction_scores, rouge, self_bleu

__all__ = [
    "AU_THRESHOLD",
    "BUCKETS",
    "LOG_2PI",
    "Likelihood",
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
