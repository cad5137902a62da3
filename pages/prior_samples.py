"""Prior samples: sentences decoded from z ~ p(z), the same noise for every run of the same latent shape
(a ladder draws top-down through its conditional priors)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from explorer.textlab import prior_samples
from explorer.ui import caches, nav, widgets

nav.page("Prior samples")
runs, chosen = widgets.require_runs()
picked = widgets.pick_runs(runs, chosen, key="prior_runs")
a, b = st.columns(2)
n = a.slider("Samples", 1, 100, 10)
seed = b.number_input("Seed", 0, 10**6, 0)
decoding = widgets.decoding_widgets("prior", ("greedy", "sample", "beam"))
tables = {}
for run in widgets.run_panels(picked):
    texts, stats = prior_samples(caches.load_model(run), n, decoding, int(seed))
    m1, m2, m3 = st.columns(3)
    m1.metric("mean length", f"{stats['mean_length']:.1f}")
    m2.metric("% unk", f"{stats['pct_unk']:.1f}")
    m3.metric("distinct", f"{stats['distinct']}/{stats['n']}")
    rows = {"#": list(range(1, len(texts) + 1)), "sentence": texts}
    tables[run.name] = pd.DataFrame(rows)
    st.table(rows, hide_index=True, border="horizontal")  # wrapped: every sample read in full
widgets.download_rows(tables, "the samples", "prior-samples")
