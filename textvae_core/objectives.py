"""The objective family ``loss = (1 + m)·D + β(t)·K + α·D_aux``, K = KL, |KL − C| or free bits, as pure functions.

D_aux is the Hybrid VAE's auxiliary reconstruction (report eq. 2); models without one ignore α.

Nothing here holds state: the training step passes the step number in, and β(t) is computed
from it, so a resumed run continues the same schedule and tests can evaluate any step directly.

- ``PRESETS`` names the papers' objectives (a preset is a set of knob values);
- ``beta_at`` is β(t) for every schedule;
- ``objective_terms`` turns per-sentence distortion and KL into the loss and everything logged.

A new objective is one preset (or one schedule function) plus one registry line.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import torch

from .config import ConfigError, ObjectiveConfig

# β(t) schedules: (step, cfg) -> β. Steps count optimizer updates from 0.


def _constant(step: int, cfg: ObjectiveConfig) -> float:
    return cfg.beta


def _linear(step: int, cfg: ObjectiveConfig) -> float:
    if cfg.warmup_steps <= 0:
        return cfg.beta
    frac = min(1.0, step / cfg.warmup_steps)
    return cfg.beta_start + (cfg.beta - cfg.beta_start) * frac


def _logistic(step: int, cfg: ObjectiveConfig) -> float:
    """Bowman et al.'s sigmoid ramp, centred on warmup_steps / 2, reaching ~β_max at warmup_steps."""
    if cfg.warmup_steps <= 0:
        return cfg.beta
    k = 10.0 / cfg.warmup_steps  # slope: the ramp spans ≈ warmup_steps steps
    frac = 1.0 / (1.0 + math.exp(-k * (step - cfg.warmup_steps / 2)))
    return cfg.beta_start + (cfg.beta - cfg.beta_start) * frac


def _cyclical(step: int, cfg: ObjectiveConfig) -> float:
    """Fu et al. 2019: ``cycles`` linear ramps of length warmup_steps, then β_max for good."""
    if cfg.warmup_steps <= 0 or step >= cfg.warmup_steps * cfg.cycles:
        return cfg.beta
    pos = (step % cfg.warmup_steps) / cfg.warmup_steps
    frac = min(1.0, pos / max(cfg.cycle_ramp, 1e-9))
    return cfg.beta_start + (cfg.beta - cfg.beta_start) * frac


SCHEDULES: dict[str, Callable[[int, ObjectiveConfig], float]] = {
    "constant": _constant,
    "linear": _linear,
    "logistic": _logistic,
    "cyclical": _cyclical,
}


def beta_at(step: int, cfg: ObjectiveConfig) -> float:
    """β(t) at optimizer step ``step``."""
    try:
        return SCHEDULES[cfg.schedule](step, cfg)
    except KeyError:
        raise ConfigError(f"unknown β schedule {cfg.schedule!r}; choose from {sorted(SCHEDULES)}") from None


# C(t) schedules: (step, cfg) -> capacity in nats. The β_C paper's code ramps C linearly from 0 over
# its first two epochs of steps; holding C from step 0 lets the encoder meet it before the decoder
# reads z (docs/ABLATION.md measures what each does).


def _capacity_constant(step: int, cfg: ObjectiveConfig) -> float:
    return float(cfg.C or 0.0)


def _capacity_linear(step: int, cfg: ObjectiveConfig) -> float:
    if cfg.C_warmup_steps <= 0:
        return float(cfg.C or 0.0)
    return float(cfg.C or 0.0) * min(1.0, step / cfg.C_warmup_steps)


CAPACITY_SCHEDULES: dict[str, Callable[[int, ObjectiveConfig], float]] = {
    "constant": _capacity_constant,
    "linear": _capacity_linear,
}


def capacity_at(step: int, cfg: ObjectiveConfig) -> float | None:
    """C(t) at optimizer step ``step``; None when the objective has no capacity (K = KL)."""
    if cfg.C is None:
        return None
    try:
        return CAPACITY_SCHEDULES[cfg.C_schedule](step, cfg)
    except KeyError:
        raise ConfigError(
            f"unknown capacity schedule {cfg.C_schedule!r}; choose from {sorted(CAPACITY_SCHEDULES)}"
        ) from None


# Presets: the papers' objectives as knob values (any knob can still be overridden).
PRESETS: dict[str, dict[str, object]] = {
    "vae": {"m": 0.0, "beta": 1.0, "schedule": "constant", "C": None},
    "vae-anneal": {"m": 0.0, "beta": 1.0, "schedule": "logistic", "warmup_steps": 2000, "C": None},
    "beta-vae": {"m": 0.0, "beta": 0.5, "schedule": "constant", "C": None},
    "autogen": {"m": 1.0, "beta": 1.0, "schedule": "constant", "C": None},
    "beta-c": {"m": 0.0, "beta": 1.0, "schedule": "constant", "C": 15.0},
}


def preset(name: str, **overrides: object) -> ObjectiveConfig:
    """The ObjectiveConfig of a named preset, with optional knob overrides."""
    if name not in PRESETS:
        raise ConfigError(f"unknown objective {name!r}; choose from {sorted(PRESETS)}")
    knobs = {**PRESETS[name], **overrides}
    try:
        return dataclasses.replace(ObjectiveConfig(name=name), **knobs)
    except TypeError as err:
        raise ConfigError(f"objective {name!r}: {err}") from None


