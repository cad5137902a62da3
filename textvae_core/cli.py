"""One command-line layer for training, evaluation, the scripts and the benchmarks.

Options are the fields of configuration dataclasses. Each field's type hint says how its value is read
(``true``/``false`` for a bool, ``none`` for an optional number, ``1,2,4`` for a list) and the one
comment beside it in the source is its help, with its default, so ``--help`` lists every option and a
field added to a dataclass is on the command line and in the help at once.

    parser = OptionParser("python -m textvae_core.evaluate", __doc__)
    parser.add_dataclass(EvalConfig, dashes=True)      # --max-sentences, --fce-schemes, …
    given = parser.parse(argv)                          # {field name: value} for the options given

Values are written ``--key=value`` or ``--key value``; ``-`` and ``_`` in a key are the same. A bad
value or an unknown option raises :class:`CLIError` (a ConfigError) with a message meant for the user.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import functools
import inspect
import io
import sys
import textwrap
import tokenize
import types
import typing
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from .config import SECTIONS, SIZES, ConfigError, RunConfig, load_config_file

T = TypeVar("T")
TRUE, FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


class CLIError(ConfigError):
    """A command line that cannot be used; the message names the option and says what it expects."""


# -- what a dataclass says about its fields ------------------------------------------------------------
@functools.cache
def field_comments(cls: type) -> dict[str, str]:
    """The comment beside each field of a dataclass in its source (``name: type = default  # comment``)."""
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):
        return {}
    comments: dict[int, str] = {}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            comments[tok.start[0]] = tok.string.lstrip("#").strip()
    out = {}
    for node in ast.parse(source).body[0].body:  # type: ignore[attr-defined]
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            text = comments.get(node.end_lineno or node.lineno) or comments.get(node.lineno, "")
            out[node.target.id] = text
    return out


def field_types(cls: type) -> dict[str, Any]:
    # the module's names only: a field may be called ``list`` without shadowing the type in ``list[str]``
    return typing.get_type_hints(cls, localns={})


