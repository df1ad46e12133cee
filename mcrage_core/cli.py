"""Command-line entry point: ``mcrage inspect | train | sample | fidelity | audit``.

Errors the library raises on purpose (:class:`~mcrage_core.errors.MCRAGEError`) end
the program with exit status 2 and one ``error: ...`` line on stderr, never a
traceback. Set ``MCRAGE_DEBUG=1`` to see tracebacks of unexpected failures.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
from collections.abc import Sequence

from mcrage_core import __version__
from mcrage_core.commands import COMMANDS
from mcrage_core.errors import MCRAGEError

EXIT_USAGE = 2
EXIT_INTERNAL = 1


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="mcrage",
        description="Audit and repair demographic imbalance in EHR tables (MCRAGE).",
    )
    parser.add_argument("--version", action="version", version=f"mcrage {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        if importlib.util.find_spec(f"mcrage_core.commands.{name}") is None:
            continue  # a command module not installed in this build
        module = importlib.import_module(f"mcrage_core.commands.{name}")
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args._run(args) or 0)
    except MCRAGEError as exc:
        print(f"error: {_one_line(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("error: interrupted by the user", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # noqa: BLE001 - last line of defence: no tracebacks for users
        if os.environ.get("MCRAGE_DEBUG"):
            raise
        print(
            f"error: unexpected internal error ({type(exc).__name__}: {_one_line(str(exc))}); "
            "re-run with MCRAGE_DEBUG=1 for details and please report it",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


def _one_line(text: str) -> str:
    return " ".join(text.split())


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
