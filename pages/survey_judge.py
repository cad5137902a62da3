"""Survey: the judge's page, reached by a link ``/?survey=<code>`` (app.py sends it here) or the sidebar's "Join a
survey" (a form asks the code). A survey's page has no navigation, only "Leave this survey"; blind by construction:
it only ever holds what repo's judge functions return (texts and opaque ids)."""

from __future__ import annotations

import streamlit as st

from explorer.markup import md_escape
from explorer.survey import access, repo
from explorer.survey.errors import SurveyError
from explorer.survey.view import ANSWER_LABELS
from explorer.ui import judging, nav
from explorer.ui.survey_store import survey_db

db = survey_db()
code, judge = st.query_params.get("survey", ""), st.query_params.get("judge", "")
# a survey's page has no sidebar (nothing leads to the model pages); the code form keeps it: the way back
nav.page("Survey", navigation=not code, heading=not code)
if not code:
    with st.form("survey-code"):
        entered = st.text_input("Survey code", help="The code at the end of the link you were given (…?survey=CODE)")
        if st.form_submit_button("Open", type="primary") and entered.strip():
            st.query_params["survey"] = entered.strip()
            st.rerun()
    st.stop()
try:
    survey = repo.public_survey(db, code)
    ticket = repo.resume(db, code, judge) if judge else None
except SurveyError as err:
    st.error(str(err))
    if judge and st.button("Start again"):
        del st.query_params["judge"]
        st.rerun()
    judging.stop()

st.title(survey.title)
if survey.instructions:
    st.markdown(md_escape(survey.instructions))
if ticket is None:
    with st.form("join"):
        name = st.text_input("Your name (optional)", max_chars=repo.MAX_NAME, help="Shown to the survey's team only.")
        if st.form_submit_button("Start", type="primary"):
            client = access.client_key(access.client_address(st.context.ip_address, st.context.headers), code)
            try:
                st.query_params["judge"] = repo.join(db, code, name, client=client).token
                st.rerun()
            except SurveyError as err:
                st.error(str(err))
    with st.form("back"):
        back = st.text_input("Joined before? Your judge code", help="The code after judge= in your personal link")
        if st.form_submit_button("Continue") and back.strip():
            st.query_params["judge"] = back.strip()
            st.rerun()
    st.caption(f"You will see at most {survey.items_per_judge} questions. You can stop and come back at any time.")
    judging.stop()

if message := judging.pop_message():
    st.warning(message)
st.progress(ticket.done / max(ticket.total, 1), text=f"{ticket.done} of {ticket.total} answered")
item = repo.next_item(db, code, judge)
if item is None:
    st.success("All done: thank you for your answers! You can close this page.")
    judging.stop()
judging.mark_shown(item.token)
if item.kind == "pairwise":
    st.markdown("**Original sentence**")
    st.info(md_escape(item.source or ""))
    for col, text, label in zip(st.columns(2), item.texts, ("1", "2"), strict=True):
        col.container(border=True).markdown(f"**Reconstruction {label}**\n\n{md_escape(text)}")
else:
    st.container(border=True).markdown(f"### {md_escape(item.texts[0])}")
for col, (choice, label) in zip(st.columns(2), ANSWER_LABELS[item.kind].items(), strict=True):
    args = (db, code, judge, item.token, choice)
    col.button(label, key=f"{choice}-{item.token}", on_click=judging.answer, args=args, type="primary", width="stretch")
st.caption(
    f"Question {item.number} of {item.total}. To continue later, keep this link: "
    f"{access.judge_link(code, st.context.url, judge, st.get_option('server.baseUrlPath'))}"
)
judging.leave_button()
