"""Training jobs started from the app: detached processes that outlive the page, a queue with a cap.

A job is a row of the app's own queue, a SQLite database under ``var/jobs/`` ($TEXTVAE_JOBS_DIR) that only the
app writes: the training folder it trains in, the run's name, one of a fixed set of actions (``train`` a new
run, ``resume`` one), the run's **validated configuration** (JSON, never a command), whether to evaluate it
when done and with which evaluation settings (validated too), and its state, pids, times and outcome.
Nothing found on disk starts anything: a ``job.json`` dropped into the training folder, or copied in with a
run folder, is a file like any other.

:func:`submit` validates the configuration (textvae_core.validation) and queues it; :func:`pump` starts queued
jobs while fewer than the cap run. Each started job is supervised by ``python -m explorer.jobs run ID`` in a
session of its own, so a page reload or an app restart finds it again: the supervisor holds ``RUN/.job.lock``
for the job's life, writes the job's configuration to ``var/jobs/configs/ID.json`` and builds the training
command itself (``python -m textvae_core.train --config FILE``, with ``--resume RUN`` to resume; output in
``RUN/job.log``), records how it ended, evaluates the run and stores its latent map when asked, then starts
the next queued job. A job whose lock is free while the queue says ``running`` died with its supervisor: it
is reported with the last line of its log and its last good checkpoint.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout
from sqlalchemy import JSON, Boolean, Float, Integer, String, Text, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from textvae_core.config import ConfigError, RunConfig
from textvae_core.io import atomic_write_text
from textvae_core.paths import ROOT
from textvae_core.rundir import JOB_LOCK, JOB_LOG, TRAIN_LOCK, CheckpointError, is_run, not_started, weights_meta

from . import sqlstore

TRAIN_DIR_ENV = "TEXTVAE_TRAIN_DIR"  # where the app creates runs (see train_root)
JOBS_DIR_ENV = "TEXTVAE_JOBS_DIR"  # where the app keeps its queue: jobs.sqlite3 and the jobs' configs
MAX_JOBS_ENV = "TEXTVAE_MAX_JOBS"  # jobs that may run at once (default 1); the page can change it
MIN_FREE_BYTES = 200 * 2**20  # refuse to start a job with less free disk than this
ACTIONS = ("train", "resume")  # all a job can do; the supervisor builds each one's command itself
ACTIVE = ("starting", "running", "evaluating")
STATES = ("queued", *ACTIVE, "finished", "stopped", "failed")
START_GRACE_S = 30.0  # a job marked starting this long without its supervisor's lock has failed to start
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")  # matched whole (fullmatch: no trailing newline)
EXIT = {0: "finished", 2: "bad input", 3: "non-finite loss", 4: "stopped", 130: "stopped", 143: "stopped"}
EVAL_OPTIONS: dict[str, Any] = {"profile": "grid"}  # evaluate when done: the grid's figures and sample counts
MAP_METHODS = "umap,pca"  # and the stored map the Aggregated posterior page opens on


class JobError(ValueError):
    """A job that cannot be submitted, started or stopped; the message says why and what to do."""


class _Base(DeclarativeBase):
    pass


class Job(_Base):
    """One job of the queue. ``config`` is a RunConfig as JSON, validated when queued and again by the trainer."""

    __tablename__ = "job"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    root: Mapped[str] = mapped_column(Text, index=True)  # the training folder (resolved)
    name: Mapped[str] = mapped_column(String(100))  # the run folder's name in it
    action: Mapped[str] = mapped_column(String(10))  # one of ACTIONS
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    evaluate: Mapped[bool] = mapped_column(Boolean, default=False)
    eval_options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # EvalConfig fields
    map_methods: Mapped[str] = mapped_column(String(40), default=MAP_METHODS)
    state: Mapped[str] = mapped_column(String(12), default="queued")
    pid: Mapped[int | None] = mapped_column(Integer, nullable=True)  # the training process
    supervisor_pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    returncode: Mapped[int | None] = mapped_column(Integer, nullable=True)
    message: Mapped[str] = mapped_column(Text, default="")
    queued_at: Mapped[float] = mapped_column(Float)
    starting_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    started_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    ended_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    stop_requested: Mapped[float | None] = mapped_column(Float, nullable=True)

    def as_dict(self) -> dict[str, Any]:
        return {c.name: getattr(self, c.name) for c in self.__table__.columns}


class QueueSetting(_Base):
    """The cap on concurrent jobs of one training folder, as the page set it."""

    __tablename__ = "job_queue"
    root: Mapped[str] = mapped_column(Text, primary_key=True)
    max_jobs: Mapped[int] = mapped_column(Integer)


def jobs_dir() -> Path:
    """The app's own folder for the queue: $TEXTVAE_JOBS_DIR, else var/jobs/ in the repository."""
    return Path(os.environ.get(JOBS_DIR_ENV) or ROOT / "var" / "jobs").expanduser().resolve()


