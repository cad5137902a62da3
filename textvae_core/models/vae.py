"""The sentence VAE: shared embedding, an encoder, a decoder and the vocabulary projection(s).

The latent the rest of the system sees is one flat vector per sentence (see ``layout``). This class is the
single-Gaussian case, q(z|x) = N(μ, diag σ²) against p(z) = N(0, I), for a dense z and for a feature-map
latent alike (FMP: the KL is the same sum, reported per position too); ``LadderVAE`` overrides the
posterior, the prior and what the decoder reads.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..config import ModelConfig
from ..data import Batch
from ..distributed import batch_moments
from ..layout import SequenceTooLong, latent_dim, latent_parts, max_tokens, validate_model
from ..ops import sentence_nll
from .base import Decoder, Encoder

LOG_2PI = math.log(2 * math.pi)
TIED_INIT = 0.1  # a tied embedding starts uniform on ±this, the range of tied LSTM language models


@dataclass
class VAEOutput:
    rec: torch.Tensor  # [B] distortion: −log p(x|z) summed over each sentence's tokens (+ eos)
    kl: torch.Tensor  # [B] KL(q(z|x) ‖ p(z)), closed form (a ladder: the sum of its layers' KLs)
    mu: torch.Tensor  # [B, latent_dim]
    logvar: torch.Tensor  # [B, latent_dim]
    kl_terms: dict[str, torch.Tensor] | None = None  # [B] per latent part (ladder layer, FMP position); sums to kl
    kl_dims: torch.Tensor | None = None  # [B, latent_dim] KL per coordinate (sums to kl): what free bits floor
    aux_rec: torch.Tensor | None = None  # [B] Hybrid: −log p_aux(x|z) of the deconvolutional output alone
    bow: torch.Tensor | None = None  # [B] −Σ_w log p_bow(w|z) over the sentence's tokens (models with a BoW head)


@dataclass
class Posterior:
    """q(z|x) of a batch: the z the decoder gets (a sample, or the mean), its parameters and the KL per coordinate."""

    z: torch.Tensor  # [B, D]
    mu: torch.Tensor  # [B, D]
    logvar: torch.Tensor  # [B, D]
    kl_dims: torch.Tensor  # [B, D] KL against the model's prior, per coordinate (sums to the KL)


@dataclass
class Draws:
    """k samples from q(z|x) per sentence with their importance log-weights (without log p(x|z))."""

    z: torch.Tensor  # [k, B, D]
    log_ratio: torch.Tensor  # [k, B] log p(z) − log q(z|x)
    posterior: Posterior  # the mean path: μ, log σ² and the closed-form KL per coordinate


def standard_normal(
    shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device | str | None
) -> torch.Tensor:
    """N(0, 1) noise drawn where the generator lives, then moved to ``device``: a CPU generator gives the
    same latents on every device (the app's seeds are CPU seeds)."""
    where = generator.device if generator is not None else device
    return torch.randn(shape, generator=generator, device=where).to(device)


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(μ, σ²) ‖ N(0, I)) per row, summed over dimensions."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(-1)


def gaussian_kl_dims(
    mu: torch.Tensor, logvar: torch.Tensor, mu_p: torch.Tensor | None = None, logvar_p: torch.Tensor | None = None
) -> torch.Tensor:
    """KL(N(μ, σ²) ‖ N(μ_p, σ_p²)) per coordinate; the prior defaults to N(0, 1)."""
    if mu_p is None or logvar_p is None:
        return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)
    return 0.5 * (logvar_p - logvar + (logvar.exp() + (mu - mu_p).pow(2)) / logvar_p.exp() - 1.0)


def gaussian_log_density(
    z: torch.Tensor, mu: torch.Tensor | None = None, logvar: torch.Tensor | None = None
) -> torch.Tensor:
    """log N(z; μ, σ²) summed over the last dimension (standard normal by default)."""
    if mu is None or logvar is None:
        return -0.5 * (z.pow(2) + LOG_2PI).sum(-1)
    return -0.5 * ((z - mu).pow(2) / logvar.exp() + logvar + LOG_2PI).sum(-1)


