"""Every page's set-up and the app's own sidebar.

Streamlit serves app.py at / and each ``pages/NAME.py`` at /NAME (its native multipage mode), so a deep
link runs that page's script at first visit. Its own page list is switched off
(``client.showSidebarNavigation = false`` in .streamlit/config.toml); :func:`page` draws ours, in
sections, with ``st.page_link``. A survey's judge page calls it with ``navigation=False``: nothing there
names another page or a model (its one way out, "Leave this survey", goes back to the survey-code form). A new page is one file in pages/ that calls :func:`page`, and one line below.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st


@dataclass(frozen=True)
class Link:
    file: str  # the page's script, relative to app.py
    label: str
    icon: str


SECTIONS: dict[str, list[Link]] = {
    "Explore": [
        Link("app.py", "Runs", ":material/table:"),
        Link("pages/rate_distortion.py", "Rate–distortion", ":material/show_chart:"),
        Link("pages/posterior.py", "Aggregated posterior", ":material/scatter_plot:"),
        Link("pages/reconstructions.py", "Reconstructions", ":material/compare_arrows:"),
        Link("pages/homotopy.py", "Homotopy", ":material/linear_scale:"),
        Link("pages/encoder_lens.py", "Encoder lens", ":material/tune:"),
        Link("pages/neighbours.py", "Neighbours", ":material/hub:"),
        Link("pages/arithmetic.py", "Latent arithmetic", ":material/calculate:"),
        Link("pages/prior_samples.py", "Prior samples", ":material/casino:"),
    ],
    "Train": [Link("pages/training.py", "Training", ":material/model_training:")],
    "Surveys": [
        Link("pages/survey_design.py", "Survey design", ":material/edit_note:"),
        Link("pages/survey_results.py", "Survey results", ":material/leaderboard:"),
        Link("pages/survey_judge.py", "Join a survey", ":material/how_to_vote:"),
    ],
}


def page(title: str, navigation: bool = True, heading: bool = True) -> None:
    """Set the page up: tab title, wide layout, the sidebar (unless ``navigation`` is False) and its title."""
    st.set_page_config(page_title=f"{title} · TextVAE Explorer", layout="wide")
    refuse_foreign_host()
    if navigation:
        sidebar()
    if heading:
        st.title(title)


def sidebar() -> None:
    with st.sidebar:
        for section, links in SECTIONS.items():
            st.caption(section)
            for link in links:
                st.page_link(link.file, label=link.label, icon=link.icon)


def refuse_foreign_host() -> None:
    """Stop a page requested by a name this server does not serve (DNS rebinding: a foreign site whose name
    resolves to this machine), whatever server.allowedHosts says (explorer.gate)."""
    from .. import gate
    from ..markup import md_escape

    why = gate.foreign_request(
        dict(st.context.headers),
        st.get_option("server.address"),
        st.get_option("server.allowedHosts") or (),
        st.get_option("browser.serverAddress"),
    )
    if why:
        st.error(md_escape(why))  # it quotes the request's own Host: never markdown
        st.stop()
