"""Our Trainer at timbmg/Sentence-VAE's defaults, on the anchor's sentences, timed as the anchor is timed.

The anchor's defaults, and what we set for each (``sentence_vae_config``):

| the anchor (train.py) | ours |
|---|---|
| GRU encoder and decoder, 1 layer, unidirectional, hidden 256 | ``encoder=gru``, ``decoder=gru``, ``hidden=256`` |
| embedding 300, shared by encoder and decoder | ``emb_dim=300`` (shared) |
| z 16; z → decoder h0 by a linear layer | ``z_dim=16``, ``z_mode=init`` (a linear layer and tanh) |
| embedding dropout 0.5 on the decoder inputs, word dropout 0 | ``emb_dropout=0.5``, ``word_dropout=0`` |
| batch 32, Adam 1e-3, no gradient clipping | ``batch_size=32``, ``lr=1e-3``, ``grad_clip=0`` |
| KL weight 1/(1 + exp(−k·(t − x0))), k = 0.0025, x0 = 2500 | ``vae-anneal`` with ``schedule=logistic``, ``warmup_steps=5000`` |
| words seen once → <unk> | ``min_count=2`` |

Our logistic β(t) = 1/(1 + exp(−(10/W)·(t − W/2))) has one knob, W: W = 5000 puts its midpoint on the
anchor's x0 = 2500, with slope 10/W = 0.002 against the anchor's k = 0.0025 (β = 0.12 against 0.08 at
step 1,500 and 0.88 against 0.92 at step 3,500; both above 0.99 after step 5,000). W = 4000 would
match k instead and move the midpoint to step 2,000; the midpoint decides when the KL starts to count.

What cannot match: the tokenisation. We read PTB as distributed (whitespace tokens, its own <unk>,
words seen once → <unk>: vocabulary 9,972 with our four symbols; every test sentence whole, 82,430 target tokens with <eos>);
the anchor re-tokenises it with NLTK's TweetTokenizer and truncates at 59 words (vocabulary 9,877,
85,358 test target tokens). The same sentences therefore count different tokens on each side: per
sentence figures compare the same text, per token figures each side's own units.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from textvae_core.config import RunConfig
from textvae_core.objectives import preset
from textvae_core.paths import repo_path

from .sentence_vae import BATCH_SIZE, Rate

if TYPE_CHECKING:
    import torch

    from textvae_core.trainer import Trainer

# our logistic ramp's W: its midpoint W/2 is the anchor's x0 = 2500; its slope 10/W = 0.002 (the anchor's k: 0.0025)
WARMUP_STEPS = 5000


def sentence_vae_config(
    out: str, amp: bool = True, threads: int = 0, seed: int = 0, z_mode: str = "init", epochs: float = 1.0
) -> RunConfig:
    """Our run configuration at the anchor's defaults (table in the module docstring); PTB of the repository."""
    cfg = RunConfig()
    for split in ("train", "valid", "test"):
        setattr(cfg.data, split, str(repo_path(getattr(cfg.data, split))))
    cfg.data.min_count = 2
    m = cfg.model
    m.encoder, m.decoder, m.emb_dim, m.hidden, m.z_dim, m.z_mode = "gru", "gru", 300, 256, 16, z_mode
    m.emb_dropout, m.dropout = 0.5, 0.0
    cfg.objective = preset("vae-anneal", schedule="logistic", warmup_steps=WARMUP_STEPS)
    t = cfg.train
    t.out, t.epochs, t.batch_size, t.lr, t.grad_clip, t.word_dropout = out, epochs, BATCH_SIZE, 1e-3, 0.0, 0.0
    t.amp, t.num_threads, t.seed, t.progress = amp, threads, seed, False
    t.amp_probe = False  # the caller names the precision: the benchmarks time both side by side
    return cfg


@dataclass
class Snapshot:
    """The weights after ``step`` updates, and the training seconds it took to get there."""

    step: int
    epoch: float  # passes over the training data
    seconds: float  # since the Trainer was created, without the time taken to copy snapshots
    state: dict[str, torch.Tensor] = field(repr=False)


def _stamped_trainer(cfg: RunConfig, snapshot_every: int = 0) -> Trainer:
    """A Trainer that notes when each update ends and how many target tokens it trained on, and copies the
    weights at the end of every epoch and every ``snapshot_every`` steps (that copy's time set aside)."""
    from textvae_core.trainer import Trainer

    class Stamped(Trainer):
        def __init__(self, cfg: RunConfig) -> None:
            self.stamps: list[tuple[float, int, int]] = []  # (perf_counter, target tokens, sentences) per step
            self.snapshots: list[Snapshot] = []
            self.paused, self.started = 0.0, time.perf_counter()
            super().__init__(cfg)

        def train_step(self, indices: list[int]) -> torch.Tensor:
            values = super().train_step(indices)
            now = time.perf_counter()
            self.stamps.append((now, sum(self.train_set.lengths[i] for i in indices) + len(indices), len(indices)))
            step = self.state.step
            if step % self.n_batches == 0 or (snapshot_every and step % snapshot_every == 0):
                state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
                self.snapshots.append(Snapshot(step, step / self.n_batches, now - self.started - self.paused, state))
                self.paused += time.perf_counter() - now
            return values

    return Stamped(cfg)


