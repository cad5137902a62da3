"""Showing model output and user text literally: in Streamlit markdown, and as CSV (no torch: the judge page
imports it)."""

from __future__ import annotations

import re

import pandas as pd

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|$<>~&])")


def md_escape(text: str, empty: str = "*(empty sentence)*") -> str:
    """Model output shown literally by st.markdown: PTB's "$ N million" must not become LaTeX, nor <unk> HTML."""
    return _MD_SPECIAL.sub(r"\\\1", text) if text.strip() else empty


FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "|")  # what a spreadsheet reads as the start of a formula


def csv_cell(value: object) -> object:
    """A text cell a spreadsheet shows as text: one that starts like a formula (``=HYPERLINK(…)``, ``+1``, ``@SUM``)
    gets a leading apostrophe (OWASP's advice against CSV injection); numbers and empty cells are left alone."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def to_csv(frame: pd.DataFrame) -> str:
    """A frame as CSV with every text cell made safe to open in a spreadsheet (csv_cell)."""
    safe = frame.copy()
    for column in safe.columns:
        if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column]):
            safe[column] = safe[column].map(csv_cell)
    safe.columns = [csv_cell(str(c)) for c in safe.columns]
    return safe.to_csv(index=False)


def tables_csv(tables: dict[str, pd.DataFrame]) -> str:
    """Every run's table of a page as one CSV, a column "run" first (empty when no run gave rows): for a
    paper or a notebook, without copying cells out of the browser."""
    frames = [t.assign(run=name)[["run", *t.columns]] for name, t in tables.items() if len(t)]
    return to_csv(pd.concat(frames, ignore_index=True)) if frames else ""
