"""The Training page's form is generated from the config dataclasses (explorer.config_form): every field has a
widget of its type, a new field appears without a line written for it, and what the form builds passes the one
validate() the trainer calls."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from explorer import config_form
from explorer.config_form import build, field_specs, like_run, starting_config
from textvae_core.cli import CLIError
from textvae_core.config import SECTIONS, ConfigError, RunConfig, TrainConfig
from textvae_core.paths import ROOT
from textvae_core.rundir import CONFIG
from textvae_core.validation import validate


def corpus(corpus_dir: Path) -> dict[str, str]:
    return {s: str(corpus_dir / f"{s}.txt") for s in ("train", "valid", "test")}


def ready(cfg: RunConfig, tmp_path: Path) -> RunConfig:
    cfg.train.out = str(tmp_path / "run")
    return cfg


def test_every_field_gets_a_widget_of_its_type() -> None:
    specs = {s.key: s for s in field_specs()}
    every = {f"{sec}.{f.name}" for sec, cls in SECTIONS.items() for f in dataclasses.fields(cls)}
    every |= {f.name for f in dataclasses.fields(RunConfig) if f.name not in SECTIONS}  # e.g. a recipe
    assert set(specs) == every - set(config_form.SET_BY_PAGE)
    assert (specs["train.aggressive"].kind, specs["train.batch_size"].kind, specs["train.lr"].kind) == (
        "bool", "int", "float")  # fmt: skip
    assert specs["model.encoder"].kind == "choice" and "gru" in specs["model.encoder"].choices
    assert specs["model.ladder_z"].kind == "list" and specs["train.init_from"].kind == "text"
    assert specs["objective.C"].optional and not specs["objective.beta"].optional  # C: float | None
    assert specs["train.lr"].help == "Adam learning rate"  # the field's comment, as on the command line
    assert specs["train.batch_size"].low == 1 and specs["train.lr"].low is None  # lr > 0: no inclusive minimum
    assert [s.key for s in config_form.common_specs() if s.section == "objective"][:3] == [
        "objective.m", "objective.schedule", "objective.beta"]  # fmt: skip


def test_a_new_config_field_appears_in_the_form_without_a_line_for_it(monkeypatch: pytest.MonkeyPatch) -> None:
    grown = dataclasses.make_dataclass(
        "TrainConfig", [("patience_steps", int | None, dataclasses.field(default=None))], bases=(TrainConfig,)
    )
    monkeypatch.setitem(SECTIONS, "train", grown)
    spec = next(s for s in field_specs() if s.key == "train.patience_steps")
    assert (spec.kind, spec.optional, spec.common) == ("int", True, False)  # drawn under "All options"


def test_list_fields_are_read_from_text_with_the_cli_reader() -> None:
    spec = next(s for s in field_specs() if s.key == "model.cnn_dilations")
    assert config_form.read_text(spec, "1, 2,4") == [1, 2, 4]
    assert config_form.text_of(spec, [1, 2, 4]) == "1,2,4"
    with pytest.raises(CLIError, match=r"--model\.cnn_dilations"):
        config_form.read_text(spec, "1,two")


def test_the_form_builds_configs_the_trainer_accepts(corpus_dir: Path, tmp_path: Path) -> None:
    start = starting_config("beta-c", "tiny")
    values = {"model.latent": "ladder", "objective.alpha": 0.2, "train.keep_best": "nll_bound"}
    cfg = ready(build(start, values, corpus(corpus_dir), "text"), tmp_path)
    validate(cfg)
    assert (cfg.model.latent, cfg.objective.alpha, cfg.objective.C, cfg.train.keep_best) == (
        "ladder", 0.2, 15.0, "nll_bound")  # fmt: skip
    assert (cfg.model.emb_dim, cfg.data.train) == (16, str(corpus_dir / "train.txt"))
    bad = ready(build(start, {"objective.free_bits": 0.5}, corpus(corpus_dir), "text"), tmp_path)
    with pytest.raises(ConfigError, match="choose a capacity"):  # free bits beside β_C's C: refused as by the CLI
        validate(bad)


def test_the_form_starts_from_the_defaults_so_a_first_run_trains_the_rate_recipe(
    corpus_dir: Path, tmp_path: Path
) -> None:
    """Nothing chosen but the corpus: the run the page launches resolves to the rate recipe (batch-normalised μ,
    bag-of-words head, C ramped over two epochs of this corpus, the multiplier holding KL at C); a preset of a
    paper's objective resolves to its plain setup; the recipe is one choice of the form."""
    from textvae_core.recipe import resolve

    cfg = ready(build(starting_config("beta-c", "tiny"), {}, corpus(corpus_dir), "text"), tmp_path)
    validate(cfg)
    r = resolve(cfg)
    assert (r.recipe, r.model.mu_norm, r.model.mu_scale_learn, r.model.bow_head) == ("rate", "batchnorm", True, True)
    assert (r.objective.bow, r.train.bucket_chunk, r.objective.C_schedule) == (1.0, 1, "linear")
    assert (r.objective.C_warmup_epochs, r.objective.C_control) == (2.0, "dual")
    vae = resolve(ready(build(starting_config("vae", "tiny"), {}, corpus(corpus_dir), "text"), tmp_path))
    assert vae.recipe == "plain" and vae.model.mu_norm == "none"
    plain = resolve(ready(build(cfg, {"recipe": "plain"}, corpus(corpus_dir), "text"), tmp_path))
    assert plain.recipe == "plain" and plain.objective.C_schedule == "constant"
    assert "recipe" in {f.key for f in config_form.common_specs()}


def test_a_shipped_runs_recipe_trains_like_it_on_another_corpus(corpus_dir: Path, tmp_path: Path) -> None:
    """ "Start from" a run: its model and optimiser; its two-epoch C ramp kept two epochs long on this corpus."""
    shipped = RunConfig.load(ROOT / "checkpoints" / "ptb-lstm-record" / CONFIG)
    cfg = ready(build(like_run(shipped, str(corpus_dir / "train.txt")), {}, corpus(corpus_dir), "text"), tmp_path)
    validate(cfg)
    assert cfg.model == shipped.model and cfg.objective.C == shipped.objective.C
    assert (cfg.train.max_steps, cfg.train.max_minutes, cfg.train.init_from) == (0, 0.0, "")
    per_epoch = -(-config_form.count_lines(str(corpus_dir / "train.txt")) // shipped.train.batch_size)
    ptb_epoch = -(-config_form.count_lines(shipped.data.train) // shipped.train.batch_size)
    assert shipped.objective.C_warmup_steps == 2 * ptb_epoch
    assert cfg.objective.C_warmup_steps == max(1, round(shipped.objective.C_warmup_steps * per_epoch / ptb_epoch))
    assert config_form.with_capacity(cfg, 12).objective.C == 12.0 and cfg.objective.C == shipped.objective.C
