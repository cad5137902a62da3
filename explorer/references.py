"""Published figures shown beside ours: explorer/published.toml, read once. The app's rate–distortion page
and the reproduction report (experiments.reproduction) both take them from here."""

from __future__ import annotations

import functools
import tomllib
from pathlib import Path
from typing import Any

import pandas as pd

PUBLISHED_FILE = Path(__file__).with_name("published.toml")
TABLE1_COLUMNS = (  # Table 1's keys in published.toml: the app's data keys (explorer.labels)
    "C", "kl", "active_units", "log_det_cov", "mean_sq_norm", "bleu2", "bleu4", "rouge2", "rouge4",
)  # fmt: skip


@functools.cache
def published() -> dict[str, Any]:
    return tomllib.loads(PUBLISHED_FILE.read_text(encoding="utf-8"))


def table1(corpus: str = "CBT") -> dict[int, dict[str, Any]]:
    """β_C Table 1 rows of one corpus, by C."""
    return {r["C"]: r for r in published()["beta_c"]["table1"]["rows"] if r["corpus"] == corpus}


SOURCE = published()["beta_c"]["table1"]["source"]


def beta_c_table(corpus: str = "CBT") -> pd.DataFrame:
    """Table 1 of the β_C paper for one corpus, as the rate–distortion page shows it."""
    rows = [{key: r.get(key) for key in TABLE1_COLUMNS} for r in table1(corpus).values()]
    return pd.DataFrame(rows, columns=list(TABLE1_COLUMNS))
