"""TextVAE Explorer: the entry point. ``python -m explorer.serve`` (or ``streamlit run app.py``).

Pages live in pages/explore/, pages/train/ and pages/surveys/ and are listed here. They sit in sub-folders on purpose:
Streamlit would auto-discover scripts directly in pages/ and serve a deep link such as /homotopy from
them without running this file (its own page list, none of this navigation). A judge's survey link
(``?survey=…``) shows the judge page alone, with no navigation to the pages that name models.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

PAGES = Path(__file__).resolve().parent / "pages"

st.set_page_config(page_title="TextVAE Explorer", layout="wide")


def page(file: str, title: str, icon: str, default: bool = False) -> st.Page:
    return st.Page(PAGES / file, title=title, icon=icon, default=default)


EXPLORE = [
    page("explore/runs.py", "Runs", ":material/table:", default=True),
    page("explore/rate_distortion.py", "Rate–distortion", ":material/show_chart:"),
    page("explore/posterior.py", "Aggregated posterior", ":material/scatter_plot:"),
    page("explore/reconstructions.py", "Reconstructions", ":material/compare_arrows:"),
    page("explore/homotopy.py", "Homotopy", ":material/linear_scale:"),
    page("explore/encoder_lens.py", "Encoder lens", ":material/tune:"),
    page("explore/prior_samples.py", "Prior samples", ":material/casino:"),
]

TRAIN = [page("train/training.py", "Training", ":material/model_training:")]

SURVEYS = [
    page("surveys/survey_design.py", "Survey design", ":material/edit_note:"),
    page("surveys/survey_results.py", "Survey results", ":material/leaderboard:"),
    page("surveys/survey_judge.py", "Join a survey", ":material/how_to_vote:"),
]

if "survey" in st.query_params:  # a judge's link: the judge page alone, nothing that names models
    nav = st.navigation(
        [page("surveys/survey_judge.py", "Survey", ":material/how_to_vote:", default=True)], position="hidden"
    )
else:
    nav = st.navigation({"Explore": EXPLORE, "Train": TRAIN, "Surveys": SURVEYS})
nav.run()
