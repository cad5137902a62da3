"""What the Training page decides, without a browser: who may train, which corpus, and the jobs table.

- :func:`training_access` — the admin secret of the survey pages gates training when one is set; with
  none, training is open only to a request that is local by every sign (explorer.gate): the server listens
  on the loopback interface alone and the browser reached it by a loopback name, through no proxy.
- :func:`check_upload` / :func:`save_upload` — an uploaded corpus is checked at once with the training
  CLI's own messages, then split into train / valid / test files under the training folder.
- :func:`folder_corpus` — a corpus folder on the server (train / valid / test files found by name), inside
  the folders corpora may come from (:func:`corpus_roots`), so the form cannot read any file the app can.

The form itself is generated from the config dataclasses (explorer.config_form); jobs are explorer.jobs's.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from textvae_core.corpus import CorpusError, decode_corpus, guess_format, parse_corpus
from textvae_core.io import atomic_write_text
from textvae_core.paths import ROOT
from textvae_core.rundir import JOB_LOG

from .gate import is_local_request
from .jobs import ACTIVE, JobStatus

PTB = {"train": "data/ptb/ptb.train.txt", "valid": "data/ptb/ptb.valid.txt", "test": "data/ptb/ptb.test.txt"}
CORPORA_ENV = "TEXTVAE_CORPORA"  # more folders (os.pathsep-separated) whose corpora the Training page may use
MIN_UPLOAD_SENTENCES = 50  # an upload is split three ways: fewer lines leave nothing to validate on
HOLDOUT = 0.05  # share of an uploaded corpus held out for validation, and again for test
SPLIT_NAMES = {"train": ("train",), "valid": ("valid", "val", "dev"), "test": ("test",)}


TEST_SIZES = {"tiny"}  # model sizes the tests use: they learn next to nothing from a real corpus


def size_label(name: str) -> str:
    """A model size as the form lists it: a test size says so, not to be picked by mistake."""
    return f"{name} (a test size: learns next to nothing)" if name in TEST_SIZES else name


def training_access(address: str | None, secret_set: bool, headers: Mapping[str, str]) -> tuple[str, str]:
    """("secret" | "open" | "locked", what the page says) for a request with ``headers`` to a server bound to
    ``address`` (Streamlit's server.address; unset means every interface)."""
    if secret_set:
        return "secret", "Training is open to holders of the admin secret (the survey pages' secret)."
    if is_local_request(headers, address):
        return "open", (
            f"Training is open without a secret because this server listens on {address} only and this browser "
            "reached it from this machine. Set an admin secret before serving the app to anyone else."
        )
    if (address or "").strip() in {"127.0.0.1", "localhost", "::1", "[::1]"}:
        host = next((v for k, v in headers.items() if k.lower() == "host"), None)
        return "locked", (
            f"Training is locked: this request {f'names the server {host!r}' if host else 'gives no host name'}, "
            "or came through a proxy, so it may come from another machine or another site; without an admin "
            "secret only a browser on this machine that opens http://localhost:PORT may train."
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
    lines = [ln for ln in decode_corpus(upload.data, upload.name).splitlines() if ln.strip()]  # BOM dropped
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
            atomic_write_text(path, "\n".join(part) + "\n")
        paths[split] = str(path)
    return paths, upload.fmt


def corpus_roots(train_root: Path | None = None) -> list[Path]:
    """The folders a corpus on the server may come from: the repository's data/, the uploads under the
    training folder, and those listed in $TEXTVAE_CORPORA (os.pathsep-separated)."""
    listed = [Path(p).expanduser() for p in os.environ.get(CORPORA_ENV, "").split(os.pathsep) if p.strip()]
    roots = [ROOT / "data", *([Path(train_root) / "corpora"] if train_root else []), *listed]
    return [r.resolve() for r in roots]


def _inside(path: Path, roots: list[Path]) -> bool:
    return any(path == r or path.is_relative_to(r) for r in roots)


def folder_corpus(folder: str, roots: list[Path] | None = None) -> tuple[dict[str, str], str]:
    """The train / valid / test files of a corpus folder on the server (``train.txt``, ``ptb.valid.txt``,
    ``dev.tsv``, …) and their format; raises CorpusError when the folder has no training file, or when it (or
    a file in it, links followed) lies outside the folders corpora may come from (``roots``)."""
    roots = corpus_roots() if roots is None else roots
    path = Path(folder).expanduser()
    if not path.is_dir():
        raise CorpusError(f"{folder}: no such folder on the server")
    if not _inside(path.resolve(), roots):
        raise CorpusError(
            f"{folder}: not a corpus folder this page may read; corpora come from "
            f"{', '.join(str(r) for r in roots)} (the server's owner adds folders with ${CORPORA_ENV})"
        )
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix in {".txt", ".tsv", ""})
    found: dict[str, str] = {}
    for split, names in SPLIT_NAMES.items():
        match = [p for p in files if any(n in re.split(r"[^a-z]+", p.name.lower()) for n in names)]
        if match:
            found[split] = str(match[0].resolve())
    if "train" not in found:
        raise CorpusError(f"{folder}: no training file (a name with 'train' in it, e.g. train.txt)")
    outside = [p for p in found.values() if not _inside(Path(p), roots)]
    if outside:
        raise CorpusError(f"{folder}: {Path(outside[0]).name} links to a file outside the corpus folders")
    head = Path(found["train"]).read_bytes()[:200_000]
    text = decode_corpus(head, found["train"])
    fmt = guess_format("\n".join(text.splitlines()[:-1]) or text)  # the last line may be cut short
    return {"train": found["train"], "valid": found.get("valid", ""), "test": found.get("test", "")}, fmt


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


JOB_COLUMNS = {  # the jobs table's column widths: times and messages are read whole, not cut off
    "run": "medium", "state": "small", "last checkpoint": "small", "queued": "medium", "started": "medium",
    "ended": "medium", "evaluate": "small", "pid": "small", "message": "large",
}  # fmt: skip


def when(t: float | None) -> str:
    """A job's time as the table shows it: the clock time today, the day and clock time before; "" for none."""
    if not t:
        return ""
    same_day = time.localtime(t)[:3] == time.localtime()[:3]
    return time.strftime("%H:%M:%S" if same_day else "%d %b %H:%M", time.localtime(t))


def job_row(status: JobStatus) -> dict[str, str]:
    """One row of the jobs table, in words: no "None", a time only where there is one, a pid only while the job
    runs, the last checkpoint as a step."""
    job = status.job
    step = status.checkpoint_step
    return {
        "run": status.name,
        "state": status.state,
        "last checkpoint": f"step {step:,}" if step is not None else "none yet",
        "queued": when(job.get("queued_at")),
        "started": when(job.get("started_at")),
        "ended": when(job.get("ended_at")) if status.state not in ACTIVE else "",
        "evaluate": "yes" if job.get("evaluate") else "no",
        "pid": str(job["pid"]) if status.state in ACTIVE and job.get("pid") else "",
        "message": status.message or "",
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
