"""textvae_core: sentence VAEs, the m / β / C objective family, training, checkpoints and decoding.

No Streamlit here: the app (``explorer/``, ``pages/``) builds on this package, never the reverse.
Names are imported on first use (PEP 562), so ``import textvae_core.config`` or reading a run's JSON
does not pay for importing torch; ``from textvae_core import TextVAE`` works as usual.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_HOME = {  # public name → the module that defines it
    "CheckpointError": "rundir",
    "read_config": "rundir",
    "LoadedRun": "checkpoint",
    "load_run": "checkpoint",
    "FORMAT_VERSION": "config",
    "ConfigError": "config",
    "DataConfig": "config",
    "ModelConfig": "config",
    "ObjectiveConfig": "config",
    "RunConfig": "config",
    "TrainConfig": "config",
    "CorpusError": "corpus",
    "read_corpus": "corpus",
    "DecodeConfig": "decoding",
    "Encoded": "inference",
    "InputError": "inference",
    "Reconstruction": "inference",
    "TextVAE": "inference",
    "PRESETS": "objectives",
    "beta_at": "objectives",
    "objective_terms": "objectives",
    "preset": "objectives",
    "Vocab": "vocab",
    "Trainer": "trainer",
    "TrainState": "trainer",
}

__all__ = [  # the keys of _HOME, spelled out for linters and type checkers
    "FORMAT_VERSION",
    "PRESETS",
    "CheckpointError",
    "ConfigError",
    "CorpusError",
    "DataConfig",
    "DecodeConfig",
    "Encoded",
    "InputError",
    "LoadedRun",
    "ModelConfig",
    "ObjectiveConfig",
    "Reconstruction",
    "RunConfig",
    "TextVAE",
    "TrainConfig",
    "TrainState",
    "Trainer",
    "Vocab",
    "beta_at",
    "load_run",
    "objective_terms",
    "preset",
    "read_config",
    "read_corpus",
]


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_HOME[name]}", __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOME])


if TYPE_CHECKING:  # what type checkers and IDEs see
    from .checkpoint import LoadedRun, load_run
    from .config import (
        FORMAT_VERSION,
        ConfigError,
        DataConfig,
        ModelConfig,
        ObjectiveConfig,
        RunConfig,
        TrainConfig,
    )
    from .corpus import CorpusError, read_corpus
    from .decoding import DecodeConfig
    from .inference import Encoded, InputError, Reconstruction, TextVAE
    from .objectives import PRESETS, beta_at, objective_terms, preset
    from .rundir import CheckpointError, read_config
    from .trainer import Trainer, TrainState
    from .vocab import Vocab
