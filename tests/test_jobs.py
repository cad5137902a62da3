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
from textvae_core.checkpoint import load_run
from textvae_core.rundir import CONFIG, EVAL, JOB, JOB_LOG, METRICS, WEIGHTS, read_metrics_since


def tiny_args(corpus_dir: Path, steps: int = 20, *extra: str) -> list[str]:
    return [
        f"--data.train={corpus_dir / 'train.txt'}", f"--data.valid={corpus_dir / 'valid.txt'}",
        f"--data.test={corpus_dir / 'test.txt'}", "--size=tiny", "--batch_size=32", f"--max_steps={steps}",
        "--ckpt_every=5", "--num_threads=1", *extra,
    ]  # fmt: skip


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
    cheap = ("--profile", "grid", "--fce-sentences", "0", "--syntax-dir", "", "--prior-samples", "20",
             "--homotopy-pairs", "2", "--self-bleu-n", "20", "--k", "2")  # fmt: skip
    job = jobs.submit(root, "a", tiny_args(corpus_dir, 12), evaluate=True, eval_args=cheap, map_methods="pca")
    assert job["command"][1:3] == ["-m", "textvae_core.train"] and "--out=" + str(root / "a") in job["command"]
    wait_for(lambda: done(root / "a"), 240, "job a")
    st = jobs.status(root / "a")
    assert st.state == "finished" and st.job["returncode"] == 0 and st.checkpoint_step == 12, st.summary()
    assert st.job["pid"] != st.job["supervisor_pid"] and st.job["started_at"] >= st.job["queued_at"]
    records, offset = read_metrics_since(root / "a")
    assert offset == (root / "a" / METRICS).stat().st_size
    p = jobs.progress(records)
    assert (p.step, p.total, p.fraction) == (12, 12, 1.0) and p.tok_per_s > 0 and p.eta_s == 0
    log = (root / "a" / JOB_LOG).read_text()
    assert "textvae_core.train" in log and "textvae_core.evaluate" in log and "explorer.latent_map" in log
    assert json.loads((root / "a" / EVAL).read_text())["profile"] == "grid"
    from explorer.latent_map import load_map

    assert "pca" in load_map(root / "a").coords


def test_the_cap_queues_jobs_and_a_finished_job_starts_the_next(corpus_dir: Path, root: Path) -> None:
    jobs.set_max_jobs(root, 1)
    for c in (1, 2, 3):  # what the page's C sweep submits
        jobs.submit(root, f"sweep-c{c}", [*tiny_args(corpus_dir, 10), "--objective=beta-c", f"--objective.C={c}"])
    states = [state(root / f"sweep-c{c}") for c in (1, 2, 3)]
    assert states[0] in jobs.ACTIVE and states[1:] == ["queued", "queued"]
    seen_two_active = False
    while not all(done(root / f"sweep-c{c}") for c in (1, 2, 3)):
        seen_two_active |= sum(state(root / f"sweep-c{c}") in ("running", "evaluating") for c in (1, 2, 3)) > 1
        time.sleep(0.1)
    assert not seen_two_active
    assert [load_run(root / f"sweep-c{c}").config.objective.C for c in (1, 2, 3)] == [1.0, 2.0, 3.0]
    started = [jobs.read_job(root / f"sweep-c{c}")["started_at"] for c in (1, 2, 3)]
    ended = [jobs.read_job(root / f"sweep-c{c}")["ended_at"] for c in (1, 2, 3)]
    assert started[1] >= ended[0] and started[2] >= ended[1]  # one at a time, in order


def test_stop_checkpoints_and_resume_finishes(corpus_dir: Path, root: Path) -> None:
    jobs.submit(root, "s", tiny_args(corpus_dir, 100000, "--ckpt_every=0"))
    wait_for(lambda: (root / "s" / WEIGHTS).exists() or read_metrics_since(root / "s")[0][3:], 90)
    with pytest.raises(jobs.JobError, match="already being trained"):
        jobs.submit(root, "s", tiny_args(corpus_dir), resume=True)
    jobs.stop(root / "s")
    wait_for(lambda: done(root / "s"), 60)
    st = jobs.status(root / "s")
    stopped = [r for r in read_metrics_since(root / "s")[0] if r.get("event") == "stopped"]
    assert st.state == "stopped" and st.job["returncode"] == 143 and stopped[-1]["reason"] == "SIGTERM"
    assert st.checkpoint_step == stopped[-1]["step"] > 0 and "last good checkpoint" in st.summary()
    jobs.submit(root, "s", [f"--max_steps={st.checkpoint_step + 5}"], resume=True)
    wait_for(lambda: done(root / "s"), 90)
    assert jobs.status(root / "s").state == "finished" and load_run(root / "s").step == st.checkpoint_step + 5


