"""Training: ``python -m textvae_core.train [--config FILE] [--resume RUN] [--section.key=value ...]``.

Examples::

    python -m textvae_core.train --objective=beta-c --objective.C=15 --out=runs/bc15
    python -m textvae_core.train --objective=autogen --objective.m=2 --size=paper --epochs=10
    python -m textvae_core.train --resume runs/bc15 --epochs=3
"""

from __future__ import annotations

import json
import math
import random
import sys
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from .checkpoint import (
    CONFIG,
    METRICS,
    VOCAB,
    CheckpointError,
    load_resume,
    read_config,
    read_weights,
    save_checkpoint,
)
from .config import ConfigError, RunConfig, TrainConfig, apply_overrides, load_config_file
from .data import Corpus, CorpusError, read_corpus
from .device import pick_device
from .layout import max_tokens
from .metrics import heldout_bounds
from .models import build_model
from .objectives import objective_terms, validate
from .vocab import Vocab, VocabError

LOGGED = ("loss", "rec", "kl", "elbo", "kl_share", "beta", "grad_norm")  # then whatever else objective_terms adds


class TrainingError(RuntimeError):
    """Training stopped; the message says why and what was kept."""


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@dataclass
class TrainResult:
    run_dir: Path
    step: int
    valid: dict[str, float] | None


class MetricsLog:
    """Append-only metrics.jsonl, one flushed JSON line per record."""

    def __init__(self, path: Path, keep_until_step: int | None = None) -> None:
        self.path = path
        if keep_until_step is not None and path.exists():
            # a resumed run replays the steps after its checkpoint: drop their old lines
            kept = [ln for ln in path.read_text(encoding="utf-8").splitlines() if _line_step(ln) <= keep_until_step]
            path.write_text("".join(k + "\n" for k in kept), encoding="utf-8")
        self.fh = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()

    def write(self, record: dict[str, Any]) -> None:
        self.fh.write(json.dumps(record) + "\n")
        self.fh.flush()

    def close(self) -> None:
        self.fh.close()


def _line_step(line: str) -> int:
    try:
        return int(json.loads(line).get("step", 0))
    except (json.JSONDecodeError, AttributeError, ValueError):
        return 1 << 62  # an unreadable (half-written) line is dropped


def plateau_decay(state: dict[str, Any], nll: float, t: TrainConfig, optimizer: torch.optim.Optimizer) -> float:
    """Multiply the learning rate by ``t.lr_decay`` after ``t.lr_patience`` validations without a new
    best −ELBO; the lr, the best figure and the count live in ``state``, so a resumed run goes on alike.
    Returns the lr for the steps that follow."""
    lr = float(state.get("lr", t.lr))
    best = state.get("best_valid_nll")
    if best is None or nll < best:
        state["best_valid_nll"], state["bad_validations"] = float(nll), 0
    else:
        state["bad_validations"] = int(state.get("bad_validations", 0)) + 1
        if state["bad_validations"] >= max(1, t.lr_patience):
            lr, state["bad_validations"] = lr * t.lr_decay, 0
    state["lr"] = lr
    for group in optimizer.param_groups:
        group["lr"] = lr
    return lr


def check_data_fits(cfg: RunConfig) -> None:
    """A fixed-width model (CNN encoder, deconvolutional decoder) needs data.max_len within its width."""
    limit = max_tokens(cfg.model)
    if limit is not None and not 0 < cfg.data.max_len <= limit:
        raise ConfigError(
            f"this model reads and writes at most {limit} tokens (model.seq_len = {cfg.model.seq_len} counts <eos>): "
            f"set data.max_len to at most {limit} (now {cfg.data.max_len or 'unlimited'}), or raise model.seq_len"
        )


def prepare_data(cfg: RunConfig, vocab: Vocab | None = None) -> tuple[Vocab, Corpus, Corpus | None]:
    """Read the training and validation splits; build the vocabulary from training data if needed."""
    d = cfg.data
    if d.level not in {"word", "char"}:
        raise ConfigError(f"data.level must be word or char, not {d.level!r}")
    check_data_fits(cfg)
    train_sents = read_corpus(d.train, d.level, d.lowercase, d.min_len, d.max_len)
    if vocab is None:
        vocab = Vocab.build(train_sents, d.max_vocab, d.min_count, d.level)
    train = Corpus(train_sents, vocab, "train")
    valid = (
        Corpus(read_corpus(d.valid, d.level, d.lowercase, d.min_len, d.max_len), vocab, "valid") if d.valid else None
    )
    return vocab, train, valid


