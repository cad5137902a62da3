"""CNN encoder (Semeniuta et al. 2017; the report's CNN and Hybrid VAEs): stride-2 1-D convolutions over the
embeddings of a sentence padded to a fixed width of ``seq_len`` tokens.

Each layer halves the width, so the last feature map has seq_len / 2^layers positions. Dense latent:
that map flattened (its positions kept apart, so word order reaches z) and projected onto μ, log σ².
Feature-map latent (report §4.1): a 1×1 convolution turns each of its positions into one latent vector.
A ladder reads every layer's map (``features``): the convolutions are its deterministic layers (LCNNVAE).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..config import ModelConfig
from ..layout import SequenceTooLong, conv_positions
from .base import Encoder


def same_padding(kernel: int) -> int:
    """Padding that makes a stride-2 convolution map an even width L onto exactly L / 2."""
    return (kernel - 1) // 2


class CNNEncoder(Encoder):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__(cfg)
        chans = [cfg.emb_dim, *cfg.conv_channels]
        self.convs = nn.ModuleList(
            nn.Conv1d(chans[i], chans[i + 1], cfg.conv_kernel, stride=2, padding=same_padding(cfg.conv_kernel))
            for i in range(len(cfg.conv_channels))
        )
        top, positions = cfg.conv_channels[-1], conv_positions(cfg)
        if cfg.latent == "fmp":
            self.to_params: nn.Module | None = nn.Conv1d(top, 2 * cfg.z_dim, 1)
        elif cfg.latent == "dense":
            self.to_params = nn.Linear(top * positions, 2 * cfg.z_dim)
        else:
            self.to_params = None  # a ladder puts its own stochastic layers on features()

    def features(self, emb: torch.Tensor, lengths: torch.Tensor) -> list[torch.Tensor]:
        """Feature maps [B, C_i, seq_len / 2^i] of every layer, bottom first."""
        width = self.cfg.seq_len
        if emb.size(1) > width:
            raise SequenceTooLong(f"{emb.size(1)} tokens do not fit the CNN encoder's width of {width}")
        h = F.pad(emb, (0, 0, 0, width - emb.size(1))).transpose(1, 2)  # [B, E, seq_len]; <pad> embeds as 0
        maps = []
        for conv in self.convs:
            h = F.relu(conv(h))
            maps.append(h)
        return maps

    def forward(self, emb: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        top = self.features(emb, lengths)[-1]  # [B, C, K]
        if self.cfg.latent == "fmp":
            params = self.to_params(top).transpose(1, 2)  # [B, K, 2z]
            mu, logvar = params.float().chunk(2, dim=-1)
            return mu.flatten(1), logvar.flatten(1)  # position-major flat layout
        mu, logvar = self.to_params(top.flatten(1)).float().chunk(2, dim=-1)
        return mu, logvar
