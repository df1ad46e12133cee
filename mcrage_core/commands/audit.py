"""``mcrage audit``: rebalance a table with every strategy and compare per-group fairness.

Writes ``DIR/results.json``, ``DIR/report.html``, ``DIR/synthetic.csv`` (the MCRAGE rows)
and ``DIR/augmented_train.csv`` (the training part plus those rows, column ``source``).
Progress goes to stderr; the last line on stdout is a one-line JSON summary.

The arguments become a :class:`~mcrage_core.jobs.settings.RunSettings` (whose defaults are
the flags' defaults), run by :func:`mcrage_core.jobs.execute.run_settings`: the same path
as a dashboard run in the background worker.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from mcrage_core.commands._options import add_device, add_dp, add_ray, dp_overrides
from mcrage_core.jobs.settings import DEFAULTS, RunSettings

if TYPE_CHECKING:
    pass

HELP = (
    "Rebalance a table (oversampling, SMOTE, reweighing, MCRAGE diffusion, threshold "
    "optimizer) and compare per-group accuracy, F1, AUROC and fairness gaps."
)
_ALL = ",".join(DEFAULTS.strategies)

# (flag, type, default, metavar, help) of the plain numeric options; defaults: RunSettings'
_NUMBERS: tuple[tuple[str, type, object, str | None, str], ...] = (
    ("--seeds", int, None, None, "repeats of the cross-validation, each with new folds and "
     f"models (default {DEFAULTS.n_seeds})"),
    ("--folds", int, None, None, f"cross-validation folds (default {DEFAULTS.folds}; 1 = one "
     "hold-out split of --test-size)"),
    ("--worst", int, DEFAULTS.plan_worst, "N", "with --plan targeted: raise at most the N "
     f"groups where the baseline is worst (default {DEFAULTS.plan_worst})"),
    ("--train-steps", int, None, None, "diffusion training steps (default: the preset's; "
     "fewer = faster, rougher rows)"),
    ("--sampling-steps", int, None, None, "DDIM sampling steps (default: model's)"),
    ("--test-size", float, DEFAULTS.test_size, None,
     f"held-out share with --folds 1 (default {DEFAULTS.test_size})"),
    ("--small-group", int, DEFAULTS.small_group, None,
     f"flag groups with fewer test rows (default {DEFAULTS.small_group})"),
    ("--bootstrap", int, None, None, "bootstrap resamples (default 200)"),
    ("--min-cell-rows", int, DEFAULTS.min_cell_rows, None,
     f"no synthetic rows for cells with fewer real rows (privacy; default {DEFAULTS.min_cell_rows})"),
    ("--merge-below", int, DEFAULTS.merge_below, "N",
     "analyse groups with fewer than N rows together as 'other (merged)' (default: off)"),
    ("--threshold", float, DEFAULTS.threshold, None,
     f"decision threshold on the predicted probability (default {DEFAULTS.threshold})"),
    ("--min-test-rows", int, DEFAULTS.min_test_rows, None,
     "refuse the audit when the test part would hold fewer rows of either outcome, or fewer "
     f"than two groups with this many rows (default {DEFAULTS.min_test_rows})"),
)  # fmt: skip


def add_arguments(parser: argparse.ArgumentParser) -> None:
    _add_table_arguments(parser)
    _add_audit_arguments(parser)
    for flag, kind, default, metavar, text in _NUMBERS:
        parser.add_argument(flag, type=kind, default=default, metavar=metavar, help=text)


def _add_table_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="CSV (optionally .gz), Parquet or Excel file")
    parser.add_argument("--target", required=True, help="outcome column")
    parser.add_argument("--positive-class", help="outcome value that counts as positive")
    parser.add_argument(
        "--sensitive",
        action="append",
        metavar="COL",
        required=True,
        help="sensitive column to evaluate (repeat for several; age is evaluated by band)",
    )
    parser.add_argument(
        "--labels",
        action="append",
        metavar="COL=CODE:LABEL,...",
        help="what coded values mean, e.g. --labels 'raceth=1:White,2:Black,3:Hispanic' "
        "(repeat per column); labels are shown everywhere, synthetic files keep the codes",
    )
    parser.add_argument("--out", required=True, help="folder for the results (created if needed)")
    parser.add_argument("--title", default=None, help="title of the HTML report")
    parser.add_argument("--sheet", help="Excel sheet to read")
    parser.add_argument("--max-mb", type=float, default=200, help="file size limit in MB")


def _add_audit_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--rebalance",
        action="append",
        metavar="COL",
        help="column(s) to rebalance (repeat for an intersection; default: race if given, "
        "else the first --sensitive column)",
    )
    parser.add_argument(
        "--strategies",
        default=_ALL,
        help=f"comma-separated strategies (default: {_ALL}); 'none' is always run",
    )
    parser.add_argument(
        "--classifier",
        choices=("logreg", "rf", "hgb"),
        default=DEFAULTS.classifier,
        help="downstream model (default hgb: histogram gradient boosting)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a quick check: the quick preset and one repeat of 3-fold cross-validation "
        "(verdicts have less power)",
    )
    parser.add_argument(
        "--plan",
        choices=("max", "share", "targeted"),
        default=DEFAULTS.plan_mode,
        help="bring every group up to the largest group (max, default), to --share of the "
        "table, or raise only the groups where the baseline is worst (targeted)",
    )
    parser.add_argument(
        "--plan-metric",
        choices=("f1", "auroc", "tpr", "balanced_accuracy"),
        default=DEFAULTS.plan_metric,
        help=f"with --plan targeted: the metric that finds the worst groups "
        f"(default {DEFAULTS.plan_metric})",
    )
    parser.add_argument(
        "--max-synthetic-ratio",
        default=str(DEFAULTS.max_synthetic_ratio),
        metavar="R",
        help="at most R synthetic rows per real row of a group (default "
        f"{DEFAULTS.max_synthetic_ratio}: never more synthetic than real rows; 'none': no cap)",
    )
    parser.add_argument(
        "--intersect",
        metavar="COL,COL",
        help="two sensitive columns whose intersection is evaluated too (default: the first "
        "two --sensitive columns; 'none' for none)",
    )
    parser.add_argument("--share", type=float, help="with --plan share: e.g. 0.1 for 10 %%")
    parser.add_argument(
        "--preset",
        choices=("quick", "standard", "thorough"),
        help=f"diffusion model time budget: quick about 1 minute, standard up to 5, "
        f"thorough up to 15 (default {DEFAULTS.preset})",
    )
    add_device(parser, help="auto, cpu, cuda or mps (default auto)")
    add_dp(parser)
    add_ray(parser, what="the folds of the evaluation grid (as Ray tasks)")
    flags = (
        ("--balance-outcome", "also make outcomes equal within each group (default: keep each "
         "group's mix)"),
        ("--allow-small-cells", "generate rows even for small cells"),
        ("--no-sensitive-features", "do not use the sensitive columns as model inputs"),
    )  # fmt: skip
    for flag, text in flags:
        parser.add_argument(flag, action="store_true", help=text)


def settings_from_args(args: argparse.Namespace) -> RunSettings:
    """The :class:`~mcrage_core.jobs.settings.RunSettings` for the parsed arguments."""
    from mcrage_core.errors import ConfigError
    from mcrage_core.tables import parse_labels

    if args.plan == "share" and args.share is None:
        raise ConfigError("--plan share needs --share, for example --share 0.1")
    if args.train_steps is not None and args.train_steps < 1:
        raise ConfigError(f"--train-steps must be at least 1, got {args.train_steps}")
    sampling_steps = args.sampling_steps
    return RunSettings(
        table=Path(args.path).name,
        target=args.target,
        positive_class=args.positive_class,
        sensitive=tuple(args.sensitive or ()),
        rebalance=tuple(args.rebalance or ()),
        strategies=tuple(s.strip() for s in args.strategies.split(",") if s.strip()),
        classifier=args.classifier,
        preset=args.preset or ("quick" if args.quick else DEFAULTS.preset),
        device=args.device,
        n_seeds=args.seeds if args.seeds is not None else (1 if args.quick else DEFAULTS.n_seeds),
        folds=args.folds if args.folds is not None else (3 if args.quick else DEFAULTS.folds),
        train_steps=args.train_steps,
        sampling_steps=sampling_steps,
        test_size=args.test_size,
        small_group=args.small_group,
        n_bootstrap=args.bootstrap,
        plan_mode=args.plan,
        plan_share=args.share,
        plan_metric=args.plan_metric,
        plan_worst=args.worst,
        max_synthetic_ratio=_ratio(args.max_synthetic_ratio),
        intersect=_intersect(args.intersect),
        balance_outcome=args.balance_outcome,
        sensitive_as_features=not args.no_sensitive_features,
        min_cell_rows=args.min_cell_rows,
        allow_small_cells=args.allow_small_cells,
        value_labels=parse_labels(args.labels),
        merge_below=args.merge_below,
        threshold=args.threshold,
        min_test_rows=args.min_test_rows,
        overrides=dp_overrides(args),
    )


def _ratio(text: str | None) -> float | None:
    from mcrage_core.errors import ConfigError

    if text is None or str(text).strip().lower() in ("none", "off", ""):
        return None
    try:
        return float(text)
    except ValueError:
        raise ConfigError(
            f"--max-synthetic-ratio must be a number such as 1.0 (or 'none'), got {text!r}"
        ) from None


def _intersect(text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return None
    if text.strip().lower() in ("none", "off", ""):
        return ()
    return tuple(c.strip() for c in text.split(",") if c.strip())


def run(args: argparse.Namespace) -> int:
    from mcrage_core.commands._progress import TerminalProgress
    from mcrage_core.errors import ConfigError
    from mcrage_core.jobs.execute import run_settings, write_audit_artefacts
    from mcrage_core.presentation.privacy import privacy_assessment, privacy_headline
    from mcrage_core.presentation.report import plain_summary
    from mcrage_core.presentation.verdicts import verdict_paragraph
    from mcrage_core.tables import load_table
    from mcrage_core.util import to_jsonable

    settings = settings_from_args(args)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {str(out)!r} is a file; give a folder for the results")
    df = load_table(args.path, max_bytes=int(args.max_mb * 1024 * 1024), sheet=args.sheet)
    bar = TerminalProgress()
    try:
        audit = run_settings(settings, df, progress=bar, ray_address=args.ray_address)
    finally:
        bar.close()
    title = args.title or f"MCRAGE fairness audit of {Path(args.path).name}"
    try:
        out.mkdir(parents=True, exist_ok=True)
        write_audit_artefacts(out, audit, title=title)
    except OSError as exc:
        raise ConfigError(
            f"could not write the results to {str(out)!r} ({exc.strerror or exc}); check that "
            "the folder is writable and the disk is not full"
        ) from exc
    results = audit.results
    print(verdict_paragraph(results), file=sys.stderr)
    print(plain_summary(results), file=sys.stderr)
    privacy = privacy_assessment(results.fidelity)
    if privacy is not None:
        eps = (privacy.dp or {}).get("epsilon_spent")
        dp = f" Differential privacy: ε = {eps:.3g} spent." if eps is not None else ""
        print(f"Privacy: {privacy_headline(privacy)}{dp}", file=sys.stderr)
    for warning in results.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    counts = results.verdicts["verdict"].value_counts()
    summary = {
        "out": str(out),
        "seconds": results.timings.get("total"),
        "verdicts": {str(k): int(v) for k, v in counts.items()},
        "strategies": {s: results.overall(s) for s in results.strategies},
        "privacy": None if privacy is None else privacy.worst_light(),
        "dp_epsilon_spent": None if privacy is None else (privacy.dp or {}).get("epsilon_spent"),
    }
    print(json.dumps(to_jsonable(summary), allow_nan=False))
    return 0
