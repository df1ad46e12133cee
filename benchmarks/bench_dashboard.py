"""Dashboard performance: upload of a 100,000 x 30 CSV to the rendered Imbalance page, and
page reruns after caching.

Two measurements:

* ``browser``: ``streamlit run`` + headless Chromium (Playwright). Time from
  ``set_input_files`` on the uploader to the Data page showing the schema, then from the
  click on "2 · Imbalance" to the first plotly chart being visible; then page switches
  (Data <-> Imbalance, cached) until the chart / schema is visible again.
* ``apptest``: Streamlit's AppTest (no browser): script time of the upload rerun, the first
  Imbalance run, and 20 reruns of each page after caching (median and max).

Usage::

    .venv/bin/python benchmarks/bench_dashboard.py                 # both
    .venv/bin/python benchmarks/bench_dashboard.py --skip-browser  # AppTest only
    .venv/bin/python benchmarks/bench_dashboard.py --screenshot docs/screenshot_dashboard.png
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
APP = REPO / "dashboard" / "app.py"
OUT = REPO / "benchmarks" / "_out"


def make_table(n_rows: int, n_cols: int, seed: int = 0) -> pd.DataFrame:
    """A synthetic EHR-like table: race, sex, age, an outcome and numeric/categorical labs."""
    rng = np.random.default_rng(seed)
    race = rng.choice(
        ["white", "black", "hispanic", "asian", "other"], n_rows, p=[0.7, 0.15, 0.08, 0.04, 0.03]
    )
    sex = rng.choice(["female", "male"], n_rows, p=[0.45, 0.55])
    age = rng.normal(62, 16, n_rows).clip(18, 100).round(1)
    data: dict[str, object] = {"age": age, "sex": sex, "race": race}
    n_extra = n_cols - 4
    for i in range(n_extra):
        if i % 5 == 4:
            data[f"category_{i}"] = rng.choice(["a", "b", "c", "d"], n_rows)
        else:
            col = rng.normal(100 + i, 15, n_rows).round(2)
            col[rng.random(n_rows) < 0.1] = np.nan
            data[f"lab_{i}"] = col
    logit = 0.03 * (age - 60) + 0.01 * (np.nan_to_num(data["lab_0"], nan=100.0) - 100)
    data["died_within_6_months"] = (rng.random(n_rows) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame(data)


def _machine() -> dict[str, object]:
    import plotly
    import streamlit

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "load_avg_1min": os.getloadavg()[0],
        "streamlit": streamlit.__version__,
        "pandas": pd.__version__,
        "plotly": plotly.__version__,
    }


# ----------------------------------------------------------------------------- AppTest


def bench_apptest(csv_bytes: bytes, reruns: int) -> dict[str, object]:
    from streamlit.testing.v1 import AppTest

    os.environ.setdefault("MCRAGE_HOME", tempfile.mkdtemp(prefix="mcrage_bench_"))
    at = AppTest.from_file(str(APP), default_timeout=300).run()
    at.file_uploader(key="upload").set_value(("big.csv", csv_bytes, "text/csv"))
    t0 = time.perf_counter()
    at.run()
    upload_s = time.perf_counter() - t0
    assert not at.exception, at.exception
    t0 = time.perf_counter()
    at.switch_page("app_pages/imbalance.py").run()
    imbalance_s = time.perf_counter() - t0
    assert not at.exception and len(at.get("plotly_chart")) >= 3
    out: dict[str, object] = {
        "upload_to_data_page_s": round(upload_s, 3),
        "first_imbalance_run_s": round(imbalance_s, 3),
        "upload_to_imbalance_s": round(upload_s + imbalance_s, 3),
    }
    for page in ("app_pages/imbalance.py", "app_pages/data.py", "app_pages/train.py"):
        at.switch_page(page).run()
        times = []
        for _ in range(reruns):
            t0 = time.perf_counter()
            at.run()
            times.append(time.perf_counter() - t0)
        assert not at.exception, at.exception
        name = Path(page).stem
        out[f"rerun_{name}_median_s"] = round(statistics.median(times), 3)
        out[f"rerun_{name}_max_s"] = round(max(times), 3)
    return out


# ----------------------------------------------------------------------------- browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bench_browser(csv_path: Path, switches: int, screenshot: Path | None) -> dict[str, object]:
    from playwright.sync_api import expect, sync_playwright

    port = _free_port()
    home = tempfile.mkdtemp(prefix="mcrage_bench_home_")
    env = dict(os.environ, MCRAGE_HOME=home, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(APP), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                    break
            except OSError:
                time.sleep(0.3)
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path="/usr/bin/chromium",
                args=["--headless", "--no-sandbox", "--disable-gpu",
                      "--disable-background-networking"],
            )  # fmt: skip
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(120_000)
            page.goto(url)
            expect(page.get_by_text("Upload a table (CSV, Parquet or Excel)")).to_be_visible()
            t0 = time.perf_counter()
            page.locator("input[type='file']").set_input_files(str(csv_path))
            expect(page.get_by_text("Columns and their roles")).to_be_visible()
            t_data = time.perf_counter() - t0
            t1 = time.perf_counter()
            page.get_by_role("link", name="2 · Imbalance").first.click()
            expect(page.locator(".js-plotly-plot").first).to_be_visible()
            expect(page.get_by_text("Intersections")).to_be_visible()
            t_imb = time.perf_counter() - t1
            to_imbalance, to_data = [], []
            for _ in range(switches):
                t0 = time.perf_counter()
                page.get_by_role("link", name="1 · Data").first.click()
                expect(page.get_by_text("Columns and their roles")).to_be_visible()
                to_data.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                page.get_by_role("link", name="2 · Imbalance").first.click()
                expect(page.get_by_text("Intersections")).to_be_visible()
                expect(page.locator(".js-plotly-plot").first).to_be_visible()
                to_imbalance.append(time.perf_counter() - t0)
            if screenshot is not None:  # the README picture: SUPPORT2 on the Imbalance page
                page = browser.new_page(viewport={"width": 1400, "height": 1050})
                page.goto(url)
                page.get_by_role("button", name="Use the support2 sample").click()
                expect(page.get_by_text("Columns and their roles")).to_be_visible()
                page.get_by_role("link", name="2 · Imbalance").first.click()
                expect(page.locator(".js-plotly-plot").first).to_be_visible()
                page.get_by_text("Flag groups with fewer rows than").scroll_into_view_if_needed()
                page.mouse.move(800, 500)
                page.mouse.wheel(0, 520)
                page.wait_for_timeout(1500)
                screenshot.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(screenshot))
            browser.close()
        return {
            "upload_to_data_page_s": round(t_data, 3),
            "data_to_imbalance_s": round(t_imb, 3),
            "upload_to_rendered_imbalance_s": round(t_data + t_imb, 3),
            "switch_to_imbalance_median_s": round(statistics.median(to_imbalance), 3),
            "switch_to_imbalance_max_s": round(max(to_imbalance), 3),
            "switch_to_data_median_s": round(statistics.median(to_data), 3),
            "switch_to_data_max_s": round(max(to_data), 3),
        }
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--cols", type=int, default=30)
    parser.add_argument("--reruns", type=int, default=20)
    parser.add_argument("--switches", type=int, default=5)
    parser.add_argument("--skip-browser", action="store_true")
    parser.add_argument("--skip-apptest", action="store_true")
    parser.add_argument("--screenshot", type=Path, default=None)
    args = parser.parse_args(argv)

    OUT.mkdir(parents=True, exist_ok=True)
    csv_path = OUT / f"bench_{args.rows}x{args.cols}.csv"
    if not csv_path.exists():
        make_table(args.rows, args.cols).to_csv(csv_path, index=False)
    result: dict[str, object] = {
        "table": {
            "rows": args.rows,
            "cols": args.cols,
            "mb": round(csv_path.stat().st_size / 1e6, 1),
        },
        "machine": _machine(),
    }
    if not args.skip_apptest:
        result["apptest"] = bench_apptest(csv_path.read_bytes(), args.reruns)
    if not args.skip_browser:
        result["browser"] = bench_browser(csv_path, args.switches, args.screenshot)
    text = json.dumps(result, indent=2)
    print(text)
    (OUT / "bench_dashboard.json").write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
