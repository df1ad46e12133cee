"""``mcrage inspect``: schema, roles and imbalance audit of a table."""

from __future__ import annotations

import argparse
import json
import sys

HELP = "Show the columns, detected roles (target, race/sex/age, identifiers) and group imbalance of a table."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="CSV (optionally .gz), Parquet or Excel file")
    parser.add_argument("--target", help="outcome column (detected when omitted)")
    parser.add_argument("--positive-class", help="outcome value that counts as positive")
    parser.add_argument(
        "--sensitive",
        action="append",
        metavar="COL",
        help="sensitive column to audit (repeat for several; detected when omitted)",
    )
    parser.add_argument(
        "--age-bands",
        default="30,45,65,80",
        help="lower edges of the age bands after the first (default: 30,45,65,80)",
    )
    parser.add_argument(
        "--small-cell", type=int, default=30, help="flag groups smaller than this (default 30)"
    )
    parser.add_argument("--sheet", help="Excel sheet to read")
    parser.add_argument("--max-mb", type=float, default=200, help="file size limit in MB")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def parse_age_bands(text: str) -> tuple[int, ...]:
    from mcrage_core.errors import ConfigError

    try:
        return tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError as exc:
        raise ConfigError(
            f"--age-bands must be comma-separated whole numbers such as 30,45,65,80; got {text!r}."
        ) from exc


def inspect_table(args: argparse.Namespace) -> dict:
    """Load, infer and audit; return the JSON-ready summary."""
    from mcrage_core.tables import audit_imbalance, infer_schema, load_table

    df = load_table(args.path, max_bytes=int(args.max_mb * 1024 * 1024), sheet=args.sheet)
    data, schema = infer_schema(
        df,
        target=args.target,
        positive_class=args.positive_class,
        sensitive=args.sensitive,
        age_bands=parse_age_bands(args.age_bands),
    )
    warnings = list(schema.warnings)
    groups: list[dict] = []
    audit: dict | None = None
    if schema.sensitive:
        report = audit_imbalance(data, schema, small_cell=args.small_cell)
        audit = report.to_dict()
        groups = [
            {
                k: g[k]
                for k in (
                    "attribute",
                    "kind",
                    "group",
                    "n",
                    "share",
                    "outcome_rate",
                    "ci_low",
                    "ci_high",
                    "small_cell",
                )
            }
            for g in audit["groups"]
        ]
        warnings += report.warnings()
    else:
        warnings.append("No race, sex or age column was found; name them with --sensitive.")
    if schema.target is None:
        warnings.append("No outcome column was found; name it with --target.")
    return {
        "file": str(args.path),
        "n_rows": int(len(data)),
        "n_columns": int(data.shape[1]),
        "target": schema.target,
        "positive_class": schema.positive_class,
        "classes": list(schema.classes),
        "sensitive": dict(schema.sensitive),
        "identifiers": list(schema.identifiers),
        "excluded": dict(schema.excluded),
        "columns": [
            {
                "name": c.name,
                "kind": c.kind,
                "role": c.role,
                "missing_fraction": round(c.missing_fraction, 6),
                "n_unique": c.n_unique,
                "reason": c.reason,
            }
            for c in schema.columns
        ],
        "groups": groups,
        "summary": audit["summary"] if audit else [],
        "intersection": audit["intersection"] if audit else [],
        "warnings": warnings,
    }


def run(args: argparse.Namespace) -> int:
    result = inspect_table(args)
    if args.json:
        json.dump(result, sys.stdout, indent=2, allow_nan=False)
        sys.stdout.write("\n")
        return 0
    _print_human(result)
    return 0


def _print_human(r: dict) -> None:
    import pandas as pd

    out = sys.stdout
    out.write(f"{r['file']}: {r['n_rows']:,} rows × {r['n_columns']} columns\n")
    target = r["target"] or "(none found: use --target)"
    out.write(f"Target: {target}")
    if r["positive_class"] is not None:
        out.write(
            f"  (positive class: {r['positive_class']!r}; classes: {', '.join(r['classes'])})"
        )
    out.write("\n")
    sens = ", ".join(f"{k} → {v}" for k, v in r["sensitive"].items()) or "(none found)"
    out.write(f"Sensitive: {sens}\n")
    if r["excluded"]:
        out.write("Excluded from modelling:\n")
        for col, why in r["excluded"].items():
            out.write(f"  - {col}: {why}\n")
    out.write("\nColumns\n")
    cols = pd.DataFrame(r["columns"])[["name", "kind", "role", "missing_fraction", "n_unique"]]
    cols["missing_fraction"] = (100 * cols["missing_fraction"]).round(1).astype(str) + " %"
    out.write(cols.rename(columns={"missing_fraction": "missing"}).to_string(index=False) + "\n")
    if r["groups"]:
        out.write("\nGroups (outcome rate with Wilson 95 % CI)\n")
        g = pd.DataFrame(r["groups"])
        g["share"] = (100 * g["share"]).round(1).astype(str) + " %"
        g["outcome"] = [
            "—" if rate is None else f"{100 * rate:.1f} % [{100 * lo:.1f}, {100 * hi:.1f}]"
            for rate, lo, hi in zip(g["outcome_rate"], g["ci_low"], g["ci_high"], strict=True)
        ]
        g["small"] = g["small_cell"].map({True: "small", False: ""})
        out.write(
            g[["attribute", "group", "n", "share", "outcome", "small"]].to_string(index=False)
            + "\n"
        )
        out.write("\nImbalance (largest group / smallest group)\n")
        s = pd.DataFrame(r["summary"])
        s["imbalance_ratio"] = s["imbalance_ratio"].round(1)
        out.write(
            s[
                ["attribute", "n_groups", "largest", "smallest", "imbalance_ratio", "n_missing"]
            ].to_string(index=False)
            + "\n"
        )
    if r["warnings"]:
        out.write("\nWarnings\n")
        for w in r["warnings"]:
            out.write(f"  ! {w}\n")