def train(
    cfg: RunConfig,
    resume: bool = False,
    on_log: Callable[[dict[str, Any]], None] | None = None,
) -> TrainResult:
    """Train (or resume) the run ``cfg.train.out``; returns the final step and validation figures.

    ``on_log`` receives every metrics record as it is written (the app's progress bar uses it).
    """
    t = cfg.train
    validate(cfg.objective)
    run_dir = Path(t.out)
    if t.num_threads > 0:
        torch.set_num_threads(t.num_threads)
    device = pick_device(t.device)

    if resume:
        vocab = _load_vocab(run_dir)
        tensors, meta = read_weights(run_dir / "model.safetensors")
        start = json.loads(meta.get("step", "0"))
        saved = load_resume(run_dir, start)
    else:
        if (run_dir / CONFIG).exists():
            raise ConfigError(
                f"{run_dir} already holds a run: resume it with --resume {run_dir}, or pick another --out"
            )
        vocab, tensors, start, saved = None, None, 0, None

    vocab, train_set, valid_set = prepare_data(cfg, vocab)
    cfg.vocab_size = len(vocab)
    seed_everything(t.seed)
    model = build_model(cfg.model, len(vocab)).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=t.lr, fused=True)  # one kernel for all tensors
    state: dict[str, Any] = {"step": 0, "epoch": 0, "batch": 0}
    if resume:
        model.load_state_dict({k: v.to(device) for k, v in tensors.items()})
        optimizer.load_state_dict(saved["optimizer"])
        for group in optimizer.param_groups:  # the configured lr, or where a plateau decay had brought it
            group["lr"] = saved["state"].get("lr", t.lr)
        torch.set_rng_state(saved["rng_cpu"])
        if "rng_cuda" in saved and device.type == "cuda":
            torch.cuda.set_rng_state_all(saved["rng_cuda"])
        state = dict(saved["state"])
    else:
        run_dir.mkdir(parents=True, exist_ok=True)
        vocab.save(run_dir / VOCAB)
    cfg.save(run_dir / CONFIG)  # on resume, records changed training lengths

    n_batches = math.ceil(len(train_set) / t.batch_size)
    total = t.max_steps or math.ceil(t.epochs * n_batches)
    log = MetricsLog(run_dir / METRICS, keep_until_step=start if resume else None)
    amp = torch.autocast("cuda", dtype=torch.bfloat16) if (device.type == "cuda" and t.amp) else nullcontext()
    bar = tqdm(total=total, initial=state["step"], disable=not t.progress, unit="step", dynamic_ncols=True)
    keys: tuple[str, ...] = LOGGED  # extended at the first step by the model's own terms (per-layer KL, D_aux)
    sums = torch.zeros(len(keys))
    n_in_log, tokens, t_log = 0, 0, time.perf_counter()
    valid_figures, marks = None, {"val": -1, "ckpt": -1}

    def checkpoint() -> None:
        save_checkpoint(run_dir, model, optimizer, state)
        marks["ckpt"] = state["step"]

    def run_validation() -> dict[str, float] | None:
        marks["val"] = state["step"]
        if valid_set is None:
            return None
        figures = heldout_bounds(model, valid_set, device, batch_size=max(t.batch_size, 128))
        record = {"step": state["step"], "epoch": state["epoch"], "split": "valid", **figures}
        if t.lr_decay < 1.0:
            record["lr"] = plateau_decay(state, figures["nll_bound"], t, optimizer)
        log.write(record)
        if on_log:
            on_log(record)
        return figures

    model.train()
    try:
        while state["step"] < total:
            order = train_set.batches(
                t.batch_size, shuffle=True, seed=t.seed * 100003 + state["epoch"], chunk=t.bucket_chunk
            )
            for idx in order[state["batch"] :]:
                batch = train_set.batch(idx).to(device)
                with amp:
                    out = model(batch, word_dropout=t.word_dropout, unk_id=vocab.unk_id)
                terms = objective_terms(
                    out.rec.float(), out.kl.float(), cfg.objective, state["step"], out.aux_rec, out.kl_terms
                )
                extra = tuple(k for k in terms if k not in LOGGED)
                if extra and keys == LOGGED:
                    keys, sums = LOGGED + extra, torch.zeros(len(LOGGED) + len(extra))
                optimizer.zero_grad(set_to_none=True)
                terms["loss"].backward()
                params = [p for p in model.parameters() if p.grad is not None]
                gnorm = torch.nn.utils.clip_grad_norm_(params, t.grad_clip if t.grad_clip > 0 else float("inf"))
                values = torch.stack([(gnorm if k == "grad_norm" else terms[k]).detach().float().cpu() for k in keys])
                if not torch.isfinite(values).all():
                    bad = {k: float(v) for k, v in zip(keys, values, strict=True) if not math.isfinite(float(v))}
                    log.write(
                        {
                            "step": state["step"],
                            "split": "train",
                            "event": "non_finite",
                            **{k: str(v) for k, v in bad.items()},
                        }
                    )
                    raise TrainingError(
                        f"non-finite values at step {state['step']} ({', '.join(f'{k}={v}' for k, v in bad.items())}); "
                        f"training stopped without applying this update. The last good checkpoint in {run_dir} is kept: "
                        "lower train.lr or set train.grad_clip, then --resume."
                    )
                optimizer.step()
                state["step"] += 1
                state["batch"] += 1
                sums += values
                n_in_log += 1
                tokens += batch.n_target_tokens
                bar.update(1)
                if state["step"] % max(1, t.log_every) == 0 or state["step"] == total:
                    elapsed = time.perf_counter() - t_log
                    record = {"step": state["step"], "epoch": state["epoch"], "split": "train"}
                    record.update({k: float(v) / n_in_log for k, v in zip(keys, sums, strict=True)})
                    record["tok_per_s"] = tokens / max(elapsed, 1e-9)
                    log.write(record)
                    if on_log:
                        on_log(record)
                    bar.set_postfix(rec=f"{record['rec']:.1f}", kl=f"{record['kl']:.2f}", beta=f"{record['beta']:.2f}")
                    sums.zero_()
                    n_in_log, tokens, t_log = 0, 0, time.perf_counter()
                if t.val_every and state["step"] % t.val_every == 0:
                    valid_figures = run_validation()
                    checkpoint()
                elif t.ckpt_every and state["step"] % t.ckpt_every == 0:
                    checkpoint()
                if state["step"] >= total:
                    break
            else:
                state["epoch"] += 1
                state["batch"] = 0
                if not t.val_every:
                    valid_figures = run_validation()
                checkpoint()
                continue
        if state["batch"] >= n_batches:  # stopped exactly at an epoch's end: record it as such
            state["epoch"], state["batch"] = state["epoch"] + 1, 0
        if marks["val"] != state["step"]:
            valid_figures = run_validation()
        if marks["ckpt"] != state["step"]:
            checkpoint()
    finally:
        bar.close()
        log.close()
    return TrainResult(run_dir, state["step"], valid_figures)


