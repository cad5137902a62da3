"""How a claim is judged: runs, metrics, trends, and the verdict row they give.

A claim names the runs it needs (in order), the metrics it reads from each run (a path into eval.json
such as ``latent/log_det_cov``, or a function of the run), and a trend the values must follow. Judging
it gives one row: the published figure, ours, and holds / does not hold (with the claim's explanation)
/ not yet measured (a run missing, or a figure its eval.json does not have) / not comparable.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from scipy.stats import spearmanr

from textvae_core.config import RunConfig

Eval = dict[str, Any]


@dataclass
class RunData:
    """What the report reads of one run: its eval.json, config, training log and state on disk."""

    name: str
    eval: Eval | None  # None: not evaluated yet
    config: RunConfig | None  # None: not started (or an unreadable config.json)
    curve: list[dict[str, Any]]  # metrics.jsonl records (train and valid)
    status: str  # what exists on disk, in words


# -- formatting --------------------------------------------------------------------------------------------
def fmt(x: float | None, nd: int = 2) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    return f"{x:.{nd}f}"


def fmt_apart(x: float, *bounds: float, nd: int = 2, most: int = 4) -> str:
    """x with the fewest decimals from nd on (up to most) that do not print it as any of the bounds: a miss
    by a hair (91.004 against C + 1 = 91) must not read as a figure on the bound."""
    while nd < most and any(f"{x:.{nd}f}" == f"{b:.{nd}f}" for b in bounds):
        nd += 1
    return f"{x:.{nd}f}"


def cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def arrow(values: Sequence[float], nd: int = 2) -> str:
    return " → ".join(fmt(v, nd) for v in values)


# -- trends on a list of values (one per run, in the claim's order) ------------------------------------------
def monotone(values: Sequence[float], increasing: bool) -> bool:
    """Strictly rising (or falling) at every step."""
    return all((b > a) if increasing else (b < a) for a, b in itertools.pairwise(values))


def rises_capped(values: Sequence[float], cap: float) -> bool:
    """Never falls, ends higher than it starts, and only stays flat at the cap (AU can not exceed z_dim)."""
    return values[-1] > values[0] and all(b > a or (b == a == cap) for a, b in itertools.pairwise(values))


def falls_to_zero(values: Sequence[float]) -> bool:
    """Positive at first, then 0 from some point on: a count that can not fall below 0 has fallen."""
    first_zero = next((i for i, v in enumerate(values) if v == 0), None)
    return (
        first_zero is not None
        and first_zero > 0
        and monotone(values[: first_zero + 1], False)
        and all(v == 0 for v in values[first_zero:])
    )


def spearman(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Spearman's rank correlation (ties get average ranks); 0 when either side is constant."""
    rho = float(spearmanr(xs, ys).statistic) if len(set(xs)) > 1 and len(set(ys)) > 1 else 0.0
    return 0.0 if math.isnan(rho) else rho


@dataclass(frozen=True)
class Metric:
    """One figure of a run: a path into eval.json (``a/b/c``: a missing key means "not yet measured"), or a
    function of the run (RunData) for figures that come from its config or training log."""

    get: str | Callable[[RunData], Any]
    label: str = ""  # its name in the figure when a claim shows several ("BLEU2 … ; ROUGE2 …")
    nd: int = 2  # decimals shown

    def of(self, run: RunData) -> Any:
        if callable(self.get):
            return self.get(run)
        value: Any = run.eval
        for key in self.get.split("/"):
            value = value[key]
        return value


class Trend:
    """What the values (``values[m][r]``: metric m of run r) must do for the claim to hold."""

    per_run = False  # judged run by run ("for every C"): a miss is final even while runs are missing

    def holds(self, values: list[list[Any]], runs: list[RunData]) -> bool:
        raise NotImplementedError

    def show(self, values: list[list[Any]], metrics: Sequence[Metric], runs: list[RunData]) -> str:
        """Our figure, by default each metric's values in run order."""
        if len(metrics) == 1:
            return arrow(values[0], metrics[0].nd)
        return "; ".join(f"{m.label} {arrow(v, m.nd)}" for m, v in zip(metrics, values, strict=True))


@dataclass(frozen=True)
class Rises(Trend):
    """Strictly higher from each run to the next, for every metric."""

    def holds(self, values: list[list[Any]], runs: list[RunData]) -> bool:
        return all(monotone(v, True) for v in values)


@dataclass(frozen=True)
class Falls(Trend):
    """Strictly lower from each run to the next, or down to 0 and staying there (a count that has fallen)."""

    def holds(self, values: list[list[Any]], runs: list[RunData]) -> bool:
        return all(monotone(v, False) or falls_to_zero(v) for v in values)


