"""The app's Streamlit floor: the only modules of explorer that import Streamlit.

keys (session-state keys) · nav (page set-up and the sidebar) · caches (runs, models, maps, decodings,
cached per process) · widgets (run pickers, decoding controls, the survey picker) · survey_store (the
survey database) · auth (the admin and viewer locks) · judging (the judge page's answer times and
messages) · training_widgets (the Training page's new-run form and job view). Pages call these and the
plain modules of explorer.
"""
