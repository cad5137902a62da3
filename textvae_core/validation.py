"""The one check of a RunConfig: :func:`validate`, called by every entry point (the training CLI, the Trainer,
the app's Training page and its jobs, the grid) before any data is read or any weight is built.

Two layers, so that a new config field is checked without a line written for it:

- every field, driven by ``dataclasses.fields`` and the type hints: its type (a bool is not a number, a
  number is finite), its bounds (``BOUNDS``, keyed ``section.name``) and its choices (``choices``);
  a field typed ``X | None`` may be None ("the default or the recipe decides");
- the settings that only make sense together (:func:`combinations`): the objective family's
  (``objectives.validate``), a model family's shapes (``layout.validate_model``), the data a fixed-width
  model can hold, the weights to keep, the lr schedules, the weight average, the run folder.

Every refusal is a :class:`ConfigError` whose one line starts with the option it is about,
``--train.lr=nan: must be a finite number > 0``, so the CLI prints it as it is (exit status 2).
"""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import SECTIONS, ConfigError, RunConfig, TrainConfig
from .corpus import FORMATS
from .layout import max_tokens, validate_model
from .models import DECODERS, ENCODERS, LATENTS
from .objectives import CAPACITY_CONTROLS, CAPACITY_SCHEDULES, SCHEDULES
from .objectives import validate as validate_objective
from .recipe import RECIPES, resolve
from .rundir import KEPT_FIGURES, is_run

LR_SCHEDULES = ("constant", "cosine")  # train.lr_schedule (constant: also the plateau decay's)
DEVICE = re.compile(r"(auto|cpu|cuda|cuda:\d{1,3}|mps)\Z")


