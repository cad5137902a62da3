"""timbmg/Sentence-VAE, run unmodified from a scratch folder under its own interpreter, timed and measured.

The anchor is the most used PyTorch sentence VAE (Bowman et al. 2016); ``COMMIT`` is the version these
benchmarks were written against. Nothing of its code is copied here: this module prepares folders,
launches its ``train.py`` with ``ANCHOR_PYTHON`` (a venv with torch, numpy, nltk and tensorboardX, which
its train.py imports), timestamps every line it prints, and parses those lines. It imports no torch.

What it measures, and how (``benchmarks/train_throughput.py --anchor`` and
``benchmarks/time_to_quality.py`` use it):

1. ``prepare``: the PTB files copied into ``WORK/prep/data`` and the anchor's own preprocessing run on
   them (its train.py with 0 epochs): TweetTokenizer re-tokenisation, lower case, words seen once → <unk>
   (vocabulary 9,877), sentences truncated to 59 words + <eos> (max_sequence_length 60), written as
   ``ptb.{train,valid}.json`` and ``ptb.vocab.json``. Kept and reused while the PTB files and the
   anchor's ptb.py are unchanged (a marker file records their checksums).
2. ``make_subset``: a fixed (seeded) random subset of the preprocessed training sentences, so that one
   anchor epoch is a known number of iterations on the full-data vocabulary; its target tokens are the
   sum of the json ``length`` fields (words after truncation + <eos>), and its line numbers let our
   Trainer train on the very same sentences.
3. ``train``: its train.py at its defaults for K epochs in a fresh run folder, each output line stamped
   with the seconds since launch (``train.log``): the end of batch 0's update, the end of each epoch's
   training (its ``TRAIN Epoch`` line, printed after the epoch's last update, before the checkpoint
   and the validation pass), the end of each validation pass.
4. ``iteration_rate``: target tokens per second from the end of batch 0 to the end of the epoch's
   loop (N − 1 iterations), as the anchors' README measured 2,163–2,253 tokens/s on 2 cores. The
   anchor's DataLoader shuffles with an unseeded generator, so which sentences fall in batch 0 is not
   known: the timed tokens are the subset's total × (N − 1)/N (the expected count; one batch in N).
5. ``evaluate``: every per-epoch checkpoint (``bin/<timestamp>/E{i}.pytorch``, plain state dicts read
   with ``weights_only=True``) measured on the test split by ``sentence_vae_eval.py`` with the anchor's
   own model.py and ptb.py: D and KL per sentence from one z ~ q(z|x) (the anchor's "NLL" is this
   distortion, not log p(x)), −ELBO = D + KL per sentence and per target token.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

COMMIT = "4e2c7009ff36677c40d0b252400f68a5ea114078"  # timbmg/Sentence-VAE, the version measured
BATCH_SIZE = 32  # its train.py's default --batch_size
KL_K, KL_X0 = 0.0025, 2500  # its logistic KL anneal: weight = 1 / (1 + exp(−k·(step − x0)))
SPLITS = ("train", "valid", "test")
EVAL_PROGRAM = Path(__file__).with_name("sentence_vae_eval.py")
SOURCE_FILES = ("train.py", "model.py", "ptb.py", "utils.py")

_BATCH = re.compile(r"^(TRAIN|VALID|TEST) Batch (\d+)/(\d+), Loss\s+(\S+)")
_EPOCH = re.compile(r"^(TRAIN|VALID|TEST) Epoch (\d+)/(\d+), Mean ELBO\s+(\S+)")
_SAVED = re.compile(r"^Model saved at (\S+\.pytorch)\s*$")


class AnchorError(RuntimeError):
    """The anchor could not be run or its output not read; the message says what to check."""


@dataclass(frozen=True)
class Anchor:
    """Where the anchor's source is and which interpreter runs it, with the threads it may use."""

    src: Path  # a checkout (or git archive) of timbmg/Sentence-VAE: train.py, model.py, ptb.py, utils.py
    python: Path  # an interpreter with torch, numpy, nltk and tensorboardX
    threads: int = 2  # OMP_NUM_THREADS for its process (its DataLoader also starts cpu_count() workers)

    @classmethod
    def at(cls, src: str | Path, python: str | Path, threads: int = 2) -> Anchor:
        """The anchor at ``src`` run by ``python``, or an AnchorError saying which of them is missing."""
        src, python = Path(src).expanduser().resolve(), Path(python).expanduser()
        missing = [name for name in SOURCE_FILES if not (src / name).is_file()]
        if missing:
            raise AnchorError(
                f"{src}: not a timbmg/Sentence-VAE checkout (missing {', '.join(missing)}); "
                f"fetch it (commit {COMMIT}) into a scratch folder outside the repository"
            )
        if not (python.is_file() and os.access(python, os.X_OK)):
            raise AnchorError(
                f"{python}: no such interpreter (give the python of a venv with torch, numpy, nltk, tensorboardX)"
            )
        return cls(src, python, threads)

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("PYTHONPATH", None)  # the anchor imports its own modules from its folder, nothing of ours
        env |= {"OMP_NUM_THREADS": str(self.threads), "MKL_NUM_THREADS": str(self.threads), "PYTHONUNBUFFERED": "1"}
        return env


