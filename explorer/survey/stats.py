"""Survey statistics from the raw answers (repo.answers_frame): win % per model pair with an exact binomial
test, a Bradley–Terry ranking (choix), "makes sense" % split at 10 words (AutoGen Table 4), agreement between
judges (Krippendorff's α), position bias and per-judge figures. Pure pandas in, pandas out."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import choix
import krippendorff
import numpy as np
import pandas as pd
from scipy.stats import binomtest, norm

CONFIDENCE = 0.95
# pair_table's columns for the page (the numeric CI bounds stay in the frame for export and tests)
PAIR_SHOWN = ["model 1", "model 2", "answers", "model 1 wins", "win % (model 1)", "95 % CI", "p-value", "judges"]
SHORT = 10  # the paper's split: length ≤ 10 vs > 10 tokens
Z95 = float(norm.ppf(0.975))
BT_ALPHA = 0.01  # small ridge: keeps Bradley–Terry finite when a model wins (or loses) every comparison


@dataclass
class Agreement:
    alpha: float | None  # Krippendorff's α (nominal); None when undefined
    items: int  # items answered by ≥ 2 judges (the only ones that inform agreement)
    percent: float | None  # mean pairwise % agreement over those items
    note: str = ""


@dataclass
class Results:
    kind: str
    answers: int
    judges: int
    items_answered: int
    pairs: pd.DataFrame = field(default_factory=pd.DataFrame)
    ranking: pd.DataFrame = field(default_factory=pd.DataFrame)
    makes_sense: pd.DataFrame = field(default_factory=pd.DataFrame)
    position: str = ""
    agreement: Agreement | None = None
    judges_table: pd.DataFrame = field(default_factory=pd.DataFrame)


def binom(k: int, n: int) -> tuple[float, float, float, float]:
    """Rate, two-sided exact p-value against 1/2, and the Clopper–Pearson interval."""
    if n == 0:
        return math.nan, math.nan, math.nan, math.nan
    test = binomtest(k, n, 0.5)
    ci = test.proportion_ci(confidence_level=CONFIDENCE, method="exact")
    return k / n, test.pvalue, ci.low, ci.high


def pair_table(df: pd.DataFrame) -> pd.DataFrame:
    """One row per model pair: model 1 is the pair's winner so far; its win %, CI and p-value (H0: 50 %)."""
    rows = []
    pairwise = df[df["kind"] == "pairwise"]
    keys = pairwise.apply(lambda r: tuple(sorted((r["model_a"], r["model_b"]))), axis=1) if len(pairwise) else []
    for (m1, m2), group in pairwise.groupby(pd.Series(list(keys), index=pairwise.index), sort=True):
        n, w1 = len(group), int((group["winner"] == m1).sum())
        if w1 < n - w1:
            m1, m2, w1 = m2, m1, n - w1
        rate, p, lo, hi = binom(w1, n)
        rows.append(
            {
                "model 1": m1,
                "model 2": m2,
                "answers": n,
                "model 1 wins": w1,
                "win % (model 1)": 100 * rate,
                "95 % CI": f"{100 * lo:.1f}–{100 * hi:.1f}",
                "p-value": p,
                "judges": group["judge"].nunique(),
                "CI low %": 100 * lo,
                "CI high %": 100 * hi,
            }
        )
    return pd.DataFrame(rows)


def bradley_terry(df: pd.DataFrame) -> pd.DataFrame:
    """Models ranked by Bradley–Terry strength fitted on every pairwise answer (choix.ilsr_pairwise).

    ``share`` is exp(strength) normalised: the chance a model is preferred in a Luce choice among all of them.
    The 95 % interval is ±1.96 standard errors from the Fisher information at the fit (choix gives none). A
    bootstrap would be narrower but wrong where one model won every comparison: every resample is the same."""
    pairwise = df[df["kind"] == "pairwise"]
    if pairwise.empty:
        return pd.DataFrame()
    models = sorted(set(pairwise["model_a"]) | set(pairwise["model_b"]))
    index = {m: i for i, m in enumerate(models)}
    data = np.array([(index[w], index[lo]) for w, lo in zip(pairwise["winner"], pairwise["loser"], strict=True)])
    theta = choix.ilsr_pairwise(len(models), [tuple(map(int, row)) for row in data], alpha=BT_ALPHA)
    theta = theta - theta.mean()
    se = standard_errors(theta, data)
    share = np.exp(theta) / np.exp(theta).sum()
    wins = pairwise["winner"].value_counts()
    seen = pd.concat([pairwise["model_a"], pairwise["model_b"]]).value_counts()
    table = pd.DataFrame(
        {
            "model": models,
            "strength": theta,
            "CI low": theta - Z95 * se,
            "CI high": theta + Z95 * se,
            "share %": 100 * share,
            "wins": [int(wins.get(m, 0)) for m in models],
            "comparisons": [int(seen.get(m, 0)) for m in models],
        }
    )
    table = table.sort_values("strength", ascending=False, ignore_index=True)
    table.insert(0, "rank", range(1, len(table) + 1))
    return table


