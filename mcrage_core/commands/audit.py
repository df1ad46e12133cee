"""``mcrage audit``: rebalance a table with every strategy and compare per-group fairness.

Writes ``DIR/results.json``, ``DIR/report.html``, ``DIR/synthetic.csv`` (the MCRAGE rows)
and ``DIR/augmented_train.csv`` (the training part plus those rows, column ``source``).
Progress goes to stderr; the last line on stdout is a one-line JSON summary.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

HELP = (
    "Rebalance a table (oversampling, SMOTE, reweighing, MCRAGE diffusion, threshold "
    "optimizer) and compare per-group accuracy, F1, AUROC and fairness gaps."
)
_ALL = "none,oversample,smote,reweigh,cddpm,threshold"


def add_arguments(parser: argparse.ArgumentParser) -> None:
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
        default="hgb",
        help="downstream model (default hgb: histogram gradient boosting)",
    )
    parser.add_argument(
        "--seeds", type=int, default=None, help="repetitions (default 3; 1 with --quick)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small diffusion model, one seed and fewer sampling steps (a few minutes on a laptop)",
    )
    parser.add_argument("--out", required=True, help="folder for the results (created if needed)")
    parser.add_argument(
        "--plan",
        choices=("max", "share"),
        default="max",
        help="bring every group up to the largest group (max, default) or to --share of the table",
    )
    parser.add_argument("--share", type=float, help="with --plan share: e.g. 0.1 for 10 %%")
    parser.add_argument(
        "--balance-outcome",
        action="store_true",
        help="also make outcomes equal within each group (default: keep each group's mix)",
    )
    parser.add_argument(
        "--preset",
        choices=("quick", "standard", "thorough"),
        help="diffusion model size (default standard; quick with --quick)",
    )
    parser.add_argument(
        "--train-steps",
        type=int,
        help="diffusion training steps (default: the preset's; fewer = faster, rougher rows)",
    )
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default auto)")
    parser.add_argument("--sampling-steps", type=int, help="DDIM sampling steps (default: model's)")
    parser.add_argument(
        "--test-size", type=float, default=0.25, help="held-out share (default 0.25)"
    )
    parser.add_argument(
        "--small-group", type=int, default=30, help="flag groups with fewer test rows (default 30)"
    )
    parser.add_argument(
        "--bootstrap", type=int, default=200, help="bootstrap resamples (default 200)"
    )
    parser.add_argument(
        "--min-cell-rows",
        type=int,
        default=20,
        help="no synthetic rows for cells with fewer real rows (privacy; default 20)",
    )
    parser.add_argument(
        "--allow-small-cells", action="store_true", help="generate rows even for small cells"
    )
    parser.add_argument(
        "--no-sensitive-features",
        action="store_true",
        help="do not use the sensitive columns as model inputs",
    )
    parser.add_argument(
        "--labels",
        action="append",
        metavar="COL=CODE:LABEL,...",
        help="what coded values mean, e.g. --labels 'raceth=1:White,2:Black,3:Hispanic' "
        "(repeat per column); labels are shown everywhere, synthetic files keep the codes",
    )
    parser.add_argument(
        "--merge-below",
        type=int,
        default=0,
        metavar="N",
        help="analyse groups with fewer than N rows together as 'other (merged)' (default: off)",
    )
    parser.add_argument(
        "--threshold",
        type=float,
        default=0.5,
        help="decision threshold on the predicted probability (default 0.5)",
    )
    parser.add_argument(
        "--min-test-rows",
        type=int,
        default=5,
        help="refuse the audit when the test part would hold fewer rows of either outcome, "
        "or fewer than two groups with this many rows (default 5)",
    )
    parser.add_argument("--title", default=None, help="title of the HTML report")
    parser.add_argument("--sheet", help="Excel sheet to read")
    parser.add_argument("--max-mb", type=float, default=200, help="file size limit in MB")


class _TerminalProgress:
    """Stage changes and (at most every 2 s) training steps, on stderr."""

    def __init__(self) -> None:
        self.stage = ""
        self.last = 0.0

    def __call__(self, event) -> None:  # noqa: ANN001 - ProgressEvent
        now = time.monotonic()
        training = event.step is not None
        if not training and event.stage == self.stage:
            return
        if training and now - self.last < 2.0 and event.step != event.total_steps:
            return
        self.stage, self.last = event.stage, now
        line = f"[{100 * event.fraction:5.1f} %] {event.stage}"
        if training:
            line += f" — step {event.step}/{event.total_steps}"
            if event.loss is not None:
                line += f", loss {event.loss:.4f}"
            if event.eta_s is not None:
                line += f", about {event.eta_s:.0f} s left"
        print(line, file=sys.stderr, flush=True)


def build_config(args: argparse.Namespace):
    """The :class:`~mcrage_core.evaluation.pipeline.AuditConfig` for the parsed arguments."""
    from mcrage_core.errors import ConfigError
    from mcrage_core.evaluation.pipeline import AuditConfig
    from mcrage_core.tables.groups import parse_labels

    if args.plan == "share" and args.share is None:
        raise ConfigError("--plan share needs --share, for example --share 0.1")
    preset = args.preset or ("quick" if args.quick else "standard")
    seeds = args.seeds if args.seeds is not None else (1 if args.quick else 3)
    sampling_steps = args.sampling_steps
    if sampling_steps is None and args.quick:
        sampling_steps = 20
    cddpm_config = None
    if args.train_steps is not None:
        from mcrage_core.diffusion import CDDPMConfig

        if args.train_steps < 1:
            raise ConfigError(f"--train-steps must be at least 1, got {args.train_steps}")
        cddpm_config = CDDPMConfig.preset(preset, device=args.device).with_overrides(
            train_steps=int(args.train_steps)
        )
    return AuditConfig(
        args.target,
        sensitive=tuple(args.sensitive or ()),
        positive_class=args.positive_class,
        rebalance=tuple(args.rebalance or ()),
        strategies=tuple(s.strip() for s in args.strategies.split(",") if s.strip()),
        classifier=args.classifier,
        seeds=seeds,
        test_size=args.test_size,
        small_group=args.small_group,
        n_bootstrap=args.bootstrap,
        plan_mode=args.plan,
        plan_share=args.share,
        balance_outcome=args.balance_outcome,
        sensitive_as_features=not args.no_sensitive_features,
        cddpm_preset=preset,
        cddpm_config=cddpm_config,
        device=args.device,
        sampling_steps=sampling_steps,
        min_cell_rows=args.min_cell_rows,
        allow_small_cells=args.allow_small_cells,
        value_labels=parse_labels(args.labels),
        merge_below=args.merge_below,
        threshold=args.threshold,
        min_test_rows=args.min_test_rows,
    )


def write_synthetic_files(out: Path, results, data, schema) -> None:  # noqa: ANN001
    """``synthetic.csv``, ``augmented_train.csv`` and their ``synthetic.columns.json``
    sidecar in ``out`` (see :func:`mcrage_core.tables.records.synthetic_artefacts`)."""
    from mcrage_core.tables.records import synthetic_artefacts

    for name, payload in synthetic_artefacts(results, data, schema).items():
        (out / name).write_bytes(payload)


def run(args: argparse.Namespace) -> int:
    from mcrage_core.errors import ConfigError
    from mcrage_core.evaluation.pipeline import run_audit
    from mcrage_core.evaluation.results import to_jsonable
    from mcrage_core.presentation.report import plain_summary, render_report
    from mcrage_core.tables.io import load_table
    from mcrage_core.tables.schema import infer_schema

    config = build_config(args)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {str(out)!r} is a file; give a folder for the results")
    df = load_table(args.path, max_bytes=int(args.max_mb * 1024 * 1024), sheet=args.sheet)
    data, schema = infer_schema(
        df, target=args.target, positive_class=args.positive_class, sensitive=args.sensitive
    )
    results = run_audit(data, schema, config, progress=_TerminalProgress())
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / "results.json").write_text(results.to_json(), encoding="utf-8")
        title = args.title or f"MCRAGE fairness audit of {Path(args.path).name}"
        (out / "report.html").write_text(render_report(results, title=title), encoding="utf-8")
        write_synthetic_files(out, results, data, schema)
    except OSError as exc:
        raise ConfigError(
            f"could not write the results to {str(out)!r} ({exc.strerror or exc}); check that "
            "the folder is writable and the disk is not full"
        ) from exc
    print(plain_summary(results), file=sys.stderr)
    for warning in results.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    summary = {
        "out": str(out),
        "seconds": results.timings.get("total"),
        "strategies": {s: results.overall(s) for s in results.strategies},
    }
    print(json.dumps(to_jsonable(summary), allow_nan=False))
    return 0
