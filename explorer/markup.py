"""Showing model output in Streamlit markdown literally (no torch: the judge page imports it)."""

from __future__ import annotations

import re

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|$<>~&])")


def md_escape(text: str, empty: str = "*(empty sentence)*") -> str:
    """Model output shown literally by st.markdown: PTB's "$ N million" must not become LaTeX, nor <unk> HTML."""
    return _MD_SPECIAL.sub(r"\\\1", text) if text.strip() else empty
