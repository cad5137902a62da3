"""What the Training page decides, without a browser: who may train, which corpus, which options.

- :func:`training_access` — the admin secret of the survey pages gates training when one is set; with
  none, training is open only while the server listens on the loopback interface alone.
- :func:`check_upload` / :func:`save_upload` — an uploaded corpus is checked at once with the training
  CLI's own messages, then split into train / valid / test files under the training folder.
- :func:`folder_corpus` — a corpus folder on the server (train / valid / test files found by name).
- :class:`RunForm` — the page's choices as ``--section.key=value`` options of ``textvae_core.train``.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from textvae_core.config import RunConfig
from textvae_core.corpus import CorpusError, decode_corpus, guess_format, parse_corpus
from textvae_core.rundir import JOB_LOG, KEPT_FIGURES

from .jobs import ACTIVE, JobStatus

PTB = {"train": "data/ptb/ptb.train.txt", "valid": "data/ptb/ptb.valid.txt", "test": "data/ptb/ptb.test.txt"}
LOCAL_ADDRESSES = {"127.0.0.1", "localhost", "::1", "[::1]"}
MIN_UPLOAD_SENTENCES = 50  # an upload is split three ways: fewer lines leave nothing to validate on
HOLDOUT = 0.05  # share of an uploaded corpus held out for validation, and again for test
SPLIT_NAMES = {"train": ("train",), "valid": ("valid", "val", "dev"), "test": ("test",)}


def training_access(address: str | None, secret_set: bool) -> tuple[str, str]:
    """("secret" | "open" | "locked", what the page says) for a server bound to ``address``
    (Streamlit's server.address; unset means every interface)."""
    if secret_set:
        return "secret", "Training is open to holders of the admin secret (the survey pages' secret)."
    if (address or "").strip() in LOCAL_ADDRESSES:
        return "open", (
            f"Training is open without a secret because this server listens on {address} only: nobody on "
            "another machine can reach it. Set an admin secret before serving the app on other addresses."
        )
    where = f"on {address}" if address else "on every network interface (server.address is not set)"
    return "locked", (
        f"Training is locked: this server listens {where}, and no admin secret is set, so anyone who can "
        "reach it could start jobs on this machine. Either serve it on localhost only "
        "(`--server.address 127.0.0.1`) or set an admin secret."
    )


@dataclass
class Upload:
    name: str
    data: bytes
    fmt: str  # text | labelled
    n_sentences: int
    labels: list[str]  # distinct labels of a labelled corpus, most frequent first


def check_upload(data: bytes, name: str) -> Upload:
    """Check an uploaded corpus as the CLI checks its files (empty, binary, not UTF-8, bad labelled lines)
    and that it has enough sentences to hold some out; raises CorpusError with the message to show."""
    text = decode_corpus(data, name)
    fmt = guess_format(text)
    sentences, labels = parse_corpus(text, name, fmt=fmt)
    if len(sentences) < MIN_UPLOAD_SENTENCES:
        raise CorpusError(
            f"{name}: only {len(sentences)} sentence(s); at least {MIN_UPLOAD_SENTENCES} are needed "
            "to hold some out for validation and test"
        )
    counts: dict[str, int] = {}
    for label in labels or []:
        counts[label] = counts.get(label, 0) + 1
    return Upload(name, data, fmt, len(sentences), sorted(counts, key=lambda k: -counts[k]))


def save_upload(root: Path, upload: Upload, seed: int = 0) -> tuple[dict[str, str], str]:
    """Write the upload as train / valid / test files (a seeded shuffle; labels stay on their lines) under
    ``root/corpora/``; returns the split paths and the format. The same file twice is stored once."""
    lines = [ln for ln in upload.data.decode("utf-8").splitlines() if ln.strip()]
    random.Random(seed).shuffle(lines)
    n_hold = max(1, round(HOLDOUT * len(lines)))
    parts = {"valid": lines[:n_hold], "test": lines[n_hold : 2 * n_hold], "train": lines[2 * n_hold :]}
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(upload.name).stem).strip("-.") or "corpus"
    folder = Path(root) / "corpora" / f"{stem}-{hashlib.sha256(upload.data).hexdigest()[:10]}"
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for split, part in parts.items():
        path = folder / f"{split}.txt"
        if not path.exists():
            path.write_text("\n".join(part) + "\n", encoding="utf-8")
        paths[split] = str(path)
    return paths, upload.fmt


