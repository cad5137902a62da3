"""Write docs/CHOICES.md from experiments/choices/choices.toml: every recipe or run choice behind a shipped
run, the alternatives it was chosen among, and whether the choice holds on validation figures.

    python -m experiments.choices.make_choices [--out docs/CHOICES.md]

Rule checked (issue 41): a choice is made on validation figures; test figures are reported, never chosen
on. For each choice the data file names the alternatives, what the docs cited when it was made, and where
each alternative's validation figure comes from:

- a shipped run (``run = NAME``): its validation line in checkpoints/NAME's training log, read here;
- a run shipped before and since replaced (``run`` and ``git = COMMIT``): the figure written once in the
  data file, with the commit whose checkpoints/NAME held it (tests/test_choices.py reads it back from git);
- a row of the ablation (``ablation = ROW``): experiments/ablation.json's validation D, read here;
- a run no longer anywhere (``doc = FILE``, ``where``): the figure written once, as that file records it.

Test figures come the same ways (a shipped run's eval.json is read, never retyped). Per setting, the
chosen alternative's validation figure minus the best other one's says whether the choice holds, flips
or ties within the noise; the verdict written in the data must agree with what the figures say (else this
script stops), and an alternative without any validation figure makes the verdict "needs retraining".
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textvae_core.cli import parse_dataclass, run_main
from textvae_core.corpus import read_corpus, verbatim_overlap
from textvae_core.paths import CHECKPOINTS, DOCS, ROOT
from textvae_core.rundir import EVAL, METRICS, read_eval, read_metrics

DATA = Path(__file__).with_name("choices.toml")
ABLATION = Path(__file__).parents[1] / "ablation.json"
VERDICTS = ("holds", "flips", "tie within noise", "needs retraining")
DECIDED_ON = ("validation", "test", "validation and test", "training batches", "no figure")
PTB = ROOT / "data" / "ptb"


def _kl_gap(v: dict[str, float]) -> float:
    return abs(v["kl"] - v["C"])


FIGURES: dict[str, tuple[str, Callable[[dict[str, float]], float], bool]] = {
    # name: (what it is, value from an entry's figures, a constraint on the chosen alternative alone)
    "rec": ("validation D (nats a sentence, lower is better)", lambda v: v["rec"], False),
    "nll_bound": ("validation −ELBO (nats a sentence, lower is better)", lambda v: v["nll_bound"], False),
    "kl_gap": ("|KL − C| on validation (nats, lower is better)", _kl_gap, False),
    "rec_gain": (
        "change of validation D since the run's own epoch 10 (nats, lower is better)",
        lambda v: v["rec"] - v["start_rec"],
        False,
    ),
    "kl_band": ("validation KL outside C ± 1 (nats; 0 = within)", lambda v: max(0.0, _kl_gap(v) - 1.0), True),
    "kl_floor": ("validation KL below the floor (nats; 0 = above it)", lambda v: max(0.0, v["floor"] - v["kl"]), True),
}
TEST_LABELS = {"rec": "D", "kl": "KL", "nll_bound": "−ELBO", "bleu4": "BLEU-4"}
GROUND = ("rec", "kl", "nll_bound", "bleu4")  # the figures an entry may carry


class ChoicesError(ValueError):
    """The data file and the figures disagree, or an entry cannot be read; the message says which."""


@dataclass
class Entry:
    """One alternative's figures in one setting, and where they come from."""

    alt: str
    setting: str
    values: dict[str, float]
    source: str


@dataclass
class Judged:
    """One setting of a choice: each alternative's validation value, and what they say of the choice."""

    setting: str
    values: dict[str, float]  # alternative → the choice's figure
    delta: float | None  # chosen − best other (a constraint: how far the chosen one misses)
    status: str | None  # holds / flips / tie within noise; None when nothing compares
    decisive: bool


