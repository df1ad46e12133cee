"""``mcrage privacy``: membership-inference and attribute-disclosure risk of a synthetic
table, overall and per group, with a traffic light per finding."""

from __future__ import annotations

import argparse
import json

HELP = (
    "Measure what a synthetic table reveals about the real training patients: exact copies, "
    "distance to closest record, membership-inference AUC and attribute-disclosure risk, "
    "overall and per group."
)

_ICONS = {"green": "OK  ", "amber": "WARN", "red": "RISK", "grey": "--  "}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("train", help="the real rows the generator was trained on")
    parser.add_argument("holdout", help="real rows of the same population it never saw")
    parser.add_argument("synthetic", help="the generated rows")
    parser.add_argument(
        "--by", action="append", metavar="COL", help="also per group of COL (repeatable)"
    )
    parser.add_argument(
        "--infer",
        metavar="COL",
        help="sensitive column the disclosure attacker tries to guess (e.g. the outcome); "
        "without it attribute disclosure is not measured",
    )
    parser.add_argument(
        "--quasi",
        action="append",
        metavar="COL",
        help="column the attacker knows (repeatable; default: the --by columns)",
    )
    parser.add_argument(
        "--model", metavar="DIR", help="the generator's folder: report its differential privacy"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    from mcrage_core.privacy import assess_privacy
    from mcrage_core.tables import load_table

    train, holdout, synthetic = (load_table(p) for p in (args.train, args.holdout, args.synthetic))
    dp = _model_dp(args.model) if args.model else None
    result = assess_privacy(
        train,
        holdout,
        synthetic,
        by=args.by or (),
        quasi_identifiers=args.quasi or (),
        sensitive=args.infer,
        dp=dp,
        seed=args.seed,
    )
    if args.json:
        print(json.dumps(result.to_dict(), indent=1, allow_nan=False))
        return 0
    print(f"Privacy of {args.synthetic} ({len(synthetic):,} rows); worst: {result.worst_light()}")
    for r in result.readings():
        print(f"[{_ICONS.get(r.light, '--  ')}] {r.measure} ({r.scope}): {r.sentence}")
    return 0


def _model_dp(folder: str) -> dict | None:
    from mcrage_core.diffusion import CDDPM

    info = CDDPM.load(folder).train_info_ or {}
    dp = info.get("dp")
    return dict(dp) if isinstance(dp, dict) else None