def folder_corpus(folder: str) -> tuple[dict[str, str], str]:
    """The train / valid / test files of a corpus folder on the server (``train.txt``, ``ptb.valid.txt``,
    ``dev.tsv``, …) and their format; raises CorpusError when the folder has no training file."""
    path = Path(folder).expanduser()
    if not path.is_dir():
        raise CorpusError(f"{folder}: no such folder on the server")
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix in {".txt", ".tsv", ""})
    found: dict[str, str] = {}
    for split, names in SPLIT_NAMES.items():
        match = [p for p in files if any(n in re.split(r"[^a-z]+", p.name.lower()) for n in names)]
        if match:
            found[split] = str(match[0].resolve())
    if "train" not in found:
        raise CorpusError(f"{folder}: no training file (a name with 'train' in it, e.g. train.txt)")
    head = Path(found["train"]).read_bytes()[:200_000]
    text = decode_corpus(head, found["train"])
    fmt = guess_format("\n".join(text.splitlines()[:-1]) or text)  # the last line may be cut short
    return {"train": found["train"], "valid": found.get("valid", ""), "test": found.get("test", "")}, fmt


@dataclass
class RunForm:
    """The page's choices; every field maps to one option of the training CLI."""

    corpus: dict[str, str] = field(default_factory=lambda: dict(PTB))
    fmt: str = "text"
    objective: str = "beta-c"
    knobs: dict[str, object] = field(default_factory=dict)  # objective.m, beta, schedule, warmup_steps, C, α, λ
    encoder: str = "lstm"
    decoder: str = "lstm"
    latent: str = "dense"  # dense | fmp | ladder (model.latent; the ladder's layer sizes keep their defaults)
    size: str = "small"
    epochs: float = 1.0
    batch_size: int = 64
    lr: float = 1e-3
    word_dropout: float = 0.0
    device: str = "auto"
    threads: int = 0
    log_every: int = 10
    recipe: bool = False  # the rate recipe (docs/ABLATION.md): batch-normalised μ, bag-of-words loss, C ramp
    keep_best: str = ""  # train.keep_best: "" (the last step's weights) | rec | nll_bound (the best validation's)
    aggressive: bool = False  # train.aggressive: He et al.'s encoder-only updates until validation I(x; z) falls
    dropout: float = 0.0  # model.dropout and model.emb_dropout: the decoder's inputs and outputs (probability)
    z_mode: str = "concat"  # model.z_mode: how z enters an RNN decoder (concat | init | both)
    tie: bool = False  # model.tie_embeddings: the output layer is the embedding matrix (projected to its width)
    lr_decay: float = 1.0  # train.lr_decay: lr × this when the validation −ELBO (D if keep_best = rec) stops falling
    lr_min_gain: float = 0.0  # train.lr_min_gain: nats/sentence a validation must gain to count as falling
    lr_schedule: str = "constant"  # train.lr_schedule: constant (or the plateau decay) | cosine to lr_final
    lr_final: float = 0.0  # train.lr_final: the cosine's lr at the last step
    lr_hold: float = 0.0  # train.lr_hold: epochs at lr before the cosine starts to fall
    average_from: float = 0.0  # train.average_from: the epoch a weight average (SWA) starts at; 0 = off
    average_every: int = 100  # train.average_every: updates between the average's samples
    base: str = ""  # a run's config.json to train like (model, objective, optimiser); then only corpus,
    # epochs, device and threads come from the form (warm-ups in steps rescaled to the corpus's epochs)

    def args(self, **knob_overrides: object) -> list[str]:
        """``--key=value`` options for ``python -m textvae_core.train`` (the run folder is added by jobs)."""
        if self.base:
            return self._like_base(knob_overrides)
        out = [f"--data.{split}={path}" for split, path in self.corpus.items()]
        out += [f"--data.format={self.fmt}", f"--objective={self.objective}"]
        for key, value in {**self.knobs, **knob_overrides}.items():
            out.append(f"--objective.{key}={'none' if value is None else value}")
        out += [f"--model.encoder={self.encoder}", f"--model.decoder={self.decoder}", f"--size={self.size}"]
        out += [f"--model.latent={self.latent}"]
        out += [f"--epochs={self.epochs:g}", f"--batch_size={self.batch_size}", f"--lr={self.lr:g}"]
        out += [f"--word_dropout={self.word_dropout:g}", f"--device={self.device}", f"--log_every={self.log_every}"]
        if self.threads:
            out.append(f"--num_threads={self.threads}")
        if self.keep_best:
            out.append(f"--train.keep_best={self.keep_best}")
        if self.aggressive:
            out.append("--train.aggressive=true")
        out += [f"--model.dropout={self.dropout:g}", f"--model.emb_dropout={self.dropout:g}"]
        out += [f"--model.z_mode={self.z_mode}", f"--train.lr_decay={self.lr_decay:g}"]
        if self.tie:
            out.append("--model.tie_embeddings=true")
        out += ["--train.lr_patience=1", f"--train.lr_min_gain={self.lr_min_gain:g}"]
        out += [f"--train.lr_schedule={self.lr_schedule}", f"--train.lr_final={self.lr_final:g}"]
        out.append(f"--train.lr_hold={self.lr_hold:g}")
        if self.average_from:
            out += [f"--train.average_from={self.average_from:g}", f"--train.average_every={self.average_every}"]
        if self.recipe:
            out += recipe_args(self.corpus.get("train", ""), self.batch_size, {**self.knobs, **knob_overrides})
        return out

    def _like_base(self, knob_overrides: dict[str, object]) -> list[str]:
        """The base run's config.json, this form's corpus, budget and device; nothing of the base run's own
        stopping (steps, minutes) or initialisation carried over."""
        cfg = RunConfig.load(Path(self.base))
        out = [f"--config={self.base}", f"--data.format={self.fmt}"]
        out += [f"--data.{split}={self.corpus.get(split, '')}" for split in ("train", "valid", "test")]
        out += [f"--epochs={self.epochs:g}", "--train.max_steps=0", "--train.max_minutes=0", "--train.init_from="]
        out += [f"--device={self.device}", f"--log_every={self.log_every}"]
        if self.threads:
            out.append(f"--num_threads={self.threads}")
        scale = epoch_ratio(cfg.data.train, self.corpus.get("train", ""), cfg.train.batch_size)
        o = cfg.objective
        if scale is not None and o.C_warmup_steps:
            out.append(f"--objective.C_warmup_steps={max(1, round(o.C_warmup_steps * scale))}")
        if scale is not None and o.warmup_steps:
            out.append(f"--objective.warmup_steps={max(1, round(o.warmup_steps * scale))}")
        for key, value in knob_overrides.items():
            out.append(f"--objective.{key}={'none' if value is None else value}")
        return out


