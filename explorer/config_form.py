"""The Training page's form, generated from the RunConfig dataclasses: one widget per field, so a field added to
textvae_core/config.py appears on the page (in "All options", under its section) without a line written here.

- :func:`field_specs` — every field as a :class:`FieldSpec`: its widget kind from the type hint (bool → a
  checkbox, int / float → a number box, text with known choices → a select box, other text → a text box, a
  list → "1,2,4" text), whether it may be left to the default (``X | None``), its choices, bounds and help
  (the field's comment, as on the command line);
- :func:`starting_config` / :func:`like_run` — the configuration the widgets start from: the defaults with an
  objective preset and a model size, or a run already here trained on another corpus;
- :func:`build` — the widgets' values on top of it and the corpus (the recipe fills what is left unset); the page then hands the
  RunConfig to the job queue, which validates it (textvae_core.validation) and trains it with ``--config``.
"""

from __future__ import annotations

import copy
import dataclasses
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textvae_core.cli import CLIError, field_comments, parse_value
from textvae_core.config import SECTIONS, SIZES, RunConfig
from textvae_core.objectives import preset
from textvae_core.recipe import derived
from textvae_core.validation import BOUNDS, choices, optional_type, show

DEFAULT = "default"  # what an optional field shows when left to the default (or to the recipe)
# Set elsewhere on the page: the corpus (data.train / valid / test / format), the run name (train.out), the
# objective preset (objective.name); no progress bar in a job's log.
SET_BY_PAGE = ("data.train", "data.valid", "data.test", "data.format", "train.out", "train.progress", "objective.name",
               "vocab_size", "format_version")  # fmt: skip
# The knobs shown up front, in this order; every other field is under "All options".
COMMON = {
    "objective": ("m", "schedule", "beta", "warmup_epochs", "C", "alpha", "free_bits"),
    "run": ("recipe",),  # RunConfig's own fields (a recipe the defaults come from, where there is one)
    "model": ("encoder", "decoder", "latent", "z_mode", "dropout", "tie_embeddings"),
    "train": ("epochs", "batch_size", "lr", "word_dropout", "device", "num_threads", "keep_best", "aggressive",
              "lr_schedule", "lr_final", "lr_hold", "lr_decay", "average_from", "average_every"),
}  # fmt: skip
LABELS = {  # display names of the common knobs (any other field is labelled by its option, e.g. train.seed)
    "objective.m": "m (extra reconstructions)",
    "objective.schedule": "β schedule",
    "objective.beta": "β_max",
    "objective.warmup_epochs": "Warm-up (epochs)",
    "objective.C": "C (nats; empty: none)",
    "objective.alpha": "α (Hybrid: D_aux weight)",
    "objective.free_bits": "Free bits λ (nats/dim)",
    "model.encoder": "Encoder",
    "model.decoder": "Decoder",
    "model.latent": "Latent",
    "model.z_mode": "z in decoder",
    "model.dropout": "Decoder dropout",
    "model.tie_embeddings": "Tied output",
    "train.epochs": "Epochs",
    "train.batch_size": "Batch size",
    "train.lr": "Learning rate",
    "train.word_dropout": "Word dropout",
    "train.device": "Device",
    "train.num_threads": "CPU threads",
    "train.keep_best": "Weights to keep",
    "train.aggressive": "Aggressive",
    "train.lr_schedule": "LR schedule",
    "train.lr_final": "Final LR (cosine)",
    "train.lr_hold": "Hold (epochs, cosine)",
    "train.lr_decay": "Decay × on a plateau",
    "train.average_from": "Average weights from (epoch)",
    "train.average_every": "… one sample every (updates)",
}
CHOICE_LABELS = {"train.keep_best": {"": "the last step's", "rec": "best valid D", "nll_bound": "best valid −ELBO"}}


@dataclass(frozen=True)
class FieldSpec:
    """One config field as the form draws it."""

    key: str  # section.name, as on the command line
    kind: str  # bool | int | float | choice | text | list
    optional: bool  # typed X | None: None means "the default (or the recipe) decides"
    help: str  # the field's comment in config.py
    hint: Any  # the type hint (lists are parsed with it)
    choices: tuple[str, ...] = ()
    low: float | None = None  # the number box's bounds, where the field's own bounds include them
    high: float | None = None

    @property
    def section(self) -> str:
        """The config section, or "run" for RunConfig's own fields."""
        return self.key.partition(".")[0] if "." in self.key else "run"

    @property
    def label(self) -> str:
        return LABELS.get(self.key, self.key)

    @property
    def common(self) -> bool:
        return self.key.rpartition(".")[2] in COMMON.get(self.section, ())


def _spec(key: str, hint: Any, help_text: str) -> FieldSpec:
    inner = optional_type(hint)
    tp = inner if inner is not None else hint
    bound = BOUNDS.get(key)
    low = bound.low if bound and bound.low is not None and not bound.low_open and not bound.zero_off else None
    high = bound.high if bound and bound.high is not None and not bound.high_open else None
    if tp is bool:
        kind = "bool"
    elif tp in (int, float):
        kind = tp.__name__
    elif typing.get_origin(tp) is list:
        kind = "list"
    else:
        kind = "choice" if choices(key) is not None else "text"
    return FieldSpec(key, kind, inner is not None, help_text, hint, choices(key) or (), low, high)


