"""Write docs/REPRODUCTION.md from the eval.json files of the grid runs (never typed by hand).

    python scripts/reproduction_report.py [--checkpoints checkpoints] [--out docs/REPRODUCTION.md]

Each published claim becomes a row: the claim, the paper's figure, ours, and a verdict: holds, does
not hold (with a short explanation of why we think so), or not yet measured (the runs it needs are
named). The published figures are data in this file (REFERENCE, SYNTAX_CATEGORIES), copied from the
papers themselves (Prokhorov et al. 2019; Mansbridge et al. 2019). Run names come from scripts/train_grid.py, so a run that is not trained
or not evaluated yet is listed, never silently left out.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

Eval = dict[str, Any]

# ---------------------------------------------------------------------------------------------------
# Published figures (Prokhorov et al. 2019 = "β_C"; Mansbridge et al. 2019 = "AutoGen").
# ---------------------------------------------------------------------------------------------------
REFERENCE: dict[str, Any] = {
    # β_C Table 1 (β_C-VAE LSTM, z 64): per corpus and C: R, LogDetCov, ‖μ‖², AU, BLEU-2/4 "All".
    "table1": {
        "CBT": {
            3: (3, -0.39, 0.05, 8, 9.46, 1.57),
            15: (15, -0.38, 0.05, 29, 15.87, 4.60),
            100: (99, -43.82, 1.27, 64, 27.65, 16.09),
        },
        "WIKI": {
            3: (3, -0.35, 0.00, 5, 6.78, 1.33),
            15: (15, -0.57, 0.01, 12, 10.08, 3.42),
            100: (100, -4.97, 0.15, 64, 31.84, 24.17),
        },
        "WebText": {
            3: (3, -0.21, 0.01, 4, 11.88, 3.35),
            15: (15, -0.51, 0.01, 16, 15.84, 5.69),
            100: (100, -7.85, 0.41, 64, 45.84, 38.71),
        },
    },
    # β_C Table 3: FCE (LM NLL per test sentence) and greedy self-BLEU-4, per corpus, for C = 3, 15, 100.
    "fce": {
        "greedy": {"CBT": (86.6, 52.3, 47.3), "WIKI": (134.6, 69.2, 58.9), "WebText": (115.8, 74.4, 62.5)},
        "nucleus0.9": {"CBT": (70.4, 70.7, 75.1), "WIKI": (89.8, 89.3, 96.5), "WebText": (86.4, 85.8, 93.7)},
        "greedy_self_bleu": {"CBT": (4.2, 0.3, 0.0), "WIKI": (7.6, 0.2, 0.0), "WebText": (2.0, 0.1, 0.0)},
    },
    # Public PTB test figures per sentence (the list): (source, figure, what it measures).
    "ptb_record": [
        ("texar VAE-LSTM", 102.54, "−ELBO-based NLL, standard PTB"),
        ("texar VAE-Transformer", 101.61, "−ELBO-based NLL, standard PTB"),
        ("Sentence-VAE README", 103.97, "distortion alone (KL 7.27: −ELBO ≈ 111), its own re-tokenised PTB"),
    ],
    "ptb_record_goal": 101.5,
    # AutoGen blind surveys (human judgement: measured in the app, not by evaluate).
    "autogen_recon_survey": {"annealing vs VAE": 66, "m = 1 vs annealing": 88, "m = 2 vs m = 1": 88},
}

# β_C Table 4 (WIKI; C = 3: p1, p2; C = 100: p1, p2, p̄1, p̄2), and the Marvin & Linzen files of each row.
SYNTAX_CATEGORIES: list[tuple[str, list[str], tuple[float, float], tuple[float, float, float, float]]] = [
    ("Agreement: simple", ["simple_agrmt"], (0.81, 0.81), (1.00, 0.23, 0.68, 0.47)),
    ("Agreement: in a sentential complement", ["sent_comp"], (0.79, 0.79), (0.98, 0.14, 0.69, 0.48)),
    ("Agreement: short VP coordination", ["vp_coord"], (0.74, 0.73), (0.96, 0.08, 0.78, 0.43)),
    ("Agreement: long VP coordination", ["long_vp_coord"], (0.61, 0.61), (0.97, 0.06, 0.55, 0.47)),
    ("Agreement: across a prepositional phrase", ["prep_anim", "prep_inanim"], (0.78, 0.78), (0.97, 0.07, 0.62, 0.49)),
    ("Agreement: across a subject relative clause", ["subj_rel"], (0.77, 0.77), (0.93, 0.08, 0.68, 0.41)),
    (
        "Agreement: across an object relative clause",
        ["obj_rel_across_anim", "obj_rel_across_inanim"],
        (0.69, 0.69),
        (0.92, 0.11, 0.61, 0.45),
    ),
    (
        "Agreement: across an object relative (no that)",
        ["obj_rel_no_comp_across_anim", "obj_rel_no_comp_across_inanim"],
        (0.58, 0.58),
        (0.94, 0.09, 0.61, 0.44),
    ),
    (
        "Agreement: in an object relative clause",
        ["obj_rel_within_anim", "obj_rel_within_inanim"],
        (0.74, 0.74),
        (0.99, 0.01, 0.60, 0.45),
    ),
    (
        "Agreement: in an object relative (no that)",
        ["obj_rel_no_comp_within_anim", "obj_rel_no_comp_within_inanim"],
        (0.74, 0.74),
        (0.99, 0.02, 0.61, 0.46),
    ),
    ("Reflexives: simple", ["simple_reflexives"], (0.79, 0.78), (0.99, 0.07, 0.70, 0.39)),
    ("Reflexives: in a sentential complement", ["reflexive_sent_comp"], (0.74, 0.73), (1.00, 0.00, 0.70, 0.38)),
    ("Reflexives: across a relative clause", ["reflexives_across"], (0.63, 0.62), (0.99, 0.03, 0.69, 0.35)),
    ("NPI: simple", ["simple_npi_anim", "simple_npi_inanim"], (0.42, 0.33), (1.00, 0.00, 0.76, 0.20)),
    ("NPI: across a relative clause", ["npi_across_anim", "npi_across_inanim"], (0.37, 0.36), (1.00, 0.00, 0.98, 0.02)),
]

TABLE1_C = (3, 15, 100)
SWEEP_C = tuple(range(10, 101, 10))
DECODERS = ("lstm", "gru", "cnn")
RECON_METRICS = ("bleu2", "bleu4", "rouge2", "rouge4")
AUTOGEN = {
    "vae": "ptb-lstm-vae",
    "anneal": "ptb-lstm-vae-anneal",
    "m1": "ptb-lstm-autogen-m1",
    "m2": "ptb-lstm-autogen-m2",
    "beta0.5": "ptb-lstm-beta0.5",
}


def table1_run(c: int) -> str:
    return f"ptb-lstm-bc{c}"


LONG_C = (10, 100)


def long_run(c: int) -> str:
    return f"sweep-lstm-c{c}-e10"


def sweep_run(dec: str, c: int) -> str:
    return f"sweep-{dec}-c{c}"


# ---------------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------------
@dataclass
class Run:
    name: str
    eval: Eval | None  # None: not evaluated yet
    config: dict[str, Any] | None
    curve: list[dict[str, Any]]  # metrics.jsonl rows (train and valid)
    status: str  # what exists on disk, in words


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def train_curve(run_dir: Path) -> list[dict[str, Any]]:
    rows = []
    try:
        lines = (run_dir / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
    except OSError:
        return rows
    for line in lines:
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a line being written while we read
    return rows


def load_run_files(run_dir: Path) -> Run:
    ev = read_json(run_dir / "eval.json")
    cfg = read_json(run_dir / "config.json")
    if ev is not None:
        status = f"evaluated ({ev.get('profile', 'full')} profile, k = {ev.get('iw_nll', {}).get('k', '?')})"
    elif (run_dir / "model.safetensors").exists():
        status = "trained or training, not evaluated"
    elif run_dir.is_dir():
        status = "training started, no weights yet"
    else:
        status = "not started"
    return Run(run_dir.name, ev, cfg, train_curve(run_dir) if ev is not None else [], status)


def grid_names() -> list[tuple[str, str]]:
    """(name, group) of every run the grid script defines; the report's own list if it cannot be imported."""
    try:
        from train_grid import grid

        return [(r.name, r.group) for r in grid()]
    except Exception:  # the report must still be written from the runs on disk
        names = [(n, "autogen") for n in AUTOGEN.values()] + [(table1_run(c), "betac") for c in TABLE1_C]
        return names + [(sweep_run(d, c), f"sweep-{d}") for d in DECODERS for c in SWEEP_C]


