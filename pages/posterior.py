"""Aggregated posterior: z ~ q(z|x) of test sentences in 2-D, prior samples overlaid; click a point to decode it."""

from __future__ import annotations

import streamlit as st

from explorer import plots
from explorer.markup import md_escape
from explorer.neighbours import nearest
from explorer.ui import caches, nav, widgets

nav.page("Aggregated posterior")
runs, chosen = widgets.require_runs()
picked = widgets.pick_runs(runs, chosen, key="post_runs")
stored = caches.latent_points(str(picked[0].path), caches.digest(picked[0])).coords if picked else {}
methods = ["umap", "pca", "tsne"]
default = next((i for i, m in enumerate(methods) if m in stored), 0)  # open on what is stored: no wait
method = st.radio("Projection", methods, index=default, horizontal=True, format_func=str.upper)
labelled = any(r.config.data.format == "labelled" for r in picked)
colour = st.radio("Colour by", ["length", "label"], horizontal=True) if labelled else "length"
st.caption(
    f"Colour: {'the corpus label' if colour == 'label' else 'sentence length in tokens'}. Red crosses: z ~ N(0, I). "
    "Hover shows the sentence; click a point to decode its latent."
)

cols = st.columns(min(3, max(1, len(picked))))
for i, run in enumerate(picked):
    with cols[i % len(cols)]:
        digest = caches.digest(run)
        lm = caches.latent_points(str(run.path), digest)
        sentences = widgets.held_out(run, lm.split)
        hover = [sentences[j] if j < len(sentences) else "?" for j in lm.sentence_index]
        hover += [f"prior sample {k + 1}" for k in range(len(lm.z) - lm.n_posterior)]
        all_labels = caches.labels_of(str(run.path), digest, lm.split) if colour == "label" else None
        labels = [all_labels[j] if j < len(all_labels) else "?" for j in lm.sentence_index] if all_labels else None
        slot = st.empty()
        if method not in lm.coords:
            slot.plotly_chart(
                plots.latent_scatter(
                    lm.coords["pca"],
                    lm.lengths,
                    lm.is_prior,
                    hover,
                    f"{run.name} — PCA while {method.upper()} runs",
                    labels,
                ),
                key=f"pca_{i}",
            )
            with st.spinner(
                f"{method.upper()} of {len(lm.z):,} points (the first UMAP on this machine compiles, ~30 s; later processes load the compiled code)…"
            ):
                coords = caches.projection(str(run.path), digest, method)
        else:
            coords = lm.coords[method]
        event = slot.plotly_chart(
            plots.latent_scatter(coords, lm.lengths, lm.is_prior, hover, f"{run.name} — {method.upper()}", labels),
            on_select="rerun",
            selection_mode="points",
            key=f"map_{i}_{method}",
        )
        points = event.selection.points if event and event.selection else []
        if points:
            row = int(points[0]["customdata"])
            text = caches.decode_point(run, lm.z[row])
            origin = "a prior sample" if lm.is_prior[row] else f"“{md_escape(hover[row])}”"
            st.info(f"**Decoded** (greedy) from {origin}:\n\n{md_escape(text)}")
            if sentences:  # its five nearest test sentences in all of z, not in the 2-D picture
                bank, own = caches.code_bank(str(run.path), digest, lm.split), not lm.is_prior[row]
                query = bank[lm.sentence_index[row]] if own else lm.z[row].astype("float32")
                hood = nearest(bank, sentences, query, hover[row] if own else "", 5)
                st.caption("Nearest test sentences in z (μ, cosine; the Neighbours page has more): " + " · ".join(
                    f"“{md_escape(t)}”" for t in hood.table["sentence"]))  # fmt: skip
        n_post = lm.n_posterior
        st.caption(f"{n_post:,} test sentences, {len(lm.z) - n_post} prior samples, z_dim {lm.z.shape[1]}")