def _optional(tp: Any) -> Any | None:
    """X for ``X | None`` (or Optional[X]); None for any other type."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(tp)) == 2:
            return args[0]
    return None


def parse_value(text: str, tp: Any, option: str) -> Any:
    """Read a command-line string as a value of type ``tp``."""
    inner = _optional(tp)
    if inner is not None:
        return None if text.strip().lower() in {"none", "null"} else parse_value(text, inner, option)
    if tp is bool:
        low = text.strip().lower()
        if low in TRUE:
            return True
        if low in FALSE:
            return False
        raise CLIError(f"{option}: expected true or false, got {text!r}")
    if typing.get_origin(tp) is list:
        (item,) = typing.get_args(tp) or (str,)
        return [parse_value(v.strip(), item, option) for v in text.split(",") if v.strip()]
    if tp in (int, float):
        try:
            return tp(text)
        except ValueError:
            raise CLIError(f"{option}: cannot read {text!r} as {'an integer' if tp is int else 'a number'}") from None
    return text


def metavar(tp: Any) -> str:
    inner = _optional(tp)
    if inner is not None:
        return f"{metavar(inner)}|none"
    if tp is bool:
        return "true|false"
    if typing.get_origin(tp) is list:
        (item,) = typing.get_args(tp) or (str,)
        return f"{metavar(item)},…"
    return {int: "INT", float: "FLOAT"}.get(tp, "TEXT")


def show_default(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return ",".join(map(str, value)) or '""'
    if value == "":
        return '""'
    return str(value)


def defaults_of(cls: type) -> dict[str, Any]:
    out = {}
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            out[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            out[f.name] = f.default_factory()
    return out


def positional(nargs: str = "*", **kwargs: Any) -> Any:
    """A dataclass field read from the bare words of the command line (``nargs`` as in argparse)."""
    return dataclasses.field(default_factory=list, metadata={"nargs": nargs}, **kwargs)


# -- the parser -------------------------------------------------------------------------------------------
class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> typing.NoReturn:
        raise CLIError(message)


class _Help(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=34, width=110)

    def _split_lines(self, text: str, width: int) -> list[str]:
        # wrap at spaces only: "non-autoregressive" or a default list "hybrid-fmp" stays one word
        return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False)


class OptionParser:
    """argparse, filled from dataclasses: one option per field, help from the field's comment."""

    def __init__(self, prog: str, description: str | None = "", usage: str | None = None, epilog: str = "") -> None:
        self.parser = _Parser(
            prog=prog,
            description=textwrap.dedent(description or "").strip(),
            usage=usage,
            epilog=epilog,
            formatter_class=_Help,
            allow_abbrev=False,
        )
        self.canonical: dict[str, str] = {}  # every accepted spelling of an option → the one argparse knows
        self.dest_of: dict[str, str] = {}  # option → its key in the parse result
        self.types: dict[str, Any] = {}  # key → type hint
        self.choices: dict[str, list[str]] = {}  # key → the values it accepts, where it names a preset

    def add(
        self,
        option: str,
        key: str,
        help: str,
        tp: Any = str,
        group: argparse._ArgumentGroup | None = None,
        metavar_: str | None = None,
        choices: Sequence[str] | None = None,
    ) -> None:
        """One option ``--option`` stored under ``key``, read as type ``tp``."""
        target = group or self.parser
        kwargs: dict[str, Any] = {"dest": key, "default": argparse.SUPPRESS, "help": help}
        kwargs["metavar"] = metavar_ or ("{" + ",".join(choices) + "}" if choices else metavar(tp))
        if tp is bool:
            kwargs |= {"nargs": "?", "const": "true"}  # --flag alone means true; --flag=false turns it off
        target.add_argument(f"--{option}", **kwargs)
        self.types[key] = tp
        self.dest_of[option] = key
        for spelling in {option, option.replace("_", "-"), option.replace("-", "_")}:
            self.canonical[spelling] = option
        if choices:
            self.choices[key] = list(choices)

    def add_positional(self, key: str, help: str, nargs: str = "*", tp: Any = str) -> None:
        self.parser.add_argument(key, nargs=nargs, help=help, metavar=key.upper().rstrip("S") or key)
        self.types[key] = list[tp]

    def add_dataclass(
        self,
        cls: type,
        prefix: str = "",
        title: str | None = None,
        dashes: bool = False,
        skip: Sequence[str] = (),
        defaults: Any = None,
    ) -> None:
        """Every field of ``cls`` as ``--{prefix}{name}``; its comment and default are its help."""
        group = self.parser.add_argument_group(title) if title else None
        comments, hints = field_comments(cls), field_types(cls)
        shown = defaults_of(cls) if defaults is None else dataclasses.asdict(defaults)
        for f in dataclasses.fields(cls):
            if f.name in skip:
                continue
            help_text = comments.get(f.name, "")
            if "nargs" in f.metadata:
                self.add_positional(f.name, help_text, f.metadata["nargs"], typing.get_args(hints[f.name])[0])
                continue
            if f.name in shown and "(default:" not in help_text:
                help_text += f" (default: {show_default(shown[f.name])})"
            name = f.name.replace("_", "-") if dashes else f.name
            self.add(prefix + name, prefix + f.name, help_text.strip(), hints[f.name], group)

    def alias(self, spelling: str, option: str) -> None:
        """Accept ``--spelling`` for ``--option`` (not listed in the help)."""
        self.canonical[spelling] = option

    def normalise(self, argv: Sequence[str]) -> list[str]:
        """Canonical spellings, and every bool option as ``--flag=VALUE``: ``--flag`` alone is true, and the
        next word is its value only when it is one (``--ship RUN`` leaves RUN a positional word)."""
        out, args = [], list(argv)
        while args:
            arg = args.pop(0)
            if arg.startswith("--") and len(arg) > 2:
                name, eq, value = arg[2:].partition("=")
                name = self.canonical.get(name, name)
                if not eq and self.types.get(self.dest_of.get(name, "")) is bool:
                    eq, value = "=", args.pop(0) if args and args[0].lower() in TRUE | FALSE else "true"
                arg = f"--{name}{eq}{value}"
            out.append(arg)
        return out

    def parse(self, argv: Sequence[str] | None = None) -> dict[str, Any]:
        """{key: value} for each option given (typed by its field), and the positional words."""
        argv = list(sys.argv[1:] if argv is None else argv)
        if any(a in {"-h", "--help"} for a in argv):
            self.parser.print_help()
            raise SystemExit(0)
        raw = vars(self.parser.parse_args(self.normalise(argv)))
        out: dict[str, Any] = {}
        choices = self.choices
        for key, value in raw.items():
            tp = self.types.get(key, str)
            if isinstance(value, list):  # positional words
                out[key] = [parse_value(v, typing.get_args(tp)[0], key) for v in value]
                continue
            option = "--" + next((o for o, k in self.dest_of.items() if k == key), key)
            out[key] = parse_value(value, tp, option)
            if key in choices and out[key] not in choices[key]:
                raise CLIError(f"{option}: {out[key]!r} is not one of {', '.join(choices[key])}")
        return out

    def help(self) -> str:
        return self.parser.format_help()


