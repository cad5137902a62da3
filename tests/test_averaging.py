"""Weight averaging (train.average_from): the mean of the sampled steps' weights is what a run validates,
keeps, loads and ships, and a resumed run averages exactly as an unbroken one."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from conftest import tiny_config

from textvae_core.averaging import Averaging, sample_due
from textvae_core.checkpoint import load_run, read_weights
from textvae_core.config import ConfigError, RunConfig
from textvae_core.rundir import AVERAGE_WEIGHTS, CONFIG, averaged_weights, kept_weights, read_metrics
from textvae_core.trainer import Trainer, prepare_data
from textvae_core.validation import validate as check_recipe

STEPS, EVERY = 12, 3


def averaging_config(corpus_dir: Path, out: Path) -> RunConfig:
    """GRU β_C validated every 4 steps, averaging from update 4 on, one sample every 3 updates (4, 7, 10)."""
    cfg = tiny_config(corpus_dir, out, "beta-c", decoder="gru", C=2.0)
    cfg.train.max_steps, cfg.train.val_every, cfg.train.lr = STEPS, 4, 3e-2
    cfg.train.average_every = EVERY
    return cfg


def start_at(cfg: RunConfig, step: int) -> RunConfig:
    """average_from in epochs such that the first sample is update ``step``."""
    _, train_set, _ = prepare_data(cfg)
    cfg.train.average_from = step / math.ceil(len(train_set) / cfg.train.batch_size)
    return cfg


def test_sampling_steps() -> None:
    assert [s for s in range(1, 13) if sample_due(s, 4, 3)] == [4, 7, 10]
    assert not any(sample_due(s, None, 3) for s in range(1, 13))


def test_averaging_samples_when_due_lends_the_mean_writes_its_file_and_carries_its_state(tmp_path: Path) -> None:
    model = torch.nn.Linear(2, 1)
    averaging = Averaging(model, tmp_path, start=4, every=3)
    assert averaging.model(model) is None and averaging.state_dict() is None  # nothing sampled yet
    for step in range(1, 11):
        with torch.no_grad():
            model.weight.fill_(float(step))
        averaging.after_step(step, model)
    mean = averaging.model(model)
    assert averaging.count == 3 and mean is not model
    assert torch.equal(mean.weight, torch.full((1, 2), (4.0 + 7.0 + 10.0) / 3))  # the samples of steps 4, 7, 10
    averaging.save(mean, {"step": 10})
    tensors, _ = read_weights(tmp_path / AVERAGE_WEIGHTS)
    assert torch.equal(tensors["weight"], mean.weight) and averaged_weights(tmp_path) == {"count": 3, "step": 10}
    resumed = Averaging(torch.nn.Linear(2, 1), tmp_path, start=4, every=3)
    resumed.load_state_dict(averaging.state_dict())
    with torch.no_grad():
        model.weight.fill_(13.0)
    resumed.after_step(13, model)
    assert resumed.count == 4 and torch.equal(resumed.model(model).weight, torch.full((1, 2), 34.0 / 4))


def test_the_run_validates_loads_and_ships_the_mean_of_its_sampled_weights(corpus_dir: Path, tmp_path: Path) -> None:
    from experiments.grid import ship
    from explorer.runs import weights_label

    cfg = start_at(averaging_config(corpus_dir, tmp_path / "straight"), 4)
    trainer = Trainer(cfg)
    seen: dict[int, dict[str, torch.Tensor]] = {}
    trainer.add_callback(
        "on_log",
        lambda tr, rec: seen.__setitem__(rec["step"], {k: v.clone() for k, v in tr.model.state_dict().items()}),
    )
    trainer.fit()
    run = tmp_path / "straight"
    sampled = [s for s in sorted(seen) if sample_due(s, trainer.average_start, EVERY)]
    assert trainer.average_start == 4 and sampled == [4, 7, 10]
    mean, _ = read_weights(run / AVERAGE_WEIGHTS)
    for name in ("decoder.rnn.weight_hh_l0", "embedding.weight"):
        expected = torch.stack([seen[s][name] for s in sampled]).mean(0)
        assert torch.allclose(mean[name], expected, atol=1e-6), name
        assert not torch.allclose(mean[name], seen[STEPS][name]), "the mean must differ from the last step"
    valid = [r for r in read_metrics(run) if r["split"] == "valid"]
    assert [(r["step"], r.get("averaged")) for r in valid] == [(4, 1), (8, 2), (12, 3)]
    assert averaged_weights(run) == {"count": 3, "step": STEPS}
    assert kept_weights(run) is None  # the mean is in use, but no validation kept it (keep_best off)
    loaded = load_run(run).model.state_dict()
    assert torch.equal(loaded["embedding.weight"], mean["embedding.weight"])
    assert weights_label(run).endswith("· mean of 3 steps' weights")

    ship(run, dtype="float32")
    assert not (run / AVERAGE_WEIGHTS).exists() and averaged_weights(run) == {"count": 3, "step": STEPS}
    assert torch.equal(load_run(run).model.state_dict()["embedding.weight"], mean["embedding.weight"])


def test_a_resumed_run_averages_as_an_unbroken_one(corpus_dir: Path, tmp_path: Path) -> None:
    cfg = start_at(averaging_config(corpus_dir, tmp_path / "unused"), 4)
    for name in ("straight", "split"):
        cfg.train.out = str(tmp_path / name)
        trainer = Trainer(RunConfig.from_dict(cfg.to_dict()))
        if name == "split":  # stopped between samples 7 and 10, after a checkpoint that holds two of them
            trainer.add_callback("on_log", lambda tr, rec: rec["step"] == 9 and tr.stop("pause"))
        trainer.fit()
    Trainer(RunConfig.load(tmp_path / "split" / CONFIG), resume=True).fit()
    a, _ = read_weights(tmp_path / "straight" / AVERAGE_WEIGHTS)
    b, _ = read_weights(tmp_path / "split" / AVERAGE_WEIGHTS)
    assert all(torch.equal(a[k], b[k]) for k in a), "a resume must carry the mean, not start it again"


@pytest.mark.parametrize(("key", "value"), [("average_from", 5.0), ("average_from", -1.0), ("average_every", 0)])
def test_averaging_settings_that_average_nothing_are_refused(
    corpus_dir: Path, tmp_path: Path, key: str, value: float
) -> None:
    cfg = tiny_config(corpus_dir, tmp_path / "run")
    cfg.train.epochs, cfg.train.average_from = 2.0, 1.0
    setattr(cfg.train, key, value)
    with pytest.raises(ConfigError, match=rf"train\.{key}"):
        check_recipe(cfg)
