"""Statistics of the latent space from the encoder outputs (μ, log σ²) of a whole corpus, computed once:
active units, the aggregated posterior q(z) and the mutual information I(x; z)."""

from __future__ import annotations

import math

import torch

from ..models.vae import LOG_2PI

AU_THRESHOLD = 0.01  # Burda et al.'s: a dimension whose E[z|x] varies less across the data is inactive


def active_units(mu: torch.Tensor, threshold: float = AU_THRESHOLD) -> tuple[int, torch.Tensor]:
    """Burda et al.: dimension i is active when Cov_x(E_q[z_i]) > threshold. Returns (AU, variances)."""
    variances = mu.double().var(dim=0, unbiased=True) if mu.size(0) > 1 else torch.zeros(mu.size(1))
    return int((variances > threshold).sum()), variances.float()


def aggregated_posterior(
    mu: torch.Tensor, logvar: torch.Tensor, samples_per_x: int = 1, seed: int = 0
) -> dict[str, float]:
    """Statistics of q(z) = mean_x q(z|x), from z ~ q(z|x) with x from the data (Prokhorov et al. §3.2).

    ``log_det_cov`` of the samples, ``mean_sq_norm`` = ‖mean‖², and ``kl_moment_matched``: the KL from
    N(mean, Cov) to the prior N(0, I).
    """
    gen = torch.Generator().manual_seed(seed)
    eps = torch.randn((samples_per_x, *mu.shape), generator=gen)
    z = (mu + eps * (0.5 * logvar).exp()).reshape(-1, mu.size(1)).double()
    mean = z.mean(0)
    cov = torch.cov(z.T).reshape(mu.size(1), mu.size(1))
    sign, logdet = torch.linalg.slogdet(cov)
    d = mu.size(1)
    kl = 0.5 * (torch.trace(cov) + mean @ mean - d - logdet)
    return {
        "log_det_cov": float(logdet) if sign > 0 else float("-inf"),
        "mean_sq_norm": float(mean @ mean),
        "kl_moment_matched": float(kl) if sign > 0 else float("inf"),
        "n_samples": int(z.size(0)),
    }


def mutual_information(mu: torch.Tensor, logvar: torch.Tensor, seed: int = 0, chunk: int = 1024) -> float:
    """I(x; z) under q, estimated as in He et al. 2019 (aggregated posterior over the given x's).

    I = E_x E_{q(z|x)}[log q(z|x) − log q(z)], with q(z) ≈ (1/N) Σ_j q(z|x_j) and one z ~ q(z|x_i)
    per sentence; both log densities are taken at the same z, so a collapsed encoder scores exactly
    0 (He et al. use the closed-form entropy for the first term, which adds sampling noise).
    Bounded above by log N.
    """
    n, d = mu.shape
    mu, logvar = mu.double(), logvar.double()
    gen = torch.Generator().manual_seed(seed)
    z = mu + torch.randn(mu.shape, generator=gen, dtype=mu.dtype) * (0.5 * logvar).exp()
    var = logvar.exp()
    log_qzx = -0.5 * (((z - mu) ** 2) / var + logvar + LOG_2PI).sum(-1)
    # Σ_d (z_d − μ_jd)² / v_jd expanded into matrix products: the N × N densities cost two GEMMs
    inv_var = 1.0 / var  # [N, d]
    const = (mu**2 * inv_var).sum(-1) + logvar.sum(-1) + d * LOG_2PI  # [N]
    log_qz = torch.empty(n, dtype=mu.dtype)
    for start in range(0, n, chunk):
        zc = z[start : start + chunk]  # [c, d]
        quad = (zc**2) @ inv_var.T - 2.0 * zc @ (mu * inv_var).T + const  # [c, N]
        log_qz[start : start + chunk] = torch.logsumexp(-0.5 * quad, dim=1) - math.log(n)
    return float((log_qzx - log_qz).mean())
