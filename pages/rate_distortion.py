"""Rate–distortion: D against R per decoder (β_C paper Fig. 1), KL against C, and training curves."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from explorer import labels, plots
from explorer.references import SOURCE, beta_c_table
from explorer.runs import corpora_first_chosen, headline
from explorer.ui import keys, nav, widgets
from textvae_core.rundir import read_metrics

nav.page("Rate–distortion")
runs, chosen = widgets.require_runs()
rows = [headline(r) for r in runs if r.has_weights]
corpora = corpora_first_chosen(rows, [r.name for r in chosen])
pick, toggle = st.columns([2, 3])
corpus = pick.selectbox("Corpus", corpora, help="D is comparable only between runs of one corpus.")
only_bc = toggle.toggle("β_C runs only", value=True, help="Runs trained with a capacity C (the paper's sweep).")
table = pd.DataFrame([row for row in rows if row["corpus"] == corpus])
shown = table[table["C"].notna()] if only_bc and table["C"].notna().any() else table

left, right = st.columns([3, 2])
with left:
    st.caption("Click a point to choose that run for the other pages (shift-click adds).")
    event = st.plotly_chart(plots.rate_distortion(shown), on_select="rerun", key="rd", width="stretch")
with right:
    if shown["C"].notna().any():
        st.plotly_chart(plots.kl_against_target(shown), key="klc", width="stretch")
points = (event or {}).get("selection", {}).get("points", []) if event else []
widgets.choose_clicked([p["customdata"][0] for p in points if p.get("customdata")], keys.RD_HISTORY)
if points:
    chosen = widgets.chosen_runs(runs)  # what "Runs to plot" below starts from, and every other page
    st.success("Chosen: " + ", ".join(f"**{r.name}**" for r in chosen))

cols = ["run", "model", "C", "m", "beta", "kl", "rec", "nll_bound", "active_units", "log_det_cov", "mean_sq_norm"]
figures = labels.shown(shown[labels.present(shown, [*cols, "bleu2", "source"])].sort_values(["model", "kl"]))
st.dataframe(figures, hide_index=True, width="stretch", column_config=widgets.table_columns(figures))
with st.expander(f"The paper's figures — {SOURCE}"):
    paper = labels.shown(beta_c_table())
    st.dataframe(paper, hide_index=True, column_config=widgets.table_columns(paper))
    st.caption("The paper's D is normalised differently (below 1); compare its trend with C, not its value.")

st.subheader("Over training (AutoGen paper Fig. 2)")
picked = widgets.pick_runs(runs, chosen, "Runs to plot", key=keys.RD_HISTORY)
records = [rec | {"run": r.name} for r in picked for rec in read_metrics(r.path, "train")]
if records:
    hist = pd.DataFrame(records)
    every = max(1, len(hist) // 4000)  # thin long logs so the chart stays light
    hist = hist[hist.groupby("run").cumcount() % every == 0]
    a, b = st.columns(2)
    a.plotly_chart(plots.history(hist, "kl_share", "KL share of the objective"), width="stretch")
    b.plotly_chart(plots.history(hist, "elbo", "ELBO per sentence (train batch)"), width="stretch")
else:
    st.info("No training log (metrics.jsonl) for the chosen runs.")
valid = [rec | {"run": r.name} for r in picked for rec in read_metrics(r.path, "valid")]
if valid:
    figure = st.radio(
        "On the validation set", plots.VALID_FIGURES, format_func=labels.label, horizontal=True, key="rd_valid"
    )
    st.plotly_chart(plots.validation_history(pd.DataFrame(valid), figure), width="stretch")
