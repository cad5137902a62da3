"""Training: launch runs as their own processes, watch them live, stop, resume, evaluate when done."""

from __future__ import annotations

import streamlit as st

from explorer import jobs, training
from explorer.markup import md_escape
from explorer.survey import access
from explorer.ui import auth, nav
from explorer.ui import training_widgets as widgets

nav.page("Training")
secret = bool(access.configured("admin", st.secrets))
mode, note = training.training_access(st.get_option("server.address"), secret, dict(st.context.headers))
if mode == "locked":
    st.error(f"{md_escape(note)}\n\n{access.HOW_TO}")
    st.stop()
if mode == "secret":
    auth.unlock("admin")
st.caption(note)
root = jobs.train_root()

with st.expander("New run", expanded=not any(s.state in jobs.ACTIVE for s in jobs.list_jobs(root))):
    widgets.new_run(root)


@st.fragment(run_every=1.5)
def live() -> None:
    """Re-reads the jobs' queue and logs every 1.5 s: the page around it does not rerun."""
    if statuses := widgets.jobs_table(root):
        widgets.job_view(root, widgets.watched(statuses))


live()
