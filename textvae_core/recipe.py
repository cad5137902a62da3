"""The rate recipe: what makes z carry the sentence under a capacity C, as the default of every run.

A knob left unset (``None``) in a RunConfig is decided here by ``RunConfig.recipe``:

- ``rate`` (the default for any objective with a capacity C, docs/RECIPE.md): μ batch-normalised
  (Zhu et al. 2020) with a learned scale γ, a bag-of-words head (Zhao et al. 2017), C
  ramped from 0 over the first epochs (the β_C paper's code), random batches, and the capacity held as
  a constraint: β raised by a multiplier learned by dual ascent while the KL strays from C;
- ``plain``: the papers' setups as printed (no normalisation, no head, C from step 0, β as given);
- ``auto``: ``rate`` when the objective has a capacity C, else ``plain`` — the VAE, KL annealing, β-VAE,
  AutoGen and free bits are the papers' objectives whose rate is what those papers study.

``resolve`` returns a new RunConfig with every such knob set (the one given is never changed); config.json
records the resolved copy, so a run says which recipe it used and reads the same on any later release.
A knob given explicitly always wins over the recipe.
"""

from __future__ import annotations

import copy
import math
from typing import Any

from .config import ConfigError, RunConfig

RECIPES = ("auto", "rate", "plain")
C_RAMP_EPOCHS = 2.0  # the rate recipe's capacity ramp: two epochs (the β_C paper's code) …
C_RAMP_SHARE = 0.5  # … or the first half of a shorter run, so C is reached with time to settle
BOW_WEIGHT = 1.0  # the rate recipe's bag-of-words loss weight

PLAIN: dict[str, dict[str, Any]] = {
    "model": {"mu_norm": "none", "mu_scale": 1.0, "mu_scale_learn": False, "bow_head": False},
    "objective": {"C_schedule": "constant", "C_warmup_epochs": 0.0, "C_control": "fixed", "bow": 0.0},
    "train": {"bucket_chunk": 50},
}


def which(cfg: RunConfig) -> str:
    """The recipe ``cfg`` trains with: ``rate`` or ``plain`` (``auto`` decided by the objective)."""
    if cfg.recipe not in RECIPES:
        raise ConfigError(f"recipe={cfg.recipe!r}: one of {', '.join(RECIPES)}")
    if cfg.recipe != "auto":
        return cfg.recipe
    return "rate" if cfg.objective.C is not None else "plain"


def rate_settings(cfg: RunConfig) -> dict[str, dict[str, Any]]:
    """The rate recipe's knob values for ``cfg``: what depends on the model, the capacity and the budget.

    A ladder keeps what works for it: its layers below the top have conditional priors, so its μ is not
    normalised (the head, the ramp and the constraint apply); a run without a capacity has no ramp."""
    ladder = cfg.model.latent == "ladder"
    C = cfg.objective.C
    ramp = 0.0 if C is None else max(0.0, min(C_RAMP_EPOCHS, C_RAMP_SHARE * cfg.train.epochs))
    normalise = not ladder
    return {
        "model": {
            "mu_norm": "batchnorm" if normalise else "none",
            "mu_scale": 1.0,  # γ started at 1: γ started from C measured no better (docs/ABLATION.md)
            "mu_scale_learn": normalise,
            "bow_head": True,
        },
        "objective": {
            "C_schedule": "constant" if C is None else "linear",
            "C_warmup_epochs": ramp,
            "C_control": "fixed" if C is None else "dual",
            "bow": BOW_WEIGHT,
        },
        "train": {"bucket_chunk": 1 if normalise else PLAIN["train"]["bucket_chunk"]},
    }


def resolve(cfg: RunConfig) -> RunConfig:
    """A copy of ``cfg`` with its recipe named (``rate`` or ``plain``) and every unset knob filled from it."""
    out = copy.deepcopy(cfg)
    out.recipe = which(cfg)
    settings = rate_settings(cfg) if out.recipe == "rate" else PLAIN
    for section, knobs in settings.items():
        part = getattr(out, section)
        for name, value in knobs.items():
            if getattr(part, name) is None:
                setattr(part, name, value)
    if not out.model.bow_head and cfg.objective.bow is None:  # a head switched off takes its loss with it
        out.objective.bow = 0.0
    if out.objective.C_warmup_steps > 0:  # a ramp given in steps: the epochs' value is not used
        out.objective.C_warmup_epochs = 0.0
    if out.model.mu_norm != "batchnorm" and cfg.model.mu_scale is None:
        out.model.mu_scale = 1.0
    return out


def unresolved(cfg: RunConfig) -> list[str]:
    """The knobs of ``cfg`` still unset (``section.name``): a config the Trainer may not use as it is."""
    return [
        f"{section}.{name}"
        for section, knobs in PLAIN.items()
        for name in knobs
        if getattr(getattr(cfg, section), name) is None
    ]


def derived(cfg: RunConfig) -> set[str]:
    """The knobs (``section.name``) whose value the rate recipe computed from others of ``cfg`` (the ramp from
    the epochs): two runs that differ in C differ in them too, without being set differently."""
    if cfg.recipe != "rate":
        return set()
    expect = rate_settings(cfg)
    out = set()
    ramp = cfg.objective.C_warmup_epochs
    if ramp is not None and math.isclose(ramp, expect["objective"]["C_warmup_epochs"]):
        out.add("objective.C_warmup_epochs")
    return out