def standard_errors(theta: np.ndarray, data: np.ndarray) -> np.ndarray:
    """Standard errors of mean-centred Bradley–Terry strengths: the pseudo-inverse of the Fisher information
    Σ p(1−p)(e_w − e_l)(e_w − e_l)ᵀ, whose null space (a common shift) is the centring constraint."""
    w, lo = data[:, 0], data[:, 1]
    p = 1.0 / (1.0 + np.exp(-(theta[w] - theta[lo])))
    v = p * (1 - p)
    info = np.zeros((len(theta), len(theta)))
    np.add.at(info, (w, w), v)
    np.add.at(info, (lo, lo), v)
    np.add.at(info, (w, lo), -v)
    np.add.at(info, (lo, w), -v)
    return np.sqrt(np.clip(np.diag(np.linalg.pinv(info)), 0, None))


def makes_sense_table(df: pd.DataFrame) -> pd.DataFrame:
    """% "makes sense" per model for length ≤ SHORT (short), > SHORT (long) and all, with answer counts and the
    overall CI; keyed by data names (pct_yes_short, n_short, …: explorer.labels has what the page shows)."""
    ms = df[df["kind"] == "makes_sense"]
    rows = []
    for model, group in ms.groupby("model_a", sort=True):
        row: dict[str, object] = {"model": model}
        for part_name, part in (
            ("short", group[group["length"] <= SHORT]),
            ("long", group[group["length"] > SHORT]),
            ("all", group),
        ):
            yes = int(part["makes_sense"].astype(bool).sum())
            row[f"pct_yes_{part_name}"] = 100 * yes / len(part) if len(part) else math.nan
            row[f"n_{part_name}"] = len(part)
        _, _, lo, hi = binom(int(group["makes_sense"].astype(bool).sum()), len(group))
        row["ci_low_pct_all"], row["ci_high_pct_all"] = 100 * lo, 100 * hi
        rows.append(row)
    return pd.DataFrame(rows)


def agreement(df: pd.DataFrame) -> Agreement:
    """Krippendorff's α (nominal) over judges × items; for pairwise the value is which model won."""
    if df.empty:
        return Agreement(None, 0, None, "no answers yet")
    values = df["choice"].map({"a": 0.0, "b": 1.0, "yes": 1.0, "no": 0.0})
    table = pd.DataFrame({"judge": df["judge"], "item": df["item"], "v": values})
    multi = table.groupby("item")["judge"].nunique()
    multi = multi[multi >= 2].index
    if len(multi) == 0:
        return Agreement(None, 0, None, "no item has been answered by two judges yet")
    sub = table[table["item"].isin(multi)]
    percents = []
    for _, g in sub.groupby("item"):
        ones, n = g["v"].sum(), len(g)
        percents.append((ones * (ones - 1) + (n - ones) * (n - ones - 1)) / (n * (n - 1)))
    matrix = sub.pivot_table(index="judge", columns="item", values="v", aggfunc="first").to_numpy(dtype=float)
    try:
        alpha = float(krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal"))
    except ValueError:  # every answer the same value: α is undefined (no variation to agree on)
        return Agreement(None, len(multi), 100 * float(np.mean(percents)), "every answer is the same: α undefined")
    return Agreement(alpha, len(multi), 100 * float(np.mean(percents)))


def position_bias(df: pd.DataFrame) -> str:
    """Share of pairwise answers picking the left text; blind order should make it ~50 %."""
    sides = df.loc[df["kind"] == "pairwise", "side"].dropna()
    if sides.empty:
        return ""
    left = int((sides == "left").sum())
    rate, p, lo, hi = binom(left, len(sides))
    return (
        f"Left text chosen in {100 * rate:.1f} % of {len(sides)} answers "
        f"(95 % CI {100 * lo:.1f}–{100 * hi:.1f} %, p = {p:.3g} against 50 %)."
    )


def judge_labels(df: pd.DataFrame) -> pd.Series:
    """How judges are named on the results page: their name, else "anonymous J0007"."""
    names = df["judge_name"].fillna("").astype(str)
    return names.where(names != "", "anonymous " + df["judge"].astype(str))


def judges_table(df: pd.DataFrame) -> pd.DataFrame:
    """Per judge: answers, % left (pairwise) or % yes, and median seconds per answer (spot careless judges)."""
    rows = []
    for _, g in df.assign(label=judge_labels(df)).groupby("judge", sort=False):
        row: dict[str, object] = {"judge": g["label"].iloc[0], "answers": len(g)}
        if (g["kind"] == "pairwise").all():
            row["% left"] = 100 * float((g["side"] == "left").mean())
        else:
            row["% yes"] = 100 * float(g["makes_sense"].astype(bool).mean())
        ms = g["elapsed_ms"].dropna()
        row["median s"] = float(ms.median()) / 1000 if len(ms) else math.nan
        rows.append(row)
    return pd.DataFrame(rows)


def compute(df: pd.DataFrame, kind: str) -> Results:
    """Every figure the results page shows, from the raw answers of one survey."""
    res = Results(kind, len(df), df["judge"].nunique() if len(df) else 0, df["item"].nunique() if len(df) else 0)
    if df.empty:
        return res
    if kind == "pairwise":
        res.pairs = pair_table(df)
        res.ranking = bradley_terry(df)
        res.position = position_bias(df)
    else:
        res.makes_sense = makes_sense_table(df)
    res.agreement = agreement(df)
    res.judges_table = judges_table(df)
    return res


def to_csv(df: pd.DataFrame) -> bytes:
    """Raw answers as UTF-8 CSV (one row per answer, models named), every text cell escaped so that a judge's
    name or a sentence such as ``=HYPERLINK(…)`` is shown as text by a spreadsheet, never run."""
    from ..markup import to_csv as safe_csv

    return safe_csv(df).encode("utf-8")
