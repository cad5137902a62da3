"""The Trainer the CLI, the app's jobs and torchrun share: one run directory, one optimizer, callbacks.

    trainer = Trainer(cfg)                      # or Trainer(cfg, resume=True) to go on from the last checkpoint
    trainer.add_callback("on_validate", lambda tr, rec: rec["nll_bound"] < 100 and tr.stop("good enough"))
    result = trainer.fit()

``fit`` loops over length-bucketed batches, calling :meth:`Trainer.train_step` per batch and
:meth:`Trainer.validation` / :meth:`Trainer.checkpoint` on schedule. A validation measures
(:meth:`Trainer.validate`), then hands its figures, by name, to the pieces that act on them, each owning
its state and its entry in the resume file: the aggressive phase's end (``aggressive.Phase``), the plateau
lr (``lr.PlateauLR``), the kept best (``keep_best.KeepBest``) and the weight average's file
(``averaging.Averaging``, which also samples after each step, as the capacity's multiplier
``objectives.dual_step`` moves). Callbacks receive the trainer and the record just written to
metrics.jsonl (``on_log``: a training line, ``on_validate``: a validation line, ``on_checkpoint``:
``{"step", "path"}``) and may call :meth:`Trainer.stop`. A stop — from a callback, SIGTERM, SIGINT or
``train.max_minutes`` — checkpoints at the current step and returns; ``--resume`` then goes on exactly as
if there had been no stop (same batches, same random numbers, same Adam and learning-rate-schedule state).
The run directory is locked while a Trainer holds it.

The config given is never changed: config.json is its resolved copy (``recipe.resolve``) with the
vocabulary's size, and what the run derives from it, the data and the machine (steps per epoch, the ramps
in steps, the device, the precision it trains in) goes to setup.json (``rundir.RunSetup``).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from filelock import FileLock, Timeout
from tqdm import tqdm

from . import aggressive, distributed
from .averaging import Averaging, start_step
from .checkpoint import fit_weights, load_resume, read_weights, save_checkpoint
from .config import ConfigError, RunConfig, TrainConfig
from .data import Corpus, read_corpus
from .device import autocast, bf16_matmul, cpu_has_bf16, pick_device
from .keep_best import KeepBest
from .lr import PlateauLR, cosine_lr
from .metrics import heldout_bounds
from .models import build_model
from .objectives import DualState, capacity_at, dual_step, in_steps, objective_terms
from .precision import Mode, Probe, faster_precision, worth_probing
from .recipe import resolve
from .rundir import (
    CONFIG,
    METRICS,
    TRAIN_LOCK,
    WEIGHTS,
    MetricsLog,
    RunSetup,
    check_vocab,
    not_started,
    read_setup,
    read_vocab,
    write_setup,
    write_vocab,
)
from .validation import check_data_fits, validate
from .vocab import Vocab

# per training step: the objective's terms, the gradient norm, and where the batch's codes sit: mu_shift =
# ‖mean of μ‖² (rate spent moving every code off the prior alike), mu_spread = Σ_d Var(μ_d) (codes that differ)
LOGGED = ("loss", "rec", "kl", "elbo", "kl_share", "beta", "grad_norm", "mu_shift", "mu_spread")
LOCK = TRAIN_LOCK  # held by the training process (rank 0) for as long as it writes the run directory
EVENTS = ("on_log", "on_validate", "on_checkpoint")
DUAL = "dual"  # the capacity's multiplier's entry in a resume file (objectives.DualState)
Callback = Callable[["Trainer", dict[str, Any]], Any]


class TrainingError(RuntimeError):
    """Training stopped; the message says why and what was kept."""


@dataclass
class TrainState:
    """Where training stands; saved with every checkpoint (and in the weights' header). The pieces that act
    after a step or a validation keep their own state beside it (Trainer.checkpoint)."""

    step: int = 0  # optimizer updates done
    epoch: int = 0  # passes over the training data completed
    batch: int = 0  # batches of the current epoch done (the epoch's order is replayed from its seed)
    lr: float = 0.0  # learning rate of the next update
    best: float | None = None  # lowest validation −ELBO per sentence so far (None before any validation)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any], lr: float) -> TrainState:
        """From a resume file; files written before the Trainer named the best figure best_valid_nll."""
        known = {f.name for f in fields(cls)}
        state = cls(**{"lr": lr, **{k: v for k, v in raw.items() if k in known}})
        if state.best is None and raw.get("best_valid_nll") is not None:
            state.best = float(raw["best_valid_nll"])
        return state


@dataclass
class TrainResult:
    run_dir: Path
    step: int
    valid: dict[str, float] | None
    stopped: str | None = None  # why training stopped before its last step (None: it ran to the end)
    total_steps: int = 0


class _LogWindow:
    """The logged values summed over the steps since the last training line, with their tokens and time."""

    def __init__(self, keys: tuple[str, ...] = LOGGED) -> None:
        self.keys = keys
        self.sums, self.n, self.tokens, self.since = torch.zeros(len(keys)), 0, 0, time.perf_counter()

    def add(self, values: torch.Tensor, tokens: int) -> None:
        self.sums += values
        self.n += 1
        self.tokens += tokens

    def flush(self) -> dict[str, float]:
        """Means per step and target tokens per second since the last flush; starts a new window."""
        out = {k: float(v) / self.n for k, v in zip(self.keys, self.sums, strict=True)}
        out["tok_per_s"] = self.tokens / max(time.perf_counter() - self.since, 1e-9)
        self.__init__(self.keys)
        return out


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


MU_STATS_SENTENCES = 10000  # training sentences whose codes give a batch-normalised μ its population statistics


def refresh_mu_stats(model: torch.nn.Module, train_set: Corpus, t: TrainConfig, device: torch.device) -> None:
    """Recompute a batch-normalised μ's statistics from training batches drawn as training draws them
    (seeded, so neither the run's RNG nor a resumed run's course changes); nothing for other models."""
    if getattr(model, "mu_bn", None) is None:
        return
    rng = random.Random(t.seed)
    sub = train_set.subset(rng.sample(range(len(train_set)), min(len(train_set), MU_STATS_SENTENCES)))
    order = sub.batches(t.batch_size, shuffle=True, seed=t.seed, chunk=t.bucket_chunk)
    model.refresh_mu_stats((b.src.to(device), b.lengths) for b in map(sub.batch, order))


def logged_terms(model: torch.nn.Module, cfg: RunConfig) -> tuple[str, ...]:
    """What a step logs beyond LOGGED: the bag-of-words loss, a Hybrid's D_aux, the KL of every latent
    part (kl_z1 … of a ladder's layers, kl_pos1 … of a feature map's positions) when there are several, and
    under train.aggressive the encoder-only updates made before the step (0 once the phase is over)."""
    parts = getattr(model, "parts", [])
    return (
        (("bow",) if cfg.objective.bow else ())
        + (("multiplier",) if cfg.objective.C_control == "dual" else ())
        + (("enc_updates",) if cfg.train.aggressive else ())
        + (("aux_rec",) if getattr(model, "aux_out", None) is not None else ())
        + (tuple(f"kl_{p.name}" for p in parts) if len(parts) > 1 else ())
    )


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


def resume_parts(saved: dict[str, Any]) -> dict[str, Any]:
    """Each stateful piece's entry of a resume file. Files written before the pieces had entries of their
    own kept theirs in the TrainState: the kept best's figure, the aggressive phase (off when the file
    predates it) and the capacity's multiplier."""
    state = saved["state"]
    older = {
        KeepBest.KEY: {"value": state.get("best_kept")},
        aggressive.Phase.KEY: {"on": bool(state.get("aggressive", False)), "mi": state.get("mi")},
        DUAL: {"multiplier": float(state.get("multiplier", 0.0))},
    }
    return older | {k: v for k, v in saved.items() if k not in ("state", "optimizer")}


