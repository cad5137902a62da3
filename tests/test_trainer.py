"""The Trainer: callbacks that stop it, SIGTERM and SIGINT, and a resume that goes on bit for bit."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from conftest import tiny_config

from textvae_core.checkpoint import load_resume, load_run
from textvae_core.config import ConfigError, RunConfig
from textvae_core.paths import ROOT
from textvae_core.rundir import CONFIG, METRICS, TRAIN_LOCK
from textvae_core.trainer import Trainer, TrainState, cosine_lr
from textvae_core.validation import validate as check_recipe


def records(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / METRICS).read_text().splitlines()]


def weights(run: Path) -> dict[str, torch.Tensor]:
    return load_run(run).model.state_dict()


def plateau_config(corpus_dir: Path, out: Path, steps: int) -> RunConfig:
    """GRU β_C validated every 3 steps with a plateau lr decay (it halves at steps 15 and 30): a resume must
    restore Adam, the random numbers and the schedule's state."""
    cfg = tiny_config(corpus_dir, out, "beta-c", decoder="gru", C=2.0)
    cfg.recipe = "plain"  # β_C as printed: the −ELBO's course these tests replay (the rate recipe's: below)
    cfg.train.max_steps, cfg.train.val_every, cfg.train.word_dropout = steps, 3, 0.3
    cfg.train.lr_decay, cfg.train.lr_patience, cfg.train.lr = 0.5, 1, 3e-2
    return cfg


def test_a_callback_stops_training_and_resume_goes_on_bit_for_bit(corpus_dir: Path, tmp_path: Path) -> None:
    Trainer(plateau_config(corpus_dir, tmp_path / "straight", 30)).fit()
    trainer = Trainer(plateau_config(corpus_dir, tmp_path / "split", 30))
    seen: list[str] = []
    trainer.add_callback("on_log", lambda tr, rec: rec["step"] == 11 and tr.stop("enough for now"))
    trainer.add_callback("on_validate", lambda tr, rec: seen.append(f"valid {rec['step']}"))
    trainer.add_callback("on_checkpoint", lambda tr, info: seen.append(f"ckpt {info['step']}"))
    result = trainer.fit()
    assert (result.step, result.stopped, result.total_steps) == (11, "enough for now", 30)
    assert seen == ["valid 3", "ckpt 3", "valid 6", "ckpt 6", "valid 9", "ckpt 9", "ckpt 11"]  # none at the stop
    saved = load_resume(tmp_path / "split", 11)
    assert saved["state"]["step"] == 11 and "num_bad_epochs" in saved["scheduler"]
    assert [r["event"] for r in records(tmp_path / "split") if r["split"] == "event"] == ["start", "stopped"]
    Trainer(RunConfig.load(tmp_path / "split" / CONFIG), resume=True).fit()
    a, b = weights(tmp_path / "straight"), weights(tmp_path / "split")
    assert all(torch.equal(a[k], b[k]) for k in a), "resume after a stop must equal the straight run exactly"
    lr = lambda run: [r["lr"] for r in records(run) if r["split"] == "valid"]  # noqa: E731
    assert lr(tmp_path / "split") == lr(tmp_path / "straight") and len(set(lr(tmp_path / "straight"))) > 1


def test_a_cosine_lr_falls_to_lr_final_and_a_resume_stays_on_its_curve(corpus_dir: Path, tmp_path: Path) -> None:
    def cosine(out: Path) -> RunConfig:
        cfg = tiny_config(corpus_dir, out, "vae", decoder="gru")
        cfg.train.max_steps, cfg.train.val_every, cfg.train.lr = 12, 3, 1e-2
        cfg.train.lr_schedule, cfg.train.lr_final = "cosine", 1e-4
        return cfg

    assert cosine_lr(1e-2, 1e-4, 0, 12) == 1e-2 and cosine_lr(1e-2, 1e-4, 11, 12) == pytest.approx(1e-4)
    assert cosine_lr(1e-2, 1e-4, 11, 23) == pytest.approx((1e-2 + 1e-4) / 2)  # the middle step: halfway
    Trainer(cosine(tmp_path / "straight")).fit()
    lrs = [r["lr"] for r in records(tmp_path / "straight") if r["split"] == "valid"]
    assert lrs == pytest.approx([cosine_lr(1e-2, 1e-4, s - 1, 12) for s in (3, 6, 9, 12)])
    assert lrs[-1] == pytest.approx(1e-4) and lrs[0] > lrs[1] > lrs[2] > lrs[3]
    logged = [r["lr"] for r in records(tmp_path / "straight") if r["split"] == "train"]  # the Training page's curve
    assert logged == pytest.approx([cosine_lr(1e-2, 1e-4, s, 12) for s in range(12)])
    trainer = Trainer(cosine(tmp_path / "split"))
    trainer.add_callback("on_log", lambda tr, rec: rec["step"] == 5 and tr.stop("halfway"))
    trainer.fit()
    Trainer(RunConfig.load(tmp_path / "split" / CONFIG), resume=True).fit()
    a, b = weights(tmp_path / "straight"), weights(tmp_path / "split")
    assert all(torch.equal(a[k], b[k]) for k in a), "a resumed cosine run must take the straight run's lr steps"
    both = cosine(tmp_path / "both")
    both.train.lr_decay = 0.5
    with pytest.raises(ConfigError, match="use one of the two"):
        check_recipe(both)
    both.train.lr_decay, both.train.lr_schedule = 1.0, "linear"
    with pytest.raises(ConfigError, match="constant, cosine"):
        check_recipe(both)


