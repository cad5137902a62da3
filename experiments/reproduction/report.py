"""docs/REPRODUCTION.md from the runs on disk: tables of our figures beside the papers', and every claim of
claims.py judged. The words are in report.md.j2; this module gathers what the template shows."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from experiments.grid import load_grid
from explorer.references import published, table1
from explorer.runs import recipe_label
from textvae_core.rundir import (
    EVAL,
    KEPT_FIGURES,
    CheckpointError,
    read_config,
    read_eval,
    read_metrics,
    run_status,
)

from . import claims as C
from .engine import Claim, Row, RunData, Tally, arrow, capacity, cell, fmt, judge
from .why import dist, informative, kl, valid_turn

TEMPLATE = "report.md.j2"


def load_run(run_dir: Path) -> RunData:
    ev = read_eval(run_dir)
    try:
        cfg = read_config(run_dir) if run_dir.is_dir() else None
    except CheckpointError:
        cfg = None
    curve = read_metrics(run_dir) if ev is not None else []
    return RunData(run_dir.name, ev, cfg, curve, run_status(run_dir))


def load(checkpoints: Path) -> dict[str, RunData]:
    """Every run of the grid (evaluated or not: missing ones are listed, never left out), then any other
    evaluated run found in the folder."""
    names = [r.name for r in load_grid()]
    extra = sorted(p.parent.name for p in checkpoints.glob(f"*/{EVAL}") if p.parent.name not in names)
    return {n: load_run(checkpoints / n) for n in names + extra}


def recipe(cfg: Any, budget: bool = True) -> str:
    """A run's size, budget (unless not ``budget``) and the rate recipe's knobs, in words: the same words for
    the same recipe."""
    m, o, t = cfg.model, cfg.objective, cfg.train
    label = recipe_label(cfg)
    knobs = [] if label == "—" else [label]
    if o.C_schedule != "constant":
        knobs.append(f"C ramped over {o.C_warmup_steps} steps")
    if lr := _lr_words(t):
        knobs.append(lr)
    averaged = _averaged(cfg)
    if t.keep_best:
        kept = f"weights of the best {KEPT_FIGURES.get(t.keep_best, t.keep_best)}"
        knobs.append(f"{kept} ({averaged})" if averaged else kept)
    elif averaged:
        knobs.append(f"shipping {averaged}")
    how = ", ".join(knobs) if knobs else "C from step 0"
    epochs = f"{t.epochs:g} epochs, " if budget else ""
    return f"emb {m.emb_dim} / hidden {m.hidden} / z {m.z_dim}, {epochs}{how}"


def _lr_words(t: Any) -> str:
    """How the learning rate moved, in words; "" for one held constant (the default: not worth a word)."""
    if t.lr_schedule == "cosine":
        held = f"held {t.lr_hold:g} epochs, then " if t.lr_hold > 0 else ""
        return f"lr {t.lr:g} {held}on a half cosine to {t.lr_final:g}".replace("e-0", "e-")
    if t.lr_decay < 1.0:
        return f"lr {t.lr:g} × {t.lr_decay:g} on a plateau"
    return ""


def _averaged(cfg: Any) -> str:
    """Which weights a run with train.average_from validates and ships, in words; "" without the average."""
    t = cfg.train
    if t.average_from <= 0:
        return ""
    return f"the mean of the weights every {t.average_every} steps from epoch {t.average_from:g} on"


def _shared(cfg: Any) -> Any:
    """The config without its bag-of-words loss and head, without keeping its best weights and without the
    weight average: what else two runs' recipes share (the note names those differences itself)."""
    out = copy.deepcopy(cfg)
    out.objective.bow, out.model.bow_head, out.train.keep_best = 0.0, False, ""
    out.train.average_from = 0.0
    return out


