"""Scaling of MCRAGE with the number of rows: 10k, 100k and 1M SUPPORT2-like rows.

The tables are made by the project's own generator, nothing new is shipped: the CDDPM
(``quick`` preset, conditioned on ``race``, target ``died_within_6_months``) is trained
once on ``sample_data/support2.csv`` (9,105 rows x 31 columns) and samples a base table
in chunks of 100,000 rows, each chunk with the real cell mix (race x outcome). A size up
to the base is its first rows (the base is shuffled); a larger size is the base plus a
bootstrap resample of it with a small jitter on the non-integer numeric columns (normal
noise of 1 % of the column's standard deviation, rounded to the column's decimals and
clipped to its range). ``--base-rows`` says how many rows are really sampled (default
1,000,000: every row of every size is sampled; ``--base-rows 100000`` samples 100k and
bootstraps the rest, about 10 times faster). Everything generated is cached in
``benchmarks/_work/scale/`` (git-ignored) and reused: delete the folder to regenerate.

Each measurement runs in a fresh process, whose peak resident memory comes from
``os.wait4`` (``ru_maxrss`` of that process and the children it waited for) and whose
wall time is measured around it. The 1-minute load average is recorded before and after
every measurement: on a shared CPU, read times against it.

Stages (``--stages``):

``inspect``
    ``mcrage inspect FILE --json`` (target: 1M rows in 15 s or less), then a breakdown of
    the same work in one process: read (``load_table``), schema (``infer_schema``),
    imbalance audit (``audit_imbalance``).
``audit``
    ``mcrage audit FILE --target died_within_6_months --sensitive race --sensitive sex
    --sensitive age --quick --strategies none,oversample,cddpm --out DIR`` (peak memory
    target: 8 GB at 1M). Progress lines are time-stamped, so a run stopped at
    ``--audit-timeout`` (or by the ``--mem-cap-gb`` address-space cap, which makes a run
    that needs more memory fail alone rather than wake the OOM killer on a shared
    machine) still says which stages it reached, and the report splits each run into its
    parts (reading, classifier fits, diffusion, bootstrap). A failed run is measured again
    with one hold-out split (``--folds 1``); ``--audit-runs both`` measures both variants
    at every size.
``train``
    CDDPM training (CPU ``quick`` preset network) for a fixed ``--train-steps`` on each
    table: wall time of the loop, per step and per epoch (``steps x batch / n`` epochs),
    once as configured (5 % validation rows, checked 40 times) and once without
    validation rows (the pure step cost).
``sample``
    ``CDDPM.sample`` of 100,000 rows (``--sample-rows``) from the model trained on each
    table, with ``exclude_copies_of`` that table (as the audit does).
``dashboard``
    ``streamlit run dashboard/app.py`` with headless Chromium (Playwright,
    ``/usr/bin/chromium``): upload the CSV, wait for the Data page, open the Imbalance
    page and wait for its first chart and its Intersections section (target: 8 s).
    Peak memory is the Streamlit server's (``VmHWM``).

For each stage the log-log slope between sizes (1 = linear) and the ratio of the largest
size's time to the linear extrapolation from the one before (target: 1.3 or less) are
reported in ``benchmarks/_out/scale/`` (``scale.md``, ``scale.json``, a log-log plot
``scale_loglog.html``, and ``scale_loglog.png`` when kaleido is installed).

Usage (on a shared machine, be nice)::

    nice -n 19 .venv/bin/python benchmarks/bench_scale.py
    nice -n 19 .venv/bin/python benchmarks/bench_scale.py --sizes 10000,100000 --stages inspect
    nice -n 19 .venv/bin/python benchmarks/bench_scale.py --report-only   # tables from scale.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET = "died_within_6_months"
CONDITION = ["race"]
SUPPORT2 = ROOT / "sample_data" / "support2.csv"
WORK = ROOT / "benchmarks" / "_work" / "scale"
OUT = ROOT / "benchmarks" / "_out" / "scale"
STAGES = ("inspect", "audit", "train", "sample", "dashboard")
MCRAGE = str(Path(sys.executable).with_name("mcrage"))
CHUNK = 100_000

TARGETS = {
    "inspect_s_1M": 15.0,
    "audit_peak_gb_1M": 8.0,
    "dashboard_s": 8.0,
    "linear_ratio": 1.3,
}


# ----------------------------------------------------------------------------- helpers


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def load1() -> float:
    return round(os.getloadavg()[0], 2)


def label(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 and n % 1_000_000 == 0 else f"{n // 1000}k"


def _rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError):
        return None
    return None


def _cap_memory(gb: float | None) -> Any:
    """A ``preexec_fn`` limiting the child's address space to ``gb`` GiB (``None``: no
    limit): on a shared machine a run that needs more fails alone (MemoryError) instead of
    calling the kernel's OOM killer on other people's processes."""
    if gb is None:
        return None

    def limit() -> None:
        import resource

        cap = int(gb * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    return limit


def measure(
    cmd: list[str],
    log: Path,
    *,
    timeout: float | None = None,
    stamp_stderr: bool = False,
    mem_cap_gb: float | None = None,
) -> dict[str, Any]:
    """Run ``cmd`` in a fresh process: wall time, peak RSS (``os.wait4``), exit code, load,
    and the process's resident memory every 5 s (``rss_timeline``: seconds, MB).

    stdout goes to ``log.out``; stderr to ``log.err``, each line prefixed with the seconds
    since the start when ``stamp_stderr`` (progress of long runs). ``mem_cap_gb`` caps the
    child's address space (:func:`_cap_memory`)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    load_before = load1()
    out = open(log.with_suffix(".out"), "wb")  # noqa: SIM115 - closed below
    err = open(log.with_suffix(".err"), "wb")  # noqa: SIM115
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        stdout=out,
        stderr=subprocess.PIPE if stamp_stderr else err,
        start_new_session=True,  # its own process group: a timeout ends it and its children
        preexec_fn=_cap_memory(mem_cap_gb),
    )
    reader = None
    if stamp_stderr:
        assert proc.stderr is not None

        def pump(stream: Any = proc.stderr) -> None:
            buf = b""
            while chunk := stream.read1(65536):
                buf += chunk.replace(b"\r", b"\n")
                *lines, buf = buf.split(b"\n")
                for line in lines:
                    if line.strip():
                        err.write(b"[%8.1fs] " % (time.perf_counter() - t0) + line + b"\n")
                        err.flush()
            if buf.strip():
                err.write(b"[%8.1fs] " % (time.perf_counter() - t0) + buf + b"\n")

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
    timed_out = False
    timeline: list[tuple[float, float]] = []
    next_sample = 0.0
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        now = time.perf_counter() - t0
        if now >= next_sample:
            rss = _rss_mb(proc.pid)
            if rss is not None:
                timeline.append((round(now, 1), rss))
            next_sample = now + 5.0
        if timeout is not None and time.perf_counter() - t0 > timeout:
            timed_out = True
            os.killpg(proc.pid, signal.SIGTERM)
            time.sleep(5)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            pid, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.05)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if reader is not None:
        reader.join(timeout=10)
    out.close()
    err.close()
    return {
        "wall_s": round(wall, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # KiB on Linux
        "rc": proc.returncode,
        "timed_out": timed_out,
        "load_before": load_before,
        "load_after": load1(),
        "log": rel(log),
        "mem_cap_gb": mem_cap_gb,
        "rss_timeline": timeline,
    }


def child_result(log: Path) -> dict[str, Any]:
    """The ``RESULT {json}`` line a child printed last on stdout (``{}`` when none)."""
    text = (
        log.with_suffix(".out").read_text(errors="replace")
        if log.with_suffix(".out").exists()
        else ""
    )
    for line in reversed(text.splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    return {}


def emit(result: dict[str, Any]) -> None:
    print("RESULT " + json.dumps(result), flush=True)


def tail(path: Path, n: int = 5) -> list[str]:
    if not path.exists():
        return []
    return path.read_text(errors="replace").strip().splitlines()[-n:]


# ----------------------------------------------------------------------------- tables


def scaled_counts(cells: Any, total: int) -> dict[tuple[object, ...], int]:
    """``total`` rows split over the cells in proportion to their real rows (largest
    remainder, so they add up exactly)."""
    import numpy as np

    n = cells["n_real"].to_numpy(dtype=float)
    raw = total * n / n.sum()
    out = np.floor(raw).astype(int)
    out[np.argsort(raw - out)[::-1][: total - int(out.sum())]] += 1
    cols = [c for c in cells.columns if c != "n_real"]
    keys = [tuple(row) for row in cells[cols].itertuples(index=False, name=None)]
    return {k: int(v) for k, v in zip(keys, out, strict=True) if v > 0}


def generator_model(work: Path, preset: str) -> Any:
    """The CDDPM trained on SUPPORT2 (cached in ``work/generator``)."""
    from mcrage_core.diffusion import CDDPM, CDDPMConfig
    from mcrage_core.tables import load_table

    folder = work / f"generator_{preset}"
    if (folder / ".done").exists():
        return CDDPM.load(folder, device="cpu")
    df = load_table(SUPPORT2)
    t0 = time.perf_counter()
    cfg = CDDPMConfig.preset(preset, device="cpu")  # type: ignore[arg-type]  # a CLI string
    cfg = cfg.with_overrides(checkpoint_every=0, seed=0)
    model = CDDPM(cfg).fit(df, target=TARGET, condition=CONDITION)
    print(f"generator: trained {preset} on SUPPORT2 in {time.perf_counter() - t0:.1f} s "
          f"({model.train_info_['steps']} steps; load {load1()})", flush=True)  # fmt: skip
    model.save(folder)
    (folder / ".done").write_text(json.dumps(dict(model.train_info_), default=str))
    return model


def base_table(work: Path, rows: int, preset: str) -> Path:
    """``rows`` rows sampled from the generator, shuffled (cached)."""
    import numpy as np
    import pandas as pd

    path = work / f"base_{rows}.csv"
    if path.exists():
        return path
    model = generator_model(work, preset)
    parts, info = [], []
    for i, start in enumerate(range(0, rows, CHUNK)):
        n = min(CHUNK, rows - start)
        t0 = time.perf_counter()
        parts.append(model.sample(scaled_counts(model.cells_, n), seed=1000 + i))
        dt = time.perf_counter() - t0
        info.append({"rows": n, "sample_s": round(dt, 1), "load": load1()})
        print(f"generator: sampled {start + n:,}/{rows:,} rows ({dt:.1f} s for {n:,}; "
              f"load {load1()})", flush=True)  # fmt: skip
    df = pd.concat(parts, ignore_index=True)
    df = df.iloc[np.random.default_rng(0).permutation(len(df))].reset_index(drop=True)
    tmp = path.with_suffix(".tmp")
    df.to_csv(tmp, index=False)
    tmp.rename(path)
    (work / f"base_{rows}.json").write_text(json.dumps({"chunks": info}, indent=1))
    return path


def jittered_bootstrap(base: Any, n: int, seed: int) -> Any:
    """``n`` rows drawn with replacement from ``base``; non-integer numeric columns get
    normal noise of 1 % of their standard deviation (rounded to the column's decimals,
    clipped to its range), so that resampled rows are not exact duplicates."""
    import numpy as np
    import pandas as pd

    from mcrage_core.tables import decimals_of

    rng = np.random.default_rng(seed)
    out = base.iloc[rng.integers(0, len(base), n)].reset_index(drop=True)
    for col in out.columns:
        s = base[col]
        if col == TARGET or not pd.api.types.is_float_dtype(s.dtype):
            continue
        present = s.dropna().to_numpy()
        if not len(present) or np.allclose(present % 1, 0):
            continue
        decimals = decimals_of(present)
        noise = rng.normal(0.0, 0.01 * float(np.std(present)), n)
        out[col] = np.clip(np.round(out[col].to_numpy() + noise, decimals),
                           present.min(), present.max())  # fmt: skip
    return out


def table_for(size: int, args: argparse.Namespace) -> Path:
    """The CSV of ``size`` rows (cached): the first rows of the sampled base, or the base
    plus a jittered bootstrap resample of it."""
    import pandas as pd

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    path = work / f"support2_like_{size}.csv"
    if path.exists():
        return path
    base_rows = min(args.base_rows, max(args.sizes))
    base_path = base_table(work, base_rows, args.gen_preset)
    base = pd.read_csv(base_path)
    if size <= len(base):
        df = base.head(size)
        how = f"the first {size:,} rows of {len(base):,} rows sampled from the CDDPM"
    else:
        extra = jittered_bootstrap(base, size - len(base), seed=size)
        df = pd.concat([base, extra], ignore_index=True)
        how = (f"{len(base):,} rows sampled from the CDDPM + {size - len(base):,} rows "
               "bootstrap-resampled from them with 1 % jitter on non-integer numeric columns")  # fmt: skip
    tmp = path.with_suffix(".tmp")
    df.to_csv(tmp, index=False)
    tmp.rename(path)
    path.with_suffix(".json").write_text(json.dumps({"rows": size, "how": how}))
    print(f"table {label(size)}: {how} -> {path.name} "
          f"({path.stat().st_size / 1e6:.0f} MB)", flush=True)  # fmt: skip
    return path


def table_note(path: Path) -> str:
    meta = path.with_suffix(".json")
    return json.loads(meta.read_text())["how"] if meta.exists() else ""


# ----------------------------------------------------------------------------- children


def child_inspect_phases(path: str) -> None:
    """Time the phases of ``mcrage inspect`` in one process."""
    from mcrage_core.tables import audit_imbalance, infer_schema, load_table

    t0 = time.perf_counter()
    df = load_table(path, max_bytes=2**40)
    t1 = time.perf_counter()
    data, schema = infer_schema(df)
    t2 = time.perf_counter()
    report = audit_imbalance(data, schema)
    json.dumps(report.to_dict(), allow_nan=True)
    t3 = time.perf_counter()
    emit({"read_s": round(t1 - t0, 2), "schema_s": round(t2 - t1, 2),
          "imbalance_s": round(t3 - t2, 2), "rows": len(df)})  # fmt: skip


def child_train(path: str, steps: int, model_dir: str, validation: bool) -> None:
    """Fit the CPU quick network for exactly ``steps`` steps; report the loop's cost."""
    from mcrage_core.diffusion import CDDPM, CDDPMConfig
    from mcrage_core.tables import load_table

    t0 = time.perf_counter()
    df = load_table(path, max_bytes=2**40)
    read_s = time.perf_counter() - t0
    cfg = CDDPMConfig.preset("quick", device="cpu").with_steps(steps)
    cfg = cfg.with_overrides(checkpoint_every=0, seed=0, patience=0)
    if not validation:
        cfg = cfg.with_overrides(validation_fraction=0.0)
    t0 = time.perf_counter()
    model = CDDPM(cfg).fit(df, target=TARGET, condition=CONDITION)
    fit_s = time.perf_counter() - t0
    info = model.train_info_
    loop_s = float(info["wall_s"])
    n_train = int(info["n_train_rows"]) - int(info.get("validation_rows", 0))
    epochs = info["steps"] * cfg.batch_size / n_train
    if model_dir:
        model.save(model_dir)
    emit({
        "read_s": round(read_s, 2), "fit_s": round(fit_s, 2), "loop_s": round(loop_s, 2),
        "prepare_s": round(fit_s - loop_s, 2), "steps": info["steps"],
        "batch": cfg.batch_size, "n_train_rows": n_train,
        "validation_rows": info.get("validation_rows", 0),
        "step_ms": round(1000 * loop_s / info["steps"], 3),
        "epoch_s": round(loop_s / epochs, 2), "parameters": info["parameters"],
        "rows_per_s": info["rows_per_s"], "threads": cfg.cpu_threads,
    })  # fmt: skip


def child_sample(model_dir: str, path: str, rows: int) -> None:
    """Sample ``rows`` rows with the cell mix of the training table, excluding copies."""
    from mcrage_core.diffusion import CDDPM
    from mcrage_core.tables import load_table

    model = CDDPM.load(model_dir, device="cpu")
    real = load_table(path, max_bytes=2**40)
    t0 = time.perf_counter()
    out = model.sample(scaled_counts(model.cells_, rows), seed=7, exclude_copies_of=real)
    wall = time.perf_counter() - t0
    emit({"sample_s": round(wall, 2), "rows": len(out),
          "rows_per_s": round(len(out) / wall, 1),
          "copies_removed": model.last_sample_info_["exact_copies_removed"],
          "network_evaluations": model.last_sample_info_["network_evaluations"]})  # fmt: skip


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _vm_hwm_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


WAIT_MS = 600_000  # how long a page may take to show what is waited for


def child_dashboard(path: str, home: str) -> None:
    """Upload ``path`` in Chromium and time Data page, then the rendered Imbalance page."""
    from playwright.sync_api import expect, sync_playwright

    port = _free_port()
    env = dict(os.environ, MCRAGE_HOME=home, PYTHONPATH=str(ROOT))
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard" / "app.py"),
         "--server.port", str(port), "--server.address", "127.0.0.1",
         "--server.headless", "true"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    result: dict[str, Any] = {"file_mb": round(Path(path).stat().st_size / 1e6, 1)}
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
            page.set_default_timeout(WAIT_MS)
            page.goto(url)
            expect(page.get_by_text("Upload a table (CSV, Parquet or Excel)")).to_be_visible(
                timeout=WAIT_MS
            )
            t0 = time.perf_counter()
            page.locator("input[type='file']").set_input_files(path)
            expect(page.get_by_text("Columns and their roles")).to_be_visible(timeout=WAIT_MS)
            t_data = time.perf_counter() - t0
            t1 = time.perf_counter()
            page.get_by_role("link", name="2 · Imbalance").first.click()
            expect(page.locator(".js-plotly-plot").first).to_be_visible(timeout=WAIT_MS)
            expect(page.get_by_text("Intersections")).to_be_visible(timeout=WAIT_MS)
            t_imb = time.perf_counter() - t1
            result.update({
                "upload_to_data_s": round(t_data, 2),
                "data_to_imbalance_s": round(t_imb, 2),
                "upload_to_imbalance_s": round(t_data + t_imb, 2),
            })  # fmt: skip
            browser.close()
    except Exception as exc:  # noqa: BLE001 - reported, not raised: the other sizes go on
        result["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    finally:
        result["server_peak_rss_mb"] = _vm_hwm_mb(server.pid)
        server.terminate()
        server.wait(timeout=30)
    emit(result)


CHILDREN = {
    "inspect_phases": lambda a: child_inspect_phases(a[0]),
    "train": lambda a: child_train(a[0], int(a[1]), a[2], a[3] == "1"),
    "sample": lambda a: child_sample(a[0], a[1], int(a[2])),
    "dashboard": lambda a: child_dashboard(a[0], a[1]),
}


def child(name: str, *args: object) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "--child", name, *map(str, args)]


# ----------------------------------------------------------------------------- stages


def stage_inspect(path: Path, size: int, out: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Best of ``--repeat`` runs (a shared CPU only ever adds time); every run is kept."""
    cmd = [MCRAGE, "inspect", str(path), "--json"]
    mb = path.stat().st_size / 2**20
    if mb > 200:
        cmd += ["--max-mb", str(math.ceil(mb) + 1)]
    runs, phases = [], []
    for i in range(args.repeat):
        runs.append(measure(cmd, out / "logs" / f"inspect_{size}_{i}"))
        log = out / "logs" / f"inspect_phases_{size}_{i}"
        measure(child("inspect_phases", path), log)
        phases.append(child_result(log))
    ok = [r for r in runs if r["rc"] == 0] or runs
    row = dict(min(ok, key=lambda r: r["wall_s"]))
    row["runs_wall_s"] = [r["wall_s"] for r in runs]
    row["runs_load"] = [[r["load_before"], r["load_after"]] for r in runs]
    row["phases"] = {
        k: min(p[k] for p in phases if k in p) for k in ("read_s", "schema_s", "imbalance_s")
    } if all(phases) else {}  # fmt: skip
    return row


def _audit_cmd(path: Path, size: int, out: Path, extra: list[str]) -> list[str]:
    tag = "_".join(x.strip("-") for x in extra) or "quick"
    return [
        MCRAGE, "audit", str(path), "--target", TARGET, "--sensitive", "race",
        "--sensitive", "sex", "--sensitive", "age", "--quick",
        "--strategies", "none,oversample,cddpm", "--out", str(out / "audit" / f"{tag}_{size}"),
        "--max-mb", str(math.ceil(path.stat().st_size / 2**20) + 200), *extra,
    ]  # fmt: skip


def stage_audit(path: Path, size: int, out: Path, args: argparse.Namespace) -> dict[str, Any]:
    """The 3-fold quick audit and/or its one-split variant (``--audit-runs``)."""
    cap = args.mem_cap_gb or None
    row: dict[str, Any] = {}
    if args.audit_runs == "folds1":  # keep the 3-fold run measured before
        row = dict(args.previous.get("audit", {}).get(str(size)) or {})
    else:
        log = out / "logs" / f"audit_{size}"
        row = measure(_audit_cmd(path, size, out, []), log, timeout=args.audit_timeout,
                      stamp_stderr=True, mem_cap_gb=cap)  # fmt: skip
        row["last_progress"] = tail(log.with_suffix(".err"), 3)
    failed = bool(row.get("timed_out") or row.get("rc"))
    if args.audit_runs in ("folds1", "both") or failed:
        hlog = out / "logs" / f"audit_folds1_{size}"
        hold = measure(_audit_cmd(path, size, out, ["--folds", "1"]), hlog,
                       timeout=args.audit_timeout, stamp_stderr=True, mem_cap_gb=cap)  # fmt: skip
        hold["last_progress"] = tail(hlog.with_suffix(".err"), 3)
        row["folds1"] = hold
    return row


def stage_train(path: Path, size: int, out: Path, args: argparse.Namespace) -> dict[str, Any]:
    model_dir = Path(args.work) / f"model_{size}_{args.train_steps}"
    log = out / "logs" / f"train_{size}"
    row = measure(child("train", path, args.train_steps, model_dir, 1), log)
    row.update(child_result(log))
    log0 = out / "logs" / f"train_noval_{size}"
    pure = measure(child("train", path, args.train_steps, "", 0), log0)
    pure.update(child_result(log0))
    row["no_validation"] = pure
    return row


def stage_sample(path: Path, size: int, out: Path, args: argparse.Namespace) -> dict[str, Any]:
    model_dir = Path(args.work) / f"model_{size}_{args.train_steps}"
    if not (model_dir / ".").exists() or not any(model_dir.iterdir()):
        return {"error": f"no model in {model_dir}: run the train stage first"}
    log = out / "logs" / f"sample_{size}"
    row = measure(child("sample", model_dir, path, args.sample_rows), log)
    row.update(child_result(log))
    return row


def stage_dashboard(path: Path, size: int, out: Path, args: argparse.Namespace) -> dict[str, Any]:
    home = Path(args.work) / f"dash_home_{size}"
    home.mkdir(parents=True, exist_ok=True)
    log = out / "logs" / f"dashboard_{size}"
    row = measure(child("dashboard", path, home), log, timeout=args.dashboard_timeout)
    row.update(child_result(log))
    return row


RUNNERS = {
    "inspect": stage_inspect,
    "audit": stage_audit,
    "train": stage_train,
    "sample": stage_sample,
    "dashboard": stage_dashboard,
}


# ----------------------------------------------------------------------------- report


def _get(row: dict[str, Any] | None, *keys: str) -> float | None:
    cur: Any = row
    for k in keys:
        if not isinstance(cur, dict) or k not in cur:
            return None
        cur = cur[k]
    return float(cur) if isinstance(cur, int | float) and not isinstance(cur, bool) else None


def _audit_time(row: dict[str, Any] | None) -> float | None:
    if not row or row.get("timed_out") or row.get("rc"):
        return None
    return _get(row, "wall_s")


def _audit_folds1(row: dict[str, Any] | None) -> float | None:
    h = (row or {}).get("folds1")
    if not h or h.get("timed_out") or h.get("rc"):
        return None
    return _get(h, "wall_s")


def _dash(row: dict[str, Any] | None) -> float | None:
    return None if not row or row.get("error") else _get(row, "upload_to_imbalance_s")


# (stage, metric, getter, expected growth with n: "n" linear, "1" flat, None not judged)
METRICS: list[tuple[str, str, Any, str | None]] = [
    ("inspect", "`mcrage inspect --json` wall (s)", lambda r: _get(r, "wall_s") if r and not r.get("rc") else None, "n"),
    ("inspect", "  read (load_table) (s)", lambda r: _get(r, "phases", "read_s"), "n"),
    ("inspect", "  schema (infer_schema) (s)", lambda r: _get(r, "phases", "schema_s"), "n"),
    ("inspect", "  imbalance (audit_imbalance) (s)", lambda r: _get(r, "phases", "imbalance_s"), "n"),
    ("inspect", "`mcrage inspect` peak RSS (MB)", lambda r: _get(r, "peak_rss_mb"), None),
    ("audit", "audit --quick, 3-fold (s)", _audit_time, "n"),
    ("audit", "audit --quick peak RSS (MB)", lambda r: _get(r, "peak_rss_mb") if _audit_time(r) else None, None),
    ("audit", "audit --quick --folds 1 (s)", _audit_folds1, "n"),
    ("audit", "audit --folds 1 peak RSS (MB)", lambda r: _get(r, "folds1", "peak_rss_mb") if _audit_folds1(r) else None, None),
    ("train", "CDDPM prepare (encoder, cells) (s)", lambda r: _get(r, "prepare_s"), "n"),
    ("train", "CDDPM loop, fixed steps, validation as shipped (s)", lambda r: _get(r, "loop_s"), "1"),
    ("train", "  per step, validation as shipped (ms)", lambda r: _get(r, "step_ms"), "1"),
    ("train", "  per step, no validation (ms)", lambda r: _get(r, "no_validation", "step_ms"), "1"),
    ("train", "  per epoch, no validation (s)", lambda r: _get(r, "no_validation", "epoch_s"), "n"),
    ("train", "train process peak RSS (MB)", lambda r: _get(r, "peak_rss_mb"), None),
    ("sample", "sample --sample-rows rows (100k), excluding copies of the n rows (s)", lambda r: _get(r, "sample_s"), "1"),
    ("sample", "sample process peak RSS (MB)", lambda r: _get(r, "peak_rss_mb"), None),
    ("dashboard", "upload -> Data page (s)", lambda r: _get(r, "upload_to_data_s") if r and not r.get("error") else None, "n"),
    ("dashboard", "upload -> rendered Imbalance (s)", _dash, "n"),
    ("dashboard", "Streamlit server peak RSS (MB)", lambda r: _get(r, "server_peak_rss_mb"), None),
]  # fmt: skip


def expected_ratio(
    growth: str | None, v_small: float | None, v_big: float | None, n_small: int, n_big: int
) -> float | None:
    """The big size's value over what ``growth`` predicts from the smaller size's
    (linear: x n_big / n_small; flat: the same value)."""
    if growth is None or not v_small or not v_big:
        return None
    return v_big / (v_small * (n_big / n_small if growth == "n" else 1.0))


AUDIT_PARTS = (
    "start, read, schema",
    "checks and split",
    "HGB classifier fits",
    "oversampling",
    "CDDPM prepare + train + sample",
    "bootstrap measuring",
    "summary, report, files",
)


def _audit_part(text: str) -> str:
    text = re.sub(r"^\[\s*[\d.]+ %\]\s*", "", text)
    if text.startswith("Training the histogram gradient boosting"):
        return "HGB classifier fits"
    if text.startswith(("Training the diffusion model", "MCRAGE (CDDPM")):
        return "CDDPM prepare + train + sample"
    if text.startswith("Measuring"):
        return "bootstrap measuring"
    if text.startswith("Random oversampling"):
        return "oversampling"
    if text.startswith(("Checking", "Splitting", "No change")):
        return "checks and split"
    return "summary, report, files"


def audit_breakdown(row: dict[str, Any] | None) -> dict[str, float]:
    """Seconds per part of an audit run, from its time-stamped progress lines (a part
    lasts until the next line; the time before the first line is the start, reading and
    schema inference)."""
    if not row or not row.get("log"):
        return {}
    err = ROOT / (row["log"] + ".err")
    if not err.exists():
        return {}
    stamps = []
    for line in err.read_text(errors="replace").splitlines():
        m = re.match(r"^\[\s*([\d.]+)s\] (.*)$", line)
        if m:
            stamps.append((float(m.group(1)), m.group(2)))
    if not stamps:
        return {}
    parts = dict.fromkeys(AUDIT_PARTS, 0.0)
    parts["start, read, schema"] = stamps[0][0]
    ends = [t for t, _ in stamps[1:]] + [float(row["wall_s"])]
    for (t, text), end in zip(stamps, ends, strict=True):
        parts[_audit_part(text)] += end - t
    return {k: round(v, 1) for k, v in parts.items()}


def breakdown_table(results: dict[str, Any], sizes: list[int]) -> str:
    runs = []
    for s in sizes:
        row = results["stages"].get("audit", {}).get(str(s))
        if row:
            if "wall_s" in row:  # not when only the --folds 1 variant was measured
                state = "timed out" if row["timed_out"] else f"rc {row['rc']}"
                runs.append((f"{label(s)} 3-fold ({state})", row))
            if row.get("folds1"):
                h = row["folds1"]
                hstate = "timed out" if h["timed_out"] else f"rc {h['rc']}"
                runs.append((f"{label(s)} --folds 1 ({hstate})", h))
    if not runs:
        return ""
    cols = [(name, audit_breakdown(r), r) for name, r in runs]
    lines = ["| audit part (s) | " + " | ".join(c[0] for c in cols) + " |",
             "|---|" + "---|" * len(cols)]  # fmt: skip
    for part in AUDIT_PARTS:
        lines.append(f"| {part} | " + " | ".join(fmt(c[1].get(part)) for c in cols) + " |")
    lines.append("| **wall** | " + " | ".join(fmt(c[2]["wall_s"]) for c in cols) + " |")
    lines.append("| peak RSS (MB) | " + " | ".join(fmt(c[2]["peak_rss_mb"]) for c in cols) + " |")
    return "\n".join(lines) + "\n"


def slope(n1: int, t1: float | None, n2: int, t2: float | None) -> float | None:
    if not t1 or not t2 or t1 <= 0 or t2 <= 0:
        return None
    return math.log(t2 / t1) / math.log(n2 / n1)


def fmt(v: float | None, digits: int = 2) -> str:
    if v is None:
        return "—"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    return f"{v:.{digits}f}"


def report(results: dict[str, Any], sizes: list[int]) -> str:
    rows = results["stages"]
    head = ["stage", "metric", *[label(s) for s in sizes]]
    pairs = list(zip(sizes, sizes[1:], strict=False))
    head += [f"slope {label(a)}→{label(b)}" for a, b in pairs]
    if pairs:
        head.append(f"{label(sizes[-1])} ÷ expected from {label(sizes[-2])}")
    head.append("expected")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for stage, name, get, growth in METRICS:
        per = rows.get(stage, {})
        vals = [get(per.get(str(s))) for s in sizes]
        if all(v is None for v in vals):
            continue
        cells = [stage, name, *[fmt(v) for v in vals]]
        cells += [fmt(slope(a, vals[i], b, vals[i + 1])) for i, (a, b) in enumerate(pairs)]
        if pairs:
            a, b = pairs[-1]
            cells.append(fmt(expected_ratio(growth, vals[-2], vals[-1], a, b)))
        cells.append({"n": "linear", "1": "flat"}.get(growth or "", "—"))
        lines.append("| " + " | ".join(cells) + " |")
    loads = ["| stage | " + " | ".join(f"load {label(s)} (before→after)" for s in sizes) + " |",
             "|---|" + "---|" * len(sizes)]  # fmt: skip
    for stage in STAGES:
        per = rows.get(stage, {})
        if not per:
            continue
        for name, sub in ((stage, None), ("audit --folds 1", "folds1")):
            if sub and (
                stage != "audit" or not any((per.get(str(s)) or {}).get(sub) for s in sizes)
            ):
                continue
            cells = []
            for s in sizes:
                r = per.get(str(s)) or {}
                r = r.get(sub) or {} if sub else r
                cells.append(f"{r['load_before']}→{r['load_after']}" if "load_before" in r else "—")
            loads.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n\n" + "\n".join(loads) + "\n"


def plot(results: dict[str, Any], sizes: list[int], out: Path) -> list[str]:
    import plotly.graph_objects as go

    fig = go.Figure()
    keep = {
        "`mcrage inspect --json` wall (s)": "inspect (s)",
        "audit --quick, 3-fold (s)": "audit --quick (s)",
        "audit --quick --folds 1 (s)": "audit --folds 1 (s)",
        "CDDPM loop, fixed steps, validation as shipped (s)": "train loop, fixed steps (s)",
        "  per epoch, no validation (s)": "train per epoch (s)",
        "sample --sample-rows rows (100k), excluding copies of the n rows (s)": "sample 100k (s)",
        "upload -> rendered Imbalance (s)": "dashboard upload→Imbalance (s)",
    }
    for stage, name, get, _growth in METRICS:
        if name not in keep:
            continue
        per = results["stages"].get(stage, {})
        pts = [(s, get(per.get(str(s)))) for s in sizes]
        pts = [(s, v) for s, v in pts if v]
        if pts:
            fig.add_trace(go.Scatter(x=[p[0] for p in pts], y=[p[1] for p in pts],
                                     mode="lines+markers", name=keep[name]))  # fmt: skip
    if sizes:
        ref = [(s, sizes[0] and 1.0 * s / sizes[0]) for s in sizes]
        fig.add_trace(go.Scatter(x=[r[0] for r in ref], y=[r[1] for r in ref], mode="lines",
                                 name="slope 1 (linear), from 1 s", line={"dash": "dot"}))  # fmt: skip
    fig.update_layout(
        title="MCRAGE scaling with rows (SUPPORT2-like, 31 columns; log-log)",
        xaxis={"type": "log", "title": "rows"},
        yaxis={"type": "log", "title": "seconds"},
        template="plotly_white",
    )
    written = [str(out / "scale_loglog.html")]
    fig.write_html(out / "scale_loglog.html", include_plotlyjs="cdn")
    try:
        import kaleido  # noqa: F401

        fig.write_image(out / "scale_loglog.png", width=1000, height=650)
        written.append(str(out / "scale_loglog.png"))
    except Exception as exc:  # noqa: BLE001 - no kaleido / no browser for it: HTML only
        print(f"(no PNG: {type(exc).__name__}: {exc})", flush=True)
    return written


def verdicts(results: dict[str, Any], sizes: list[int]) -> list[str]:
    st = results["stages"]
    out = []
    big = str(max(sizes))
    insp = _get(st.get("inspect", {}).get(big), "wall_s")
    if insp is not None and big == "1000000":
        ok = insp <= TARGETS["inspect_s_1M"]
        out.append(f"inspect 1M: {insp:.1f} s (target ≤ {TARGETS['inspect_s_1M']:.0f} s): "
                   f"{'PASS' if ok else 'MISS'}")  # fmt: skip
    a = st.get("audit", {}).get(big)
    if a and big == "1000000":
        for key, what in ((None, "audit --quick"), ("folds1", "audit --quick --folds 1")):
            r = a if key is None else a.get(key)
            if not r or "wall_s" not in r:
                continue
            gb = r["peak_rss_mb"] / 1024
            state = (
                "timed out at " if r["timed_out"] else f"rc {r['rc']} in "
            ) + f"{r['wall_s']:.0f} s"
            out.append(f"{what} 1M: peak {gb:.2f} GB (target ≤ 8 GB): "
                       f"{'PASS' if gb <= 8 else 'MISS'} ({state})")  # fmt: skip
    for s in sizes:
        d = _dash(st.get("dashboard", {}).get(str(s)))
        r = st.get("dashboard", {}).get(str(s))
        if d is not None:
            out.append(f"dashboard {label(s)}: upload→Imbalance {d:.1f} s (target ≤ 8 s): "
                       f"{'PASS' if d <= 8 else 'MISS'}")  # fmt: skip
        elif r and r.get("error"):
            out.append(f"dashboard {label(s)}: not measured ({r['error']})")
    if len(sizes) >= 2:
        a_, b_ = sizes[-2], sizes[-1]
        for stage, name, get, growth in METRICS:
            per = st.get(stage, {})
            ratio = expected_ratio(growth, get(per.get(str(a_))), get(per.get(str(b_))), a_, b_)
            if ratio is not None:
                what = "linear" if growth == "n" else "flat"
                out.append(f"{stage} / {name.strip()}: {label(b_)} = {ratio:.2f}× the {what} "
                           f"expectation from {label(a_)} (target ≤ 1.3): "
                           f"{'PASS' if ratio <= 1.3 else 'MISS'}")  # fmt: skip
    return out


# ----------------------------------------------------------------------------- main


def machine() -> dict[str, Any]:
    import pandas as pd
    import torch

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "pandas": pd.__version__,
        "niceness": os.nice(0),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--stages", default=",".join(STAGES))
    ap.add_argument("--out", default=str(OUT))
    ap.add_argument("--work", default=str(WORK), help="cache of generated tables and models")
    ap.add_argument(
        "--base-rows",
        type=int,
        default=1_000_000,
        help="rows really sampled from the CDDPM; larger sizes bootstrap them",
    )
    ap.add_argument("--gen-preset", default="quick", help="preset of the generator model")
    ap.add_argument("--train-steps", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=3, help="runs of the inspect stage (best kept)")
    ap.add_argument("--sample-rows", type=int, default=100_000)
    ap.add_argument("--audit-timeout", type=float, default=1200.0, help="seconds per audit run")
    ap.add_argument(
        "--audit-runs",
        choices=("auto", "both", "folds1"),
        default="auto",
        help="auto: the 3-fold quick audit, and the --folds 1 variant when it fails or times "
        "out; both: always both; folds1: only the --folds 1 variant (the 3-fold results "
        "already in scale.json are kept)",
    )
    ap.add_argument(
        "--mem-cap-gb",
        type=float,
        default=14.0,
        help="address-space cap of each audit run in GiB (0: none); a run that needs more "
        "fails alone instead of starving a shared machine",
    )
    ap.add_argument("--dashboard-timeout", type=float, default=900.0)
    ap.add_argument("--report-only", action="store_true", help="rewrite the report from scale.json")
    ap.add_argument("--child", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        CHILDREN[args.child[0]](args.child[1:])
        return 0
    args.sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    stages = [s.strip() for s in args.stages.split(",") if s.strip()]
    unknown = set(stages) - set(STAGES)
    if unknown:
        ap.error(f"unknown stage(s) {sorted(unknown)}; choose from {', '.join(STAGES)}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    store = out / "scale.json"
    results: dict[str, Any] = json.loads(store.read_text()) if store.exists() else {}
    results.setdefault("stages", {})
    args.previous = json.loads(json.dumps(results["stages"]))
    results.setdefault("tables", {})
    if not args.report_only:
        results["machine"] = machine()
        results["settings"] = {"train_steps": args.train_steps, "sample_rows": args.sample_rows,
                               "base_rows": args.base_rows, "gen_preset": args.gen_preset}  # fmt: skip
        for size in args.sizes:
            path = table_for(size, args)
            results["tables"][str(size)] = {
                "file": rel(path),
                "mb": round(path.stat().st_size / 1e6, 1), "how": table_note(path),
            }  # fmt: skip
        for stage in stages:
            for size in args.sizes:
                path = Path(args.work) / f"support2_like_{size}.csv"
                print(f"== {stage} {label(size)} (load {load1()})", flush=True)
                row = RUNNERS[stage](path, size, out, args)
                row["measured_at"] = time.strftime("%Y-%m-%d %H:%M:%S")
                results["stages"].setdefault(stage, {})[str(size)] = row
                print(json.dumps(row, default=str), flush=True)
                store.write_text(json.dumps(results, indent=1, default=str))
    sizes = sorted({int(s) for per in results["stages"].values() for s in per})
    if args.report_only or not sizes:
        sizes = sizes or args.sizes
    text = report(results, sizes)
    checks = verdicts(results, sizes)
    md = ["# Scaling benchmark (benchmarks/bench_scale.py)", ""]
    for s in sizes:
        t = results["tables"].get(str(s))
        if t:
            md.append(f"- {label(s)}: `{t['file']}`, {t['mb']} MB: {t['how']}")
    parts = breakdown_table(results, sizes)
    md += ["", text, "", parts, "", *[f"- {c}" for c in checks], ""]
    (out / "scale.md").write_text("\n".join(md))
    files = plot(results, sizes, out)
    print(text)
    print(parts)
    print("\n".join(checks))
    print("written:", out / "scale.md", out / "scale.json", *files)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