def _load_vocab(run_dir: Path) -> Vocab:
    try:
        return Vocab.load(run_dir / VOCAB)
    except VocabError as err:
        raise CheckpointError(str(err)) from None


def parse_cli(argv: list[str]) -> tuple[RunConfig, bool]:
    """Parse ``--config``, ``--resume`` and ``--key=value`` overrides into a RunConfig."""
    args = list(argv)
    config_file = resume_dir = None
    overrides: dict[str, str] = {}
    while args:
        arg = args.pop(0)
        if arg in {"-h", "--help"}:
            print(__doc__)
            print("Options are the fields of RunConfig (textvae_core/config.py), as --section.key=value.")
            raise SystemExit(0)
        if not arg.startswith("--"):
            raise ConfigError(f"unexpected argument {arg!r}; options look like --section.key=value")
        key, eq, value = arg[2:].partition("=")
        if not eq:
            if not args:
                raise ConfigError(f"--{key} needs a value")
            value = args.pop(0)
        if key == "config":
            config_file = value
        elif key == "resume":
            resume_dir = value
        else:
            overrides[key] = value
    if resume_dir:
        cfg = read_config(resume_dir)
        cfg.train.out = resume_dir
        not_train = [k for k in overrides if not (k.startswith("train.") or "." not in k)]
        if not_train:
            raise ConfigError(f"--resume keeps the run's model, data and objective; cannot change {not_train}")
    else:
        cfg = RunConfig.from_dict(load_config_file(config_file)) if config_file else RunConfig()
    apply_overrides(cfg, overrides)
    if resume_dir and cfg.train.out != resume_dir:
        raise ConfigError("--resume and --out name different run directories")
    return cfg, bool(resume_dir)


def main(argv: list[str] | None = None) -> int:
    try:
        cfg, resume = parse_cli(sys.argv[1:] if argv is None else argv)
        result = train(cfg, resume=resume)
    except (ConfigError, CorpusError, CheckpointError, VocabError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except TrainingError as err:
        print(f"stopped: {err}", file=sys.stderr)
        return 3
    summary = {"run": str(result.run_dir), "step": result.step, "valid": result.valid}
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
