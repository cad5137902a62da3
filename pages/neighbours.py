"""Neighbours: the held-out sentences each run codes nearest to a typed one, in the full latent space."""

from __future__ import annotations

import streamlit as st

from explorer.markup import md_escape
from explorer.neighbours import METRICS, chance_level, nearest, query_code
from explorer.textlab import short_examples
from explorer.ui import caches, nav, widgets
from textvae_core.inference import InputError

nav.page("Neighbours")
runs, chosen = widgets.require_runs()
picked = widgets.pick_runs(runs, chosen, key="nb_runs")
held = {run.name: widgets.held_out(run) for run in picked}  # the test sets searched (a warning if unreadable)
pool = next((s for s in held.values() if s), [])
query = st.text_input("Sentence", next(iter(short_examples(pool, 1)), "the company said it expects to report a loss"))
a, b = st.columns(2)
k = a.slider("Neighbours", 1, 30, 8)
metric = b.radio("Distance between means μ", METRICS, horizontal=True)
if not query.strip():
    st.info("Type a sentence.")
    st.stop()
st.caption(
    "Each run's test sentences nearest to the sentence's μ (all latent dimensions, not a 2-D map). Shared words: "
    "Jaccard overlap of the word sets; chance: the mean over every test sentence, what a code that holds "
    "nothing of the sentence would score."
)
tables = {}
for run in widgets.run_panels(picked):
    digest = caches.digest(run)
    sentences = held[run.name]
    if len(sentences) < 2:
        st.info(f"{md_escape(run.name)} has no test sentences to search here.")
        continue
    try:
        mu, text, unknown = query_code(caches.load_model(run), query)
    except InputError as err:
        st.error(str(err))
        continue
    widgets.warn_unknown(run.name, unknown)
    hood = nearest(caches.code_bank(str(run.path), digest), sentences, mu, text, k, metric)
    tables[run.name] = hood.table
    overlap, gap = chance_level(sentences, text)
    m1, m2 = st.columns(2)
    m1.metric("shared words", f"{hood.overlap:.2f}", f"{hood.overlap - overlap:+.2f} vs chance")
    m2.metric("length gap", f"{hood.length_gap:.1f}", f"{hood.length_gap - gap:+.1f} vs chance", delta_color="inverse")
    shown = hood.table.drop(columns=["length"]).rename(columns={"rank": "#", "shared words": "shared"})
    shown = shown.style.format({"distance": "{:.3f}", "shared": "{:.2f}"})
    st.table(shown, hide_index=True, border="horizontal")
    widgets.projector_downloads(run)
widgets.download_rows(tables, "the neighbours", "neighbours")