@dataclass
class Choice:
    raw: dict[str, Any]
    valid: list[Entry] = field(default_factory=list)
    test: list[Entry] = field(default_factory=list)
    judged: list[Judged] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # alternatives with no validation figure
    verdict: str = ""

    @property
    def id(self) -> str:
        return self.raw["id"]


# -- reading the figures ---------------------------------------------------------------------------------
def _pick_line(lines: list[dict[str, Any]], e: dict[str, Any], where: str) -> dict[str, Any]:
    """A validation line: of ``epoch`` (the last such line: a resumed run may repeat one), the lowest
    ``pick = "min:FIGURE"`` from ``from_epoch`` on, or the run's last."""
    if not lines:
        raise ChoicesError(f"{where}: no validation lines")
    if "epoch" in e:
        found = [r for r in lines if r.get("epoch") == e["epoch"]]
        if not found:
            raise ChoicesError(f"{where}: no validation line of epoch {e['epoch']}")
        return found[-1]
    if "pick" in e:
        key = e["pick"].removeprefix("min:")
        return min((r for r in lines if r.get("epoch", 0) >= e.get("from_epoch", 0)), key=lambda r: r[key])
    return lines[-1]


def _extras(e: dict[str, Any]) -> dict[str, float]:
    return {k: float(e[k]) for k in ("C", "start_rec", "floor") if k in e}


def _recorded(e: dict[str, Any], where: str) -> dict[str, float]:
    values = {k: float(e[k]) for k in GROUND if k in e}
    if not values:
        raise ChoicesError(f"{where}: a recorded entry needs a figure ({', '.join(GROUND)})")
    return values


def _source_text(e: dict[str, Any], kind: str) -> str:
    if "ablation" in e:
        return f"experiments/ablation.json, row {e['ablation']}" + (f", epoch {e['epoch']}" if "epoch" in e else "")
    if "doc" in e:
        at = f" (as of {e['doc_git'][:7]})" if "doc_git" in e else ""
        return f"{e['doc']}{at}: {e['where']}"
    path = f"checkpoints/{e['run']}/{METRICS if kind == 'valid' else EVAL}"
    at = f", epoch {e['epoch']}" if "epoch" in e and kind == "valid" else ""
    if "pick" in e:
        at = f", lowest {e['pick'].removeprefix('min:')}" + (
            f" from epoch {e['from_epoch']}" if "from_epoch" in e else ""
        )
    return (f"git {e['git']}:{path}" if "git" in e else path) + at


def read_entry(e: dict[str, Any], kind: str, checkpoints: Path, ablation: dict[str, Any]) -> Entry:
    """An entry's figures: read from a shipped run or experiments/ablation.json, else as recorded in the data file."""
    where = f"{kind} entry {e.get('alt')!r} / {e.get('setting')!r}"
    if "ablation" in e:
        row = ablation.get(e["ablation"])
        if row is None:
            raise ChoicesError(f"{where}: experiments/ablation.json has no row {e['ablation']!r}")
        if kind == "valid":
            values = {"rec": float(row["valid_D"][e.get("epoch", len(row["valid_D"])) - 1])}
        else:
            values = {"rec": float(row["D"]), "kl": float(row["R"]), "bleu4": float(row["bleu4"])}
    elif "run" in e and "git" not in e:
        run = checkpoints / e["run"]
        if kind == "valid":
            line = _pick_line(read_metrics(run, "valid"), e, f"{where}: {run}")
            values = {k: float(line[k]) for k in ("rec", "kl", "nll_bound")}
        else:
            ev = read_eval(run)
            if ev is None:
                raise ChoicesError(f"{where}: {run} has no readable {EVAL}")
            b = ev["bounds"]
            values = {"rec": b["rec"], "kl": b["kl"], "nll_bound": b["nll_bound"]}
            values["bleu4"] = ev["reconstruction"]["scores"]["all"]["bleu4"]
    elif "git" in e or "doc" in e:
        values = _recorded(e, where)
    else:
        raise ChoicesError(f"{where}: say where its figures come from (run, run + git, ablation or doc)")
    return Entry(e["alt"], e["setting"], {**values, **_extras(e)}, _source_text(e, kind))


