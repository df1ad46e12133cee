"""Soak test: N consecutive Quick audits through the CLI entry point, in one process.

Measures resident memory after each run, open file descriptors, child processes and files
left in the temporary directory, and checks they stay bounded.

    .venv/bin/python benchmarks/soak_cli.py --runs 20 --data sample_data/patient_treatment.csv \
        --target SOURCE --sensitive SEX --sensitive AGE

Writes a JSON summary as its last line of output.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def child_pids() -> list[int]:
    me = str(os.getpid())
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as fh:
                if fh.read().split(") ", 1)[1].split()[1] == me:
                    out.append(int(pid))
        except (OSError, IndexError):
            continue
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--data", default=str(ROOT / "sample_data" / "patient_treatment.csv"))
    parser.add_argument("--target", default="SOURCE")
    parser.add_argument("--sensitive", action="append", default=None)
    parser.add_argument("--strategies", default="none,oversample,smote,reweigh,cddpm,threshold")
    parser.add_argument(
        "--bound-mb",
        type=float,
        default=150.0,
        help="allowed RSS growth from run 2 to the last run",
    )
    args = parser.parse_args()
    sensitive = args.sensitive or ["SEX", "AGE"]

    from mcrage_core.cli import main as cli_main

    tmp_root = Path(tempfile.gettempdir())
    tmp_before = set(os.listdir(tmp_root))
    work = Path(tempfile.mkdtemp(prefix="mcrage-soak-"))
    rows = []
    try:
        for i in range(args.runs):
            out = work / f"run{i}"
            t0 = time.perf_counter()
            code = cli_main(
                [
                    "audit",
                    args.data,
                    "--target",
                    args.target,
                    *[x for s in sensitive for x in ("--sensitive", s)],
                    "--strategies",
                    args.strategies,
                    "--quick",
                    "--out",
                    str(out),
                ]
            )
            wall = time.perf_counter() - t0
            gc.collect()
            rows.append(
                {
                    "run": i + 1,
                    "exit": code,
                    "wall_s": round(wall, 1),
                    "rss_mb": round(rss_mb(), 1),
                    "open_fds": open_fds(),
                    "children": len(child_pids()),
                }
            )
            print(json.dumps(rows[-1]), flush=True)
            shutil.rmtree(out, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    leaked_tmp = sorted(set(os.listdir(tmp_root)) - tmp_before)
    growth = rows[-1]["rss_mb"] - rows[min(1, len(rows) - 1)]["rss_mb"]
    summary = {
        "runs": len(rows),
        "all_exit_0": all(r["exit"] == 0 for r in rows),
        "rss_first_mb": rows[0]["rss_mb"],
        "rss_second_mb": rows[min(1, len(rows) - 1)]["rss_mb"],
        "rss_last_mb": rows[-1]["rss_mb"],
        "rss_growth_after_warmup_mb": round(growth, 1),
        "bound_mb": args.bound_mb,
        "within_bound": growth <= args.bound_mb,
        "fds_first": rows[0]["open_fds"],
        "fds_last": rows[-1]["open_fds"],
        "children_left": rows[-1]["children"],
        "leaked_tmp_entries": leaked_tmp,
        "mean_wall_s": round(sum(r["wall_s"] for r in rows) / len(rows), 1),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
    }
    print(json.dumps(summary))
    return 0 if summary["all_exit_0"] and summary["within_bound"] and not leaked_tmp else 1


if __name__ == "__main__":
    raise SystemExit(main())