def restrict(trainer: Trainer, train_lines: list[int] | None, valid_lines: list[int] | None) -> None:
    """Train (and validate) on these sentences of the splits only (0-based line numbers, the vocabulary of
    the whole training split kept, as the anchor's subsets keep theirs); the run's length follows."""
    t = trainer.cfg.train
    if train_lines is not None:
        trainer.train_set = trainer.train_set.subset(train_lines)
    if valid_lines is not None and trainer.valid_set is not None:
        trainer.valid_set = trainer.valid_set.subset(valid_lines)
    trainer.n_batches = math.ceil(len(trainer.train_set) / t.batch_size)
    trainer.total_steps = t.max_steps or math.ceil(t.epochs * trainer.n_batches)


def check_lines(cfg: RunConfig) -> None:
    """Line numbers name the same sentences on both sides only if every line of the training and validation
    files is read as one sentence (the anchor keeps every line; we drop blank ones)."""
    from pathlib import Path

    from textvae_core.corpus import read_corpus

    d = cfg.data
    for path in (d.train, d.valid):
        if not path:
            continue
        n_lines = len(Path(path).read_text(encoding="utf-8").splitlines())
        n_read = len(read_corpus(path, d.level, d.lowercase, d.min_len, d.max_len, d.format))
        if n_lines != n_read:
            raise ValueError(f"{path}: {n_read} sentences read from {n_lines} lines; line numbers would not match")


def time_steps(cfg: RunConfig, train_lines: list[int]) -> Rate:
    """Our rate over one epoch of ``train_lines`` (the anchor's subset): from the end of step 1 to the end
    of the last step, as the anchor is timed, counting the target tokens of those steps exactly."""
    cfg.data.valid = ""
    cfg.train.ckpt_every, cfg.train.epochs, cfg.train.max_steps = 0, 1.0, 0
    check_lines(cfg)
    trainer = _stamped_trainer(cfg)
    restrict(trainer, train_lines, None)
    trainer.fit()
    stamps = trainer.stamps
    if len(stamps) < 2:
        raise ValueError("at least 2 steps are needed (the first one is not timed)")
    seconds = stamps[-1][0] - stamps[0][0]
    return Rate(len(stamps) - 1, seconds, sum(s[1] for s in stamps[1:]), sum(s[2] for s in stamps[1:]))


@dataclass
class OurRun:
    snapshots: list[Snapshot]
    seconds: float  # from the Trainer's creation to the end of fit (validations and checkpoints included)
    trainer: Any


def train_with_snapshots(
    cfg: RunConfig,
    train_lines: list[int] | None = None,
    valid_lines: list[int] | None = None,
    snapshot_every: int = 0,
) -> OurRun:
    """Train ``cfg`` (on these training and validation lines, if given), copying the weights at each
    epoch's end and every ``snapshot_every`` steps with the training seconds it took to reach them."""
    check_lines(cfg)
    trainer = _stamped_trainer(cfg, snapshot_every)
    restrict(trainer, train_lines, valid_lines)
    trainer.fit()
    return OurRun(trainer.snapshots, time.perf_counter() - trainer.started - trainer.paused, trainer)


def evaluate_snapshots(run: OurRun, limit: int = 0, seed: int = 0) -> list[dict[str, Any]]:
    """Test D, KL and −ELBO per sentence and per target token (words + <eos>) of every snapshot, in fp32,
    one z ~ q(z|x) per sentence (the same draws for each snapshot), on the first ``limit`` sentences (0: all)."""
    from textvae_core.data import Corpus, read_corpus
    from textvae_core.metrics import heldout_bounds
    from textvae_core.models import build_model

    trainer = run.trainer
    cfg, vocab = trainer.cfg, trainer.vocab
    d = cfg.data
    test = Corpus(read_corpus(d.test, d.level, d.lowercase, d.min_len, d.max_len, d.format), vocab, "test")
    if limit:
        test = test.subset(range(min(limit, len(test))))
    model = build_model(cfg.model, len(vocab)).to(trainer.device)
    records = []
    for snap in run.snapshots:
        model.load_state_dict(snap.state)
        b = heldout_bounds(model, test, trainer.device, seed=seed)
        records.append(
            {
                "step": snap.step,
                "epoch": round(snap.epoch, 4),
                "seconds": snap.seconds,
                "rec": b["rec"],
                "kl": b["kl"],
                "nll_bound": b["nll_bound"],
                "nll_bound_per_token": b["nll_bound"] * b["n_sentences"] / b["n_tokens"],
                "n_sentences": b["n_sentences"],
                "n_tokens": b["n_tokens"],
            }
        )
    return records
