"""Surveys (admin): design a survey, freeze its items, open and close it, hand out the judge link."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from explorer.survey import access, repo
from explorer.survey.design import SurveyDesign, generate
from explorer.survey.errors import SurveyError
from explorer.survey.view import ACTION_LABELS, INSTRUCTIONS, KIND_LABELS, NEXT_STATUS, SOURCE_LABELS
from explorer.ui import auth, caches, keys, nav, widgets
from explorer.ui.survey_store import survey_db
from textvae_core.decoding import METHODS

nav.page("Survey design")
auth.unlock("admin")
db = survey_db()

with st.expander("New survey", expanded=not repo.list_surveys(db)):
    f: dict = {"kind": st.radio("Kind", list(KIND_LABELS), format_func=KIND_LABELS.get, horizontal=True)}
    pairwise = f["kind"] == "pairwise"
    f["title"] = st.text_input("Title (judges see it: do not name the models)", "Which sentence is better?")
    f["instructions"] = st.text_area("Instructions for judges", INSTRUCTIONS[f["kind"]], key=f"instr-{f['kind']}")
    runs = [str(r.path) for r in caches.all_runs()[0] if r.has_weights]
    f["runs"] = st.multiselect("Runs", runs, format_func=lambda p: Path(p).name)
    c = st.columns(4)
    f["n"] = c[0].number_input("Source sentences" if pairwise else "Samples per model", 1, 5000, 30)
    f["items_per_judge"] = c[1].number_input("Items per judge", 1, 500, 20)
    f["min_len"], f["max_len"] = (
        c[2].number_input("Min words", 1, 200, 1),
        c[3].number_input("Max words (0: any)", 0, 200, 0),
    )
    if pairwise:
        f["source"] = st.radio("Source sentences", list(SOURCE_LABELS), format_func=SOURCE_LABELS.get, horizontal=True)
        f["pasted"] = st.text_area("One sentence per line", disabled=f["source"] != "pasted")
        f["use_mean"] = st.checkbox("Decode the posterior mean μ(x) (else a draw z ~ q(z|x))", True)
    method = "greedy" if pairwise else "sample"  # the papers' settings: greedy reconstructions, sampled prior
    f["decoding"] = widgets.decoding_widgets("design", METHODS, method, top_k=0, top_p=1.0, max_len=50)
    f["seed"] = st.number_input("Seed (sources, samples, item order)", 0, 2**31 - 1, 0)
    f["skip_unk"] = st.checkbox("Skip sentences with <unk>")
    if st.button("Generate and freeze items", type="primary", disabled=not f["runs"]):
        try:
            with st.spinner("Decoding with every model…"):
                design = SurveyDesign(**f)
                survey = repo.create_survey(db, design, generate(design, caches.load_model))
                st.session_state[keys.SURVEY_SELECTED] = survey.id
            st.success("Survey created as a draft: check its items below, then open it to judges.")
        except SurveyError as err:
            st.error(str(err))

row = widgets.pick_survey(db, "No survey yet: design one above.")
st.dataframe([row.row()], hide_index=True, width="stretch")
st.markdown("**Judge link**: the same for every judge; each gets their own items, and a personal link to come back.")
st.code(access.judge_link(row.token, st.context.url, base_path=st.get_option("server.baseUrlPath")), language=None)
left, right = st.columns(2)
if left.button(ACTION_LABELS[row.status], type="primary" if row.status == "draft" else "secondary"):
    repo.set_status(db, row.id, NEXT_STATUS[row.status])
    st.rerun()
if row.status == "draft" and right.button("Delete this draft"):
    repo.delete_draft(db, row.id)
    st.rerun()
with st.expander(f"Frozen items ({row.items}), with the models behind them"):
    st.dataframe(repo.items_frame(db, row.id), hide_index=True, width="stretch")
with st.expander("Design and generation notes"):
    st.json(repo.get_survey(db, row.id).design)
