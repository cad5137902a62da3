"""Hybrid decoder (Semeniuta et al. 2017; report §2.3): the deconvolutional decoder's features feed an LSTM
language model, one feature vector per position next to the previous token's embedding.

The deconvolution alone must already say a lot about x: its features are also projected onto the
vocabulary (the VAE's ``aux_out``), and the objective adds α · D_aux, the negative log-likelihood of that
non-autoregressive reconstruction (report eq. 2). That keeps z in use however strong the LSTM gets.
z reaches the LSTM only through the features (z_mode does not apply).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..config import ModelConfig
from .base import Decoder
from .deconv_decoder import DeconvStack, take_positions


class HybridDecoder(Decoder):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__(cfg)
        self.deconv = DeconvStack(cfg)
        self.aux_dim = self.deconv.out_dim  # the VAE projects these features onto the vocabulary (aux_out)
        self.rnn = nn.LSTM(cfg.emb_dim + self.aux_dim, cfg.hidden, num_layers=cfg.dec_layers, batch_first=True)
        self.out_dim = cfg.hidden
        self.max_positions = cfg.seq_len

    def forward_aux(self, emb: torch.Tensor, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """LSTM outputs [B, T, hidden] and the deconvolution's features [B, T, aux_dim]."""
        feats = take_positions(self.deconv(z.to(emb.dtype)), emb.size(1))
        out, _ = self.rnn(torch.cat([emb, feats], dim=-1))
        return out, feats

    def forward(self, emb: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.forward_aux(emb, z)[0]

    def init_state(self, z: torch.Tensor) -> Any:
        return self.deconv(z), 0, None

    def step(self, emb: torch.Tensor, z: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        feats, t, h = state
        x = torch.cat([emb, take_positions(feats, t + 1)[:, t].to(emb.dtype)], dim=-1)
        out, h = self.rnn(x.unsqueeze(1), h)
        return out[:, 0], (feats, t + 1, h)

    def reorder_state(self, state: Any, index: torch.Tensor) -> Any:
        feats, t, h = state
        if h is not None:
            h = tuple(s.index_select(1, index) for s in h)
        return feats.index_select(0, index), t, h
