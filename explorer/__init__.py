"""The app's logic, testable without a browser: runs from their JSON, latent maps, text tools, plots,
surveys and the reproduction report. ``explorer.ui`` is the one Streamlit layer (caches, widgets, navigation)."""
