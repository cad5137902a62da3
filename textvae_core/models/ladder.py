"""Ladder VAE (Sønderby et al. 2016; report §2.4, §4.2): L stochastic layers z₁ … z_L over the encoder.

Bottom-up, deterministic layers d₁ … d_L each give a Gaussian (μ̂_i, σ̂_i²): MLPs on the RNN encoder's last
state (LVAE), or the CNN encoder's stride-2 feature maps themselves (LCNNVAE). Top-down, the generative
model p(z) = p(z_L) Π p(z_i | z_{i+1}) with p(z_L) = N(0, I) and p(z_i | z_{i+1}) = N(μ_p,i, σ_p,i²) from
z_{i+1} (an MLP; LCNNVAE: a transposed convolution, upsampling as the decoder does). The posterior
shares that top-down path: q(z_L|x) = N(μ̂_L, σ̂_L²), and below the top the precision-weighted merge

    σ_q² = 1 / (σ̂⁻² + σ_p⁻²),   μ_q = (μ̂ σ̂⁻² + μ_p σ_p⁻²) · σ_q²

so each KL_i = KL(q(z_i | ·) ‖ p(z_i | z_{i+1})) is between two Gaussians, in closed form at the sampled
z_{i+1}. The KL of the model is their sum (β and C act on it); each layer's is reported on its own.
The decoder (an RNN, as in the report) reads z₁ only; the flat latent is [z₁, …, z_L].

Variances are softplus(·) + a small floor, as in the authors' code, so merged precisions stay finite.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..config import ModelConfig
from ..layout import CONV_ENCODERS
from .base import Decoder, Encoder
from .cnn_encoder import same_padding
from .vae import Draws, Posterior, SentenceVAE, gaussian_kl_dims, gaussian_log_density, standard_normal

VAR_FLOOR = 1e-4


def gaussian_params(raw: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Split [.., 2z] into μ and log σ², with σ² = softplus + floor."""
    mu, pre = raw.float().chunk(2, dim=-1)
    return mu, torch.log(F.softplus(pre) + VAR_FLOOR)