def load(checkpoints: Path) -> dict[str, Run]:
    names = [n for n, _ in grid_names()]
    extra = sorted(p.parent.name for p in checkpoints.glob("*/eval.json") if p.parent.name not in names)
    return {n: load_run_files(checkpoints / n) for n in names + extra}


# ---------------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------------
def fmt(x: float | None, nd: int = 2) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    return f"{x:.{nd}f}"


def cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def arrow(values: list[float], nd: int = 2) -> str:
    return " → ".join(fmt(v, nd) for v in values)


def monotone(values: list[float], increasing: bool) -> bool:
    """Strictly rising (or falling) at every step."""
    return all((b > a) if increasing else (b < a) for a, b in itertools.pairwise(values))


def rises_capped(values: list[float], cap: float) -> bool:
    """Never falls, ends higher than it starts, and only stays flat at the cap (AU can not exceed z_dim)."""
    steps = list(itertools.pairwise(values))
    return values[-1] > values[0] and all(b > a or (b == a == cap) for a, b in steps)


def falls_to_zero(values: list[float]) -> bool:
    """Positive at first, then 0 from some point on: a count that can not fall below 0 has fallen."""
    first_zero = next((i for i, v in enumerate(values) if v == 0), None)
    return (
        first_zero is not None
        and first_zero > 0
        and monotone(values[: first_zero + 1], False)
        and all(v == 0 for v in values[first_zero:])
    )


def spearman(xs: list[float], ys: list[float]) -> float:
    """Rank correlation (no ties expected in C; ties in y get average ranks)."""

    def ranks(v: list[float]) -> list[float]:
        order = sorted(range(len(v)), key=v.__getitem__)
        r = [0.0] * len(v)
        i = 0
        while i < len(order):
            j = i
            while j + 1 < len(order) and v[order[j + 1]] == v[order[i]]:
                j += 1
            for t in range(i, j + 1):
                r[order[t]] = (i + j) / 2
            i = j + 1
        return r

    rx, ry = ranks(xs), ranks(ys)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    sx = math.sqrt(sum((a - mx) ** 2 for a in rx))
    sy = math.sqrt(sum((b - my) ** 2 for b in ry))
    return cov / (sx * sy) if sx and sy else 0.0


def kl(e: Eval) -> float:
    return e["bounds"]["kl"]


def dist(e: Eval) -> float:
    return e["bounds"]["rec"]


def elbo(e: Eval) -> float:
    return -e["bounds"]["nll_bound"]


def record_why(e: Eval, valid: list[dict[str, Any]], goal: float, window: int = 5) -> str:
    """Why the record run misses, from its own log: collapse, or the pace its validation −ELBO was
    still falling at when training stopped (is the gap a matter of budget?). The pace is a least-squares
    slope over the last ``window`` epochs, so one noisy validation does not decide it."""
    parts = ["trained on two CPU cores (no GPU lent to this work): the budget in the table, against texar's 100 epochs"]
    if kl(e) <= 5:
        parts.append(f"KL {kl(e):.2f} ≤ 5: the posterior sank towards the prior")
    gap = -elbo(e) - goal
    if gap > 0 and len(valid) > window:
        last = valid[-window - 1 :]
        epochs = [float(r.get("epoch", i)) for i, r in enumerate(last)]
        pace = -float(np.polyfit(epochs, [r["nll_bound"] for r in last], 1)[0])
        seen = (
            f"validation −ELBO {last[0]['nll_bound']:.2f} → {last[-1]['nll_bound']:.2f} over the last {window} epochs"
        )
        lrs = [r["lr"] for r in valid if "lr" in r]
        decays = [i for i in range(1, len(lrs)) if lrs[i] < lrs[i - 1]]
        if lrs:
            seen += f", learning rate lowered {len(decays)} time{'s' if len(decays) != 1 else ''}"
            if decays and decays[-1] == len(lrs) - 1:
                seen += " (the last at the final validation: no step trained at the lower rate)"
        if pace > 0:
            parts.append(
                f"{seen}: still falling {pace:.2f} nats per epoch (least-squares slope), so the {gap:.2f} nats "
                f"left are at least {math.ceil(gap / pace)} more epochs at that pace, which slows as it goes"
            )
        else:
            parts.append(f"{seen}: no longer falling, so more epochs at this size would not close the {gap:.2f} nats")
    return "; ".join(parts)


def greedy_fce_why(es: list[Eval]) -> str:
    """The paper explains its falling greedy FCE by %unk rising with C (an LM that sees more <unk>
    predicts the test set's <unk> better) and self-BLEU falling; check that mechanism on our corpora."""
    fces = [e["fce"]["schemes"]["greedy"]["fce"] for e in es]
    unks = [e["fce"]["schemes"]["greedy"]["pct_unk_generated"] for e in es]
    sbs = [e["generation"]["schemes"]["greedy"]["self_bleu4"] for e in es]
    seen = (
        f"%unk of the greedy corpora {' / '.join(fmt(u, 1) for u in unks)}, FCE {' / '.join(fmt(f) for f in fces)}, "
        f"self-BLEU-4 (300 samples) {' / '.join(fmt(b, 1) for b in sbs)}"
    )
    inverse = all(
        (u1 - u2) * (f1 - f2) < 0 for (u1, f1), (u2, f2) in itertools.combinations(zip(unks, fces, strict=True), 2)
    )
    if inverse and not monotone(unks, True):
        return (
            f"{seen}: FCE falls exactly where %unk rises, the paper's own explanation of its trend, but our %unk "
            "does not rise with C, so FCE does not fall with it"
        ) + ("; at every C the greedy samples are near copies of each other" if min(sbs) >= 90 else "")
    return f"{seen}: the paper ties its trend to %unk rising and self-BLEU falling with C; ours do not order FCE"


def bleu4(e: Eval) -> float:
    return e["reconstruction"]["scores"]["all"]["bleu4"]


def share(e: Eval) -> float:
    return e["bounds"]["kl_share"]


def syntax_row(e: Eval, files: list[str]) -> tuple[float, float, float, float, int]:
    """Pair-weighted p1, p2, p̄1, p̄2 over a paper category's files, and the number of pairs."""
    cats = e["syntax"]["categories"]
    present = [cats[f] for f in files if f in cats]
    n = sum(c["n_pairs"] for c in present)
    if not n:
        raise KeyError("syntax")
    mean = lambda k: sum(c[k] * c["n_pairs"] for c in present) / n  # noqa: E731
    return mean("p1"), mean("p2"), mean("p1_bar"), mean("p2_bar"), n


