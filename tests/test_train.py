"""Training loop and CLI: logging, resume, NaN handling, devices, bad input."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.helpers import tiny_config
from textvae_core import objectives
from textvae_core.checkpoint import load_run
from textvae_core.config import ConfigError, RunConfig
from textvae_core.paths import ROOT
from textvae_core.rundir import CONFIG, METRICS, WEIGHTS
from textvae_core.train import LOGGED, TrainingError, main, parse_cli, train


def records(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / METRICS).read_text().splitlines()]


def test_every_step_logs_the_objective_terms_and_validation(corpus_dir: Path, tmp_path: Path) -> None:
    cfg = tiny_config(corpus_dir, tmp_path / "r", "vae-anneal", schedule="linear", warmup_steps=10)
    cfg.train.max_steps = 12
    result = train(cfg)
    rows = records(tmp_path / "r")
    train_rows = [r for r in rows if r["split"] == "train"]
    assert [r["step"] for r in train_rows] == list(range(1, 13))
    for r in train_rows:
        assert set(LOGGED) | {"tok_per_s", "epoch"} <= set(r)
        assert r["elbo"] == pytest.approx(-(r["rec"] + r["kl"]), rel=1e-5)
    # β(t) follows the schedule, logged with the step it was applied at
    assert [r["beta"] for r in train_rows[:3]] == pytest.approx([0.0, 0.1, 0.2])
    valid = [r for r in rows if r["split"] == "valid"]
    assert valid and valid[-1]["step"] == 12 and result.valid == {k: valid[-1][k] for k in result.valid}


def test_resume_continues_exactly_where_an_uninterrupted_run_would_be(corpus_dir: Path, tmp_path: Path) -> None:
    straight = tiny_config(corpus_dir, tmp_path / "straight", "beta-c", C=2.0)
    straight.train.max_steps, straight.model.decoder = 30, "gru"
    train(straight)
    split = tiny_config(corpus_dir, tmp_path / "split", "beta-c", C=2.0)
    split.train.max_steps, split.model.decoder = 13, "gru"
    train(split)  # stops mid-epoch (19 batches per epoch)
    resumed = RunConfig.load(tmp_path / "split" / CONFIG)
    resumed.train.max_steps = 30
    train(resumed, resume=True)
    a, b = load_run(tmp_path / "straight").model.state_dict(), load_run(tmp_path / "split").model.state_dict()
    for k in a:
        assert torch.allclose(a[k], b[k], atol=1e-5), k
    steps = [r["step"] for r in records(tmp_path / "split") if r["split"] == "train"]
    assert steps == list(range(1, 31))


def test_nan_stops_training_and_keeps_the_last_good_checkpoint(
    corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = tiny_config(corpus_dir, tmp_path / "r", "vae")
    cfg.train.max_steps, cfg.train.ckpt_every = 20, 5
    real = objectives.objective_terms

    def poisoned(rec, kl, ocfg, step, **extra):
        terms = real(rec, kl, ocfg, step, **extra)
        if step == 7:
            terms["loss"] = terms["loss"] * float("nan")
        return terms

    monkeypatch.setattr("textvae_core.trainer.objective_terms", poisoned)
    with pytest.raises(TrainingError, match=r"non-finite.*step 7.*last good checkpoint"):
        train(cfg)
    run = load_run(tmp_path / "r")
    assert run.step == 5
    assert all(torch.isfinite(p).all() for p in run.model.parameters())
    assert records(tmp_path / "r")[-1]["event"] == "non_finite"


@pytest.mark.parametrize("decoder", ["gru", "cnn"])
def test_other_decoders_and_char_level_train(corpus_dir: Path, tmp_path: Path, decoder: str) -> None:
    cfg = tiny_config(corpus_dir, tmp_path / decoder, "autogen", decoder=decoder)
    cfg.data.level = "char"
    cfg.train.max_steps, cfg.train.lr = 30, 1e-2
    result = train(cfg)
    run = load_run(tmp_path / decoder)
    assert run.vocab.level == "char" and len(run.vocab) < 60 and result.step == 30
    # it learns: held-out distortion well below a uniform guess over the characters
    uniform = result.valid["n_tokens"] / result.valid["n_sentences"] * math.log(len(run.vocab))
    assert result.valid["rec"] < 0.7 * uniform


def test_cli_overrides_presets_and_sizes(tmp_path: Path) -> None:
    cfg, resume = parse_cli(
        [
            "--objective=autogen",
            "--objective.m=2.5",
            "--size=paper",
            "--lr=3e-4",
            f"--out={tmp_path}",
            "--train.epochs",
            "2",
        ]
    )
    assert not resume
    assert (cfg.objective.name, cfg.objective.m) == ("autogen", 2.5)
    assert (cfg.model.emb_dim, cfg.model.hidden, cfg.model.z_dim) == (256, 512, 64)
    assert cfg.train.lr == 3e-4 and cfg.train.epochs == 2.0 and cfg.train.out == str(tmp_path)
    cfg, _ = parse_cli(["--objective=beta-c", "--objective.C=none", "--model.cnn_dilations=1,2", "--amp=false"])
    assert cfg.objective.C is None and cfg.model.cnn_dilations == [1, 2] and cfg.train.amp is False
    config_file = tmp_path / "c.toml"
    config_file.write_text('[objective]\nname = "beta-c"\nC = 50.0\n[model]\ndecoder = "cnn"\n')
    cfg, _ = parse_cli(["--config", str(config_file), "--objective.C=60"])
    assert cfg.objective.C == 60.0 and cfg.model.decoder == "cnn"
    for bad in (["--nope=1"], ["--lr=fast"], ["--size=huge"], ["positional"], ["--objective=wae"], ["--amp=maybe"]):
        with pytest.raises(ConfigError):
            parse_cli(bad)


def test_cli_reports_bad_input_without_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\xff\xfe\x00binary")
    assert main([f"--data.train={bad}", f"--out={tmp_path / 'r'}"]) == 2
    err = capsys.readouterr().err
    assert "error:" in err and str(bad) in err and "binary" in err
    assert main(["--data.train=" + str(tmp_path / "missing.txt"), f"--out={tmp_path / 'r'}"]) == 2
    assert "not found" in capsys.readouterr().err
    assert main(["--resume", str(tmp_path / "nothing")]) == 2
    assert "no such run" in capsys.readouterr().err


def test_an_existing_run_is_never_overwritten(corpus_dir: Path, tmp_path: Path) -> None:
    cfg = tiny_config(corpus_dir, tmp_path / "r", "vae")
    cfg.train.max_steps = 2
    train(cfg)
    before = (tmp_path / "r" / WEIGHTS).read_bytes()
    with pytest.raises(ConfigError, match="already holds a run"):
        train(cfg)
    assert (tmp_path / "r" / WEIGHTS).read_bytes() == before


def test_cuda_request_without_cuda_is_a_clear_error(corpus_dir: Path, tmp_path: Path) -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    cfg = tiny_config(corpus_dir, tmp_path / "r", "vae")
    cfg.train.device = "cuda"
    with pytest.raises(ConfigError, match="CUDA is not available"):
        train(cfg)


def test_module_entry_point_runs(corpus_dir: Path, tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "textvae_core.train", "--size=tiny", f"--data.train={corpus_dir / 'train.txt'}",
         "--data.valid=", "--max_steps=3", f"--out={tmp_path / 'r'}", "--progress=false"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["step"] == 3


def test_a_run_extended_from_an_epoch_boundary_validates_once_per_step(corpus_dir: Path, tmp_path: Path) -> None:
    cfg = tiny_config(corpus_dir, tmp_path / "r", "vae")  # 600 sentences / 32 = 19 batches per epoch
    train(cfg)
    again = RunConfig.load(tmp_path / "r" / CONFIG)
    again.train.epochs = 2
    train(again, resume=True)
    valid_steps = [r["step"] for r in records(tmp_path / "r") if r["split"] == "valid"]
    assert valid_steps == [19, 38]


def test_learning_rate_decays_after_validations_without_a_better_elbo(corpus_dir: Path, tmp_path: Path) -> None:
    cfg = tiny_config(corpus_dir, tmp_path / "r", "vae")
    cfg.train.max_steps, cfg.train.val_every = 12, 2
    cfg.train.lr_decay, cfg.train.lr_patience = 0.5, 2
    cfg.train.lr = 1e-12  # all but frozen: no later validation beats the first
    train(cfg)
    lrs = [r["lr"] for r in records(tmp_path / "r") if r["split"] == "valid"]
    assert lrs == pytest.approx([1e-12, 1e-12, 5e-13, 5e-13, 2.5e-13, 2.5e-13])
    # a resumed run starts from the decayed lr and its plateau count, not from train.lr
    resumed = RunConfig.load(tmp_path / "r" / CONFIG)
    resumed.train.max_steps = 16
    train(resumed, resume=True)
    lrs = [r["lr"] for r in records(tmp_path / "r") if r["split"] == "valid"]
    assert lrs[6:] == pytest.approx([1.25e-13, 1.25e-13])


def test_a_validation_must_gain_lr_min_gain_to_hold_the_learning_rate(corpus_dir: Path, tmp_path: Path) -> None:
    cfg = tiny_config(corpus_dir, tmp_path / "r", "vae")
    cfg.train.max_steps, cfg.train.val_every = 8, 2
    cfg.train.lr_decay, cfg.train.lr_patience = 0.5, 1
    cfg.train.lr = 1e-2  # the −ELBO falls at every validation here, by less than the gain asked for
    cfg.train.lr_min_gain = 1e6
    train(cfg)
    valid = [r for r in records(tmp_path / "r") if r["split"] == "valid"]
    assert valid[-1]["elbo"] > valid[0]["elbo"]  # it did improve...
    assert [r["lr"] for r in valid] == pytest.approx([1e-2, 5e-3, 2.5e-3, 1.25e-3])  # ...yet never enough
    resumed = RunConfig.load(tmp_path / "r" / CONFIG)  # a resume may ask for less: any fall counts again
    resumed.train.max_steps, resumed.train.lr_min_gain = 12, 0.0
    train(resumed, resume=True)
    later = [r for r in records(tmp_path / "r") if r["split"] == "valid"][4:]
    assert all(
        b["elbo"] > a["elbo"] for a, b in zip([valid[-1], *later[:-1]], later, strict=True)
    )  # still improving...
    assert [r["lr"] for r in later] == pytest.approx([1.25e-3, 1.25e-3])  # ...and now that holds the lr
    again = tiny_config(corpus_dir, tmp_path / "s", "vae")
    again.train.max_steps, again.train.val_every = 8, 2
    again.train.lr_decay, again.train.lr_patience, again.train.lr = 0.5, 1, 1e-2
    train(again)
    assert [r["lr"] for r in records(tmp_path / "s") if r["split"] == "valid"] == pytest.approx([1e-2] * 4)


def test_the_plateau_watches_the_figure_the_run_keeps_its_best_by(
    corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At C = 100 the −ELBO swings with the KL: a run kept by D (keep_best = rec) decays its lr on D."""
    from textvae_core import trainer as trainer_module

    real = trainer_module.heldout_bounds
    calls: list[int] = []

    def scripted(*args: object, **kwargs: object) -> dict[str, float]:
        figures = dict(real(*args, **kwargs))
        calls.append(1)
        # −ELBO falls by 10 at every validation while D rises by 1
        figures["nll_bound"], figures["rec"] = 200.0 - 10 * len(calls), 80.0 + len(calls)
        return figures

    monkeypatch.setattr(trainer_module, "heldout_bounds", scripted)

    def lrs(keep: str, name: str) -> list[float]:
        calls.clear()
        cfg = tiny_config(corpus_dir, tmp_path / name, "vae")
        cfg.train.max_steps, cfg.train.val_every, cfg.train.keep_best = 8, 2, keep
        cfg.train.lr_decay, cfg.train.lr_patience, cfg.train.lr = 0.5, 1, 1e-2
        train(cfg)
        return [r["lr"] for r in records(tmp_path / name) if r["split"] == "valid"]

    assert lrs("rec", "by-d") == pytest.approx([1e-2, 5e-3, 2.5e-3, 1.25e-3])  # D never improved after the first
    assert lrs("nll_bound", "by-elbo") == pytest.approx([1e-2] * 4)
    assert lrs("", "unkept") == pytest.approx([1e-2] * 4)  # no kept figure: the −ELBO, as before


