"""What the text pages compute: reconstructions with per-sentence BLEU, homotopies, the encoder lens,
prior samples. Plain functions over TextVAE models, so they are tested without a browser.

Every latent here is the model's flat one (``textvae_core.layout``): a feature-map latent's positions or
a ladder's layers side by side; prior draws come from the model's own prior (a ladder's top-down).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from sacrebleu.metrics import BLEU

from textvae_core.decoding import DecodeConfig
from textvae_core.inference import InputError, TextVAE
from textvae_core.layout import LatentPart
from textvae_core.metrics import generation_stats

_SENT_BLEU = BLEU(effective_order=True)  # sentence-level BLEU-4 with smoothing for short sentences


def sentence_bleu(hypothesis: str, reference: str) -> float:
    """BLEU-4 of one output against its input (0–100), as sacrebleu computes it for single sentences."""
    return float(_SENT_BLEU.sentence_score(hypothesis, [reference]).score)


def decode_config(
    method: str, beam: int = 5, top_k: int = 0, top_p: float = 1.0, temperature: float = 1.0
) -> DecodeConfig:
    """A validated DecodeConfig from the widgets' values (raises ValueError with a readable message)."""
    cfg = DecodeConfig(method=method, beam_size=beam, top_k=top_k, top_p=top_p, temperature=temperature)
    cfg.validate()
    return cfg


def clean_lines(text: str) -> list[str]:
    """Sentences typed one per line; blank lines dropped."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def short_examples(sentences: list[str], n: int, lo: int = 6, hi: int = 14) -> list[str]:
    """The first ``n`` sentences of a medium length: defaults that fit on screen and say something."""
    return [s for s in sentences if lo <= len(s.split()) <= hi][:n] or sentences[:n]


def reconstruct_table(
    vae: TextVAE, sentences: list[str], decoding: DecodeConfig, use_mean: bool, n_samples: int, seed: int = 0
) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """One row per (sentence, sample): input, output, BLEU against the input; and the unknown words per input."""
    recs = vae.reconstruct(sentences, decoding, use_mean=use_mean, n_samples=n_samples, seed=seed)
    rows, unknown = [], {}
    for i, rec in enumerate(recs):
        if rec.unknown:
            unknown[rec.input] = rec.unknown
        for k, out in enumerate(rec.outputs):
            rows.append(
                {"#": i + 1, "sample": k + 1, "input": rec.input, "output": out, "BLEU": sentence_bleu(out, rec.input)}
            )
    return pd.DataFrame(rows), unknown


@dataclass
class Endpoints:
    """Where a homotopy starts and ends: two typed sentences (encoded by each run) or two prior draws."""

    kind: str  # "sentences" | "prior"
    first: str = ""
    second: str = ""
    seed: int = 0


def homotopy_texts(
    vae: TextVAE, ends: Endpoints, steps: int, path: str, decoding: DecodeConfig
) -> tuple[list[str], list[str]]:
    """Decode ``steps`` latents from one endpoint to the other (both included); also the unknown words typed."""
    unknown: list[str] = []
    if ends.kind == "sentences":
        enc = vae.encode([ends.first, ends.second])
        z1, z2 = enc.mu[0], enc.mu[1]
        unknown = enc.unknown[0] + enc.unknown[1]
    else:
        z = prior_draw(vae, 2, ends.seed)
        z1, z2 = z[0], z[1]
    return vae.decode(vae.interpolate(z1, z2, steps, kind=path), decoding, seed=ends.seed), unknown


def analogy_texts(
    vae: TextVAE, a: str, b: str, c: str, scales: list[float], decoding: DecodeConfig
) -> tuple[list[str], list[str]]:
    """Latent arithmetic (Optimus, Li et al. 2020, §5): decode μ_c + s · (μ_b − μ_a) for each scale s, so s = 0
    is c's own code and s = 1 carries the change from a to b over to c; also the unknown words typed."""
    enc = vae.encode([a, b, c])
    mu_a, mu_b, mu_c = enc.mu[0], enc.mu[1], enc.mu[2]
    z = torch.stack([mu_c + s * (mu_b - mu_a) for s in scales])
    return vae.decode(z, decoding, seed=0), [w for words in enc.unknown for w in words]


def repeat_mask(texts: list[str]) -> list[bool]:
    """True where a decoded sentence equals the one before it (the β_C paper greys these out)."""
    return [i > 0 and t == texts[i - 1] for i, t in enumerate(texts)]


def prior_draw(vae: TextVAE, n: int, seed: int) -> torch.Tensor:
    """``n`` flat latents from the model's prior, drawn from a CPU generator so that every run of the same
    latent shape and every device gets the same noise: N(0, I), or a ladder's ancestral draws (z_L ~ N(0, I),
    then each z_i ~ p(z_i | z_i+1) down to z₁)."""
    return vae.model.prior_z(n, torch.Generator().manual_seed(seed), vae.device)


