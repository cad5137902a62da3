"""Training jobs started from the app: detached processes that outlive the page, a queue with a cap.

A job is a run folder with a ``job.json`` (state, pid, command, times, outcome) under the training
folder (``$TEXTVAE_TRAIN_DIR``, default ``runs/``). :func:`submit` writes it as ``queued`` and
:func:`pump` starts queued jobs while fewer than the cap run. Each started job is supervised by
``python -m explorer.jobs run RUN`` in a session of its own, so a page reload or an app restart finds
it again: the supervisor holds ``RUN/.job.lock`` for the job's life, runs the training command
(``python -m textvae_core.train …``, output in ``RUN/job.log``), records how it ended, then evaluates
the run and stores its latent map when asked, and finally starts the next queued job. A job whose
lock is free while its file says ``running`` died with its supervisor: it is reported with the last
line of its log and its last good checkpoint.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from textvae_core.io import atomic_write_text
from textvae_core.paths import ROOT
from textvae_core.rundir import CONFIG, JOB, JOB_EDIT_LOCK, JOB_LOCK, JOB_LOG, TRAIN_LOCK, weights_meta

TRAIN_DIR_ENV = "TEXTVAE_TRAIN_DIR"  # where the app creates runs (see train_root)
MAX_JOBS_ENV = "TEXTVAE_MAX_JOBS"  # jobs that may run at once (default 1); the page can change it
QUEUE_LOCK, QUEUE_SETTINGS = ".queue.lock", "queue.json"
MIN_FREE_BYTES = 200 * 2**20  # refuse to start a job with less free disk than this
ACTIVE = ("starting", "running", "evaluating")
STATES = ("queued", *ACTIVE, "finished", "stopped", "failed")
START_GRACE_S = 30.0  # a job marked starting this long without its supervisor's lock has failed to start
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
EXIT = {0: "finished", 2: "bad input", 3: "non-finite loss", 4: "stopped", 130: "stopped", 143: "stopped"}


class JobError(ValueError):
    """A job that cannot be submitted, started or stopped; the message says why and what to do."""


def train_root() -> Path:
    """Where the app creates runs: $TEXTVAE_TRAIN_DIR, else the first folder of $TEXTVAE_RUNS, else runs/."""
    listed = [p for p in os.environ.get("TEXTVAE_RUNS", "").split(os.pathsep) if p]
    return Path(os.environ.get(TRAIN_DIR_ENV) or (listed[0] if listed else ROOT / "runs")).expanduser().resolve()


def max_jobs(root: Path) -> int:
    """The cap on concurrent jobs: the page's setting, else $TEXTVAE_MAX_JOBS, else 1."""
    try:
        return max(1, int(json.loads((root / QUEUE_SETTINGS).read_text())["max_jobs"]))
    except (OSError, ValueError, KeyError, TypeError):
        return max(1, int(os.environ.get(MAX_JOBS_ENV, "1") or 1))


def set_max_jobs(root: Path, n: int) -> None:
    root.mkdir(parents=True, exist_ok=True)
    atomic_write_text(root / QUEUE_SETTINGS, json.dumps({"max_jobs": int(n)}) + "\n")
    pump(root)


# ----------------------------------------------------------------------------- job files and locks


