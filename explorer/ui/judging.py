"""What the judge's page keeps between reruns: when each item was first shown, and a message to show after
the rerun that a button's callback starts (a refusal, e.g. an item already answered)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

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
