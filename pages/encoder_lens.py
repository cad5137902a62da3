"""Encoder lens: one sentence's posterior per dimension; move one dimension and watch the decoding change."""

from __future__ import annotations

import streamlit as st

from explorer import plots
from explorer.markup import md_escape
from explorer.textlab import decode_config, decode_latent, encoder_lens
from explorer.ui import caches, nav, widgets

nav.page("Encoder lens")
runs, chosen = widgets.require_runs()
names = {r.name: r for r in runs if r.has_weights}
run = names[st.selectbox("Run", list(names), index=list(names).index(chosen[0].name) if chosen else 0)]
sentence = st.text_input("Sentence", "the company said it expects to report a loss")
if not sentence.strip():
    st.info("Type a sentence.")
    st.stop()
vae = caches.load_model(run)
lens = encoder_lens(vae, sentence)
if lens.unknown:
    st.warning(f"Not in the vocabulary (read as <unk>): {', '.join(lens.unknown)}")
active = caches.active_units_of(str(run.path), caches.digest(run))
st.plotly_chart(plots.lens_bars(lens.mu, lens.sigma, lens.kl, active), width="stretch")
st.caption(
    f"KL of this sentence: {lens.kl.sum():.2f} nats; {int(active.sum())} of {len(active)} units active (grey: inactive)."
)

order = sorted(range(len(lens.mu)), key=lambda i: -lens.kl[i])
a, b = st.columns([1, 2])
dim = a.selectbox(
    "Dimension (by KL)", order, format_func=lambda i: f"z{i}  KL {lens.kl[i]:.2f}{'' if active[i] else '  (inactive)'}"
)
value = b.slider(f"Value of z{dim}", -4.0, 4.0, float(round(lens.mu[dim], 2)), 0.05)
greedy = decode_config("greedy")
st.markdown(f"**μ decoded:** {md_escape(decode_latent(vae, lens.mu, greedy))}")
edited = lens.mu.copy()
edited[dim] = value
st.markdown(f"**z{dim} = {value:+.2f}:** {md_escape(decode_latent(vae, edited, greedy))}")