@dataclass(frozen=True)
class RisesToCap(Trend):
    """Rises, flat only at the cap (e.g. active units at z_dim, the path of the cap in eval.json)."""

    cap: str = "latent/z_dim"

    def holds(self, values: list[list[Any]], runs: list[RunData]) -> bool:
        return rises_capped(values[0], Metric(self.cap).of(runs[0]))

    def show(self, values: list[list[Any]], metrics: Sequence[Metric], runs: list[RunData]) -> str:
        return " → ".join(f"{v}/{Metric(self.cap).of(r)}" for v, r in zip(values[0], runs, strict=True))


def capacity(run: RunData) -> float:
    """The run's C (from its config, else from the grid's entry of that name)."""
    c = run.config.objective.C if run.config else None
    if c is None:
        from experiments.grid import find

        c = find(run.name).knobs["C"]
    return float(c)


@dataclass(frozen=True)
class RankCorrelation(Trend):
    """Spearman's ρ between the runs' capacity C and the metric at most ``at_most`` (a falling trend), or, with
    ``rising``, at least ``-at_most`` (a rising one)."""

    at_most: float = -0.8
    rising: bool = False

    def rho(self, values: list[list[Any]], runs: list[RunData]) -> float:
        return spearman([capacity(r) for r in runs], values[0])

    def holds(self, values: list[list[Any]], runs: list[RunData]) -> bool:
        rho = self.rho(values, runs)
        return rho >= -self.at_most if self.rising else rho <= self.at_most

    def show(self, values: list[list[Any]], metrics: Sequence[Metric], runs: list[RunData]) -> str:
        return f"ρ = {self.rho(values, runs):.2f}"


@dataclass(frozen=True)
class WithinCapacity(Trend):
    """Each run's figure (its rate) within ± ``tol`` of its own capacity C."""

    tol: float = 1.0
    per_run = True
    passing = "within"

    def holds_for(self, value: float, run: RunData) -> bool:
        return abs(value - capacity(run)) <= self.tol

    def miss(self, value: float, run: RunData) -> str:
        c = capacity(run)
        return f"C = {c:g}: KL {fmt_apart(value, c - self.tol, c + self.tol)}"


@dataclass(frozen=True)
class EveryAtMost(Trend):
    """Each run's figure at most ``bound``."""

    bound: float = 1.0
    per_run = True

    @property
    def passing(self) -> str:
        return f"at most {self.bound:g}"

    def holds_for(self, value: float, run: RunData) -> bool:
        return value <= self.bound

    def miss(self, value: float, run: RunData) -> str:
        return f"C = {capacity(run):g}: {fmt(value)}"


@dataclass(frozen=True)
class HighestLast(Trend):
    """The last run's figure above every other's."""

    def holds(self, values: list[list[Any]], runs: list[RunData]) -> bool:
        return values[0][-1] > max(values[0][:-1])


@dataclass(frozen=True)
class AboveFirst(Trend):
    """Every later run's figure above the first run's."""

    def holds(self, values: list[list[Any]], runs: list[RunData]) -> bool:
        return all(v > values[0][0] for v in values[0][1:])


@dataclass(frozen=True)
class Close(Trend):
    """Each metric of every run within ``rel`` (a share; one per metric) of the reference run ``base``."""

    rel: float | tuple[float, ...] = 0.05
    base: int = 0

    def holds(self, values: list[list[Any]], runs: list[RunData]) -> bool:
        rels = self.rel if isinstance(self.rel, tuple) else (self.rel,) * len(values)
        return all(
            abs(x - v[self.base]) <= rel * max(abs(v[self.base]), 1e-9)
            for v, rel in zip(values, rels, strict=True)
            for x in v
        )

    def show(self, values: list[list[Any]], metrics: Sequence[Metric], runs: list[RunData]) -> str:
        parts = [" vs ".join(fmt(x, m.nd) for x in v) for m, v in zip(metrics, values, strict=True)]
        return "; ".join(f"{m.label} {p}" if m.label else p for m, p in zip(metrics, parts, strict=True))


@dataclass(frozen=True)
class Thresholds(Trend):
    """Bounds on the (first) run's figures: ``(metric index, op, bound)`` with op one of <, <=, >, >=; a
    metric without a bound is only shown."""

    bounds: tuple[tuple[int, str, float], ...] = ()

    def holds(self, values: list[list[Any]], runs: list[RunData]) -> bool:
        return all(_OPS[op](values[i][0], bound) for i, op, bound in self.bounds)


