"""``mcrage compare``: two finished audits side by side (verdicts, per-group numbers, the
settings that differ), as text and as a self-contained HTML report."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mcrage_core.evaluation.results import AuditResults

HELP = (
    "Compare two finished audits (their results.json or run folders): the settings that "
    "differ, the verdicts per group side by side, and the per-group numbers."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_a", help="results.json of the first run, or its folder")
    parser.add_argument("run_b", help="results.json of the second run, or its folder")
    parser.add_argument("--label-a", default="Run A", help="name of the first run")
    parser.add_argument("--label-b", default="Run B", help="name of the second run")
    parser.add_argument("--out", help="write the comparison report (HTML) here")
    parser.add_argument("--json", action="store_true", help="print the comparison as JSON")


def _load(path_text: str) -> AuditResults:
    from mcrage_core.errors import ConfigError
    from mcrage_core.evaluation import AuditResults

    path = Path(path_text)
    if path.is_dir():
        path = path / "results.json"
    if not path.is_file():
        raise ConfigError(
            f"{path_text!r} is not a results file or a run folder with a results.json; give "
            "the --out folder of 'mcrage audit' or the results.json downloaded from the Report page"
        )
    return AuditResults.from_json(path.read_bytes())


def run(args: argparse.Namespace) -> int:
    from mcrage_core.errors import ConfigError
    from mcrage_core.presentation.compare_runs import compare_verdicts, differences_in_settings
    from mcrage_core.presentation.report.compare import render_comparison_report

    a, b = _load(args.run_a), _load(args.run_b)
    la, lb = args.label_a, args.label_b
    diffs = differences_in_settings(a, b, label_a=la, label_b=lb)
    table = compare_verdicts(a, b, label_a=la, label_b=lb)
    if args.out:
        try:
            Path(args.out).write_text(
                render_comparison_report(a, b, label_a=la, label_b=lb), encoding="utf-8"
            )
        except OSError as exc:
            raise ConfigError(
                f"could not write {args.out!r} ({exc.strerror or exc}); check the folder"
            ) from exc
    if args.json:
        out = {"differences": diffs, "verdicts": table.to_dict(orient="records")}
        print(json.dumps(out, ensure_ascii=False))
        return 0
    print("What differs:" if diffs else "The two runs have the same settings.")
    for line in diffs:
        print(f"  - {line}")
    if table.empty:
        print("Neither run has verdicts (runs made before verdicts existed).")
    else:
        agree = int((table["Agree"] == "yes").sum())
        print(f"\nVerdicts agree for {agree} of {len(table)} comparisons:")
        print(table.to_string(index=False))
    if args.out:
        print(f"\nReport written to {args.out}", file=sys.stderr)
    return 0