@dataclass
class Lens:
    mu: np.ndarray  # [D] the flat posterior mean (a ladder: its mean path, z₁ first)
    sigma: np.ndarray  # [D]
    kl: np.ndarray  # [D] nats against the model's prior: N(0, 1), or a ladder layer's p(z_i | z_i+1)
    unknown: list[str]
    parts: list[LatentPart]  # the latent's named slices: one "z", FMP positions pos1…, ladder layers z1…
    hierarchical: bool = False  # a ladder: the decoder reads z1; the layers above reach it through z1

    @property
    def part_kl(self) -> dict[str, float]:
        """KL per part (nats): per ladder layer or per feature-map position; they sum to the sentence's KL."""
        return {p.name: float(self.kl[p.start : p.stop].sum()) for p in self.parts}

    def part_of(self, dim: int) -> int:
        """Index of the part holding flat coordinate ``dim``."""
        return next(i for i, p in enumerate(self.parts) if p.start <= dim < p.stop)

    def label(self, dim: int) -> str:
        """A coordinate's name: z7 for a dense latent, z2[3] (ladder layer 2) or pos1[0] (FMP) otherwise."""
        if len(self.parts) == 1:
            return f"z{dim}"
        part = self.parts[self.part_of(dim)]
        return f"{part.name}[{dim - part.start}]"


def encoder_lens(vae: TextVAE, sentence: str) -> Lens:
    """Per-coordinate posterior of one sentence: mean, standard deviation and KL to the model's prior (a
    ladder's layers against their conditional priors, as training counts them)."""
    if not sentence.strip():
        raise InputError("type a sentence first")
    enc = vae.encode([sentence])
    mu, logvar = enc.mu[0].cpu().double(), enc.logvar[0].cpu().double()
    kl = enc.kl[0].cpu().double() if enc.kl is not None else 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1)
    return Lens(
        mu.numpy(),
        (0.5 * logvar).exp().numpy(),
        kl.numpy(),
        enc.unknown[0],
        list(vae.latent_parts),
        bool(vae.model.hierarchical),
    )


def edited_latent(vae: TextVAE, sentence: str, lens: Lens, dim: int, value: float) -> np.ndarray:
    """μ with coordinate ``dim`` set to ``value``; in a ladder the layers under the edited one are inferred
    again from the sentence given it (q(z_i | x, z_i+1)), so an edit above z₁ reaches the decoder."""
    z = lens.mu.copy()
    z[dim] = value
    part = lens.part_of(dim)
    if not lens.hierarchical or part == 0:
        return z
    return vae.infer_below(sentence, torch.as_tensor(z, dtype=torch.float32), part).cpu().double().numpy()


def decode_with(vae: TextVAE, mu: np.ndarray, dim: int, value: float, decoding: DecodeConfig) -> str:
    """Decode μ with one coordinate set to ``value``: how the decoder reads that dimension."""
    z = torch.as_tensor(mu, dtype=torch.float32).clone()
    z[dim] = value
    return vae.decode(z.unsqueeze(0), decoding, seed=0)[0]


def prior_samples(vae: TextVAE, n: int, decoding: DecodeConfig, seed: int) -> tuple[list[str], dict[str, float]]:
    """``n`` sentences from z ~ p(z) (``prior_draw``: the same seed gives the same noise everywhere)."""
    texts = vae.decode(prior_draw(vae, n, seed), decoding, seed=seed)
    return texts, generation_stats(texts)


def decode_latent(vae: TextVAE, z: np.ndarray, decoding: DecodeConfig) -> str:
    """Decode one latent vector (e.g. a point clicked on the map)."""
    return vae.decode(torch.as_tensor(np.asarray(z, dtype=np.float32)).unsqueeze(0), decoding, seed=0)[0]


def active_mask(vae: TextVAE, sentences: list[str], threshold: float = 0.01, limit: int = 2000) -> np.ndarray:
    """Active units (Cov over x of E_q[z_i] > threshold) from up to ``limit`` sentences."""
    mu = vae.encode(sentences[:limit]).mu.double().cpu()
    return (mu.var(dim=0, unbiased=True) > threshold).numpy() if len(mu) > 1 else np.ones(vae.z_dim, dtype=bool)


GREY = "color: #8a8a8a; background-color: #efefef"


def homotopy_frame(texts: list[str]) -> pd.io.formats.style.Styler:
    """The path as a table (position t, sentence) with repeated rows greyed out."""
    grey = repeat_mask(texts)
    steps = len(texts)
    df = pd.DataFrame({"t": [f"{i / max(1, steps - 1):.2f}" for i in range(steps)], "sentence": texts})
    return df.style.apply(lambda row: [GREY if grey[row.name] else ""] * len(row), axis=1)