def test_a_killed_job_shows_why_and_its_last_good_checkpoint(corpus_dir: Path, root: Path) -> None:
    jobs.submit(root, "k", tiny_args(corpus_dir, 100000))
    wait_for(lambda: jobs.status(root / "k").checkpoint_step, 90, "a first checkpoint")
    os.kill(jobs.read_job(root / "k")["pid"], signal.SIGKILL)  # as the kernel's OOM killer would
    wait_for(lambda: done(root / "k"), 30)
    st = jobs.status(root / "k")
    assert st.state == "failed" and "killed by SIGKILL" in st.message
    assert f"last good checkpoint: step {st.checkpoint_step}" in st.summary()
    assert load_run(root / "k").step == st.checkpoint_step


def test_a_job_whose_supervisor_died_is_reported_failed(corpus_dir: Path, root: Path) -> None:
    jobs.submit(root, "d", tiny_args(corpus_dir, 100000))
    wait_for(lambda: read_metrics_since(root / "d")[0], 60, "training to start")
    job = jobs.read_job(root / "d")
    os.kill(job["supervisor_pid"], signal.SIGKILL)
    time.sleep(0.5)
    assert state(root / "d") == "running"  # the training process goes on without its supervisor
    os.kill(job["pid"], signal.SIGKILL)
    wait_for(lambda: state(root / "d") == "failed", 30)
    assert "ended without recording why" in jobs.status(root / "d").message