_STORES: dict[Path, sqlstore.Store] = {}


def store() -> sqlstore.Store:
    """The queue's database (one engine per process and folder)."""
    folder = jobs_dir()
    if folder not in _STORES:
        _STORES[folder] = sqlstore.connect(f"sqlite:///{folder / 'jobs.sqlite3'}", _Base.metadata)
    return _STORES[folder]


def train_root() -> Path:
    """Where the app creates runs: $TEXTVAE_TRAIN_DIR, else the first folder of $TEXTVAE_RUNS, else runs/."""
    listed = [p for p in os.environ.get("TEXTVAE_RUNS", "").split(os.pathsep) if p]
    return Path(os.environ.get(TRAIN_DIR_ENV) or (listed[0] if listed else ROOT / "runs")).expanduser().resolve()


def _root_key(root: Path) -> str:
    return str(Path(root).expanduser().resolve())


def max_jobs(root: Path) -> int:
    """The cap on concurrent jobs: the page's setting, else $TEXTVAE_MAX_JOBS, else 1."""
    with store().read() as s:
        setting = s.get(QueueSetting, _root_key(root))
        if setting is not None:
            return max(1, setting.max_jobs)
    try:
        return max(1, int(os.environ.get(MAX_JOBS_ENV, "1") or 1))
    except ValueError:
        return 1


def set_max_jobs(root: Path, n: int) -> None:
    def tx() -> None:
        with store().write() as s:
            s.merge(QueueSetting(root=_root_key(root), max_jobs=max(1, int(n))))

    store().retry(tx)
    pump(root)


# ----------------------------------------------------------------------------- locks held by live processes


def _held(path: Path) -> bool:
    """Whether another process holds the file lock at ``path`` (locks die with their process)."""
    if not path.exists():
        return False
    lock = FileLock(str(path))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return True
    lock.release()
    return False


def is_active(run_dir: Path) -> bool:
    """A supervisor or a training process is working on this run folder right now."""
    return _held(Path(run_dir) / JOB_LOCK) or _held(Path(run_dir) / TRAIN_LOCK)


# ----------------------------------------------------------------------------- what a job carries, checked


def _eval_options(options: dict[str, Any] | None) -> dict[str, Any]:
    """Evaluation settings as EvalConfig fields, each checked for its type (a value, never an option string)."""
    from textvae_core.evaluate import PROFILES, EvalConfig
    from textvae_core.validation import check_field

    options = dict(EVAL_OPTIONS if options is None else options)
    hints = typing.get_type_hints(EvalConfig)
    unknown = sorted(set(options) - set(hints))
    if unknown:
        raise JobError(f"unknown evaluation settings {unknown}")
    profile = options.get("profile", "full")
    if profile not in PROFILES:
        raise JobError(f"evaluation profile {profile!r}: one of {', '.join(sorted(PROFILES))}")
    try:
        for key, value in options.items():
            check_field(key, value, hints[key])
        EvalConfig.for_profile(profile, **{k: v for k, v in options.items() if k != "profile"}).validate()
    except (ConfigError, ValueError) as err:
        raise JobError(f"evaluation settings: {err}") from None
    return options


def _map_methods(methods: str) -> str:
    from .latent_map import METHODS

    parts = [m.strip() for m in methods.split(",") if m.strip()]
    if not parts or any(m not in METHODS for m in parts):
        raise JobError(f"map methods {methods!r}: comma-separated, from {', '.join(METHODS)}")
    return ",".join(parts)


