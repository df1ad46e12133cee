"""Shared set-up of the real-browser tests: a ``streamlit run`` server on a free port with
a private MCRAGE_HOME, and Chromium through Playwright."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "tests" / "_artifacts"
CHROMIUM = Path(os.environ.get("MCRAGE_CHROMIUM", "/usr/bin/chromium"))


def _require_browser() -> None:
    if not CHROMIUM.exists():
        message = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message + "; the end-to-end test must run in CI")
        pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[str]:
    _require_browser()
    from playwright.sync_api import expect

    # a busy 2-core machine can take more than the default 5 s to rerun a page
    expect.set_options(timeout=30_000)
    port = _free_port()
    env = dict(os.environ)
    env.update(
        {
            "MCRAGE_HOME": str(tmp_path / "home"),
            "PYTHONPATH": str(REPO),
            "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
        }
    )
    log = open(tmp_path / "streamlit.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(REPO / "dashboard" / "app.py"),
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            "--",
            "--test-presets",  # offer the tiny model preset (dashboard.state.TEST_PRESETS)
        ],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(
                    "streamlit did not start:\n" + (tmp_path / "streamlit.log").read_text()
                )
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture()
def browser_page(server: str, request: pytest.FixtureRequest) -> Iterator[object]:
    """A Chromium page (1400 × 1000) on the app; closed afterwards, with a screenshot of
    the last state in tests/_artifacts/ (to see where a failed test stopped)."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
            page.set_default_timeout(60_000)
            page.goto(server)
            yield page
            page.screenshot(path=str(ARTIFACTS / f"last_{request.node.name}.png"))
        finally:
            browser.close()


class StreamlitUI:
    """Steps on a Streamlit page that wait for the app instead of racing it: a click that
    lands while a script run is still going can be swallowed by the rerun."""

    def __init__(self, page: object) -> None:
        self.page = page

    def idle(self) -> None:
        """Wait until the current script run has finished (the running indicator shows up
        after a short delay, so give it that delay first)."""
        from playwright.sync_api import expect

        self.page.wait_for_timeout(800)
        expect(self.page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=60_000)

    def go(self, title: str, path: str) -> None:
        """Open a page from the sidebar (again if a script run swallowed the click)."""
        from playwright.sync_api import expect

        for _ in range(4):
            self.idle()
            self.page.get_by_role("link", name=title).first.click()
            try:
                expect(self.page).to_have_url(re.compile(f"/{path}"), timeout=10_000)
            except AssertionError:
                continue
            break
        expect(self.page).to_have_url(re.compile(f"/{path}"))
        self.idle()

    def choose(self, label: str, option: str) -> None:
        """Pick ``option`` in the select box labelled ``label`` (again if a rerun closed
        the list before the click)."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout
        from playwright.sync_api import expect

        box = self.page.get_by_role("combobox", name=label, exact=True)
        for _ in range(4):
            self.idle()
            box.click()
            try:
                self.page.get_by_role("option", name=option, exact=True).click(timeout=5_000)
            except PlaywrightTimeout:
                self.page.keyboard.press("Escape")
                continue
            break
        expect(box).to_have_value(option)

    def apply_roles(self) -> None:
        self.idle()
        self.page.get_by_role("button", name="Apply").click()
        self.idle()


@pytest.fixture()
def ui(browser_page: object) -> StreamlitUI:
    return StreamlitUI(browser_page)