def test_bad_submissions_are_refused_at_once(corpus_dir: Path, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(jobs.JobError, match="lr"):
        jobs.submit(root, "bad", [*tiny_args(corpus_dir), "--lr=fast"])
    with pytest.raises(jobs.JobError, match="run name"):
        jobs.submit(root, "../escape", tiny_args(corpus_dir))
    with pytest.raises(jobs.JobError, match="no run to resume"):
        jobs.submit(root, "nothing", [], resume=True)
    assert not (root / "bad" / JOB).exists()
    free = type("Usage", (), {"free": 10 * 2**20})()
    monkeypatch.setattr(jobs.shutil, "disk_usage", lambda path: free)
    with pytest.raises(jobs.JobError, match="10 MB free"):
        jobs.submit(root, "full", tiny_args(corpus_dir))


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

    splits, fmt = training.folder_corpus(str(corpus_dir))
    assert fmt == "text" and {k: Path(v).name for k, v in splits.items()} == {
        "train": "train.txt", "valid": "valid.txt", "test": "test.txt"}  # fmt: skip
    with pytest.raises(CorpusError, match="no training file"):
        training.folder_corpus(str(tmp_path))
    assert training.parse_sweep("5, 10 20;5") == [5.0, 10.0, 20.0]
    with pytest.raises(ValueError, match="negative"):
        training.parse_sweep("5, -1")
    assert training.sweep_name("bc", 7.5) == "bc-c7.5"
    form = training.RunForm(corpus=splits, knobs={"C": 3.0}, threads=1)
    assert "--objective.C=12" in form.args(C=12) and "--num_threads=1" in form.args()


def test_the_rate_recipe_option_trains_with_its_knobs(corpus_dir: Path) -> None:
    """The Training page's recipe checkbox becomes CLI options the trainer accepts: batch-normalised μ with
    a learned scale, the bag-of-words loss, random batches, and C ramped over two epochs of this corpus."""
    from explorer import training
    from textvae_core.recipe import resolve
    from textvae_core.train import parse_cli

    splits, _ = training.folder_corpus(str(corpus_dir))
    form = training.RunForm(corpus=splits, knobs={"C": 3.0}, batch_size=64, recipe=True)
    cfg, _ = parse_cli([*form.args(), "--out=runs/x"])
    assert (cfg.model.mu_norm, cfg.model.mu_scale_learn, cfg.model.bow_head) == ("batchnorm", True, True)
    assert (cfg.objective.bow, cfg.train.bucket_chunk, cfg.objective.C_schedule) == (1.0, 1, "linear")
    assert cfg.objective.C_warmup_steps == 2 * -(-600 // 64)  # the tiny corpus: 600 training sentences
    plain = training.RunForm(corpus=splits, knobs={"C": None}, recipe=True)
    cfg, _ = parse_cli([*plain.args(), "--out=runs/y"])
    cfg = resolve(cfg)
    assert cfg.objective.C_schedule == "constant" and cfg.model.mu_norm == "batchnorm"  # no C: no ramp


def test_the_training_form_chooses_the_latent_and_alpha(corpus_dir: Path) -> None:
    """The report's families from the page: the latent structure and the Hybrid's α become CLI options."""
    from explorer import training
    from textvae_core.train import parse_cli

    splits, _ = training.folder_corpus(str(corpus_dir))
    form = training.RunForm(corpus=splits, knobs={"C": 3.0, "alpha": 0.2}, latent="ladder")
    cfg, _ = parse_cli([*form.args(), "--out=runs/x"])
    assert (cfg.model.latent, cfg.objective.alpha, cfg.objective.C) == ("ladder", 0.2, 3.0)
    assert parse_cli([*training.RunForm(corpus=splits).args(), "--out=runs/y"])[0].model.latent == "dense"
    kept = training.RunForm(corpus=splits, keep_best="nll_bound")
    assert parse_cli([*kept.args(), "--out=runs/z"])[0].train.keep_best == "nll_bound"
    assert training.KEEP_CHOICES["rec"] == "best valid D"
    lagging = training.RunForm(corpus=splits, objective="vae", knobs={"C": None, "free_bits": 0.5}, aggressive=True)
    cfg, _ = parse_cli([*lagging.args(), "--out=runs/w"])
    assert (cfg.objective.free_bits, cfg.objective.C, cfg.train.aggressive) == (0.5, None, True)
    assert not parse_cli([*training.RunForm(corpus=splits).args(), "--out=runs/v"])[0].train.aggressive


def test_the_training_form_sets_decoder_dropout_z_mode_and_lr_decay(corpus_dir: Path) -> None:
    """The paper-size recipe's choices (docs/PAPER_SIZE.md) from the page; by default the CLI's defaults."""
    from explorer import training
    from textvae_core.config import ModelConfig, TrainConfig
    from textvae_core.models import build_model
    from textvae_core.train import parse_cli

    splits, _ = training.folder_corpus(str(corpus_dir))
    form = training.RunForm(corpus=splits, dropout=0.3, z_mode="both", lr_decay=0.5, lr_min_gain=0.25)
    cfg, _ = parse_cli([*form.args(), "--out=runs/x"])
    assert (cfg.model.dropout, cfg.model.emb_dropout, cfg.model.z_mode) == (0.3, 0.3, "both")
    assert (cfg.train.lr_decay, cfg.train.lr_patience, cfg.train.lr_min_gain) == (0.5, 1, 0.25)
    plain, _ = parse_cli([*training.RunForm(corpus=splits).args(), "--out=runs/y"])
    m, t = ModelConfig(), TrainConfig()
    assert (plain.model.dropout, plain.model.emb_dropout, plain.model.z_mode) == (m.dropout, m.emb_dropout, m.z_mode)
    assert (plain.train.lr_decay, plain.train.lr_min_gain) == (t.lr_decay, t.lr_min_gain)
    defaults = (t.lr_schedule, t.lr_final, t.lr_hold)
    assert (plain.train.lr_schedule, plain.train.lr_final, plain.train.lr_hold) == defaults == ("constant", 0.0, 0.0)
    form = training.RunForm(corpus=splits, lr_schedule="cosine", lr_final=1e-5, lr_hold=0.5)
    cosine, _ = parse_cli([*form.args(), "--out=z"])
    assert (cosine.train.lr_schedule, cosine.train.lr_final, cosine.train.lr_decay) == ("cosine", 1e-5, 1.0)
    assert cosine.train.lr_hold == 0.5 and plain.train.average_from == t.average_from == 0.0
    averaged, _ = parse_cli([*training.RunForm(corpus=splits, average_from=8.0, average_every=5).args(), "--out=w"])
    assert (averaged.train.average_from, averaged.train.average_every) == (8.0, 5)
    tied, _ = parse_cli([*training.RunForm(corpus=splits, tie=True).args(), "--out=v"])
    assert tied.model.tie_embeddings and not plain.model.tie_embeddings
    for mode in training.Z_MODES:  # every choice of the page builds a decoder
        build_model(ModelConfig(emb_dim=8, hidden=8, z_dim=4, z_mode=mode), 20)


def test_a_run_started_from_a_shipped_runs_recipe_trains_like_it_on_another_corpus(corpus_dir: Path) -> None:
    """The Training page's "Start from": the record run's model and optimiser, the form's corpus and budget,
    its two-epoch C ramp kept two epochs long on a corpus of another size."""
    from explorer import training
    from textvae_core.config import RunConfig
    from textvae_core.paths import ROOT
    from textvae_core.train import parse_cli

    base = ROOT / "checkpoints" / "ptb-lstm-record" / CONFIG
    shipped = RunConfig.load(base)
    splits, _ = training.folder_corpus(str(corpus_dir))
    form = training.RunForm(corpus=splits, base=str(base), epochs=2.0, threads=1)
    cfg, _ = parse_cli([*form.args(), "--out=runs/like"])
    assert cfg.model == shipped.model and cfg.train.lr_min_gain == shipped.train.lr_min_gain
    assert (cfg.objective.C, cfg.objective.C_schedule) == (shipped.objective.C, "linear")
    assert (cfg.data.train, cfg.data.valid, cfg.data.test) == (splits["train"], splits["valid"], splits["test"])
    assert (cfg.train.epochs, cfg.train.max_steps, cfg.train.max_minutes, cfg.train.num_threads) == (2.0, 0, 0, 1)
    lines = training.count_lines(splits["train"])
    per_epoch = -(-lines // shipped.train.batch_size)
    ptb_epoch = -(-training.count_lines(shipped.data.train) // shipped.train.batch_size)
    assert cfg.objective.C_warmup_steps == max(1, round(shipped.objective.C_warmup_steps * per_epoch / ptb_epoch))
    assert shipped.objective.C_warmup_steps == 2 * ptb_epoch  # two epochs of PTB, hence two epochs here
    swept, _ = parse_cli([*form.args(C=12.0), "--out=runs/like-c12"])  # a C sweep from the same recipe
    assert swept.objective.C == 12.0 and swept.model == shipped.model
