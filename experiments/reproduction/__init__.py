"""The reproduction report (docs/REPRODUCTION.md) as data: published figures in explorer/published.toml,
each claim one entry in claims.py, judged by engine.py, explained by why.py, written by report.py through
the Jinja2 template report.md.j2. ``python -m experiments.reproduction_report`` runs it."""

from __future__ import annotations

from textvae_core.extras import require

require("lab", "the reproduction report (experiments.reproduction)")

from .report import build, load  # noqa: E402  (after the check: it imports scipy and Jinja2)

__all__ = ["build", "load"]