def _checked_config(cfg: RunConfig, run_dir: Path) -> RunConfig:
    """The job's own copy of ``cfg``, training into ``run_dir`` without a progress bar, validated."""
    from textvae_core.validation import validate

    cfg = copy.deepcopy(cfg)
    cfg.train.out, cfg.train.progress = str(run_dir), False
    try:
        validate(cfg)
    except ConfigError as err:
        raise JobError(str(err)) from None
    return cfg


def _resume_config(run_dir: Path, train: dict[str, Any] | None) -> RunConfig:
    """The run's config.json with the ``train.*`` changes asked for (a resume changes nothing else)."""
    from textvae_core.rundir import read_config

    try:
        cfg = read_config(run_dir)
    except CheckpointError as err:
        raise JobError(str(err)) from None
    fields = {f.name for f in dataclasses.fields(cfg.train)}
    for key, value in (train or {}).items():
        if key not in fields:
            raise JobError(f"a resume changes train.* settings only; {key!r} is not one of them")
        setattr(cfg.train, key, value)
    return cfg


def check_disk(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(root).free
    if free < MIN_FREE_BYTES:
        raise JobError(
            f"the disk holding {root} has {free / 2**20:.0f} MB free; a run needs at least "
            f"{MIN_FREE_BYTES / 2**20:.0f} MB for its checkpoints: free some space first"
        )


# ----------------------------------------------------------------------------- submitting and the queue


def submit(
    root: Path,
    name: str,
    cfg: RunConfig | None = None,
    *,
    resume: bool = False,
    train: dict[str, Any] | None = None,
    evaluate: bool = False,
    eval_options: dict[str, Any] | None = None,
    map_methods: str = MAP_METHODS,
) -> JobStatus:
    """Queue training ``root/name`` with the configuration ``cfg`` (or, with ``resume``, going on with the run
    there, ``train`` changing some of its train.* settings), checked here so a bad option is refused at once;
    start it if the cap allows. Returns the job's status."""
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise JobError(f"run name {name!r}: use letters, digits, '.', '_' and '-' (not starting with '.' or '-')")
    root = Path(root).expanduser().resolve()
    run_dir = root / name
    if resume:
        if not is_run(run_dir):
            raise JobError(f"{name} holds no run to resume")
        cfg = _resume_config(run_dir, train)
    elif cfg is None:
        raise JobError("a new run needs its configuration")
    elif is_run(run_dir):
        fresh = " that never saved weights: resume it to start it afresh" if not_started(run_dir) else ""
        raise JobError(f"{name} already holds a run{fresh or ': resume it'}, or pick another name")
    cfg = _checked_config(cfg, run_dir)
    options, methods = _eval_options(eval_options), _map_methods(map_methods)
    check_disk(root)

    def tx() -> int:
        with store().write() as s:
            last = _latest(s, root, name)
            if last is not None and last.state == "queued":
                raise JobError(f"{name} is already queued")
            if (last is not None and last.state in ACTIVE and _alive(last)) or is_active(run_dir):
                raise JobError(f"{name} is already being trained (pid {last.pid if last else '?'}): stop it first")
            job = Job(
                root=str(root),
                name=name,
                action="resume" if resume else "train",
                config=cfg.to_dict(),
                evaluate=bool(evaluate),
                eval_options=options,
                map_methods=methods,
                state="queued",
                queued_at=time.time(),
            )
            s.add(job)
            s.flush()
            return job.id

    job_id = store().retry(tx)
    pump(root)
    return _status(get(job_id))


def _latest(s: Any, root: Path, name: str) -> Job | None:
    stmt = select(Job).where(Job.root == str(root), Job.name == name).order_by(Job.id.desc()).limit(1)
    return s.scalar(stmt)


def get(job_id: int) -> Job:
    """The queue's row of a job."""
    with store().read() as s:
        job = s.get(Job, job_id)
        if job is None:
            raise JobError(f"no job {job_id} in the queue")
        return job


def _update(job_id: int, **changes: Any) -> Job:
    def tx() -> Job:
        with store().write() as s:
            job = s.get(Job, job_id)
            if job is None:
                raise JobError(f"no job {job_id} in the queue")
            for key, value in changes.items():
                setattr(job, key, value)
            return job

    return store().retry(tx)


def pump(root: Path) -> list[str]:
    """Start queued jobs of ``root``, oldest first, while fewer than the cap are active; the names started.
    Only the queue's rows are read: no file in the training folder can start anything."""
    root = Path(root).expanduser().resolve()
    root.mkdir(parents=True, exist_ok=True)
    cap = max_jobs(root)

    def tx() -> list[Job]:
        with store().write() as s:
            jobs = s.scalars(select(Job).where(Job.root == str(root), Job.state.in_(("queued", *ACTIVE)))).all()
            active = sum(j.state in ACTIVE and _alive(j) for j in jobs)
            queued = sorted((j for j in jobs if j.state == "queued"), key=lambda j: (j.queued_at, j.id))
            chosen = queued[: max(0, cap - active)]
            for j in chosen:
                j.state, j.starting_at = "starting", time.time()
            return chosen

    started = store().retry(tx)
    for job in started:
        _spawn(job)
    return [j.name for j in started]


def _spawn(job: Job) -> None:
    """Start the job's supervisor in a session of its own: it outlives the app and ignores its signals."""
    run_dir = Path(job.root) / job.name
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / JOB_LOG, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "explorer.jobs", "run", str(int(job.id))],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _update(job.id, supervisor_pid=proc.pid)


