"""A plain LSTM language model, for the forward cross-entropy (FCE) of generated text (Cífka et al. 2018)."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import torch
from torch import nn

from .data import Corpus
from .ops import sentence_nll


@dataclass
class LMConfig:
    emb_dim: int = 128  # word embedding size
    hidden: int = 256  # LSTM units
    epochs: float = 2.0  # passes over the generated corpus
    batch_size: int = 64  # sentences per batch
    lr: float = 2e-3  # Adam learning rate
    seed: int = 0


class LSTMLanguageModel(nn.Module):
    def __init__(self, vocab_size: int, cfg: LMConfig) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, cfg.emb_dim, padding_idx=0)
        self.rnn = nn.LSTM(cfg.emb_dim, cfg.hidden, batch_first=True)
        self.out = nn.Linear(cfg.hidden, vocab_size)

    def sentence_nll(self, dec_in: torch.Tensor, target: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """−log p(x) per sentence [B], over words and the end of sentence; padding never projected."""
        hidden, _ = self.rnn(self.embedding(dec_in))
        return sentence_nll(hidden, self.out, target, lengths)


def train_lm(train: Corpus, cfg: LMConfig, device: torch.device) -> LSTMLanguageModel:
    torch.manual_seed(cfg.seed)
    model = LSTMLanguageModel(len(train.vocab), cfg).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    n_batches = math.ceil(len(train) / cfg.batch_size)
    steps = max(1, math.ceil(cfg.epochs * n_batches))
    done, epoch = 0, 0
    rng = random.Random(cfg.seed)
    while done < steps:
        for idx in train.batches(cfg.batch_size, shuffle=True, seed=rng.randrange(1 << 30)):
            b = train.batch(idx).to(device)
            loss = model.sentence_nll(b.dec_in, b.target, b.lengths).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            done += 1
            if done >= steps:
                break
        epoch += 1
    return model.eval()


@torch.no_grad()
def corpus_nll(model: LSTMLanguageModel, corpus: Corpus, device: torch.device, batch_size: int = 256) -> float:
    """Mean −log p(x) per sentence."""
    total = 0.0
    for b in corpus.iter_batches(batch_size):
        b = b.to(device)
        total += float(model.sentence_nll(b.dec_in, b.target, b.lengths).sum())
    return total / len(corpus)
