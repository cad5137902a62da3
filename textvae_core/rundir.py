"""A run folder: the one place that knows its file names and reads (or appends to) its JSON files.

    config.json             the RunConfig as given, its recipe's knobs filled (format version, architecture,
                            objective m / β / C, training, data) and vocab_size, the model's vocabulary dimension
    setup.json              what the Trainer derived from it, the data and the machine (RunSetup: steps per epoch,
                            ramps in steps, device, the precision it trains in); none in runs from before it
    vocab.json              the vocabulary
    model.safetensors       the weights; the header records the step and a SHA-256 of the tensors
    best.safetensors        train.keep_best: the weights of the best validation so far ("kept" in the header)
    average.safetensors     train.average_from: the weight average as of the last validation ("averaged" in the header)
    resume-<step>.pt        optimizer and RNG state of that step (written by checkpoint.save_checkpoint)
    metrics.jsonl           one JSON line per logged training step and per validation
    eval.json               every held-out figure (written by ``python -m textvae_core.evaluate``)
    latent_map.safetensors  the app's 2-D map of the aggregated posterior (explorer.latent_map)
    .train.lock             held by the training process while it writes the folder (textvae_core.trainer)
    job.log                 a job started from the app: its processes' output (the job itself is a row of the app's
                            own queue, explorer.jobs: no file in a run folder is ever run)
    .job.lock               held by the job's supervisor for the job's life

Nothing here imports torch: the app lists runs, draws curves and keys its caches with these alone, so
its first page draws before torch is imported. Loading the weights into a model is checkpoint's job.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import ConfigError, RunConfig
from .io import atomic_write_bytes, atomic_write_text
from .vocab import Vocab, VocabError

CONFIG = "config.json"
SETUP = "setup.json"
VOCAB = "vocab.json"
WEIGHTS = "model.safetensors"
BEST_WEIGHTS = "best.safetensors"
AVERAGE_WEIGHTS = "average.safetensors"
KEPT_FIGURES = {"rec": "valid D", "nll_bound": "valid −ELBO"}  # train.keep_best's choices, as the app names them
METRICS = "metrics.jsonl"
EVAL = "eval.json"
LATENT_MAP = "latent_map.safetensors"
RESUME_GLOB = "resume-*.pt"
TRAIN_LOCK = ".train.lock"
JOB_LOG = "job.log"
JOB_LOCK = ".job.lock"


class CheckpointError(ValueError):
    """A run directory or checkpoint file that cannot be loaded; the message says why."""


def resume_file(run_dir: str | Path, step: int) -> Path:
    """The optimizer and RNG state saved with the weights of ``step``."""
    return Path(run_dir) / f"resume-{step}.pt"


def is_run(run_dir: str | Path) -> bool:
    """A folder holding a config.json is a run (weights may not be written yet)."""
    return (Path(run_dir) / CONFIG).is_file()


def has_weights(run_dir: str | Path) -> bool:
    return (Path(run_dir) / WEIGHTS).exists()


def not_started(run_dir: str | Path) -> bool:
    """A run folder with a config.json but no weights: training was stopped or killed before its first
    checkpoint, so there is nothing to go on from; resuming it starts it afresh from its config.json."""
    return is_run(run_dir) and not has_weights(run_dir)


# -- config and vocabulary ---------------------------------------------------------------------------
def read_config(run_dir: str | Path) -> RunConfig:
    """The run's config from JSON alone (no weights read) — what the app lists runs with."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise CheckpointError(f"{run_dir}: no such run directory")
    try:
        return RunConfig.load(run_dir / CONFIG)
    except (ConfigError, TypeError) as err:
        raise CheckpointError(f"{run_dir}: {err}") from None


def write_config(run_dir: str | Path, cfg: RunConfig) -> None:
    cfg.save(Path(run_dir) / CONFIG)


def read_vocab(run_dir: str | Path) -> Vocab:
    try:
        return Vocab.load(Path(run_dir) / VOCAB)
    except VocabError as err:
        raise CheckpointError(str(err)) from None


def write_vocab(run_dir: str | Path, vocab: Vocab) -> None:
    vocab.save(Path(run_dir) / VOCAB)


