"""Command-line options shared by several sub-commands (one definition each)."""

from __future__ import annotations

import argparse

DEVICES = ("auto", "cpu", "cuda", "mps")


def add_threads(parser: argparse.ArgumentParser) -> None:
    """``--threads N``: CPU threads for torch."""
    parser.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help="CPU threads for torch (default: torch's choice; 1 is often faster on a busy machine)",
    )


def add_device(parser: argparse.ArgumentParser, *, help: str) -> None:  # noqa: A002 - argparse's word
    """``--device``: auto, cpu, cuda or mps."""
    parser.add_argument("--device", choices=DEVICES, default="auto", help=help)


def add_dp(parser: argparse.ArgumentParser) -> None:
    """``--dp-epsilon``, ``--dp-delta``, ``--max-grad-norm``: DP-SGD training of the CDDPM."""
    parser.add_argument(
        "--dp-epsilon",
        type=float,
        metavar="E",
        help="train the diffusion model with differential privacy (DP-SGD) at budget ε = E "
        "(1 strong, 10 common); default: no differential privacy",
    )
    parser.add_argument(
        "--dp-delta", type=float, metavar="D", help="δ of the budget (default: below 1/(10 n))"
    )
    parser.add_argument(
        "--max-grad-norm",
        type=float,
        metavar="C",
        help="per-patient gradient clipping bound of DP-SGD (default 1.0)",
    )


def dp_overrides(args: argparse.Namespace) -> dict[str, float]:
    """The CDDPM config overrides of the ``add_dp`` options (empty without ``--dp-epsilon``)."""
    from mcrage_core.errors import ConfigError

    if args.dp_epsilon is None:
        if args.dp_delta is not None or args.max_grad_norm is not None:
            raise ConfigError("--dp-delta and --max-grad-norm need --dp-epsilon")
        return {}
    out = {"dp_epsilon": float(args.dp_epsilon)}
    if args.dp_delta is not None:
        out["dp_delta"] = float(args.dp_delta)
    if args.max_grad_norm is not None:
        out["max_grad_norm"] = float(args.max_grad_norm)
    return out


def add_ray(parser: argparse.ArgumentParser, *, what: str) -> None:
    """``--ray-address ADDR``: run ``what`` on a Ray cluster (the ``mcrage[ray]`` extra)."""
    parser.add_argument(
        "--ray-address",
        metavar="ADDR",
        help=f"run {what} on the Ray cluster at ADDR (HOST:PORT of the head node, as printed "
        "by `ray start --head`; 'local' starts Ray on this machine); default: the "
        "MCRAGE_RAY_ADDRESS environment variable, else this process. Needs "
        'pip install "mcrage[ray]"',
    )
