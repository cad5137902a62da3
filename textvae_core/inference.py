"""A trained VAE as a text tool: encode sentences, decode latents, reconstruct, sample, interpolate.

vae = TextVAE.load("checkpoints/ptb-lstm-bc15")
enc = vae.encode(["the market fell sharply"])      # μ, log σ², unknown words per sentence
vae.reconstruct(["the market fell sharply"], decoding=DecodeConfig(method="beam"))
vae.sample(5, decoding=DecodeConfig(method="sample", top_p=0.9), seed=0)
vae.decode(vae.interpolate(z1, z2, steps=8))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .checkpoint import load_run
from .config import RunConfig
from .data import make_batch
from .decoding import DecodeConfig, decode
from .device import pick_device
from .models import LatentPart, SentenceVAE
from .vocab import Vocab


class InputError(ValueError):
    """User-supplied text that cannot be encoded (e.g. an empty sentence)."""


@dataclass
class Encoded:
    mu: torch.Tensor  # [N, latent_dim] (flat: an FMP latent position-major, a ladder z₁ first, its mean path)
    logvar: torch.Tensor  # [N, latent_dim]
    unknown: list[list[str]]  # per sentence, the words that were mapped to <unk>
    tokens: list[list[str]]  # per sentence, the tokens as the model read them
    kl: torch.Tensor | None = None  # [N, latent_dim] KL per coordinate against the model's (conditional) prior


@dataclass
class Reconstruction:
    input: str
    outputs: list[str]  # one decoded sentence per z sample
    unknown: list[str] = field(default_factory=list)  # input words not in the vocabulary


# Sentences per encoder call: on two CPU cores 256 encodes ~9 % faster than 512 (the recurrent
# state and gates stay in cache); benchmarks/app_latency.py measures it.
ENCODE_BATCH = 256


@torch.no_grad()
def encode_ids(
    model: SentenceVAE, ids: Sequence[Sequence[int]], vocab: Vocab, batch_size: int = ENCODE_BATCH
) -> tuple[torch.Tensor, torch.Tensor]:
    """μ and log σ² [N, latent_dim] (float32, on the model's device, in input order) for id sequences.

    The one batched encode path (the app, evaluation and the syntactic test all use it): sentences are
    sorted by length so each batch pads little, and results are scattered back to input order.
    """
    mu, logvar, _ = encode_posterior_ids(model, ids, vocab, batch_size)
    return mu, logvar


@torch.no_grad()
def encode_posterior_ids(
    model: SentenceVAE, ids: Sequence[Sequence[int]], vocab: Vocab, batch_size: int = ENCODE_BATCH
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``encode_ids`` plus the KL of every coordinate against the model's prior [N, latent_dim]."""
    device = next(model.parameters()).device
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    mu = torch.empty(len(ids), model.latent_dim, device=device)
    logvar, kl = torch.empty_like(mu), torch.empty_like(mu)
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        batch = make_batch([ids[i] for i in idx], vocab).to(device)
        post = model.posterior(batch.src, batch.lengths, sample=False)
        where = torch.as_tensor(idx, device=device)
        mu[where], logvar[where], kl[where] = post.mu.float(), post.logvar.float(), post.kl_dims.float()
    return mu, logvar, kl


class TextVAE:
    """A model in eval mode with its vocabulary; every method works on batches and never trains."""

    def __init__(self, model: SentenceVAE, vocab: Vocab, config: RunConfig | None = None) -> None:
        self.model = model.eval()
        self.vocab = vocab
        self.config = config
        self.device = next(model.parameters()).device

    @classmethod
    def load(cls, run_dir: str | Path, device: str = "auto") -> TextVAE:
        run = load_run(run_dir, device=pick_device(device))
        return cls(run.model, run.vocab, run.config)

    @property
    def z_dim(self) -> int:
        """Size of the flat latent every method takes and returns (FMP: all positions; ladder: all layers)."""
        return self.model.latent_dim

    @property
    def latent_parts(self) -> list[LatentPart]:
        """Named slices of the flat latent: one per FMP position or ladder layer (one "z" for a dense latent)."""
        return self.model.parts

    def tokenize(self, sentences: list[str]) -> tuple[list[list[int]], list[list[str]], list[list[str]]]:
        ids, unknown, tokens = [], [], []
        limit = self.model.max_tokens
        for i, text in enumerate(sentences):
            toks = self.vocab.tokenize(text)
            if not toks:
                raise InputError(f"sentence {i + 1} is empty")
            if limit is not None and len(toks) > limit:
                unit = "characters" if self.vocab.level == "char" else "words"
                raise InputError(f"sentence {i + 1} has {len(toks)} {unit}; this model reads at most {limit}")
            seq, unk = self.vocab.encode(toks)
            ids.append(seq)
            unknown.append(unk)
            tokens.append(toks)
        return ids, unknown, tokens

    @torch.no_grad()
    def encode(self, sentences: list[str], batch_size: int = ENCODE_BATCH) -> Encoded:
        """q(z|x) parameters for every sentence, batched by length (order of the input kept)."""
        ids, unknown, tokens = self.tokenize(sentences)
        mu, logvar, kl = encode_posterior_ids(self.model, ids, self.vocab, batch_size)
        return Encoded(mu, logvar, unknown, tokens, kl)

    @torch.no_grad()
    def decode(
        self,
        z: torch.Tensor,
        decoding: DecodeConfig | None = None,
        seed: int | None = None,
        batch_size: int = 512,
    ) -> list[str]:
        """Decode latents [N, z_dim] into sentences, ``batch_size`` decoder rows per call.

        Beam search takes batch_size / beam sentences per call: on the CPU, blocks of a few hundred
        rows × the vocabulary stay in memory the allocator reuses, and decode faster than larger ones.
        """
        decoding = decoding or DecodeConfig()
        gen = None
        if seed is not None:
            gen = torch.Generator(device=self.device).manual_seed(seed)
        z = z.to(self.device, torch.float32)
        per_call = max(1, batch_size // (decoding.beam_size if decoding.method == "beam" else 1))
        texts: list[str] = []
        for start in range(0, z.size(0), per_call):
            ids, _ = decode(
                self.model, z[start : start + per_call], decoding, self.vocab.bos_id, self.vocab.eos_id, gen
            )
            texts += [self.vocab.detokenize(self.vocab.decode(row.tolist())) for row in ids.cpu()]
        return texts

    @torch.no_grad()
    def posterior_z(self, enc: Encoded, use_mean: bool, n_samples: int = 1, seed: int | None = None) -> torch.Tensor:
        """[n_samples, N, z_dim] latents: μ repeated, or draws from q(z|x) (a ladder's drawn top-down)."""
        if use_mean:
            return enc.mu.unsqueeze(0).expand(n_samples, -1, -1)
        gen = torch.Generator(device=self.device).manual_seed(seed) if seed is not None else None
        if self.model.hierarchical:  # not one factorised Gaussian: sample the model's own posterior
            batch = make_batch([self.vocab.encode(t)[0] for t in enc.tokens], self.vocab).to(self.device)
            return self.model.posterior_draws(batch.src, batch.lengths, n_samples, gen).z.float()
        eps = torch.randn((n_samples, *enc.mu.shape), generator=gen, device=self.device)
        return enc.mu + eps * (0.5 * enc.logvar).exp()

    @torch.no_grad()
    def infer_below(self, sentence: str, z: torch.Tensor, part: int) -> torch.Tensor:
        """A ladder's flat latent [D] for ``sentence`` with its layers from ``part`` (0-based) up held at ``z``'s
        values and the layers under them inferred from the sentence given those, q(z_i | x, z_i+1) at its mean:
        an edit to an upper layer reaches the decoder, which reads z₁ only. Other models: ``z`` itself."""
        if not self.model.hierarchical or part == 0:
            return z
        ids, _, _ = self.tokenize([sentence])
        batch = make_batch(ids, self.vocab).to(self.device)
        return self.model.infer_below(batch.src, batch.lengths, z.float().to(self.device).unsqueeze(0), part)[0]

    def reconstruct(
        self,
        sentences: list[str],
        decoding: DecodeConfig | None = None,
        use_mean: bool = True,
        n_samples: int = 1,
        seed: int | None = None,
    ) -> list[Reconstruction]:
        """Encode, then decode ``n_samples`` latents per sentence (μ each time, or z ~ q(z|x))."""
        enc = self.encode(sentences)
        z = self.posterior_z(enc, use_mean, n_samples, seed)  # [S, N, Z]
        texts = self.decode(z.reshape(-1, self.z_dim), decoding, seed=seed)
        per = [texts[s * len(sentences) : (s + 1) * len(sentences)] for s in range(n_samples)]
        return [
            Reconstruction(sentences[i], [per[s][i] for s in range(n_samples)], enc.unknown[i])
            for i in range(len(sentences))
        ]

    @torch.no_grad()
    def prior_z(self, n: int, seed: int | None = None) -> torch.Tensor:
        """``n`` flat latents from the model's prior: N(0, I), or a ladder's ancestral draws down its layers."""
        gen = torch.Generator(device=self.device).manual_seed(seed) if seed is not None else None
        return self.model.prior_z(n, gen, self.device)

    def sample(self, n: int, decoding: DecodeConfig | None = None, seed: int | None = None) -> list[str]:
        """Decode ``n`` latents drawn from the prior (``prior_z``)."""
        return self.decode(self.prior_z(n, seed), decoding, seed=seed)

    @staticmethod
    def interpolate(z1: torch.Tensor, z2: torch.Tensor, steps: int, kind: str = "linear") -> torch.Tensor:
        """``steps`` latents from z1 to z2 inclusive, on a straight line or a great circle (slerp)."""
        if steps < 2:
            raise ValueError("an interpolation needs at least 2 steps (the two endpoints)")
        t = torch.linspace(0, 1, steps, device=z1.device).unsqueeze(1)
        if kind == "linear":
            return (1 - t) * z1 + t * z2
        if kind != "slerp":
            raise ValueError(f"kind must be linear or slerp, not {kind!r}")
        cos = torch.nn.functional.cosine_similarity(z1, z2, dim=0).clamp(-1 + 1e-7, 1 - 1e-7)
        omega = torch.arccos(cos)
        if omega < 1e-4:
            return (1 - t) * z1 + t * z2
        return (torch.sin((1 - t) * omega) * z1 + torch.sin(t * omega) * z2) / torch.sin(omega)