def test_a_held_cosine_keeps_its_lr_then_falls_over_the_remaining_steps(corpus_dir: Path, tmp_path: Path) -> None:
    assert [cosine_lr(1e-2, 1e-4, s, 12, hold=4) for s in (0, 3, 4)] == [1e-2] * 3
    assert cosine_lr(1e-2, 1e-4, 11, 12, hold=4) == pytest.approx(1e-4)
    assert cosine_lr(1e-2, 1e-4, 4 + 7, 4 + 15, hold=4) == pytest.approx((1e-2 + 1e-4) / 2)  # halfway of the fall
    cfg = tiny_config(corpus_dir, tmp_path / "wsd", "vae", decoder="gru")
    cfg.train.epochs, cfg.train.lr = 2.0, 1e-2
    cfg.train.lr_schedule, cfg.train.lr_final, cfg.train.lr_hold = "cosine", 1e-4, 1.0  # an epoch at 1e-2, then down
    trainer = Trainer(cfg)
    hold, total = trainer.n_batches, trainer.total_steps
    assert total == 2 * hold > 2
    trainer.fit()
    logged = [r["lr"] for r in records(tmp_path / "wsd") if r["split"] == "train"]
    assert logged == pytest.approx([cosine_lr(1e-2, 1e-4, s, total, hold) for s in range(total)])
    assert logged[: hold + 1] == [1e-2] * (hold + 1) and logged[-1] == pytest.approx(1e-4)
    for bad in ({"lr_schedule": "constant"}, {"lr_hold": 2.0}, {"lr_hold": -1.0}):  # no cosine; no steps left
        wrong = RunConfig.load(tmp_path / "wsd" / CONFIG)
        for key, value in bad.items():
            setattr(wrong.train, key, value)
        with pytest.raises(ConfigError, match=r"train\.lr_hold"):
            check_recipe(wrong)


