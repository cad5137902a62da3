"""Latent arithmetic: carry the change between two sentences' codes over to a third, with every chosen run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from explorer.textlab import analogy_texts
from explorer.ui import caches, nav, widgets
from textvae_core.inference import InputError

nav.page("Latent arithmetic")
runs, chosen = widgets.require_runs()
picked = widgets.pick_runs(runs, chosen, key="arith_runs")
a, b, c = st.columns(3)
first = a.text_input("a", "the company said it expects to report a loss")
second = b.text_input("b", "the company said it expects to report a profit")
third = c.text_input("c", "the bank said it expects a loss in the third quarter")
s1, s2 = st.columns(2)
top = s1.slider("Largest scale s", 0.5, 3.0, 1.5, 0.25)
steps = s2.slider("Steps from s = 0", 2, 12, 6)
decoding = widgets.decoding_widgets("arith", ("greedy", "sample", "beam"))
if not (first.strip() and second.strip() and third.strip()):
    st.info("Type all three sentences.")
    st.stop()
scales = [float(x) for x in np.round(np.linspace(0.0, top, steps + 1), 3)]
st.caption(
    "Each row decodes μ_c + s · (μ_b − μ_a): s = 0 is c's own code, s = 1 moves it as far as a's code is "
    "from b's (Optimus, Li et al. 2020, §5). A code that describes its sentence changes c the way a became b."
)
tables = {}
for run in widgets.run_panels(picked):
    try:
        texts, unknown = analogy_texts(caches.load_model(run), first, second, third, scales, decoding)
    except InputError as err:
        st.error(str(err))
        continue
    widgets.warn_unknown(run.name, unknown)
    tables[run.name] = pd.DataFrame({"s": scales, "sentence": texts})
    st.table({"s": [f"{s:g}" for s in scales], "sentence": texts}, hide_index=True, border="horizontal")
widgets.download_rows(tables, "the decodings", "arithmetic")