def count_lines(path: str) -> int:
    """Non-empty lines of a corpus file (0 when it cannot be read); a relative path may be the repository's."""
    from textvae_core.paths import ROOT

    for candidate in (Path(path), ROOT / path):
        try:
            with open(candidate, "rb") as f:
                return sum(1 for line in f if line.strip())
        except OSError:
            continue
    return 0


def epoch_ratio(old_train: str, new_train: str, batch_size: int) -> float | None:
    """Steps per epoch on ``new_train`` over those on ``old_train`` at one batch size: a warm-up set in steps
    (two epochs of PTB for the β_C ramp) keeps its length in epochs on another corpus. None: unknown / same."""
    old, new = count_lines(old_train), count_lines(new_train)
    if not old or not new or old == new:
        return None
    steps = max(1, batch_size)
    return -(-new // steps) / -(-old // steps)


def recipe_args(train_file: str, batch_size: int, knobs: dict[str, object]) -> list[str]:
    """The options of the rate recipe: a batch-normalised μ with a learned scale (random batches, so batch
    statistics describe the data), a bag-of-words loss on z, and, when the objective has a C, C ramped from
    0 over the first two epochs as the β_C paper's code does."""
    out = ["--model.mu_norm=batchnorm", "--model.mu_scale_learn=true", "--model.bow_head=true"]
    out += ["--objective.bow=1", "--train.bucket_chunk=1"]
    if knobs.get("C") is not None and (lines := count_lines(train_file)):
        steps = 2 * -(-lines // max(1, batch_size))
        out += ["--objective.C_schedule=linear", f"--objective.C_warmup_steps={steps}"]
    return out


KEEP_CHOICES = {"": "the last step's", **{k: f"best {v}" for k, v in KEPT_FIGURES.items()}}  # RunForm.keep_best
LATENTS = ("dense", "fmp", "ladder")
TIE_HELP = (
    "The decoder's vocabulary projection reuses the word embedding matrix (Press & Wolf 2017), through a linear "
    "map when the decoder is wider than the embedding: the largest matrix of a small model is learned once, from "
    "both ends. With a decay phase it took the shipped likelihood run's test −ELBO from 104.77 to 101.37, and "
    "at C = 100 test D from 74.89 to 56.77 and reconstruction BLEU-4 from 13.39 to 17.41 (docs/PAPER_SIZE.md)."
)
Z_MODES = {"concat": "each input", "init": "first state", "both": "both"}  # RunForm.z_mode
LR_SCHEDULES = {"constant": "constant", "plateau": "× on a plateau", "cosine": "cosine"}  # the form's choices
LATENT_HELP = (
    "dense: one z; fmp: one z per position of the encoder's last feature map (KL summed); ladder: L stochastic "
    "layers with conditional priors (sizes: the CLI's --model.ladder_z). docs/MODEL_FAMILIES.md compares them."
)

THREADS_HELP = (
    "torch threads per job: the cores divided among the jobs that run at once. More threads than free "
    "cores makes every step wait for descheduled threads (a tiny model trained 200× slower that way here)."
)


def default_threads(jobs_at_once: int) -> int:
    """The machine's cores shared out among the jobs allowed to run at once (at least one each)."""
    return max(1, (os.cpu_count() or 1) // max(1, jobs_at_once))


def parse_sweep(text: str) -> list[float]:
    """C values typed as "5, 10, 20" (or spaces), each ≥ 0, no repeats, in the order given."""
    values: list[float] = []
    for part in re.split(r"[,\s;]+", text.strip()):
        if not part:
            continue
        try:
            c = float(part)
        except ValueError:
            raise ValueError(f"{part!r} is not a number") from None
        if c < 0:
            raise ValueError(f"C = {part} is negative: a capacity is a KL value, ≥ 0")
        if c not in values:
            values.append(c)
    if not values:
        raise ValueError("type the C values of the sweep, e.g. 5, 10, 20, 40")
    return values


def sweep_name(base: str, c: float) -> str:
    return f"{base}-c{c:g}"


def devices() -> list[str]:
    """Devices a run may train on: auto (CUDA when present), the CPU, and each visible GPU."""
    import torch

    return ["auto", "cpu", *(f"cuda:{i}" for i in range(torch.cuda.device_count()))]


def capacity(run_dir: Path) -> float | None:
    """The run's capacity C from its config.json (None when it has none, or no config yet)."""
    from textvae_core.rundir import CheckpointError, read_config

    try:
        return read_config(run_dir).objective.C
    except CheckpointError:
        return None


def job_row(status: JobStatus) -> dict[str, object]:
    """One row of the jobs table."""
    job = status.job
    stamp = lambda t: time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) if t else ""  # noqa: E731
    return {
        "run": status.name,
        "state": status.state,
        "last checkpoint": status.checkpoint_step,
        "queued": stamp(job.get("queued_at")),
        "started": stamp(job.get("started_at")),
        "ended": stamp(job.get("ended_at")) if status.state not in ACTIVE else "",
        "evaluate": bool(job.get("evaluate")),
        "pid": job.get("pid") if status.state in ACTIVE else None,
        "message": status.message,
    }


def log_tail(run_dir: Path, lines: int = 30) -> str:
    """The last lines of the job's log (training, then evaluation output)."""
    try:
        with open(Path(run_dir) / JOB_LOG, "rb") as f:
            f.seek(max(0, f.seek(0, 2) - 16384))
            text = f.read().decode("utf-8", errors="replace")
    except OSError:
        return "(no log yet)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty)"