def parse_dataclass(cls: type[T], argv: Sequence[str] | None, prog: str, description: str | None = "") -> T:
    """A flat dataclass of options (a script's) from the command line: its defaults, then what was given."""
    parser = OptionParser(prog, description)
    parser.add_dataclass(cls, dashes=True)
    return cls(**parser.parse(argv))


def run_main(main: Callable[[], int | None]) -> typing.NoReturn:
    """``raise SystemExit(main())`` with a command-line error printed as ``error: …`` (exit status 2)."""
    try:
        status = main()
    except CLIError as err:
        print(f"error: {err}", file=sys.stderr)
        status = 2
    raise SystemExit(status or 0)


# -- training: RunConfig's sections, presets and sizes ----------------------------------------------------
SECTION_TITLES = {
    "data": "data — the corpus, its splits and the vocabulary",
    "model": "model — architecture and sizes",
    "objective": "objective — loss = (1 + m)·D + β(t)·K + α·D_aux, K = KL or |KL − C|",
    "train": "train — optimisation, logging and checkpoints",
}
TRAIN_USAGE = "python -m textvae_core.train [--config FILE | --resume RUN] [--objective NAME] [--recipe NAME] [--size NAME] [--section.key=VALUE …]"
TRAIN_EPILOG = (
    "A key alone (--lr=3e-4, --epochs=5, --out=runs/x) works when one section has it. Options apply in this order:\n"
    "--config (or the resumed run's config.json), then --objective, then --size, then every other option; the recipe\n"
    "(--recipe) fills only the knobs left unset."
)


@functools.cache
def _bare_keys() -> tuple[dict[str, str], set[str]]:
    """Field name → its section for names one section has; and the names several sections share."""
    owners: dict[str, list[str]] = {}
    for section, cls in SECTIONS.items():
        for f in dataclasses.fields(cls):
            owners.setdefault(f.name, []).append(section)
    unique = {name: f"{secs[0]}.{name}" for name, secs in owners.items() if len(secs) == 1}
    return unique, {name for name, secs in owners.items() if len(secs) > 1}


