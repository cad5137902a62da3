"""The rate recipe as the default, and the capacity held as a constraint (dual ascent on β)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import tiny_config
from textvae_core.config import ConfigError, RunConfig
from textvae_core.objectives import DualState, capacity_at, dual_step, in_steps, preset, validate
from textvae_core.recipe import resolve, unresolved
from textvae_core.rundir import CONFIG, read_metrics
from textvae_core.train import main, train


def test_defaults_resolve_to_the_rate_recipe_and_papers_objectives_to_plain() -> None:
    default = resolve(RunConfig())
    assert default.recipe == "rate" and default.objective.name == "beta-c" and default.objective.C == 15.0
    assert (default.model.mu_norm, default.model.mu_scale_learn, default.model.bow_head) == ("batchnorm", True, True)
    assert (default.objective.C_schedule, default.objective.C_control, default.train.bucket_chunk) == (
        "linear",
        "dual",
        1,
    )
    assert unresolved(default) == [] and len(unresolved(RunConfig())) > 5
    for name in ("vae", "vae-anneal", "beta-vae", "autogen"):  # the papers' objectives: their rate is the study
        cfg = resolve(RunConfig(objective=preset(name)))
        assert cfg.recipe == "plain" and cfg.model.mu_norm == "none" and not cfg.model.bow_head
    plain = resolve(RunConfig(recipe="plain"))  # β_C as printed: C from step 0, β fixed
    assert (plain.objective.C_schedule, plain.objective.C_control, plain.objective.bow) == ("constant", "fixed", 0.0)


def test_the_given_config_is_never_changed_and_a_knob_given_wins() -> None:
    cfg = RunConfig()
    cfg.model.bow_head = False
    cfg.objective.C_warmup_steps = 300
    out = resolve(cfg)
    assert cfg.model.mu_norm is None and cfg.recipe == "auto"  # the input is untouched
    assert out.model.bow_head is False and out.objective.bow == 0.0  # the head switched off takes its loss
    assert out.objective.C_warmup_steps == 300 and out.objective.C_warmup_epochs == 0.0
    ladder = resolve(RunConfig(model=type(cfg.model)(latent="ladder")))
    assert ladder.model.mu_norm == "none" and ladder.model.bow_head  # a ladder keeps what works for it


def test_ramps_in_epochs_become_steps_on_each_corpus() -> None:
    cfg = resolve(RunConfig()).objective  # C over 2 epochs
    assert in_steps(cfg, 100).C_warmup_steps == 200 and in_steps(cfg, 658).C_warmup_steps == 1316
    assert capacity_at(100, in_steps(cfg, 100)) == pytest.approx(7.5)
    given = preset("vae-anneal", warmup_steps=500)  # steps given: kept, whatever the corpus
    assert in_steps(given, 10).warmup_steps == 500 and in_steps(preset("vae-anneal"), 10).warmup_steps == 30
    short = resolve(RunConfig(train=type(RunConfig().train)(epochs=1.0)))
    assert short.objective.C_warmup_epochs == 0.5  # a short run ramps over its first half


def test_dual_ascent_moves_the_multiplier_by_the_kl_off_c_until_it_balances() -> None:
    cfg = in_steps(resolve(RunConfig()).objective, 10)  # C 15 reached at step 20, dual_lr 0.01
    state = DualState()
    assert dual_step(state, 30.0, 5, cfg) == state  # during the ramp: nothing
    for step in range(20, 70):
        state = dual_step(state, 20.0, step, cfg)  # 5 nats above C for 50 steps
    assert state.multiplier == pytest.approx(50 * 0.01 * 5.0)
    for step in range(70, 120):
        state = dual_step(state, 15.0, step, cfg)  # at C: ν holds (it is the force that keeps the KL there)
    assert state.multiplier == pytest.approx(2.5)
    below = dual_step(DualState(), 5.0, 30, cfg)  # below C: ν < 0 pulls the KL up
    assert below.multiplier == pytest.approx(-0.1)
    assert dual_step(DualState(99.99), 1e6, 30, cfg).multiplier == 100.0  # bounded
    vae = in_steps(resolve(RunConfig(objective=preset("vae"))).objective, 10)
    assert dual_step(DualState(), 99.0, 50, vae) == DualState()  # no capacity, no constraint


def test_the_multiplier_adds_nu_times_kl_off_c_to_the_loss() -> None:
    import torch

    from textvae_core.objectives import objective_terms

    rec, kl = torch.tensor([20.0, 20.0]), torch.tensor([6.0, 8.0])  # batch KL 7, C 3
    cfg = preset("beta-c", C=3.0)
    plain = objective_terms(rec, kl, cfg, 0)
    held = objective_terms(rec, kl, cfg, 0, multiplier=2.0)
    assert held["loss"].item() == pytest.approx(plain["loss"].item() + 2.0 * 4.0)
    assert held["kl_share"].item() == pytest.approx(
        plain["kl_share"].item() * plain["loss"].item() / held["loss"].item()
    )


def test_dual_needs_a_capacity_and_bad_knobs_are_refused() -> None:
    with pytest.raises(ConfigError, match="C_control=dual"):
        validate(preset("vae", C_control="dual"))
    with pytest.raises(ConfigError, match="C_control"):
        validate(preset("beta-c", C_control="loose"))
    with pytest.raises(ConfigError, match="dual_lr"):
        validate(preset("beta-c", dual_lr=0.0))


def test_a_run_written_before_recipes_reads_as_what_it_used(tmp_path: Path) -> None:
    raw = RunConfig().to_dict()
    raw["vocab_size"] = 100
    del raw["recipe"]
    for section, names in {"model": ("mu_norm", "mu_scale", "mu_scale_learn", "bow_head"), "train": ("bucket_chunk",),
                           "objective": ("C_warmup_epochs", "C_control", "warmup_epochs", "dual_lr")}.items():  # fmt: skip
        for name in names:
            del raw[section][name]
    raw["objective"].update(C_schedule="linear", C_warmup_steps=1316, bow=1.0)
    raw["model"].update(mu_norm="batchnorm", mu_scale_learn=True, bow_head=True)
    old = RunConfig.from_dict(raw)
    assert old.recipe == "rate" and unresolved(old) == [] and old.model.mu_scale == 1.0
    assert old.objective.C_control == "fixed" and old.objective.C_warmup_epochs == 0.0
    assert resolve(old).to_dict() == old.to_dict()  # nothing left to decide: it trains on as it trained


def test_a_config_file_naming_a_preset_starts_from_it(tmp_path: Path) -> None:
    from textvae_core.cli import config_from_file

    (tmp_path / "vae.toml").write_text('[objective]\nname = "vae"\n')
    (tmp_path / "ag.json").write_text('{"objective": {"name": "autogen", "m": 2.0}}')
    assert config_from_file(tmp_path / "vae.toml").objective.C is None
    assert config_from_file(tmp_path / "ag.json").objective.m == 2.0


def test_a_tiny_run_with_the_defaults_has_informative_codes_and_holds_its_capacity(
    corpus_dir: Path, tmp_path: Path
) -> None:
    """RunConfig()'s recipe, only the size and the data made tiny: the codes differ from sentence to sentence
    (mu_shift ≪ mu_spread) and the KL ends at C; the plain β_C of the same budget spends C on a shared shift."""

    def run(name: str, recipe: str) -> list[dict]:
        cfg = tiny_config(corpus_dir, tmp_path / name, "beta-c", C=4.0)
        cfg.recipe, cfg.train.epochs, cfg.train.lr = recipe, 12, 3e-3
        train(cfg)
        return [r for r in read_metrics(tmp_path / name) if r["split"] == "train"]

    rate = run("rate", "auto")
    tail = rate[-len(rate) // 4 :]
    shift, spread = (sum(r[k] for r in tail) / len(tail) for k in ("mu_shift", "mu_spread"))
    assert shift < 0.05 * spread
    assert abs(sum(r["kl"] for r in tail) / len(tail) - 4.0) < 1.0
    valid = [r for r in read_metrics(tmp_path / "rate") if r["split"] == "valid"][-1]
    assert abs(valid["kl"] - 4.0) < 1.0
    assert json.loads((tmp_path / "rate" / CONFIG).read_text())["recipe"] == "rate"
    plain = run("plain", "plain")[-len(rate) // 4 :]
    assert sum(r["mu_shift"] for r in plain) / len(plain) > sum(r["mu_spread"] for r in plain) / len(plain)


def test_the_cli_with_no_recipe_flag_trains_the_rate_recipe_and_plain_is_one_switch(
    corpus_dir: Path, tmp_path: Path
) -> None:
    base = [f"--data.{s}={corpus_dir / f'{s}.txt'}" for s in ("train", "valid", "test")]
    base += ["--size=tiny", "--max_steps=3", "--progress=false"]
    assert main([*base, f"--out={tmp_path / 'a'}"]) == 0
    a = json.loads((tmp_path / "a" / CONFIG).read_text())
    assert a["recipe"] == "rate" and a["model"]["mu_norm"] == "batchnorm" and a["objective"]["C_control"] == "dual"
    assert a["model"]["mu_scale"] == 1.0 and a["model"]["mu_scale_learn"] is True
    assert main([*base, "--recipe=plain", f"--out={tmp_path / 'b'}"]) == 0
    b = json.loads((tmp_path / "b" / CONFIG).read_text())
    assert b["recipe"] == "plain" and b["model"]["mu_norm"] == "none" and b["objective"]["C_schedule"] == "constant"


def test_the_recipe_guide_names_every_knob_the_recipe_sets() -> None:
    from textvae_core.paths import DOCS
    from textvae_core.recipe import PLAIN

    guide = (DOCS / "RECIPE.md").read_text(encoding="utf-8")
    missing = [f"{s}.{k}" for s, knobs in PLAIN.items() for k in knobs if f"`{s}.{k}`" not in guide]
    assert not missing, f"docs/RECIPE.md does not name {missing}"