class TiedOutput(nn.Module):
    """The vocabulary projection whose weight *is* the word embedding matrix (Press & Wolf 2017): logits
    = E h + b. Only the bias is its own parameter; the embedding is held outside the module tree, so the
    matrix has one owner and appears once in state_dict, the weight average and the weights file."""

    def __init__(self, embedding: nn.Embedding) -> None:
        super().__init__()
        object.__setattr__(self, "_embedding", embedding)  # not a submodule: the VAE already registers it
        self.bias = nn.Parameter(torch.zeros(embedding.num_embeddings))

    @property
    def weight(self) -> torch.Tensor:
        """The embedding matrix with the <pad> row held at zero: <pad> is never a target, so the loss would
        only push its row around, and the encoders read <pad> as the zero vector."""
        emb = self._embedding
        if emb.padding_idx is None:
            return emb.weight
        return emb.weight.index_fill(0, torch.tensor([emb.padding_idx], device=emb.weight.device), 0.0)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return F.linear(h, self.weight, self.bias)


class SentenceVAE(nn.Module):
    hierarchical = False  # True when q(z|x) is not one factorised Gaussian (a ladder): sample it with posterior_draws
    # the parameters q(z|x) depends on, by name prefix (aggressive encoder updates step them apart from the rest)
    INFERENCE_PARTS: tuple[str, ...] = ("embedding.", "encoder.", "mu_gamma")

    def __init__(
        self,
        cfg: ModelConfig,
        vocab_size: int,
        encoder_cls: type[Encoder],
        decoder_cls: type[Decoder],
        pad_id: int = 0,
    ) -> None:
        super().__init__()
        validate_model(cfg)
        self.cfg = cfg
        self.vocab_size = vocab_size
        self.parts = latent_parts(cfg)
        self.latent_dim = latent_dim(cfg)
        self.max_tokens = max_tokens(cfg)  # None, or the longest sentence a fixed-width model takes
        self.embedding = nn.Embedding(vocab_size, cfg.emb_dim, padding_idx=pad_id)
        self.encoder = encoder_cls(cfg)
        self.decoder = decoder_cls(cfg)
        self.drop = nn.Dropout(cfg.dropout)
        self.emb_drop = nn.Dropout(cfg.emb_dropout)  # decoder inputs only; the encoder reads clean embeddings
        self.out: nn.Module
        self.out_proj: nn.Module | None = None  # tied output layer on a decoder wider than the embedding
        if cfg.tie_embeddings:
            if self.decoder.out_dim != cfg.emb_dim:
                self.out_proj = nn.Linear(self.decoder.out_dim, cfg.emb_dim, bias=False)
            self.out = TiedOutput(self.embedding)
            # the scale of an output layer: nn.Embedding's N(0, 1) gives rows of norm √emb_dim, first logits far
            # larger than an untied layer's, and Adam's steps small beside the weights. The record recipe, one
            # epoch each: validation D 120.73 from N(0, 1), 119.83 from ±0.1 (docs/PAPER_SIZE.md)
            with torch.no_grad():
                self.embedding.weight.uniform_(-TIED_INIT, TIED_INIT)
                self.embedding.weight[pad_id].zero_()
        else:
            self.out = nn.Linear(self.decoder.out_dim, vocab_size)
        aux_dim = getattr(self.decoder, "aux_dim", None)
        self.aux_out = nn.Linear(aux_dim, vocab_size) if aux_dim else None  # Hybrid: the deconvolution's own words
        # Zhu et al. 2020: μ batch-normalised with a fixed scale. The batch mean of μ is 0 and its spread
        # γ, so the capacity cannot be spent by shifting every code away from the prior: it must come
        # from sharper posteriors, i.e. from information about the sentence. It acts on the flat μ (every
        # FMP position alike); a ladder refuses it (layout.validate_model: its priors are conditional).
        self.mu_bn = nn.BatchNorm1d(self.latent_dim, affine=False) if cfg.mu_norm == "batchnorm" else None
        # a learned γ (no learned shift): dimensions the decoder reads grow towards γ ≈ 1, the rest shrink,
        # so active units keep their meaning; a fixed γ makes every dimension active by construction
        learn = self.mu_bn is not None and cfg.mu_scale_learn
        self.mu_gamma = nn.Parameter(torch.full((self.latent_dim,), float(cfg.mu_scale))) if learn else None
        # Zhao et al. 2017's bag-of-words head reads the whole flat z (a ladder: every layer)
        self.bow_head = nn.Linear(self.latent_dim, vocab_size) if cfg.bow_head else None

    @property
    def max_decode_len(self) -> int | None:
        """Tokens a decoder can emit at most (<eos> included); None when unbounded."""
        return self.decoder.max_positions

    # ---- encoder side -------------------------------------------------------------------------------

    def check_width(self, src: torch.Tensor) -> None:
        if self.max_tokens is not None and src.size(1) > self.max_tokens:
            raise SequenceTooLong(
                f"a sentence of {src.size(1)} tokens is longer than this model takes ({self.max_tokens} tokens: "
                f"seq_len = {self.cfg.seq_len} counts <eos>)"
            )

    def encode(self, src: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Flat μ and log σ² [B, latent_dim] (a ladder: its mean path)."""
        self.check_width(src)
        mu, logvar = self.encoder(self.embedding(src), lengths)
        if self.mu_bn is not None:
            mu = self._normalise_mu(mu)
            mu = mu * (self.mu_gamma if self.mu_gamma is not None else self.cfg.mu_scale)
        return mu, logvar

    def _normalise_mu(self, mu: torch.Tensor) -> torch.Tensor:
        """μ to mean 0, variance 1 per dimension: by the batch's statistics in training (the global batch's
        under torchrun), by the population's at evaluation."""
        bn = self.mu_bn
        batch_stats = self.training and mu.size(0) > 1  # a batch of one has no spread to normalise by
        moments = batch_moments(mu.float()) if batch_stats else None
        if moments is None:
            return F.batch_norm(
                mu, bn.running_mean, bn.running_var, training=batch_stats, momentum=bn.momentum, eps=bn.eps
            )
        mean, var, n = moments
        with torch.no_grad():  # the running averages F.batch_norm would keep (unbiased variance)
            m = bn.momentum if bn.momentum is not None else 0.1
            bn.running_mean.mul_(1 - m).add_(m * mean.detach())
            bn.running_var.mul_(1 - m).add_(m * var.detach() * n / max(n - 1, 1))
            bn.num_batches_tracked += 1
        return ((mu.float() - mean) / torch.sqrt(var + bn.eps)).to(mu.dtype)

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
                self.check_width(src)
                mu, _ = self.encoder(self.embedding(src), lengths)
                if mu.size(0) > 1:
                    bn(mu.float())
        finally:
            bn.momentum = momentum
            self.train(was_training)

    def posterior(self, src: torch.Tensor, lengths: torch.Tensor, sample: bool) -> Posterior:
        """q(z|x) of a batch; z is a reparameterised sample when ``sample``, else μ."""
        mu, logvar = self.encode(src, lengths)
        z = self.sample_z(mu, logvar) if sample else mu
        return Posterior(z, mu, logvar, gaussian_kl_dims(mu, logvar))

    def posterior_draws(
        self, src: torch.Tensor, lengths: torch.Tensor, k: int, generator: torch.Generator | None = None
    ) -> Draws:
        """k samples of z ~ q(z|x) per sentence and log p(z) − log q(z|x) for each (importance sampling)."""
        post = self.posterior(src, lengths, sample=False)
        mu, logvar = post.mu.float(), post.logvar.float()
        eps = torch.randn((k, *mu.shape), generator=generator, device=mu.device)
        z = mu + eps * (0.5 * logvar).exp()  # [k, B, D]
        log_q = (-0.5 * (eps**2 + logvar + LOG_2PI)).sum(-1)
        return Draws(z, gaussian_log_density(z) - log_q, post)

    def prior_z(
        self, n: int, generator: torch.Generator | None = None, device: torch.device | str | None = None
    ) -> torch.Tensor:
        """n flat latents drawn from p(z) = N(0, I), on ``device`` (default: the model's)."""
        return standard_normal((n, self.latent_dim), generator, device or self.embedding.weight.device)

    def kl_terms(self, kl_dims: torch.Tensor) -> dict[str, torch.Tensor] | None:
        """KL per latent part [B] (ladder layer, FMP position), or None for a single dense z."""
        if len(self.parts) == 1:
            return None
        return {p.name: kl_dims[:, p.start : p.stop].sum(-1) for p in self.parts}

    @staticmethod
    def sample_z(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """Reparameterised z = μ + σ·ε."""
        return mu + torch.randn_like(mu) * (0.5 * logvar).exp()

    # ---- decoder side -------------------------------------------------------------------------------

    def decoder_z(self, z: torch.Tensor) -> torch.Tensor:
        """What the decoder reads of a flat latent (everything, here; a ladder's bottom layer)."""
        return z

    def vocab_input(self, hidden: torch.Tensor) -> torch.Tensor:
        """What the vocabulary projection reads of the decoder's output: dropped out, and brought to the
        embedding's width when the output layer is tied to it."""
        hidden = self.drop(hidden)
        return self.out_proj(hidden) if self.out_proj is not None else hidden

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.out(self.vocab_input(hidden))

    def init_state(self, z: torch.Tensor) -> object:
        """Decoding state before the first token for flat latents z [N, latent_dim]."""
        return self.decoder.init_state(self.decoder_z(z))

    def step_logits(self, tokens: torch.Tensor, z: torch.Tensor, state: object) -> tuple[torch.Tensor, object]:
        """One decoding step: next-token logits [N, V] after feeding tokens [N]."""
        hidden, state = self.decoder.step(self.embedding(tokens), self.decoder_z(z), state)
        return self.logits(hidden).float(), state

    def _nlls(
        self,
        z: torch.Tensor,
        dec_in: torch.Tensor,
        target: torch.Tensor,
        lengths: torch.Tensor,
        start: torch.Tensor | None = None,
        aux: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        hidden, aux_hidden = self.decoder.forward_aux(self.emb_drop(self.embedding(dec_in)), self.decoder_z(z))
        rec = sentence_nll(self.vocab_input(hidden), self.out, target, lengths, start)
        if not aux or aux_hidden is None or self.aux_out is None:
            return rec, None
        return rec, sentence_nll(self.drop(aux_hidden), self.aux_out, target, lengths, start)

    def sentence_nll(
        self,
        z: torch.Tensor,
        dec_in: torch.Tensor,
        target: torch.Tensor,
        lengths: torch.Tensor,
        start: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """−log p(x|z) per sentence [B] for flat latents z (padding never projected onto the vocabulary); with
        ``start``, only target positions ≥ start[i] count (the syntactic test skips a shared prefix)."""
        return self._nlls(z, dec_in, target, lengths, start)[0]

    def aux_nll(
        self, z: torch.Tensor, dec_in: torch.Tensor, target: torch.Tensor, lengths: torch.Tensor
    ) -> torch.Tensor | None:
        """A Hybrid's −log p_aux(x|z) per sentence [B] (the deconvolution's own reconstruction); else None."""
        return self._nlls(z, dec_in, target, lengths, aux=True)[1] if self.aux_out is not None else None

    def forward(
        self, batch: Batch, word_dropout: float = 0.0, unk_id: int = 1, sample: bool | None = None
    ) -> VAEOutput:
        """Distortion and KL per sentence; z is sampled in training (or when ``sample``), else μ."""
        post = self.posterior(batch.src, batch.lengths, self.training if sample is None else sample)
        dec_in = batch.dec_in
        if self.training and word_dropout > 0:
            # Bowman et al.: replace decoder *input* words (not <bos>, not padding) by <unk>
            drop = torch.rand(dec_in.shape, device=dec_in.device) < word_dropout
            drop[:, 0] = False
            drop &= batch.target != 0
            dec_in = dec_in.masked_fill(drop, unk_id)
        rec, aux = self._nlls(post.z, dec_in, batch.target, batch.lengths, aux=True)
        bow = self.bow_nll(post.z, batch.src, self.embedding.padding_idx) if self.bow_head is not None else None
        return VAEOutput(
            rec=rec,
            kl=post.kl_dims.sum(-1),
            mu=post.mu,
            logvar=post.logvar,
            kl_terms=self.kl_terms(post.kl_dims),
            kl_dims=post.kl_dims,
            aux_rec=aux,
            bow=bow,
        )

    def bow_nll(self, z: torch.Tensor, src: torch.Tensor, pad_id: int | None = 0) -> torch.Tensor:
        """Zhao et al. 2017: −Σ_t log softmax(W z)[x_t] per sentence: one prediction of every word of the
        sentence from z alone, so z must say which words are there (order-free)."""
        logp = F.log_softmax(self.bow_head(z).float(), dim=-1)  # [B, V]
        picked = logp.gather(1, src)  # [B, L]
        return -(picked * (src != pad_id)).sum(1)
