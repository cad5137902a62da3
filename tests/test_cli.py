"""The one command-line layer (textvae_core.cli): help from the config comments, typed values, presets."""

from __future__ import annotations

import dataclasses
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from textvae_core import cli
from textvae_core.cli import CLIError, OptionParser, field_comments, parse_dataclass
from textvae_core.config import SECTIONS, ConfigError
from textvae_core.evaluate import EvalConfig
from textvae_core.paths import ROOT
from textvae_core.rundir import read_config
from textvae_core.train import parse_cli


def _help(argv: list[str], main, capsys: pytest.CaptureFixture) -> str:
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 0
    return " ".join(capsys.readouterr().out.split())  # one line: wrapped help text joined


def test_train_help_lists_every_field_with_its_comment_and_default(capsys: pytest.CaptureFixture) -> None:
    from textvae_core.train import main

    text = _help(["--help"], main, capsys)
    for section, cls in SECTIONS.items():
        comments = field_comments(cls)
        for f in dataclasses.fields(cls):
            if (section, f.name) == ("objective", "name"):
                continue  # --objective NAME: the preset
            assert f"--{section}.{f.name}" in text, (section, f.name)
            assert comments[f.name] and " ".join(comments[f.name].split()) in text, (section, f.name)
    assert "--train.amp [true|false] bfloat16 autocast on CUDA and on CPUs with native bf16 (default: true)" in text
    assert "--objective.C FLOAT|none" in text and "(default: none)" in text
    assert "--objective {vae,vae-anneal,beta-vae,autogen,beta-c}" in text and "--size {small,paper" in text
    assert "--config FILE" in text and "--resume RUN" in text


def test_evaluate_help_lists_every_setting(capsys: pytest.CaptureFixture) -> None:
    from textvae_core.evaluate import main

    text = _help(["--help"], main, capsys)
    comments = field_comments(EvalConfig)
    for f in dataclasses.fields(EvalConfig):
        if f.name != "profile":
            assert f"--{f.name.replace('_', '-')}" in text and " ".join(comments[f.name].split()) in text, f.name
    assert "--profile {full,grid,probe}" in text and "--only" in text


def test_the_readme_training_commands_parse_as_documented() -> None:
    docs = [(ROOT / name).read_text(encoding="utf-8") for name in ("README.md", "docs/TRAINING.md")]
    text = "\n".join(doc.replace("\\\n", " ") for doc in docs)  # a command continued with \ is one line
    lines = [ln.split("#")[0] for ln in text.splitlines() if "-m textvae_core.train " in ln and "--" in ln]
    assert len(lines) >= 4 and all("-m textvae_core.train --" in doc for doc in docs)  # both show one
    for line in lines:
        argv = shlex.split(line.split("textvae_core.train", 1)[1])
        if "--resume" in argv:
            continue  # needs an existing run: below
        cfg, resume = parse_cli(argv)
        assert not resume and cfg.train.out.startswith("runs/")
    cfg, _ = parse_cli(shlex.split("--objective=vae-anneal --objective.warmup_steps=4000 --word_dropout=0.3 --out=r"))
    assert (cfg.objective.schedule, cfg.objective.warmup_steps, cfg.train.word_dropout) == ("logistic", 4000, 0.3)


@pytest.mark.parametrize(
    ("argv", "amp"),
    [
        (["--amp=false"], False),
        (["--amp", "false"], False),
        (["--train.amp", "no"], False),
        (["--amp"], True),
        (["--amp=off", "--amp"], True),
        ([], True),
    ],
)
def test_bool_options_read_their_value_not_its_truthiness(argv: list[str], amp: bool) -> None:
    cfg, _ = parse_cli(argv)
    assert cfg.train.amp is amp


def test_a_bool_flag_does_not_swallow_the_next_word() -> None:
    @dataclass
    class Options:
        names: list[str] = cli.positional()  # runs
        ship: bool = False  # ship them

    opts = parse_dataclass(Options, ["--ship", "ptb-lstm-bc15", "autogen"], "prog")
    assert opts.ship is True and opts.names == ["ptb-lstm-bc15", "autogen"]
    opts = parse_dataclass(Options, ["autogen", "--ship=off"], "prog")
    assert opts.ship is False and opts.names == ["autogen"]
    with pytest.raises(CLIError, match="--ship: expected true or false, got 'maybe'"):
        parse_dataclass(Options, ["--ship=maybe"], "prog")


