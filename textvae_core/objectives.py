"""The objective family ``loss = (1 + m)·D + β(t)·K + α·D_aux``, K = KL, |KL − C| or free bits, as pure functions.

D_aux is the Hybrid VAE's auxiliary reconstruction (report eq. 2); models without one ignore α.

Nothing here holds state: the training step passes the step number in, and β(t) is computed
from it, so a resumed run continues the same schedule and tests can evaluate any step directly. Ramps are
set in epochs (or steps); ``in_steps`` turns them into steps once the corpus's batches per epoch are known.
The capacity's multiplier (``C_control = "dual"``) is the one piece of state: ``dual_step`` computes its
next value from the last, and the trainer keeps it with the run's state.

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
    """C(t) at optimizer step ``step``; None when the objective has no capacity (K = KL). An unset schedule
    (an ObjectiveConfig not resolved by a recipe) is constant."""
    if cfg.C is None:
        return None
    try:
        return CAPACITY_SCHEDULES[cfg.C_schedule or "constant"](step, cfg)
    except KeyError:
        raise ConfigError(
            f"unknown capacity schedule {cfg.C_schedule!r}; choose from {sorted(CAPACITY_SCHEDULES)}"
        ) from None


def in_steps(cfg: ObjectiveConfig, steps_per_epoch: int) -> ObjectiveConfig:
    """A copy of ``cfg`` whose ramps are in optimizer steps: a length given in epochs times the corpus's
    batches per epoch (a length given in steps is kept). The schedules above read steps only."""

    def steps(n_steps: int, epochs: float | None) -> int:
        return n_steps if n_steps > 0 else max(0, round((epochs or 0.0) * steps_per_epoch))

    return dataclasses.replace(
        cfg,
        warmup_steps=steps(cfg.warmup_steps, cfg.warmup_epochs),
        C_warmup_steps=steps(cfg.C_warmup_steps, cfg.C_warmup_epochs),
    )


# The capacity as a constraint (C_control = "dual"). |KL − C| at a fixed β holds the KL at C only while
# nothing else gains more than β per nat from moving it: the reconstruction and a bag-of-words loss pull it
# up at a small C, a batch-normalised μ's floor ½·Σγ² holds it up until γ shrinks. The equality KL = C gets
# a Lagrange multiplier ν learned by dual ascent (as in constrained VAEs, GECO: Rezende & Viola 2018): the
# loss gains ν·(KL − C) and ν moves by dual_lr·(KL − C) after every step, so it grows while the KL sits
# above C and falls (below 0: pulling up) while it sits below, until it balances whatever else pulls: then
# the KL stays at C on average. It starts once the ramp has reached C (during the ramp the KL follows C(t)).
CAPACITY_CONTROLS = ("fixed", "dual")
DUAL_MAX = 100.0  # |ν| at most: the constraint never weighs more than 100 nats of loss per nat of KL


@dataclasses.dataclass
class DualState:
    """The capacity constraint's multiplier ν (nats of loss per nat of KL above C)."""

    multiplier: float = 0.0


def dual_step(state: DualState, kl: float, step: int, cfg: ObjectiveConfig) -> DualState:
    """ν after a step whose batch-mean KL was ``kl`` (``cfg`` with its ramps in steps: ``in_steps``)."""
    C = capacity_at(step, cfg)
    if cfg.C_control != "dual" or C is None or step < cfg.C_warmup_steps:
        return state
    return DualState(min(DUAL_MAX, max(-DUAL_MAX, state.multiplier + cfg.dual_lr * (kl - C))))


# Presets: the papers' objectives as knob values (any knob can still be overridden).
PRESETS: dict[str, dict[str, object]] = {
    "vae": {"m": 0.0, "beta": 1.0, "schedule": "constant", "C": None},
    "vae-anneal": {"m": 0.0, "beta": 1.0, "schedule": "logistic", "warmup_epochs": 3.0, "C": None},
    "beta-vae": {"m": 0.0, "beta": 0.5, "schedule": "constant", "C": None},
    "autogen": {"m": 1.0, "beta": 1.0, "schedule": "constant", "C": None},
    "beta-c": {"m": 0.0, "beta": 1.0, "schedule": "constant", "C": 15.0},
}


