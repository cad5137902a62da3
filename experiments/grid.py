"""The experiment grid (``grid.toml`` beside this file): the runs shipped in checkpoints/, by group.

``experiments/train_grid.py`` trains, ships and evaluates them; the reproduction report asks it which runs
a claim needs (``runs_of("sweep-lstm")``). Reading the grid needs no torch; a run's RunConfig does
(its objective comes from a preset).
"""

from __future__ import annotations

import functools
import math
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textvae_core.config import SECTIONS, ConfigError, RunConfig
from textvae_core.corpus import read_corpus
from textvae_core.paths import repo_path

GRID_FILE = Path(__file__).with_name("grid.toml")
SECTION_KEYS = ("model", "train", "data")


@dataclass(frozen=True)
class GridRun:
    name: str
    group: str
    objective: str  # preset name
    knobs: dict[str, Any] = field(default_factory=dict)  # ObjectiveConfig fields on top of the preset
    model: dict[str, Any] = field(default_factory=dict)
    train: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    evaluation: dict[str, Any] = field(default_factory=dict)  # EvalConfig fields on top of the profile
    ship_dtype: str = "float16"  # how --ship stores its weights: float16 | int8 (checkpoint.SHIP_DTYPES)
    recipe: str = "auto"  # RunConfig.recipe: plain where a group reproduces a paper as printed

    def config(self, device: str = "auto", threads: int = 0) -> RunConfig:
        """The run's RunConfig, resolved (its recipe's knobs set), with its output folder checkpoints/NAME
        (relative to the repository root)."""
        from textvae_core.objectives import preset
        from textvae_core.recipe import resolve
        from textvae_core.validation import validate

        cfg = RunConfig(objective=preset(self.objective, **self.knobs), recipe=self.recipe)
        for section in SECTION_KEYS:
            for k, v in getattr(self, section).items():
                setattr(getattr(cfg, section), k, v)
        cfg.train.out = f"checkpoints/{self.name}"
        cfg.train.progress, cfg.train.device, cfg.train.num_threads = True, device, threads
        cfg = resolve(cfg)
        validate(cfg)  # a grid entry out of bounds is refused when the grid is read, not when its turn comes
        return cfg

    def value(self, knob: str) -> Any:
        return self.knobs.get(knob)


def _merge(*tables: dict[str, Any]) -> dict[str, Any]:
    """Later tables win, key by key; the section tables (model, train, data, knobs, evaluation) merge inside."""
    out: dict[str, Any] = {}
    for table in tables:
        for key, value in table.items():
            out[key] = {**out.get(key, {}), **value} if isinstance(value, dict) and key != "sweep" else value
    return out


def _typed(section: str, values: dict[str, Any]) -> dict[str, Any]:
    """Whole numbers given to float fields become floats (config.json records ``10.0``, not ``10``)."""
    cls = SECTIONS[section]
    hints = typing.get_type_hints(cls)
    unknown = set(values) - set(hints)
    if unknown:
        raise ConfigError(f"{GRID_FILE.name}: unknown {section} keys {sorted(unknown)}")
    out = {}
    for k, v in values.items():
        wants_float = hints[k] is float or hints[k] == (float | None)
        out[k] = float(v) if wants_float and isinstance(v, int) and not isinstance(v, bool) else v
    return out


GRID_SHIP_DTYPES = ("float16", "int8")  # what a grid run may ship as (float32 would not fit checkpoints/)


def _ship_dtype(value: Any, name: str) -> str:
    if value not in GRID_SHIP_DTYPES:
        raise ConfigError(f"{GRID_FILE.name}: run {name}: ship_dtype {value!r}, one of {', '.join(GRID_SHIP_DTYPES)}")
    return str(value)