def merge(
    mu_hat: torch.Tensor, logvar_hat: torch.Tensor, mu_p: torch.Tensor, logvar_p: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Precision-weighted merge of the bottom-up and top-down Gaussians."""
    prec_hat, prec_p = (-logvar_hat).exp(), (-logvar_p).exp()
    prec = prec_hat + prec_p
    return (mu_hat * prec_hat + mu_p * prec_p) / prec, -prec.log()


class MLPRung(nn.Module):
    """LVAE top-down step: z_{i+1} → hidden → (μ_p, log σ_p²) of z_i."""

    def __init__(self, z_in: int, hidden: int, z_out: int) -> None:
        super().__init__()
        self.hidden = nn.Linear(z_in, hidden)
        self.params = nn.Linear(hidden, 2 * z_out)

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return gaussian_params(self.params(F.leaky_relu(self.hidden(z))))


class ConvRung(nn.Module):
    """LCNNVAE top-down step: z_{i+1} → layer i+1's feature map → transposed convolution (width × 2) → layer i's
    map → (μ_p, log σ_p²) of z_i."""

    def __init__(self, z_in: int, c_in: int, width_in: int, c_out: int, kernel: int, z_out: int) -> None:
        super().__init__()
        self.c_in, self.width_in = c_in, width_in
        self.inp = nn.Linear(z_in, c_in * width_in)
        pad = same_padding(kernel)
        self.up = nn.ConvTranspose1d(c_in, c_out, kernel, stride=2, padding=pad, output_padding=2 + 2 * pad - kernel)
        self.params = nn.Linear(c_out * 2 * width_in, 2 * z_out)

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = F.relu(self.inp(z)).view(z.size(0), self.c_in, self.width_in)
        return gaussian_params(self.params(F.relu(self.up(h)).flatten(1)))


class LadderVAE(SentenceVAE):
    hierarchical = True
    INFERENCE_PARTS = (*SentenceVAE.INFERENCE_PARTS, "up.", "q_heads.")  # the bottom-up path; p_rungs generate

    def __init__(
        self,
        cfg: ModelConfig,
        vocab_size: int,
        encoder_cls: type[Encoder],
        decoder_cls: type[Decoder],
        pad_id: int = 0,
    ) -> None:
        super().__init__(cfg, vocab_size, encoder_cls, decoder_cls, pad_id)
        zs = cfg.ladder_z
        self.conv = cfg.encoder in CONV_ENCODERS
        if self.conv:  # the encoder's stride-2 maps are the deterministic layers
            widths = [cfg.seq_len // 2 ** (i + 1) for i in range(len(zs))]
            sizes = [c * w for c, w in zip(cfg.conv_channels, widths, strict=True)]
            self.up = None
            rungs: list[nn.Module] = [
                ConvRung(
                    zs[i + 1], cfg.conv_channels[i + 1], widths[i + 1], cfg.conv_channels[i], cfg.conv_kernel, zs[i]
                )
                for i in range(len(zs) - 1)
            ]
        else:
            dims = [self.encoder.out_dim, *cfg.ladder_hidden]
            sizes = list(cfg.ladder_hidden)
            self.up = nn.ModuleList(nn.Linear(dims[i], dims[i + 1]) for i in range(len(zs)))
            rungs = [MLPRung(zs[i + 1], cfg.ladder_hidden[i], zs[i]) for i in range(len(zs) - 1)]
        self.q_heads = nn.ModuleList(nn.Linear(n, 2 * z) for n, z in zip(sizes, zs, strict=True))
        self.p_rungs = nn.ModuleList(rungs)  # p_rungs[i]: z_{i+1} → p(z_i | z_{i+1}) (0-based: z[i+1] → z[i])

    # ---- the two passes -----------------------------------------------------------------------------

    def bottom_up(self, src: torch.Tensor, lengths: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """(μ̂_i, log σ̂_i²) [B, z_i] of every layer, bottom first."""
        self.check_width(src)
        feats = self.encoder.features(self.embedding(src), lengths)
        if self.conv:
            det = [f.flatten(1) for f in feats]
        else:
            det, h = [], feats[-1]
            for layer in self.up:
                h = F.leaky_relu(layer(h))
                det.append(h)
        return [gaussian_params(head(d)) for head, d in zip(self.q_heads, det, strict=True)]

    def top_down(
        self,
        bu: list[tuple[torch.Tensor, torch.Tensor]],
        samples: int,
        sample: bool,
        generator: torch.Generator | None = None,
        held: torch.Tensor | None = None,
        held_from: int | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Walk down from z_L with ``samples`` draws per sentence (or the mean path when not ``sample``).

        With ``held`` (flat latents [B, D]) the layers from ``held_from`` (0-based) up take its values instead
        of drawing them, and the layers below are inferred given them (the app edits one layer this way).
        Returns flat z, μ_q, log σ_q², KL per coordinate (each [S, B, D]) and log p(z) − log q(z|x) [S, B].
        """
        n_layers = len(bu)
        batch = bu[0][0].size(0)
        out: list[tuple[torch.Tensor, ...]] = [()] * n_layers
        log_ratio = bu[0][0].new_zeros(samples, batch)
        z_above: torch.Tensor | None = None
        for i in reversed(range(n_layers)):
            mu_hat, lv_hat = (t.unsqueeze(0).expand(samples, -1, -1) for t in bu[i])
            if z_above is None:  # the top: q(z_L|x) from the bottom-up pass alone, p(z_L) = N(0, I)
                mu_q, lv_q, mu_p, lv_p = mu_hat, lv_hat, None, None
            else:
                mu_p, lv_p = self.p_rungs[i](z_above.reshape(samples * batch, -1))
                mu_p, lv_p = mu_p.view(samples, batch, -1), lv_p.view(samples, batch, -1)
                mu_q, lv_q = merge(mu_hat, lv_hat, mu_p, lv_p)
            if sample:
                eps = torch.randn(mu_q.shape, generator=generator, device=mu_q.device)
                z = mu_q + eps * (0.5 * lv_q).exp()
            else:
                z = mu_q
            if held is not None and held_from is not None and i >= held_from:
                part = self.parts[i]
                z = held[:, part.start : part.stop].to(mu_q).unsqueeze(0).expand_as(mu_q)
            log_ratio = log_ratio + gaussian_log_density(z, mu_p, lv_p) - gaussian_log_density(z, mu_q, lv_q)
            out[i] = (z, mu_q, lv_q, gaussian_kl_dims(mu_q, lv_q, mu_p, lv_p))
            z_above = z
        z, mu, lv, kl = (torch.cat([o[j] for o in out], dim=-1) for j in range(4))
        return z, mu, lv, kl, log_ratio

    # ---- the SentenceVAE interface ------------------------------------------------------------------

    def posterior(self, src: torch.Tensor, lengths: torch.Tensor, sample: bool) -> Posterior:
        z, mu, lv, kl, _ = self.top_down(self.bottom_up(src, lengths), 1, sample)
        return Posterior(z[0], mu[0], lv[0], kl[0])

    def encode(self, src: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The mean path: each layer's merged μ and log σ² with the layers above at their means."""
        post = self.posterior(src, lengths, sample=False)
        return post.mu, post.logvar

    def posterior_draws(
        self, src: torch.Tensor, lengths: torch.Tensor, k: int, generator: torch.Generator | None = None
    ) -> Draws:
        bu = self.bottom_up(src, lengths)
        z, _, _, _, log_ratio = self.top_down(bu, k, True, generator)
        _, mu, lv, kl, _ = self.top_down(bu, 1, False)
        return Draws(z, log_ratio, Posterior(mu[0], mu[0], lv[0], kl[0]))

    def prior_z(
        self, n: int, generator: torch.Generator | None = None, device: torch.device | str | None = None
    ) -> torch.Tensor:
        """Ancestral samples: z_L ~ N(0, I), then each z_i ~ p(z_i | z_{i+1}) down to z₁ (on the model's device;
        returned on ``device``)."""
        here = self.embedding.weight.device
        zs = self.cfg.ladder_z
        z = standard_normal((n, zs[-1]), generator, here)
        layers = [z]
        for i in reversed(range(len(zs) - 1)):
            mu_p, lv_p = self.p_rungs[i](z)
            z = mu_p + standard_normal(tuple(mu_p.shape), generator, here) * (0.5 * lv_p).exp()
            layers.insert(0, z)
        return torch.cat(layers, dim=-1).to(device or here)

    def infer_below(self, src: torch.Tensor, lengths: torch.Tensor, z: torch.Tensor, layer: int) -> torch.Tensor:
        """Flat latents [B, D] whose layers ≥ ``layer`` (0-based) are ``z``'s and whose layers below are the
        mean path of q(z_i | x, z_i+1) given them: what the sentence says under an edited upper layer."""
        flat, _, _, _, _ = self.top_down(self.bottom_up(src, lengths), 1, False, held=z, held_from=layer)
        return flat[0]

    def decoder_z(self, z: torch.Tensor) -> torch.Tensor:
        return z[..., : self.cfg.ladder_z[0]]