def test_sigterm_checkpoints_the_current_step_and_exits_cleanly(corpus_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = [sys.executable, "-m", "textvae_core.train", f"--data.train={corpus_dir / 'train.txt'}",
            f"--data.valid={corpus_dir / 'valid.txt'}", "--size=tiny", "--batch_size=8", "--max_steps=100000",
            "--ckpt_every=0", "--progress=false", "--seed=3", f"--out={out}"]  # fmt: skip
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 90
        while not (out / METRICS).exists() or len((out / METRICS).read_text().splitlines()) < 5:
            assert time.time() < deadline and proc.poll() is None, "training did not start"
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM, stderr
    summary = json.loads(stdout)
    assert summary["stopped"] == "SIGTERM" and f"resume with --resume {out}" in stderr
    step = summary["step"]
    assert load_run(out).step == step and records(out)[-1] == {**records(out)[-1], "event": "stopped", "step": step}
    # going on from the stop equals training straight to the same step
    resumed = RunConfig.load(out / CONFIG)
    resumed.train.max_steps = step + 4
    Trainer(resumed, resume=True).fit()
    straight = RunConfig.load(out / CONFIG)
    straight.train.out, straight.train.max_steps = str(tmp_path / "straight"), step + 4
    Trainer(straight).fit()
    a, b = weights(out), weights(tmp_path / "straight")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_two_trainers_never_share_a_run_directory(corpus_dir: Path, tmp_path: Path) -> None:
    cfg = tiny_config(corpus_dir, tmp_path / "r", "vae")
    cfg.train.max_steps = 2
    Trainer(cfg).fit()
    assert not (tmp_path / "r" / TRAIN_LOCK).exists()  # a finished run keeps no lock file
    first = Trainer(RunConfig.load(tmp_path / "r" / CONFIG), resume=True)
    with pytest.raises(Exception, match="being trained by another process"):
        Trainer(RunConfig.load(tmp_path / "r" / CONFIG), resume=True)
    assert (tmp_path / "r" / TRAIN_LOCK).exists()  # the refused one leaves the holder's lock alone
    first.fit()  # releases the lock
    assert not (tmp_path / "r" / TRAIN_LOCK).exists()
    Trainer(RunConfig.load(tmp_path / "r" / CONFIG), resume=True).fit()


def test_train_state_reads_resume_files_written_before_the_trainer() -> None:
    old = {"step": 40, "epoch": 2, "batch": 2, "lr": 5e-4, "best_valid_nll": 101.5, "bad_validations": 1}
    assert TrainState.from_dict(old, lr=1e-3) == TrainState(40, 2, 2, 5e-4, 101.5)
    assert TrainState.from_dict({"step": 3, "epoch": 0, "batch": 3}, lr=1e-3).lr == 1e-3


def test_reduce_lr_on_plateau_decays_like_the_hand_written_rule_it_replaced(corpus_dir: Path, tmp_path: Path) -> None:
    """Before the Trainer the lr fell by lr_decay after lr_patience validations without a strictly lower −ELBO
    (the count reset at each decay). Replayed on the −ELBOs the Trainer logged, that rule gives the lrs it logged."""
    Trainer(plateau_config(corpus_dir, tmp_path / "r", 30)).fit()
    valid = [r for r in records(tmp_path / "r") if r["split"] == "valid"]
    lr, best, bad, expected = 3e-2, None, 0, []
    for r in valid:
        if best is None or r["nll_bound"] < best:
            best, bad = r["nll_bound"], 0
        else:
            bad += 1
            if bad >= 1:  # lr_patience
                lr, bad = lr * 0.5, 0  # lr_decay
        expected.append(lr)
    assert [r["lr"] for r in valid] == pytest.approx(expected, rel=1e-12)
    assert min(expected) < 3e-2  # the schedule did decay in this run


def keep_best_config(corpus_dir: Path, out: Path, steps: int) -> RunConfig:
    """A lr high enough that validation D goes up as well as down, so the best step is not the last."""
    cfg = tiny_config(corpus_dir, out, "beta-c", C=2.0)
    cfg.recipe = "plain"
    cfg.train.max_steps, cfg.train.val_every, cfg.train.lr, cfg.train.keep_best = steps, 2, 0.2, "rec"
    return cfg


def test_keep_best_keeps_the_lowest_validation_and_ships_it(corpus_dir: Path, tmp_path: Path) -> None:
    from experiments.grid import ship, shipped
    from explorer.runs import weights_label
    from textvae_core.checkpoint import read_weights
    from textvae_core.rundir import BEST_WEIGHTS, WEIGHTS, kept_weights, weights_step

    run = tmp_path / "straight"
    Trainer(keep_best_config(corpus_dir, run, 12)).fit()
    valid = [r for r in records(run) if r["split"] == "valid"]
    best = min(valid, key=lambda r: r["rec"])
    assert best["step"] != 12, "the test needs a run whose last validation is not its best"
    lows = [r for i, r in enumerate(valid) if all(r["rec"] < v["rec"] for v in valid[:i])]
    kept_events = [r for r in records(run) if r.get("event") == "kept_best"]
    assert [r["step"] for r in kept_events] == [r["step"] for r in lows]  # one per new low, none otherwise
    assert kept_weights(run) == {"by": "rec", "step": best["step"], "value": round(best["rec"], 4)}
    kept_tensors, _ = read_weights(run / BEST_WEIGHTS)
    last_tensors, _ = read_weights(run / WEIGHTS)
    loaded = load_run(run)
    assert loaded.step == 12 and weights_step(run) == 12  # how far it trained: the grid calls it complete
    assert all(torch.equal(loaded.model.state_dict()[k], kept_tensors[k]) for k in kept_tensors)
    assert not all(torch.equal(kept_tensors[k], last_tensors[k]) for k in kept_tensors)
    assert weights_label(run).endswith(f"· best valid D, step {best['step']}")

    # a stop and a resume keep the same best (the lowest figure so far travels with the resume state)
    split = Trainer(keep_best_config(corpus_dir, tmp_path / "split", 12))
    split.add_callback("on_log", lambda tr, rec: rec["step"] == best["step"] + 1 and tr.stop("pause"))
    split.fit()
    Trainer(RunConfig.load(tmp_path / "split" / CONFIG), resume=True).fit()
    assert kept_weights(tmp_path / "split") == kept_weights(run)

    ship(run, dtype="float32")
    assert shipped(run, "float32") and not (run / BEST_WEIGHTS).exists()
    assert kept_weights(run)["step"] == best["step"] and weights_step(run) == 12
    shipped_model = load_run(run).model.state_dict()
    assert all(torch.equal(shipped_model[k], kept_tensors[k]) for k in kept_tensors)


@pytest.mark.parametrize(
    ("keep", "valid", "message"),
    [("loss", "valid.txt", "one of .*rec, nll_bound"), ("rec", "", "needs a validation corpus")],
)
def test_keep_best_is_refused_without_a_figure_to_keep_by(
    corpus_dir: Path, tmp_path: Path, keep: str, valid: str, message: str
) -> None:
    from textvae_core.config import ConfigError

    cfg = keep_best_config(corpus_dir, tmp_path / "run", 4)
    cfg.train.keep_best, cfg.data.valid = keep, str(corpus_dir / valid) if valid else ""
    with pytest.raises(ConfigError, match=message):
        Trainer(cfg)
