"""``mcrage dashboard``: start the Streamlit dashboard (the app installed with the package).

The server settings come from ``dashboard/streamlit.toml`` (upload limit, XSRF
protection, no usage statistics, no error details in the browser) and are passed as
``--section.key=value`` flags, so they apply whatever folder the command runs in.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tomllib
from pathlib import Path

from mcrage_core.errors import ConfigError

HELP = "Start the dashboard in a browser tab (Streamlit); Ctrl+C stops it."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=8501, help="port to serve on (default 8501)")
    parser.add_argument(
        "--address",
        default=None,
        help="address to listen on (default: Streamlit's; 0.0.0.0 for every network interface)",
    )
    parser.add_argument(
        "--print-command",
        action="store_true",
        help="print the streamlit command line instead of running it",
    )


def app_path() -> Path:
    """Where the dashboard's entry script is (repository checkout or installed package)."""
    spec = importlib.util.find_spec("dashboard")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for folder in locations:
        app = Path(folder) / "app.py"
        if app.is_file():
            return app
    raise ConfigError(
        "The dashboard is not installed with this copy of mcrage (no dashboard/app.py found): "
        "reinstall with `pip install mcrage` or run `make run` in a checkout."
    )


def server_flags(config: Path) -> list[str]:
    """``--section.key=value`` flags from a Streamlit ``config.toml``-style file."""
    data = tomllib.loads(config.read_text(encoding="utf-8"))
    flags = []
    for section, values in data.items():
        for key, value in values.items():
            text = str(value).lower() if isinstance(value, bool) else str(value)
            flags.append(f"--{section}.{key}={text}")
    return flags


def command(args: argparse.Namespace) -> list[str]:
    app = app_path()
    cmd = [sys.executable, "-m", "streamlit", "run", str(app)]
    cmd += server_flags(app.parent / "streamlit.toml")
    cmd.append(f"--server.port={args.port}")
    if args.address:
        cmd.append(f"--server.address={args.address}")
    return cmd


def run(args: argparse.Namespace) -> int:
    cmd = command(args)
    if args.print_command:
        print(" ".join(cmd))
        return 0
    print(
        f"Starting the MCRAGE dashboard on port {args.port} (Ctrl+C stops it) ...", file=sys.stderr
    )
    try:
        return subprocess.call(cmd)
    except KeyboardInterrupt:
        return 0