# ----------------------------------------------------------------------------------------- its output


@dataclass
class EpochMark:
    """One epoch of the anchor's training, read from its stamped output (seconds since its launch)."""

    epoch: int
    train_end_s: float  # its 'TRAIN Epoch' line: the epoch's last update is done (before checkpoint and validation)
    train_elbo: float  # its mean training loss over the epoch (with the annealed KL weight)
    checkpoint: str = ""  # path of E{epoch}.pytorch as printed (relative to the run folder)
    valid_end_s: float | None = None  # its 'VALID Epoch' line: the validation pass is done
    valid_elbo: float | None = None  # its mean validation loss (annealed KL weight, one z per sentence)


@dataclass
class AnchorLog:
    first_batch_s: float | None = None  # the first 'TRAIN Batch 0000/…' line: batch 0's update is done
    train_batches: int = 0  # iterations per training epoch (its 'Batch 0000/N−1' lines say N − 1)
    epochs: list[EpochMark] = field(default_factory=list)


def parse_log(lines: Iterable[tuple[float, str]]) -> AnchorLog:
    """The timing marks in the anchor's output, given as (seconds since launch, line) pairs."""
    log = AnchorLog()
    for t, text in lines:
        text = text.strip()
        if m := _BATCH.match(text):
            if m[1] == "TRAIN" and int(m[2]) == 0 and log.first_batch_s is None:
                log.first_batch_s, log.train_batches = t, int(m[3]) + 1
        elif m := _EPOCH.match(text):
            epoch, value = int(m[2]), float(m[4])
            if m[1] == "TRAIN":
                log.epochs.append(EpochMark(epoch, t, value))
            elif m[1] == "VALID" and log.epochs and log.epochs[-1].epoch == epoch:
                log.epochs[-1].valid_end_s, log.epochs[-1].valid_elbo = t, value
        elif (m := _SAVED.match(text)) and log.epochs:
            log.epochs[-1].checkpoint = m[1]
    return log


def format_stamped(t: float, line: str) -> str:
    return f"{t:.6f} {line}\n"


def read_stamped(path: Path) -> list[tuple[float, str]]:
    """The (seconds, line) pairs of a train.log written by ``run_stamped``."""
    out = []
    for raw in Path(path).read_text(encoding="utf-8").splitlines():
        t, _, text = raw.partition(" ")
        out.append((float(t), text))
    return out


@dataclass
class Rate:
    """Training speed over a timed stretch of optimizer steps."""

    steps: int  # timed optimizer steps
    seconds: float
    tokens: float  # target tokens of the timed steps (each side's own tokenisation, + end of sentence)
    sentences: int

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.seconds

    @property
    def sentences_per_s(self) -> float:
        return self.sentences / self.seconds

    def to_dict(self) -> dict[str, float]:
        return {
            "steps": self.steps,
            "seconds": round(self.seconds, 3),
            "tokens_per_s": round(self.tokens_per_s, 1),
            "sentences_per_s": round(self.sentences_per_s, 2),
        }


def iteration_rate(log: AnchorLog, subset_tokens: int, iterations: int, batch_size: int = BATCH_SIZE) -> Rate:
    """Tokens per second of a one-epoch run on an ``iterations`` × ``batch_size`` subset: from batch 0's
    line to the epoch's line, N − 1 iterations, counted as (N − 1)/N of the subset's target tokens."""
    if log.first_batch_s is None or not log.epochs:
        raise AnchorError("the anchor's output has no 'TRAIN Batch 0000/…' or 'TRAIN Epoch …' line to time")
    if log.train_batches != iterations:
        raise AnchorError(f"the anchor ran {log.train_batches} iterations per epoch, {iterations} expected")
    if iterations < 2:
        raise AnchorError("at least 2 iterations are needed (the first one is not timed)")
    timed = iterations - 1
    seconds = log.epochs[0].train_end_s - log.first_batch_s
    return Rate(timed, seconds, subset_tokens * timed / iterations, timed * batch_size)


