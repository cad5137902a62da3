"""The locks of the survey pages: the admin secret opens design and results, a viewer secret results only."""

from __future__ import annotations

import streamlit as st

from . import keys

LOCKS = {  # role → (session flag, form key, field label, refusal)
    "admin": (keys.ADMIN_UNLOCKED, "admin-login", "Admin secret", "That is not the admin secret."),
    "viewer": (
        keys.VIEWER_UNLOCKED,
        "viewer-login",
        "Admin or viewer secret",
        "That is neither the admin nor the viewer secret.",
    ),
}


def unlock(role: str) -> None:
    """Stop the page until the user gives the admin (or, for role viewer, a viewer) secret."""
    from ..survey import access

    if not access.configured("admin", st.secrets):
        st.error(access.HOW_TO)
        st.stop()
    flag, form, label, refusal = LOCKS[role]
    if st.session_state.get(flag):
        return
    with st.form(form):
        given = st.text_input(label, type="password")
        if st.form_submit_button("Unlock"):
            if access.check(given, role, st.secrets):
                st.session_state[flag] = True
                st.rerun()
            st.error(refusal)
    st.stop()
