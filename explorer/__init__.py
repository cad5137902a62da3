"""The app's logic, testable without a browser: runs from their JSON, latent maps, text tools, plots,
labels and surveys. ``explorer.ui`` is the one Streamlit layer (caches, widgets, navigation). Needs the
``app`` extra (``pip install -e ".[app]"``); importing it without says so."""

from textvae_core.extras import require

require("app", "explorer (the app)")