def test_typed_values_and_clear_errors(tmp_path: Path) -> None:
    cfg, _ = parse_cli(["--objective=beta-c", "--objective.C", "none", "--model.cnn_dilations=1,2", "--max-len=30"])
    assert cfg.objective.C is None and cfg.model.cnn_dilations == [1, 2] and cfg.data.max_len == 30
    with pytest.raises(CLIError, match=re.escape("--train.lr: cannot read 'fast' as a number")):
        parse_cli(["--lr=fast"])
    with pytest.raises(CLIError, match=r"--train\.epochs"):
        parse_cli(["--epochs"])  # a value is needed
    with pytest.raises(CLIError, match="unrecognized arguments: --nope"):
        parse_cli(["--nope=1"])
    with pytest.raises(ConfigError):
        parse_cli(["--objective=wae"])


def test_options_apply_after_the_config_file_and_the_preset(tmp_path: Path) -> None:
    config_file = tmp_path / "c.toml"
    config_file.write_text('[objective]\nname = "beta-c"\nC = 50.0\n[train]\nlr = 0.01\n')
    cfg, _ = parse_cli(["--lr=0.002", "--config", str(config_file)])
    assert (cfg.objective.C, cfg.train.lr) == (50.0, 0.002)
    cfg, _ = parse_cli(["--objective.m=3", "--objective=autogen", "--size=autogen", "--model.z_dim=7"])
    assert cfg.objective.m == 3.0 and (cfg.model.hidden, cfg.model.z_dim) == (500, 7)  # preset, size, then keys


def test_resume_changes_training_options_only(trained_run: Path) -> None:
    cfg, resume = parse_cli(["--resume", str(trained_run), "--epochs=10"])
    assert resume and cfg.train.out == str(trained_run) and cfg.train.epochs == 10.0
    assert cfg.objective.C == 3.0  # the run's own objective
    with pytest.raises(CLIError, match="cannot change"):
        parse_cli(["--resume", str(trained_run), "--model.z_dim=3"])
    with_config = trained_run.parent / "resumed.json"  # --resume with --config: the app's jobs pass train.* this way
    changed = read_config(trained_run)
    changed.train.epochs = 7.0
    changed.save(with_config)
    assert parse_cli(["--resume", str(trained_run), "--config", str(with_config)])[0].train.epochs == 7.0
    changed.model.z_dim += 1
    changed.save(with_config)
    with pytest.raises(CLIError, match="keeps its model"):
        parse_cli(["--resume", str(trained_run), "--config", str(with_config)])
    with pytest.raises(CLIError, match="different run directories"):
        parse_cli(["--resume", str(trained_run), "--out=elsewhere"])


def test_a_key_two_sections_share_must_name_its_section(monkeypatch: pytest.MonkeyPatch) -> None:
    @dataclass
    class Extra:
        lr: float = 0.1  # another section's learning rate

    monkeypatch.setattr(cli, "SECTIONS", {**SECTIONS, "extra": Extra})
    cli._bare_keys.cache_clear()
    try:
        with pytest.raises(CLIError, match=r"write it as section\.lr"):
            cli.parse_train_cli(["--lr=3"])
        cfg, _ = cli.parse_train_cli(["--train.lr=3"])
        assert cfg.train.lr == 3.0
    finally:
        cli._bare_keys.cache_clear()


def test_field_comments_come_from_the_source() -> None:
    @dataclass
    class Knobs:
        a: int = 1  # the first knob
        b: list[int] = field(default_factory=lambda: [1, 2])  # a field over several lines: the comment on its last line
        c: str = "x"

    assert field_comments(Knobs) == {
        "a": "the first knob",
        "b": "a field over several lines: the comment on its last line",
        "c": "",
    }
    parser = OptionParser("prog")
    parser.add_dataclass(Knobs, dashes=True)
    assert parser.parse(["--b", "3,4"]) == {"b": [3, 4]}