@functools.cache
def load_grid(path: Path = GRID_FILE) -> tuple[GridRun, ...]:
    """Every run of the grid, in file order (groups in order, runs in order within each)."""
    raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    defaults = raw.get("defaults", {})
    runs: list[GridRun] = []
    for group, spec in raw.get("groups", {}).items():
        base = _merge(defaults, {k: v for k, v in spec.items() if k not in {"runs", "sweep"}})
        entries = list(spec.get("runs", []))
        if "sweep" in spec:
            sweep = spec["sweep"]
            entries += [{"name": sweep["name"].format(value=v), "knobs": {sweep["knob"]: v}} for v in sweep["values"]]
        for entry in entries:
            r = _merge(base, entry)
            runs.append(
                GridRun(
                    name=r["name"],
                    group=group,
                    objective=r["objective"],
                    knobs=_typed("objective", r.get("knobs", {})),
                    model=_typed("model", r.get("model", {})),
                    train=_typed("train", r.get("train", {})),
                    data=_typed("data", r.get("data", {})),
                    evaluation=dict(r.get("evaluation", {})),
                    ship_dtype=_ship_dtype(r.get("ship_dtype", "float16"), r["name"]),
                    recipe=str(r.get("recipe", "auto")),
                )
            )
    names = [r.name for r in runs]
    if len(names) != len(set(names)):
        raise ConfigError(f"{path}: run names must be unique")
    return tuple(runs)


def groups() -> dict[str, list[GridRun]]:
    out: dict[str, list[GridRun]] = {}
    for r in load_grid():
        out.setdefault(r.group, []).append(r)
    return out


def runs_of(group: str) -> list[str]:
    """The run names of one group, in grid order (a sweep's: by its knob's value)."""
    return [r.name for r in groups()[group]]


def find(name: str) -> GridRun:
    for r in load_grid():
        if r.name == name:
            return r
    raise KeyError(name)


def target_steps(cfg: RunConfig) -> int:
    """Optimizer steps a run's config trains for (its max_steps, or its epochs over its training corpus)."""
    d = cfg.data
    n = len(read_corpus(repo_path(d.train), d.level, d.lowercase, d.min_len, d.max_len))
    return cfg.train.max_steps or math.ceil(cfg.train.epochs * math.ceil(n / cfg.train.batch_size))


SHIP_LOG_EVERY = 10  # steps per shipped training-log record (averaged); validation records all kept


def shipped(run_dir: Path, dtype: str | None = None) -> bool:
    """Weights already in ``dtype`` (None: in either shipping dtype) and no resume state left: shipping
    again would change nothing."""
    from textvae_core.rundir import AVERAGE_WEIGHTS, BEST_WEIGHTS, RESUME_GLOB, weights_meta

    stored = weights_meta(run_dir).get("dtype")
    wanted = stored == dtype if dtype else stored in GRID_SHIP_DTYPES
    kept = any((Path(run_dir) / name).exists() for name in (BEST_WEIGHTS, AVERAGE_WEIGHTS))
    return wanted and not any(Path(run_dir).glob(RESUME_GLOB)) and not kept


def ship(run_dir: Path, log_every: int = SHIP_LOG_EVERY, dtype: str = "float16") -> tuple[int, int]:
    """Make a finished run small enough to ship, in place: weights in ``dtype`` (float16 halves them,
    int8 quarters the large matrices; loading turns them back into float32), the training log averaged
    over ``log_every``-step windows (same curves, a tenth of the size), no resume files. Returns the
    training log's size in bytes before and after."""
    import os
    import tempfile

    from textvae_core.checkpoint import export_run
    from textvae_core.rundir import AVERAGE_WEIGHTS, BEST_WEIGHTS, RESUME_GLOB, WEIGHTS, thin_metrics

    run_dir = Path(run_dir)
    with tempfile.TemporaryDirectory(dir=run_dir.parent) as tmp:
        export_run(run_dir, Path(tmp) / "run", dtype=dtype)  # the kept best weights, under train.keep_best
        os.replace(Path(tmp) / "run" / WEIGHTS, run_dir / WEIGHTS)  # atomic
    # training state, kept or averaged weights (shipped now)
    for leftover in [*run_dir.glob(RESUME_GLOB), run_dir / BEST_WEIGHTS, run_dir / AVERAGE_WEIGHTS]:
        leftover.unlink(missing_ok=True)
    return thin_metrics(run_dir, log_every)
