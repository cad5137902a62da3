"""The main flows in a real headless Chromium: every page renders, and the C slider swaps reconstructions.

Screenshots of every page go to tests/output/screenshots/ (a CI artifact; look at them).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser import browser_page, serve, skip_without_browser, wait_ready

OUT = Path(__file__).resolve().parent / "output" / "screenshots"
PAGES = {  # URL path → text the page shows once it has computed something from the runs
    # a deep link first, on a fresh server: it must run app.py (its navigation), not a bare page script
    "rate_distortion": "tiny-bc10",
    "posterior": "60 test sentences",
    "reconstructions": "mean BLEU-4",
    "homotopy": "repeat(s) in 6 steps",
    "encoder_lens": "KL of this sentence",
    "prior_samples": "mean length",
    "neighbours": "shared words",
    "arithmetic": "sentence",
    "": "tiny-bc3",
}


@pytest.fixture(scope="module")
def app_url(run_folder: Path):
    skip_without_browser()
    with serve({"TEXTVAE_RUNS": str(run_folder)}) as url:
        yield url


def test_every_page_opens_from_its_own_url(app_url: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with browser_page() as page:
        for name, expected in PAGES.items():
            page.goto(f"{app_url}/{name}")
            wait_ready(page)
            # a server's first deep link runs the main page once before the page itself: wait for the content
            page.wait_for_function("t => document.body.innerText.includes(t)", arg=expected, timeout=240_000)
            wait_ready(page)
            body = page.inner_text("body")
            assert "Page not found" not in body, f"{name}: the first deep link was not recognised"
            assert "Traceback" not in body and "Error" not in page.title(), name
            assert expected in body, f"{name or 'runs'}: {expected!r} not shown"
            assert page.locator('[data-testid="stSidebarNav"]').count() == 0  # Streamlit's own list is off
            nav = page.locator('[data-testid="stSidebar"]').inner_text()  # the app's: explorer/ui/nav.py
            assert "Explore" in nav and "Surveys" in nav and "Aggregated posterior" in nav, nav
            page.screenshot(path=str(OUT / f"{name or 'runs'}.png"), full_page=True)


def _heading(page, run: str) -> int:
    return page.locator('[data-testid="stMarkdownContainer"] strong').get_by_text(run, exact=True).count()


def _column_text(page) -> str:
    return page.locator('[data-testid="stTable"]').nth(1).inner_text()


def test_moving_the_c_slider_changes_the_reconstructions(app_url: str) -> None:
    with browser_page() as page:
        page.goto(f"{app_url}/reconstructions")
        wait_ready(page)
        area = page.get_by_label("Sentences, one per line")
        area.fill("the cat sees the house\na small bird calls the river in the morning\nmy sister likes a new book")
        area.press("Control+Enter")
        wait_ready(page)
        assert _heading(page, "tiny-bc10") == 1
        before = _column_text(page)
        thumb = page.get_by_role("slider", name="C (lstm)")
        assert thumb.get_attribute("aria-valuetext") in ("10.0", "10")
        thumb.focus()
        thumb.press("Home")  # slide to the smallest C
        wait_ready(page)
        assert _heading(page, "tiny-bc3") == 1 and _heading(page, "tiny-bc10") == 0
        after = _column_text(page)
        page.screenshot(path=str(OUT / "reconstructions_after_slider.png"), full_page=True)
        assert after != before, "the reconstructions did not change with C"


CLICK_POINT = """gd => {
    const trace = gd._fullData[0], xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
    const box = gd.getBoundingClientRect();
    return [box.left + xa._offset + xa.l2p(trace.x[0]), box.top + ya._offset + ya.l2p(trace.y[0])];
}"""


def test_clicking_a_point_of_the_map_decodes_its_latent(app_url: str) -> None:
    with browser_page() as page:
        page.goto(f"{app_url}/posterior")
        page.wait_for_function("t => document.body.innerText.includes(t)", arg="60 test sentences", timeout=240_000)
        wait_ready(page)
        chart = page.locator('[data-testid="stPlotlyChart"] .js-plotly-plot').first
        x, y = chart.evaluate(CLICK_POINT)  # where the first sentence's point is drawn
        page.mouse.move(x, y)  # plotly's WebGL scatter picks the point under a hover, then takes the click
        page.wait_for_timeout(500)
        page.mouse.click(x, y)
        page.wait_for_function("() => document.body.innerText.includes('Decoded')", timeout=120_000)
        wait_ready(page)
        info = page.locator('[data-testid="stAlert"]').filter(has_text="Decoded").inner_text()
        assert "(greedy) from" in info and len(info.split("\n")[-1].split()) >= 1
        page.wait_for_function("() => document.body.innerText.includes('Nearest test sentences')", timeout=60_000)
        near = page.get_by_text("Nearest test sentences in z").inner_text()
        assert near.count("“") == 5  # five neighbours of the clicked sentence, itself left out
        page.screenshot(path=str(OUT / "posterior_clicked.png"), full_page=True)
