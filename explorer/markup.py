"""Showing model output literally: in Streamlit markdown, and as CSV (no torch: the judge page imports it)."""

from __future__ import annotations

import re

import pandas as pd

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|$<>~&])")


def md_escape(text: str, empty: str = "*(empty sentence)*") -> str:
    """Model output shown literally by st.markdown: PTB's "$ N million" must not become LaTeX, nor <unk> HTML."""
    return _MD_SPECIAL.sub(r"\\\1", text) if text.strip() else empty


def tables_csv(tables: dict[str, pd.DataFrame]) -> str:
    """Every run's table of a page as one CSV, a column "run" first (empty when no run gave rows): for a
    paper or a notebook, without copying cells out of the browser."""
    frames = [t.assign(run=name)[["run", *t.columns]] for name, t in tables.items() if len(t)]
    return pd.concat(frames, ignore_index=True).to_csv(index=False) if frames else ""
