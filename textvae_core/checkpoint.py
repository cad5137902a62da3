"""Checkpoints: the weights and resume state of a run folder (its names and JSON: ``rundir``), safe,
atomic and verifiable, never executing code from a file.

- the weights file's header metadata records the step and a SHA-256 of the tensor bytes, so a
  truncated or edited file is refused instead of loaded half-right;
- ``resume-<step>.pt`` holds optimizer and RNG state (tensors and plain containers, read with
  ``weights_only=True``), kept until the next checkpoint is complete.

Every file is replaced by an atomic rename. The weights file is renamed into place only after the
matching resume file exists, so a kill at any instant leaves a consistent, loadable checkpoint.
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from .config import FORMAT_VERSION, ConfigError, RunConfig
from .io import atomic_write, atomic_write_bytes
from .models import SentenceVAE, build_model
from .rundir import (
    AVERAGE_WEIGHTS,
    BEST_WEIGHTS,
    CONFIG,
    EVAL,
    METRICS,
    RESUME_GLOB,
    SETUP,
    VOCAB,
    WEIGHTS,
    CheckpointError,
    check_vocab,
    read_config,
    read_vocab,
    resume_file,
    vocab_digest,
    weights_in_use,
    weights_meta,
)
from .vocab import Vocab

__all__ = [
    "SHIP_DTYPES",
    "CheckpointError",
    "LoadedRun",
    "export_run",
    "load_resume",
    "load_run",
    "read_config",
    "read_weights",
    "save_average",
    "save_best",
    "save_checkpoint",
    "weights_bytes",
]

# Modules that only the training loss reads: a shipped run leaves them out. The bag-of-words head
# (z → vocabulary, Zhao et al. 2017) is a [V, z] layer as large as a small model's decoder, and no
# encoding, decoding or metric of a finished run uses it.
TRAINING_ONLY_PARTS = ("bow_head",)

# How a shipped run may store its weights. float16 halves float32; int8 quarters it for the matrices of
# at least INT8_MIN_NUMEL values (embeddings, recurrences, the output layer: nearly every byte of a
# model), each row scaled by its largest magnitude, with a float32 scale per row beside it (tensor
# "NAME" + "NAME.int8_scale"); vectors and small matrices stay float16. What int8 costs a model's figures:
# docs/CHOICES.md, `int8-shipping`. Loading turns every tensor back into float32.
SHIP_DTYPES = ("float32", "float16", "int8")
INT8_SCALE = ".int8_scale"
INT8_MIN_NUMEL = 4096


def _half(t: torch.Tensor) -> torch.Tensor:
    """float16 for floating tensors; integer ones (step counters) as they are."""
    return t.half() if t.is_floating_point() else t


def quantize_int8(tensors: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], list[str]]:
    """Per-row symmetric int8 of the large floating matrices (the rest in float16), and their names."""
    out: dict[str, torch.Tensor] = {}
    names: list[str] = []
    for name, t in tensors.items():
        if t.is_floating_point() and t.dim() == 2 and t.numel() >= INT8_MIN_NUMEL:
            scale = t.float().abs().amax(dim=1).clamp_min(1e-30) / 127.0
            out[name] = torch.round(t.float() / scale[:, None]).clamp(-127, 127).to(torch.int8)
            out[name + INT8_SCALE] = scale
            names.append(name)
        else:
            out[name] = _half(t)
    return out, names


def _dequantize(tensors: dict[str, torch.Tensor], meta: dict[str, str], path: Path) -> dict[str, torch.Tensor]:
    """Undo quantize_int8 for the tensors the header lists; refuse a file whose int8 parts do not fit."""
    try:
        names = json.loads(meta.get("int8", "[]"))
    except ValueError:
        names = None
    if not isinstance(names, list):
        raise CheckpointError(f"{path}: unreadable list of int8 tensors {meta.get('int8')!r}")
    out = dict(tensors)
    for name in names:
        q, scale = out.pop(name, None), out.pop(f"{name}{INT8_SCALE}", None)
        if q is None or scale is None or q.dtype != torch.int8 or q.dim() != 2 or scale.shape != q.shape[:1]:
            raise CheckpointError(f"{path}: int8 tensor {name!r} or its per-row scale is missing or malformed")
        out[name] = q.float() * scale.float()[:, None]
    stray = [k for k in out if k.endswith(INT8_SCALE)]
    if stray:
        raise CheckpointError(f"{path}: int8 scales {stray} belong to no tensor the header lists")
    return out


def _tensor_digest(blob: bytes) -> str:
    """SHA-256 of the data section of a safetensors blob (everything after the JSON header)."""
    (header_len,) = struct.unpack("<Q", blob[:8])
    return hashlib.sha256(blob[8 + header_len :]).hexdigest()


def weights_bytes(model: SentenceVAE, meta: dict[str, str]) -> bytes:
    """Serialise the weights with metadata that includes the digest of the tensor bytes."""
    return tensors_bytes(model.state_dict(), meta)


def tensors_bytes(tensors: dict[str, torch.Tensor], meta: dict[str, str]) -> bytes:
    """Serialise tensors with metadata that includes the digest of the tensor bytes."""
    tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    meta = {**meta, "format_version": str(FORMAT_VERSION)}
    first = st_save(tensors, metadata=meta)
    # the data section does not depend on the metadata, so its digest can go into a second header
    return st_save(tensors, metadata={**meta, "tensor_sha256": _tensor_digest(first)})


def read_weights(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Tensors and metadata of a weights file, after checking its integrity (int8 tensors dequantized)."""
    try:
        blob = Path(path).read_bytes()
    except FileNotFoundError:
        raise CheckpointError(f"{path}: weights file missing (was the run saved?)") from None
    if len(blob) < 8:
        raise CheckpointError(f"{path}: truncated weights file ({len(blob)} bytes)")
    (header_len,) = struct.unpack("<Q", blob[:8])
    if header_len > len(blob) - 8:
        raise CheckpointError(f"{path}: truncated weights file (header says {header_len} bytes)")
    try:
        meta = json.loads(blob[8 : 8 + header_len]).get("__metadata__") or {}
        tensors = st_load(blob)
    except (SafetensorError, ValueError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{path}: not a readable safetensors file ({err})") from None
    if meta.get("format_version") != str(FORMAT_VERSION):
        raise CheckpointError(
            f"{path}: weights format version {meta.get('format_version')!r}, this textvae_core reads {FORMAT_VERSION}"
        )
    if meta.get("tensor_sha256") != _tensor_digest(blob):
        raise CheckpointError(f"{path}: weights do not match their recorded checksum (file altered or corrupt)")
    if "int8" in meta:
        tensors = _dequantize(tensors, meta, Path(path))
    return tensors, meta


@dataclass
class LoadedRun:
    """What load_run returns: the model (eval mode) and everything needed to use it."""

    path: Path
    config: RunConfig
    vocab: Vocab
    model: SentenceVAE
    step: int
    meta: dict[str, str]


def run_weights(run_dir: Path, cfg: RunConfig) -> Path:
    """The weights a run is used with (rundir.weights_in_use)."""
    return run_dir / weights_in_use(run_dir, cfg.train.keep_best)


def load_run(run_dir: str | Path, device: str | torch.device = "cpu") -> LoadedRun:
    """Rebuild a run's model from its JSON config, then fill in the verified weights (the kept best ones
    under train.keep_best); ``step`` is how far the run trained, whichever step the weights are from."""
    run_dir = Path(run_dir)
    cfg = read_config(run_dir)
    vocab = read_vocab(run_dir)
    path = run_weights(run_dir, cfg)
    tensors, meta = read_weights(path)
    check_vocab(run_dir, vocab, meta, cfg.vocab_size)
    if path.name != WEIGHTS:  # the kept weights' own header says when they were kept; the run went on
        meta = {**meta, "step": weights_meta(run_dir).get("step", meta.get("step", "0"))}
    emb = tensors.get("embedding.weight")
    if emb is not None and emb.shape[0] != len(vocab):
        raise CheckpointError(
            f"{run_dir}: the weights were trained with a {emb.shape[0]}-symbol vocabulary, "
            f"vocab.json has {len(vocab)}: they come from different runs"
        )
    try:
        model = build_model(cfg.model, cfg.vocab_size)
    except ConfigError as err:
        raise CheckpointError(f"{run_dir}: config.json describes no model this package builds ({err})") from None
    _drop_parts(model, _declared_dropped(meta, run_dir))
    fit_weights(model, tensors, run_dir)
    model.to(device).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return LoadedRun(run_dir, cfg, vocab, model, int(meta.get("step", 0)), meta)


def fit_weights(model: torch.nn.Module, tensors: dict[str, torch.Tensor], run_dir: Path) -> None:
    """Load ``tensors`` into ``model`` (strictly, onto its device), or a CheckpointError when they do not fit
    it: config.json changed since the weights were written (e.g. model.z_dim), or they come from another run."""
    device = next(iter(model.parameters())).device
    try:
        model.load_state_dict({k: v.to(device) for k, v in tensors.items()}, strict=True)
    except RuntimeError as err:
        first = " ".join(str(err).strip().splitlines()[1:2] or str(err).strip().splitlines()[:1]).strip()
        raise CheckpointError(
            f"{run_dir}: the weights do not fit the architecture in config.json ({first}); was config.json changed "
            "after training?"
        ) from None


def _declared_dropped(meta: dict[str, str], run_dir: Path) -> list[str]:
    """The training-only parts a weights file says it left out (only those may be missing)."""
    try:
        parts = json.loads(meta.get("dropped_parts", "[]"))
    except ValueError:
        parts = None
    if not isinstance(parts, list) or not set(parts) <= set(TRAINING_ONLY_PARTS):
        raise CheckpointError(
            f"{run_dir}: the weights say they leave out {meta.get('dropped_parts')!r}; "
            f"only {list(TRAINING_ONLY_PARTS)} may be left out of a shipped run"
        )
    return parts


def _drop_parts(model: SentenceVAE, parts: list[str]) -> None:
    """Remove training-only modules from a model (it then needs no weights for them)."""
    for name in parts:
        if getattr(model, name, None) is not None:
            setattr(model, name, None)


def save_checkpoint(
    run_dir: Path,
    model: SentenceVAE,
    optimizer: torch.optim.Optimizer,
    state: dict[str, Any],
    extra: dict[str, Any] | None = None,
) -> None:
    """Write resume state (with ``extra``, e.g. the lr scheduler's), then weights, atomically; then drop
    resume files of older steps."""
    run_dir = Path(run_dir)
    step = int(state["step"])
    resume = resume_file(run_dir, step)
    payload = {**(extra or {}), "optimizer": optimizer.state_dict(), "rng_cpu": torch.get_rng_state(), "state": state}
    if torch.cuda.is_available():
        payload["rng_cuda"] = torch.cuda.get_rng_state_all()
    atomic_write(resume, lambda p: torch.save(payload, p))
    atomic_write_bytes(run_dir / WEIGHTS, weights_bytes(model, _state_meta(state) | _vocab_meta(run_dir)))
    for old in run_dir.glob(RESUME_GLOB):
        if old != resume:
            old.unlink(missing_ok=True)


def _state_meta(state: dict[str, Any]) -> dict[str, str]:
    return {k: json.dumps(v) if not isinstance(v, str) else v for k, v in state.items()}


def _vocab_meta(run_dir: Path) -> dict[str, str]:
    """The checksum of the run's vocab.json, bound into the weights' header (rundir.check_vocab)."""
    return {"vocab_sha256": vocab_digest(read_vocab(run_dir))} if (Path(run_dir) / VOCAB).exists() else {}


def _averaged_meta(count: int, state: dict[str, Any]) -> dict[str, str]:
    return {"averaged": json.dumps({"count": int(count), "step": int(state["step"])})} if count else {}


def save_best(
    run_dir: Path, model: SentenceVAE, state: dict[str, Any], by: str, value: float, averaged: int = 0
) -> None:
    """The weights of a new best validation figure ``by`` (train.keep_best), atomically, with what kept
    them ("kept" in the header: the figure, its value and the step; "averaged" when they are a weight
    average of that many samples)."""
    kept = {"by": by, "step": int(state["step"]), "value": round(float(value), 4)}
    meta = _state_meta(state) | {"kept": json.dumps(kept)} | _averaged_meta(averaged, state) | _vocab_meta(run_dir)
    atomic_write_bytes(Path(run_dir) / BEST_WEIGHTS, weights_bytes(model, meta))


def save_average(run_dir: Path, model: SentenceVAE, state: dict[str, Any], count: int) -> None:
    """The weight average (train.average_from) as the run now uses it, atomically; "averaged" in the
    header says of how many samples."""
    meta = _state_meta(state) | _averaged_meta(count, state) | _vocab_meta(run_dir)
    atomic_write_bytes(Path(run_dir) / AVERAGE_WEIGHTS, weights_bytes(model, meta))


def export_run(src: str | Path, dst: str | Path, dtype: str = "float16") -> Path:
    """Copy a finished run for shipping: JSON files as they are, weights in ``dtype`` (SHIP_DTYPES:
    float16 halves them, int8 quarters the large matrices; loading turns them back into float32) without
    the training-only parts (recorded as ``dropped_parts`` in the header, so loading knows they are meant
    to be missing), and no resume state. Such a run is for encoding, decoding and evaluation; it cannot
    be trained further. A run trained with train.keep_best ships its kept weights, the header saying
    which validation kept them ("kept") beside how far the run trained ("step")."""
    if dtype not in SHIP_DTYPES:
        raise ConfigError(f"ship dtype {dtype!r}: one of {', '.join(SHIP_DTYPES)}")
    src, dst = Path(src), Path(dst)
    run = load_run(src)
    dst.mkdir(parents=True, exist_ok=True)
    for name in (CONFIG, SETUP, VOCAB, METRICS, EVAL):
        if (src / name).exists():
            atomic_write_bytes(dst / name, (src / name).read_bytes())
    dropped = sorted(
        set(_declared_dropped(run.meta, src))
        | {p for p in TRAINING_ONLY_PARTS if getattr(run.model, p, None) is not None}
    )
    _drop_parts(run.model, dropped)
    tensors = run.model.state_dict()
    quantized: list[str] = []
    if dtype == "int8":
        tensors, quantized = quantize_int8(tensors)
    elif dtype == "float16":
        tensors = {k: _half(v) for k, v in tensors.items()}
    drop_keys = {"format_version", "tensor_sha256", "dropped_parts", "int8"}
    meta = {k: v for k, v in run.meta.items() if k not in drop_keys} | {"dtype": dtype}  # kept weights: "kept" too
    meta["vocab_sha256"] = vocab_digest(run.vocab)
    meta |= ({"dropped_parts": json.dumps(dropped)} if dropped else {}) | (
        {"int8": json.dumps(quantized)} if quantized else {}
    )
    atomic_write_bytes(dst / WEIGHTS, tensors_bytes(tensors, meta))
    return dst


def load_resume(run_dir: Path, step: int) -> dict[str, Any]:
    """Optimizer and RNG state saved with the weights of ``step`` (tensors only, no code)."""
    path = resume_file(run_dir, step)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: resume state for step {step} is missing") from None
    except Exception as err:
        raise CheckpointError(f"{path}: unreadable resume state ({type(err).__name__}: {err})") from None
