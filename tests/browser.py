"""Serve the app with Streamlit on a free port and drive it in the system Chromium through Playwright.

Shared by the browser tests; they skip with a reason when Chromium or Playwright is missing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from textvae_core.paths import ROOT

CHROMIUM = os.environ.get("TEXTVAE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
READY = '[data-testid="stApp"][data-test-script-state="notRunning"]'
SCREENSHOTS = ROOT / "docs" / "screenshots"


def skip_without_browser() -> None:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.skip(f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium; or set TEXTVAE_CHROMIUM)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("playwright is not installed (pip install -e '.[dev]')")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(env: dict[str, str] | None = None, timeout: float = 90, args: tuple[str, ...] = ()) -> Iterator[str]:
    """Run the app headless as scripts/run_app.sh does (``streamlit run app.py`` in the repository root);
    yield its base URL; stop it."""
    with serve_process(env, timeout, args) as (url, _):
        yield url


@contextlib.contextmanager
def serve_process(
    env: dict[str, str] | None = None, timeout: float = 90, args: tuple[str, ...] = ()
) -> Iterator[tuple[str, subprocess.Popen]]:
    """As :func:`serve`, also yielding the server process (a test may kill it); ``args`` go to streamlit run."""
    port = free_port()
    streamlit = Path(sys.executable).parent / "streamlit"  # the venv's own `streamlit` command
    cmd = [
        *([str(streamlit)] if streamlit.exists() else [sys.executable, "-m", "streamlit"]),
        "run",
        "app.py",
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
        *args,
    ]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                out = proc.stdout.read() if proc.stdout else ""
                raise RuntimeError(f"streamlit did not start:\n{out[-3000:]}")
            time.sleep(0.3)
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextlib.contextmanager
def browser_page(width: int = 1400, height: int = 1000, args: tuple[str, ...] = ()) -> Iterator[object]:
    """A page of a headless Chromium; ``args`` go to Chromium (e.g. ``--host-resolver-rules=…``)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=[*CHROMIUM_ARGS, *args])
        try:
            yield browser.new_page(viewport={"width": width, "height": height})
        finally:
            browser.close()


def wait_ready(page: object, timeout_ms: int = 120_000) -> None:
    """Wait until the script has finished and nothing on the page is stale."""
    page.wait_for_selector(READY, timeout=timeout_ms)
    page.wait_for_function("() => document.querySelectorAll('[data-stale=\"true\"]').length === 0", timeout=timeout_ms)
    page.wait_for_timeout(300)  # let the last deltas paint
    page.wait_for_selector(READY, timeout=timeout_ms)
