"""Deconvolutional decoder (Semeniuta et al. 2017; the report's CNN VAE): transposed convolutions from z to one
feature vector per position of a fixed-width sentence, each projected onto the vocabulary on its own.

Not autoregressive: p(x|z) = Π_t p(x_t | z), so decoding takes every position's argmax (or a sample)
and the first <eos> ends the sentence. The stepwise interface is still served (the state is the whole
feature map and a position counter), so greedy, sampling and beam decoding need no special case.

Dense latent: a linear layer lays z out as the smallest feature map (seq_len / 2^layers positions);
feature-map latent: z *is* that map, one latent vector per position (a 1×1 convolution sets channels).
Each transposed convolution doubles the width, mirroring the CNN encoder's channels.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..config import ModelConfig
from ..layout import SequenceTooLong, conv_positions, decoder_z_dim
from .base import Decoder
from .cnn_encoder import same_padding


class DeconvStack(nn.Module):
    """z [B, decoder_z_dim] → features [B, seq_len, conv_channels[0]]."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.positions = conv_positions(cfg)
        top = cfg.conv_channels[-1]
        self.fmp = cfg.latent == "fmp"
        self.inp: nn.Module = (
            nn.Conv1d(cfg.z_dim, top, 1) if self.fmp else nn.Linear(decoder_z_dim(cfg), top * self.positions)
        )
        chans = [*reversed(cfg.conv_channels), cfg.conv_channels[0]]
        k = cfg.conv_kernel
        pad = same_padding(k)
        # output width (L − 1)·2 − 2·pad + k + extra = 2L
        extra = 2 + 2 * pad - k
        self.ups = nn.ModuleList(
            nn.ConvTranspose1d(chans[i], chans[i + 1], k, stride=2, padding=pad, output_padding=extra)
            for i in range(len(cfg.conv_channels))
        )
        self.out_dim = cfg.conv_channels[0]

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if self.fmp:
            h = self.inp(z.view(z.size(0), self.positions, self.cfg.z_dim).transpose(1, 2))
        else:
            h = self.inp(z).view(z.size(0), self.cfg.conv_channels[-1], self.positions)
        h = F.relu(h)
        for up in self.ups:
            h = F.relu(up(h))
        return h.transpose(1, 2)  # [B, seq_len, C0]


def take_positions(feats: torch.Tensor, n: int) -> torch.Tensor:
    if n > feats.size(1):
        raise SequenceTooLong(f"{n} positions asked of a decoder {feats.size(1)} positions wide")
    return feats[:, :n]


class DeconvDecoder(Decoder):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__(cfg)
        self.deconv = DeconvStack(cfg)
        self.out_dim = self.deconv.out_dim
        self.max_positions = cfg.seq_len

    def forward(self, emb: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return take_positions(self.deconv(z.to(emb.dtype)), emb.size(1))  # the inputs only set the length

    def init_state(self, z: torch.Tensor) -> Any:
        return self.deconv(z), 0

    def step(self, emb: torch.Tensor, z: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        feats, t = state
        return take_positions(feats, t + 1)[:, t], (feats, t + 1)

    def reorder_state(self, state: Any, index: torch.Tensor) -> Any:
        feats, t = state
        return feats.index_select(0, index), t
