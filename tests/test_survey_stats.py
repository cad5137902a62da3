"""Survey statistics on answers with known outcomes: binomial test and interval, Bradley–Terry ranking,
the ≤ 10 / > 10 split of "makes sense", Krippendorff's α, position bias and the CSV export."""

from __future__ import annotations

import io
import math
import random

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest

from explorer.survey import stats
from explorer.survey.repo import ANSWER_COLUMNS


def pairwise_answers(outcomes: list[tuple[str, str, str]], judges: int = 1, side: str = "left") -> pd.DataFrame:
    """Rows (model a, model b, winner) → the answers frame repo.answers_frame returns."""
    rows = []
    for k, (a, b, winner) in enumerate(outcomes):
        rows.append(
            {
                "survey": "s",
                "kind": "pairwise",
                "judge": f"j{k % judges}",
                "judge_name": "",
                "item": f"i{k}",
                "position": k,
                "input": "x",
                "length": 5,
                "model_a": a,
                "output_a": "p",
                "model_b": b,
                "output_b": "q",
                "choice": "a" if winner == a else "b",
                "winner": winner,
                "loser": b if winner == a else a,
                "side": side,
                "makes_sense": None,
                "elapsed_ms": 1000 + k,
                "answered_at": None,
            }
        )
    return pd.DataFrame(rows, columns=ANSWER_COLUMNS)


def sense_answers(rows: list[tuple[str, int, bool]], judge: str = "j") -> pd.DataFrame:
    out = [
        {
            "kind": "makes_sense",
            "judge": judge,
            "judge_name": "",
            "item": f"i{k}",
            "model_a": m,
            "length": n,
            "choice": "yes" if ok else "no",
            "makes_sense": ok,
            "elapsed_ms": 500,
        }
        for k, (m, n, ok) in enumerate(rows)
    ]
    return pd.DataFrame(out).reindex(columns=ANSWER_COLUMNS)


def test_pair_win_rate_binomial_test_and_interval_match_scipy() -> None:
    df = pairwise_answers([("A", "B", "B")] * 15 + [("B", "A", "A")] * 5, judges=4)
    table = stats.pair_table(df)
    row = table.iloc[0]
    assert (row["model 1"], row["model 2"], row["answers"], row["model 1 wins"]) == ("B", "A", 20, 15)
    ref = binomtest(15, 20, 0.5)
    ci = ref.proportion_ci(0.95, method="exact")
    assert row["win % (model 1)"] == 75.0 and row["p-value"] == pytest.approx(ref.pvalue)
    assert (row["CI low %"], row["CI high %"]) == pytest.approx((100 * ci.low, 100 * ci.high))
    assert row["judges"] == 4


def test_bradley_terry_recovers_the_order_of_known_strengths() -> None:
    rng = random.Random(0)
    truth = {"best": 1.2, "middle": 0.0, "worst": -1.2}
    outcomes = []
    for _ in range(900):
        a, b = rng.sample(list(truth), 2)
        p_a = 1 / (1 + math.exp(truth[b] - truth[a]))
        outcomes.append((a, b, a if rng.random() < p_a else b))
    ranking = stats.bradley_terry(pairwise_answers(outcomes))
    assert list(ranking["model"]) == ["best", "middle", "worst"]
    assert ranking["strength"].to_numpy() == pytest.approx([1.2, 0.0, -1.2], abs=0.25)
    assert (ranking["CI low"] < ranking["strength"]).all() and (ranking["strength"] < ranking["CI high"]).all()
    assert ranking["share %"].sum() == pytest.approx(100)


