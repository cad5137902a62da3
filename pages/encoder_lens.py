"""Encoder lens: one sentence's posterior per dimension; move one dimension and watch the decoding change."""

from __future__ import annotations

import streamlit as st

from explorer import plots
from explorer.markup import md_escape
from explorer.textlab import decode_config, decode_latent, edited_latent, encoder_lens
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
    st.warning(f"Not in the vocabulary (read as <unk>): {', '.join(md_escape(w) for w in lens.unknown)}")
active = caches.active_units_of(str(run.path), caches.digest(run))
spans = [(p.name, p.start, p.stop) for p in lens.parts]
st.plotly_chart(plots.lens_bars(lens.mu, lens.sigma, lens.kl, active, spans), width="stretch")
st.caption(
    f"KL of this sentence: {lens.kl.sum():.2f} nats; {int(active.sum())} of {len(active)} units active (grey: inactive)."
)
if len(lens.parts) > 1:
    what = "ladder layer (z1: decoded · top: last)" if lens.hierarchical else "feature-map position"
    st.plotly_chart(plots.part_kl_bars(lens.part_kl, what), width="stretch")
    st.caption(
        "KL per " + what.split(" (")[0] + ": " + " · ".join(f"{k} {v:.2f}" for k, v in lens.part_kl.items())
        + (" nats, each layer against its conditional prior p(z_i | z_i+1)." if lens.hierarchical else " nats.")
    )  # fmt: skip

order = sorted(range(len(lens.mu)), key=lambda i: -lens.kl[i])
a, b = st.columns([1, 2])
dim = a.selectbox(
    "Dimension (by KL)", order, format_func=lambda i: f"{lens.label(i)}  KL {lens.kl[i]:.2f}{'' if active[i] else '  (inactive)'}"
)  # fmt: skip
value = b.slider(f"Value of {lens.label(dim)}", -4.0, 4.0, float(round(lens.mu[dim], 2)), 0.05)
greedy = decode_config("greedy")
st.markdown(f"**μ decoded:** {md_escape(decode_latent(vae, lens.mu, greedy))}")
edited = edited_latent(vae, sentence, lens, dim, value)
st.markdown(f"**{lens.label(dim)} = {value:+.2f}:** {md_escape(decode_latent(vae, edited, greedy))}")
if lens.hierarchical and lens.part_of(dim) > 0:
    st.caption("The decoder reads z1: the layers under the edited one are inferred again from the sentence given it.")