def preset(name: str, **overrides: object) -> ObjectiveConfig:
    """The ObjectiveConfig of a named preset, with optional knob overrides."""
    if name not in PRESETS:
        raise ConfigError(f"unknown objective {name!r}; choose from {sorted(PRESETS)}")
    knobs = {**PRESETS[name], **overrides}
    if overrides.get("warmup_steps") and "warmup_epochs" not in overrides:
        knobs["warmup_epochs"] = 0.0  # a ramp given in steps replaces the preset's ramp in epochs
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
    if cfg.schedule != "constant" and cfg.warmup_steps <= 0 and cfg.warmup_epochs <= 0:
        raise ConfigError(f"schedule {cfg.schedule!r} needs a warm-up: warmup_epochs or warmup_steps > 0")
    if cfg.warmup_steps < 0 or cfg.warmup_epochs < 0:
        raise ConfigError("a warm-up's length (warmup_epochs, warmup_steps) must be ≥ 0")
    if cfg.C_schedule is not None and cfg.C_schedule not in CAPACITY_SCHEDULES:
        raise ConfigError(f"unknown capacity schedule {cfg.C_schedule!r}; choose from {sorted(CAPACITY_SCHEDULES)}")
    if cfg.C_control is not None and cfg.C_control not in CAPACITY_CONTROLS:
        raise ConfigError(f"C_control={cfg.C_control!r}: one of {', '.join(CAPACITY_CONTROLS)}")
    if cfg.C_control == "dual" and cfg.C is None:
        raise ConfigError("C_control=dual holds the KL at a capacity: set objective.C (or C_control=fixed)")
    if not cfg.dual_lr > 0:
        raise ConfigError(f"dual_lr = {cfg.dual_lr}: the multiplier's step per nat of KL off C must be > 0")
    if (cfg.C_warmup_epochs or 0) < 0 or cfg.C_warmup_steps < 0:
        raise ConfigError("the capacity ramp's length (C_warmup_epochs, C_warmup_steps) must be ≥ 0")
    if cfg.bow is not None and cfg.bow < 0:
        raise ConfigError(f"bow = {cfg.bow}: the weight of the bag-of-words loss must be ≥ 0")
    ramp = cfg.C_warmup_steps > 0 or (cfg.C_warmup_epochs or 0) > 0
    if cfg.C_schedule not in (None, "constant") and (cfg.C is None or not ramp):
        raise ConfigError(
            f"capacity schedule {cfg.C_schedule!r} needs a capacity C and a ramp: C_warmup_epochs or C_warmup_steps > 0"
        )
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
    multiplier: float = 0.0,
) -> dict[str, torch.Tensor]:
    """The loss to minimise and the quantities logged at every step (all per sentence).

    ``elbo`` is −(D + KL) whatever the training objective, so runs trained differently compare;
    ``kl_share`` is the weighted regulariser's fraction of the training objective (AutoGen Fig. 2).
    The capacity in the loss is C(t) (``capacity_at``); the trainer logs it beside β(t). ``bow`` (per
    sentence, from a model with a bag-of-words head) adds ``cfg.bow``·mean to the loss only.
    A Hybrid VAE's ``aux_rec`` adds α·D_aux to the loss (not to the ELBO: it is not part of the model's
    likelihood) and is logged as ``aux_rec``; ``kl_terms`` (per ladder layer or FMP position, summing to
    ``kl``) are logged as ``kl_<name>``. β and C act on the summed KL only; free bits on ``kl_dims`` [B, D],
    the KL per latent coordinate. ``multiplier`` is the capacity constraint's ν (``dual_step``): the loss gains
    ν·(KL − C), which ``kl_share`` leaves out.
    """
    beta = beta_at(step, cfg)
    C = capacity_at(step, cfg)
    loss, reg = family_terms(rec, kl, cfg.m, beta, C, kl_dims, cfg.free_bits)
    if multiplier and C is not None:
        loss = loss + multiplier * (kl.mean() - C)
    terms: dict[str, torch.Tensor] = {}
    if bow is not None and cfg.bow:
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
