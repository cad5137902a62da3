"""Surveys (admin or read-only viewer): win % per pair, Bradley–Terry ranking, "makes sense" % by length,
agreement between judges, and the raw answers as CSV."""

from __future__ import annotations

import streamlit as st

from explorer import labels
from explorer.survey import repo, stats
from explorer.survey.view import makes_sense_figure, ranking_figure
from explorer.ui import auth, nav, widgets
from explorer.ui.survey_store import survey_db

nav.page("Survey results")
auth.unlock("viewer")
db = survey_db()

row = widgets.pick_survey(db, "No survey yet: create one on the Survey design page.")
refresh, leave_out = st.columns([1, 5], vertical_alignment="bottom")
refresh.button("Refresh", help="Answers keep coming while the survey is open.")
everything = repo.answers_frame(db, row.id)
dropped = leave_out.multiselect("Leave out judges (e.g. trial runs)", sorted(stats.judge_labels(everything).unique()))
answers = everything[~stats.judge_labels(everything).isin(dropped)]
res = st.cache_data(stats.compute, show_spinner="Computing statistics…", max_entries=16)(answers, row.kind)
joined, active = repo.judge_counts(db, row.id)
m = st.columns(4)
m[0].metric("Status", row.status)
m[1].metric("Judges (answered / joined)", f"{active} / {joined}")
m[2].metric("Answers", res.answers)
m[3].metric("Items answered", f"{res.items_answered} / {row.items}")
if answers.empty:
    st.info("No answers yet.")
    st.stop()

pct, p = st.column_config.NumberColumn(format="%.1f"), st.column_config.NumberColumn(format="%.2g")
if row.kind == "pairwise":
    st.subheader("Pairwise preferences")
    shown = {"p-value": p, "win % (model 1)": pct}
    st.dataframe(res.pairs, hide_index=True, width="stretch", column_config=shown, column_order=stats.PAIR_SHOWN)
    st.caption(
        "Model 1 is the pair's more chosen model. Exact two-sided binomial test against 50 %; "
        "95 % Clopper–Pearson interval."
    )
    st.plotly_chart(ranking_figure(res.ranking), width="stretch")
    two = st.column_config.NumberColumn(format="%.2f")
    st.dataframe(
        res.ranking,
        hide_index=True,
        width="stretch",
        column_config={"share %": pct} | dict.fromkeys(("strength", "CI low", "CI high"), two),
    )
    st.caption(
        "Bradley–Terry fit of every answer (choix, ILSR); 95 % interval: ±1.96 standard errors from the Fisher "
        f"information. {res.position}"
    )
else:
    st.subheader('"Makes sense" by sentence length (≤ 10 and > 10 words, as in AutoGen Table 4)')
    table = labels.shown(res.makes_sense)
    st.dataframe(table, hide_index=True, width="stretch", column_config=widgets.table_columns(table))
    st.plotly_chart(makes_sense_figure(res.makes_sense), width="stretch")

st.subheader("Agreement between judges")
a = res.agreement
if a is not None and a.items:
    st.write(
        f"Krippendorff's α (nominal) = {'undefined' if a.alpha is None else f'{a.alpha:.3f}'} over {a.items} "
        f"items answered by two judges or more; mean pairwise agreement {a.percent:.1f} %. {a.note}"
    )
else:
    st.write(a.note if a else "")
st.subheader("Judges")
st.dataframe(res.judges_table, hide_index=True, width="stretch", column_config={"% left": pct, "% yes": pct})
st.download_button("Download raw answers (CSV, every judge)", stats.to_csv(everything), f"survey-{row.id}-answers.csv")
