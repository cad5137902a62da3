"""Aggressive encoder updates (He et al. 2019): the inner loop's stopping rule, which side each update moves,
the phase's end when validation I(x; z) falls, and a resume that remembers it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from conftest import tiny_config

from textvae_core import aggressive
from textvae_core.config import ConfigError
from textvae_core.rundir import METRICS
from textvae_core.trainer import Trainer, resume_parts


def per_token(losses: list[float]):
    """An update function whose n-th call returns losses[n] for one target token."""
    calls = iter(losses)
    return lambda batch: (next(calls), 1)


def test_inner_updates_stop_when_a_window_of_fifteen_is_no_better_than_the_last() -> None:
    more = iter([[0]] * 1000)
    falling_then_rising = [10.0] * 15 + [9.0] * 15 + [9.5] * 15 + [1.0] * 100
    assert aggressive.encoder_updates(per_token(falling_then_rising), [0], more, 100) == 45
    assert aggressive.encoder_updates(per_token([10.0] * 15 + [10.0] * 15), [0], more, 100) == 30  # flat stops too
    always_falling = [100.0 - i for i in range(200)]
    assert aggressive.encoder_updates(per_token(always_falling), [0], more, 100) == 100  # the cap
    assert aggressive.encoder_updates(per_token(always_falling), [0], more, 7) == 7


def test_the_inner_loop_starts_on_the_step_batch_then_draws_random_ones() -> None:
    seen: list[list[int]] = []

    def update(batch: list[int]) -> tuple[float, int]:
        seen.append(batch)
        return 1.0, 1

    aggressive.encoder_updates(update, [7, 8], aggressive.random_batches(50, 4, seed=3), 3)
    assert seen[0] == [7, 8] and all(len(b) == 4 and len(set(b)) == 4 for b in seen[1:])
    again = aggressive.random_batches(50, 4, seed=3)
    assert seen[1:] == [next(again), next(again)]  # seeded: every rank draws the same batches


def test_the_phase_ends_at_the_first_fall_of_mutual_information() -> None:
    assert aggressive.phase_goes_on(None, 0.1)
    assert aggressive.phase_goes_on(0.5, 0.5) and aggressive.phase_goes_on(0.5, 0.9)
    assert not aggressive.phase_goes_on(0.9, 0.5)


def moved(before: dict[str, torch.Tensor], after: dict[str, torch.Tensor], prefixes: tuple[str, ...]) -> set[bool]:
    return {not torch.equal(before[k], after[k]) for k in before if k.startswith(prefixes)}


def test_in_the_phase_the_step_moves_the_decoder_alone_and_the_inner_updates_the_encoder_alone(
    corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = tiny_config(corpus_dir, tmp_path / "run", "vae")
    cfg.train.aggressive, cfg.train.aggressive_inner = True, 4
    trainer = Trainer(cfg)
    decoder = ("decoder.", "out.")
    batch = list(range(32))

    inner: list[int] = []
    snapshots: list[dict[str, torch.Tensor]] = []
    real = trainer._encoder_updates

    def spy(idx: list[int]) -> int:
        inner.append(real(idx))
        snapshots.append({k: v.clone() for k, v in trainer.model.state_dict().items()})
        return inner[-1]

    monkeypatch.setattr(trainer, "_encoder_updates", spy)
    start = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    trainer.train_step(batch)
    after_inner, after_step = snapshots[0], trainer.model.state_dict()
    assert inner == [4]  # a falling loss on a tiny model: the cap
    assert moved(start, after_inner, tuple(trainer.model.INFERENCE_PARTS)) == {True}
    assert moved(start, after_inner, decoder) == {False}
    assert moved(after_inner, after_step, tuple(trainer.model.INFERENCE_PARTS)) == {False}
    assert moved(after_inner, after_step, decoder) == {True}

    trainer.phase.on = False  # after the phase: one joint update
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    trainer.train_step(batch)
    assert moved(before, trainer.model.state_dict(), tuple(trainer.model.INFERENCE_PARTS) + decoder) == {True}
    trainer._release()


def test_a_run_logs_its_encoder_updates_ends_the_phase_on_a_fall_and_resumes_after_it(
    corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = tiny_config(corpus_dir, tmp_path / "run", "vae")
    cfg.train.aggressive, cfg.train.aggressive_inner, cfg.train.max_steps, cfg.train.val_every = True, 3, 6, 2
    falls = iter([0.40, 0.55, 0.30])  # I(x; z) at the validations of steps 2, 4 and 6: it falls at step 6
    from textvae_core import trainer as trainer_module

    real = trainer_module.heldout_bounds

    def bounds(*args, **kwargs):
        figures = real(*args, **kwargs)
        return {**figures, "mi": next(falls)} if kwargs.get("mi") else figures

    monkeypatch.setattr(trainer_module, "heldout_bounds", bounds)
    Trainer(cfg).fit()
    lines = [json.loads(x) for x in (tmp_path / "run" / METRICS).read_text().splitlines()]
    train = [r for r in lines if r["split"] == "train"]
    assert [r["enc_updates"] for r in train] == [3.0] * 6  # the phase lasts until the validation of step 6
    assert [r["mi"] for r in lines if r["split"] == "valid"] == [0.40, 0.55, 0.30]
    ended = [r for r in lines if r.get("event") == "aggressive_ended"]
    assert len(ended) == 1 and ended[0]["step"] == 6 and ended[0]["previous_mi"] == 0.55

    resumed_cfg = tiny_config(corpus_dir, tmp_path / "run", "vae")
    resumed_cfg.train.aggressive, resumed_cfg.train.max_steps, resumed_cfg.train.val_every = True, 8, 2
    resumed = Trainer(resumed_cfg, resume=True)
    assert not resumed.phase.on and resumed.phase.mi == 0.30  # over for good, not restarted by the config
    resumed.fit()
    lines = [json.loads(x) for x in (tmp_path / "run" / METRICS).read_text().splitlines()]
    assert [r["enc_updates"] for r in lines if r["split"] == "train" and r["step"] > 6] == [0.0, 0.0]
    assert "mi" not in [r for r in lines if r["split"] == "valid"][-1]  # no I(x; z) to compute once it is over


def test_a_resume_file_from_before_the_phase_existed_has_it_off() -> None:
    assert resume_parts({"state": {"step": 5}})[aggressive.Phase.KEY] == {"on": False, "mi": None}
    older = {"state": {"step": 5, "aggressive": True, "mi": 0.4}}  # the phase's state kept in the TrainState
    assert resume_parts(older)[aggressive.Phase.KEY] == {"on": True, "mi": 0.4}


def test_the_phase_ends_at_the_first_fall_of_i_x_z_and_stays_over_through_its_state() -> None:
    phase = aggressive.Phase(on=True)
    assert phase.after_validation(0.40) is None and phase.after_validation(0.55) is None and phase.on
    assert phase.after_validation(0.30) == {"mi": 0.3, "previous_mi": 0.55} and not phase.on
    again = aggressive.Phase(on=True)  # a resume whose config still asks for the phase
    again.load_state_dict(phase.state_dict())
    assert (again.on, again.mi) == (False, 0.30)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"valid": ""}, "needs a validation corpus"),
        ({"aggressive_inner": 0}, r"--train\.aggressive_inner=0: must be ≥ 1"),
    ],
)
def test_aggressive_settings_that_cannot_work_are_refused(
    corpus_dir: Path, tmp_path: Path, change: dict, message: str
) -> None:
    cfg = tiny_config(corpus_dir, tmp_path / "run", "vae")
    cfg.train.aggressive = True
    if "valid" in change:
        cfg.data.valid = change["valid"]
    else:
        cfg.train.aggressive_inner = change["aggressive_inner"]
    with pytest.raises(ConfigError, match=message):
        Trainer(cfg)


def test_a_ladder_puts_its_bottom_up_path_on_the_encoder_side_and_its_top_down_priors_on_the_other() -> None:
    from textvae_core.config import ModelConfig
    from textvae_core.models import build_model

    cfg = ModelConfig(latent="ladder")
    model = build_model(cfg, 50)
    enc, dec = aggressive.encoder_side(model)
    names = {id(p): n for n, p in model.named_parameters()}
    enc_names, dec_names = {names[id(p)].split(".")[0] for p in enc}, {names[id(p)].split(".")[0] for p in dec}
    assert enc_names == {"embedding", "encoder", "up", "q_heads"}
    assert dec_names == {"decoder", "out", "p_rungs"}
