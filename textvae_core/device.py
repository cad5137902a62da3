"""Device choice shared by training, inference and the app."""

from __future__ import annotations

import torch

from .config import ConfigError


def pick_device(name: str = "auto") -> torch.device:
    """CUDA when asked for or, with "auto", when present; the CPU otherwise."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r} requested but CUDA is not available on this machine")
    return device