def field_specs() -> list[FieldSpec]:
    """Every field the form offers: RunConfig's own scalars (a top-level choice such as a recipe), then every
    field of every section, in the dataclasses' order."""
    hints, comments = typing.get_type_hints(RunConfig, localns={}), field_comments(RunConfig)
    out = [
        _spec(f.name, hints[f.name], comments.get(f.name, ""))
        for f in dataclasses.fields(RunConfig)
        if f.name not in SECTIONS and f.name not in SET_BY_PAGE
    ]
    for section, cls in SECTIONS.items():
        hints, comments = typing.get_type_hints(cls, localns={}), field_comments(cls)
        for f in dataclasses.fields(cls):
            key = f"{section}.{f.name}"
            if key not in SET_BY_PAGE:
                out.append(_spec(key, hints[f.name], comments.get(f.name, "")))
    return out


def common_specs() -> list[FieldSpec]:
    """The knobs shown up front, in COMMON's order."""
    specs = {s.key: s for s in field_specs()}
    keys = [name if sec == "run" else f"{sec}.{name}" for sec, names in COMMON.items() for name in names]
    return [specs[k] for k in keys if k in specs]


def get(cfg: RunConfig, key: str) -> Any:
    section, _, name = key.rpartition(".")
    return getattr(getattr(cfg, section) if section else cfg, name)


def put(cfg: RunConfig, key: str, value: Any) -> None:
    section, _, name = key.rpartition(".")
    setattr(getattr(cfg, section) if section else cfg, name, value)


def text_of(spec: FieldSpec, value: Any) -> str:
    """A list (or an optional value) as the form's text box shows it."""
    if isinstance(value, str):
        return value
    return "" if value is None else show(value)


def read_text(spec: FieldSpec, text: str) -> Any:
    """A text box's value as the field's type ("1,2,4" → [1, 2, 4]); a CLIError naming the option if it is not."""
    if spec.optional and not text.strip():
        return None
    return parse_value(text, spec.hint, f"--{spec.key}")


# -- what the widgets start from --------------------------------------------------------------------------
def starting_config(objective: str = "beta-c", size: str = "small") -> RunConfig:
    """The defaults with an objective preset's knobs and a named model size."""
    cfg = RunConfig(objective=preset(objective))
    for key, value in SIZES[size].items():
        setattr(cfg.model, key, value)
    return cfg


def count_lines(path: str) -> int:
    """Non-empty lines of a corpus file (0 when it cannot be read); a relative path may be the repository's."""
    from textvae_core.paths import ROOT

    for candidate in (Path(path), ROOT / path):
        try:
            with open(candidate, "rb") as f:
                return sum(1 for line in f if line.strip())
        except OSError:
            continue
    return 0


def epoch_ratio(old_train: str, new_train: str, batch_size: int) -> float | None:
    """Steps per epoch on ``new_train`` over those on ``old_train`` at one batch size: a warm-up set in steps
    (two epochs of PTB for the β_C ramp) keeps its length in epochs on another corpus. None: unknown / same."""
    old, new = count_lines(old_train), count_lines(new_train)
    if not old or not new or old == new:
        return None
    steps = max(1, batch_size)
    return -(-new // steps) / -(-old // steps)


def like_run(base: RunConfig, train_file: str) -> RunConfig:
    """A run's configuration to train again on the corpus ``train_file``: nothing of its own stopping (steps,
    minutes) or initialisation carried over, warm-ups set in steps kept as long in epochs on this corpus."""
    cfg = copy.deepcopy(base)
    cfg.train.max_steps, cfg.train.max_minutes, cfg.train.init_from, cfg.vocab_size = 0, 0.0, "", 0
    for key in derived(base):  # what the recipe computed from C or the epochs is computed again for this run's
        section, name = key.split(".")
        setattr(getattr(cfg, section), name, None)
    scale = epoch_ratio(base.data.train, train_file, base.train.batch_size)
    o = cfg.objective
    if scale is not None and o.C_warmup_steps:
        o.C_warmup_steps = max(1, round(o.C_warmup_steps * scale))
    if scale is not None and o.warmup_steps:
        o.warmup_steps = max(1, round(o.warmup_steps * scale))
    return cfg


def build(start: RunConfig, values: dict[str, Any], corpus: dict[str, str], fmt: str) -> RunConfig:
    """The run's configuration: ``start``, the widgets' ``values`` ({section.name: value}), then the corpus."""
    cfg = copy.deepcopy(start)
    for key, value in values.items():
        put(cfg, key, value)
    for split in ("train", "valid", "test"):
        setattr(cfg.data, split, corpus.get(split, ""))
    cfg.data.format = fmt
    return cfg


def with_capacity(cfg: RunConfig, c: float) -> RunConfig:
    """One run of a C sweep: the same configuration with capacity ``c``."""
    cfg = copy.deepcopy(cfg)
    cfg.objective.C = float(c)
    return cfg


__all__ = ["CLIError", "FieldSpec", "build", "common_specs", "field_specs", "like_run", "starting_config"]