# -- judging ---------------------------------------------------------------------------------------------
def status_of(delta: float, noise: float, constraint: bool) -> str:
    """What a difference (chosen − best other; a constraint: the chosen one's miss) says of the choice."""
    if constraint:
        return "holds" if delta <= 0 else "tie within noise" if delta <= noise else "flips"
    return "holds" if delta < -noise else "flips" if delta > noise else "tie within noise"


def judge(choice: Choice, noise: float) -> None:
    """Per setting, the chosen alternative against the best other; the verdict those settings give."""
    raw = choice.raw
    name, value_of, constraint = FIGURES[raw["figure"]]
    decisive = raw.get("decisive")
    settings = list(dict.fromkeys(e.setting for e in choice.valid))
    for s in settings:
        values = {e.alt: round(value_of(e.values), 4) for e in choice.valid if e.setting == s}
        chosen = values.get(raw["chosen"])
        others = [v for a, v in values.items() if a != raw["chosen"]]
        delta = None
        if chosen is not None and constraint:
            delta = chosen
        elif chosen is not None and others:
            delta = round(chosen - min(others), 4)
        st = None if delta is None else status_of(delta, noise, constraint)
        choice.judged.append(Judged(s, values, delta, st, decisive is None or s in decisive))
    alts = raw["alternatives"] if not constraint else [raw["chosen"]]
    choice.missing = [a for a in alts if not any(e.alt == a for e in choice.valid)]
    if choice.missing:
        choice.verdict = "needs retraining"
        return
    told = [j.status for j in choice.judged if j.decisive and j.status]
    if not told:
        raise ChoicesError(f"{choice.id}: no decisive setting compares the chosen alternative on {name}")
    if "flips" in told:
        choice.verdict = "flips"
    elif "holds" in told:
        choice.verdict = "holds"
    else:
        choice.verdict = "tie within noise"


def check(choice: Choice) -> None:
    """The data file's own words against the figures: a mismatch stops the report."""
    raw = choice.raw
    for key in ("id", "group", "knob", "alternatives", "chosen", "decided_on", "where", "figure", "verdict"):
        if key not in raw:
            raise ChoicesError(f"{raw.get('id', '?')}: no {key!r}")
    if raw["chosen"] not in raw["alternatives"]:
        raise ChoicesError(f"{choice.id}: chosen {raw['chosen']!r} is not among its alternatives")
    if raw["figure"] not in FIGURES:
        raise ChoicesError(f"{choice.id}: unknown figure {raw['figure']!r}; one of {', '.join(FIGURES)}")
    if raw["decided_on"] not in DECIDED_ON:
        raise ChoicesError(f"{choice.id}: decided_on {raw['decided_on']!r} is not one of {DECIDED_ON}")
    for e in [*choice.valid, *choice.test]:
        if e.alt not in raw["alternatives"]:
            raise ChoicesError(f"{choice.id}: entry for {e.alt!r}, which is not an alternative")
    for s in raw.get("decisive", []):
        if s not in {j.setting for j in choice.judged}:
            raise ChoicesError(f"{choice.id}: decisive setting {s!r} has no validation entries")
    if raw["verdict"] not in VERDICTS:
        raise ChoicesError(f"{choice.id}: verdict {raw['verdict']!r} is not one of {VERDICTS}")
    if raw["verdict"] != choice.verdict:
        raise ChoicesError(
            f"{choice.id}: the data says {raw['verdict']!r} but the validation figures say {choice.verdict!r}"
        )
    if choice.verdict == "needs retraining" and not raw.get("retrain", "").strip():
        raise ChoicesError(f"{choice.id}: no validation figure for {choice.missing}, and no 'retrain' note")