def set_evaluate(run_dir: Path, on: bool) -> None:
    """Switch "evaluate when done" of a queued or running job (read by its supervisor when training ends)."""
    st = status(run_dir)
    if st is None:
        raise JobError(f"{Path(run_dir).name} has no job")
    _update(st.id, evaluate=bool(on))


def stop(run_dir: Path) -> str:
    """Stop a job: a queued one leaves the queue; a running one gets SIGTERM (it checkpoints, then exits). Only
    a process the queue started itself is signalled."""
    st = status(run_dir)
    if st is None:
        raise JobError(f"{Path(run_dir).name} has no job")
    if st.state == "queued":
        _update(st.id, state="stopped", message="removed from the queue", ended_at=time.time())
        return "removed from the queue"
    if st.state not in ACTIVE:
        raise JobError(f"{st.name} is not running ({st.state})")
    pid = st.job.get("pid")
    if st.state == "evaluating" or not pid:
        pid = st.job.get("supervisor_pid")
    _update(st.id, stop_requested=time.time())
    try:
        os.kill(int(pid), signal.SIGTERM)
    except (ProcessLookupError, TypeError, ValueError):
        raise JobError(f"{st.name}: its process (pid {pid}) is gone") from None
    return f"asked pid {pid} to stop (it saves a checkpoint first)"


# ----------------------------------------------------------------------------- the supervisor


def config_file(job_id: int) -> Path:
    """Where the supervisor writes a job's configuration for the training command (the app's own folder)."""
    return jobs_dir() / "configs" / f"{int(job_id)}.json"


def commands(job: Job) -> tuple[list[str], list[list[str]]]:
    """The training command of a job and the evaluation commands after it, built here from the job's action and
    its checked values: the configuration goes in a file, each evaluation setting is one ``--key=value``."""
    from textvae_core.validation import show

    run_dir = str(Path(job.root) / job.name)
    train = [sys.executable, "-m", "textvae_core.train", "--config", str(config_file(job.id))]
    if job.action == "resume":
        train += ["--resume", run_dir]
    elif job.action != "train":
        raise JobError(f"job {job.id}: unknown action {job.action!r}")
    options = _eval_options(job.eval_options)
    shown = {k: v if isinstance(v, str) else show(v) for k, v in options.items()}
    after = [
        [sys.executable, "-m", "textvae_core.evaluate", run_dir, *(f"--{k}={v}" for k, v in shown.items())],
        [sys.executable, "-m", "explorer.latent_map", run_dir, f"--methods={_map_methods(job.map_methods)}"],
    ]
    return train, after