def read_job(run_dir: Path) -> dict[str, Any] | None:
    try:
        job = json.loads((Path(run_dir) / JOB).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return job if isinstance(job, dict) else None


def _write_job(run_dir: Path, job: dict[str, Any]) -> None:
    atomic_write_text(Path(run_dir) / JOB, json.dumps(job, indent=2) + "\n")


def _update(run_dir: Path, **changes: Any) -> dict[str, Any]:
    """Change some fields of the job file; the app and the supervisor both write it, one at a time."""
    with FileLock(str(Path(run_dir) / JOB_EDIT_LOCK), timeout=10):
        job = {**(read_job(run_dir) or {}), **changes}
        _write_job(run_dir, job)
    return job


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


def _winding_down(run_dir: Path, wait_s: float = 10.0) -> bool:
    """A job that has written its outcome lets go of its locks a moment later, as its processes exit: a
    resume asked for in that moment waits for them (up to ``wait_s``) instead of being refused."""
    job = read_job(run_dir) or {}
    if job.get("state") not in ("finished", "stopped", "failed"):
        return False
    deadline = time.monotonic() + wait_s
    while is_active(run_dir):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


# ----------------------------------------------------------------------------- submitting and the queue


def train_command(run_dir: Path, args: list[str], resume: bool) -> list[str]:
    """The training process a job runs: the CLI, as a user would type it."""
    base = [sys.executable, "-m", "textvae_core.train"]
    where = [f"--resume={run_dir}"] if resume else [f"--out={run_dir}"]
    return [*base, *where, *args, "--progress=false"]


EVAL_ARGS = ("--profile", "grid")  # evaluate when done: every figure of the grid, at the grid's sample counts
MAP_METHODS = "umap,pca"  # and the stored map the Aggregated posterior page opens on


def after_commands(
    run_dir: Path, eval_args: tuple[str, ...] = EVAL_ARGS, map_methods: str = MAP_METHODS
) -> list[list[str]]:
    """What "evaluate when done" runs: the evaluation (eval.json), then the run's stored latent map."""
    return [
        [sys.executable, "-m", "textvae_core.evaluate", str(run_dir), *eval_args],
        [sys.executable, "-m", "explorer.latent_map", str(run_dir), "--methods", map_methods],
    ]


def check_disk(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(root).free
    if free < MIN_FREE_BYTES:
        raise JobError(
            f"the disk holding {root} has {free / 2**20:.0f} MB free; a run needs at least "
            f"{MIN_FREE_BYTES / 2**20:.0f} MB for its checkpoints: free some space first"
        )


def submit(
    root: Path,
    name: str,
    args: list[str],
    *,
    resume: bool = False,
    evaluate: bool = False,
    eval_args: tuple[str, ...] = EVAL_ARGS,
    map_methods: str = MAP_METHODS,
) -> dict[str, Any]:
    """Queue a training job for ``root/name`` (checked here, so a bad option is refused at once) and start
    it if the cap allows; returns its job file."""
    if not NAME.match(name):
        raise JobError(f"run name {name!r}: use letters, digits, '.', '_' and '-' (not starting with '.' or '-')")
    run_dir = root / name
    if is_active(run_dir) and not _winding_down(run_dir):
        job = read_job(run_dir) or {}
        raise JobError(
            f"{name} is already being trained (pid {job.get('pid', '?')}): stop it first, or pick another name"
        )
    job = read_job(run_dir)
    if job and job.get("state") == "queued":
        raise JobError(f"{name} is already queued")
    if not resume and (run_dir / CONFIG).exists():
        raise JobError(f"{name} already holds a run: resume it, or pick another name")
    if resume and not (run_dir / CONFIG).exists():
        raise JobError(f"{name} holds no run to resume")
    _check_options(run_dir, args, resume)
    check_disk(root)
    command = train_command(run_dir, args, resume)
    job = {
        "state": "queued",
        "name": name,
        "root": str(root),
        "command": command,
        "evaluate": bool(evaluate),
        "after": after_commands(run_dir, eval_args, map_methods),  # run when done if "evaluate" is true
        "queued_at": time.time(),
    }
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        _write_job(run_dir, job)
    except OSError as err:
        raise JobError(f"cannot write the job file in {run_dir}: {err.strerror or err}") from None
    pump(root)
    return read_job(run_dir) or job


def _check_options(run_dir: Path, args: list[str], resume: bool) -> None:
    """Parse the options as the training CLI will, so a typo is refused now, not in a log later."""
    from textvae_core.config import ConfigError
    from textvae_core.objectives import validate
    from textvae_core.rundir import CheckpointError
    from textvae_core.train import parse_cli

    where = [f"--resume={run_dir}"] if resume else [f"--out={run_dir}"]
    try:
        cfg, _ = parse_cli([*where, *args])
        validate(cfg.objective)
    except (ConfigError, CheckpointError) as err:
        raise JobError(str(err)) from None


def pump(root: Path) -> list[str]:
    """Start queued jobs, oldest first, while fewer than the cap are active; returns the names started."""
    root.mkdir(parents=True, exist_ok=True)
    started = []
    with FileLock(str(root / QUEUE_LOCK), timeout=30):
        jobs = list_jobs(root)
        active = sum(j.state in ACTIVE for j in jobs)
        queued = sorted((j for j in jobs if j.state == "queued"), key=lambda j: j.job.get("queued_at", 0))
        for j in queued[: max(0, max_jobs(root) - active)]:
            _spawn(j.run_dir)
            started.append(j.name)
    return started


def _spawn(run_dir: Path) -> None:
    """Start the job's supervisor in a session of its own: it outlives the app and ignores its signals."""
    _update(run_dir, state="starting", starting_at=time.time())
    with open(run_dir / JOB_LOG, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "explorer.jobs", "run", str(run_dir)],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _update(run_dir, supervisor_pid=proc.pid)


def set_evaluate(run_dir: Path, on: bool) -> None:
    """Switch "evaluate when done" of a queued or running job (read by its supervisor when training ends)."""
    _update(run_dir, evaluate=bool(on))


def stop(run_dir: Path) -> str:
    """Stop a job: a queued one leaves the queue; a running one gets SIGTERM (it checkpoints, then exits)."""
    st = status(run_dir)
    if st is None:
        raise JobError(f"{Path(run_dir).name} has no job")
    if st.state == "queued":
        _update(run_dir, state="stopped", message="removed from the queue", ended_at=time.time())
        return "removed from the queue"
    if st.state not in ACTIVE:
        raise JobError(f"{st.name} is not running ({st.state})")
    pid = st.job.get("pid")
    if st.state == "evaluating" or not pid:
        pid = st.job.get("supervisor_pid")
    _update(run_dir, stop_requested=time.time())
    try:
        os.kill(int(pid), signal.SIGTERM)
    except (ProcessLookupError, TypeError, ValueError):
        raise JobError(f"{st.name}: its process (pid {pid}) is gone") from None
    return f"asked pid {pid} to stop (it saves a checkpoint first)"


# ----------------------------------------------------------------------------- the supervisor


def supervise(run_dir: Path) -> int:
    """Run one job to its end (``python -m explorer.jobs run RUN``); called in the job's own session."""
    run_dir = Path(run_dir).resolve()
    child: list[subprocess.Popen] = []
    stopped: list[int] = []

    def forward(signum: int, frame: object) -> None:  # stopping the supervisor stops its child cleanly
        stopped.append(signum)
        if child and child[-1].poll() is None:
            child[-1].send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    lock = FileLock(str(run_dir / JOB_LOCK))
    try:
        lock.acquire(timeout=5)
    except Timeout:
        print(f"{run_dir}: another supervisor holds this job", file=sys.stderr)
        return 1
    job = read_job(run_dir) or {}
    try:
        job = _update(run_dir, state="running", supervisor_pid=os.getpid(), started_at=time.time(), returncode=None)
        if stopped:  # stopped before training began
            _update(run_dir, state="stopped", message="stopped before it started", ended_at=time.time())
            return 0
        rc = _run(run_dir, job["command"], child, record_pid=True)
        state, message = _outcome(rc if not (stopped and rc == -signal.SIGTERM) else 143, run_dir)
        job = read_job(run_dir) or job  # "evaluate when done" may have been switched while it trained
        if state == "finished" and job.get("evaluate") and not stopped:
            _update(run_dir, state="evaluating", returncode=rc)
            for cmd in job["after"]:
                if _run(run_dir, cmd, child) != 0:
                    why = "stopped on request" if stopped else f"failed: {_last_line(run_dir)}"
                    state, message = ("finished" if stopped else "failed"), f"evaluation {why}"
                    break
        _update(run_dir, state=state, returncode=rc, message=message, ended_at=time.time())
    except Exception as err:  # record why, so the page shows it instead of a silent death
        _update(run_dir, state="failed", message=f"job supervisor error: {type(err).__name__}: {err}")
        raise
    finally:
        lock.release()
        pump(Path(job.get("root") or run_dir.parent))
    return 0


def _run(run_dir: Path, cmd: list[str], child: list[subprocess.Popen], record_pid: bool = False) -> int:
    with open(run_dir / JOB_LOG, "ab") as log:
        log.write(f"\n$ {shlex.join(cmd)}\n".encode())
        log.flush()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        child.append(proc)
        if record_pid:
            _update(run_dir, pid=proc.pid)
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
    run_dir: Path
    job: dict[str, Any]
    state: str  # effective state: the job file's, corrected by whether its process still lives
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
        elif self.state == "failed":
            text += " — no checkpoint was written"
        return text


def status(run_dir: Path) -> JobStatus | None:
    run_dir = Path(run_dir)
    job = read_job(run_dir)
    if job is None:
        return None
    state, message = job.get("state", "failed"), job.get("message", "")
    if state in ACTIVE and not _held(run_dir / JOB_LOCK):
        if _held(run_dir / TRAIN_LOCK):
            state, message = "running", "its supervisor is gone; training goes on"
        elif state == "starting" and time.time() - job.get("starting_at", 0) < START_GRACE_S:
            pass
        else:
            state, message = "failed", f"the job's process ended without recording why ({_last_line(run_dir)})"
    step = weights_meta(run_dir).get("step")
    return JobStatus(run_dir, job, state, message, int(step) if step and step.isdigit() else None)


def list_jobs(root: Path) -> list[JobStatus]:
    """Every job under the training folder, newest first."""
    if not Path(root).is_dir():
        return []
    found = [status(p.parent) for p in Path(root).glob(f"*/{JOB}")]
    return sorted((s for s in found if s), key=lambda s: -s.job.get("queued_at", 0))


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

    def text(self) -> str:
        parts = [f"step {self.step:,} / {self.total:,}", f"epoch {self.epoch}"]
        if self.tok_per_s:
            parts.append(f"{self.tok_per_s:,.0f} tokens/s")
        if self.eta_s is not None:
            parts.append(f"ETA {format_seconds(self.eta_s)}")
        return " · ".join(parts)


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
    if len(args) == 2 and args[0] == "run":
        return supervise(Path(args[1]))
    if len(args) == 2 and args[0] == "pump":
        print(json.dumps(pump(Path(args[1]))))
        return 0
    print("usage: python -m explorer.jobs run RUN_DIR | pump TRAIN_DIR", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