def vocab_digest(vocab: Vocab) -> str:
    """SHA-256 of a vocabulary's tokens in order and its level: the weights' header records it, so a
    vocab.json with one token changed (same size, same shapes) is refused instead of decoding wrong words."""
    canonical = json.dumps({"level": vocab.level, "tokens": vocab.itos}, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def check_vocab(run_dir: str | Path, vocab: Vocab, meta: dict[str, str], vocab_size: int | None = None) -> None:
    """Refuse a vocabulary that is not the one the weights were trained with: a size other than config.json's
    vocab_size, or a checksum other than the one in the weights' header (weights written before the header
    recorded one are checked by size alone)."""
    if vocab_size and len(vocab) != vocab_size:
        raise CheckpointError(
            f"{run_dir}: vocab.json has {len(vocab)} symbols but config.json says {vocab_size}: "
            "the vocabulary belongs to another run"
        )
    recorded = meta.get("vocab_sha256")
    if recorded and recorded != vocab_digest(vocab):
        raise CheckpointError(
            f"{run_dir}: vocab.json is not the vocabulary these weights were trained with (its checksum differs "
            "from the one in the weights' header): a token was changed, or the file comes from another run"
        )


# -- setup.json: what a run derived -------------------------------------------------------------------
@dataclass
class RunSetup:
    """What the Trainer derived for a run from config.json, the data and the machine it trains on (setup.json,
    rewritten at every start and resume). config.json stays the configuration as given, so nothing a run
    computes while it trains is written into it; a run from before this record has none (its config.json
    then holds the precision it trained in: train.amp and train.bf16_matmul, with train.amp_probe off)."""

    steps_per_epoch: int = 0  # optimizer updates per pass over the training data (batches of train.batch_size)
    total_steps: int = 0  # the updates it trains to: train.max_steps, or train.epochs in updates
    warmup_steps: int = 0  # β's ramp in updates (objective.warmup_steps, or warmup_epochs × steps per epoch)
    C_warmup_steps: int = 0  # the capacity's ramp in updates (likewise from objective.C_warmup_epochs)
    average_start: int | None = None  # train.average_from: the update of the weight average's first sample; None: off
    device: str = "cpu"  # where it trains (train.device resolved: cpu, cuda:0, …)
    world_size: int = 1  # processes that train it together (torchrun)
    amp: bool = False  # it trains under bf16 autocast (the probe's pick, else train.amp)
    bf16_matmul: bool = False  # it trains with oneDNN's bf16 matrix products (the probe's pick, else train.bf16_matmul)
    probed: str | None = None  # the precision probe's pick (fp32, bf16 matmul, bf16); None: none ran, the config's

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> RunSetup:
        """From setup.json's object; keys a later release may add are left aside, a value of the wrong kind
        is refused by name (ValueError)."""
        kwargs = {f.name: raw[f.name] for f in dataclasses.fields(cls) if f.name in raw}
        for f in dataclasses.fields(cls):
            value, kind = kwargs.get(f.name), type(f.default)
            if value is not None and f.default is not None and type(value) is not kind:
                raise ValueError(f"{f.name} is {value!r}, not a {kind.__name__}")
        return cls(**kwargs)


def read_setup(run_dir: str | Path) -> RunSetup | None:
    """The run's setup.json, or None when it has none (a run from before the record, or not started)."""
    path = Path(run_dir) / SETUP
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(raw, dict):
            raise ValueError("not a JSON object")
        return RunSetup.from_dict(raw)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as err:
        raise CheckpointError(f"{path}: unreadable ({err})") from None


def write_setup(run_dir: str | Path, setup: RunSetup) -> None:
    atomic_write_text(Path(run_dir) / SETUP, json.dumps(setup.to_dict(), indent=2) + "\n")


# -- the weights' header (no tensors read) -----------------------------------------------------------
def weights_meta(run_dir: str | Path, name: str = WEIGHTS) -> dict[str, str]:
    """The metadata of a weights file's header ({} when it is missing or unreadable): step, digest, dtype."""
    try:
        with open(Path(run_dir) / name, "rb") as f:
            (header_len,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(min(header_len, 1 << 24)))
    except (OSError, struct.error, ValueError, UnicodeDecodeError):
        return {}
    return dict(header.get("__metadata__") or {})


def weights_digest(run_dir: str | Path) -> str:
    """The recorded SHA-256 of a run's tensors, from the file header alone (cheap: tells two weight sets apart)."""
    return str(weights_meta(run_dir).get("tensor_sha256", ""))


def weights_in_use(run_dir: str | Path, keep_best: str) -> str:
    """The weights file a run is used with: the kept best ones while a run with train.keep_best trains
    (until shipping makes them model.safetensors), else the weight average of a run that averages
    (train.average_from), else the last step's. The one rule for loading and labels."""
    run_dir = Path(run_dir)
    if keep_best and (run_dir / BEST_WEIGHTS).exists():
        return BEST_WEIGHTS
    return AVERAGE_WEIGHTS if (run_dir / AVERAGE_WEIGHTS).exists() else WEIGHTS


def _in_use_record(run_dir: Path, key: str) -> dict[str, Any] | None:
    """A JSON record of the header of the weights a run is used with: the shipped file's, or while the run
    trains the kept best or averaged file's (rundir.weights_in_use); None when absent or unreadable."""
    raw = weights_meta(run_dir).get(key)
    if raw is None and any((run_dir / name).exists() for name in (BEST_WEIGHTS, AVERAGE_WEIGHTS)):
        try:
            keeps = read_config(run_dir).train.keep_best
        except CheckpointError:
            keeps = ""
        name = weights_in_use(run_dir, keeps)
        raw = weights_meta(run_dir, name).get(key) if name != WEIGHTS else None
    try:
        record = json.loads(raw) if raw else None
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def kept_weights(run_dir: str | Path) -> dict[str, Any] | None:
    """Which validation kept the weights a run is used with (train.keep_best): {"by", "step", "value"} from
    a shipped file's header or from best.safetensors while the run trains; None for the last step's weights."""
    return _in_use_record(Path(run_dir), "kept")


def averaged_weights(run_dir: str | Path) -> dict[str, Any] | None:
    """The weight average a run is used with (train.average_from): {"count", "step"} (samples, and the step
    the mean reached) from a shipped file's header or from the file in use while the run trains; None
    for weights of one step."""
    return _in_use_record(Path(run_dir), "averaged")


def weights_step(run_dir: str | Path) -> int | None:
    """The optimizer step the weights were saved at, or None when the run has no readable weights."""
    meta = weights_meta(run_dir)
    return int(json.loads(meta.get("step", "0"))) if meta else None


# -- metrics.jsonl: the one reader and the one writer ------------------------------------------------
def parse_metrics(lines: list[str]) -> list[dict[str, Any]]:
    """The records of metrics.jsonl lines, in order; a line cut short by a killed run is skipped."""
    records = []
    for line in lines:
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def read_metrics(run_dir: str | Path, split: str | None = None) -> list[dict[str, Any]]:
    """Every readable record of the run's metrics.jsonl (train and valid, or only ``split``); [] without one."""
    try:
        text = (Path(run_dir) / METRICS).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    records = parse_metrics(text.splitlines())
    return records if split is None else [r for r in records if r.get("split") == split]


def read_metrics_since(run_dir: str | Path, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Records of metrics.jsonl from byte ``offset`` on, and the offset after the last complete line.

    For live views, called every second or two: it parses only what was appended since (a line still
    being written waits for the next call). A file shorter than ``offset`` was rewritten (a resume drops
    replayed steps): the returned offset is -1 then, and the caller reads it again from offset 0."""
    path = Path(run_dir) / METRICS
    try:
        if path.stat().st_size < offset:
            return [], -1
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read()
    except OSError:
        return [], offset
    end = data.rfind(b"\n") + 1
    lines = data[:end].decode("utf-8", errors="replace").splitlines()
    return [r for r in parse_metrics(lines) if "step" in r], offset + end


def last_validation(run_dir: str | Path) -> dict[str, Any] | None:
    """The newest validation record, or None before the first validation."""
    valid = read_metrics(run_dir, "valid")
    return valid[-1] if valid else None


class MetricsLog:
    """Append-only metrics.jsonl, one flushed JSON line per record."""

    def __init__(self, path: str | Path, keep_until_step: int | None = None) -> None:
        self.path = Path(path)  # RUN/metrics.jsonl
        if keep_until_step is not None and self.path.exists():
            # a resumed run replays the steps after its checkpoint: drop their old lines (and any cut-off one)
            lines = self.path.read_text(encoding="utf-8", errors="replace").splitlines()
            kept = [r for r in parse_metrics(lines) if _step(r) <= keep_until_step]
            # atomically: a kill during the rewrite leaves the old history whole, never a truncated file
            atomic_write_text(self.path, "".join(json.dumps(r) + "\n" for r in kept))
        self.fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()

    def write(self, record: dict[str, Any]) -> None:
        self.fh.write(json.dumps(record) + "\n")
        self.fh.flush()

    def close(self) -> None:
        self.fh.close()


def _step(record: dict[str, Any]) -> int:
    try:
        return int(record.get("step", 0))
    except (TypeError, ValueError):
        return 1 << 62


def coarsen_metrics(records: list[dict[str, Any]], every: int, digits: int = 6) -> list[dict[str, Any]]:
    """Training records averaged over windows of ``every`` steps; validation and event records kept.

    Shipped runs keep their curves at a tenth of the size: each window's figures are weighted by
    the steps each record already covers (a record at step s after one at step p stands for s − p
    steps), so a mean over any span of whole windows equals the per-step mean, and the result is
    what training with ``log_every = every`` would have written. Numbers keep ``digits``
    significant digits.
    """
    if every < 1:
        raise ValueError(f"every must be ≥ 1, not {every}")
    out: list[dict[str, Any]] = []
    window: list[tuple[int, dict[str, Any]]] = []  # (steps covered, record)
    prev_step = 0

    def flush() -> None:
        if not window:
            return
        total = sum(w for w, _ in window)
        last = window[-1][1]
        merged: dict[str, Any] = {"step": last["step"], "epoch": last.get("epoch"), "split": "train"}
        for key in last:
            if key in merged or not all(isinstance(r.get(key), (int, float)) for _, r in window):
                continue
            merged[key] = sum(w * r[key] for w, r in window) / total
        if total > 1:
            merged["steps_averaged"] = total
        out.append(merged)
        window.clear()

    for rec in records:
        if not isinstance(rec.get("step"), int):
            continue
        if rec.get("split") != "train" or "event" in rec:
            flush()
            out.append(rec)
            continue
        if window and (rec["step"] - 1) // every != (window[-1][1]["step"] - 1) // every:
            flush()
        covered = int(rec.get("steps_averaged", max(1, rec["step"] - prev_step)))
        window.append((covered, rec))
        prev_step = rec["step"]
    flush()
    return [{k: _round(v, digits) for k, v in r.items()} for r in out]


def _round(value: object, digits: int) -> object:
    if isinstance(value, float) and value == value and abs(value) != float("inf"):
        return float(f"{value:.{digits}g}")
    return value


def thin_metrics(run_dir: str | Path, every: int = 10) -> tuple[int, int]:
    """Rewrite a finished run's metrics.jsonl with :func:`coarsen_metrics` (atomically); returns the
    sizes in bytes before and after. Shipping does this: per-step curves are most of a small run's size."""
    path = Path(run_dir) / METRICS
    before = path.stat().st_size
    records = coarsen_metrics(read_metrics(run_dir), every)
    after = "".join(json.dumps(r) + "\n" for r in records).encode("utf-8")
    atomic_write_bytes(path, after)
    return before, len(after)


# -- eval.json -----------------------------------------------------------------------------------------
def read_eval(run_dir: str | Path) -> dict[str, Any] | None:
    """The run's eval.json, or None if absent or unreadable."""
    try:
        data = json.loads((Path(run_dir) / EVAL).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_eval(run_dir: str | Path, result: dict[str, Any], default: Any = None) -> None:
    """Replace eval.json atomically (``default`` serialises what json cannot, as in json.dumps)."""
    atomic_write_text(Path(run_dir) / EVAL, json.dumps(result, indent=2, default=default) + "\n")


def run_status(run_dir: str | Path) -> str:
    """What exists of a run on disk, in words (the reproduction report's run list)."""
    run_dir = Path(run_dir)
    ev = read_eval(run_dir)
    if ev is not None:
        return f"evaluated ({ev.get('profile', 'full')} profile, k = {ev.get('iw_nll', {}).get('k', '?')})"
    if has_weights(run_dir):
        return "trained or training, not evaluated"
    if run_dir.is_dir():
        return "training started, no weights yet"
    return "not started"
