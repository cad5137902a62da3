"""Aggressive encoder updates (He et al. 2019, "Lagging inference networks"), for the Trainer.

Early in training the decoder changes faster than the encoder can follow, so q(z|x) lags the true
posterior and the model settles where z says nothing (posterior collapse). In the aggressive phase, each
training step is preceded by updates of the encoder alone, on fresh random batches, until the encoder's
loss stops falling; the step itself then updates the decoder alone. The phase ends at the first validation
whose I(x; z) is lower than the one before, after which training is the usual joint update.

The encoder side is everything q(z|x) depends on (each model names it: ``INFERENCE_PARTS``): the word
embedding (shared with the decoder's inputs here, so during the phase it moves only with the encoder), the
encoder, a learned scale of μ, and a ladder's bottom-up path. One Adam
keeps both sides' moments: a side whose gradients are dropped (set to None) is not stepped. ``Phase`` is
the piece the Trainer asks whether the phase is on and tells each scheduled validation's I(x; z).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import torch

CHECK_EVERY = 15  # encoder-only updates between two looks at their loss (the paper's 15)


def encoder_side(model: torch.nn.Module) -> tuple[list[torch.nn.Parameter], list[torch.nn.Parameter]]:
    """(the encoder side's parameters, the rest): what the inner updates step, and what the step itself does.
    The encoder side is what the model names as q(z|x)'s (``INFERENCE_PARTS``: a ladder adds its bottom-up path)."""
    prefixes = tuple(model.INFERENCE_PARTS)
    enc, dec = [], []
    for name, p in model.named_parameters():
        (enc if name.startswith(prefixes) else dec).append(p)
    return enc, dec


def drop_grads(params: list[torch.nn.Parameter]) -> None:
    """Leave these parameters out of the next optimizer step (Adam skips parameters without a gradient)."""
    for p in params:
        p.grad = None


def random_batches(n: int, batch_size: int, seed: int) -> Iterator[list[int]]:
    """Endless random batches of sentence indices, the same on every rank (seeded by the step)."""
    gen = torch.Generator().manual_seed(seed)
    while True:
        yield torch.randperm(n, generator=gen)[:batch_size].tolist()


def encoder_updates(
    update: Callable[[list[int]], tuple[float, int]],
    first: list[int],
    more: Iterator[list[int]],
    max_updates: int,
) -> int:
    """Update the encoder alone, first on the step's own batch, then on ``more``, until the loss per target
    token of the last CHECK_EVERY updates is no lower than that of the CHECK_EVERY before, or after
    ``max_updates``; returns how many were made. ``update(batch)`` makes one and returns (summed loss, tokens)."""
    previous, loss, tokens, done = math.inf, 0.0, 0, 0
    batch = first
    while done < max_updates:
        batch_loss, batch_tokens = update(batch)
        loss, tokens, done = loss + batch_loss, tokens + batch_tokens, done + 1
        if done % CHECK_EVERY == 0:
            current = loss / max(tokens, 1)
            if current >= previous:
                break
            previous, loss, tokens = current, 0.0, 0
        batch = next(more)
    return done


def phase_goes_on(previous_mi: float | None, mi: float) -> bool:
    """The aggressive phase ends at the first validation whose I(x; z) falls below the previous one's."""
    return previous_mi is None or mi >= previous_mi


class Phase:
    """Whether the aggressive phase is on, and the I(x; z) of its last validation; saved with every
    checkpoint under ``Phase.KEY``, so a phase that ended stays over on resume whatever the config says."""

    KEY = "aggressive"  # its entry in a resume file

    def __init__(self, on: bool) -> None:
        self.on = on  # train.aggressive at the start; False for good once it ended
        self.mi: float | None = None  # I(x; z) on the validation split at the last validation of the phase

    def after_validation(self, mi: float) -> dict[str, float] | None:
        """Note a scheduled validation's I(x; z); end the phase when it fell (``phase_goes_on``). Returns the
        two figures that ended it, or None while it goes on."""
        previous, self.mi = self.mi, mi
        if previous is None or phase_goes_on(previous, mi):
            return None
        self.on = False
        return {"mi": round(mi, 4), "previous_mi": round(previous, 4)}

    def state_dict(self) -> dict[str, Any]:
        return {"on": self.on, "mi": self.mi}

    def load_state_dict(self, saved: dict[str, Any]) -> None:
        self.on, self.mi = bool(saved.get("on", False)), saved.get("mi")
