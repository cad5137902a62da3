"""Start the explorer: ``python -m explorer.serve [streamlit run options]``.

The same as ``streamlit run app.py``, minus one glitch of Streamlit's: a server process treats its
first session as an old-style app with a ``pages/`` folder, finds no page there for a deep link such
as ``/homotopy`` (ours sit in sub-folders and are declared by ``st.navigation`` in app.py), and shows
the first visitor a "Page not found" dialog before app.py declares the pages. Starting the server
here marks the app as navigation-driven from the start, so the first deep link opens cleanly.
"""

from __future__ import annotations

import sys
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app.py"


def main(argv: list[str] | None = None) -> None:
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.web import cli

    if hasattr(PagesManager, "uses_pages_directory"):  # set once per process, from None; app.py uses st.navigation
        PagesManager.uses_pages_directory = False
    sys.argv = ["streamlit", "run", str(APP), *(sys.argv[1:] if argv is None else argv)]
    cli.main()


if __name__ == "__main__":
    main()
