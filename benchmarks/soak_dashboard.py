"""Soak: many page reruns in AppTest, measuring memory growth of the server process.

Loads SUPPORT2 (9,105 rows) through the uploader, finishes one tiny audit run in the
background, then cycles Data -> Imbalance -> Train -> Compare -> Results -> Report for
``--reruns`` reruns in one session, recording the resident set size (RSS, from
/proc/self/status) and Python heap (tracemalloc) after a warm-up cycle and at the end.

Usage::

    .venv/bin/python benchmarks/soak_dashboard.py --reruns 50 --bound-mb 50
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
APP = REPO / "dashboard" / "app.py"
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # the dashboard package (test-preset key)
PAGES = [
    "app_pages/data.py",
    "app_pages/imbalance.py",
    "app_pages/train.py",
    "app_pages/compare.py",
    "app_pages/results.py",
    "app_pages/report.py",
]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reruns", type=int, default=50)
    parser.add_argument("--bound-mb", type=float, default=50.0)
    args = parser.parse_args(argv)

    home = tempfile.mkdtemp(prefix="mcrage_soak_")
    os.environ["MCRAGE_HOME"] = home
    from streamlit.testing.v1 import AppTest

    from dashboard.state import TEST_PRESETS
    from mcrage_core.jobs import RunRegistry, RunSettings

    owner = "soak-test-owner-000001"
    csv = (REPO / "sample_data" / "support2.csv").read_bytes()
    registry = RunRegistry(home)
    params = RunSettings(rebalance=("race",), strategies=("none", "cddpm"), preset="tiny")
    run_id = registry.start_run(owner, params, pd.read_csv(REPO / "sample_data" / "support2.csv"))
    while registry.get(run_id).is_active:
        time.sleep(1)
        registry.refresh()
    status = registry.get(run_id).status

    at = AppTest.from_file(str(APP), default_timeout=300)
    at.session_state[TEST_PRESETS] = True  # offer the tiny model preset
    at.query_params["session"] = owner
    at.run()
    at.file_uploader(key="upload").set_value(("support2.csv", csv, "text/csv"))
    at.run()
    for page in PAGES:  # warm-up: imports, caches, memoised results
        at.switch_page(page).run()
    gc.collect()
    tracemalloc.start()
    rss0 = rss_mb()
    heap0 = tracemalloc.get_traced_memory()[0] / 2**20
    samples = []
    t0 = time.perf_counter()
    for i in range(args.reruns):
        at.switch_page(PAGES[i % len(PAGES)]).run()
        if at.exception:
            raise SystemExit(f"exception on {PAGES[i % len(PAGES)]}: {at.exception}")
        samples.append(round(rss_mb(), 1))
    elapsed = time.perf_counter() - t0
    gc.collect()
    rss1 = rss_mb()
    heap1 = tracemalloc.get_traced_memory()[0] / 2**20
    result = {
        "reruns": args.reruns,
        "run_status": status,
        "rss_start_mb": round(rss0, 1),
        "rss_end_mb": round(rss1, 1),
        "rss_growth_mb": round(rss1 - rss0, 1),
        "python_heap_growth_mb": round(heap1 - heap0, 1),
        "bound_mb": args.bound_mb,
        "within_bound": (rss1 - rss0) < args.bound_mb,
        "mean_rerun_s": round(elapsed / args.reruns, 3),
        "rss_samples_mb": samples,
    }
    print(json.dumps(result, indent=2))
    return 0 if result["within_bound"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
