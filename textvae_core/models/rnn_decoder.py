"""RNN decoders (LSTM, GRU): z concatenated to every input embedding and/or initialising h0."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..config import ModelConfig
from ..layout import decoder_z_dim
from .base import Decoder


class RNNDecoder(Decoder):
    cell = "lstm"

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__(cfg)
        if cfg.z_mode not in {"concat", "init", "both"}:
            raise ValueError(f"z_mode must be concat, init or both, not {cfg.z_mode!r}")
        self.concat = cfg.z_mode in {"concat", "both"}
        self.init = cfg.z_mode in {"init", "both"}
        rnn_cls = nn.LSTM if self.cell == "lstm" else nn.GRU
        z_dim = decoder_z_dim(cfg)  # a flat FMP latent, or a ladder's bottom layer
        in_dim = cfg.emb_dim + (z_dim if self.concat else 0)
        self.rnn = rnn_cls(in_dim, cfg.hidden, num_layers=cfg.dec_layers, batch_first=True)
        self.z_to_h = nn.Linear(z_dim, cfg.hidden * cfg.dec_layers) if self.init else None
        self.out_dim = cfg.hidden

    def _inputs(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        if self.concat:
            x = torch.cat([x, z.to(x.dtype).unsqueeze(1).expand(-1, x.size(1), -1)], dim=-1)
        return x

    def init_state(self, z: torch.Tensor) -> Any:
        if not self.init:
            return None
        h0 = torch.tanh(self.z_to_h(z)).view(z.size(0), self.cfg.dec_layers, -1).transpose(0, 1).contiguous()
        return (h0, torch.zeros_like(h0)) if self.cell == "lstm" else h0

    def forward(self, emb: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(self._inputs(emb, z), self.init_state(z))
        return out

    def step(self, emb: torch.Tensor, z: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        out, state = self.rnn(self._inputs(emb.unsqueeze(1), z), state)
        return out[:, 0], state

    def reorder_state(self, state: Any, index: torch.Tensor) -> Any:
        if state is None:
            return None
        if isinstance(state, tuple):
            return tuple(s.index_select(1, index) for s in state)
        return state.index_select(1, index)


class LSTMDecoder(RNNDecoder):
    cell = "lstm"


class GRUDecoder(RNNDecoder):
    cell = "gru"
