"""Model registry: architecture name → class. A new architecture is one file plus one line here.

Encoders and decoders combine freely; ``latent`` picks the model class (one Gaussian z — dense or a
feature map — or a ladder of them). ``textvae_core.layout`` says how a latent is flattened for the rest.
"""

from __future__ import annotations

import dataclasses

from ..config import ConfigError, ModelConfig
from ..layout import LatentPart, SequenceTooLong, family_name, validate_model
from ..recipe import PLAIN
from .base import Decoder, Encoder
from .cnn_decoder import CNNDecoder
from .cnn_encoder import CNNEncoder
from .deconv_decoder import DeconvDecoder
from .hybrid_decoder import HybridDecoder
from .ladder import LadderVAE
from .rnn_decoder import GRUDecoder, LSTMDecoder
from .rnn_encoder import GRUEncoder, LSTMEncoder
from .vae import Draws, Posterior, SentenceVAE, VAEOutput, gaussian_kl

ENCODERS: dict[str, type[Encoder]] = {
    "lstm": LSTMEncoder,
    "gru": GRUEncoder,
    "cnn": CNNEncoder,
}

DECODERS: dict[str, type[Decoder]] = {
    "lstm": LSTMDecoder,
    "gru": GRUDecoder,
    "cnn": CNNDecoder,
    "deconv": DeconvDecoder,
    "hybrid": HybridDecoder,
}

LATENTS: dict[str, type[SentenceVAE]] = {
    "dense": SentenceVAE,
    "fmp": SentenceVAE,  # the same Gaussian, laid out as one vector per feature-map position
    "ladder": LadderVAE,
}


def build_model(cfg: ModelConfig, vocab_size: int) -> SentenceVAE:
    """Instantiate the VAE a config describes (weights freshly initialised).

    A knob the recipe decides and ``cfg`` leaves unset (a ModelConfig used without a RunConfig, which the
    Trainer resolves with ``textvae_core.recipe.resolve``) is read as its plain value."""
    unset = {k: v for k, v in PLAIN["model"].items() if getattr(cfg, k) is None}
    if unset:
        cfg = dataclasses.replace(cfg, **unset)
    if cfg.encoder not in ENCODERS:
        raise ConfigError(f"unknown encoder {cfg.encoder!r}; choose from {sorted(ENCODERS)}")
    if cfg.decoder not in DECODERS:
        raise ConfigError(f"unknown decoder {cfg.decoder!r}; choose from {sorted(DECODERS)}")
    if cfg.latent not in LATENTS:
        raise ConfigError(f"unknown latent {cfg.latent!r}; choose from {sorted(LATENTS)}")
    if cfg.mu_norm not in {"none", "batchnorm"}:
        raise ConfigError(f"model.mu_norm must be none or batchnorm, not {cfg.mu_norm!r}")
    if cfg.mu_norm == "batchnorm" and cfg.mu_scale <= 0:
        raise ConfigError(f"model.mu_scale = {cfg.mu_scale}: the scale of a batch-normalised μ must be > 0")
    if vocab_size <= 4:
        raise ConfigError(f"vocabulary of {vocab_size} symbols is too small")
    validate_model(cfg)
    return LATENTS[cfg.latent](cfg, vocab_size, ENCODERS[cfg.encoder], DECODERS[cfg.decoder])


__all__ = [
    "DECODERS",
    "ENCODERS",
    "LATENTS",
    "Draws",
    "LatentPart",
    "Posterior",
    "SentenceVAE",
    "SequenceTooLong",
    "VAEOutput",
    "build_model",
    "family_name",
    "gaussian_kl",
]
