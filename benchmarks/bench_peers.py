"""Side-by-side benchmark: this project's default generator against MOSTLY AI's engine and SDV.

Same data, splits, plan, time budget and scorer for every generator:

* data: SUPPORT2 rebalanced by race (outcome ``died_within_6_months``) and the patient
  treatment table by sex (outcome ``SOURCE``); 80 % / 20 % split stratified by group x
  outcome, per seed. Generators see the training split only; every test row is real.
* plan: every group raised to the size of the largest, each keeping its own outcome mix
  (largest remainder); groups with fewer than 20 real training rows are not generated
  (the project's privacy guardrail), for every generator alike.
* budget: ``--budget-s`` seconds of training (60 by default). MOSTLY AI gets it as
  ``max_training_time`` and stops itself earlier when its validation loss stops
  improving; CTGAN gets the epochs that fit it (timed from one epoch); GaussianCopula
  needs seconds; this project runs its default preset exactly as a user gets it.
* scorer: ``benchmarks/peers/scorer.py`` (column shape with a missing-rate term,
  correlation similarity, detection AUC, exact copies; downstream per-group F1 / AUROC and
  equalized-odds difference, augmented minus real-only, with paired bootstrap intervals).

Each generator runs in a subprocess of its own virtual environment
(``benchmarks/_work/peers/venv-*``, made by ``make bench-peers-setup``) with one torch
thread, and its train and generate wall times are measured inside that process.

Usage::

    make bench-peers                                   # setup + the full run
    .venv/bin/python benchmarks/bench_peers.py --quick # one seed, 15 s budget: a smoke run

Writes ``benchmarks/_out/peers/result.json`` and ``result.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from peers.scorer import downstream, score_group  # noqa: E402

from mcrage_core.util.allocation import largest_remainder  # noqa: E402

WORK = ROOT / "benchmarks" / "_work" / "peers"
DATASETS = {
    "support2": ("sample_data/support2.csv", "race", "died_within_6_months", 1),
    "patient": ("sample_data/patient_treatment.csv", "SEX", "SOURCE", "in"),
}
PYTHON = {
    "mcrage": ROOT / ".venv" / "bin" / "python",
    "mostlyai": WORK / "venv-mostlyai" / "bin" / "python",
    "gaussian_copula": WORK / "venv-sdv" / "bin" / "python",
    "ctgan": WORK / "venv-sdv" / "bin" / "python",
}
MIN_GROUP_ROWS = 20


def split(df: pd.DataFrame, group: str, target: str, seed: int) -> tuple[pd.DataFrame, ...]:
    from sklearn.model_selection import train_test_split

    df = df[df[group].notna()].reset_index(drop=True)
    strat = df[group].astype(str) + "_" + df[target].astype(str)
    parts = train_test_split(df, test_size=0.2, random_state=seed, stratify=strat)
    return tuple(p.reset_index(drop=True) for p in parts)


def make_plan(train: pd.DataFrame, group: str, target: str) -> list[dict[str, object]]:
    """Rows per (group, outcome) raising every group to the largest, outcome mix kept."""
    sizes = train[group].value_counts()
    plan = []
    for g, n in sizes.items():
        if n < MIN_GROUP_ROWS or n == sizes.max():
            continue
        mix = train.loc[train[group] == g, target].value_counts()
        counts = largest_remainder(int(sizes.max() - n), mix.to_numpy(float))
        for outcome, k in zip(mix.index, counts, strict=True):
            if k > 0:
                plan.append({"group": _plain(g), "outcome": _plain(outcome), "n": int(k)})
    return plan


def _plain(v: object) -> object:
    return v.item() if isinstance(v, np.generic) else v


def run_generator(
    engine: str, train: pd.DataFrame, job: dict[str, object], work: Path
) -> tuple[pd.DataFrame | None, dict[str, object]]:
    """Run one generator in its own Python; its rows (in the table's dtypes) and timing."""
    work.mkdir(parents=True, exist_ok=True)
    train.to_csv(work / "train.csv", index=False)
    (work / "job.json").write_text(json.dumps(job))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    cmd = [str(PYTHON[engine]), str(ROOT / "benchmarks" / "peers" / "runner.py"), engine, str(work)]
    t0 = time.perf_counter()
    try:
        done = subprocess.run(
            cmd, env=env, capture_output=True, text=True, timeout=10 * float(job["budget_s"]) + 600
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, {"error": f"{type(exc).__name__}: {exc}"}
    if done.returncode != 0:
        return None, {"error": done.stderr.strip().splitlines()[-1:] or ["failed"]}
    timing = json.loads((work / "timing.json").read_text())
    timing["process_s"] = round(time.perf_counter() - t0, 1)
    synth = pd.read_csv(work / "synthetic.csv")
    for c in train.columns:
        if c in synth.columns and synth[c].dtype != train[c].dtype:
            with contextlib.suppress(TypeError, ValueError):
                synth[c] = synth[c].astype(train[c].dtype)
    return synth, timing


def evaluate(
    name: str, seed: int, generators: list[str], budget: float, n_boot: int
) -> list[dict[str, object]]:
    path, group, target, positive = DATASETS[name]
    df = pd.read_csv(ROOT / path)
    train, hold = split(df, group, target, seed)
    plan = make_plan(train, group, target)
    job = {"group": group, "target": target, "plan": plan, "budget_s": budget, "seed": seed}
    job["root"] = str(ROOT)
    rows = []
    for engine in generators:
        synth, timing = run_generator(engine, train, job, WORK / "runs" / f"{name}-{seed}-{engine}")
        row: dict[str, object] = {"dataset": name, "seed": seed, "generator": engine, **timing}
        if synth is not None:
            for g in dict.fromkeys(p["group"] for p in plan):
                real_g, synth_g = train[train[group] == g], synth[synth[group] == g]
                scores = score_group(real_g, synth_g, real_all=df, skip=[group], seed=seed)
                row.update({f"{k}|{g}": v for k, v in scores.items()})
            row["downstream"] = downstream(
                train,
                synth,
                hold,
                group=group,
                target=target,
                positive=positive,
                seed=seed,
                n_boot=n_boot,
            )
        print(json.dumps(row, default=str)[:600], flush=True)
        rows.append(row)
    return rows


def _cell(values: list[float], digits: int) -> str:
    vals = [v for v in values if v == v]
    if not vals:
        return "–"
    mean = f"{np.mean(vals):.{digits}f}"
    return mean if len(vals) == 1 else f"{mean} ({min(vals):.{digits}f}–{max(vals):.{digits}f})"


def markdown(rows: list[dict[str, object]]) -> str:
    """One fidelity/time table and one downstream table per dataset (mean, min–max)."""
    out = []
    for name in dict.fromkeys(r["dataset"] for r in rows):
        mine = [r for r in rows if r["dataset"] == name]
        groups = sorted({k.split("|")[1] for r in mine for k in r if "|" in k})
        shown = [g for g in groups if max(r.get(f"n_real|{g}", 0) for r in mine) >= 50]
        head = ["generator", "train s", "generate s", "rows"]
        for g in shown:
            head += [f"shape {g}", f"detection {g}", f"corr {g}", f"copies {g}"]
        lines = [f"#### {name}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for engine in dict.fromkeys(r["generator"] for r in mine):
            every = [r for r in mine if r["generator"] == engine]
            rs = [r for r in every if "error" not in r]
            if not rs:
                lines.append(f"| {engine} | failed: {every[0].get('error')} |")
                continue
            if len(rs) < len(every):
                engine = f"{engine} ({len(every) - len(rs)} of {len(every)} runs failed)"
            cells = [engine, _cell([r["train_s"] for r in rs], 1)]
            cells += [_cell([r["generate_s"] for r in rs], 1), str(rs[0]["n_rows"])]
            for g in shown:
                cells += [_cell([r[f"column_shape|{g}"] for r in rs], 3)]
                cells += [_cell([r[f"detection_auc|{g}"] for r in rs], 2)]
                cells += [_cell([r[f"correlation_similarity|{g}"] for r in rs], 3)]
                cells += [str(sum(int(r[f"exact_copies|{g}"]) for r in rs))]
            lines.append("| " + " | ".join(cells) + " |")
        lines += ["", downstream_table(mine), ""]
        out.append("\n".join(lines))
    return "\n".join(out)


def downstream_table(rows: list[dict[str, object]]) -> str:
    """Augmented minus real-only, seed 0's estimate with its paired 95 % interval."""
    lines = ["| generator | group (hold-out n) | Δ F1 [95 % CI] | Δ AUROC [95 % CI] |"]
    lines.append("|---|---|---|---|")
    for r in rows:
        if r["seed"] != rows[0]["seed"] or "downstream" not in r:
            continue
        for d in r["downstream"]:  # type: ignore[union-attr]
            if "delta_eod" in d:
                lo, hi = d["delta_eod_ci"]
                text = f"Δ EOD {d['delta_eod']:+.3f} [{lo:+.3f}, {hi:+.3f}] (real-only {d['baseline_eod']:.3f})"
                lines.append(f"| {r['generator']} | equalized odds | {text} | |")
                continue
            f_lo, f_hi = d["delta_f1_ci"]
            a_lo, a_hi = d["delta_auroc_ci"]
            lines.append(
                f"| {r['generator']} | {d['group']} ({d['n_holdout']}) | "
                f"{d['delta_f1']:+.3f} [{f_lo:+.3f}, {f_hi:+.3f}] | "
                f"{d['delta_auroc']:+.3f} [{a_lo:+.3f}, {a_hi:+.3f}] |"
            )
    return "\n".join(lines)


def versions(generators: list[str]) -> dict[str, str]:
    out = {}
    for engine in generators:
        py = PYTHON[engine]
        mod = {"mcrage": "mcrage_core", "mostlyai": "mostlyai.engine"}.get(engine, "sdv")
        code = f"import {mod} as m, torch; print(m.__version__, torch.__version__)"
        done = subprocess.run([str(py), "-c", code], capture_output=True, text=True, cwd=ROOT)
        out[engine] = done.stdout.strip() or done.stderr.strip()[-200:]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default="support2,patient")
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    ap.add_argument("--budget-s", type=float, default=60.0)
    ap.add_argument("--generators", default="mcrage,mostlyai,gaussian_copula,ctgan")
    ap.add_argument("--bootstrap", type=int, default=200)
    ap.add_argument("--quick", action="store_true", help="one seed, 15 s budget")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "_out" / "peers"))
    ap.add_argument("--tables-from", help="only rewrite the tables of this result.json")
    args = ap.parse_args()
    if args.tables_from:
        print(markdown(json.loads(Path(args.tables_from).read_text())["rows"]))
        return
    if args.quick:
        args.seeds, args.budget_s, args.bootstrap = [0], 15.0, 50
    generators = args.generators.split(",")
    missing = [str(PYTHON[g]) for g in generators if not PYTHON[g].exists()]
    if missing:
        sys.exit(f"error: missing peer environments {missing}; run: make bench-peers-setup")
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    rows = []
    for name in args.datasets.split(","):
        for seed in args.seeds:
            rows += evaluate(name, seed, generators, args.budget_s, args.bootstrap)
    result = {
        "command": " ".join(sys.argv),
        "machine": {"processor": platform.processor(), "cpus": os.cpu_count()},
        "python": platform.python_version(),
        "versions": versions(generators),
        "budget_s": args.budget_s,
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "wall_s": round(time.perf_counter() - t0),
        "rows": rows,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "result.json").write_text(json.dumps(result, indent=1, default=str))
    text = markdown(rows)
    text += (
        f"\n\nBudget {args.budget_s:g} s, seeds {args.seeds}, one torch thread each; "
        f"load {load_before} -> {result['load_average_after']}; versions {result['versions']}."
    )
    (out / "result.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
