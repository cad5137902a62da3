"""Reconstructions side by side per run, with sliders over C / m / β / α that swap a column's run in place."""

from __future__ import annotations

import streamlit as st

from explorer import labels
from explorer.runs import KNOBS, knob_family
from explorer.textlab import clean_lines, short_examples
from explorer.ui import caches, nav, widgets

nav.page("Reconstructions")
runs, chosen = widgets.require_runs()
picked = widgets.pick_runs(runs, chosen, key="rec_runs")
pool = widgets.held_out(picked[0]) if picked else []
examples = short_examples(pool, 3) or ["the company said it expects to report a loss"]
text = st.text_area("Sentences, one per line", "\n".join(examples), height=100)
sentences = clean_lines(text)
decoding = widgets.decoding_widgets("rec")
a, b, c = st.columns(3)
use_mean = a.radio("Latent", ["mean μ", "z ~ q(z|x)"], horizontal=True) == "mean μ"
n = b.slider("Samples per sentence", 1, 5, 1, disabled=use_mean and decoding.method != "sample")
knob = c.radio("Slider over", KNOBS, format_func=labels.label, horizontal=True, help=f"α: {labels.HELP['alpha']}")
if not sentences:
    st.info("Type at least one sentence.")
    st.stop()
st.table({"#": list(range(1, len(sentences) + 1)), "input": sentences}, hide_index=True, border="horizontal")

columns, seen = [], set()
for run in picked:
    family = knob_family(runs, run, knob)
    ident = tuple(str(r.path) for _, r in family) if len(family) > 1 else (str(run.path),)
    if ident not in seen:
        seen.add(ident)
        columns.append((run, family if len(family) > 1 else []))
tables, shown_runs = {}, []  # the sliders in a row of their own, so every run's table starts at the same height
for col, (run, family) in zip(st.columns(len(columns) or 1), columns, strict=False):
    if family:
        values = [v for v, _ in family]
        now = next(v for v, r in family if r.path == run.path)
        name = f"{labels.label(knob)} ({run.config.model.decoder})"
        run = dict(family)[col.select_slider(name, values, value=now, key=f"slide_{knob}_{run.name}")]
    shown_runs.append(run)
for run in widgets.run_panels(shown_runs, per_row=len(shown_runs)):  # one row, under the sliders' row
    try:
        table, unknown = caches.reconstruct(
            str(run.path), caches.digest(run), tuple(sentences), decoding, use_mean, n, 0
        )
    except ValueError as err:
        st.error(str(err))
        continue
    for sent, words in unknown.items():
        widgets.warn_unknown(run.name, words, sent)
    tables[run.name] = table
    st.caption(f"mean BLEU-4 against the input: **{table['BLEU'].mean():.1f}**")
    shown = table.drop(columns=["input"] + (["sample"] if n == 1 else []))
    st.table(shown.style.format({"BLEU": "{:.1f}"}), hide_index=True, border="horizontal")
widgets.download_rows(tables, "reconstructions", "reconstructions")