def test_decoder_input_dropout_changes_training_but_not_evaluation(corpus_dir: Path, tmp_path: Path) -> None:
    from textvae_core.data import Corpus
    from textvae_core.models import build_model

    cfg = tiny_config(corpus_dir, tmp_path / "r", "vae")
    cfg.model.emb_dropout = 0.5
    cfg.train.max_steps = 2
    train(cfg)
    run = load_run(tmp_path / "r")
    batch = Corpus([["the", "cat"], ["a", "dog", "ran"]], run.vocab, "t").batch([0, 1])
    model = build_model(run.config.model, len(run.vocab))
    model.load_state_dict(run.model.state_dict())
    model.eval()
    torch.manual_seed(0)
    a = model(batch).rec
    torch.manual_seed(1)
    assert torch.equal(a, model(batch).rec)  # eval: no dropout, z = μ
    model.train()
    torch.manual_seed(0)
    b = model(batch, sample=False).rec
    torch.manual_seed(1)
    assert not torch.equal(b, model(batch, sample=False).rec)  # training: inputs dropped at random


def test_capacity_ramp_and_bow_and_normalised_mu_train_and_log(corpus_dir: Path, tmp_path: Path) -> None:
    """The recipe's knobs together: C(t) logged as it ramps, the BoW term logged, μ statistics refreshed."""
    cfg = tiny_config(corpus_dir, tmp_path / "r", "beta-c", C=8.0, C_schedule="linear", C_warmup_steps=10, bow=1.0)
    cfg.model.bow_head, cfg.model.mu_norm, cfg.train.bucket_chunk = True, "batchnorm", 1
    cfg.train.max_steps = 20
    train(cfg)
    recs = [r for r in records(tmp_path / "r") if r["split"] == "train"]
    assert [r["C"] for r in recs[:3]] == pytest.approx([0.0, 0.8, 1.6]) and recs[-1]["C"] == 8.0
    assert all(r["bow"] > 0 for r in recs)
    run = load_run(tmp_path / "r")
    assert run.model.mu_bn.num_batches_tracked > 0  # population statistics stored with the weights
    bad = tiny_config(corpus_dir, tmp_path / "bad", "beta-c", C=8.0)
    bad.model.mu_norm, bad.train.bucket_chunk = "batchnorm", 50  # with length-sorted batches: refused, with the reason
    with pytest.raises(ConfigError, match="random batches"):
        train(bad)
    bad.model.mu_norm, bad.model.bow_head, bad.objective.bow = "none", False, 1.0
    with pytest.raises(ConfigError, match="bow_head"):
        train(bad)


def test_init_from_copies_the_encoder_and_refuses_another_vocabulary(corpus_dir: Path, tmp_path: Path) -> None:
    """Li et al. 2019: a run can start from another run's (autoencoder-trained) embedding and encoder."""
    src = tiny_config(corpus_dir, tmp_path / "ae", "vae", beta=0.0)
    src.train.max_steps = 5
    train(src)
    cfg = tiny_config(corpus_dir, tmp_path / "r", "beta-c", C=5.0)
    cfg.train.init_from, cfg.train.max_steps, cfg.train.lr = str(tmp_path / "ae"), 1, 1e-12
    train(cfg)
    before, after = load_run(tmp_path / "ae").model.state_dict(), load_run(tmp_path / "r").model.state_dict()
    assert torch.allclose(before["encoder.to_params.weight"], after["encoder.to_params.weight"], atol=1e-6)
    assert not torch.allclose(before["out.weight"], after["out.weight"])  # the decoder starts afresh
    other = tiny_config(corpus_dir, tmp_path / "o", "beta-c", C=5.0)
    other.data.max_vocab = 20  # a vocabulary of another size: refused before training
    other.train.init_from = str(tmp_path / "ae")
    with pytest.raises(ConfigError, match="another vocabulary"):
        train(other)
