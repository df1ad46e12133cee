"""``mcrage sample``: generate synthetic rows from a trained CDDPM model."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mcrage_core.commands._options import add_device, add_threads

if TYPE_CHECKING:
    from mcrage_core.diffusion import CountRequest

HELP = "Generate synthetic rows for chosen groups from a model trained with 'mcrage train'."

COUNTS_HELP = (
    'rows to generate per group, e.g. "black=500,hispanic=800". A group names one value '
    "per --condition column, joined by '|' in training order (\"black|female=500,"
    'hispanic|male=300"). Such counts are split over the outcome classes in proportion to '
    "the group's real outcome mix; add the outcome value as a last part to choose it "
    'exactly ("black|1=200" or "black|female|1=200").'
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model_dir", metavar="DIR", help="folder written by 'mcrage train'")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--counts", metavar="SPEC", help=COUNTS_HELP)
    which.add_argument(
        "--n",
        type=int,
        metavar="N",
        help="N rows in total, spread over all groups and outcomes like the real data",
    )
    parser.add_argument("--out", required=True, metavar="OUT.csv", help="CSV file to write")
    parser.add_argument(
        "--sampling-steps",
        type=int,
        metavar="K",
        help="network evaluations of the fast (DDIM) sampler (default: the model's, 50)",
    )
    parser.add_argument(
        "--guidance",
        type=float,
        metavar="W",
        help="classifier-free guidance scale (1 = none, default: the model's)",
    )
    parser.add_argument(
        "--method",
        choices=("ddim", "ancestral"),
        default="ddim",
        help="ddim: fast strided sampler (default); ancestral: the full DDPM chain (slow)",
    )
    parser.add_argument("--seed", type=int, help="random seed for reproducible output")
    add_threads(parser)
    add_device(parser, help="where to sample")
    parser.add_argument(
        "--exclude-copies-of",
        metavar="REAL",
        help="real table: synthetic rows identical to one of its rows are replaced",
    )
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    parser.add_argument("--json", action="store_true", help="print a JSON summary on stdout")


def parse_counts(text: str, n_condition: int) -> dict[tuple[str, ...], int]:
    """Parse ``"black=500,hispanic|1=80"`` into ``{("black",): 500, ("hispanic", "1"): 80}``."""
    from mcrage_core.errors import ConfigError

    counts: dict[tuple[str, ...], int] = {}
    items = [p for p in text.split(",") if p.strip()]
    if not items:
        raise ConfigError('--counts is empty; write it like "black=500,hispanic=800".')
    for item in items:
        if "=" not in item:
            raise ConfigError(
                f"--counts item {item.strip()!r} has no '='; write it like \"black=500\"."
            )
        key, _, value = item.rpartition("=")
        parts = tuple(p.strip() for p in key.split("|"))
        try:
            n = int(value.strip())
        except ValueError as exc:
            raise ConfigError(
                f"--counts item {item.strip()!r}: {value.strip()!r} is not a whole number."
            ) from exc
        if n < 0:
            raise ConfigError(f"--counts item {item.strip()!r}: the count must be 0 or more.")
        if len(parts) not in (n_condition, n_condition + 1) or not all(parts):
            raise ConfigError(
                f"--counts item {item.strip()!r} should name {n_condition} value(s) joined by "
                f"'|' (one per condition column), optionally followed by the outcome."
            )
        counts[parts] = counts.get(parts, 0) + n
    return counts


def run(args: argparse.Namespace) -> int:
    from mcrage_core.diffusion import CDDPM
    from mcrage_core.errors import ConfigError

    model = CDDPM.load(args.model_dir, device=args.device)
    if args.threads is not None:
        model.config = model.config.with_overrides(cpu_threads=args.threads)
    counts: CountRequest
    if args.counts is not None:
        counts = parse_counts(args.counts, len(model.condition_))
    else:
        if args.n < 1:
            raise ConfigError(f"--n must be at least 1, got {args.n}.")
        from mcrage_core.util import largest_remainder as _largest_remainder

        cells = model.known_cells()
        shares = _largest_remainder(args.n, model.cells_["n_real"].tolist())
        counts = dict(zip(cells, shares, strict=True))
    if args.sampling_steps is not None and args.sampling_steps < 1:
        raise ConfigError(f"--sampling-steps must be at least 1, got {args.sampling_steps}.")
    real = None
    if args.exclude_copies_of:
        from mcrage_core.tables import load_table

        real = load_table(args.exclude_copies_of)
    synth = model.sample(
        counts,
        sampling_steps=args.sampling_steps,
        guidance=args.guidance,
        seed=args.seed,
        method=args.method,
        exclude_copies_of=real,
    )
    from mcrage_core.tables import to_safe_csv

    out = Path(args.out)
    try:
        if out.parent and not out.parent.exists():
            out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(to_safe_csv(synth))
    except OSError as exc:
        raise ConfigError(f"Could not write {out} ({exc.strerror or exc}).") from exc
    info = dict(model.last_sample_info_)
    per_cell = synth.groupby(model.cell_columns, dropna=False).size()
    per_cell_rows: list[dict[str, Any]] = [
        {"cell": [str(v) for v in (k if isinstance(k, tuple) else (k,))], "n": int(n)}
        for k, n in per_cell.items()
    ]
    summary = {"out": str(out), **info, "per_cell": per_cell_rows}
    if args.json:
        print(json.dumps(summary, indent=1, default=str))
    elif not args.quiet:
        print(
            f"Wrote {len(synth)} synthetic rows to {out} ({info['method']}, "
            f"{info['network_evaluations']} network evaluations, {info['wall_s']:.1f}s)."
        )
        for item in per_cell_rows:
            print(f"  {'|'.join(item['cell'])}: {item['n']}")
        if real is not None:
            print(f"Exact copies of real rows removed and replaced: {info['exact_copies_removed']}")
    return 0
