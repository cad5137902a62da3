"""The sentence VAE: shared embedding, an encoder, a decoder and the vocabulary projection."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
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
    bow: torch.Tensor | None = None  # [B] −Σ_w log p_bow(w|z) over the sentence's tokens (models with a BoW head)


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
        # Zhu et al. 2020: μ batch-normalised with a fixed scale. The batch mean of μ is 0 and its spread
        # γ, so the capacity cannot be spent by shifting every code away from the prior: it must come
        # from sharper posteriors, i.e. from information about the sentence.
        self.mu_bn = nn.BatchNorm1d(cfg.z_dim, affine=False) if cfg.mu_norm == "batchnorm" else None
        # a learned γ (no learned shift): dimensions the decoder reads grow towards γ ≈ 1, the rest shrink,
        # so active units keep their meaning; a fixed γ makes every dimension active by construction
        learn = self.mu_bn is not None and cfg.mu_scale_learn
        self.mu_gamma = nn.Parameter(torch.full((cfg.z_dim,), float(cfg.mu_scale))) if learn else None
        self.bow_head = nn.Linear(cfg.z_dim, vocab_size) if cfg.bow_head else None

    def encode(self, src: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.encoder(self.embedding(src), lengths)
        if self.mu_bn is not None:
            bn = self.mu_bn
            batch_stats = self.training and mu.size(0) > 1  # a batch of one has no spread to normalise by
            mu = F.batch_norm(
                mu, bn.running_mean, bn.running_var, training=batch_stats, momentum=bn.momentum, eps=bn.eps
            )
            mu = mu * (self.mu_gamma if self.mu_gamma is not None else self.cfg.mu_scale)
        return mu, logvar

    @torch.no_grad()
    def refresh_mu_stats(self, batches: Iterable[tuple[torch.Tensor, torch.Tensor]]) -> None:
        """Population statistics of the batch-normalised μ from (src, lengths) batches of the training
        data, replacing the running averages (which trail weights that keep moving) before evaluation."""
        if self.mu_bn is None:
            return
        bn, momentum, was_training = self.mu_bn, self.mu_bn.momentum, self.training
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average over the batches given
        self.train()
        try:
            for src, lengths in batches:
                mu, _ = self.encoder(self.embedding(src), lengths)
                if mu.size(0) > 1:
                    bn(mu.float())
        finally:
            bn.momentum = momentum
            self.train(was_training)

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
        bow = self.bow_nll(z, batch.src, self.embedding.padding_idx) if self.bow_head is not None else None
        return VAEOutput(rec=rec, kl=gaussian_kl(mu, logvar), mu=mu, logvar=logvar, bow=bow)

    def bow_nll(self, z: torch.Tensor, src: torch.Tensor, pad_id: int | None = 0) -> torch.Tensor:
        """Zhao et al. 2017: −Σ_t log softmax(W z)[x_t] per sentence: one prediction of every word of the
        sentence from z alone, so z must say which words are there (order-free)."""
        logp = F.log_softmax(self.bow_head(z).float(), dim=-1)  # [B, V]
        picked = logp.gather(1, src)  # [B, L]
        return -(picked * (src != pad_id)).sum(1)