def prepare_data(cfg: RunConfig, vocab: Vocab | None = None) -> tuple[Vocab, Corpus, Corpus | None]:
    """Read the training and validation splits; build the vocabulary from training data if needed."""
    d = cfg.data
    check_data_fits(cfg)
    read = lambda path: read_corpus(path, d.level, d.lowercase, d.min_len, d.max_len, d.format)  # noqa: E731
    train_sents = read(d.train)
    if vocab is None:
        vocab = Vocab.build(train_sents, d.max_vocab, d.min_count, d.level)
    train = Corpus(train_sents, vocab, "train")
    valid = Corpus(read(d.valid), vocab, "valid") if d.valid else None
    return vocab, train, valid


def lock_run(run_dir: Path) -> FileLock:
    """Take the run directory's lock, or say who holds it: two processes must never train one run."""
    lock = FileLock(str(run_dir / LOCK))
    try:
        lock.acquire(timeout=2)  # a status check may hold it for a moment
    except Timeout:
        raise ConfigError(
            f"{run_dir} is being trained by another process (it holds {run_dir / LOCK}); "
            "wait for it to finish, or stop it first"
        ) from None
    return lock


class Trainer:
    """Trains (or resumes) the run ``cfg.train.out``. Construction reads the data, builds the model and
    optimizer and restores a checkpoint when resuming; :meth:`fit` trains. ``cfg`` itself is never changed."""

    def __init__(self, cfg: RunConfig, resume: bool = False, world: distributed.World | None = None) -> None:
        validate(cfg)  # every option's bounds and the settings that go together, before any work
        cfg = resolve(cfg)  # a copy with the recipe's knobs set: the config given is never changed
        t = cfg.train
        self.cfg, self.resume = cfg, resume
        self.logged = LOGGED  # and the model's own terms, once it is built (logged_terms)
        self.world = world or distributed.world_from_env()
        self.run_dir = Path(t.out)
        self.callbacks: dict[str, list[Callback]] = {e: [] for e in EVENTS}
        self.stop_reason: str | None = None
        self._lock: FileLock | None = None
        self._log: MetricsLog | None = None
        self._marks = {"val": -1, "ckpt": -1}  # the last steps validated and checkpointed
        if t.num_threads > 0:
            torch.set_num_threads(t.num_threads)
        self.device = pick_device(distributed.device_name(self.world, t.device))
        try:
            self._setup()
        except BaseException:
            self._release()
            raise

    def _setup(self) -> None:
        t, main = self.cfg.train, self.world.is_main
        self.restarted = self.resume and not_started(self.run_dir)  # killed before its first checkpoint
        if self.resume and not self.restarted:
            if main:
                self._lock = lock_run(self.run_dir)
            vocab = read_vocab(self.run_dir)
            tensors, meta = read_weights(self.run_dir / WEIGHTS)
            check_vocab(self.run_dir, vocab, meta, self.cfg.vocab_size)
            saved = load_resume(self.run_dir, json.loads(meta.get("step", "0")))
        else:
            if (self.run_dir / CONFIG).exists() and not self.restarted:
                again = " that never saved weights (stopped before its first checkpoint)" * not_started(self.run_dir)
                raise ConfigError(
                    f"{self.run_dir} already holds a run{again}: --resume {self.run_dir} "
                    f"{'starts it afresh' if again else 'goes on with it'}, or pick another --out"
                )
            vocab, tensors, saved = None, None, None
        self.vocab, self.train_set, self.valid_set = prepare_data(self.cfg, vocab)
        # the vocabulary's size is a dimension of the model: the one field config.json adds to the resolved copy
        self.cfg = cfg = replace(self.cfg, vocab_size=len(self.vocab))
        self.n_batches = math.ceil(len(self.train_set) / t.batch_size)
        self.objective = in_steps(cfg.objective, self.n_batches)  # ramps set in epochs, counted in steps
        self.total_steps = t.max_steps or math.ceil(t.epochs * self.n_batches)
        self.average_start = start_step(t, self.n_batches)
        distributed.init(self.world, self.device)
        seed_everything(t.seed)
        self.model = build_model(cfg.model, len(self.vocab)).to(self.device)
        self.logged = LOGGED + logged_terms(self.model, cfg)
        if saved is None and t.init_from:
            load_encoder(self.model, Path(t.init_from), self.vocab, self.device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=t.lr, fused=True)  # one kernel for all tensors
        self.state = TrainState(lr=t.lr)
        # what acts after a step or a validation, each with its own state (and entry in the resume file)
        self.dual = DualState()  # objective.C_control=dual: ν, the multiplier of the constraint KL = C
        self.phase = aggressive.Phase(t.aggressive)
        self.plateau = PlateauLR(self.optimizer, t) if t.lr_decay < 1.0 else None
        self.keeper = KeepBest(self.run_dir, t.keep_best)
        self.averaging = (
            Averaging(self.model, self.run_dir, self.average_start, t.average_every)
            if self.average_start is not None
            else None
        )
        self._sides = aggressive.encoder_side(self.model)  # (encoder side, the rest): train.aggressive steps them apart
        if saved is not None:
            self._restore(tensors, saved)
        elif main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            self._lock = lock_run(self.run_dir)
            if (self.run_dir / CONFIG).exists() and not self.restarted:  # made by another process meanwhile
                raise ConfigError(f"{self.run_dir} already holds a run: pick another --out")
            write_vocab(self.run_dir, self.vocab)
        if self.world.rank > 0:  # other ranks draw other noise for their shards; rank 0 keeps the CLI's stream
            torch.manual_seed(t.seed + 1_000_003 * self.world.rank + 7919 * self.state.step)
        self.net = self.model
        if self.world.parallel:
            from torch.nn.parallel import DistributedDataParallel

            ids = [self.device.index] if self.device.type == "cuda" else None
            self.net = DistributedDataParallel(self.model, device_ids=ids)  # broadcasts rank 0's weights
        self.precision = self._precision(resumed=saved is not None)
        if main:
            cfg.save(self.run_dir / CONFIG)  # the config as given, resolved; on resume, with its changed train.*
            write_setup(self.run_dir, self.setup_record())
        distributed.barrier(self.world)

    @property
    def lr_moves(self) -> bool:
        """A plateau decay or a cosine: the lr is logged with training and validation lines."""
        return self.plateau is not None or self.cfg.train.lr_schedule == "cosine"

    def setup_record(self) -> RunSetup:
        """What this run derived from its config, its data and this machine (setup.json)."""
        return RunSetup(
            steps_per_epoch=self.n_batches,
            total_steps=self.total_steps,
            warmup_steps=self.objective.warmup_steps,
            C_warmup_steps=self.objective.C_warmup_steps,
            average_start=self.average_start,
            device=str(self.device),
            world_size=self.world.size,
            amp=self.precision.amp,
            bf16_matmul=self.precision.bf16_matmul,
            probed=self.probed,
        )

    def _precision(self, resumed: bool) -> Mode:
        """The precision the run trains in: at its start the probe's pick where one runs (_probe_precision),
        else the config's train.amp and train.bf16_matmul. A resume keeps the pick setup.json recorded while
        the config still asks for the probe (amp and amp_probe); a config that names its precision trains in
        it. A run from before setup.json has its pick in config.json (amp_probe off there)."""
        t = self.cfg.train
        told = Mode(t.amp, t.bf16_matmul)
        self.probe = self._probe_precision() if not resumed else None
        if not resumed:
            self.probed = self.probe.choice if self.probe is not None else None
            return self.probe.mode if self.probe is not None else told
        before = read_setup(self.run_dir)
        picked = before is not None and before.probed is not None and t.amp and t.amp_probe
        self.probed = before.probed if picked else None  # type: ignore[union-attr]
        return Mode(before.amp, before.bf16_matmul) if picked else told  # type: ignore[union-attr]

    def _probe_precision(self) -> Probe | None:
        """train.amp_probe on a CPU with native bf16: whichever precision runs this model fastest
        (textvae_core.precision: fp32, fp32 with bf16 matrix products, bf16 autocast), timed on the first
        batches of epoch 0 on a copy of the model (the run trains as if no probe had run); None where no
        probe runs."""
        t = self.cfg.train
        native = self.device.type == "cpu" and cpu_has_bf16()
        if not (t.amp and t.amp_probe and native) or self.world.parallel or not worth_probing(self.model):
            return None  # (under torchrun each rank could time differently: all keep train.amp)
        order = self._epoch_batches(0)

        def loss_of(model: torch.nn.Module, bf16: bool, k: int) -> torch.Tensor:
            batch = self.train_set.batch(order[k % len(order)]).to(self.device)  # epoch 0's batches, as fit's
            with autocast(self.device, bf16):
                out = model(batch, word_dropout=t.word_dropout, unk_id=self.vocab.unk_id)
            return sum(v.float().sum() for v in (out.rec, out.kl, out.bow, out.aux_rec) if v is not None)

        return faster_precision(self.model, loss_of)

    def _epoch_batches(self, epoch: int) -> list[list[int]]:
        """The shuffled batches of one epoch: seeded by train.seed and the epoch, the same on every rank."""
        t = self.cfg.train
        return self.train_set.batches(t.batch_size, shuffle=True, seed=t.seed * 100003 + epoch, chunk=t.bucket_chunk)

    def _stateful(self) -> dict[str, KeepBest | aggressive.Phase | PlateauLR | Averaging]:
        """The pieces with state of their own, by their entry in a resume file (the multiplier: DUAL)."""
        pieces: dict[str, KeepBest | aggressive.Phase | PlateauLR | Averaging] = {
            KeepBest.KEY: self.keeper,
            aggressive.Phase.KEY: self.phase,
        }
        if self.plateau is not None:
            pieces[PlateauLR.KEY] = self.plateau
        if self.averaging is not None:
            pieces[Averaging.KEY] = self.averaging
        return pieces

    def _restore(self, tensors: dict[str, torch.Tensor], saved: dict[str, Any]) -> None:
        t = self.cfg.train
        fit_weights(self.model, tensors, self.run_dir)  # a config.json changed since (e.g. z_dim): a clear error
        self.optimizer.load_state_dict(saved["optimizer"])
        self.state = TrainState.from_dict(saved["state"], lr=t.lr)
        parts = resume_parts(saved)
        for key, piece in self._stateful().items():
            if parts.get(key) is not None:  # else: switched on by this resume (averaging, a plateau decay)
                piece.load_state_dict(parts[key])
        self.dual = DualState(**parts[DUAL])
        if self.plateau is None:
            self.state.lr = t.lr  # a constant lr may be changed on resume (--lr=…)
        elif PlateauLR.KEY not in parts:  # resumed with a decay it trained without, or a file before the Trainer
            best = self.keeper.value if t.keep_best else self.state.best  # the figure the plateau watches
            self.plateau.start_from(best, int(saved["state"].get("bad_validations", 0)))
        for group in self.optimizer.param_groups:  # the configured lr, or where the plateau decay had brought it
            group["lr"] = self.state.lr
        torch.set_rng_state(saved["rng_cpu"])
        if "rng_cuda" in saved and self.device.type == "cuda":
            torch.cuda.set_rng_state_all(saved["rng_cuda"])

    # ----------------------------------------------------------------- callbacks and stopping

    def add_callback(self, event: str, fn: Callback) -> None:
        """Call ``fn(trainer, record)`` on ``event`` (on_log, on_validate, on_checkpoint); it may call stop()."""
        if event not in self.callbacks:
            raise ValueError(f"unknown event {event!r}; choose from {EVENTS}")
        self.callbacks[event].append(fn)

    def stop(self, reason: str = "requested") -> None:
        """Ask training to stop after the current step; it checkpoints there and fit() returns."""
        if self.stop_reason is None:
            self.stop_reason = reason

    def _emit(self, event: str, record: dict[str, Any]) -> None:
        for fn in self.callbacks[event]:
            fn(self, record)

    @contextlib.contextmanager
    def _signals(self) -> Iterator[None]:
        """SIGTERM and SIGINT stop training cleanly; a second one acts as usual (e.g. Ctrl-C twice aborts)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}

        def handler(signum: int, frame: object) -> None:
            self.stop(signal.Signals(signum).name)
            for s, h in previous.items():
                signal.signal(s, h)

        for s in previous:
            signal.signal(s, handler)
        try:
            yield
        finally:
            for s, h in previous.items():
                signal.signal(s, h)

    # ----------------------------------------------------------------- one step, validation, checkpoint

    def _terms(self, indices: list[int]) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """The objective's terms on the global batch ``indices`` (this rank's shard of it under torchrun), and
        this shard's μ."""
        t, state = self.cfg.train, self.state
        shard = self.world.shard(indices) or indices[:1]  # a rank without sentences computes on one, counted 0 times
        batch = self.train_set.batch(shard).to(self.device)
        with autocast(self.device, self.precision.amp):
            out = self.net(batch, word_dropout=t.word_dropout, unk_id=self.vocab.unk_id)
        sizes = self.world.shard_sizes(len(indices))

        def gather(v: torch.Tensor | None) -> torch.Tensor | None:
            return distributed.gather(v.float(), self.world, sizes) if v is not None else None

        terms = objective_terms(
            gather(out.rec),
            gather(out.kl),
            self.objective,
            state.step,
            bow=gather(out.bow),
            aux_rec=gather(out.aux_rec),
            kl_terms={name: gather(v) for name, v in (out.kl_terms or {}).items()},
            kl_dims=gather(out.kl_dims) if self.cfg.objective.free_bits > 0 else None,
            multiplier=self.dual.multiplier,
        )
        return terms, out.mu

    def _clipped_norm(self) -> torch.Tensor:
        """Clip the gradients there are to train.grad_clip (0: none); their norm before clipping."""
        clip = self.cfg.train.grad_clip
        params = [p for p in self.model.parameters() if p.grad is not None]
        return torch.nn.utils.clip_grad_norm_(params, clip if clip > 0 else float("inf"))

    def _refuse_non_finite(self, named: dict[str, torch.Tensor]) -> None:
        """Stop before an update whose figures are not finite, saying what was kept and what to change."""
        bad = {k: float(v) for k, v in named.items() if not math.isfinite(float(v))}
        if not bad:
            return
        self._write(
            {"step": self.state.step, "split": "train", "event": "non_finite", **{k: str(v) for k, v in bad.items()}}
        )
        raise TrainingError(
            f"non-finite values at step {self.state.step} ({', '.join(f'{k}={v}' for k, v in bad.items())}); "
            "training stopped without applying this update. "
            + (
                f"The last good checkpoint in {self.run_dir} is kept: lower train.lr or set train.grad_clip, then --resume."
                if (self.run_dir / WEIGHTS).exists()
                else f"No checkpoint was written yet: lower train.lr or set train.grad_clip, then --resume {self.run_dir} "
                "starts it afresh."
            )
        )

    def _encoder_updates(self, indices: list[int]) -> int:
        """He et al.'s inner loop before a step of the aggressive phase (textvae_core.aggressive)."""
        t, lengths = self.cfg.train, self.train_set.lengths

        def update(batch: list[int]) -> tuple[float, int]:
            terms, _ = self._terms(batch)
            self.optimizer.zero_grad(set_to_none=True)
            terms["loss"].backward()
            aggressive.drop_grads(self._sides[1])
            gnorm = self._clipped_norm()
            self._refuse_non_finite({"encoder_loss": terms["loss"].detach(), "encoder_grad_norm": gnorm})
            self.optimizer.step()
            return float(terms["loss"].detach()) * len(batch), sum(lengths[i] for i in batch) + len(batch)

        more = aggressive.random_batches(len(self.train_set), t.batch_size, t.seed * 1_000_003 + self.state.step)
        return aggressive.encoder_updates(update, indices, more, t.aggressive_inner)

    def train_step(self, indices: list[int]) -> torch.Tensor:
        """One optimizer update on the global batch ``indices`` (after the aggressive phase's encoder-only
        updates while it lasts: the update itself then moves the decoder side alone); returns the LOGGED
        values of the whole batch. A non-finite value stops before the update. With bf16 matrix products
        (train.bf16_matmul, or the probe's pick) the step's products, forward and backward, run in bf16;
        validation stays in full precision."""
        with bf16_matmul(self.device, self.precision.bf16_matmul):
            return self._train_step(indices)

    def _train_step(self, indices: list[int]) -> torch.Tensor:
        state = self.state
        inner = self._encoder_updates(indices) if self.phase.on else 0
        terms, mu = self._terms(indices)
        mu = mu.detach().float()
        terms["mu_shift"] = mu.mean(0).pow(2).sum()
        terms["mu_spread"] = mu.var(0, unbiased=False).sum() if mu.size(0) > 1 else mu.new_zeros(())
        terms["enc_updates"] = torch.tensor(float(inner))
        terms["multiplier"] = torch.tensor(self.dual.multiplier)  # ν of this step
        self.optimizer.zero_grad(set_to_none=True)
        terms["loss"].backward()
        if self.cfg.train.lr_schedule == "cosine":  # from the step count, so a resume lands on the same curve
            t = self.cfg.train
            state.lr = cosine_lr(t.lr, t.lr_final, state.step, self.total_steps, round(t.lr_hold * self.n_batches))
            for group in self.optimizer.param_groups:
                group["lr"] = state.lr
        if self.phase.on:
            aggressive.drop_grads(self._sides[0])
        gnorm = self._clipped_norm()
        values = torch.stack([(gnorm if k == "grad_norm" else terms[k]).detach().float().cpu() for k in self.logged])
        self._refuse_non_finite(dict(zip(self.logged, values, strict=True)))
        self.optimizer.step()
        self.dual = dual_step(self.dual, float(terms["kl"]), state.step, self.objective)
        state.step += 1
        state.batch += 1
        if self.averaging is not None:
            self.averaging.after_step(state.step, self.model)
        return values

    def validation(self, scheduled: bool = True) -> dict[str, float] | None:
        """Validate, then hand the figures, by name, to each piece that acts on them; returns rank 0's
        figures (None on the other ranks and without a validation split). A ``scheduled`` validation (every
        val_every steps, or at an epoch's end) also counts for the aggressive phase and the plateau lr, on
        every rank. The log gets, in this order: the phase's end, the validation's line (with the lr the
        plateau left, as the reproduction report reads it), the kept best."""
        self._marks["val"] = self.state.step
        model = self.used_model()
        figures = self.validate(model, mi=scheduled and self.phase.on)
        self._save_average(model)
        nll = self._shared(figures, "nll_bound")
        if nll is None:
            return None
        self.state.best = nll if self.state.best is None else min(self.state.best, nll)
        if scheduled:
            self._end_aggressive_phase(figures)
            self._step_plateau(figures)
        if figures is None:
            return None
        record = self._log_validation(figures, model)
        self._keep_best(figures, model)
        self._emit("on_validate", record)
        return figures

    def validate(self, model: torch.nn.Module | None = None, mi: bool = False) -> dict[str, float] | None:
        """Measure held-out R, D and −ELBO of ``model`` (by default the weights in use, used_model()) on the
        validation split, and I(x; z) with ``mi``; rank 0 measures (None on the others and without a split).
        A batch-normalised μ gets its population statistics first, in the model trained and the one measured."""
        model = self.used_model() if model is None else model
        if not self.world.is_main:
            return None
        refresh_mu_stats(self.model, self.train_set, self.cfg.train, self.device)
        if model is not self.model:  # the weight average: its own statistics
            refresh_mu_stats(model, self.train_set, self.cfg.train, self.device)
        if self.valid_set is None:
            return None
        batch_size = max(self.cfg.train.batch_size, 128)
        return heldout_bounds(model, self.valid_set, self.device, batch_size=batch_size, mi=mi)

    def _shared(self, figures: dict[str, float] | None, key: str) -> float | None:
        """Rank 0's figure ``key`` on every rank: what the lr and the aggressive phase must agree on."""
        return distributed.from_main(figures[key] if figures else None, self.world, self.device)

    def _save_average(self, model: torch.nn.Module) -> None:
        """The weight average as a validation just measured it, to average.safetensors (rank 0)."""
        if self.averaging is not None and model is not self.model and self.world.is_main:
            self.averaging.save(model, self.state.to_dict())

    def _end_aggressive_phase(self, figures: dict[str, float] | None) -> None:
        """While the phase lasts, the validation's I(x; z) may end it (aggressive.Phase); an event says so."""
        if not self.phase.on:
            return
        ended = self.phase.after_validation(self._shared(figures, "mi"))  # type: ignore[arg-type]
        if ended is not None:
            self._event("aggressive_ended", **ended)

    def _step_plateau(self, figures: dict[str, float] | None) -> None:
        """The plateau lr counts the validation's figure (lr.PlateauLR); the next update takes its lr."""
        if self.plateau is not None:
            watched = self._shared(figures, self.plateau.watched)
            self.state.lr = self.plateau.after_validation(watched)  # type: ignore[arg-type]

    def _log_validation(self, figures: dict[str, float], model: torch.nn.Module) -> dict[str, Any]:
        """The validation's line of metrics.jsonl: its figures, the lr where it moves, the samples averaged."""
        record = {"step": self.state.step, "epoch": self.state.epoch, "split": "valid", **figures}
        if self.lr_moves:
            record["lr"] = self.state.lr
        if model is not self.model:
            record["averaged"] = self.averaging.count  # type: ignore[union-attr]
        self._write(record)
        return record

    def _keep_best(self, figures: dict[str, float], model: torch.nn.Module) -> None:
        """train.keep_best: a new low keeps the weights it measured (keep_best.KeepBest); an event says so."""
        averaged = self.averaging.count if model is not self.model else 0  # type: ignore[union-attr]
        kept = self.keeper.after_validation(figures, model, self.state.to_dict(), averaged)
        if kept is not None:
            self._event("kept_best", by=self.keeper.by, value=round(kept, 4))

    def used_model(self) -> torch.nn.Module:
        """The weights validation measures and the run is used with: the weight average once it holds a
        sample (train.average_from), else the model being trained."""
        mean = self.averaging.model(self.model) if self.averaging is not None else None
        return self.model if mean is None else mean

    def checkpoint(self) -> None:
        """Weights, optimizer, RNG and schedule state at the current step, and each stateful piece's own
        entry (rank 0 writes)."""
        self._marks["ckpt"] = self.state.step
        if not self.world.is_main:
            return
        parts = {key: piece.state_dict() for key, piece in self._stateful().items()}
        extra: dict[str, Any] = {key: part for key, part in parts.items() if part is not None}
        extra[DUAL] = asdict(self.dual)
        save_checkpoint(self.run_dir, self.model, self.optimizer, self.state.to_dict(), extra)
        self._emit("on_checkpoint", {"step": self.state.step, "path": str(self.run_dir)})

    # ----------------------------------------------------------------- the loop

    def _write(self, record: dict[str, Any]) -> None:
        if self._log is not None:
            self._log.write({**record, "time": round(time.time(), 3)})

    def _should_stop(self, started: float) -> bool:
        limit = self.cfg.train.max_minutes
        if limit > 0 and time.monotonic() - started > 60 * limit:
            self.stop(f"time limit ({limit:g} min)")
        return distributed.any_rank(self.stop_reason is not None, self.world, self.device)

    def fit(self) -> TrainResult:
        """Train to ``total_steps`` or until stopped; always leaves a checkpoint of the last step."""
        t, state, main = self.cfg.train, self.state, self.world.is_main
        self._log = (
            MetricsLog(self.run_dir / METRICS, keep_until_step=state.step if self.resume else None) if main else None
        )
        self._marks = {"val": -1, "ckpt": -1}
        bar = tqdm(total=self.total_steps, initial=state.step, disable=not (t.progress and main), unit="step")
        window, started, valid, stopping = _LogWindow(self.logged), time.monotonic(), None, False
        self._log_start()
        self.model.train()
        try:
            with self._signals():
                while state.step < self.total_steps:
                    order = self._epoch_batches(state.epoch)
                    for idx in order[state.batch :]:
                        window.add(self.train_step(idx), sum(self.train_set.lengths[i] for i in idx) + len(idx))
                        bar.update(1)
                        if state.step % max(1, t.log_every) == 0 or state.step == self.total_steps:
                            self._log_train(window, bar)
                        if t.val_every and state.step % t.val_every == 0:
                            valid = self.validation() or valid
                            self.checkpoint()
                        elif t.ckpt_every and state.step % t.ckpt_every == 0:
                            self.checkpoint()
                        stopping = self._should_stop(started)
                        if state.step >= self.total_steps or stopping:
                            break
                    else:  # the epoch is complete
                        state.epoch, state.batch = state.epoch + 1, 0
                        if not t.val_every:
                            valid = self.validation() or valid
                        self.checkpoint()
                        continue
                    break
                valid = self._last_step(stopping) or valid
            reason = (self.stop_reason or "stopped on another rank") if stopping else None
            self._event("stopped" if stopping else "finished", **({"reason": reason} if reason else {}))
            # every rank here before any tears the group down: rank 0 may still be writing the last
            # checkpoint when the others would exit (a gloo peer that closes early can abort the other)
            distributed.barrier(self.world)
            return TrainResult(self.run_dir, state.step, valid, reason, self.total_steps)
        finally:
            bar.close()
            if self._log is not None:
                self._log.close()
            self._release()

    def _log_start(self) -> None:
        """The start event, and the precision probe's timings when one ran (setup.json keeps its pick)."""
        self._event("start", total_steps=self.total_steps, world_size=self.world.size, resumed=self.resume,
                    pid=os.getpid(), device=str(self.device))  # fmt: skip
        if self.probe is not None:
            p = self.probe
            ms = {f"{name.replace(' ', '_')}_ms": round(1000 * s, 1) for name, s in p.seconds.items()}
            self._event("precision", choice=p.choice, bf16=p.mode.amp, bf16_matmul=p.mode.bf16_matmul, **ms)

    def _log_train(self, window: _LogWindow, bar: tqdm) -> None:
        """One training line of metrics.jsonl: the means since the last one, and tokens per second."""
        record = {"step": self.state.step, "epoch": self.state.epoch, "split": "train", **window.flush()}
        capacity = capacity_at(self.state.step - 1, self.objective)
        if capacity is not None:
            record["C"] = capacity  # C(t) of the last step logged (the app draws it on the KL plot)
        if self.lr_moves:
            record["lr"] = self.state.lr  # the lr of the last step logged (the app draws it)
        self._write(record)
        if self.world.is_main:
            self._emit("on_log", record)
        bar.set_postfix(rec=f"{record['rec']:.1f}", kl=f"{record['kl']:.2f}", beta=f"{record['beta']:.2f}")

    def _last_step(self, stopping: bool) -> dict[str, float] | None:
        """Validate (unless stopped mid-epoch: that would not change what a resume does) and checkpoint the
        step training ended on; a stop exactly at an epoch's end is recorded as that epoch's end."""
        state, valid = self.state, None
        at_epoch_end = state.batch >= self.n_batches
        if at_epoch_end:
            state.epoch, state.batch = state.epoch + 1, 0
        if self._marks["val"] != state.step and (not stopping or at_epoch_end):
            valid = self.validation(scheduled=at_epoch_end and not self.cfg.train.val_every)
        if self._marks["ckpt"] != state.step:
            self.checkpoint()
        return valid

    def _event(self, name: str, **fields: Any) -> None:
        self._write({"step": self.state.step, "epoch": self.state.epoch, "split": "event", "event": name, **fields})

    def _release(self) -> None:
        if self._lock is not None:
            Path(self._lock.lock_file).unlink(missing_ok=True)  # while held: a finished run keeps no lock file
            self._lock.release()
            self._lock = None
        distributed.shutdown(self.world)
