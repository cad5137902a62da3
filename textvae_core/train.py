"""Train a sentence VAE into a run folder, or resume one. Every option is a field of RunConfig.

Examples:
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from .checkpoint import CheckpointError, load_resume, read_weights, save_checkpoint
from .cli import parse_train_cli
from .config import ConfigError, RunConfig, TrainConfig
from .data import Corpus, CorpusError, read_corpus
from .device import autocast, pick_device
from .metrics import heldout_bounds
from .models import build_model
from .objectives import capacity_at, objective_terms, validate
from .rundir import CONFIG, METRICS, VOCAB, WEIGHTS, MetricsLog, read_vocab
from .vocab import Vocab, VocabError

LOGGED = ("loss", "rec", "kl", "elbo", "kl_share", "beta", "grad_norm")


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


MU_STATS_SENTENCES = 10000  # training sentences whose codes give a batch-normalised μ its population statistics


def refresh_mu_stats(model: torch.nn.Module, train_set: Corpus, t: TrainConfig, device: torch.device) -> None:
    """Recompute a batch-normalised μ's statistics from training batches drawn as training draws them
    (seeded, so neither the run's RNG nor a resumed run's course changes); nothing for other models."""
    if getattr(model, "mu_bn", None) is None:
        return
    rng = random.Random(t.seed)
    idx = rng.sample(range(len(train_set)), min(len(train_set), MU_STATS_SENTENCES))
    sub = train_set.subset(idx)
    order = sub.batches(t.batch_size, shuffle=True, seed=t.seed, chunk=t.bucket_chunk)
    model.refresh_mu_stats((b.src.to(device), b.lengths) for b in map(sub.batch, order))


def prepare_data(cfg: RunConfig, vocab: Vocab | None = None) -> tuple[Vocab, Corpus, Corpus | None]:
    """Read the training and validation splits; build the vocabulary from training data if needed."""
    d = cfg.data
    if d.level not in {"word", "char"}:
        raise ConfigError(f"data.level must be word or char, not {d.level!r}")
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
    if cfg.objective.bow > 0 and not cfg.model.bow_head:
        raise ConfigError("objective.bow > 0 needs a bag-of-words head: set --model.bow_head=true")
    if cfg.model.mu_norm == "batchnorm" and t.bucket_chunk != 1:
        raise ConfigError(
            "model.mu_norm=batchnorm needs random batches (--train.bucket_chunk=1): statistics of length-sorted "
            "batches differ from batch to batch, so no single set of them describes the data at evaluation"
        )
    run_dir = Path(t.out)
    if t.num_threads > 0:
        torch.set_num_threads(t.num_threads)
    device = pick_device(t.device)

    if resume:
        vocab = read_vocab(run_dir)
        tensors, meta = read_weights(run_dir / WEIGHTS)
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
    if not resume and t.init_from:
        load_encoder(model, Path(t.init_from), vocab, device)
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
    bar = tqdm(total=total, initial=state["step"], disable=not t.progress, unit="step", dynamic_ncols=True)
    logged = LOGGED + (("bow",) if cfg.objective.bow > 0 else ())
    sums = torch.zeros(len(logged))
    n_in_log, tokens, t_log = 0, 0, time.perf_counter()
    valid_figures, marks = None, {"val": -1, "ckpt": -1}

    def checkpoint() -> None:
        save_checkpoint(run_dir, model, optimizer, state)
        marks["ckpt"] = state["step"]

    def run_validation() -> dict[str, float] | None:
        marks["val"] = state["step"]
        refresh_mu_stats(model, train_set, t, device)
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
                with autocast(device, t.amp):
                    out = model(batch, word_dropout=t.word_dropout, unk_id=vocab.unk_id)
                terms = objective_terms(out.rec.float(), out.kl.float(), cfg.objective, state["step"], out.bow)
                optimizer.zero_grad(set_to_none=True)
                terms["loss"].backward()
                params = [p for p in model.parameters() if p.grad is not None]
                gnorm = torch.nn.utils.clip_grad_norm_(params, t.grad_clip if t.grad_clip > 0 else float("inf"))
                values = torch.stack([(gnorm if k == "grad_norm" else terms[k]).detach().float().cpu() for k in logged])
                if not torch.isfinite(values).all():
                    bad = {k: float(v) for k, v in zip(logged, values, strict=True) if not math.isfinite(float(v))}
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
                    record.update({k: float(v) / n_in_log for k, v in zip(logged, sums, strict=True)})
                    record["tok_per_s"] = tokens / max(elapsed, 1e-9)
                    capacity = capacity_at(state["step"] - 1, cfg.objective)
                    if capacity is not None:
                        record["C"] = capacity  # C(t) of the last step logged (the app draws it on the KL plot)
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


ENCODER_PARTS = ("embedding.", "encoder.")  # what init_from copies: the decoder and output layer start afresh


def load_encoder(model: torch.nn.Module, source: Path, vocab: Vocab, device: torch.device) -> None:
    """Start from another run's embedding and encoder (Li et al. 2019 pre-train them as an
    autoencoder); refused with a message when the vocabularies or the shapes differ."""
    if read_vocab(source).itos != vocab.itos:
        raise ConfigError(f"train.init_from={source}: that run has another vocabulary; its embedding would not fit")
    tensors, _ = read_weights(source / WEIGHTS)
    own = model.state_dict()
    parts = {k: v for k, v in tensors.items() if k.startswith(ENCODER_PARTS)}
    wrong = [k for k, v in parts.items() if k not in own or own[k].shape != v.shape]
    if not parts or wrong:
        raise ConfigError(
            f"train.init_from={source}: its encoder does not fit this model "
            f"({', '.join(wrong[:3]) or 'no encoder weights'}); same vocabulary and encoder size needed"
        )
    model.load_state_dict({k: v.float().to(device) for k, v in parts.items()}, strict=False)


def parse_cli(argv: list[str]) -> tuple[RunConfig, bool]:
    """The RunConfig a command line describes (``--help`` lists every option), and whether it resumes a run."""
    cfg, resume = parse_train_cli(argv, __doc__)
    return cfg, resume is not None


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
