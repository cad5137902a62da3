"""Model registry: architecture name → class. A new architecture is one file plus one line here."""

from __future__ import annotations

from ..config import ConfigError, ModelConfig
from .base import Decoder, Encoder
from .cnn_decoder import CNNDecoder
from .rnn_decoder import GRUDecoder, LSTMDecoder
from .rnn_encoder import GRUEncoder, LSTMEncoder
from .vae import SentenceVAE, VAEOutput, gaussian_kl

ENCODERS: dict[str, type[Encoder]] = {
    "lstm": LSTMEncoder,
    "gru": GRUEncoder,
}

DECODERS: dict[str, type[Decoder]] = {
    "lstm": LSTMDecoder,
    "gru": GRUDecoder,
    "cnn": CNNDecoder,
}


def build_model(cfg: ModelConfig, vocab_size: int) -> SentenceVAE:
    """Instantiate the VAE a config describes (weights freshly initialised)."""
    if cfg.encoder not in ENCODERS:
        raise ConfigError(f"unknown encoder {cfg.encoder!r}; choose from {sorted(ENCODERS)}")
    if cfg.decoder not in DECODERS:
        raise ConfigError(f"unknown decoder {cfg.decoder!r}; choose from {sorted(DECODERS)}")
    if cfg.mu_norm not in {"none", "batchnorm"}:
        raise ConfigError(f"model.mu_norm must be none or batchnorm, not {cfg.mu_norm!r}")
    if cfg.mu_norm == "batchnorm" and cfg.mu_scale <= 0:
        raise ConfigError(f"model.mu_scale = {cfg.mu_scale}: the scale of a batch-normalised μ must be > 0")
    if vocab_size <= 4:
        raise ConfigError(f"vocabulary of {vocab_size} symbols is too small")
    return SentenceVAE(cfg, vocab_size, ENCODERS[cfg.encoder], DECODERS[cfg.decoder])


__all__ = ["DECODERS", "ENCODERS", "SentenceVAE", "VAEOutput", "build_model", "gaussian_kl"]
