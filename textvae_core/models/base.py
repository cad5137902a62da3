"""The interfaces every encoder and decoder implements, so the VAE and decoding never special-case one."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..config import ModelConfig


class Encoder(nn.Module):
    """Maps a padded batch of token ids to the parameters of q(z|x) = N(μ, diag σ²)."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg

    def forward(self, emb: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Embedded padded sentences [B, T, E] → (μ, log σ²), each [B, latent_dim] (flat; see layout)."""
        raise NotImplementedError

    def features(self, emb: torch.Tensor, lengths: torch.Tensor) -> list[torch.Tensor]:
        """The deterministic layers' outputs, bottom first (a ladder puts one stochastic layer on each)."""
        raise NotImplementedError


class Decoder(nn.Module):
    """Autoregressive p(x|z): teacher-forced over whole sequences, or one step at a time.

    ``out_dim`` is the size of the hidden vectors it returns; the VAE projects them onto the
    vocabulary, so decoders never hold the (large) output layer themselves; likewise the VAE
    embeds tokens once, so the one embedding table appears once in the weights.
    """

    out_dim: int
    max_positions: int | None = None  # a fixed-width decoder emits at most this many tokens (<eos> included)

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg

    def forward(self, emb: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """Hidden vectors [B, T, out_dim] for embedded inputs [B, T, E] given z [B, decoder_z_dim]."""
        raise NotImplementedError

    def forward_aux(self, emb: torch.Tensor, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``forward``, and the features [B, T, aux_dim] of an auxiliary reconstruction (Hybrid; else None)
        that the VAE projects onto the vocabulary with its own ``aux_out`` layer."""
        return self(emb, z), None

    def init_state(self, z: torch.Tensor) -> Any:
        """Decoding state before the first token, for a batch of latents z [N, z_dim]."""
        raise NotImplementedError

    def step(self, emb: torch.Tensor, z: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        """Feed one embedded token per row [N, E]; return hidden [N, out_dim] and the new state."""
        raise NotImplementedError

    def reorder_state(self, state: Any, index: torch.Tensor) -> Any:
        """Select / repeat rows of the state (beam search reorders hypotheses with this)."""
        raise NotImplementedError