def train_parser(description: str | None = "") -> OptionParser:
    """The options of ``python -m textvae_core.train``."""
    from .objectives import PRESETS
    from .recipe import RECIPES

    parser = OptionParser("python -m textvae_core.train", description, TRAIN_USAGE, TRAIN_EPILOG)
    run = parser.parser.add_argument_group("where the configuration starts")
    parser.add(
        "config",
        "config",
        "read a TOML or JSON file with the sections below; options given here override it",
        group=run,
        metavar_="FILE",
    )
    parser.add(
        "resume",
        "resume",
        "continue (or extend) the run in this folder; only train.* options may change (with --config: its train section)",
        group=run,
        metavar_="RUN",
    )
    parser.add(
        "objective",
        "objective",
        "start the objective from a preset (any knob can still be set below): " + ", ".join(PRESETS),
        group=run,
        choices=list(PRESETS),
    )
    parser.add(
        "recipe",
        "recipe",
        "rate: the rate recipe, so z carries the sentence (docs/RECIPE.md) | plain: the papers' setups as printed | "
        "auto: rate when the objective has a capacity C, else plain (default: auto); a knob given below wins",
        group=run,
        choices=list(RECIPES),
    )
    sizes = "; ".join(f"{n}: " + "/".join(str(v) for v in s.values()) for n, s in SIZES.items())
    parser.add("size", "size", f"named model sizes, emb/hidden/z… ({sizes})", group=run, choices=list(SIZES))
    parser.alias("objective.name", "objective")
    defaults = RunConfig()
    for section, cls in SECTIONS.items():
        skip = ("name",) if section == "objective" else ()  # --objective.name is --objective: the preset
        parser.add_dataclass(
            cls,
            f"{section}.",
            SECTION_TITLES.get(section, section),
            skip=skip,
            defaults=getattr(defaults, section, None),
        )
    unique, _shared = _bare_keys()
    for name, option in unique.items():
        if name not in parser.canonical:  # never shadow --config, --resume, --objective, --size
            for spelling in {name, name.replace("_", "-")}:
                parser.alias(spelling, option)
    return parser


def parse_train_cli(argv: Sequence[str], description: str | None = "") -> tuple[RunConfig, str | None]:
    """The RunConfig a training command line describes, and the run folder to resume (None for a new run)."""
    _unique, shared = _bare_keys()
    for arg in argv:
        name = arg[2:].partition("=")[0] if arg.startswith("--") else ""
        if name in shared:
            raise CLIError(f"--{name}: several sections have this key; write it as section.{name}")
    parser = train_parser(description)
    given = parser.parse(argv)
    resume = given.pop("resume", None)
    config_file = given.pop("config", None)
    if resume:
        from .rundir import read_config

        fixed = sorted(k for k in given if not k.startswith("train."))
        if fixed:
            raise CLIError(f"--resume keeps the run's model, data and objective; cannot change {fixed}")
        cfg = read_config(resume)
        if config_file:  # the run's configuration with other train.* settings (what the app's jobs pass)
            cfg = _resumed_with(cfg, RunConfig.from_dict(load_config_file(config_file)), config_file)
        out = given.pop("train.out", resume)
        if str(Path(out)) != str(Path(resume)):
            raise CLIError("--resume and --out name different run directories")
        cfg.train.out = resume
    else:
        cfg = config_from_file(config_file) if config_file else RunConfig()
    apply_options(cfg, given)
    return cfg, resume


def config_from_file(path: str | Path) -> RunConfig:
    """A RunConfig from a TOML or JSON file; an objective section that names a preset starts from that
    preset's knobs, so ``name = "vae"`` alone means the VAE (no capacity), not the default β_C renamed."""
    from .objectives import PRESETS

    raw = load_config_file(path)
    objective = raw.get("objective") if isinstance(raw, dict) else None
    if isinstance(objective, dict) and objective.get("name") in PRESETS and "vocab_size" not in raw:
        raw["objective"] = {**PRESETS[objective["name"]], **objective}
    return RunConfig.from_dict(raw)


def _resumed_with(run: RunConfig, given: RunConfig, where: str) -> RunConfig:
    """--resume RUN --config FILE: FILE may change the run's train.* settings only, and must train RUN."""
    changed = [s for s in ("data", "model", "objective") if getattr(run, s) != getattr(given, s)]
    if changed:
        raise CLIError(f"--config={where}: a resumed run keeps its {', '.join(changed)}; only train.* may change")
    given.vocab_size = run.vocab_size
    return given


def apply_options(cfg: RunConfig, given: dict[str, Any]) -> RunConfig:
    """Apply parsed options to ``cfg``: the objective preset first, then the size, then each ``section.key``."""
    given = dict(given)
    if "objective" in given:
        from .objectives import preset

        cfg.objective = preset(given.pop("objective"))
    if "size" in given:
        for k, v in SIZES[given.pop("size")].items():
            setattr(cfg.model, k, v)
    for key, value in given.items():
        section, _, name = key.partition(".")
        if name:
            setattr(getattr(cfg, section), name, value)
        else:  # a top-level field: the recipe
            setattr(cfg, section, value)
    return cfg