_OPS: dict[str, Callable[[float, float], bool]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


@dataclass(frozen=True)
class Share(Trend):
    """The run's metric is a list of booleans (one per category): all true (``most=False``), or more than half."""

    most: bool = False
    unit: str = "categories"

    def holds(self, values: list[list[Any]], runs: list[RunData]) -> bool:
        flags = values[0][0]
        return sum(flags) > len(flags) / 2 if self.most else bool(flags) and all(flags)

    def show(self, values: list[list[Any]], metrics: Sequence[Metric], runs: list[RunData]) -> str:
        flags = values[0][0]
        return f"{sum(flags)} of {len(flags)} {self.unit}"


@dataclass(frozen=True)
class EndsBelowBest(Trend):
    """The run's metric is a curve (a list over training): more than one point, and the last below its best."""

    def holds(self, values: list[list[Any]], runs: list[RunData]) -> bool:
        curve = values[0][0]
        return len(curve) > 1 and curve[-1] < max(curve)

    def show(self, values: list[list[Any]], metrics: Sequence[Metric], runs: list[RunData]) -> str:
        return arrow(values[0][0], metrics[0].nd)


Figure = Callable[[list[list[Any]], list[RunData]], str]


@dataclass(frozen=True)
class Claim:
    """One published claim, judged on our runs: one entry of the report's claim lists."""

    text: str  # the claim, as its row states it
    published: str  # the paper's figure, in words
    runs: tuple[str, ...]  # the runs it needs, in the order the trend reads them
    metrics: tuple[Metric, ...]  # what it reads of each run
    trend: Trend
    why: str | Callable[[list[RunData]], str] = ""  # the reason we think it does not hold, when it does not
    figure: Figure | None = None  # how our figure reads, when the trend's own way does not say it best
    comparable: Callable[[list[RunData]], str] | None = None  # a reason the runs can not be compared, or ""


@dataclass
class Row:
    """A judged claim: what the report's claim table shows."""

    text: str
    published: str
    figure: str
    verdict: str  # "holds" | "fails" | "open" | "incomparable"
    status: str  # the verdict cell
    note: str | None  # the last cell ("" and None render alike but for one space, as the report always has)


HOLDS, FAILS = "holds", "**does not hold**"


def judge(claim: Claim, runs: dict[str, RunData]) -> Row:
    """The claim's row: a missing run or figure leaves it open; otherwise its trend decides."""
    if claim.trend.per_run:
        return _judge_each(claim, runs)
    found = [runs.get(n) for n in claim.runs]
    missing = [n for n, r in zip(claim.runs, found, strict=True) if r is None or r.eval is None]
    row = Row(claim.text, claim.published, "—", "open", "", None)
    if missing:
        row.status = f"not yet measured (missing: {', '.join(missing)})"
        return row
    present = [r for r in found if r is not None]
    try:
        values = [[m.of(r) for r in present] for m in claim.metrics]
        fig = claim.figure(values, present) if claim.figure else claim.trend.show(values, claim.metrics, present)
        reason = claim.comparable(present) if claim.comparable else ""
        ok = claim.trend.holds(values, present) if not reason else None
    except KeyError as err:
        row.status = (
            f"not yet measured (eval.json has no {err}: not in its evaluation profile, "
            "or written before the figure existed)"
        )
        return row
    row.figure = fig
    if ok is None:
        row.verdict, row.status, row.note = "incomparable", "not comparable", reason
        return row
    note = "" if ok else (claim.why(present) if callable(claim.why) else claim.why)
    row.verdict, row.status, row.note = ("holds", HOLDS, note) if ok else ("fails", FAILS, note)
    return row


def _judge_each(claim: Claim, runs: dict[str, RunData]) -> Row:
    trend = claim.trend
    assert isinstance(trend, WithinCapacity | EveryAtMost)
    present = [runs[n] for n in claim.runs if n in runs and runs[n].eval is not None]
    missing = [n for n in claim.runs if n not in runs or runs[n].eval is None]
    metric = claim.metrics[0]
    misses = [trend.miss(metric.of(r), r) for r in present if not trend.holds_for(metric.of(r), r)]
    fig = f"{len(present) - len(misses)} of {len(present)} measured runs {trend.passing}" if present else "—"
    row = Row(claim.text, claim.published, fig, "holds", HOLDS, None)
    if misses:
        why = claim.why if isinstance(claim.why, str) else claim.why(present)
        row.figure, row.verdict, row.status, row.note = f"{fig}; misses: {'; '.join(misses)}", "fails", FAILS, why
    elif missing:
        more = "holds so far; " if present else ""
        row.verdict, row.status = "open", f"{more}not yet measured (missing: {', '.join(missing)})"
    return row


@dataclass
class Tally:
    holds: int = 0
    fails: int = 0
    open: int = 0
    rows: list[Row] = field(default_factory=list)

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        if row.verdict == "holds":
            self.holds += 1
        elif row.verdict == "fails":
            self.fails += 1
        else:
            self.open += 1
        return row
