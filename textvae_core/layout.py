"""The shape of a model's latent, from its config alone: what is flattened where, and what each part is.
No torch here, so the app can name a run's family and parts from config.json before loading weights.

Every model hands the rest of the system one flat latent vector per sentence (μ, log σ², z: [N, D]);
a feature-map latent (FMP: K vectors of z_dim) or a ladder (L layers of ladder_z[i]) is laid out in it
as consecutive *parts*, the decoder's own input first: position 1, 2, … K for FMP; z₁ (the layer the
decoder reads) … z_L (the top) for a ladder. Metrics, the app and checkpoints only ever see the flat
vector and, where they care, the parts.
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import ConfigError, ModelConfig

CONV_ENCODERS = {"cnn"}  # encoders that read a fixed width of seq_len tokens
FIXED_WIDTH_DECODERS = {"deconv", "hybrid"}  # decoders that emit exactly seq_len positions


class SequenceTooLong(ValueError):
    """A sentence longer than a fixed-width model (CNN encoder, deconvolutional decoder) can hold."""


@dataclass(frozen=True)
class LatentPart:
    """A slice of the flat latent: one FMP position or one ladder layer."""

    name: str
    start: int
    size: int

    @property
    def stop(self) -> int:
        return self.start + self.size


def conv_positions(cfg: ModelConfig) -> int:
    """Length of the CNN encoder's last feature map (and of the deconvolution's first)."""
    return cfg.seq_len // 2 ** len(cfg.conv_channels)


def fmp_positions(cfg: ModelConfig) -> int:
    """Latent vectors of a feature-map latent: the CNN's last map, or the RNN's pooled segments."""
    return conv_positions(cfg) if cfg.encoder in CONV_ENCODERS else cfg.fmp_positions


def latent_parts(cfg: ModelConfig) -> list[LatentPart]:
    if cfg.latent == "fmp":
        return [LatentPart(f"pos{k + 1}", k * cfg.z_dim, cfg.z_dim) for k in range(fmp_positions(cfg))]
    if cfg.latent == "ladder":
        starts = [sum(cfg.ladder_z[:i]) for i in range(len(cfg.ladder_z))]
        return [LatentPart(f"z{i + 1}", s, n) for i, (s, n) in enumerate(zip(starts, cfg.ladder_z, strict=True))]
    return [LatentPart("z", 0, cfg.z_dim)]


def latent_dim(cfg: ModelConfig) -> int:
    """Size of the flat latent vector."""
    return sum(p.size for p in latent_parts(cfg))


def decoder_z_dim(cfg: ModelConfig) -> int:
    """Size of what the decoder reads: the whole flat latent, or a ladder's bottom layer z₁."""
    return cfg.ladder_z[0] if cfg.latent == "ladder" else latent_dim(cfg)


def fixed_width(cfg: ModelConfig) -> bool:
    return cfg.encoder in CONV_ENCODERS or cfg.decoder in FIXED_WIDTH_DECODERS


def max_tokens(cfg: ModelConfig) -> int | None:
    """Longest sentence (tokens, <eos> not counted) a fixed-width model takes; None when unbounded."""
    return cfg.seq_len - 1 if fixed_width(cfg) else None


def family_name(cfg: ModelConfig) -> str:
    """The report's name for a configuration (the app's runs table shows it)."""
    rnn = {"lstm", "gru"}
    if cfg.latent == "ladder":
        base = "LCNNVAE" if cfg.encoder in CONV_ENCODERS else "LVAE"
        return f"{base} ({len(cfg.ladder_z)})"
    if cfg.decoder == "hybrid":
        base = "Hybrid VAE"
    elif cfg.encoder in CONV_ENCODERS and cfg.decoder == "deconv":
        base = "CNN VAE"
    elif cfg.encoder in rnn and cfg.decoder in rnn:
        base = "RNN VAE"
    else:
        dec = {"cnn": "dilated CNN", "deconv": "deconv"}.get(cfg.decoder, cfg.decoder.upper())
        base = f"{cfg.encoder.upper()}→{dec} VAE"  # e.g. LSTM→dilated CNN VAE (Yang et al.'s decoder)
    return f"{base} (FMP)" if cfg.latent == "fmp" else base


def validate_model(cfg: ModelConfig) -> None:
    """Refuse combinations that cannot be built, with the setting to change."""
    if cfg.latent not in {"dense", "fmp", "ladder"}:
        raise ConfigError(f"unknown latent {cfg.latent!r}; choose from dense, fmp, ladder")
    if fixed_width(cfg):
        n = len(cfg.conv_channels)
        if n < 1 or any(c < 1 for c in cfg.conv_channels):
            raise ConfigError("conv_channels needs at least one positive channel count")
        if cfg.seq_len < 2 or cfg.seq_len % 2**n:
            raise ConfigError(f"seq_len = {cfg.seq_len} must be a multiple of 2^{n} (one halving per conv layer)")
        if cfg.conv_kernel < 2:
            raise ConfigError("conv_kernel must be ≥ 2")
    if cfg.latent == "fmp":
        if cfg.encoder not in CONV_ENCODERS and cfg.fmp_positions < 1:
            raise ConfigError("fmp_positions must be ≥ 1")
        if cfg.decoder in FIXED_WIDTH_DECODERS and fmp_positions(cfg) != conv_positions(cfg):
            raise ConfigError(
                f"a deconvolutional decoder starts from {conv_positions(cfg)} positions (seq_len / 2^layers); "
                f"set fmp_positions = {conv_positions(cfg)}"
            )
    if cfg.latent == "ladder":
        if cfg.mu_norm != "none":
            raise ConfigError(
                f"mu_norm = {cfg.mu_norm!r} normalises μ against the prior N(0, I); a ladder's layers below the top "
                "have conditional priors p(z_i | z_i+1), so it has no such μ: use mu_norm = none"
            )
        if not 2 <= len(cfg.ladder_z) <= 8 or any(n < 1 for n in cfg.ladder_z):
            raise ConfigError("ladder_z needs 2 to 8 positive layer sizes (bottom first)")
        if cfg.encoder in CONV_ENCODERS and len(cfg.conv_channels) != len(cfg.ladder_z):
            raise ConfigError(
                f"LCNNVAE: one conv layer per stochastic layer; conv_channels has {len(cfg.conv_channels)}, "
                f"ladder_z {len(cfg.ladder_z)}"
            )
        if cfg.encoder not in CONV_ENCODERS and len(cfg.ladder_hidden) != len(cfg.ladder_z):
            raise ConfigError(
                f"LVAE: one deterministic layer per stochastic layer; ladder_hidden has {len(cfg.ladder_hidden)}, "
                f"ladder_z {len(cfg.ladder_z)}"
            )
