"""Causal gated dilated CNN decoder (Dauphin et al. 2017 gated linear units; Yang et al. 2017 dilations).

Each block is a bottleneck: 1×1 down to ``cnn_inner`` channels, a causal dilated convolution with
a GLU gate, 1×1 back up, and a residual connection. z is concatenated to every input embedding.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..config import ModelConfig
from ..layout import decoder_z_dim
from .base import Decoder


class GatedBlock(nn.Module):
    def __init__(self, channels: int, inner: int, kernel: int, dilation: int) -> None:
        super().__init__()
        self.left_pad = (kernel - 1) * dilation
        self.down = nn.Conv1d(channels, inner, 1)
        self.conv = nn.Conv1d(inner, 2 * inner, kernel, dilation=dilation)
        self.up = nn.Conv1d(inner, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: [B, C, T]
        h = self.down(x)
        h = F.glu(self.conv(F.pad(h, (self.left_pad, 0))), dim=1)  # causal: pad on the left only
        return x + self.up(h)


class CNNDecoder(Decoder):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__(cfg)
        self.proj_in = nn.Linear(cfg.emb_dim + decoder_z_dim(cfg), cfg.hidden)
        self.blocks = nn.ModuleList(GatedBlock(cfg.hidden, cfg.cnn_inner, cfg.cnn_kernel, d) for d in cfg.cnn_dilations)
        self.out_dim = cfg.hidden
        # tokens that can influence one output: decoding only needs this much history
        self.receptive_field = 1 + (cfg.cnn_kernel - 1) * sum(cfg.cnn_dilations)

    def _project(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        zz = z.to(x.dtype).unsqueeze(1).expand(-1, x.size(1), -1)
        return self.proj_in(torch.cat([x, zz], dim=-1))  # [B, T, C]

    def _stack(self, h: torch.Tensor) -> torch.Tensor:
        h = h.transpose(1, 2)
        for block in self.blocks:
            h = block(h)
        return h.transpose(1, 2)

    def forward(self, emb: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self._stack(self._project(emb, z))

    def init_state(self, z: torch.Tensor) -> torch.Tensor:
        return z.new_zeros(z.size(0), 0, self.cfg.hidden)

    def step(self, emb: torch.Tensor, z: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # The state is the projected input history, trimmed to the receptive field: convolving that
        # window gives exactly the teacher-forced output for the newest position.
        state = torch.cat([state, self._project(emb.unsqueeze(1), z).to(state.dtype)], dim=1)
        state = state[:, -self.receptive_field :]
        return self._stack(state)[:, -1], state

    def reorder_state(self, state: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        return state.index_select(0, index)
