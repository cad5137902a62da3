"""A run directory's files and what can be read from them without torch: the names, the config
(JSON) and the weights' recorded digest (the safetensors header). The app lists runs and keys its
caches with these alone, so its first page draws before torch is imported.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

from .config import ConfigError, RunConfig
from .io import atomic_write_bytes

WEIGHTS = "model.safetensors"
CONFIG = "config.json"
VOCAB = "vocab.json"
METRICS = "metrics.jsonl"


class CheckpointError(ValueError):
    """A run directory or checkpoint file that cannot be loaded; the message says why."""


def weights_header(run_dir: str | Path) -> dict[str, str]:
    """The metadata in a run's weights header (step, epoch, tensor SHA-256, …), without reading the tensors;
    {} when there are no readable weights."""
    path = Path(run_dir) / WEIGHTS
    try:
        with open(path, "rb") as f:
            (header_len,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(min(header_len, 1 << 24)))
    except (OSError, struct.error, ValueError, UnicodeDecodeError):
        return {}
    return {str(k): str(v) for k, v in (header.get("__metadata__") or {}).items()}


def weights_digest(run_dir: str | Path) -> str:
    """The recorded SHA-256 of a run's tensors, from the file header alone (cheap: tells two weight sets apart)."""
    return weights_header(run_dir).get("tensor_sha256", "")


def read_config(run_dir: str | Path) -> RunConfig:
    """The run's config from JSON alone (no weights read) — what the app lists runs with."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise CheckpointError(f"{run_dir}: no such run directory")
    try:
        return RunConfig.load(run_dir / CONFIG)
    except (ConfigError, TypeError) as err:
        raise CheckpointError(f"{run_dir}: {err}") from None


def coarsen_metrics(lines: list[str], every: int, digits: int = 6) -> list[dict]:
    """Training records averaged over windows of ``every`` steps; validation and event records kept.

    Shipped runs keep their curves at a tenth of the size: each window's figures are weighted by
    the steps each record already covers (a record at step s after one at step p stands for s − p
    steps), so a mean over any span of whole windows equals the per-step mean, and the result is
    what training with ``log_every = every`` would have written. Numbers keep ``digits``
    significant digits; unreadable lines are dropped.
    """
    if every < 1:
        raise ValueError(f"every must be ≥ 1, not {every}")
    out: list[dict] = []
    window: list[tuple[int, dict]] = []  # (steps covered, record)
    prev_step = 0

    def flush() -> None:
        if not window:
            return
        total = sum(w for w, _ in window)
        last = window[-1][1]
        merged: dict = {"step": last["step"], "epoch": last.get("epoch"), "split": "train"}
        for key in last:
            if key in merged or not all(isinstance(r.get(key), (int, float)) for _, r in window):
                continue
            merged[key] = sum(w * r[key] for w, r in window) / total
        if total > 1:
            merged["steps_averaged"] = total
        out.append(merged)
        window.clear()

    for line in lines:
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        if not isinstance(rec, dict) or not isinstance(rec.get("step"), int):
            continue
        if rec.get("split") != "train" or "event" in rec:
            flush()
            out.append(rec)
            continue
        if window and (rec["step"] - 1) // every != (window[-1][1]["step"] - 1) // every:
            flush()
        covered = int(rec.get("steps_averaged", max(1, rec["step"] - prev_step)))
        window.append((covered, rec))
        prev_step = rec["step"]
    flush()
    return [{k: _round(v, digits) for k, v in r.items()} for r in out]


def _round(value: object, digits: int) -> object:
    if isinstance(value, float) and value == value and abs(value) != float("inf"):
        return float(f"{value:.{digits}g}")
    return value


def thin_metrics(run_dir: str | Path, every: int = 10) -> tuple[int, int]:
    """Rewrite a finished run's metrics.jsonl with :func:`coarsen_metrics` (atomically); returns the
    sizes in bytes before and after. Shipping does this: per-step curves are most of a small run's size."""
    path = Path(run_dir) / METRICS
    before = path.read_bytes()
    records = coarsen_metrics(before.decode("utf-8", errors="replace").splitlines(), every)
    after = "".join(json.dumps(r) + "\n" for r in records).encode("utf-8")
    atomic_write_bytes(path, after)
    return len(before), len(after)
