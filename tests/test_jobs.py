"""Training jobs: detached, supervised, queued under a cap, stoppable, resumable; deaths explained."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from explorer import jobs
from tests.helpers import tiny_config
from textvae_core.checkpoint import load_run
from textvae_core.config import RunConfig
from textvae_core.recipe import resolve
from textvae_core.rundir import EVAL, JOB_LOG, METRICS, WEIGHTS, read_metrics_since


def tiny_job(corpus_dir: Path, steps: int = 20, **train: object) -> RunConfig:
    """A tiny run's configuration, as the Training page hands it to the queue."""
    cfg = tiny_config(corpus_dir, Path("unused"), "beta-c", C=3.0)
    cfg.train.max_steps, cfg.train.ckpt_every, cfg.train.num_threads = steps, 5, 1
    for key, value in train.items():
        setattr(cfg.train, key, value)
    return cfg


def wait_for(check: Callable[[], object], timeout: float = 120, what: str = "") -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what or check}")


def state(run: Path) -> str:
    st = jobs.status(run)
    return st.state if st else ""


def done(run: Path) -> bool:
    return state(run) in ("finished", "stopped", "failed")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    yield tmp_path / "train"
    for st in jobs.list_jobs(tmp_path / "train"):  # never leave a process behind, whatever the test did
        for pid in (st.job.get("pid"), st.job.get("supervisor_pid")):
            if pid and jobs.is_active(st.run_dir):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        wait_for(lambda st=st: not jobs.is_active(st.run_dir), 30)


def test_a_job_runs_detached_records_how_it_ended_and_evaluates_when_done(corpus_dir: Path, root: Path) -> None:
    cheap = {"profile": "grid", "fce_sentences": 0, "syntax_dir": "", "prior_samples": 20, "homotopy_pairs": 2,
             "self_bleu_n": 20, "k": 2}  # fmt: skip
    job = jobs.submit(root, "a", tiny_job(corpus_dir, 12), evaluate=True, eval_options=cheap, map_methods="pca")
    assert job.job["action"] == "train" and job.job["config"]["train"]["out"] == str(root.resolve() / "a")
    assert "command" not in job.job  # a job carries a configuration, never a command
    wait_for(lambda: done(root / "a"), 240, "job a")
    st = jobs.status(root / "a")
    assert st.state == "finished" and st.job["returncode"] == 0 and st.checkpoint_step == 12, st.summary()
    assert st.job["pid"] != st.job["supervisor_pid"] and st.job["started_at"] >= st.job["queued_at"]
    records, offset = read_metrics_since(root / "a")
    assert offset == (root / "a" / METRICS).stat().st_size
    p = jobs.progress(records)
    assert (p.step, p.total, p.fraction) == (12, 12, 1.0) and p.tok_per_s > 0 and p.eta_s == 0
    log = (root / "a" / JOB_LOG).read_text()
    assert f"textvae_core.train --config {jobs.config_file(st.id)}" in log
    assert "textvae_core.evaluate" in log and "--fce_sentences=0" in log and "explorer.latent_map" in log
    given, trained = RunConfig.load(jobs.config_file(st.id)), load_run(root / "a").config
    given = resolve(given)  # the job hands the trainer its config; the run records the recipe's knobs filled in
    assert (given.model, given.objective, given.data) == (trained.model, trained.objective, trained.data)
    assert json.loads((root / "a" / EVAL).read_text())["profile"] == "grid"
    from explorer.latent_map import load_map

    assert "pca" in load_map(root / "a").coords


def test_the_cap_queues_jobs_and_a_finished_job_starts_the_next(corpus_dir: Path, root: Path) -> None:
    jobs.set_max_jobs(root, 1)
    for c in (1, 2, 3):  # what the page's C sweep submits
        cfg = tiny_job(corpus_dir, 10)
        cfg.objective.C = float(c)
        jobs.submit(root, f"sweep-c{c}", cfg)
    states = [state(root / f"sweep-c{c}") for c in (1, 2, 3)]
    assert states[0] in jobs.ACTIVE and states[1:] == ["queued", "queued"]
    seen_two_active = False
    while not all(done(root / f"sweep-c{c}") for c in (1, 2, 3)):
        seen_two_active |= sum(state(root / f"sweep-c{c}") in ("running", "evaluating") for c in (1, 2, 3)) > 1
        time.sleep(0.1)
    assert not seen_two_active
    assert [load_run(root / f"sweep-c{c}").config.objective.C for c in (1, 2, 3)] == [1.0, 2.0, 3.0]
    started = [jobs.status(root / f"sweep-c{c}").job["started_at"] for c in (1, 2, 3)]
    ended = [jobs.status(root / f"sweep-c{c}").job["ended_at"] for c in (1, 2, 3)]
    assert started[1] >= ended[0] and started[2] >= ended[1]  # one at a time, in order


