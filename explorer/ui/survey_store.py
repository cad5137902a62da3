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
