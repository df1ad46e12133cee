"""``mcrage train``: train a conditional diffusion model (CDDPM) on a table."""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mcrage_core.commands._options import add_device, add_dp, add_ray, add_threads, dp_overrides
from mcrage_core.commands._progress import TerminalProgress
from mcrage_core.jobs import DEFAULTS

if TYPE_CHECKING:
    from mcrage_core.diffusion.distributed import RayTraining

HELP = "Train the conditional diffusion model (CDDPM) on a table and save it to a folder."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "path", help="CSV (optionally .gz), Parquet or Excel file with the real rows"
    )
    parser.add_argument("--target", required=True, help="outcome column (generated rows keep it)")
    parser.add_argument(
        "--condition",
        action="append",
        required=True,
        metavar="COL",
        help="sensitive column to condition on, e.g. race (repeat for several: "
        "--condition race --condition sex)",
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="folder to save the model in")
    parser.add_argument(
        "--preset",
        choices=("quick", "standard", "thorough"),
        default=DEFAULTS.preset,
        help="training time budget: quick about 1 minute, standard up to 5, thorough up "
        f"to 15 (default: {DEFAULTS.preset}; larger networks on a GPU)",
    )
    parser.add_argument(
        "--steps", type=int, help="train exactly this many steps (replaces the time budget)"
    )
    add_device(parser, help="where to train (default: auto = CUDA, then Apple MPS, then CPU)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    add_threads(parser)
    parser.add_argument(
        "--columns",
        help="comma-separated feature columns to model (default: all except identifiers "
        "and free text)",
    )
    parser.add_argument(
        "--resume", action="store_true", help="continue from the checkpoint in --out"
    )
    add_dp(parser)
    add_ray(parser, what="the training, data-parallel (DDP)")
    parser.add_argument(
        "--ray-workers",
        type=int,
        metavar="N",
        help="training workers on the Ray cluster, one CPU (or GPU) each (default 2); each "
        "takes 1/N of every batch",
    )
    parser.add_argument("--sheet", help="Excel sheet to read")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--json", action="store_true", help="print a JSON summary on stdout")


def _stopped(info: Mapping[str, Any]) -> str:
    """Why training ended, for the summary line (empty for models saved before)."""
    from mcrage_core.presentation.format import fmt_duration

    why = info.get("stopped_because")
    if not why:
        return ""
    budget = info.get("time_budget_s")
    if budget and info.get("stop_reason") == "time":
        return f" ({why} of {fmt_duration(float(budget))})"
    return f" ({why})"


def _privacy_line(info: Mapping[str, Any]) -> str | None:
    """The differential-privacy summary of a private run (``None`` for a plain one)."""
    dp = info.get("dp")
    if not isinstance(dp, Mapping):
        return None
    line = (
        f"Differential privacy: ε = {dp['epsilon_spent']:.3g} spent of "
        f"{dp['epsilon_target']:g} (δ = {dp['delta']:.0e}) in {dp['steps']} DP-SGD steps "
        f"(noise multiplier {dp['noise_multiplier']:.3g}, clipping bound "
        f"{dp['max_grad_norm']:g}, sampling rate {dp['sample_rate']:.3g})."
    )
    caveat = info.get("dp_does_not_cover")
    return f"{line}\n  {caveat}" if caveat else line


def _ray_runner(args: argparse.Namespace) -> RayTraining | None:
    """The Ray Train runner when a cluster is given (``--ray-address`` or the environment
    variable), else ``None``: training runs in this process."""
    from mcrage_core.errors import ConfigError
    from mcrage_core.util.ray_cluster import ADDRESS_ENV, resolve_address

    address = resolve_address(args.ray_address)
    if address is None:
        if args.ray_workers is not None:
            raise ConfigError(f"--ray-workers needs --ray-address (or {ADDRESS_ENV}).")
        return None
    from mcrage_core.diffusion.distributed import RayTraining

    use_gpu = {"cpu": False, "cuda": True}.get(args.device)
    workers = 2 if args.ray_workers is None else args.ray_workers
    return RayTraining(address, workers=workers, use_gpu=use_gpu)


def _where_line(info: Mapping[str, Any]) -> str | None:
    """Where a distributed run trained (``None`` for a run in this process)."""
    where = info.get("distributed")
    if not isinstance(where, Mapping):
        return None
    address = where["address"]
    place = "Ray on this machine" if address == "local" else f"the Ray cluster at {address}"
    return (
        f"Trained data-parallel on {place}: {where['workers']} workers, "
        f"{where['backend']} backend, {where['device']}."
    )


def run(args: argparse.Namespace) -> int:
    from mcrage_core.diffusion import CDDPM, CDDPMConfig
    from mcrage_core.errors import ConfigError
    from mcrage_core.tables import load_table

    if args.steps is not None and args.steps < 1:
        raise ConfigError(f"--steps must be at least 1, got {args.steps}.")
    df = load_table(args.path, sheet=args.sheet)
    config = CDDPMConfig.preset(args.preset, device=args.device)
    changes: dict = {"seed": args.seed}
    if args.threads is not None:
        changes["cpu_threads"] = args.threads
    changes.update(dp_overrides(args))
    config = config.with_overrides(**changes)
    if args.steps is not None:
        config = config.with_steps(args.steps)
    columns = None
    if args.columns:
        columns = [c.strip() for c in args.columns.split(",") if c.strip()]
    runner = _ray_runner(args)
    bar = None if args.quiet else TerminalProgress()
    try:
        model = CDDPM(config).fit(
            df,
            target=args.target,
            condition=args.condition,
            columns=columns,
            progress=bar,
            run_dir=args.out,
            resume=args.resume,
            runner=runner,
        )
    finally:
        if bar is not None:
            bar.close()
    summary = {
        "out": str(args.out),
        "target": model.target_,
        "condition": model.condition_,
        "columns": model.columns_,
        "cells": model.cells_.astype(object).to_dict(orient="records"),
        "notes": model.notes_,
        "training": model.train_info_,
    }
    if args.json:
        print(json.dumps(summary, indent=1, default=str))
        return 0
    from mcrage_core.presentation.format import fmt_duration

    info = model.train_info_
    print(
        f"Model saved to {args.out}: {len(model.columns_)} columns, {info['n_train_rows']} rows, "
        f"{info['steps']} steps in {fmt_duration(info['wall_s'])} on {info['device']}"
        f"{_stopped(info)}."
    )
    for line in (_where_line(info), _privacy_line(info)):
        if line:
            print(line)
    print("Cells (" + " | ".join(model.cell_columns) + "):")
    for row in model.cells_.itertuples(index=False):
        *cell, n = row
        print(f"  {'|'.join(str(v) for v in cell)}: {n} real rows")
    for note in model.notes_:
        print(f"Note: {note}")
    return 0