@dataclass
class Report:
    runs: dict[str, RunData]
    tally: Tally = field(default_factory=Tally)

    def eval(self, name: str) -> dict[str, Any] | None:
        run = self.runs.get(name)
        return run.eval if run else None

    def judged(self, claims: list[Claim]) -> list[Row]:
        return [self.tally.add(judge(c, self.runs)) for c in claims]

    def describe(self, names: tuple[str, ...] | list[str]) -> str:
        """Model size and budget of the first of these runs that has a config (they share one)."""
        for n in names:
            run = self.runs.get(n)
            cfg = run.config if run else None
            if cfg:
                m, t = cfg.model, cfg.train
                return (
                    f"{m.encoder.upper()} encoder, {m.decoder.upper()} decoder, emb {m.emb_dim}, hidden {m.hidden}, "
                    f"z {m.z_dim}, vocabulary {cfg.vocab_size or cfg.data.max_vocab}, {t.epochs:g} epochs"
                    f"{f', word dropout {t.word_dropout:g}' if t.word_dropout else ''} (from {n}'s config)"
                )
        return "sizes not known yet (no run started)"

    def sweep_recipes(self) -> str:
        """Each decoder's sweep recipe, decoders trained alike named together (from the first run's config)."""
        groups: dict[str, list[str]] = {}
        for dec in C.DECODERS:
            cfg = next((self.runs[n].config for n in C.sweep(dec) if n in self.runs and self.runs[n].config), None)
            groups.setdefault(recipe(cfg) if cfg else "not started", []).append(dec.upper())
        return "; ".join(f"{_and(decs)}: {how}" for how, decs in groups.items())

    def budgets(self, names: tuple[str, ...]) -> str:
        """Size, epochs and recipe per run, from the configs: runs trained differently are not steps of the
        same comparison."""
        parts = []
        for n in names:
            run = self.runs.get(n)
            cfg = run.config if run else None
            parts.append(f"C = {capacity(run):g}: {recipe(cfg)}" if cfg else f"{n}: not started")
        return "; ".join(parts)

    def same_recipe(self, names: tuple[str, ...]) -> bool:
        cfgs = [self.runs[n].config for n in names if n in self.runs and self.runs[n].config]
        return len({recipe(c, budget=False) for c in cfgs}) <= 1

    def status(self, name: str) -> str:
        return self.runs[name].status if name in self.runs else "not started"

    # -- the tables ------------------------------------------------------------------------------------
    def table1(self) -> list[dict[str, Any]]:
        paper = table1("CBT")
        return [
            {"C": c, "paper": paper[c], "run": n, "ev": self.eval(n)}
            for c, n in zip(PUBLISHED_C, C.TABLE1, strict=True)
        ]

    def overlap_note(self, names: tuple[str, ...]) -> str | None:
        """Test sentences that occur verbatim in the training file, and the runs' BLEU-4 without them (eval.json's
        overlap section): a sentence seen in training scores what the model remembers."""
        parts, counts = [], set()
        for n in names:
            r = self.runs.get(n)
            ov = (r.eval or {}).get("overlap", {}) if r else {}
            if "unseen" not in ov:
                continue
            counts.add((ov["in_train"], ov["n_sentences"]))
            every = r.eval["reconstruction"]["scores"]["all"]["bleu4"]
            parts.append(f"C = {capacity(r):g} {every:.2f} / {ov['unseen']['bleu4']:.2f}")
        if not parts or len(counts) != 1:
            return None
        seen, total = counts.pop()
        return (
            f"{seen} of the {total} test sentences ({100 * seen / total:.1f} %) occur verbatim in the training file. "
            f"Reconstruction BLEU-4 on all test sentences / without them: {'; '.join(parts)}."
        )

    def budget_caveat(self) -> str | None:
        """Table 1's runs trained alike, or not: what a difference does to the D claim."""
        evs = [self.runs.get(n) for n in C.TABLE1]
        lo, hi = (self.runs.get(n) for n in C.LONG)
        if any(r is None or r.eval is None for r in [*evs, lo, hi]):
            return None
        cfgs = [r.config for r in evs if r.config]
        if not self.same_recipe(C.TABLE1) and len({recipe(_shared(c)) for c in cfgs}) == 1:
            return f"Recipe note: all three runs are {recipe(_shared(cfgs[0]))}. " + " ".join(self._differences(evs))
        if not self.same_recipe(C.TABLE1):
            return (
                f"Recipe caveat ({self.budgets(C.TABLE1)}): Table 1's runs were trained with different recipes, so "
                "the D, active-unit and reconstruction claims compare the recipes as much as the capacities (the "
                "grid's settings for all three are in experiments/grid.toml); within each decoder the sweep "
                "below is one recipe at one budget (its recipes are named there; the LSTM sweep's 10-epoch ends, "
                f"{recipe(lo.config, budget=False) if lo.config else '?'}: D {dist(lo):.2f} at C = {capacity(lo):g}, "
                f"{dist(hi):.2f} at C = {capacity(hi):g})."
            )
        return (
            f"Budget caveat ({self.budgets(C.TABLE1)}): the fall of D to {dist(evs[-1]):.2f} at the largest C is "
            "partly the longer budget's. At one budget the sweep answers: its 10-epoch ends give D "
            f"{dist(lo):.2f} at C = {capacity(lo):g} and {dist(hi):.2f} at C = {capacity(hi):g} "
            f"({'higher' if dist(hi) > dist(lo) else 'lower'} at the larger C; see 'A longer budget' below)."
        )

    @staticmethod
    def _differences(evs: list[Any]) -> list[str]:
        """What sets Table 1's runs apart beyond C: the bag-of-words loss, whose weights were kept."""
        out = []
        bow = [f"C = {capacity(r):g}" for r in evs if r.config.objective.bow > 0]
        if bow:
            out.append(
                f"{_and(bow)} alone {'adds' if len(bow) == 1 else 'add'} the bag-of-words loss on z (at small C it buys "
                "rate beyond C at β = 1: experiments/grid.toml); D and reconstructions owe part of their gain to "
                "that loss as well as to the capacity (docs/ABLATION.md, small model at C = 100: the loss and the C "
                "ramp together, on top of a batch-normalised μ, took D from 90.65 to 87.80 and BLEU-4 from 5.00 to "
                "6.68)."
            )
        kept = [r for r in evs if (r.eval or {}).get("kept")]
        if kept:
            # kept before the end: validation D turned up; kept at the end: it was still falling
            early = [r for r in kept if r.eval["kept"]["step"] < r.eval["step"]]
            at_end = [r for r in kept if r not in early]
            last = [f"C = {capacity(r):g}{_valid_low(r)}" for r in evs if r not in kept]
            tail = (
                f", and of the last step for {_and(last)}, trained before the grid kept its best weights"
                if last
                else ""
            )
            if early:
                picks = [f"C = {capacity(r):g} (step {r.eval['kept']['step']} of {r.eval['step']})" for r in early]
                out.append(
                    f"The weights measured are those of the lowest validation D for {_and(picks)} (PTB overfits at "
                    f"this size within 10 epochs){'' if at_end else tail}."
                )
            if at_end:
                ends = _and([f"C = {capacity(r):g}" for r in at_end])
                steps = _and([str(s) for s in sorted({r.eval["step"] for r in at_end})])
                out.append(
                    f"Validation D was lowest at the last validation (step {steps}) for {ends}: no overfitting "
                    f"within the budget and D was still falling; the weights kept are {_kept_at_end(at_end)}{tail}."
                )
        return out

    def sweep_rows(self) -> list[dict[str, Any]]:
        by_dec = {dec: C.sweep(dec) for dec in C.DECODERS}
        return [
            {"C": c, "cells": {dec: self.runs.get(names[i]) for dec, names in by_dec.items()}}
            for i, c in enumerate(SWEEP_C)
        ]

    def sweep_epochs(self) -> str:
        """The LSTM sweep's training length in epochs, from its first run's config ("?" before any)."""
        cfg = next((self.runs[n].config for n in C.sweep("lstm") if n in self.runs and self.runs[n].config), None)
        return f"{cfg.train.epochs:g}" if cfg else "?"

    def longer_budget_rows(self) -> list[dict[str, Any]]:
        short = {capacity(self.runs[n]): self.runs.get(n) for n in C.sweep("lstm") if n in self.runs}
        return [
            {"C": capacity(self.runs[n]), "short": short.get(capacity(self.runs[n])), "long": self.runs.get(n)}
            for n in C.LONG
        ]

    def fce_rows(self) -> list[dict[str, Any]]:
        rows = []
        table3 = published()["beta_c"]["table3"]
        for scheme in ("nucleus0.9", "greedy"):
            for i, (c, n) in enumerate(zip(PUBLISHED_C, C.TABLE1, strict=True)):
                ev = self.eval(n)
                f = ((ev or {}).get("fce") or {}).get("schemes", {}).get(scheme)
                rows.append({"scheme": scheme, "C": c, "paper": table3[scheme]["CBT"][i], "ev": ev, "f": f})
        return rows

    def syntax(self) -> dict[str, Any]:
        lo, hi = self.runs.get(C.TABLE1[0]), self.runs.get(C.TABLE1[-1])
        coverage = []
        for run in (lo, hi):
            s = (run.eval or {}).get("syntax") if run else None
            if s and "coverage" in s:
                told = all("n_distinct" in c for c in s["categories"].values())
                coverage.append(
                    f"{run.name}: {100 * s['coverage']:.1f}% of tokens in the vocabulary, "
                    f"{100 * s['pairs_fully_known']:.1f}% of pairs without an unknown word, "
                    + (
                        f"{sum(c['n_distinct'] for c in s['categories'].values())} pairs told apart by their ids, "
                        if told
                        else ""
                    )
                    + f"{s['n_pairs']} pairs ({s['max_pairs_per_category'] or 'all'} per file at most)"
                )
        rows = []
        for i, paper in enumerate(published()["beta_c"]["table4"]["rows"]):
            cells = []
            for run, width in ((lo, 2), (hi, 4)):
                try:
                    vals = C.syntax_rows(run)[i][:width] if run and run.eval else None
                except KeyError:
                    vals = None
                cells.append(" / ".join(fmt(v) for v in vals) if vals else "—")
            rows.append({"paper": paper, "ours": cells})
        distinct = None
        try:
            if lo and hi and lo.eval and hi.eval:
                d_lo, d_hi = C.distinct_rows(lo), C.distinct_rows(hi)
                distinct = {
                    "told": sum(r[4] for r in d_hi),
                    "total": sum(r[4] for r in C.syntax_rows(hi)),
                    "rows": list(zip(published()["beta_c"]["table4"]["rows"], d_lo, d_hi, strict=True)),
                }
        except KeyError:
            distinct = None
        return {"coverage": coverage, "rows": rows, "distinct": distinct}

    def autogen_rows(self) -> list[dict[str, Any]]:
        return [{"name": n, "run": self.runs.get(n)} for n in C.AUTOGEN.values()]

    def record(self) -> dict[str, Any]:
        """Every full-vocabulary run by test −ELBO, and the best one not collapsed."""
        full_vocab = []
        for name, run in self.runs.items():
            cfg = run.config
            if run.eval is None or cfg is None or cfg.data.max_vocab < 10002 or cfg.vocab_size != 10002:
                continue
            full_vocab.append((run.eval["bounds"]["nll_bound"], name, run))
        full_vocab.sort(key=lambda t: (t[0], t[1]))
        best = min(((n, nm) for n, nm, r in full_vocab if r.eval["bounds"]["kl"] > 5), default=None)
        return {"runs": full_vocab, "best": best, "goal": C.GOAL, "published": published()["ptb_record"]["published"]}

    def groups(self) -> dict[str, str]:
        return {r.name: r.group for r in load_grid()}