# ----------------------------------------------------------------------------------------- its data


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def run_stamped(
    cmd: list[str],
    cwd: Path,
    env: dict[str, str],
    log_path: Path,
    echo: Callable[[float, str], Any] | None = None,
) -> tuple[int, list[tuple[float, str]]]:
    """Run ``cmd`` with stdout and stderr merged, stamping each line with the seconds since the launch
    (written to ``log_path`` as it arrives); returns the exit status and the stamped lines."""
    import time

    lines: list[tuple[float, str]] = []
    t0 = time.perf_counter()
    with (
        open(log_path, "w", encoding="utf-8") as out,
        subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
        ) as proc,
    ):
        assert proc.stdout is not None
        for raw in proc.stdout:
            t = time.perf_counter() - t0
            line = raw.rstrip("\n")
            lines.append((t, line))
            out.write(format_stamped(t, line))
            out.flush()
            if echo is not None:
                echo(t, line)
        status = proc.wait()
    return status, lines


def _tail(lines: list[tuple[float, str]], n: int = 15) -> str:
    return "\n".join(text for _, text in lines[-n:])


def prepare(anchor: Anchor, ptb_dir: Path, work: Path) -> Path:
    """``WORK/prep/data`` holding ptb.{train,valid,test}.txt and the anchor's own preprocessing of them
    (its train.py with 0 epochs); reused when the PTB files and the anchor's ptb.py have not changed."""
    ptb_dir, prep = Path(ptb_dir), Path(work) / "prep"
    data = prep / "data"
    texts = {split: ptb_dir / f"ptb.{split}.txt" for split in SPLITS}
    missing = [str(p) for p in texts.values() if not p.is_file()]
    if missing:
        raise AnchorError(f"PTB files not found: {', '.join(missing)}")
    marker = {"ptb.py": _sha256(anchor.src / "ptb.py"), **{p.name: _sha256(p) for p in texts.values()}}
    made = [data / "ptb.train.json", data / "ptb.valid.json", data / "ptb.vocab.json"]
    stamp = prep / "prepared.json"
    if stamp.is_file() and all(p.is_file() for p in made) and json.loads(stamp.read_text()) == marker:
        return data
    shutil.rmtree(prep, ignore_errors=True)
    data.mkdir(parents=True)
    for path in texts.values():
        shutil.copyfile(path, data / path.name)
    cmd = [str(anchor.python), str(anchor.src / "train.py"), "--data_dir", "data", "-ep", "0"]
    status, lines = run_stamped(cmd, prep, anchor.env(), prep / "prep.log")
    if status != 0 or not all(p.is_file() for p in made):
        raise AnchorError(f"the anchor's preprocessing failed (exit {status}); its last lines:\n{_tail(lines)}")
    stamp.write_text(json.dumps(marker, indent=1) + "\n")
    return data


@dataclass
class Subset:
    """A data folder for the anchor holding some of the preprocessed sentences, and which they are."""

    data_dir: Path
    train_lines: list[int]  # 0-based line numbers in ptb.train.txt, in the subset's order
    train_tokens: int  # target tokens of the subset on the anchor's tokenisation (sum of 'length')
    valid_lines: list[int]


def make_subset(prepared: Path, out: Path, n_train: int = 0, n_valid: int = 0, seed: int = 0) -> Subset:
    """``out`` with the vocabulary, the PTB text files and a seeded random ``n_train`` of the training
    sentences (0: all) and the first ``n_valid`` validation sentences (0: all), renumbered from 0."""
    prepared, out = Path(prepared), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    train = json.loads((prepared / "ptb.train.json").read_text(encoding="utf-8"))
    keys = sorted(train, key=int)
    if n_train > len(keys):
        raise AnchorError(f"a subset of {n_train} training sentences asked for; the anchor's data has {len(keys)}")
    if n_train:
        random.Random(seed).shuffle(keys)
        keys = keys[:n_train]
    sub = {str(i): train[k] for i, k in enumerate(keys)}
    (out / "ptb.train.json").write_text(json.dumps(sub), encoding="utf-8")
    valid = json.loads((prepared / "ptb.valid.json").read_text(encoding="utf-8"))
    vkeys = sorted(valid, key=int)[: n_valid or None]
    (out / "ptb.valid.json").write_text(json.dumps({str(i): valid[k] for i, k in enumerate(vkeys)}), encoding="utf-8")
    shutil.copyfile(prepared / "ptb.vocab.json", out / "ptb.vocab.json")
    for split in SPLITS:
        shutil.copyfile(prepared / f"ptb.{split}.txt", out / f"ptb.{split}.txt")
    tokens = sum(int(v["length"]) for v in sub.values())
    return Subset(out, [int(k) for k in keys], tokens, [int(k) for k in vkeys])


