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