def supervise(job_id: int) -> int:
    """Run one job of the queue to its end (``python -m explorer.jobs run ID``), in the job's own session."""
    child: list[subprocess.Popen] = []
    stopped: list[int] = []

    def forward(signum: int, frame: object) -> None:  # stopping the supervisor stops its child cleanly
        stopped.append(signum)
        if child and child[-1].poll() is None:
            child[-1].send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    job = get(job_id)
    if job.state != "starting":
        print(f"job {job_id} is {job.state}, not starting: nothing to do", file=sys.stderr)
        return 1
    run_dir = Path(job.root) / job.name
    lock = FileLock(str(run_dir / JOB_LOCK))
    try:
        lock.acquire(timeout=5)
    except Timeout:
        print(f"{run_dir}: another supervisor holds this job", file=sys.stderr)
        return 1
    try:
        _update(job_id, state="running", supervisor_pid=os.getpid(), started_at=time.time(), returncode=None)
        if stopped:  # stopped before training began
            _update(job_id, state="stopped", message="stopped before it started", ended_at=time.time())
            return 0
        cfg = _checked_config(RunConfig.from_dict(job.config), run_dir)  # checked again: the row is data
        atomic_write_text(config_file(job_id), json.dumps(cfg.to_dict(), indent=2) + "\n")
        train, after = commands(job)
        rc = _run(run_dir, train, child, job_id)
        state, message = _outcome(rc if not (stopped and rc == -signal.SIGTERM) else 143, run_dir)
        job = get(job_id)  # "evaluate when done" may have been switched while it trained
        if state == "finished" and job.evaluate and not stopped:
            _update(job_id, state="evaluating", returncode=rc)
            for cmd in after:
                if _run(run_dir, cmd, child) != 0:
                    why = "stopped on request" if stopped else f"failed: {_last_line(run_dir)}"
                    state, message = ("finished" if stopped else "failed"), f"evaluation {why}"
                    break
        _update(job_id, state=state, returncode=rc, message=message, ended_at=time.time())
    except Exception as err:  # record why, so the page shows it instead of a silent death
        _update(job_id, state="failed", message=f"job supervisor error: {type(err).__name__}: {err}")
        raise
    finally:
        lock.release()
        pump(Path(job.root))
    return 0


def _run(run_dir: Path, cmd: list[str], child: list[subprocess.Popen], record_pid_of: int | None = None) -> int:
    with open(run_dir / JOB_LOG, "ab") as log:
        log.write(f"\n$ {shlex.join(cmd)}\n".encode())
        log.flush()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        child.append(proc)
        if record_pid_of is not None:
            _update(record_pid_of, pid=proc.pid)
        return proc.wait()


def _outcome(rc: int, run_dir: Path) -> tuple[str, str]:
    if rc == 0:
        return "finished", ""
    if EXIT.get(rc) == "stopped":
        return "stopped", "stopped on request; a checkpoint of the last step was saved"
    if rc < 0:
        name = signal.Signals(-rc).name if -rc in signal.Signals._value2member_map_ else f"signal {-rc}"
        hint = " (out of memory, or killed by hand)" if name == "SIGKILL" else ""
        return "failed", f"killed by {name}{hint}"
    line = _last_line(run_dir)
    if "No space left on device" in line:
        line += " — the disk is full: free some space, then resume"
    return "failed", f"{EXIT.get(rc, f'exit status {rc}')}: {line}"