@dataclass(frozen=True)
class Range:
    """Where a number may lie: ``low`` / ``high`` (None: unbounded), each end included unless ``*_open``;
    ``zero_off``: 0 is allowed too, meaning "off" (e.g. ``data.max_vocab = 0``: no cap)."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    zero_off: bool = False

    def holds(self, value: float) -> bool:
        if self.zero_off and value == 0:
            return True
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            return False
        return not (self.high is not None and (value > self.high or (self.high_open and value == self.high)))

    def text(self) -> str:
        low = None if self.low is None else f"{'>' if self.low_open else '≥'} {self.low:g}"
        high = None if self.high is None else f"{'<' if self.high_open else '≤'} {self.high:g}"
        said = " and ".join(p for p in (low, high) if p) or "any value"
        return f"0 (off) or {said}" if self.zero_off else said


def _at_least(low: float) -> Range:
    return Range(low)


POSITIVE = Range(0, low_open=True)
NON_NEGATIVE = Range(0)
PROBABILITY = Range(0, 1)
DROPOUT = Range(0, 1, high_open=True)  # 1 would drop everything

# Bounds of the numeric fields, one line each (list fields: every element). A field not listed here is still
# checked for its type and, if a float, for being finite.
BOUNDS: dict[str, Range] = {
    "data.min_len": NON_NEGATIVE,
    "data.max_len": NON_NEGATIVE,
    "data.max_vocab": Range(5, zero_off=True),  # the four specials and at least one word
    "data.min_count": NON_NEGATIVE,
    "model.emb_dim": _at_least(1),
    "model.hidden": _at_least(1),
    "model.z_dim": _at_least(1),
    "model.enc_layers": _at_least(1),
    "model.dec_layers": _at_least(1),
    "model.mu_scale": POSITIVE,
    "model.dropout": DROPOUT,
    "model.emb_dropout": DROPOUT,
    "model.cnn_kernel": _at_least(1),
    "model.cnn_dilations": _at_least(1),
    "model.cnn_inner": _at_least(1),
    "model.seq_len": _at_least(2),
    "model.conv_channels": _at_least(1),
    "model.conv_kernel": _at_least(1),
    "model.fmp_positions": _at_least(1),
    "model.ladder_z": _at_least(1),
    "model.ladder_hidden": _at_least(1),
    "objective.m": Range(-1, low_open=True),
    "objective.beta": NON_NEGATIVE,
    "objective.warmup_steps": NON_NEGATIVE,
    "objective.warmup_epochs": NON_NEGATIVE,
    "objective.beta_start": NON_NEGATIVE,
    "objective.cycles": _at_least(1),
    "objective.cycle_ramp": Range(0, 1, low_open=True),
    "objective.C": NON_NEGATIVE,
    "objective.C_warmup_steps": NON_NEGATIVE,
    "objective.C_warmup_epochs": NON_NEGATIVE,
    "objective.dual_lr": POSITIVE,
    "objective.bow": NON_NEGATIVE,
    "objective.alpha": NON_NEGATIVE,
    "objective.free_bits": NON_NEGATIVE,
    "train.epochs": Range(0, 1e6),  # a million passes at most: a larger count is a typo, not a plan
    "train.max_steps": NON_NEGATIVE,
    "train.max_minutes": NON_NEGATIVE,
    "train.batch_size": _at_least(1),
    "train.lr": POSITIVE,
    "train.grad_clip": NON_NEGATIVE,
    "train.lr_decay": Range(0, 1, low_open=True),
    "train.lr_patience": _at_least(1),
    "train.lr_min_gain": NON_NEGATIVE,
    "train.lr_final": NON_NEGATIVE,
    "train.lr_hold": NON_NEGATIVE,
    "train.word_dropout": PROBABILITY,
    "train.seed": NON_NEGATIVE,
    "train.log_every": NON_NEGATIVE,
    "train.val_every": NON_NEGATIVE,
    "train.ckpt_every": NON_NEGATIVE,
    "train.bucket_chunk": _at_least(1),
    "train.num_threads": NON_NEGATIVE,
    "train.average_from": NON_NEGATIVE,
    "train.average_every": _at_least(1),
    "train.aggressive_inner": _at_least(1),
    "vocab_size": NON_NEGATIVE,
}


def choices(key: str) -> tuple[str, ...] | None:
    """The values a text field accepts (``section.name``), or None when it takes free text (a path, a name)."""
    known: dict[str, Sequence[str]] = {
        "data.format": FORMATS,
        "data.level": ("word", "char"),
        "model.encoder": tuple(ENCODERS),
        "model.decoder": tuple(DECODERS),
        "model.latent": tuple(LATENTS),
        "model.z_mode": ("concat", "init", "both"),
        "model.mu_norm": ("none", "batchnorm"),
        "objective.schedule": tuple(SCHEDULES),
        "objective.C_schedule": tuple(CAPACITY_SCHEDULES),
        "objective.C_control": CAPACITY_CONTROLS,
        "train.keep_best": ("", *KEPT_FIGURES),
        "train.lr_schedule": LR_SCHEDULES,
        "recipe": RECIPES,
    }
    found = known.get(key)
    return tuple(found) if found is not None else None


# -- one field at a time ------------------------------------------------------------------------------------
def show(value: Any) -> str:
    """A value as the command line writes it."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return ",".join(show(v) for v in value)
    if isinstance(value, str):
        return value if value and value.isprintable() else repr(value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def refuse(key: str, value: Any, why: str) -> typing.NoReturn:
    """Raise the one-line ConfigError of option ``key``."""
    raise ConfigError(f"--{key}={show(value)}: {why}")


def optional_type(tp: Any) -> Any | None:
    """X for a hint ``X | None``; None for any other hint."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1 and type(None) in typing.get_args(tp):
            return args[0]
    return None


def _number(key: str, value: Any, tp: type) -> None:
    if isinstance(value, bool) or not isinstance(value, int if tp is int else (int, float)):
        refuse(key, value, "expected an integer" if tp is int else "expected a number")
    if isinstance(value, float) and not math.isfinite(value):
        bound = BOUNDS.get(key)
        refuse(key, value, f"must be a finite number{' ' + bound.text() if bound else ''}")
    bound = BOUNDS.get(key)
    if bound is not None and not bound.holds(value):
        refuse(key, value, f"must be {bound.text()}")


def check_field(key: str, value: Any, tp: Any) -> None:
    """One field's value against its type hint, its bounds and its choices (``key`` is ``section.name``)."""
    inner = optional_type(tp)
    if inner is not None:
        if value is not None:
            check_field(key, value, inner)
        return
    if tp is bool:
        if not isinstance(value, bool):
            refuse(key, value, "expected true or false")
    elif tp in (int, float):
        _number(key, value, tp)
    elif tp is str:
        if not isinstance(value, str):
            refuse(key, value, "expected text")
        allowed = choices(key)
        if allowed is not None and value not in allowed:
            refuse(key, value, f"one of {', '.join(c or repr(c) for c in allowed)}")
    elif typing.get_origin(tp) is list:
        (item,) = typing.get_args(tp) or (str,)
        if not isinstance(value, list):
            refuse(key, value, "expected a comma-separated list")
        for v in value:
            try:
                check_field(key, v, item)
            except ConfigError as err:
                raise ConfigError(f"--{key}={show(value)}: {str(err).split(': ', 1)[-1]}") from None


def check_fields(cfg: RunConfig) -> None:
    """Every field of every section (and the top-level scalars), from the dataclasses' own type hints."""
    for f in dataclasses.fields(RunConfig):
        value = getattr(cfg, f.name)
        if f.name in SECTIONS:
            if not isinstance(value, SECTIONS[f.name]):
                raise ConfigError(f"config section '{f.name}' must be a {SECTIONS[f.name].__name__}")
            hints = typing.get_type_hints(SECTIONS[f.name], localns={})
            for sub in dataclasses.fields(value):
                check_field(f"{f.name}.{sub.name}", getattr(value, sub.name), hints[sub.name])
        else:
            check_field(f.name, value, typing.get_type_hints(RunConfig, localns={})[f.name])


# -- settings that only make sense together -----------------------------------------------------------------
def check_data_fits(cfg: RunConfig) -> None:
    """A fixed-width model (CNN encoder, deconvolutional decoder) needs data.max_len within its width."""
    limit = max_tokens(cfg.model)
    if limit is not None and not 0 < cfg.data.max_len <= limit:
        raise ConfigError(
            f"--data.max_len={cfg.data.max_len}: this model reads and writes at most {limit} tokens (model.seq_len = "
            f"{cfg.model.seq_len} counts <eos>): set data.max_len to at most {limit}, or raise model.seq_len"
        )


def check_averaging(t: TrainConfig) -> None:
    """train.average_from must leave updates to average; average_every must be a positive count."""
    if t.average_from < 0 or (t.average_from and not t.max_steps and t.average_from >= t.epochs):
        raise ConfigError(
            f"--train.average_from={t.average_from:g}: the epoch the weight average starts at, between 0 (off) and "
            f"train.epochs ({t.epochs:g})"
        )
    if t.average_every < 1:
        raise ConfigError(f"--train.average_every={t.average_every}: at least one update between samples")


def check_out(out: str) -> None:
    """The run folder must be a folder, or a path where one can be made (not a file, nor under one)."""
    if not out.strip():
        refuse("train.out", out, "give the run folder")
    path = Path(out).expanduser()
    if path.exists() and not path.is_dir():
        refuse("train.out", out, "is a file, not a folder: the run folder must be a folder or not exist yet")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                refuse("train.out", out, f"{parent} is a file, so no folder can be made under it")
            break


def combinations(cfg: RunConfig) -> None:
    """Settings that only make sense together, refused before any data is read (``validate`` passes the
    resolved copy, so the recipe's knobs take part; a field still None takes part in no check)."""
    t, o, m = cfg.train, cfg.objective, cfg.model
    validate_objective(o)
    validate_model(m)  # a family's impossible shapes (layout.validate_model) say what to change
    check_data_fits(cfg)
    if not t.epochs and not t.max_steps:
        raise ConfigError("--train.epochs=0: with train.max_steps=0 there is nothing to train; give one of them > 0")
    if t.keep_best and not cfg.data.valid:
        raise ConfigError("--train.keep_best needs a validation corpus (data.valid) to choose the weights by")
    if t.aggressive and not cfg.data.valid:
        raise ConfigError(
            "--train.aggressive needs a validation corpus (data.valid): the phase ends when I(x; z) on it falls"
        )
    if t.lr_schedule == "cosine" and t.lr_decay < 1.0:
        raise ConfigError(
            f"--train.lr_decay={t.lr_decay:g}: train.lr_schedule=cosine sets the lr at every step; a plateau decay "
            "(train.lr_decay < 1) would fight it: use one of the two"
        )
    if t.lr_hold and (t.lr_schedule != "cosine" or (not t.max_steps and t.lr_hold >= t.epochs)):
        raise ConfigError(
            f"--train.lr_hold={t.lr_hold:g}: the epochs a cosine holds its lr before falling, so it needs "
            f"train.lr_schedule=cosine and a value between 0 and train.epochs ({t.epochs:g})"
        )
    check_averaging(t)
    if (o.bow or 0) > 0 and m.bow_head is False:
        raise ConfigError(f"--objective.bow={o.bow:g} needs a bag-of-words head: set --model.bow_head=true")
    if m.mu_norm == "batchnorm" and t.bucket_chunk not in (None, 1):
        raise ConfigError(
            f"--train.bucket_chunk={t.bucket_chunk}: model.mu_norm=batchnorm needs random batches "
            "(--train.bucket_chunk=1): statistics of length-sorted batches differ from batch to batch, so no single "
            "set of them describes the data at evaluation"
        )
    if t.init_from and not is_run(t.init_from):
        refuse("train.init_from", t.init_from, "not a run folder (no config.json in it) to start the encoder from")
    if not DEVICE.match(t.device):
        refuse("train.device", t.device, "one of auto, cpu, cuda, cuda:N")
    check_out(t.out)


def validate(cfg: RunConfig) -> None:
    """Refuse a configuration that cannot train, before any work: every field's type, bounds and choices,
    then the settings that only make sense together. Raises ConfigError naming the option."""
    if not isinstance(cfg, RunConfig):
        raise ConfigError(f"expected a RunConfig, not {type(cfg).__name__}")
    check_fields(cfg)
    combinations(resolve(cfg))  # the recipe's knobs filled in: every setting that takes part is known