def test_stop_checkpoints_and_resume_finishes(corpus_dir: Path, root: Path) -> None:
    jobs.submit(root, "s", tiny_job(corpus_dir, 100000, ckpt_every=0))
    wait_for(lambda: (root / "s" / WEIGHTS).exists() or read_metrics_since(root / "s")[0][3:], 90)
    with pytest.raises(jobs.JobError, match="already being trained"):
        jobs.submit(root, "s", resume=True)
    jobs.stop(root / "s")
    wait_for(lambda: done(root / "s"), 60)
    st = jobs.status(root / "s")
    stopped = [r for r in read_metrics_since(root / "s")[0] if r.get("event") == "stopped"]
    assert st.state == "stopped" and st.job["returncode"] == 143 and stopped[-1]["reason"] == "SIGTERM"
    assert st.checkpoint_step == stopped[-1]["step"] > 0 and "last good checkpoint" in st.summary()
    jobs.submit(root, "s", resume=True, train={"max_steps": st.checkpoint_step + 5})
    wait_for(lambda: done(root / "s"), 90)
    assert jobs.status(root / "s").state == "finished" and load_run(root / "s").step == st.checkpoint_step + 5


def test_a_killed_job_shows_why_and_its_last_good_checkpoint(corpus_dir: Path, root: Path) -> None:
    jobs.submit(root, "k", tiny_job(corpus_dir, 100000))
    wait_for(lambda: jobs.status(root / "k").checkpoint_step, 90, "a first checkpoint")
    os.kill(jobs.status(root / "k").job["pid"], signal.SIGKILL)  # as the kernel's OOM killer would
    wait_for(lambda: done(root / "k"), 30)
    st = jobs.status(root / "k")
    assert st.state == "failed" and "killed by SIGKILL" in st.message
    assert f"last good checkpoint: step {st.checkpoint_step}" in st.summary()
    assert load_run(root / "k").step == st.checkpoint_step


def test_a_job_whose_supervisor_died_is_reported_failed(corpus_dir: Path, root: Path) -> None:
    jobs.submit(root, "d", tiny_job(corpus_dir, 100000))
    wait_for(lambda: read_metrics_since(root / "d")[0], 60, "training to start")
    job = jobs.status(root / "d").job
    os.kill(job["supervisor_pid"], signal.SIGKILL)
    time.sleep(0.5)
    assert state(root / "d") == "running"  # the training process goes on without its supervisor
    os.kill(job["pid"], signal.SIGKILL)
    wait_for(lambda: state(root / "d") == "failed", 30)
    assert "ended without recording why" in jobs.status(root / "d").message


