"""RNN encoder (LSTM or GRU, optionally bidirectional) over packed sequences."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from ..config import ModelConfig
from .base import Encoder


class RNNEncoder(Encoder):
    cell = "lstm"

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__(cfg)
        rnn_cls = nn.LSTM if self.cell == "lstm" else nn.GRU
        self.rnn = rnn_cls(
            cfg.emb_dim, cfg.hidden, num_layers=cfg.enc_layers, batch_first=True, bidirectional=cfg.bidirectional
        )
        n_dir = 2 if cfg.bidirectional else 1
        self.to_params = nn.Linear(cfg.hidden * n_dir, 2 * cfg.z_dim)

    def forward(self, emb: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        packed = pack_padded_sequence(emb, lengths.cpu(), batch_first=True, enforce_sorted=False)
        _, state = self.rnn(packed)
        h_n = state[0] if isinstance(state, tuple) else state  # [layers * dirs, B, H]
        n_dir = 2 if self.cfg.bidirectional else 1
        last = h_n[-n_dir:].transpose(0, 1).reshape(emb.size(0), -1)  # top layer, all directions
        mu, logvar = self.to_params(last).float().chunk(2, dim=-1)
        return mu, logvar


class LSTMEncoder(RNNEncoder):
    cell = "lstm"


class GRUEncoder(RNNEncoder):
    cell = "gru"
