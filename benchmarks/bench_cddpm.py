"""Benchmark of the CDDPM engine on SUPPORT2 (race x died_within_6_months).

Measures, with the default CPU configuration (``CDDPMConfig.preset("standard")``):

* training wall time and throughput (rows/s);
* fidelity of a synthetic set the size of the training set (accelerated DDIM sampler):
  column shapes and pair trends overall and per race, detection AUC, DCR share
  against a real hold-out split, exact copies;
* full ancestral chain (all training timesteps) against the accelerated sampler on
  the same cell counts: wall time, speed-up and column-shape score.

Usage::

    .venv/bin/python benchmarks/bench_cddpm.py                # standard preset
    .venv/bin/python benchmarks/bench_cddpm.py --preset quick --compare-rows 500

Results are printed and written to ``benchmarks/_out/cddpm/`` (JSON + Markdown).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mcrage_core import __version__  # noqa: E402
from mcrage_core.diffusion import CDDPM, CDDPMConfig, device_info  # noqa: E402
from mcrage_core.fidelity import evaluate_fidelity  # noqa: E402

TARGET = "died_within_6_months"
CONDITION = ["race"]
BIG_GROUPS = ("white", "black", "hispanic")


def split(df: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    from sklearn.model_selection import train_test_split

    strat = df["race"].fillna("?").astype(str) + "_" + df[TARGET].astype(str)
    train, hold = train_test_split(df, test_size=0.2, random_state=seed, stratify=strat)
    return train.reset_index(drop=True), hold.reset_index(drop=True)


def scaled_counts(cells: pd.DataFrame, total: int) -> dict[tuple, int]:
    n = cells["n_real"].to_numpy(dtype=float)
    raw = total * n / n.sum()
    out = np.maximum(1, np.round(raw)).astype(int)
    cols = [c for c in cells.columns if c != "n_real"]
    return {
        tuple(r[c] for c in cols): int(k) for (_, r), k in zip(cells.iterrows(), out, strict=True)
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(ROOT / "sample_data" / "support2.csv"))
    ap.add_argument("--preset", default="standard", choices=["quick", "standard", "thorough"])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--steps", type=int, default=None, help="override train_steps")
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    ap.add_argument("--sampling-steps", type=int, default=50)
    ap.add_argument("--guidance", type=float, default=None)
    ap.add_argument("--compare-rows", type=int, default=1500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--save", default=None, help="save the trained model to this folder")
    ap.add_argument("--load", default=None, help="skip training: load a model saved by --save")
    ap.add_argument(
        "--group-rows",
        type=int,
        default=1000,
        help="also score each race group on a synthetic set of at least this many rows",
    )
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "_out" / "cddpm"))
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    df = pd.read_csv(args.data)
    train, hold = split(df, args.seed)
    config = CDDPMConfig.preset(args.preset, device=args.device)
    if args.steps:
        config = config.with_overrides(train_steps=args.steps)
    config = config.with_overrides(seed=args.seed, checkpoint_every=0)
    print(f"config: {config.to_dict()}", flush=True)

    def progress(ev) -> None:  # noqa: ANN001
        if ev.step and ev.step % max(1, (ev.total_steps or 1) // 10) == 0:
            print(
                f"  step {ev.step}/{ev.total_steps} loss {ev.loss:.4f} "
                f"{ev.rows_per_s:,.0f} rows/s eta {ev.eta_s:.0f}s",
                flush=True,
            )

    t0 = time.perf_counter()
    c0 = time.process_time()
    if args.load:
        model = CDDPM.load(args.load, device=args.device)
        config = model.config
        info = model.train_info_
        train_s = float(info["wall_s"])
        cpu_s = float(info.get("cpu_s", float("nan")))
    else:
        model = CDDPM(config).fit(train, target=TARGET, condition=CONDITION, progress=progress)
        train_s = time.perf_counter() - t0
        cpu_s = time.process_time() - c0
        model.train_info_["cpu_s"] = round(cpu_s, 1)
        info = model.train_info_
        if args.save:
            model.save(args.save)
    rows_per_s = config.train_steps * config.batch_size / info["wall_s"]
    print(
        f"trained in {train_s:.1f}s wall, {cpu_s:.1f}s CPU ({rows_per_s:,.0f} rows/s); "
        f"load average {os.getloadavg()}",
        flush=True,
    )

    # Main synthetic set: same cells and sizes as the training set (accelerated sampler).
    counts = {tuple(r[:-1]): int(r[-1]) for r in model.cells_.itertuples(index=False)}
    t0 = time.perf_counter()
    synth = model.sample(
        counts,
        method="ddim",
        sampling_steps=args.sampling_steps,
        guidance=args.guidance,
        seed=args.seed,
        exclude_copies_of=df,
    )
    ddim_full_s = time.perf_counter() - t0
    copies_removed = model.last_sample_info_["exact_copies_removed"]
    real = train[train["race"].notna()]
    t0 = time.perf_counter()
    report = evaluate_fidelity(real, synth, by="race", holdout=hold, seed=args.seed)
    fid_s = time.perf_counter() - t0
    print(f"fidelity computed in {fid_s:.1f}s", flush=True)

    # Each big race group again, on a synthetic set of at least --group-rows rows (the
    # real side is fixed by the data; a larger synthetic side lowers sampling noise).
    group_rows = {}
    for g in BIG_GROUPS:
        n_g = max(args.group_rows, int((real["race"] == g).sum()))
        s_g = model.sample(
            {(g,): n_g},
            seed=args.seed + 2,
            sampling_steps=args.sampling_steps,
            guidance=args.guidance,
        )
        r_g = evaluate_fidelity(real[real["race"] == g], s_g, seed=args.seed, detection=False)
        group_rows[g] = {
            "n_synthetic": n_g,
            "column_shapes": r_g.overall["column_shapes"],
            "pair_trends": r_g.overall["pair_trends"],
        }
    print("per-group (larger synthetic sets):", json.dumps(group_rows), flush=True)

    # Full chain vs accelerated on the same (smaller) counts.
    cmp_counts = scaled_counts(model.cells_, args.compare_rows)
    t0 = time.perf_counter()
    s_fast = model.sample(
        cmp_counts,
        method="ddim",
        sampling_steps=args.sampling_steps,
        guidance=args.guidance,
        seed=args.seed + 1,
    )
    fast_s = time.perf_counter() - t0
    nfe_fast = model.last_sample_info_["network_evaluations"]
    t0 = time.perf_counter()
    s_full = model.sample(
        cmp_counts, method="ancestral", guidance=args.guidance, seed=args.seed + 1
    )
    full_s = time.perf_counter() - t0
    nfe_full = model.last_sample_info_["network_evaluations"]
    f_fast = evaluate_fidelity(real, s_fast, seed=args.seed, detection=False)
    f_full = evaluate_fidelity(real, s_full, seed=args.seed, detection=False)

    by = report.by_group.set_index("race")
    result = {
        "mcrage_version": __version__,
        "machine": {**device_info(), "processor": platform.processor()},
        "command": " ".join(sys.argv),
        "config": config.to_dict(),
        "n_train": len(train),
        "n_holdout": len(hold),
        "load_average_at_end": os.getloadavg(),
        "training": {
            "wall_s": round(train_s, 1),
            "cpu_s": round(cpu_s, 1),
            "rows_per_s": round(rows_per_s),
            "final_loss": model.train_log_[-1]["loss"],
        },
        "synthetic_ddim": {
            "rows": len(synth),
            "wall_s": round(ddim_full_s, 1),
            "exact_copies_removed_while_sampling": copies_removed,
            "overall": report.to_dict()["overall"],
            "by_race": report.to_dict()["by_group"],
        },
        "by_race_larger_synthetic_sets": group_rows,
        "sampler_comparison": {
            "rows": len(s_fast),
            "ddim": {
                "network_evaluations": nfe_fast,
                "wall_s": round(fast_s, 2),
                "column_shapes": f_fast.overall["column_shapes"],
                "pair_trends": f_fast.overall["pair_trends"],
            },
            "ancestral": {
                "network_evaluations": nfe_full,
                "wall_s": round(full_s, 2),
                "column_shapes": f_full.overall["column_shapes"],
                "pair_trends": f_full.overall["pair_trends"],
            },
            "speedup": round(full_s / fast_s, 1),
        },
    }
    targets = []
    for g in BIG_GROUPS:
        targets.append(
            (
                f"column shapes {g} >= 0.90",
                by.loc[g, "column_shapes"],
                by.loc[g, "column_shapes"] >= 0.90,
            )
        )
        targets.append(
            (f"pair trends {g} >= 0.85", by.loc[g, "pair_trends"], by.loc[g, "pair_trends"] >= 0.85)
        )
    auc = report.overall["detection_auc"]
    targets.append(("detection AUC overall <= 0.75", auc, auc <= 0.75))
    copies = report.overall["exact_copies"]
    targets.append(("exact copies in output == 0", copies, copies == 0))
    targets.append(
        (
            f"ancestral {nfe_full} NFE vs DDIM {nfe_fast} NFE speed-up >= 10x",
            full_s / fast_s,
            full_s / fast_s >= 10 and nfe_fast <= 50,
        )
    )
    diff = abs(f_full.overall["column_shapes"] - f_fast.overall["column_shapes"])
    targets.append(("|column shapes full - DDIM| <= 0.02", diff, diff <= 0.02))
    targets.append(("training <= 300 s", train_s, train_s <= 300))
    result["targets"] = [{"target": t, "value": float(v), "met": bool(m)} for t, v, m in targets]

    (out / "result.json").write_text(json.dumps(result, indent=1, default=str))
    lines = ["| target | value | met |", "|---|---|---|"]
    lines += [f"| {t} | {float(v):.3f} | {'yes' if m else 'NO'} |" for t, v, m in targets]
    lines += ["", "```", report.by_group.round(3).to_string(index=False), "```"]
    text = "\n".join(lines)
    print(text)
    print(json.dumps(result["training"]), json.dumps(result["sampler_comparison"]))
    print("overall:", json.dumps(result["synthetic_ddim"]["overall"]))
    (out / "result.md").write_text(text)


if __name__ == "__main__":
    main()
