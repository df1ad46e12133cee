"""The evaluation grid in one process and on a local Ray cluster: wall time, the per-fold
cost of going through Ray, and whether the per-group numbers are identical.

A head node is started on this machine (``ray start --head --block --num-cpus N``), the
same audit runs once locally (one fold after another) and once with ``ray_address`` (one
Ray task per fold, at most N at a time), and the two results are compared without their
timings. The diffusion model trains a fixed number of steps (``--train-steps``): a preset is
a time budget, and two runs of one (local or not) can train different step counts. With one torch and one BLAS thread per fold (``--threads 1``, the default) the
speed-up on N idle cores is bounded by N and by the slowest fold; the difference between
the Ray wall time and the slowest fold's local time is the cost of Ray (serialising the
table to the object store, worker start-up, imports).

Usage::

    .venv/bin/python benchmarks/bench_ray.py                       # SUPPORT2, 3 folds
    .venv/bin/python benchmarks/bench_ray.py --table benchmarks/_work/scale/support2_like_100000.csv
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

OUT = ROOT / "benchmarks" / "_out" / "ray"


def _start_cluster(cpus: int) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ray = str(Path(sys.executable).parent / "ray")
    cmd = [ray, "start", "--head", "--block", f"--num-cpus={cpus}", f"--port={port}"]
    cmd += ["--include-dashboard=false", "--disable-usage-stats"]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return proc, f"127.0.0.1:{port}"
        except OSError:
            time.sleep(0.3)
    raise SystemExit("the Ray head did not start")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--table", default=str(ROOT / "sample_data" / "support2.csv"))
    ap.add_argument("--target", default="died_within_6_months")
    ap.add_argument("--folds", type=int, default=3)
    ap.add_argument("--strategies", default="none,oversample,cddpm")
    ap.add_argument("--cpus", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument(
        "--train-steps",
        type=int,
        default=1500,
        help="fixed CDDPM steps per fold (the presets are time budgets, so two runs of a "
        "preset, local or not, can train different step counts; about the quick preset's "
        "count on this CPU); 0: the preset's time budget",
    )
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args()

    from mcrage_core.jobs import RunSettings
    from mcrage_core.jobs.execute import run_settings
    from mcrage_core.tables import load_table

    df = load_table(args.table)
    settings = RunSettings(
        target=args.target,
        sensitive=("race", "sex", "age"),
        strategies=tuple(args.strategies.split(",")),
        folds=args.folds,
        n_seeds=1,
        preset="quick",
        device="cpu",
        train_steps=args.train_steps or None,
        overrides={"cpu_threads": args.threads},
    )
    load = [os.getloadavg()[0]]
    started = time.monotonic()
    local = run_settings(settings, df).results
    local_s = time.monotonic() - started
    load.append(os.getloadavg()[0])
    proc, address = _start_cluster(args.cpus)
    try:
        started = time.monotonic()
        remote = run_settings(settings, df, ray_address=address).results
        ray_s = time.monotonic() - started
    finally:
        import ray

        ray.shutdown()
        os.killpg(proc.pid, signal.SIGINT)  # ray start --block stops its processes on ^C
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    load.append(os.getloadavg()[0])

    def comparable(results) -> dict:
        out = json.loads(results.to_json())
        out.pop("timings")  # wall-clock measurements differ between any two runs
        for key in ("wall_s", "rows_per_s"):
            ((out.get("training") or {}).get("info") or {}).pop(key, None)
        return out

    fold_s = {k: v for k, v in local.timings.items() if "/seed" in k}
    per_fold: dict[str, float] = {}
    for key, seconds in fold_s.items():
        fold = key.split("/seed")[1]
        per_fold[fold] = per_fold.get(fold, 0.0) + seconds
    result = {
        "table": Path(args.table).name,
        "rows": len(df),
        "folds": args.folds,
        "strategies": args.strategies,
        "train_steps": args.train_steps or "preset time budget",
        "cluster_cpus": args.cpus,
        "local_s": round(local_s, 1),
        "ray_s": round(ray_s, 1),
        "speedup": round(local_s / ray_s, 2),
        "slowest_fold_local_s": round(max(per_fold.values()), 1),
        "sum_of_folds_local_s": round(sum(per_fold.values()), 1),
        "identical_results": comparable(local) == comparable(remote),
        "identical_group_metrics": bool(local.metrics.equals(remote.metrics)),
        "load_1min": [round(x, 2) for x in load],
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"ray_{Path(args.table).stem}.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
