"""End to end in a real browser: streamlit run + Chromium (Playwright).

Upload a CSV through the file uploader, see the imbalance charts, train a tiny model in the
background until it finishes, and read the per-group metrics on the Results page.
Screenshots go to tests/_artifacts/. Without /usr/bin/chromium the test is skipped locally
and fails when the CI environment variable is set (CI must run it).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "tests" / "_artifacts"

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture()
def small_csv(tmp_path: Path) -> Path:
    df = pd.read_csv(REPO / "sample_data" / "support2.csv")
    parts = [g.head(140 if race == "white" else 60) for race, g in df.groupby("race")]
    path = tmp_path / "ward_extract.csv"
    pd.concat(parts).sample(frac=1.0, random_state=0).to_csv(path, index=False)
    return path


def _verdict_phrases(results: dict) -> list[str]:
    """What the Results page's paragraph must say for every F1 verdict of race."""

    def signed(x: float) -> str:
        text = f"{x:+.2f}"
        return "+0.00" if text == "-0.00" else text

    out = []
    for v in results["verdicts"]:
        if v["attribute"] == "race" and v["metric"] == "f1":
            lead = f"For {v['group']} patients" if v["verdict"] != "no measurable change" else ""
            numbers = f"{v['baseline']:.2f}", f"{v['value']:.2f}"
            change = (
                f"{signed(v['delta'])}, 95 % CI {signed(v['ci_low'])} to {signed(v['ci_high'])}"
            )
            out += [p for p in (lead, *numbers, change, v["group"]) if p]
    return out


def test_upload_imbalance_train_results_in_chromium(
    browser_page, ui, small_csv: Path, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    expect(page.get_by_text("Upload a table (CSV, Parquet or Excel)")).to_be_visible()

    # 1. upload through the real file uploader
    page.locator("input[type='file']").set_input_files(str(small_csv))
    expect(page.get_by_text("Columns and their roles")).to_be_visible()
    expect(page.get_by_text("ward_extract.csv").first).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "e2e_1_data.png"), full_page=True)

    # 2. imbalance page: a plotly chart rendered
    ui.go("2 · Imbalance", "imbalance")
    chart = page.locator(".js-plotly-plot").first
    expect(chart).to_be_visible()
    expect(chart).to_contain_text("asian")
    page.screenshot(path=str(ARTIFACTS / "e2e_2_imbalance.png"), full_page=True)

    # 3. train with the tiny preset (first in test mode) and wait for the end
    ui.go("3 · Train", "train")
    expect(page.get_by_text("Augmentation plan")).to_be_visible()
    page.get_by_text("Quick check: 3-fold").click()  # every row tested once: all judged
    ui.idle()
    page.get_by_role("button", name="Start training").click()
    expect(page.get_by_text("running").first).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "e2e_3_training.png"), full_page=True)
    expect(page.get_by_text("Finished. See the results")).to_be_visible(timeout=300_000)
    page.screenshot(path=str(ARTIFACTS / "e2e_4_trained.png"), full_page=True)

    # 4. results: the verdict paragraph says what results.json says, then per-group metrics
    ui.go("5 · Results", "results")
    paragraph = page.locator(".st-key-verdict_paragraph")
    expect(paragraph).to_contain_text("Verdicts on F1 for race")
    (saved,) = (tmp_path / "home").rglob("results.json")
    results = json.loads(saved.read_text(encoding="utf-8"))
    phrases = _verdict_phrases(results)
    assert phrases, "the run has no F1 verdicts for race"
    text = paragraph.inner_text()
    missing = [p for p in phrases if p not in text]
    assert not missing, (missing, text)
    expect(page.get_by_text("Per group", exact=True)).to_be_visible()
    bars = page.locator(".js-plotly-plot").first
    expect(bars).to_be_visible()
    for group in ("asian", "black", "hispanic", "white"):
        expect(bars).to_contain_text(group)
    expect(page.get_by_text("Fairness gaps before and after")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "e2e_5_results.png"), full_page=True)
    assert page.get_by_text("Traceback").count() == 0