def test_bradley_terry_intervals_shrink_with_answers_and_stay_honest_under_separation() -> None:
    few = stats.bradley_terry(pairwise_answers([("A", "B", "A")] * 6 + [("B", "C", "B")] * 6))
    assert list(few["model"]) == ["A", "B", "C"] and np.isfinite(few[["strength", "CI low", "CI high"]]).all().all()
    assert ((few["CI high"] - few["CI low"]) > 2).all()  # one side won everything: wide, not zero-width
    rng = random.Random(2)
    many = [(a, b, a if rng.random() < 0.7 else b) for a, b in [("A", "B")] * 400]
    few_mixed = many[:40]
    width = {
        n: stats.bradley_terry(pairwise_answers(d)).eval("`CI high` - `CI low`").iloc[0]
        for n, d in ((40, few_mixed), (400, many))
    }
    assert width[400] < width[40] / 2.5  # ~1/√n
    # two models: the interval of the strength difference matches the logistic (Wald) one of the win rate
    table = stats.bradley_terry(pairwise_answers(many)).set_index("model")
    k = sum(w == "A" for _, _, w in many)
    se_diff = 1 / math.sqrt(400 * (k / 400) * (1 - k / 400))
    assert 2 * (table.loc["A", "CI high"] - table.loc["A", "strength"]) / 1.959964 == pytest.approx(se_diff, rel=0.02)


def test_makes_sense_split_at_ten_words_like_table_4() -> None:
    rows = [
        ("vae", 10, True),
        ("vae", 10, False),
        ("vae", 11, False),
        ("vae", 30, False),
        ("autogen", 3, True),
        ("autogen", 12, True),
    ]
    table = stats.makes_sense_table(sense_answers(rows)).set_index("model")
    assert table.loc["vae", "pct_yes_short"] == 50.0 and table.loc["vae", "n_short"] == 2
    assert table.loc["vae", "pct_yes_long"] == 0.0 and table.loc["vae", "n_long"] == 2
    assert table.loc["vae", "pct_yes_all"] == 25.0
    assert table.loc["autogen", "pct_yes_all"] == 100.0
    assert table.loc["autogen", "ci_low_pct_all"] == pytest.approx(100 * binomtest(2, 2).proportion_ci(0.95).low)


def test_agreement_is_one_when_judges_agree_and_low_when_they_answer_at_random() -> None:
    agree = pd.concat([sense_answers([("m", 5, k % 3 == 0) for k in range(30)], judge=j) for j in "xyz"])
    result = stats.agreement(agree)
    assert result.alpha == pytest.approx(1.0) and result.items == 30 and result.percent == 100.0
    rng = random.Random(1)
    noise = pd.concat([sense_answers([("m", 5, rng.random() < 0.5) for _ in range(200)], judge=j) for j in "xyz"])
    assert abs(stats.agreement(noise).alpha) < 0.15
    lonely = sense_answers([("m", 5, True), ("m", 5, False)])
    assert stats.agreement(lonely).alpha is None and "two judges" in stats.agreement(lonely).note
    same = pd.concat([sense_answers([("m", 5, True)] * 4, judge=j) for j in "xy"])
    assert stats.agreement(same).alpha is None and stats.agreement(same).percent == 100.0


def test_position_bias_and_judges_table() -> None:
    df = pairwise_answers([("A", "B", "A")] * 10, judges=2, side="left")
    assert "Left text chosen in 100.0 % of 10 answers" in stats.position_bias(df)
    judges = stats.judges_table(df)
    assert list(judges["answers"]) == [5, 5] and list(judges["% left"]) == [100.0, 100.0]
    assert judges["judge"].str.startswith("anonymous").all()


def test_compute_on_no_answers_and_csv_round_trip() -> None:
    empty = pd.DataFrame(columns=ANSWER_COLUMNS)
    res = stats.compute(empty, "pairwise")
    assert (res.answers, res.judges, res.items_answered) == (0, 0, 0) and res.pairs.empty
    df = pairwise_answers([("A", "B", "A"), ("A", "B", "B")])
    back = pd.read_csv(io.BytesIO(stats.to_csv(df)))
    assert list(back.columns) == ANSWER_COLUMNS and list(back["winner"]) == ["A", "B"]
    full = stats.compute(df, "pairwise")
    assert full.answers == 2 and len(full.ranking) == 2 and full.position
