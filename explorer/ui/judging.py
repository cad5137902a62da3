"""What the judge's page keeps between reruns: when each item was first shown, and a message to show after
the rerun that a button's callback starts (a refusal, e.g. an item already answered); and its way out."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, NoReturn

import streamlit as st

from . import keys

if TYPE_CHECKING:
    from ..survey.db import Store


def mark_shown(item: str) -> None:
    """Remember when the judge first saw an item (its answer time runs from there, across reruns)."""
    st.session_state.setdefault(keys.JUDGE_SHOWN, {}).setdefault(item, time.monotonic())


def answer(db: Store, code: str, judge: str, item: str, choice: str) -> None:
    """Button callback: store the answer with its time (stored once, however often it is clicked)."""
    from ..survey import repo
    from ..survey.errors import SurveyError

    shown = st.session_state.get(keys.JUDGE_SHOWN, {}).pop(item, None)
    elapsed = None if shown is None else int(1000 * (time.monotonic() - shown))
    try:
        repo.submit(db, code, judge, item, choice, elapsed)
    except SurveyError as err:
        st.session_state[keys.JUDGE_MESSAGE] = str(err)


def pop_message() -> str | None:
    return st.session_state.pop(keys.JUDGE_MESSAGE, None)


def leave_button() -> None:
    """The way out of a survey, under everything else on its page: back to the survey-code form, whose sidebar
    leads to the explorer (its pages keep the runs of open surveys from anyone without a secret, so leaving
    reveals no model). Nothing here names a page or a run; the judge's personal link brings them back."""
    st.button(
        "Leave this survey",
        key="leave-survey",
        on_click=_leave,
        type="tertiary",
        icon=":material/logout:",
        help="Back to the explorer. Your answers are kept; your personal link brings you back to your questions.",
    )


def stop() -> NoReturn:
    """End a survey's page here, under its way out (:func:`leave_button`)."""
    leave_button()
    st.stop()


def _leave() -> None:
    st.query_params.clear()  # no survey and no judge code: the page shows the code form and the sidebar
    st.session_state.pop(keys.JUDGE_SHOWN, None)
    st.session_state.pop(keys.JUDGE_MESSAGE, None)