def load(data: Path = DATA, checkpoints: Path = CHECKPOINTS, ablation: Path = ABLATION) -> dict[str, Any]:
    """The data file with every entry read and every choice judged and checked."""
    raw = tomllib.loads(data.read_text(encoding="utf-8"))
    rows = json.loads(ablation.read_text(encoding="utf-8"))["rows"]
    groups = {g["id"]: g for g in raw["group"]}
    ids: set[str] = set()
    choices = []
    by_id: dict[str, dict[str, Any]] = {}
    for c in raw["choice"]:
        if c["id"] in ids:
            raise ChoicesError(f"two choices named {c['id']!r}")
        ids.add(c["id"])
        by_id[c["id"]] = c
        if c.get("group") not in groups:
            raise ChoicesError(f"{c['id']}: unknown group {c.get('group')!r}")
        choice = Choice(c)
        choice.valid = [read_entry(e, "valid", checkpoints, rows) for e in c.get("valid", [])]
        choice.test = [read_entry(e, "test", checkpoints, rows) for e in c.get("test", [])]
        judge(choice, float(c.get("noise", raw["noise"])))
        check(choice)
        choices.append(choice)
    return {"raw": raw, "groups": groups, "choices": choices}


# -- writing -----------------------------------------------------------------------------------------------
def _num(x: float, signed: bool = False) -> str:
    text = f"{x:+.2f}" if signed else f"{x:.2f}"
    return text.replace("-", "−")


def _alt(name: str, chosen: str) -> str:
    return f"**{name}**" if name == chosen else name


def validation_cell(choice: Choice) -> str:
    chosen = choice.raw["chosen"]
    constraint = FIGURES[choice.raw["figure"]][2]
    lines = []
    for j in choice.judged:
        if constraint:  # the KL itself, and how far outside its bound the chosen run sits
            kls = {e.alt: e.values["kl"] for e in choice.valid if e.setting == j.setting}
            figs = " · ".join(f"{_alt(a, chosen)} KL {_num(kls[a])}" for a in j.values)
            said = f" → {j.status}" + (f" ({_num(j.delta)} outside)" if j.delta else "") if j.status else ""
        else:
            figs = " · ".join(f"{_alt(a, chosen)} {_num(v)}" for a, v in j.values.items())
            said = f" → {j.status} ({_num(j.delta, signed=True)})" if j.status else ""
        lines.append(f"{j.setting}: {figs}{said}" + ("" if j.decisive else " (context)"))
    if choice.missing:
        lines.append("no validation figure: " + ", ".join(choice.missing))
    return "<br>".join(lines)


def test_cell(choice: Choice) -> str:
    chosen = choice.raw["chosen"]
    show = choice.raw.get("test_show", ["rec", "bleu4"])
    lines = []
    for s in dict.fromkeys(e.setting for e in choice.test):
        parts = []
        for e in (e for e in choice.test if e.setting == s):
            figs = ", ".join(f"{TEST_LABELS[k]} {_num(e.values[k])}" for k in show if k in e.values)
            parts.append(f"{_alt(e.alt, chosen)} {figs}")
        lines.append(f"{s}: " + " · ".join(parts))
    return "<br>".join(lines) or "—"


def overlap_counts() -> dict[str, tuple[int, int]]:
    """How many sentences of each held-out PTB split occur verbatim in the training file."""
    train = read_corpus(PTB / "ptb.train.txt")
    out = {}
    for split in ("valid", "test"):
        held = read_corpus(PTB / f"ptb.{split}.txt")
        out[split] = (len(verbatim_overlap(held, train)), len(held))
    return out


