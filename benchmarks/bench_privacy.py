"""Privacy against fidelity and fairness: one audit of SUPPORT2 (race × outcome) per
privacy setting (non-private, ε = 10, ε = 1) on the same split, in one table.

Usage::

    python benchmarks/bench_privacy.py [--eps none,10,1] [--folds 1] [--out benchmarks/_out/privacy]

Each audit compares no augmentation with the CDDPM on the same real test rows (same
seed, so the same split); the CDDPM is trained with DP-SGD at the given ε or without.
Per race group the table gives: column shapes, pair trends and detection AUC of the
synthetic rows, membership-inference AUC (distance and density attacks) and attribute-
disclosure risk (guessing died_within_6_months from race, sex and age band); then the
ε spent, the training time and the change of the worst-group F1 (CDDPM − none) with its
95 % interval. Prints markdown and writes it with the raw results under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

from mcrage_core.jobs import RunSettings  # noqa: E402
from mcrage_core.jobs.execute import run_settings, write_audit_artefacts  # noqa: E402

GROUPS = ("white", "black", "hispanic", "other", "asian")


def audit(eps: float | None, folds: int, out: Path) -> dict:
    overrides = {} if eps is None else {"dp_epsilon": eps}
    settings = RunSettings(
        table="support2.csv",
        target="died_within_6_months",
        sensitive=("race", "sex", "age"),
        rebalance=("race",),
        strategies=("none", "cddpm"),
        n_seeds=1,
        folds=folds,
        device="cpu",
        overrides=overrides,
    )
    df = pd.read_csv(ROOT / "sample_data" / "support2.csv")
    started = time.perf_counter()
    run = run_settings(settings, df)
    wall = time.perf_counter() - started
    out.mkdir(parents=True, exist_ok=True)
    write_audit_artefacts(out, run)
    return {"results": json.loads((out / "results.json").read_text()), "wall_s": wall}


def _row(label: str, found: dict) -> dict:
    res = found["results"]
    fid = res.get("fidelity") or {}
    by_group = pd.DataFrame(fid.get("by_group") or [])
    privacy = fid.get("privacy") or {}
    member = pd.DataFrame(privacy.get("membership") or [])
    disclose = pd.DataFrame(privacy.get("disclosure") or [])
    disparity = pd.DataFrame(res["tables"]["disparity"])
    worst = disparity[
        (disparity["strategy"] == "cddpm")
        & (disparity["attribute"] == "race")
        & (disparity["metric"] == "worst_group_f1")
    ]
    training = (res.get("training") or {}).get("info") or {}
    row: dict = {
        "setting": label,
        "wall_s": round(found["wall_s"]),
        "train_s": training.get("wall_s"),
    }
    row["eps_spent"] = ((privacy.get("dp") or {}) or {}).get("epsilon_spent")
    if len(worst):
        w = worst.iloc[0]
        row["worst_f1_change"] = (
            f"{w['delta']:+.3f} ({w['delta_ci_low']:+.3f} to {w['delta_ci_high']:+.3f})"
        )
    for g in GROUPS:
        if len(by_group) and "race" in by_group:
            sel = by_group[by_group["race"].astype(str) == g]
            if len(sel):
                s = sel.iloc[0]
                row[f"{g}:shape/trend/det"] = (
                    f"{s['column_shapes']:.3f} / {s['pair_trends']:.3f} / {s['detection_auc']:.3f}"
                )
        for attack in ("distance", "density"):
            sel = (
                member[
                    (member["column"] == "race")
                    & (member["group"] == g)
                    & (member["attack"] == attack)
                ]
                if len(member)
                else member
            )
            if len(sel) and pd.notna(sel.iloc[0]["auc"]):
                m = sel.iloc[0]
                row[f"{g}:MIA {attack}"] = (
                    f"{m['auc']:.3f} ({m['ci_low']:.2f}–{m['ci_high']:.2f}; n={int(m['n_members'])}+{int(m['n_nonmembers'])})"
                )
        sel = (
            disclose[(disclose["column"] == "race") & (disclose["group"] == g)]
            if len(disclose)
            else disclose
        )
        if len(sel) and pd.notna(sel.iloc[0]["disclosure_risk"]):
            d = sel.iloc[0]
            row[f"{g}:disclosure"] = (
                f"{d['disclosure_risk']:+.3f} ({d['ci_low']:+.2f} to {d['ci_high']:+.2f})"
            )
    return row


def _markdown(table: pd.DataFrame) -> str:
    cols = [str(c) for c in table.columns]
    lines = ["| measure | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for name, row in table.iterrows():
        cells = ["" if pd.isna(v) else str(v) for v in row.tolist()]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--eps", default="none,10,1")
    ap.add_argument("--folds", type=int, default=1)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "_out" / "privacy"))
    args = ap.parse_args()
    out = Path(args.out)
    rows = []
    for text in args.eps.split(","):
        eps = None if text.strip() == "none" else float(text)
        label = "non-private" if eps is None else f"ε = {eps:g}"
        print(f"auditing {label} ...", file=sys.stderr, flush=True)
        found = audit(eps, args.folds, out / (text.strip().replace(".", "_")))
        rows.append(_row(label, found))
    table = pd.DataFrame(rows).set_index("setting").T
    md = _markdown(table)
    head = (
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"load {os.getloadavg()[0]:.1f}; torch CPU; folds={args.folds}\n\n"
    )
    (out / "table.md").write_text(head + md + "\n", encoding="utf-8")
    print(head + md)


if __name__ == "__main__":
    main()