def _last_line(run_dir: Path) -> str:
    """The last meaningful line of the job's log (an error message, or a traceback's last line)."""
    try:
        with open(Path(run_dir) / JOB_LOG, "rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - 8192))
            lines = f.read().decode("utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    lines = [ln.strip() for ln in lines if ln.strip() and not ln.startswith("$ ")]
    return lines[-1] if lines else ""


# ----------------------------------------------------------------------------- what the page shows


@dataclass
class JobStatus:
    id: int
    run_dir: Path
    job: dict[str, Any]  # the queue's row
    state: str  # effective state: the queue's, corrected by whether its process still lives
    message: str
    checkpoint_step: int | None  # step of the last good checkpoint (weights on disk), if any

    @property
    def name(self) -> str:
        return self.run_dir.name

    def summary(self) -> str:
        """One line: state, the message, and the last good checkpoint for a job that did not finish."""
        text = self.state + (f": {self.message}" if self.message else "")
        if self.state in ("failed", "stopped") and self.checkpoint_step is not None:
            text += f" — last good checkpoint: step {self.checkpoint_step} (resume goes on from it)"
        elif self.state in ("failed", "stopped"):
            text += " — no checkpoint was written (resume starts it afresh)"
        return text


def _alive(job: Job) -> bool:
    """An active row whose supervisor (or its training process) still holds the run folder's lock."""
    run_dir = Path(job.root) / job.name
    if _held(run_dir / JOB_LOCK) or _held(run_dir / TRAIN_LOCK):
        return True
    return job.state == "starting" and time.time() - (job.starting_at or 0) < START_GRACE_S


def _status(job: Job) -> JobStatus:
    run_dir = Path(job.root) / job.name
    state, message = job.state, job.message or ""
    if state in ACTIVE and not _held(run_dir / JOB_LOCK):
        if _held(run_dir / TRAIN_LOCK):
            state, message = "running", "its supervisor is gone; training goes on"
        elif state == "starting" and time.time() - (job.starting_at or 0) < START_GRACE_S:
            pass
        else:
            state, message = "failed", f"the job's process ended without recording why ({_last_line(run_dir)})"
    step = weights_meta(run_dir).get("step")
    return JobStatus(job.id, run_dir, job.as_dict(), state, message, int(step) if step and step.isdigit() else None)


def status(run_dir: Path) -> JobStatus | None:
    """The newest job of a run folder, or None when the queue never trained it."""
    run_dir = Path(run_dir).expanduser().resolve()
    with store().read() as s:
        job = _latest(s, run_dir.parent, run_dir.name)
    return _status(job) if job is not None else None


def list_jobs(root: Path) -> list[JobStatus]:
    """The newest job of every run the queue trained in ``root``, newest first."""
    root = Path(root).expanduser().resolve()
    with store().read() as s:
        rows = s.scalars(select(Job).where(Job.root == str(root)).order_by(Job.id.desc())).all()
    newest: dict[str, Job] = {}
    for job in rows:
        newest.setdefault(job.name, job)
    return [_status(j) for j in newest.values()]


# ----------------------------------------------------------------------------- progress of a run


@dataclass
class Progress:
    step: int
    total: int
    tok_per_s: float | None
    eta_s: float | None
    epoch: int

    @property
    def fraction(self) -> float:
        return min(1.0, self.step / self.total) if self.total else 0.0

    def text(self, state: str = "running") -> str:
        """The bar's words: speed and the time left while the job trains (``state`` starting or running);
        after it, where it ended and how (a stopped job has no time left to give)."""
        parts = [
            f"step {self.step:,} of {self.total:,}" if self.total else f"step {self.step:,}",
            f"epoch {self.epoch}",
        ]
        if state not in ("starting", "running"):
            return " · ".join([*parts, WHERE_IT_ENDED.get(state, state)])
        if self.tok_per_s:
            parts.append(f"{self.tok_per_s:,.0f} tokens/s")
        if self.eta_s is not None:
            parts.append(f"about {format_seconds(self.eta_s)} left")
        return " · ".join(parts)


WHERE_IT_ENDED = {  # the progress bar's last words once a job no longer trains
    "finished": "training finished",
    "evaluating": "training finished; evaluating",
    "stopped": "stopped here (resume goes on from the last checkpoint)",
    "failed": "failed here",
    "queued": "waiting in the queue",
}


def progress(records: list[dict[str, Any]], window: int = 20) -> Progress | None:
    """Steps done of the total, tokens/s and the time left, from the training log's records."""
    starts = [r for r in records if r.get("event") == "start"]
    train = [r for r in records if r.get("split") == "train" and "loss" in r]
    if not starts and not train:
        return None
    total = int(starts[-1].get("total_steps", 0)) if starts else 0
    last = train[-1] if train else starts[-1]
    recent = [r for r in train if "time" in r][-window:]
    eta = None
    if len(recent) >= 2 and recent[-1]["time"] > recent[0]["time"] and total:
        rate = (recent[-1]["step"] - recent[0]["step"]) / (recent[-1]["time"] - recent[0]["time"])
        eta = max(0.0, (total - last["step"]) / rate) if rate > 0 else None
    epoch = max((int(r["epoch"]) for r in records if isinstance(r.get("epoch"), int)), default=0)
    return Progress(int(last["step"]), total, last.get("tok_per_s"), eta, epoch)


def format_seconds(s: float) -> str:
    s = round(s)
    return f"{s // 3600}h {s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m {s % 60:02d}s"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) == 2 and args[0] == "run" and args[1].isdigit():
        return supervise(int(args[1]))
    if len(args) == 2 and args[0] == "pump":
        print(json.dumps(pump(Path(args[1]))))
        return 0
    print("usage: python -m explorer.jobs run JOB_ID | pump TRAIN_DIR", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
