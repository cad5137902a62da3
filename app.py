"""TextVAE Explorer: the entry point. ``streamlit run app.py``.

Pages live in pages/ and are listed here; a judge's survey link (``?survey=…``) shows the judge page
alone, with no navigation to the pages that name models.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

PAGES = Path(__file__).resolve().parent / "pages"

st.set_page_config(page_title="TextVAE Explorer", layout="wide")


def page(file: str, title: str, icon: str, default: bool = False) -> st.Page:
    return st.Page(PAGES / file, title=title, icon=icon, default=default)


EXPLORE = [
    page("runs.py", "Runs", ":material/table:", default=True),
    page("rate_distortion.py", "Rate–distortion", ":material/show_chart:"),
    page("posterior.py", "Aggregated posterior", ":material/scatter_plot:"),
    page("reconstructions.py", "Reconstructions", ":material/compare_arrows:"),
    page("homotopy.py", "Homotopy", ":material/linear_scale:"),
    page("encoder_lens.py", "Encoder lens", ":material/tune:"),
    page("prior_samples.py", "Prior samples", ":material/casino:"),
]

SURVEYS = [
    page("survey_design.py", "Survey design", ":material/edit_note:"),
    page("survey_results.py", "Survey results", ":material/leaderboard:"),
    page("survey_judge.py", "Join a survey", ":material/how_to_vote:"),
]

if "survey" in st.query_params:  # a judge's link: the judge page alone, nothing that names models
    nav = st.navigation([page("survey_judge.py", "Survey", ":material/how_to_vote:", default=True)], position="hidden")
else:
    nav = st.navigation({"Explore": EXPLORE, "Surveys": SURVEYS})
nav.run()
