"""A run directory's files and what can be read from them without torch: the names, the config
(JSON) and the weights' recorded digest (the safetensors header). The app lists runs and keys its
caches with these alone, so its first page draws before torch is imported.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

from .config import ConfigError, RunConfig

WEIGHTS = "model.safetensors"
CONFIG = "config.json"
VOCAB = "vocab.json"
METRICS = "metrics.jsonl"


class CheckpointError(ValueError):
    """A run directory or checkpoint file that cannot be loaded; the message says why."""


def weights_digest(run_dir: str | Path) -> str:
    """The recorded SHA-256 of a run's tensors, from the file header alone (cheap: tells two weight sets apart)."""
    path = Path(run_dir) / WEIGHTS
    try:
        with open(path, "rb") as f:
            (header_len,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(min(header_len, 1 << 24)))
    except (OSError, struct.error, ValueError, UnicodeDecodeError):
        return ""
    return str((header.get("__metadata__") or {}).get("tensor_sha256", ""))


def read_config(run_dir: str | Path) -> RunConfig:
    """The run's config from JSON alone (no weights read) — what the app lists runs with."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise CheckpointError(f"{run_dir}: no such run directory")
    try:
        return RunConfig.load(run_dir / CONFIG)
    except (ConfigError, TypeError) as err:
        raise CheckpointError(f"{run_dir}: {err}") from None