# ----------------------------------------------------------------------------------------- running it


@dataclass
class AnchorRun:
    run_dir: Path  # the anchor's working directory: bin/, dumps/, train.log
    log: AnchorLog
    lines: list[tuple[float, str]]

    @property
    def checkpoint_dir(self) -> Path:
        """bin/<timestamp>: model_params.json and E{i}.pytorch."""
        if not self.log.epochs or not self.log.epochs[0].checkpoint:
            raise AnchorError(f"{self.run_dir}: the anchor's output names no checkpoint")
        return (self.run_dir / self.log.epochs[0].checkpoint).parent


def train(
    anchor: Anchor,
    data_dir: Path,
    run_dir: Path,
    epochs: int,
    echo: Callable[[float, str], Any] | None = None,
) -> AnchorRun:
    """Its train.py, unmodified, at its defaults for ``epochs`` epochs on ``data_dir``, in a new ``run_dir``."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=False)
    cmd = [
        str(anchor.python),
        str(anchor.src / "train.py"),
        "--data_dir",
        str(Path(data_dir).resolve()),
        "-ep",
        str(epochs),
    ]
    status, lines = run_stamped(cmd, run_dir, anchor.env(), run_dir / "train.log", echo)
    if status != 0:
        raise AnchorError(f"the anchor's train.py failed (exit {status}) in {run_dir}; its last lines:\n{_tail(lines)}")
    log = parse_log(lines)
    if len(log.epochs) != epochs or any(not e.checkpoint for e in log.epochs):
        raise AnchorError(
            f"the anchor's output in {run_dir} shows {len(log.epochs)} finished epochs of {epochs} "
            f"(is {anchor.src} timbmg/Sentence-VAE at {COMMIT[:7]}?); its last lines:\n{_tail(lines)}"
        )
    return AnchorRun(run_dir, log, lines)


@dataclass(frozen=True)
class EvalSettings:
    """What ``sentence_vae_eval.py`` measures, handed to it as one JSON object."""

    data_dir: str  # folder with ptb.test.txt and the run's ptb.vocab.json
    run_dir: str  # the anchor's bin/<timestamp> folder (model_params.json, E*.pytorch)
    out: str  # JSON file written with one record per checkpoint
    limit: int = 0  # first N test sentences only (0: all)
    batch_size: int = 64  # test sentences per batch
    threads: int = 0  # torch threads (0: torch's default)
    seed: int = 0  # seed of the z samples (the same for every checkpoint)


def evaluate(anchor: Anchor, run: AnchorRun, data_dir: Path, limit: int = 0, seed: int = 0) -> list[dict[str, Any]]:
    """Test figures of each of the run's checkpoints (``sentence_vae_eval.py`` under the anchor's python),
    each with the seconds since launch at which its epoch's training had ended (``seconds``)."""
    out = run.run_dir / "test_eval.json"
    settings = EvalSettings(
        str(Path(data_dir).resolve()), str(run.checkpoint_dir), str(out), limit, threads=anchor.threads, seed=seed
    )
    cmd = [str(anchor.python), str(EVAL_PROGRAM), json.dumps(asdict(settings))]
    env = anchor.env() | {"PYTHONPATH": str(anchor.src)}  # the anchor's model.py and ptb.py, nothing of ours
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise AnchorError(f"the test evaluation of {run.checkpoint_dir} failed:\n{done.stderr[-2000:]}")
    records = json.loads(out.read_text(encoding="utf-8"))
    ends = {e.epoch: e.train_end_s for e in run.log.epochs}
    for r in records:
        r["seconds"] = ends.get(r["epoch"])
    return records