def syntax_row_distinct(e: Eval, files: list[str]) -> tuple[float, float, float, float, int]:
    """The same on the pairs whose two sentences map to different ids (unknown words can make them one)."""
    cats = e["syntax"]["categories"]
    # an eval.json from before these figures has no "n_distinct": the KeyError marks it "not yet measured"
    present = [cats[f] for f in files if f in cats and cats[f]["n_distinct"]]
    n = sum(c["n_distinct"] for c in present)
    if not n:
        return (math.nan, math.nan, math.nan, math.nan, 0)
    mean = lambda k: sum(c["distinct"][k] * c["n_distinct"] for c in present) / n  # noqa: E731
    return mean("p1"), mean("p2"), mean("p1_bar"), mean("p2_bar"), n


# ---------------------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------------------
HOLDS, FAILS = "holds", "**does not hold**"


class Report:
    def __init__(self, runs: dict[str, Run]) -> None:
        self.runs = runs
        self.lines: list[str] = []
        self.verdicts: dict[str, int] = {"holds": 0, "fails": 0, "open": 0}

    def get(self, name: str) -> Eval | None:
        run = self.runs.get(name)
        return run.eval if run else None

    def add(self, *lines: str) -> None:
        self.lines += list(lines)

    def claims_header(self) -> None:
        self.add("", "| claim | published | ours | verdict | why, where it does not hold |", "|---|---|---|---|---|")

    def claim(
        self,
        text: str,
        published: str,
        names: list[str],
        figure: Callable[[list[Eval]], str],
        check: Callable[[list[Eval]], bool],
        why: Callable[[list[Eval]], str] | str = "",
        comparable: Callable[[list[Eval]], str] | None = None,
    ) -> None:
        """One row. ``check`` and ``figure`` see the evals of ``names`` in order; a KeyError means an
        eval.json from before the figure existed. ``comparable`` may return a reason the runs can not
        be compared (e.g. FCE under different vocabularies)."""
        evs = [self.get(n) for n in names]
        missing = [n for n, e in zip(names, evs, strict=True) if e is None]
        row = f"| {cell(text)} | {cell(published)} |"
        if missing:
            self.verdicts["open"] += 1
            self.add(f"{row} — | not yet measured (missing: {', '.join(missing)}) | |")
            return
        try:
            fig = figure(evs)
            reason = comparable(evs) if comparable else ""
            ok = check(evs) if not reason else None
        except KeyError as err:
            self.verdicts["open"] += 1
            self.add(
                f"{row} — | not yet measured (eval.json has no {err}: not in its evaluation profile, "
                "or written before the figure existed) | |"
            )
            return
        if ok is None:
            self.verdicts["open"] += 1
            self.add(f"{row} {cell(fig)} | not comparable | {cell(reason)} |")
            return
        self.verdicts["holds" if ok else "fails"] += 1
        note = "" if ok else (why(evs) if callable(why) else why)
        self.add(f"{row} {cell(fig)} | {HOLDS if ok else FAILS} | {cell(note)} |")

    def every_run(
        self,
        text: str,
        published: str,
        names: list[str],
        ok: Callable[[str, Eval], bool],
        describe: Callable[[str, Eval], str],
        why: str,
    ) -> None:
        """A claim about each run on its own ("for every C"): a miss is final even while runs are missing."""
        present = [(n, self.get(n)) for n in names if self.get(n) is not None]
        missing = [n for n in names if self.get(n) is None]
        misses = [describe(n, e) for n, e in present if not ok(n, e)]
        fig = f"{len(present) - len(misses)} of {len(present)} measured runs within" if present else "—"
        row = f"| {cell(text)} | {cell(published)} |"
        if misses:
            self.verdicts["fails"] += 1
            self.add(f"{row} {fig}; misses: {'; '.join(misses)} | {FAILS} | {cell(why)} |")
        elif missing:
            self.verdicts["open"] += 1
            more = "holds so far; " if present else ""
            self.add(f"{row} {fig} | {more}not yet measured (missing: {', '.join(missing)}) | |")
        else:
            self.verdicts["holds"] += 1
            self.add(f"{row} {fig} | {HOLDS} | |")

    # -- β_C-VAE ----------------------------------------------------------------------------------
    def betac(self) -> None:
        names = [table1_run(c) for c in TABLE1_C]
        self.add("", "## β_C-VAE (Prokhorov et al. 2019)", "")
        self.add(
            f"Table 1 runs, trained on PTB: {self.describe(names)}. The paper: LSTM, emb 256, hidden 512, z 64,",
            "10 epochs on CBT, WIKI, WebText. Ours on PTB test; the paper's CBT row beside each C.",
            f"Training budgets differ: {self.budgets(names)}.",
            "",
            "| C | R | D | −ELBO | IW-NLL | AU | log det Cov | ‖μ‖² | KL(q(z)‖p(z)) | MI | BLEU-2 / 4 all | homotopy repeats |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
        )
        for c, n in zip(TABLE1_C, names, strict=True):
            r, ldc, mu2, au, b2, b4 = REFERENCE["table1"]["CBT"][c]
            self.add(f"| {c} (paper, CBT) | {r} | | | | {au}/64 | {ldc} | {mu2} | | | {b2} / {b4} | |")
            e = self.get(n)
            if e is None:
                self.add(f"| {c} (ours) | {self.runs[n].status if n in self.runs else 'not started'} |||||||||||")
                continue
            b, lat, rec = e["bounds"], e["latent"], e["reconstruction"]["scores"]["all"]
            self.add(
                f"| {c} (ours) | {fmt(b['kl'])} | {fmt(b['rec'])} | {fmt(b['nll_bound'])} | {fmt(e['iw_nll']['nll'])} "
                f"| {lat['active_units']}/{lat['z_dim']} | {fmt(lat['log_det_cov'])} | {fmt(lat['mean_sq_norm'])} "
                f"| {fmt(lat['kl_moment_matched'])} | {fmt(lat['mutual_information'])} "
                f"| {fmt(rec['bleu2'])} / {fmt(rec['bleu4'])} | {fmt(e['homotopy']['mean_repeats'])} |"
            )
        self.claims_header()
        budget = (
            "the constraint is a penalty β·|KL − C| with β = 1 on training batches, not a hard limit; "
            "test KL also differs from training KL by the encoder's generalisation gap"
        )
        self.every_run(
            "C − 1 ≤ KL ≤ C + 1 for every C (Table 1 runs)",
            "holds for every C tried",
            names,
            lambda n, e: abs(kl(e) - self.capacity(n)) <= 1,
            lambda n, e: f"C = {self.capacity(n):g}: KL {kl(e):.2f}",
            budget,
        )
        for dec in DECODERS:
            self.every_run(
                f"C − 1 ≤ KL ≤ C + 1 for every C (sweep, {dec.upper()} decoder, C = 10 … 100)",
                "holds for every C (Fig. 1)",
                [sweep_run(dec, c) for c in SWEEP_C],
                lambda n, e: abs(kl(e) - self.capacity(n)) <= 1,
                lambda n, e: f"C = {self.capacity(n):g}: KL {kl(e):.2f}",
                budget + "; the sweep models are smaller and train briefly (sizes in the sweep section)",
            )
        au_cap = lambda es: es[0]["latent"]["z_dim"]  # noqa: E731
        rows: list[tuple[str, str, Callable[[Eval], float], bool, Any]] = [
            ("D falls as C rises", "CBT .62 → .53 → .32 (as printed)", dist, False, self.why_distortion()),
            (
                "log det Cov[q(z)] falls as C rises",
                "CBT −0.39 → −0.38 → −43.82",
                lambda e: e["latent"]["log_det_cov"],
                False,
                "q(z) is sampled from q(z|x) on the test set; when the encoder's means spread out with C faster "
                "than its variances shrink, the aggregate covariance can grow",
            ),
            (
                "‖μ‖² of q(z) rises with C",
                "CBT 0.05 → 0.05 → 1.27",
                lambda e: e["latent"]["mean_sq_norm"],
                True,
                "‖mean‖² of a 32-dimensional sample mean is noisy at small values; the trend is what matters",
            ),
            (
                "homotopy: repeats along greedy paths fall as C grows",
                "C = 3 repeats; C = 15, 100 change at every step",
                lambda e: e["homotopy"]["mean_repeats"],
                False,
                self.why_homotopy,
            ),
        ]
        for text, published, key, inc, why in rows:
            self.claim(
                text,
                published,
                names,
                lambda es, k=key: arrow([k(e) for e in es]),
                lambda es, k=key, i=inc: monotone([k(e) for e in es], i) or falls_to_zero([k(e) for e in es]),
                why,
            )
        self.claim(
            "active units rise with C",
            "CBT 8 → 29 → 64 of 64",
            names,
            lambda es: " → ".join(f"{e['latent']['active_units']}/{e['latent']['z_dim']}" for e in es),
            lambda es: rises_capped([e["latent"]["active_units"] for e in es], au_cap(es)),
            lambda es: (
                "AU can not exceed z_dim (32 here, 64 in the paper); "
                + (
                    f"at C = 100 the rate sits in {es[-1]['latent']['active_units']} dimensions with large means "
                    f"(‖μ‖² {es[-1]['latent']['mean_sq_norm']:.1f}) and the rest stay at the prior: |KL − C| fixes "
                    "the total KL, nothing in it rewards spreading the rate over more dimensions"
                    if es[-1]["latent"]["active_units"] < max(e["latent"]["active_units"] for e in es)
                    else "flat below the cap would be a miss"
                )
            ),
        )
        for bucket in ("<=10", "11-20", "21-30", "all"):
            key = lambda e, b=bucket, m="": e["reconstruction"]["scores"][b][m]  # noqa: E731
            self.claim(
                f"BLEU-2/4 and ROUGE-2/4 of reconstructions rise with C, length {bucket}",
                "rise with C in every bucket (Table 1)",
                names,
                lambda es, k=key: "; ".join(f"{m.upper()} {arrow([k(e, m=m) for e in es])}" for m in RECON_METRICS),
                lambda es, k=key: all(monotone([k(e, m=m) for e in es], True) for m in RECON_METRICS),
                lambda es, k=key, b=bucket: (
                    "falls at "
                    + ", ".join(m.upper() for m in RECON_METRICS if not monotone([k(e, m=m) for e in es], True))
                    + f" (n = {es[0]['reconstruction']['scores'][b]['n']} sentences): greedy decoding from μ; "
                    "a decoder that has not learnt to read a high-rate z reconstructs worse than a low-rate one"
                ),
            )
        self.claim(
            "KL of the moment-matched q(z) to p(z) grows with C",
            "GRU: C = 5 → 0, C = 100 → 5 (Yahoo) / 8 (Yelp)",
            names,
            lambda es: arrow([e["latent"]["kl_moment_matched"] for e in es]),
            lambda es: monotone([e["latent"]["kl_moment_matched"] for e in es], True),
            "aggregate of a 3.7k-sentence test set; see log det Cov and ‖μ‖² above",
        )
        self.claim(
            "greedy prior samples: self-BLEU-4 falls as C rises (more diverse)",
            "CBT 4.2 → 0.3 → 0.0 (on 10k samples)",
            names,
            lambda es: arrow([e["generation"]["schemes"]["greedy"]["self_bleu4"] for e in es], 1),
            lambda es: monotone([e["generation"]["schemes"]["greedy"]["self_bleu4"] for e in es], False),
            "self-BLEU here is on 300 samples, the paper's on 10k; absolute values differ, the order should not",
        )
        self.budget_caveat(names)
        self.sweep()
        self.fce()
        self.syntax()

    def describe(self, names: list[str]) -> str:
        """Model size and budget of the first of these runs that has a config (they share one)."""
        for n in names:
            run = self.runs.get(n)
            cfg = run.config if run else None
            if cfg:
                m, d, t = cfg["model"], cfg["data"], cfg["train"]
                vocab = cfg.get("vocab_size") or d["max_vocab"]
                return (
                    f"{m['encoder'].upper()} encoder, {m['decoder'].upper()} decoder, emb {m['emb_dim']}, "
                    f"hidden {m['hidden']}, z {m['z_dim']}, vocabulary {vocab}, {t['epochs']:g} epochs "
                    f"(from {n}'s config)"
                )
        return "sizes not known yet (no run started)"

    def budgets(self, names: list[str]) -> str:
        """Epochs per run, from the configs: runs trained longer are not steps of the same comparison."""
        parts = []
        for n in names:
            cfg = (self.runs[n].config or {}) if n in self.runs else {}
            epochs = (cfg.get("train") or {}).get("epochs")
            parts.append(f"C = {self.capacity(n):g}: {epochs:g} epochs" if epochs else f"{n}: not started")
        return "; ".join(parts)

    def budget_caveat(self, names: list[str]) -> None:
        """Table 1's C = 100 run trained longer than C = 3 and 15: say what that does to the D claim."""
        evs = [self.get(n) for n in names]
        lo, hi = self.get(long_run(LONG_C[0])), self.get(long_run(LONG_C[-1]))
        if any(e is None for e in evs) or lo is None or hi is None:
            return
        self.add(
            "",
            f"Budget caveat ({self.budgets(names)}): the fall of D to {dist(evs[-1]):.2f} at the largest C is "
            "partly the longer budget's. At one budget the sweep answers: its 10-epoch ends give D "
            f"{dist(lo):.2f} at C = {LONG_C[0]} and {dist(hi):.2f} at C = {LONG_C[-1]} "
            f"({'higher' if dist(hi) > dist(lo) else 'lower'} at the larger C; see 'A longer budget' below).",
        )

    @staticmethod
    def why_log_det_cov(es: list[Eval]) -> str:
        """Where along the sweep log det Cov stops falling, and what the rate does from there on."""
        ldc = [e["latent"]["log_det_cov"] for e in es]
        knee = min(range(len(ldc)), key=lambda i: ldc[i] if i < len(ldc) // 2 + 1 else float("inf"))
        tail, mu2 = ldc[knee:], [e["latent"]["mean_sq_norm"] for e in es]
        return (
            f"log det Cov falls {ldc[0]:.1f} → {ldc[knee]:.1f} up to C = {SWEEP_C[knee]}, then stays within "
            f"{min(tail):.1f} … {max(tail):.1f} while ‖E z‖² of q(z) grows {mu2[knee]:.1f} → {mu2[-1]:.1f}: past "
            "that point the extra rate moves q(z) off the prior instead of narrowing it (see 'Where the rate goes')"
        )

    @staticmethod
    def why_homotopy(es: list[Eval]) -> str:
        reps = [e["homotopy"]["mean_repeats"] for e in es]
        if min(reps) > 0 and reps[-1] > min(reps):
            lat = es[-1]["latent"]
            return (
                "the paths join pairs of prior samples z ~ N(0, I); at the largest C the aggregated posterior "
                f"sits far from the prior (KL(q(z) ‖ p(z)) ≥ {lat['kl_moment_matched']:.2f} nats, ‖E z‖² "
                f"{lat['mean_sq_norm']:.1f}; the paper's: 1.27), so the paths run where the decoder saw no "
                "code in training and it decodes long stretches to one sentence"
            )
        return (
            "repeat counts come from 20 greedy paths of 7 points; once the decoder changes at every step "
            "(0 repeats) the count can not fall further"
        )

    def capacity(self, name: str) -> float:
        run = self.runs.get(name)
        c = ((run.config or {}).get("objective") or {}).get("C") if run else None
        if c is None:  # fall back to the name
            c = float(name.rsplit("c", 1)[-1])
        return float(c)

    def why_distortion(self) -> str:
        return (
            "at our budget (the sizes and epochs above; the paper: 10 epochs at twice the size) most of a large "
            "rate is spent moving the aggregated posterior q(z) away from the prior, which tells the decoder "
            "nothing about x: see 'Where the rate goes' below (I(x; z) ≤ R − KL(q(z) ‖ p(z)))"
        )

    def rate_split(self) -> None:
        """R = I(x; z) + KL(q(z) ‖ p(z)); the moment-matched Gaussian bounds the second term from below."""
        self.add(
            "",
            "#### Where the rate goes",
            "",
            "R = E_x KL(q(z|x) ‖ p(z)) = I(x; z) + KL(q(z) ‖ p(z)). For a Gaussian prior KL(q(z) ‖ p(z)) is at "
            "least the KL of the Gaussian with q(z)'s mean and covariance (eval.json: `kl_moment_matched`), so "
            "I(x; z) ≤ R − that: only this part of the rate can tell the decoder about the sentence. "
            "½‖E z‖² is the part of that KL due to q(z)'s mean alone.",
            "",
            "| C | R | KL(q(z) ‖ p(z)) ≥ | ½‖E z‖² | I(x; z) ≤ | D |",
            "|---|---|---|---|---|---|",
        )
        for c in SWEEP_C:
            e = self.get(sweep_run("lstm", c))
            if e is None:
                self.add(f"| {c} | — | — | — | — | — |")
                continue
            lat = e["latent"]
            self.add(
                f"| {c} | {fmt(kl(e))} | {fmt(lat['kl_moment_matched'])} | {fmt(lat['mean_sq_norm'] / 2)} "
                f"| {fmt(kl(e) - lat['kl_moment_matched'])} | {fmt(dist(e))} |"
            )
        self.add(
            "",
            "The same split for the GRU and CNN sweeps (I(x; z) ≤ R − KL_mm, then D):",
            "",
            "| C | GRU I(x; z) ≤ | GRU D | CNN I(x; z) ≤ | CNN D |",
            "|---|---|---|---|---|",
        )
        for c in SWEEP_C:
            cells = []
            for dec in ("gru", "cnn"):
                e = self.get(sweep_run(dec, c))
                cells += ["—", "—"] if e is None else [fmt(kl(e) - e["latent"]["kl_moment_matched"]), fmt(dist(e))]
            self.add(f"| {c} | {' | '.join(cells)} |")

    def sweep(self) -> None:
        self.add("", "### Rate–distortion sweep (Fig. 1)", "")
        self.add(
            f"β_C objective, C = 10 … 100, per decoder: {self.describe([sweep_run('lstm', c) for c in SWEEP_C])} "
            "(the GRU runs use a GRU encoder, the CNN runs an LSTM one, as in the paper). "
            "R and D per test sentence; log det Cov of q(z).",
            "",
            "| C | " + " | ".join(f"{d.upper()} R | {d.upper()} D | {d.upper()} log det Cov" for d in DECODERS) + " |",
            "|---|" + "---|---|---|" * len(DECODERS),
        )
        for c in SWEEP_C:
            cells = []
            for d in DECODERS:
                e = self.get(sweep_run(d, c))
                cells += ["—", "—", "—"] if e is None else [fmt(kl(e)), fmt(dist(e)), fmt(e["latent"]["log_det_cov"])]
            self.add(f"| {c} | " + " | ".join(cells) + " |")
        self.claims_header()
        for d in DECODERS:
            names = [sweep_run(d, c) for c in SWEEP_C]
            self.claim(
                f"{d.upper()}: D falls as C rises (rank correlation of D with C ≤ −0.8)",
                "falls for LSTM, GRU, CNN (Fig. 1)",
                names,
                lambda es: (
                    f"ρ = {spearman(list(SWEEP_C), [dist(e) for e in es]):.2f}; D {fmt(dist(es[0]))} → {fmt(dist(es[-1]))}"
                ),
                lambda es: spearman(list(SWEEP_C), [dist(e) for e in es]) <= -0.8,
                self.why_distortion(),
            )
            self.claim(
                f"{d.upper()}: log det Cov falls as C rises (rank correlation ≤ −0.8)",
                "falls (Fig. 1)",
                names,
                lambda es: f"ρ = {spearman(list(SWEEP_C), [e['latent']['log_det_cov'] for e in es]):.2f}",
                lambda es: spearman(list(SWEEP_C), [e["latent"]["log_det_cov"] for e in es]) <= -0.8,
                self.why_log_det_cov,
            )
        self.rate_split()
        self.longer_budget()

    def longer_budget(self) -> None:
        """The sweep's ends trained 10 epochs instead of 3: is D's order with C a matter of budget?"""
        ends = (LONG_C[0], LONG_C[-1])
        self.add(
            "",
            "#### A longer budget (LSTM sweep, C = 10 and 100, 10 epochs)",
            "",
            "Every 3-epoch sweep run's validation D was still falling when training stopped. The same two "
            "ends of the sweep trained 10 epochs (otherwise identical) show whether D's order with C is "
            "a matter of budget.",
            "",
            "| C | 3 epochs: KL | D | I(x; z) ≤ | 10 epochs: KL | D | I(x; z) ≤ |",
            "|---|---|---|---|---|---|---|",
        )
        for c in ends:
            cells = []
            for e in (self.get(sweep_run("lstm", c)), self.get(long_run(c))):
                informative = kl(e) - e["latent"]["kl_moment_matched"] if e else None
                cells += [fmt(kl(e)), fmt(dist(e)), fmt(informative)] if e else ["—"] * 3
            self.add(f"| {c} | " + " | ".join(cells) + " |")
        self.claims_header()
        self.claim(
            "LSTM, 10 epochs: D at C = 100 below D at C = 10",
            "D falls as C rises (Fig. 1)",
            [long_run(c) for c in ends],
            lambda es: f"D {fmt(dist(es[0]))} (C = {ends[0]}) → {fmt(dist(es[1]))} (C = {ends[1]})",
            lambda es: dist(es[1]) < dist(es[0]),
            lambda es: (
                f"the longer budget lowers D at both ends and raises the informative part of the rate, but at "
                f"C = {ends[1]} I(x; z) ≤ {fmt(kl(es[1]) - es[1]['latent']['kl_moment_matched'])} nats (≤ "
                f"{fmt(kl(es[0]) - es[0]['latent']['kl_moment_matched'])} at C = {ends[0]}): most of the extra "
                f"rate (≥ {fmt(es[1]['latent']['kl_moment_matched'])} nats) still moves q(z) off the prior "
                "instead of describing the sentence; the paper's larger models may find informative codes sooner"
            ),
        )

    def fce(self) -> None:
        names = [table1_run(c) for c in TABLE1_C]
        self.add("", "### Forward cross-entropy (Table 3)", "")
        self.add(
            "An LSTM LM trained on each run's prior samples, its NLL per PTB test sentence (the paper: per test "
            "sentence of each corpus). Vocabulary: the runs' own training vocabulary, identical across the "
            "Table 1 runs (checked by fingerprint). The paper's CBT figures beside ours.",
            "",
            "| scheme | C | paper (CBT) | ours: FCE | % unk generated | LM trained on | vocabulary |",
            "|---|---|---|---|---|---|---|",
        )
        for scheme in ("nucleus0.9", "greedy"):
            for i, (c, n) in enumerate(zip(TABLE1_C, names, strict=True)):
                e = self.get(n)
                f = ((e or {}).get("fce") or {}).get("schemes", {}).get(scheme)
                paper = REFERENCE["fce"][scheme]["CBT"][i]
                if f is None:
                    why = f"not in this eval ({e.get('profile', 'full')} profile)" if e else "not yet measured"
                    self.add(f"| {scheme} | {c} | {paper} | {why} | | | |")
                    continue
                fe = e["fce"]
                self.add(
                    f"| {scheme} | {c} | {paper} | {fmt(f['fce'])} | {fmt(f['pct_unk_generated'], 1)} "
                    f"| {f['n_generated']} sentences | {fe['vocab_size']} words ({fe['vocab_fingerprint']}) |"
                )
        self.claims_header()

        def fce_of(scheme: str) -> Callable[[Eval], float]:
            return lambda e: e["fce"]["schemes"][scheme]["fce"]

        def comparable(scheme: str) -> Callable[[list[Eval]], str]:
            def reason(es: list[Eval]) -> str:
                prints = {e["fce"]["vocab_fingerprint"] for e in es}
                # the configured corpus size, not n_generated (empty generations are dropped)
                setups = {(json.dumps(e["fce"]["lm"], sort_keys=True), e["config"]["fce_sentences"]) for e in es}
                if len(prints) > 1:
                    return f"different vocabularies ({', '.join(sorted(prints))})"
                if len(setups) > 1:
                    return "different LM settings or corpus sizes (evaluated under different profiles)"
                return ""

            return reason

        ns = fce_of("nucleus0.9")
        pub = REFERENCE["fce"]["nucleus0.9"]
        self.claim(
            "nucleus p = 0.9: FCE at C = 100 above C = 3 and C = 15 (less coherent samples)",
            " / ".join(f"{k} {arrow(list(v), 1)}" for k, v in pub.items()),
            names,
            lambda es: arrow([ns(e) for e in es]),
            lambda es: ns(es[2]) > max(ns(es[0]), ns(es[1])),
            "our C = 100 run is the least converged of the three (see D above); an LM trained on its samples "
            "may still fit PTB as well as the others",
            comparable("nucleus0.9"),
        )
        self.claim(
            "nucleus p = 0.9: FCE at C = 3 ≈ C = 15 (within 2%)",
            "CBT 70.4 vs 70.7",
            names[:2],
            lambda es: f"{fmt(ns(es[0]))} vs {fmt(ns(es[1]))}",
            lambda es: abs(ns(es[0]) - ns(es[1])) <= 0.02 * ns(es[0]),
            "one LM per corpus (the paper averages three); with 1k-sentence corpora (grid profile) the LM "
            "itself varies by more than 2%",
            comparable("nucleus0.9"),
        )
        gr = fce_of("greedy")
        self.claim(
            "greedy: FCE falls as C rises",
            " / ".join(f"{k} {arrow(list(v), 1)}" for k, v in REFERENCE["fce"]["greedy"].items()),
            names,
            lambda es: arrow([gr(e) for e in es]),
            lambda es: monotone([gr(e) for e in es], False),
            greedy_fce_why,
            comparable("greedy"),
        )

    def syntax(self) -> None:
        lo, hi = table1_run(3), table1_run(100)
        self.add("", "### Syntactic test (Table 4, Marvin & Linzen pairs)", "")
        cov = []
        for n in (lo, hi):
            e = self.get(n)
            s = (e or {}).get("syntax")
            if s and "coverage" in s:
                cov.append(
                    f"{n}: {100 * s['coverage']:.1f}% of tokens in the vocabulary, "
                    f"{100 * s['pairs_fully_known']:.1f}% of pairs without an unknown word, "
                    + (
                        f"{sum(c['n_distinct'] for c in s['categories'].values())} pairs told apart by their ids, "
                        if all("n_distinct" in c for c in s["categories"].values())
                        else ""
                    )
                    + f"{s['n_pairs']} pairs ({s['max_pairs_per_category'] or 'all'} per file at most)"
                )
        self.add(
            "p1 = P[p(x⁻|z⁺) < p(x⁺|z⁺)], p2 = P[p(x⁻|z⁻) < p(x⁺|z⁻)], z = μ(x); p̄: z averaged per sub-category. "
            "The paper's models were trained on WIKI, ours on PTB, so many of the test words are unknown to ours.",
            "",
            *(f"- coverage, {c}" for c in cov),
            "",
            "| category | paper C=3 p1 / p2 | ours C=3 p1 / p2 | paper C=100 p1 / p2 / p̄1 / p̄2 | ours C=100 p1 / p2 / p̄1 / p̄2 |",
            "|---|---|---|---|---|",
        )
        for label, files, p3, p100 in SYNTAX_CATEGORIES:
            cells = []
            for n, width in ((lo, 2), (hi, 4)):
                e = self.get(n)
                try:
                    vals = syntax_row(e, files)[:width] if e else None
                except KeyError:
                    vals = None
                cells.append(" / ".join(fmt(v) for v in vals) if vals else "—")
            self.add(
                f"| {label} | {' / '.join(fmt(v) for v in p3)} | {cells[0]} "
                f"| {' / '.join(fmt(v) for v in p100)} | {cells[1]} |"
            )
        self.claims_header()
        rows = lambda e: [syntax_row(e, files) for _, files, _, _ in SYNTAX_CATEGORIES]  # noqa: E731
        self.claim(
            "C = 3: p1 ≈ p2 (the decoder barely reads z): mean |p1 − p2| over categories ≤ 0.05",
            "equal in almost every category",
            [lo],
            lambda es: f"mean |p1 − p2| = {sum(abs(r[0] - r[1]) for r in rows(es[0])) / len(SYNTAX_CATEGORIES):.3f}",
            lambda es: sum(abs(r[0] - r[1]) for r in rows(es[0])) / len(SYNTAX_CATEGORIES) <= 0.05,
            "at C = 3 our decoder still separates x⁺ from x⁻ through z: 3 nats suffice to tell apart "
            "sentences that differ in one word",
        )
        self.claim(
            "C = 100: p1 > p2 in every category (the decoder follows z)",
            "p1 0.92–1.00, p2 0.00–0.23",
            [hi],
            lambda es: f"{sum(r[0] > r[1] for r in rows(es[0]))} of {len(SYNTAX_CATEGORIES)} categories",
            lambda es: all(r[0] > r[1] for r in rows(es[0])),
            "where the words that differ are unknown to the PTB vocabulary, x⁺ and x⁻ map to the same ids and "
            "tie; the pairs told apart are scored on their own below",
        )
        self.claim(
            "C = 100: averaging z within a sub-category lowers p1 (p̄1 < p1) in most categories",
            "p̄1 below p1 in 15 of 15",
            [hi],
            lambda es: f"{sum(r[2] < r[0] for r in rows(es[0]))} of {len(SYNTAX_CATEGORIES)} categories",
            lambda es: sum(r[2] < r[0] for r in rows(es[0])) > len(SYNTAX_CATEGORIES) / 2,
            "our C = 100 run has a lower p1 to begin with, leaving averaging less to remove",
        )
        self.syntax_distinct(lo, hi)

    def syntax_distinct(self, lo: str, hi: str) -> None:
        """Table 4 again on the pairs the vocabulary tells apart: ties from unknown words left out."""
        ev_lo, ev_hi = self.get(lo), self.get(hi)
        try:
            rows = {
                n: [syntax_row_distinct(e, files) for _, files, _, _ in SYNTAX_CATEGORIES]
                for n, e in ((lo, ev_lo), (hi, ev_hi))
                if e is not None
            }
        except KeyError:
            rows = {}
        if len(rows) < 2:
            self.add("", "(Pairs the vocabulary tells apart: not in these eval.json files yet.)")
            return
        told = sum(r[4] for r in rows[hi])
        total = sum(syntax_row(ev_hi, files)[4] for _, files, _, _ in SYNTAX_CATEGORIES)
        self.add(
            "",
            f"On the pairs whose two sentences map to different ids ({told} of {total}: where the words that make "
            "x⁻ ungrammatical are unknown to the vocabulary, x⁺ and x⁻ become one sequence, a tie that the "
            "figures above count as a miss for p1 and p2 alike):",
            "",
            "| category | pairs told apart | ours C=3 p1 / p2 | ours C=100 p1 / p2 / p̄1 / p̄2 |",
            "|---|---|---|---|",
        )
        for i, (label, _, _, _) in enumerate(SYNTAX_CATEGORIES):
            a, b = rows[lo][i], rows[hi][i]
            self.add(f"| {label} | {b[4]} | {fmt(a[0])} / {fmt(a[1])} | {' / '.join(fmt(v) for v in b[:4])} |")
        measured = [r for r in rows[hi] if r[4]]
        self.claims_header()
        self.claim(
            "C = 100, pairs told apart: p1 > p2 in every category with such pairs (the decoder follows z)",
            "p1 0.92–1.00, p2 0.00–0.23",
            [hi],
            lambda es: (
                f"{sum(r[0] > r[1] for r in measured)} of {len(measured)} categories; mean p1 − p2 = "
                f"{sum(r[0] - r[1] for r in measured) / max(1, len(measured)):+.3f}"
            ),
            lambda es: bool(measured) and all(r[0] > r[1] for r in measured),
            "with the ties gone p1 and p2 stay close: our C = 100 decoder ranks x⁺ and x⁻ nearly alike whichever "
            "sentence z came from, i.e. z carries too little of the one word that differs to flip the ranking "
            "(the rate goes elsewhere: see 'Where the rate goes')",
        )

    # -- AutoGen ----------------------------------------------------------------------------------
    def autogen(self) -> None:
        a = AUTOGEN
        self.add("", "## AutoGen (Mansbridge et al. 2019)", "")
        self.add(
            f"Trained on PTB: {self.describe(list(a.values()))}. The paper: LSTM, hidden 500, z 50, BookCorpus, "
            "20k vocabulary, word dropout. ELBO = −(R + D) for every run, whatever it was trained with.",
            "",
            "| run | m | β | R | D | −ELBO | KL share | AU | BLEU-4 all | greedy prior samples: length / % unk |",
            "|---|---|---|---|---|---|---|---|---|---|",
        )
        for n in a.values():
            e = self.get(n)
            if e is None:
                self.add(f"| {n} | {self.runs[n].status if n in self.runs else 'not started'} |||||||||")
                continue
            o = (self.runs[n].config or {}).get("objective", {})
            g = e["generation"]["schemes"]["greedy"]
            self.add(
                f"| {n} | {o.get('m', 0):g} | {o.get('beta', 1):g} | {fmt(kl(e))} | {fmt(dist(e))} "
                f"| {fmt(e['bounds']['nll_bound'])} | {fmt(100 * share(e), 1)}% | {e['latent']['active_units']} "
                f"| {fmt(bleu4(e))} | {fmt(g['mean_length'], 1)} / {fmt(g['pct_unk'], 1)} |"
            )
        self.claims_header()
        self.claim(
            "the plain VAE collapses (test KL < 1 nat)",
            "KL → 0, reconstructions unrelated to the input",
            [a["vae"]],
            lambda es: f"KL {fmt(kl(es[0]), 3)}, AU {es[0]['latent']['active_units']}, BLEU-4 {fmt(bleu4(es[0]))}",
            lambda es: kl(es[0]) < 1,
            "without word dropout or annealing the VAE usually collapses early; a run that keeps KL ≥ 1 found "
            "a local optimum that uses z a little",
        )
        self.claim(
            "the KL share of the objective is larger for AutoGen m = 1 and m = 2 than for the VAE",
            "larger (Fig. 2 left)",
            [a["vae"], a["m1"], a["m2"]],
            lambda es: " / ".join(f"{100 * share(e):.2f}%" for e in es),
            lambda es: share(es[1]) > share(es[0]) and share(es[2]) > share(es[0]),
            "the share is KL / ((1 + m)·D + KL) on the test set; if AutoGen's KL stays near the VAE's, the "
            "(1 + m) factor on D makes its share smaller",
        )
        self.claim(
            "reconstruction BLEU-4: m = 2 > m = 1 > VAE + annealing > VAE",
            "survey: m = 2 beats m = 1 88%, m = 1 beats annealing 88%, annealing beats VAE 66%",
            [a["m2"], a["m1"], a["anneal"], a["vae"]],
            lambda es: " > ".join(fmt(bleu4(e)) for e in es),
            lambda es: monotone([bleu4(e) for e in es], False),
            "BLEU-4 of greedy reconstructions from μ at 3 epochs; the paper's order comes from human judges",
        )
        self.claim(
            "the ELBO of m = 1 tracks the VAE's (within 5%)",
            "below but close (Fig. 2 right)",
            [a["vae"], a["m1"]],
            lambda es: f"{fmt(elbo(es[1]))} vs {fmt(elbo(es[0]))}",
            lambda es: abs(elbo(es[1]) - elbo(es[0])) <= 0.05 * abs(elbo(es[0])),
            "m = 1 trades likelihood for reconstruction; at our small size the trade is larger",
        )
        self.claim(
            "the ELBO of m = 2 is below m = 1's",
            "m = 2's ELBO falls during training",
            [a["m1"], a["m2"]],
            lambda es: f"{fmt(elbo(es[1]))} < {fmt(elbo(es[0]))}",
            lambda es: elbo(es[1]) < elbo(es[0]),
            "at 3 epochs m = 2 may not have reached the regime where its ELBO falls",
        )
        self.claim(
            "the ELBO of m = 2 falls during training (last validation below its best)",
            "falls (Fig. 2 right)",
            [a["m2"]],
            lambda es: arrow(self.valid_elbos(a["m2"])),
            lambda es: (
                len(self.valid_elbos(a["m2"])) > 1 and self.valid_elbos(a["m2"])[-1] < max(self.valid_elbos(a["m2"]))
            ),
            lambda es: (
                "m = 2's ELBO is still rising when our 3 epochs end, as every run's is (training batches, "
                f"200-step windows, last four: {arrow(self.train_elbo_windows(a['m2'])[-4:], 1)}); the paper's "
                "fall comes later in a much longer run"
            ),
        )
        self.claim(
            "β-VAE β = 0.5 lands where AutoGen m = 1 lands (R within 20%, D within 5%)",
            "same optimum: β = 1 / (1 + m)",
            [a["m1"], a["beta0.5"]],
            lambda es: f"R {fmt(kl(es[1]))} vs {fmt(kl(es[0]))}; D {fmt(dist(es[1]))} vs {fmt(dist(es[0]))}",
            lambda es: (
                abs(kl(es[1]) - kl(es[0])) <= 0.2 * max(kl(es[0]), 1e-9)
                and abs(dist(es[1]) - dist(es[0])) <= 0.05 * dist(es[0])
            ),
            "the two objectives share their optimum but not their gradients' scale (AutoGen's are (1 + m) "
            "times larger with the same Adam step), so after the same number of steps they can sit apart",
        )
        self.add(
            "",
            "Human judgement (blind surveys of reconstructions and of prior samples) is collected in the app, not "
            "by `evaluate`; the paper's reconstruction survey: "
            + ", ".join(f"{k}: {v}%" for k, v in REFERENCE["autogen_recon_survey"].items())
            + ".",
        )

    def valid_elbos(self, name: str) -> list[float]:
        run = self.runs.get(name)
        return [r["elbo"] for r in (run.curve if run else []) if r.get("split") == "valid" and "elbo" in r]

    def train_elbo_windows(self, name: str, width: int = 200) -> list[float]:
        """Training-batch ELBO averaged over windows of ``width`` steps (finer than one point per epoch)."""
        run = self.runs.get(name)
        sums: dict[int, list[float]] = {}  # window → [weighted ELBO sum, steps]; shipped logs average 10 steps a line
        for r in run.curve if run else []:
            if r.get("split") == "train" and "elbo" in r:
                w = float(r.get("steps_averaged", 1))
                acc = sums.setdefault((int(r["step"]) - 1) // width, [0.0, 0.0])
                acc[0], acc[1] = acc[0] + w * r["elbo"], acc[1] + w
        return [s / n for _, (s, n) in sorted(sums.items())]

    # -- the record ------------------------------------------------------------------------------
    def record(self) -> None:
        """PTB test likelihood: the tuned run beside every full-vocabulary run and the public figures."""
        goal = REFERENCE["ptb_record_goal"]
        self.add(
            "",
            "## PTB test likelihood (the model for the record)",
            "",
            f"Goal: an LSTM VAE, not collapsed (test KL > 5 nats), with test −ELBO ≤ {goal} per sentence on "
            "standard PTB (whitespace tokens + end of sentence, 10k vocabulary). Normalisation: per sentence = "
            "the sum over the 3,761 test sentences divided by 3,761; per token = divided by the 82,430 target "
            "tokens (words + one end of sentence each); perplexity = exp(per-token figure). IW-NLL uses the k "
            "of each eval.json (an upper bound on the NLL, tighter as k grows).",
            "",
            "| model | size, budget | KL | −ELBO / sentence | IW-NLL / sentence (k) | −ELBO / token "
            "| perplexity: from −ELBO | from IW-NLL |",
            "|---|---|---|---|---|---|---|---|",
        )
        for source, figure, what in REFERENCE["ptb_record"]:
            self.add(f"| {source} (published) | {cell(what)} | | {figure:.2f} | | | | |")
        full_vocab = []
        for name, run in self.runs.items():
            cfg = run.config or {}
            if run.eval is None or cfg.get("data", {}).get("max_vocab", 0) < 10002 or cfg.get("vocab_size") != 10002:
                continue
            full_vocab.append((run.eval["bounds"]["nll_bound"], name, run))
        for nll, name, run in sorted(full_vocab):
            b, iw, cfg = run.eval["bounds"], run.eval.get("iw_nll", {}), run.config or {}
            m, t = cfg["model"], cfg["train"]
            size = f"emb {m['emb_dim']} / hidden {m['hidden']} / z {m['z_dim']}, {t['epochs']:g} epochs"
            per_token = nll * b["n_sentences"] / b["n_tokens"]
            self.add(
                f"| {name} | {size} | {fmt(b['kl'])} | {fmt(nll)} | {fmt(iw.get('nll'))} ({iw.get('k', '?')}) "
                f"| {fmt(per_token, 3)} | {fmt(b['ppl_bound'], 1)} | {fmt(iw.get('ppl'), 1)} |"
            )
        best = min(((n, nm) for n, nm, r in full_vocab if r.eval["bounds"]["kl"] > 5), default=None)
        record = self.runs.get("ptb-lstm-record")
        valid = [r for r in (record.curve if record else []) if r.get("split") == "valid" and "nll_bound" in r]
        self.claims_header()
        self.claim(
            f"a likelihood-tuned LSTM VAE, not collapsed, reaches test −ELBO ≤ {goal} (ptb-lstm-record)",
            "texar VAE-LSTM 102.54, VAE-Transformer 101.61 (per sentence)",
            ["ptb-lstm-record"],
            lambda es: (
                f"KL {fmt(kl(es[0]))}, −ELBO {fmt(-elbo(es[0]))}, IW-NLL {fmt(es[0].get('iw_nll', {}).get('nll'))} "
                f"(k = {es[0].get('iw_nll', {}).get('k', '?')})"
            ),
            lambda es: kl(es[0]) > 5 and -elbo(es[0]) <= goal,
            lambda es: record_why(es[0], valid, goal),
        )
        if best is not None:
            self.add(
                "",
                f"Best non-collapsed run so far: {best[1]}, −ELBO {best[0]:.2f} per sentence "
                f"({best[0] - goal:+.2f} from the goal).",
            )

    # -- status -----------------------------------------------------------------------------------
    def status(self) -> None:
        groups = dict(grid_names())
        self.add("", "## Runs", "", "| run | group | state | eval time (s) |", "|---|---|---|---|")
        for name, run in self.runs.items():
            t = (run.eval or {}).get("timings_s", {})
            total = t.get("total", sum(v for v in t.values()) if t else None)
            self.add(f"| {name} | {groups.get(name, '—')} | {run.status} | {fmt(total, 0) if t else '—'} |")
        missing = [n for n, r in self.runs.items() if r.eval is None]
        self.add("", f"Not evaluated yet ({len(missing)}): {', '.join(missing) if missing else 'none'}.")


def build(checkpoints: Path) -> str:
    runs = load(checkpoints)
    rep = Report(runs)
    evaluated = sum(r.eval is not None for r in runs.values())
    rep.add(
        "# Reproduction report",
        "",
        "Generated by `python scripts/reproduction_report.py` from `checkpoints/*/eval.json`; do not edit by hand.",
        "Figures are per sentence on PTB test (words + end of sentence) unless marked per token; IW-NLL with the k",
        "recorded in each eval.json. Published figures are the papers' (other corpora, larger models): compare",
        "directions and orders, not values.",
        f"Runs evaluated: {evaluated} of {len(runs)}.",
    )
    body = Report(runs)
    body.betac()
    body.autogen()
    body.record()
    body.status()
    v = body.verdicts
    rep.add(f"Claims: {v['holds']} hold, {v['fails']} do not hold, {v['open']} not yet measured.")
    return "\n".join(rep.lines + body.lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoints", default=str(ROOT / "checkpoints"))
    ap.add_argument("--out", default=str(ROOT / "docs" / "REPRODUCTION.md"))
    args = ap.parse_args()
    text = build(Path(args.checkpoints))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
