"""The survey database of this process: SQLite under var/ by default, $TEXTVAE_SURVEY_DB otherwise."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

if TYPE_CHECKING:  # SQLAlchemy is imported when a survey page first needs the store
    from ..survey.db import Store


def survey_db() -> Store:
    """The survey database, one engine per process and URL."""
    from ..survey.db import database_url

    return _survey_store(database_url())


@st.cache_resource(show_spinner=False)
def _survey_store(url: str) -> Store:
    from ..survey.db import connect

    return connect(url)


def hidden_runs() -> set[str]:
    """Run folders the explorer pages keep from this visitor: those of open surveys (explorer.survey.repo.
    open_survey_runs), unless this session gave the admin or the viewer secret. None when no survey exists."""
    from . import keys

    if st.session_state.get(keys.ADMIN_UNLOCKED) or st.session_state.get(keys.VIEWER_UNLOCKED):
        return set()
    from ..survey.db import DEFAULT_DB, database_url

    url = database_url()
    if url == f"sqlite:///{DEFAULT_DB}" and not DEFAULT_DB.exists():
        return set()  # no survey was ever made here: nothing to hide, and no database to create
    return set(_open_survey_runs(url))


@st.cache_data(ttl=10, show_spinner=False)
def _open_survey_runs(url: str) -> frozenset[str]:
    from ..survey import repo

    return frozenset(repo.open_survey_runs(_survey_store(url)))
