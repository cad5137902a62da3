"""Forward cross-entropy (Cífka et al. 2018): how well an LM trained on generated text predicts real text."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import torch

from ..data import Corpus
from ..vocab import Vocab

if TYPE_CHECKING:
    from ..lm import LMConfig


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
    from ..lm import LMConfig, corpus_nll, train_lm

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
