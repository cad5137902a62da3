"""Finding runs on disk and summarising them from their JSON files alone (no weights loaded)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from textvae_core.checkpoint import METRICS, WEIGHTS, CheckpointError, read_config
from textvae_core.config import RunConfig


@dataclass
class RunSummary:
    path: Path
    config: RunConfig
    last_valid: dict[str, float] | None  # the newest validation record of metrics.jsonl, if any
    has_weights: bool

    @property
    def name(self) -> str:
        return self.path.name

    def row(self) -> dict[str, object]:
        """One table row: architecture, objective knobs, size and headline held-out figures."""
        m, o = self.config.model, self.config.objective
        v = self.last_valid or {}
        return {
            "run": self.name,
            "encoder": m.encoder,
            "decoder": m.decoder,
            "objective": o.name,
            "m": o.m,
            "β": o.beta,
            "schedule": o.schedule,
            "C": o.C,
            "emb/hidden/z": f"{m.emb_dim}/{m.hidden}/{m.z_dim}",
            "vocab": self.config.vocab_size,
            "valid KL": v.get("kl"),
            "valid D": v.get("rec"),
            "valid −ELBO": v.get("nll_bound"),
            "step": v.get("step"),
        }


def last_validation(run_dir: Path) -> dict[str, float] | None:
    path = run_dir / METRICS
    if not path.exists():
        return None
    last = None
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if '"valid"' in line:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by a killed run
            if record.get("split") == "valid":
                last = record
    return last


def find_runs(*roots: str | Path) -> tuple[list[RunSummary], list[str]]:
    """Every run folder (one holding config.json) under the roots, and a warning per broken one."""
    runs, warnings = [], []
    for root in roots:
        root = Path(root)
        if not root.is_dir():
            continue
        for cfg_path in sorted(root.rglob("config.json")):
            run_dir = cfg_path.parent
            try:
                cfg = read_config(run_dir)
            except CheckpointError as err:
                warnings.append(f"skipped {run_dir}: {err}")
                continue
            if not (run_dir / WEIGHTS).exists():
                warnings.append(f"{run_dir}: no weights yet (training not checkpointed)")
            runs.append(RunSummary(run_dir, cfg, last_validation(run_dir), (run_dir / WEIGHTS).exists()))
    return runs, warnings
