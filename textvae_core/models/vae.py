"""The sentence VAE: shared embedding, an encoder, a decoder and the vocabulary projection."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..config import ModelConfig
from ..data import Batch
from ..ops import sentence_nll
from .base import Decoder, Encoder


@dataclass
class VAEOutput:
    rec: torch.Tensor  # [B] distortion: −log p(x|z) summed over each sentence's tokens (+ eos)
    kl: torch.Tensor  # [B] KL(q(z|x) ‖ N(0, I)), closed form
    mu: torch.Tensor  # [B, z_dim]
    logvar: torch.Tensor  # [B, z_dim]


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(μ, σ²) ‖ N(0, I)) per row, summed over dimensions."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(-1)


class SentenceVAE(nn.Module):
    def __init__(
        self,
        cfg: ModelConfig,
        vocab_size: int,
        encoder_cls: type[Encoder],
        decoder_cls: type[Decoder],
        pad_id: int = 0,
    ) -> None:
        super().__init__()
        self.cfg = cfg
        self.vocab_size = vocab_size
        self.embedding = nn.Embedding(vocab_size, cfg.emb_dim, padding_idx=pad_id)
        self.encoder = encoder_cls(cfg)
        self.decoder = decoder_cls(cfg)
        self.drop = nn.Dropout(cfg.dropout)
        self.emb_drop = nn.Dropout(cfg.emb_dropout)  # decoder inputs only; the encoder reads clean embeddings
        self.out = nn.Linear(self.decoder.out_dim, vocab_size)

    def encode(self, src: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.encoder(self.embedding(src), lengths)

    @staticmethod
    def sample_z(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """Reparameterised z = μ + σ·ε."""
        return mu + torch.randn_like(mu) * (0.5 * logvar).exp()

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.out(self.drop(hidden))

    def step_logits(self, tokens: torch.Tensor, z: torch.Tensor, state: object) -> tuple[torch.Tensor, object]:
        """One decoding step: next-token logits [N, V] after feeding tokens [N]."""
        hidden, state = self.decoder.step(self.embedding(tokens), z, state)
        return self.logits(hidden).float(), state

    def sentence_nll(
        self,
        z: torch.Tensor,
        dec_in: torch.Tensor,
        target: torch.Tensor,
        lengths: torch.Tensor,
        start: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """−log p(x|z) per sentence [B] (padding never projected onto the vocabulary); with ``start``,
        only target positions ≥ start[i] count (the syntactic test skips a shared prefix)."""
        hidden = self.drop(self.decoder(self.emb_drop(self.embedding(dec_in)), z))  # [B, T, H]
        return sentence_nll(hidden, self.out, target, lengths, start)

    def forward(
        self, batch: Batch, word_dropout: float = 0.0, unk_id: int = 1, sample: bool | None = None
    ) -> VAEOutput:
        """Distortion and KL per sentence; z is sampled in training (or when ``sample``), else μ."""
        mu, logvar = self.encode(batch.src, batch.lengths)
        z = self.sample_z(mu, logvar) if (self.training if sample is None else sample) else mu
        dec_in = batch.dec_in
        if self.training and word_dropout > 0:
            # Bowman et al.: replace decoder *input* words (not <bos>, not padding) by <unk>
            drop = torch.rand(dec_in.shape, device=dec_in.device) < word_dropout
            drop[:, 0] = False
            drop &= batch.target != 0
            dec_in = dec_in.masked_fill(drop, unk_id)
        rec = self.sentence_nll(z, dec_in, batch.target, batch.lengths)
        return VAEOutput(rec=rec, kl=gaussian_kl(mu, logvar), mu=mu, logvar=logvar)
