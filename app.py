"""TextVAE Explorer, ``streamlit run app.py``: this file is the Runs page (at /); every other page is a
script in pages/, served at /NAME. A judge's link (``/?survey=CODE``) goes straight to the judge page,
which shows no navigation and nothing that names a model. Layout and how to add a page: docs/ARCHITECTURE.md.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from explorer import labels
from explorer.runs import headline, headline_order, recipe_diff, weights_label
from explorer.ui import nav, widgets
from explorer.ui.caches import run_folders

if "survey" in st.query_params:  # before anything is drawn: a judge sees the judge page alone
    st.switch_page("pages/survey_judge.py", query_params=st.query_params.to_dict())
nav.page("Runs")
st.caption("Sentence VAEs trained under the m / β / C objective family: VAE, KL annealing, β-VAE, AutoGen, β_C-VAE.")

with st.expander("Run folders", expanded=False):
    folders = run_folders()
    st.write("\n".join(f"- `{f}`" for f in folders))
    extra = st.text_input("Add a folder holding runs", help="Every sub-folder with a config.json is a run.")
    if extra and st.button("Add folder"):
        if Path(extra).expanduser().is_dir():
            folders.append(str(Path(extra).expanduser().resolve()))
            st.rerun()
        st.error(f"`{extra}` is not a folder on this machine.")

runs, chosen = widgets.require_runs()
rows = [headline(r) | {"has_weights": r.has_weights, "weights": weights_label(r.path)} for r in runs]
table = labels.shown(pd.DataFrame(rows).drop(columns=["path"]))
st.subheader(f"{len(runs)} run(s) — select rows to compare them on the other pages")
event = st.dataframe(
    table,
    hide_index=True,
    column_order=headline_order(table.columns),
    width="stretch",
    height=min(36 * (len(table) + 1) + 2, 620),  # about 16 rows before the table scrolls
    on_select="rerun",
    selection_mode="multi-row",
    key="runs_table",
    selection_default={
        "selection": {"rows": [i for i, r in enumerate(rows) if r["path"] in {str(c.path) for c in chosen}]}
    },
    column_config=widgets.table_columns(table, model={"width": "large"}),
)
picked = event.selection.rows if event and event.selection else []
if picked:
    widgets.set_chosen([rows[i]["path"] for i in picked if rows[i]["has_weights"]])
chosen = widgets.chosen_runs(runs)
st.success("Comparing: " + ", ".join(f"**{r.name}**" for r in chosen))
if len(chosen) > 1:
    with st.expander(f"How the {len(chosen)} runs differ (config.json)"):
        if diff := recipe_diff(chosen):
            st.dataframe(diff, hide_index=True, width="stretch")
        else:
            st.write("Every setting is the same.")
st.caption(
    "R, D and −ELBO are nats per sentence on the test set (from eval.json) or, before evaluation, on the "
    "validation set (metrics.jsonl); R and D on train are the same weights on 5,000 training sentences, so a "
    "gap between the two is what did not generalise. Nothing here loads weights."
)
