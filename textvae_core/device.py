"""Device choice shared by training, inference and the app, and the mixed-precision context."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

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


def cpu_has_bf16() -> bool:
    """True when the CPU multiplies bf16 matrices natively (AVX-512 BF16 or AMX): only there is a
    bf16 CPU path faster than fp32; elsewhere bf16 is emulated and slower."""
    cpu = getattr(torch, "cpu", None)
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(cpu, name, lambda: False)()) for name in checks)


@contextlib.contextmanager
def bf16_matmul(device: torch.device, enabled: bool = True) -> Iterator[None]:
    """fp32 tensors throughout, but oneDNN computes the CPU's fp32 matrix products in bf16 (fp32 in, out and
    accumulated; where the CPU has no native bf16 it keeps fp32). Unlike autocast nothing is cast outside the
    product, so the small per-step products of a recurrent cell gain too (docs/BENCHMARKS.md). The setting is
    global to the process: restored on exit."""
    if not enabled or device.type != "cpu":
        yield
        return
    matmul = torch.backends.mkldnn.matmul
    before, matmul.fp32_precision = matmul.fp32_precision, "bf16"
    try:
        yield
    finally:
        matmul.fp32_precision = before


def autocast(device: torch.device, enabled: bool = True) -> contextlib.AbstractContextManager:
    """bfloat16 autocast for a forward pass: on CUDA always, on the CPU where it is native.

    Weights and optimizer state stay fp32; sums over a sentence (the loss, KL) are taken in fp32
    by the model, so only the matrix products and the recurrent cells run in bf16.
    """
    if not enabled:
        return contextlib.nullcontext()
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    if device.type == "cpu" and cpu_has_bf16():
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()