def validate(cfg: ObjectiveConfig) -> None:
    """Reject knob values that make no sense before a run starts, not after an hour of training."""
    if cfg.schedule not in SCHEDULES:
        raise ConfigError(f"unknown β schedule {cfg.schedule!r}; choose from {sorted(SCHEDULES)}")
    if cfg.m <= -1:
        raise ConfigError(f"m = {cfg.m} makes the reconstruction weight (1 + m) non-positive")
    if cfg.beta < 0 or cfg.beta_start < 0:
        raise ConfigError("β must be ≥ 0")
    if cfg.C is not None and cfg.C < 0:
        raise ConfigError(f"C = {cfg.C}: the capacity is a KL value, it must be ≥ 0")
    if cfg.schedule != "constant" and cfg.warmup_steps <= 0:
        raise ConfigError(f"schedule {cfg.schedule!r} needs warmup_steps > 0")
    if cfg.C_schedule not in CAPACITY_SCHEDULES:
        raise ConfigError(f"unknown capacity schedule {cfg.C_schedule!r}; choose from {sorted(CAPACITY_SCHEDULES)}")
    if cfg.bow < 0:
        raise ConfigError(f"bow = {cfg.bow}: the weight of the bag-of-words loss must be ≥ 0")
    if cfg.C_schedule != "constant" and (cfg.C is None or cfg.C_warmup_steps <= 0):
        raise ConfigError(f"capacity schedule {cfg.C_schedule!r} needs a capacity C and C_warmup_steps > 0")
    if cfg.alpha < 0:
        raise ConfigError(f"α = {cfg.alpha}: the auxiliary reconstruction weight must be ≥ 0")
    if cfg.free_bits < 0:
        raise ConfigError(f"free_bits = {cfg.free_bits}: a floor on each dimension's KL must be ≥ 0 nats")
    if cfg.free_bits > 0 and cfg.C is not None:
        raise ConfigError(
            f"free_bits = {cfg.free_bits:g} with C = {cfg.C:g}: both set what the KL may cost; "
            "choose a capacity (β_C) or a floor per dimension (free bits), not both"
        )


def regulariser(
    kl: torch.Tensor, C: float | None, kl_dims: torch.Tensor | None = None, free_bits: float = 0.0
) -> torch.Tensor:
    """K: the batch-mean KL, its distance |KL − C| from the capacity C, or with free bits λ > 0 the sum over
    dimensions of max(λ, batch-mean KL_d) (``kl_dims`` [B, D]).

    The constraint is on the batch mean (Burgess et al.; Prokhorov et al.'s code), so single
    sentences may carry more or less than C nats as long as the average sits at C. Free bits (Kingma et al.
    2016, per dimension and batch as Li et al. 2019) leave a dimension's first λ nats unpenalised: the KL of
    a dimension below λ gets no gradient, so the optimiser has no reason to close it down to the prior.
    """
    if free_bits > 0:
        if kl_dims is None:
            raise ConfigError("free bits need the KL per latent dimension; this model output has none")
        return kl_dims.mean(0).clamp_min(free_bits).sum()
    mean_kl = kl.mean()
    return mean_kl if C is None else (mean_kl - C).abs()


def family_terms(
    rec: torch.Tensor,
    kl: torch.Tensor,
    m: float,
    beta: float,
    C: float | None,
    kl_dims: torch.Tensor | None = None,
    free_bits: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(the family's loss (1 + m)·mean D + β·K averaged over the batch, its weighted regulariser β·K): the
    trainer logs β·K's share of the loss, so it gets both from one computation of K."""
    reg = beta * regulariser(kl, C, kl_dims, free_bits)
    return (1.0 + m) * rec.mean() + reg, reg


def objective_terms(
    rec: torch.Tensor,
    kl: torch.Tensor,
    cfg: ObjectiveConfig,
    step: int,
    *,
    bow: torch.Tensor | None = None,
    aux_rec: torch.Tensor | None = None,
    kl_terms: dict[str, torch.Tensor] | None = None,
    kl_dims: torch.Tensor | None = None,
) -> dict[str, torch.Tensor]:
    """The loss to minimise and the quantities logged at every step (all per sentence).

    ``elbo`` is −(D + KL) whatever the training objective, so runs trained differently compare;
    ``kl_share`` is the weighted regulariser's fraction of the training objective (AutoGen Fig. 2).
    The capacity in the loss is C(t) (``capacity_at``); the trainer logs it beside β(t). ``bow`` (per
    sentence, from a model with a bag-of-words head) adds ``cfg.bow``·mean to the loss only.
    A Hybrid VAE's ``aux_rec`` adds α·D_aux to the loss (not to the ELBO: it is not part of the model's
    likelihood) and is logged as ``aux_rec``; ``kl_terms`` (per ladder layer or FMP position, summing to
    ``kl``) are logged as ``kl_<name>``. β and C act on the summed KL only; free bits on ``kl_dims`` [B, D],
    the KL per latent coordinate.
    """
    beta = beta_at(step, cfg)
    C = capacity_at(step, cfg)
    loss, reg = family_terms(rec, kl, cfg.m, beta, C, kl_dims, cfg.free_bits)
    terms: dict[str, torch.Tensor] = {}
    if bow is not None and cfg.bow > 0:
        loss = loss + cfg.bow * bow.mean()
        terms["bow"] = bow.mean().detach()
    if aux_rec is not None and cfg.alpha:
        loss = loss + cfg.alpha * aux_rec.mean()
    terms.update(
        loss=loss,
        rec=rec.mean().detach(),
        kl=kl.mean().detach(),
        elbo=-(rec.mean() + kl.mean()).detach(),
        kl_share=(reg / loss.clamp_min(1e-12)).detach(),
        beta=torch.tensor(beta),
    )
    if aux_rec is not None:
        terms["aux_rec"] = aux_rec.mean().detach()
    for name, value in (kl_terms or {}).items():
        terms[f"kl_{name}"] = value.mean().detach()
    return terms