PUBLISHED_C = tuple(published()["beta_c"]["table3"]["C"])  # the paper's Table 1 and 3 capacities: 3, 15, 100
SWEEP_C = tuple(range(10, 101, 10))


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # Markdown, not HTML
    )
    env.filters |= {"fmt": fmt, "cell": cell, "arrow": arrow}
    env.globals |= {"kl": kl, "dist": dist, "informative": informative, "capacity": capacity}
    return env


def build(checkpoints: Path) -> str:
    """The report's Markdown for the runs under ``checkpoints``."""
    rep = Report(load(checkpoints))
    sections = {  # judged in the report's order, so the tally in its header counts every row below
        "beta_c": rep.judged(C.BETA_C),
        "sweep": rep.judged(C.SWEEP),
        "longer_budget": rep.judged(C.LONGER_BUDGET),
        "fce": rep.judged(C.FCE),
        "syntax": rep.judged(C.SYNTAX_CLAIMS),
    }
    syntax = rep.syntax()
    sections["syntax_distinct"] = rep.judged(C.SYNTAX_DISTINCT) if syntax["distinct"] else []
    sections["autogen"] = rep.judged(C.AUTOGEN_CLAIMS)
    sections["record"] = rep.judged(C.RECORD_CLAIMS)
    sections["defaults"] = rep.judged(C.DEFAULTS_CLAIMS)
    return (
        environment()
        .get_template(TEMPLATE)
        .render(
            rep=rep,
            claims=sections,
            syntax=syntax,
            pub=published(),
            C=C,
            runs=rep.runs,
            evaluated=[n for n, r in rep.runs.items() if r.eval is not None],
            missing=[n for n, r in rep.runs.items() if r.eval is None],
        )
    )


def _valid_low(run: RunData) -> str:
    """ ", whose validation D was lowest at step S (X against Y at its end)", from the run's training log."""
    turn = valid_turn(run)
    if turn is None:
        return ""
    low, last = turn
    return (
        f", whose validation D was lowest at step {low['step']} ({low['rec']:.2f} against {last['rec']:.2f} at its end)"
    )


def _and(words: list[str]) -> str:
    """Names as a sentence lists them: A; A and B; A, B and C."""
    return ", ".join(words[:-1]) + " and " + words[-1] if len(words) > 1 else words[0]


def _kept_at_end(runs: list[Any]) -> str:
    """What the weights kept at the last validation are: the last step's, or the weight average's for runs
    trained with one (named per run when the runs differ)."""
    groups: dict[str, list[str]] = {}
    for r in runs:
        what = _averaged(r.config) or "the last step's"
        groups.setdefault(what, []).append(f"C = {capacity(r):g}")
    if len(groups) == 1:
        return next(iter(groups))
    return "; ".join(f"{w} for {_and(names)}" for w, names in groups.items())
