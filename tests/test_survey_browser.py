"""End to end in headless Chromium: a judge opens the link, answers items blind, and the answers show on the
results page. Skips with a reason without Chromium or Playwright.

TEXTVAE_SAVE_SCREENSHOTS=1 also writes the judge, design and results screenshots to docs/screenshots/.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd

from explorer.survey.db import connect
from explorer.survey.view import INSTRUCTIONS
from tests import browser
from tests.survey_support import make_survey

pytest_plugins = ["tests.survey_fixtures"]
ADMIN = "e2e-admin-secret"


def shoot(page: object, name: str, tmp_path: Path) -> None:
    page.mouse.move(0, 0)  # no tooltip in the picture
    page.wait_for_timeout(300)
    page.screenshot(path=str(tmp_path / name), full_page=True)
    if os.environ.get("TEXTVAE_SAVE_SCREENSHOTS") == "1":
        browser.SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(tmp_path / name, browser.SCREENSHOTS / name)


def unlock(page: object, url: str, title: str, then: str) -> None:
    """Open an admin page from the app's navigation, give the secret, and wait for ``then`` (what the lock hid)."""
    page.goto(f"{url}/")
    browser.wait_ready(page)
    page.get_by_role("link", name=title).click()
    page.wait_for_selector("input[type=password]", timeout=120_000)
    page.locator("input[type=password]").fill(ADMIN)
    page.get_by_role("button", name="Unlock").click()
    page.wait_for_selector(then, timeout=120_000)
    browser.wait_ready(page)


def test_judge_answers_blind_and_results_show_them(survey_runs: list[Path], tmp_path: Path) -> None:
    browser.skip_without_browser()
    db_url = f"sqlite:///{tmp_path / 'surveys.sqlite3'}"
    survey = make_survey(
        connect(db_url),
        survey_runs,
        n=6,
        per_judge=5,
        title="Which reconstruction is closer?",
        instructions=INSTRUCTIONS["pairwise"],
    )
    env = {"TEXTVAE_SURVEY_DB": db_url, "TEXTVAE_SURVEY_ADMIN": ADMIN, "TEXTVAE_RUNS": str(survey_runs[0].parent)}
    secrets = [r.name for r in survey_runs] + [str(survey_runs[0].parent), "zebra", "walrus", "beta-c"]
    with browser.serve(env) as url, browser.browser_page(width=1200, height=900) as page:
        page.goto(f"{url}/?survey={survey.token}")
        browser.wait_ready(page)
        page.get_by_label("Your name (optional)", exact=True).fill("Ada")
        page.get_by_role("button", name="Start").click()
        page.wait_for_selector("text=0 of 5 answered", timeout=120_000)
        browser.wait_ready(page)
        for k in range(3):
            html = page.content()
            assert not [w for w in secrets if w in html or w in page.url], "a model name reached the judge"
            assert f"{k} of 5 answered" in html
            page.get_by_role("button", name=f"Reconstruction {1 + k % 2} is closer").click()
            page.wait_for_selector(f"text={k + 1} of 5 answered", timeout=120_000)
            browser.wait_ready(page)
        assert "3 of 5 answered" in page.content() and "judge=" in page.url
        assert page.locator('[data-testid="stSidebar"]').count() == 0  # no way to the pages that name models
        assert page.locator('[data-testid="stSidebarNav"]').count() == 0
        shoot(page, "survey-judge.png", tmp_path)

        unlock(page, url, "Survey design", '[data-testid="stCode"]')
        assert f"?survey={survey.token}" in page.locator('[data-testid="stCode"]').first.inner_text()
        page.get_by_text("Frozen items").click()
        browser.wait_ready(page)
        shoot(page, "survey-design.png", tmp_path)

        unlock(page, url, "Survey results", '[data-testid="stMetric"]')
        metrics = page.locator('[data-testid="stMetric"]').all_inner_texts()
        assert any("Answers" in m and "3" in m for m in metrics), metrics
        assert any("1 / 1" in m for m in metrics), metrics
        assert page.get_by_text("Pairwise preferences").count() == 1
        with page.expect_download() as download:
            page.get_by_role("button", name="Download raw answers (CSV, every judge)").click()
        csv = pd.read_csv(download.value.path())
        assert len(csv) == 3 and set(csv["judge_name"]) == {"Ada"} and set(csv["side"]) == {"left", "right"}
        shoot(page, "survey-results.png", tmp_path)
