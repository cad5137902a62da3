"""Screenshots of every explorer page on the shipped checkpoints, and of the Training page's form (a new
recipe, and one started from a shipped run's), into docs/screenshots/ (for the README and docs/APP.md).

python -m scripts.screenshots            # needs Chromium (Debian: chromium) and playwright (the dev extra)
"""

from __future__ import annotations

import tempfile
import time

from tests.browser import SCREENSHOTS, browser_page, serve, wait_ready
from textvae_core.paths import ROOT

PAGES = [
    "",
    "rate_distortion",
    "posterior",
    "reconstructions",
    "homotopy",
    "encoder_lens",
    "neighbours",
    "arithmetic",
    "prior_samples",
]


def main() -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    # the shipped checkpoints alone: an empty folder for the Training page, so no local run of runs/ shows
    # served on localhost only: the Training page's form is open there without an admin secret
    local = ("--server.address", "127.0.0.1")
    with tempfile.TemporaryDirectory() as empty, serve(env={"TEXTVAE_TRAIN_DIR": empty}, args=local) as url:
        shoot(url)


def shoot(url: str) -> None:
    """Each page at its defaults, full height, into docs/screenshots/."""
    with browser_page(width=1400, height=1800) as page:  # Streamlit scrolls inside: the viewport is the shot
        for name in PAGES:
            t0 = time.perf_counter()
            page.goto(f"{url}/{name}")
            wait_ready(page, timeout_ms=600_000)
            page.mouse.move(0, 0)
            path = SCREENSHOTS / f"explorer-{name or 'runs'}.png"
            page.screenshot(path=str(path), full_page=True)
            print(f"{path.relative_to(ROOT)}  ({time.perf_counter() - t0:.1f} s)")
        page.goto(f"{url}/training")
        wait_ready(page)
        for name, start_from in (("training-form", ""), ("training-start-from", "ptb-lstm-record")):
            if start_from:
                page.get_by_role("combobox", name="Start from").click()
                page.get_by_role("option", name=start_from, exact=True).click()
                wait_ready(page)
            page.mouse.move(0, 0)
            path = SCREENSHOTS / f"{name}.png"
            page.screenshot(path=str(path), full_page=True)
            print(path.relative_to(ROOT))


if __name__ == "__main__":
    main()