def test_bad_submissions_are_refused_at_once(corpus_dir: Path, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(jobs.JobError, match=r"--train\.lr=fast: expected a number"):
        jobs.submit(root, "bad", tiny_job(corpus_dir, lr="fast"))
    with pytest.raises(jobs.JobError, match=r"--train\.lr=nan"):
        jobs.submit(root, "bad", tiny_job(corpus_dir, lr=float("nan")))
    for name in ("../escape", "/abs", "ok\n", "a;rm -rf", "nul\x00", ".hidden", ""):
        with pytest.raises(jobs.JobError, match="run name"):
            jobs.submit(root, name, tiny_job(corpus_dir))
    with pytest.raises(jobs.JobError, match="no run to resume"):
        jobs.submit(root, "nothing", resume=True)
    with pytest.raises(jobs.JobError, match="evaluation"):
        jobs.submit(root, "bad", tiny_job(corpus_dir), eval_options={"k": "2; touch x"})
    with pytest.raises(jobs.JobError, match="map methods"):
        jobs.submit(root, "bad", tiny_job(corpus_dir), map_methods="pca --evil")
    assert not (root / "bad").exists() and jobs.list_jobs(root) == []
    free = type("Usage", (), {"free": 10 * 2**20})()
    monkeypatch.setattr(jobs.shutil, "disk_usage", lambda path: free)
    with pytest.raises(jobs.JobError, match="10 MB free"):
        jobs.submit(root, "full", tiny_job(corpus_dir))


def test_a_job_file_found_on_disk_starts_nothing(
    corpus_dir: Path, run_folder: Path, root: Path, tmp_path: Path
) -> None:
    """The attack of issue 43: a job.json dropped into the training folder, or copied in with a run folder,
    that says "queued" and names a command. The queue is the app's own database; files start nothing."""
    import shutil

    marker = tmp_path / "pwned"
    planted = {"state": "queued", "name": "x", "root": str(root), "queued_at": 0, "evaluate": True,
               "command": ["sh", "-c", f"touch {marker}"], "after": [["sh", "-c", f"touch {marker}"]]}  # fmt: skip
    (root / "dropped").mkdir(parents=True)
    (root / "dropped" / "job.json").write_text(json.dumps(planted))
    shutil.copytree(run_folder / "tiny-bc3", root / "copied")  # a run folder copied from someone, with a job file
    (root / "copied" / "job.json").write_text(json.dumps({**planted, "state": "running", "pid": os.getpid()}))
    assert jobs.pump(root) == [] and jobs.list_jobs(root) == []
    with pytest.raises(jobs.JobError, match="has no job"):
        jobs.stop(root / "copied")  # a pid written in a file is never signalled
    jobs.submit(root, "real", tiny_job(corpus_dir, 3))  # a real job starts, and the pump after it starts no file
    wait_for(lambda: done(root / "real"), 120)
    assert jobs.status(root / "real").state == "finished" and not marker.exists()
    assert [s.name for s in jobs.list_jobs(root)] == ["real"]
    train, _ = jobs.commands(jobs.get(jobs.status(root / "real").id))
    assert train[1:4] == ["-m", "textvae_core.train", "--config"] and len(train) == 5


def test_a_full_disk_and_other_deaths_are_named(tmp_path: Path) -> None:
    (tmp_path / JOB_LOG).write_text("step 3\nOSError: [Errno 28] No space left on device\n")
    state_, message = jobs._outcome(1, tmp_path)
    assert state_ == "failed" and "No space left" in message and "the disk is full" in message
    (tmp_path / JOB_LOG).write_text("error: data/x.txt: looks like a binary file (NUL bytes), expected UTF-8 text\n")
    assert jobs._outcome(2, tmp_path) == ("failed", "bad input: " + (tmp_path / JOB_LOG).read_text().strip())
    assert jobs._outcome(-9, tmp_path)[1] == "killed by SIGKILL (out of memory, or killed by hand)"
    assert jobs._outcome(143, tmp_path)[0] == jobs._outcome(4, tmp_path)[0] == "stopped"


def test_corpus_folders_and_sweeps_are_read_as_the_page_needs(corpus_dir: Path, tmp_path: Path) -> None:
    from explorer import training
    from textvae_core.corpus import CorpusError

    splits, fmt = training.folder_corpus(str(corpus_dir), [corpus_dir])
    assert fmt == "text" and {k: Path(v).name for k, v in splits.items()} == {
        "train": "train.txt", "valid": "valid.txt", "test": "test.txt"}  # fmt: skip
    (tmp_path / "empty").mkdir()
    with pytest.raises(CorpusError, match="no training file"):
        training.folder_corpus(str(tmp_path / "empty"), [tmp_path])
    with pytest.raises(CorpusError, match="not a corpus folder this page may read"):
        training.folder_corpus(str(corpus_dir), [tmp_path / "empty"])  # any folder the app can read: refused
    (tmp_path / "empty" / "train.txt").symlink_to(corpus_dir / "train.txt")
    with pytest.raises(CorpusError, match="links to a file outside"):
        training.folder_corpus(str(tmp_path / "empty"), [tmp_path / "empty"])
    assert training.parse_sweep("5, 10 20;5") == [5.0, 10.0, 20.0]
    with pytest.raises(ValueError, match="negative"):
        training.parse_sweep("5, -1")
    assert training.sweep_name("bc", 7.5) == "bc-c7.5"


def test_a_jobs_bar_and_row_say_where_it_ended_in_plain_words() -> None:
    """While a job trains its bar gives the speed and the time left; once it stopped, failed or finished it says
    so instead (no time left on a stopped job); its table row holds words, never "None"."""
    from explorer import training

    records = [{"event": "start", "step": 0, "total_steps": 100}]
    records += [{"split": "train", "loss": 1.0, "step": s, "time": 0.1 * s, "tok_per_s": 500.0, "epoch": 0}
                for s in range(1, 41)]  # fmt: skip
    p = jobs.progress(records)
    assert p.text("running") == "step 40 of 100 · epoch 0 · 500 tokens/s · about 0m 06s left"
    for state, words in (("stopped", "stopped here"), ("finished", "training finished"), ("failed", "failed")):
        said = p.text(state)
        assert words in said and "left" not in said and "ETA" not in said and "tokens/s" not in said, said
    now = time.time()
    row = {"queued_at": now - 60, "started_at": now - 50, "ended_at": now, "evaluate": False, "pid": 4321}
    stopped = jobs.JobStatus(1, Path("/runs/a"), row, "stopped", "stopped on request", None)
    shown = training.job_row(stopped)
    assert all(isinstance(v, str) and v != "None" for v in shown.values()), shown
    assert shown["pid"] == "" and shown["last checkpoint"] == "none yet" and shown["evaluate"] == "no"
    today = time.localtime(now - 50)[:3] == time.localtime()[:3]  # a time of today is the clock time alone
    assert shown["started"] == time.strftime("%H:%M:%S" if today else "%d %b %H:%M", time.localtime(now - 50))
    assert shown["message"] == "stopped on request" and shown["ended"] and shown["state"] == "stopped"
    running = jobs.JobStatus(1, Path("/runs/a"), row | {"ended_at": None}, "running", "", 1200)
    assert training.job_row(running)["pid"] == "4321" and training.job_row(running)["last checkpoint"] == "step 1,200"