def build(data: Path = DATA, checkpoints: Path = CHECKPOINTS, ablation: Path = ABLATION) -> str:
    """docs/CHOICES.md's text."""
    loaded = load(data, checkpoints, ablation)
    raw, choices = loaded["raw"], loaded["choices"]
    out = [
        "# Recipe and run choices, checked on validation",
        "",
        "Generated by `python -m experiments.choices.make_choices` from `experiments/choices/choices.toml` "
        "(do not edit by hand).",
        "",
        raw["preamble"].strip(),
        "",
        f"**Noise.** A difference within ±{raw['noise']:g} nats is a tie: {raw['noise_source'].strip()}",
        "",
        "**The figures compared.** " + "; ".join(f"`{k}`: {v[0]}" for k, v in FIGURES.items()) + ".",
        "",
    ]
    ov = overlap_counts()
    out += [
        "**PTB's splits overlap its training file** (`textvae_core.corpus.verbatim_overlap`): "
        f"{ov['test'][0]} of the {ov['test'][1]:,} test sentences ({100 * ov['test'][0] / ov['test'][1]:.1f} %) and "
        f"{ov['valid'][0]} of the {ov['valid'][1]:,} validation sentences "
        f"({100 * ov['valid'][0] / ov['valid'][1]:.1f} %) occur verbatim in `data/ptb/ptb.train.txt`. "
        + raw["overlap_note"].strip(),
        "",
    ]
    counts = {v: [c.id for c in choices if c.verdict == v] for v in VERDICTS}
    out += ["## Summary", ""]
    out += [f"- **{v}** ({len(ids)}): " + (", ".join(f"`{i}`" for i in ids) or "none") for v, ids in counts.items()]
    decided_on_test = [c.id for c in choices if "test" in c.raw["decided_on"]]
    out += [
        f"- cited a test figure when made ({len(decided_on_test)}): " + ", ".join(f"`{i}`" for i in decided_on_test)
    ]
    out.append("")
    for gid, group in loaded["groups"].items():
        members = [c for c in choices if c.raw["group"] == gid]
        if not members:
            continue
        out += [f"## {group['title']}", "", group.get("about", "").strip(), ""]
        out += [
            "| choice | knob | alternatives (chosen in bold) | decided on | validation, per alternative | verdict | test, reported |",
            "|---|---|---|---|---|---|---|",
        ]
        for c in members:
            alts = " · ".join(_alt(a, c.raw["chosen"]) for a in c.raw["alternatives"])
            out.append(
                f"| `{c.id}` | {c.raw['knob']} | {alts} | {c.raw['decided_on']} | {validation_cell(c)} | "
                f"**{c.verdict}** | {test_cell(c)} |"
            )
        out += ["", "Notes and sources:", ""]
        for c in members:
            out.append(f"- `{c.id}`: {c.raw.get('note', '').strip()} *Where:* {c.raw['where'].strip()}")
            if c.raw.get("retrain"):
                out.append(f"  *To settle on validation:* {c.raw['retrain'].strip()}")
            sources = [f"{e.alt} ({e.setting}): {e.source}" for e in c.valid]
            if sources:
                out.append("  *Validation figures:* " + "; ".join(sources) + ".")
            tsources = [f"{e.alt} ({e.setting}): {e.source}" for e in c.test]
            if tsources and tsources != sources:  # the ablation's rows hold both
                out.append("  *Test figures:* " + "; ".join(tsources) + ".")
        out.append("")
    out += ["## Set without a measured comparison", "", raw["fixed_about"].strip(), ""]
    out += ["| group | knob | value | basis |", "|---|---|---|---|"]
    out += [f"| {f['group']} | {f['knob']} | {f['value']} | {f['basis']} |" for f in raw["fixed"]]
    return "\n".join(out) + "\n"


@dataclass
class Options:
    out: str = str(DOCS / "CHOICES.md")  # the report written


def main(argv: list[str] | None = None) -> int:
    args = parse_dataclass(Options, argv, "python -m experiments.choices.make_choices", __doc__)
    try:
        text = build()
    except ChoicesError as err:
        print(f"error: {err}")
        return 1
    Path(args.out).write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    run_main(main)
