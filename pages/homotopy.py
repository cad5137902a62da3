"""Homotopy: decode points on a path between two latents with every chosen run; repeats greyed out."""

from __future__ import annotations

import streamlit as st

from explorer.textlab import Endpoints, homotopy_frame, homotopy_texts, repeat_mask
from explorer.ui import caches, nav, widgets

nav.page("Homotopy")
runs, chosen = widgets.require_runs()
picked = widgets.pick_runs(runs, chosen, key="hom_runs")
kind = st.radio("Endpoints", ["two prior samples", "two sentences"], horizontal=True)
if kind == "two sentences":
    a, b = st.columns(2)
    ends = Endpoints(
        "sentences",
        a.text_input("From", "the company said it expects to report a loss"),
        b.text_input("To", "stocks fell sharply in heavy trading"),
    )
    if not ends.first.strip() or not ends.second.strip():
        st.info("Type both sentences.")
        st.stop()
else:
    ends = Endpoints(
        "prior", seed=st.number_input("Seed of the two prior draws (the same z for every run)", 0, 10**6, 0)
    )
a, b = st.columns(2)
steps = a.slider("Points on the path (endpoints included)", 3, 15, 7)
path = b.radio("Path", ["linear", "slerp"], horizontal=True)
decoding = widgets.decoding_widgets("hom", ("greedy", "sample", "beam"))
st.caption("Grey rows decode to the same sentence as the row before (β_C paper, Table 2).")

tables = {}
for run in widgets.run_panels(picked):
    texts, unknown = homotopy_texts(caches.load_model(run), ends, steps, path, decoding)
    widgets.warn_unknown(run.name, unknown)
    st.table(homotopy_frame(texts), hide_index=True, border="horizontal")
    tables[run.name] = homotopy_frame(texts).data
    st.caption(f"{sum(repeat_mask(texts))} repeat(s) in {steps - 1} steps")
widgets.download_rows(tables, "the paths", "homotopy")
