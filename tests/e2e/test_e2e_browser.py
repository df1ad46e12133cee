"""End to end in a real browser: streamlit run + Chromium (Playwright).

Upload a CSV through the file uploader, see the imbalance charts, train a tiny model in the
background until it finishes, and read the per-group metrics on the Results page.
Screenshots go to tests/_artifacts/. Without /usr/bin/chromium the test is skipped locally
and fails when the CI environment variable is set (CI must run it).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "tests" / "_artifacts"
CHROMIUM = Path(os.environ.get("MCRAGE_CHROMIUM", "/usr/bin/chromium"))

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


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
    port = _free_port()
    env = dict(os.environ)
    env.update(
        {
            "MCRAGE_HOME": str(tmp_path / "home"),
            "MCRAGE_TEST_MODE": "1",
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


@pytest.fixture()
def small_csv(tmp_path: Path) -> Path:
    df = pd.read_csv(REPO / "sample_data" / "support2.csv")
    parts = [g.head(140 if race == "white" else 60) for race, g in df.groupby("race")]
    path = tmp_path / "ward_extract.csv"
    pd.concat(parts).sample(frac=1.0, random_state=0).to_csv(path, index=False)
    return path


def test_upload_imbalance_train_results_in_chromium(server: str, small_csv: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(60_000)
            page.goto(server)
            expect(page.get_by_text("Upload a table (CSV, Parquet or Excel)")).to_be_visible()

            # 1. upload through the real file uploader
            page.locator("input[type='file']").set_input_files(str(small_csv))
            expect(page.get_by_text("Columns and their roles")).to_be_visible()
            expect(page.get_by_text("ward_extract.csv").first).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "e2e_1_data.png"), full_page=True)

            # 2. imbalance page: a plotly chart rendered
            page.get_by_role("link", name="2 · Imbalance").first.click()
            chart = page.locator(".js-plotly-plot").first
            expect(chart).to_be_visible()
            expect(chart).to_contain_text("asian")
            page.screenshot(path=str(ARTIFACTS / "e2e_2_imbalance.png"), full_page=True)

            # 3. train with the tiny preset (first in test mode) and wait for the end
            page.get_by_role("link", name="3 · Train").first.click()
            expect(page.get_by_text("Augmentation plan")).to_be_visible()
            page.get_by_role("button", name="Start training").click()
            expect(page.get_by_text("running").first).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "e2e_3_training.png"), full_page=True)
            expect(page.get_by_text("Finished. See the results")).to_be_visible(timeout=300_000)
            page.screenshot(path=str(ARTIFACTS / "e2e_4_trained.png"), full_page=True)

            # 4. results: per-group metrics
            page.get_by_role("link", name="5 · Results").first.click()
            expect(page.get_by_text("Per group", exact=True)).to_be_visible()
            bars = page.locator(".js-plotly-plot").first
            expect(bars).to_be_visible()
            for group in ("asian", "black", "hispanic", "white"):
                expect(bars).to_contain_text(group)
            expect(page.get_by_text("Fairness gaps before and after")).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "e2e_5_results.png"), full_page=True)
            assert page.get_by_text("Traceback").count() == 0
        finally:
            browser.close()
