"""``mcrage fidelity``: how close a synthetic table is to the real one, and how private."""

from __future__ import annotations

import argparse
import json
import math

HELP = (
    "Compare a synthetic table with the real one: column shapes, pair trends, detection "
    "AUC, distance to closest record and exact copies (overall and per group)."
)

_LABELS = {
    "column_shapes": "Column shapes (1 = identical distributions)",
    "pair_trends": "Pair trends (1 = identical correlations)",
    "missingness": "Missing-value rates (1 = identical)",
    "detection_auc": "Detection AUC (0.5 = indistinguishable)",
    "dcr_closer_to_train_share": "Share closer to training than hold-out rows (~0.5 ideal)",
    "exact_copies": "Exact copies of real rows",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("real", help="real table (CSV, Parquet or Excel)")
    parser.add_argument("synthetic", help="synthetic table")
    parser.add_argument(
        "--by", action="append", metavar="COL", help="also report per group of COL (repeatable)"
    )
    parser.add_argument(
        "--holdout", metavar="HOLDOUT", help="real rows not used for training (enables DCR)"
    )
    parser.add_argument("--no-detection", action="store_true", help="skip the detection AUC")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def _fmt(v: object) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def run(args: argparse.Namespace) -> int:
    from mcrage_core.fidelity import evaluate_fidelity
    from mcrage_core.tables import load_table

    real = load_table(args.real)
    synth = load_table(args.synthetic)
    holdout = load_table(args.holdout) if args.holdout else None
    report = evaluate_fidelity(
        real,
        synth,
        by=args.by,
        holdout=holdout,
        seed=args.seed,
        detection=not args.no_detection,
    )
    data = report.to_dict()
    if args.json:
        print(json.dumps(data, indent=1, default=str))
        return 0
    o = report.overall
    print(f"Real rows: {o['n_real']}   synthetic rows: {o['n_synthetic']}")
    from mcrage_core.fidelity import FIDELITY_HELP, fidelity_verdict

    for key, label in _LABELS.items():
        verdict = fidelity_verdict(key, o.get(key))
        print(f"  {label:<58} {_fmt(o.get(key)):>8}  {verdict or ''}")
    if o.get("detection_auc_method"):
        print(f"  (detection AUC {o['detection_auc_method']})")
    print("\nReadings:")
    for key, text in FIDELITY_HELP.items():
        print(f"  {key}: {text}")
    if len(report.by_group):
        print("\nPer group:")
        print(report.by_group.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    worst = report.column_scores.sort_values("score").head(5)
    if len(worst):
        print("\nLeast similar columns:")
        for r in worst.itertuples(index=False):
            print(f"  {r.column:<30} {r.metric:<14} {r.score:.3f}")
    return 0
