"""Time to quality of the default generator, and its speed against the matmul bound.

Trains the default preset (``CDDPMConfig.preset(DEFAULT_PRESET)``) on SUPPORT2's
training split with several time budgets, and after each one generates the rows that
raise the black and hispanic groups to the size of the largest group (twice over, about
20,000 rows, each group keeping its outcome mix), then scores each group against its
real training rows with the peer benchmark's scorer (column shape with a missing-rate
term, detection AUC of a gradient-boosting classifier with 3-fold CV) and counts exact
copies of real rows. The headline is **time to quality**: the shortest budget whose rows
meet the targets (shape >= 0.94 black, >= 0.92 hispanic, detection AUC <= 0.65 for
both, no exact copies). ``--data/--group/--target/--scored`` run the same check on a
table the project does not ship (the robustness corpus in ``tests/data/real``), where a
group with 1,000 real rows or more must reach 0.94 and a smaller one 0.92.

It also reports training throughput next to the matmul bound of the same MLP: floating
point operations per training row (forward and backward of every linear layer) times
rows/s, against the measured single-thread GEMM throughput of this CPU at the network's
shapes (or of the GPU with ``--device cuda``).

Usage::

    .venv/bin/python benchmarks/bench_default.py                      # budgets 20..50 s
    .venv/bin/python benchmarks/bench_default.py --budgets 50 --seeds 0 1
    .venv/bin/python benchmarks/bench_default.py --budgets 50 --data tests/data/real/flchain.csv \
        --group sex --target death --scored M
    python3 benchmarks/bench_default.py --device cuda --presets quick standard

Results are printed and written to ``benchmarks/_out/default/`` (JSON and Markdown).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import pandas as pd
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from peers.scorer import score_group  # noqa: E402

from mcrage_core import __version__  # noqa: E402
from mcrage_core.diffusion import CDDPM, DEFAULT_PRESET, CDDPMConfig, device_info  # noqa: E402
from mcrage_core.tables import load_table  # noqa: E402

DETECTION_TARGET = 0.65


def shape_target(n_real: int) -> float:
    """Column-shape target of a group: 0.94 with 1,000 real rows or more (SUPPORT2's black
    patients), 0.92 below (its 232 hispanic patients)."""
    return 0.94 if n_real >= 1000 else 0.92


def split(df: pd.DataFrame, group: str, target: str, seed: int) -> pd.DataFrame:
    """The 80 % training split, stratified by group x outcome."""
    from sklearn.model_selection import train_test_split

    strat = df[group].fillna("?").astype(str) + "_" + df[target].astype(str)
    train, _hold = train_test_split(df, test_size=0.2, random_state=seed, stratify=strat)
    return train.reset_index(drop=True)


def plan_rows(
    train: pd.DataFrame, group: str, target: str, scored: list[str], factor: int
) -> dict[tuple[object, object], int]:
    """Rows raising each scored group to the largest group, keeping its outcome mix."""
    largest = int(train[group].value_counts().max())
    plan: dict[tuple[object, object], int] = {}
    for g in scored:
        sub = train[train[group] == g]
        mix = sub[target].value_counts(normalize=True)
        for outcome, share in mix.items():
            plan[(g, outcome)] = int(round(factor * (largest - len(sub)) * share))
    return plan


def gemm_gflops(hidden: int, batch: int, device: torch.device) -> float:
    """Measured throughput of ``[batch, hidden] @ [hidden, hidden]`` (GFLOP/s)."""
    a = torch.randn(batch, hidden, device=device)
    b = torch.randn(hidden, hidden, device=device)
    for _ in range(5):
        a @ b
    reps = 200
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(reps):
        a @ b
    if device.type == "cuda":
        torch.cuda.synchronize()
    return 2 * batch * hidden * hidden * reps / (time.perf_counter() - t0) / 1e9


def flops_per_row(dim: int, cfg: CDDPMConfig) -> float:
    """Forward + backward FLOPs of the linear layers for one training row."""
    h = cfg.hidden
    macs = dim * h + cfg.depth * 2 * h * h + h * dim  # input, blocks, output
    macs += 2 * h * h * min(1.0, cfg.timesteps / cfg.batch_size)  # time MLP (on the chain)
    return 3 * 2 * macs


def run_once(
    df: pd.DataFrame, cfg: CDDPMConfig, seed: int, args: argparse.Namespace
) -> dict[str, object]:
    group, target, device = args.group, args.target, args.device
    train = split(df, group, target, seed)
    t0 = time.perf_counter()
    model = CDDPM(cfg.with_overrides(seed=seed, checkpoint_every=0)).fit(
        train, target=target, condition=[group]
    )
    fit_s = time.perf_counter() - t0
    plan = plan_rows(train, group, target, args.scored, args.factor)
    if device == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    synth = model.sample(plan, seed=seed + 100, exclude_copies_of=df)
    gen_s = time.perf_counter() - t0
    info = model.train_info_
    row: dict[str, object] = {
        "seed": seed,
        "budget_s": cfg.time_budget_s,
        "fit_s": round(fit_s, 1),
        "train_loop_s": info["wall_s"],
        "steps": info["steps"],
        "stop": info.get("stop_reason"),
        "rows_per_s": info["rows_per_s"],
        "generate_s": round(gen_s, 2),
        "n_generated": len(synth),
        "nfe": model.last_sample_info_["network_evaluations"],
        "copies_redrawn": model.last_sample_info_["exact_copies_removed"],
        "dim": model.encoder_.output_dim_,
    }
    meets = True
    for g in args.scored:
        real = train[train[group] == g]
        scores = score_group(real, synth[synth[group] == g], real_all=df, skip=[group])
        row[f"shape_{g}"] = round(scores["column_shape"], 4)
        row[f"detection_{g}"] = round(scores["detection_auc"], 3)
        row[f"copies_{g}"] = scores["exact_copies"]
        meets &= scores["column_shape"] >= shape_target(len(real))
        meets &= scores["detection_auc"] <= DETECTION_TARGET and scores["exact_copies"] == 0
    row["meets_targets"] = bool(meets)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(ROOT / "sample_data" / "support2.csv"))
    ap.add_argument("--group", default="race", help="the group column to rebalance")
    ap.add_argument("--target", default="died_within_6_months", help="the outcome column")
    ap.add_argument(
        "--scored", nargs="+", default=["black", "hispanic"], help="groups to raise and score"
    )
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--presets", nargs="+", default=[DEFAULT_PRESET])
    ap.add_argument(
        "--budgets", nargs="*", type=float, default=[20, 30, 40, 50], help="time budgets (s)"
    )
    ap.add_argument("--seeds", nargs="+", type=int, default=[0])
    ap.add_argument("--factor", type=int, default=2, help="generate this many times the plan")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "_out" / "default"))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    df = load_table(args.data)
    if df[args.group].dtype.kind in "iuf":  # coded groups: match the --scored codes
        args.scored = [type(df[args.group].dropna().iloc[0])(float(g)) for g in args.scored]
    load_before = os.getloadavg()
    rows = []
    for preset in args.presets:
        base = CDDPMConfig.preset(preset, device=args.device)
        budgets = args.budgets if preset == DEFAULT_PRESET else [base.time_budget_s]
        for budget in budgets or [base.time_budget_s]:
            cfg = base.with_overrides(time_budget_s=budget)
            for seed in args.seeds:
                row = {"preset": preset, **run_once(df, cfg, seed, args)}
                print(json.dumps(row), flush=True)
                rows.append(row)
    dev = torch.device(args.device)
    threads = base.cpu_threads if dev.type == "cpu" else None
    if threads:
        torch.set_num_threads(threads)
    cfg0 = CDDPMConfig.preset(args.presets[0], device=args.device)
    gemm = gemm_gflops(cfg0.hidden, cfg0.batch_size, dev)
    per_row = flops_per_row(int(rows[0]["dim"]), cfg0)  # type: ignore[call-overload]
    achieved = [
        per_row * float(r["rows_per_s"]) / 1e9 for r in rows if r["preset"] == args.presets[0]
    ]  # type: ignore[arg-type]
    result = {
        "mcrage_version": __version__,
        "torch": torch.__version__,
        "machine": {**device_info(), "processor": platform.processor(), "cpus": os.cpu_count()},
        "command": " ".join(sys.argv),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "rows": rows,
        "matmul_bound": {
            "gemm_gflops": round(gemm, 1),
            "flops_per_training_row": per_row,
            "achieved_gflops": [round(a, 1) for a in achieved],
            "share_of_bound": [round(a / gemm, 3) for a in achieved],
        },
    }
    met = [r for r in rows if r["meets_targets"] and r["preset"] == DEFAULT_PRESET]
    result["time_to_quality_s"] = min((float(r["fit_s"]) for r in met), default=None)  # type: ignore[arg-type]
    (out / "result.json").write_text(json.dumps(result, indent=1, default=str))
    frame = pd.DataFrame(rows).drop(columns=["dim"])
    text = "| " + " | ".join(frame.columns) + " |\n|" + "---|" * len(frame.columns) + "\n"
    text += "\n".join("| " + " | ".join(str(v) for v in r) + " |" for r in frame.to_numpy())
    mb = result["matmul_bound"]
    text += (
        f"\n\nGEMM {mb['gemm_gflops']} GFLOP/s; {per_row / 1e6:.2f} MFLOP per training row; "
        f"achieved {mb['achieved_gflops']} GFLOP/s = {mb['share_of_bound']} of the bound. "
        f"Time to quality: {result['time_to_quality_s']} s. Load {load_before} -> "
        f"{result['load_average_after']}."
    )
    (out / "result.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
