"""Markdown tables of an audit's verdicts, for benchmarks/RESULTS.md.

Usage::

    python benchmarks/verdict_tables.py RUN_DIR_OR_RESULTS_JSON [--attribute race] [--metric f1]

Prints, for the attribute (default: the rebalanced one) and metric (default F1):

1. the verdict per strategy and group (baseline → value, change with its 95 % interval,
   the test and the Holm-adjusted p-value);
2. the *worst judgeable group* (lowest baseline value among the judged groups) and the
   half-width of its change's interval per strategy, next to the half-width of the
   bootstrap interval of the change of the worst-group F1 (the ``disparity`` table);
3. the groups too small to judge.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from mcrage_core.evaluation import AuditResults  # noqa: E402
from mcrage_core.presentation.verdicts import signed2  # noqa: E402


def load(path: Path) -> AuditResults:
    if path.is_dir():
        path = path / "results.json"
    return AuditResults.from_json(path.read_text(encoding="utf-8"))


def verdict_rows(results: AuditResults, attribute: str, metric: str) -> list[str]:
    v = results.verdicts
    v = v[(v["attribute"] == attribute) & (v["metric"] == metric)]
    labels = results.dataset.get("strategy_labels") or {}
    out = [
        "| strategy | group | n | baseline → with strategy | change (95 % CI) | verdict | test | p (Holm) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for _, r in v.iterrows():
        out.append(
            f"| {labels.get(r['strategy'], r['strategy'])} | {r['group']} | {int(r['n']):,} | "
            f"{r['baseline']:.3f} → {r['value']:.3f} | {signed2(r['delta'])} "
            f"({signed2(r['ci_low'])} to {signed2(r['ci_high'])}) | **{r['verdict']}** | "
            f"{r['test'].split(' (')[0].split(' over ')[0]} | {r['p_adjusted']:.3f} |"
        )
    return out


def verdict_matrix(results: AuditResults, attribute: str, metric: str) -> list[str]:
    """Groups down, strategies across; a cell: change (95 % CI) and the verdict."""
    v = results.verdicts
    v = v[(v["attribute"] == attribute) & (v["metric"] == metric)]
    labels = results.dataset.get("strategy_labels") or {}
    strategies = list(dict.fromkeys(v["strategy"]))
    short = {"helped": "**helped**", "hurt": "**hurt**", "no measurable change": "no change"}
    head = "| group (n) | baseline | " + " | ".join(labels.get(s, s) for s in strategies) + " |"
    out = [head, "|---" * (len(strategies) + 2) + "|"]
    for group, rows in v.groupby("group", sort=False):
        cells = []
        for s in strategies:
            r = rows[rows["strategy"] == s]
            if r.empty:
                cells.append("–")
                continue
            r = r.iloc[0]
            cells.append(f"{signed2(r['delta'])} ({signed2(r['ci_low'])} to "
                         f"{signed2(r['ci_high'])}) {short[r['verdict']]}")  # fmt: skip
        first = rows.iloc[0]
        out.append(
            f"| {group} ({int(first['n']):,}) | {first['baseline']:.3f} | "
            + " | ".join(cells)
            + " |"
        )
    return out


def worst_group_rows(results: AuditResults, attribute: str, metric: str) -> list[str]:
    v = results.verdicts
    v = v[(v["attribute"] == attribute) & (v["metric"] == metric)]
    if v.empty:
        return ["(no verdicts)"]
    base = v.drop_duplicates("group").set_index("group")["baseline"]
    worst = str(base.idxmin())
    d = results.disparity
    d = d[(d["attribute"] == attribute) & (d["metric"] == f"worst_group_{metric}")]
    labels = results.dataset.get("strategy_labels") or {}
    out = [
        f"Worst judgeable group: **{worst}** (baseline {metric.upper()} {base[worst]:.3f}).",
        "",
        "| strategy | change for the worst group (95 % CI) | half-width | test | "
        "worst-group change, bootstrap (95 % CI) | half-width |",
        "|---|---|---|---|---|---|",
    ]
    for _, r in v[v["group"] == worst].iterrows():
        half = (r["ci_high"] - r["ci_low"]) / 2
        row = d[d["strategy"] == r["strategy"]]
        if len(row):
            b = row.iloc[0]
            boot = f"{signed2(b['delta'])} ({signed2(b['delta_ci_low'])} to {signed2(b['delta_ci_high'])})"
            boot_half = f"±{(b['delta_ci_high'] - b['delta_ci_low']) / 2:.3f}"
        else:
            boot, boot_half = "–", "–"
        out.append(
            f"| {labels.get(r['strategy'], r['strategy'])} | {signed2(r['delta'])} "
            f"({signed2(r['ci_low'])} to {signed2(r['ci_high'])}) | ±{half:.3f} | "
            f"{r['test'].split(' over ')[0]} | {boot} | {boot_half} |"
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--attribute")
    parser.add_argument("--metric", default="f1")
    parser.add_argument("--matrix", action="store_true", help="groups × strategies only")
    args = parser.parse_args(argv)
    results = load(args.run)
    attribute = args.attribute or results.primary_attribute or "race"
    ds = results.dataset
    print(f"{ds.get('n_rows_used'):,} rows; {ds.get('evaluation')}; timings total "
          f"{results.timings.get('total', float('nan')):.0f} s\n")  # fmt: skip
    if args.matrix:
        print("\n".join(verdict_matrix(results, attribute, args.metric)))
        return 0
    print("\n".join(verdict_rows(results, attribute, args.metric)))
    print()
    print("\n".join(worst_group_rows(results, attribute, args.metric)))
    m = results.metrics
    small = m[(m["attribute"] == attribute) & (m["strategy"] == "none") & (m["metric"] == "f1")]
    judged = set(results.verdicts["group"])
    small = small[~small["group"].isin(judged)]
    if len(small):
        print(
            "\nToo small to judge: "
            + ", ".join(f"{g} (n = {n})" for g, n in zip(small["group"], small["n"], strict=True))
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
