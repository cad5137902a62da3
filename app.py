"""TextVAE Explorer: entry page. Lists the runs under checkpoints/ from their JSON files alone."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from explorer.runs import find_runs

ROOT = Path(__file__).resolve().parent

st.set_page_config(page_title="TextVAE Explorer", layout="wide")
st.title("TextVAE Explorer")
st.caption("Sentence VAEs trained under the m / β / C objective family: VAE, KL annealing, β-VAE, AutoGen, β_C-VAE.")

folder = st.text_input(
    "Run folder", value=str(ROOT / "checkpoints"), help="Every sub-folder holding a config.json is a run."
)
runs, warnings = find_runs(folder)
for w in warnings:
    st.warning(w)
if not runs:
    st.info(
        f"No runs found under `{folder}`. Train one with\n\n"
        "`python -m textvae_core.train --objective=beta-c --objective.C=15 --out=checkpoints/my-run`"
    )
else:
    st.subheader(f"{len(runs)} run(s)")
    two_places = st.column_config.NumberColumn(format="%.2f")
    st.dataframe(
        pd.DataFrame([r.row() for r in runs]),
        hide_index=True,
        width="stretch",
        column_config={
            "C": st.column_config.NumberColumn(help="empty: no capacity (K = KL)"),
            **{k: two_places for k in ("valid KL", "valid D", "valid −ELBO")},
        },
    )
    st.caption("m, β and C are read from each run's config.json; held-out figures from its metrics.jsonl.")
