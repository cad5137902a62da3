"""RNN encoder (LSTM or GRU, optionally bidirectional) over packed sequences.

Dense latent: μ, log σ² from the top layer's last state. Feature-map latent (report §4.1): the outputs
are averaged over ``fmp_positions`` consecutive segments of each sentence (its own length split evenly,
so the latent does not depend on padding), and each segment gives one latent vector.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from ..config import ModelConfig
from .base import Encoder


def segment_means(outputs: torch.Tensor, lengths: torch.Tensor, k: int) -> torch.Tensor:
    """Mean of outputs [B, T, H] over k consecutive segments of each row's first lengths[b] steps → [B, k, H].

    Segment j covers [⌊j·n/k⌋, max(⌊j·n/k⌋ + 1, ⌊(j+1)·n/k⌋)), so a sentence shorter than k still gives
    every segment at least one position.
    """
    n = lengths.to(outputs.device).unsqueeze(1)  # [B, 1]
    j = torch.arange(k, device=outputs.device).unsqueeze(0)  # [1, k]
    start = torch.div(j * n, k, rounding_mode="floor")
    stop = torch.maximum(start + 1, torch.div((j + 1) * n, k, rounding_mode="floor"))
    t = torch.arange(outputs.size(1), device=outputs.device).view(1, 1, -1)
    mask = ((t >= start.unsqueeze(-1)) & (t < stop.unsqueeze(-1))).to(outputs.dtype)  # [B, k, T]
    return (mask @ outputs) / mask.sum(-1, keepdim=True)


class RNNEncoder(Encoder):
    cell = "lstm"

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__(cfg)
        rnn_cls = nn.LSTM if self.cell == "lstm" else nn.GRU
        self.rnn = rnn_cls(
            cfg.emb_dim, cfg.hidden, num_layers=cfg.enc_layers, batch_first=True, bidirectional=cfg.bidirectional
        )
        self.n_dir = 2 if cfg.bidirectional else 1
        self.out_dim = cfg.hidden * self.n_dir
        # a ladder puts its own stochastic layers on features(); dense and FMP latents are read here
        self.to_params = nn.Linear(self.out_dim, 2 * cfg.z_dim) if cfg.latent != "ladder" else None

    def _run(self, emb: torch.Tensor, lengths: torch.Tensor) -> tuple[PackedSequence, torch.Tensor]:
        """Packed outputs (out_dim per step) and the top layer's last state [B, out_dim]."""
        packed = pack_padded_sequence(emb, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, state = self.rnn(packed)
        h_n = state[0] if isinstance(state, tuple) else state  # [layers * dirs, B, H]
        last = h_n[-self.n_dir :].transpose(0, 1).reshape(emb.size(0), -1)  # top layer, all directions
        return out, last

    def features(self, emb: torch.Tensor, lengths: torch.Tensor) -> list[torch.Tensor]:
        return [self._run(emb, lengths)[1]]

    def forward(self, emb: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        packed, last = self._run(emb, lengths)
        if self.cfg.latent == "fmp":
            outputs, _ = pad_packed_sequence(packed, batch_first=True, total_length=emb.size(1))
            params = self.to_params(segment_means(outputs, lengths, self.cfg.fmp_positions))  # [B, K, 2z]
            mu, logvar = params.float().chunk(2, dim=-1)
            return mu.flatten(1), logvar.flatten(1)  # position-major flat layout
        mu, logvar = self.to_params(last).float().chunk(2, dim=-1)
        return mu, logvar


class LSTMEncoder(RNNEncoder):
    cell = "lstm"


class GRUEncoder(RNNEncoder):
    cell = "gru"
