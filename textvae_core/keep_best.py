"""Keeping the best weights (train.keep_best), for the Trainer: after a validation whose figure is lower
than any before, the weights it measured go to best.safetensors, which loading and shipping then use.

The lowest figure so far is this piece's state, saved with every checkpoint under ``KeepBest.KEY``, so a
stopped and resumed run keeps the same best as an unbroken one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from .checkpoint import save_best


class KeepBest:
    """The lowest validation figure ``by`` so far (``rec`` or ``nll_bound``; "" keeps nothing), and its weights."""

    KEY = "keep_best"  # its entry in a resume file

    def __init__(self, run_dir: Path, by: str) -> None:
        self.run_dir, self.by = Path(run_dir), by
        self.value: float | None = None  # the lowest figure so far, whose weights are kept

    def after_validation(
        self, figures: dict[str, float], model: torch.nn.Module, state: dict[str, Any], averaged: int = 0
    ) -> float | None:
        """Keep ``model`` (the weights ``figures`` measured; a mean of ``averaged`` samples, 0: one step's)
        when its figure is a new low; returns that figure, or None when nothing was kept."""
        if not self.by or (self.value is not None and figures[self.by] >= self.value):
            return None
        self.value = float(figures[self.by])
        save_best(self.run_dir, model, state, self.by, self.value, averaged)
        return self.value

    def state_dict(self) -> dict[str, Any]:
        return {"by": self.by, "value": self.value}

    def load_state_dict(self, saved: dict[str, Any]) -> None:
        """The saved low, unless it is another figure's (a run resumed with another train.keep_best starts
        afresh: D and −ELBO are not compared); an entry without ``by`` predates this class and is taken."""
        value = saved.get("value")
        same = saved.get("by") in (None, self.by)
        self.value = float(value) if value is not None and same else None
