"""A real local Ray cluster for the tests of this folder: a head node on localhost with
2 CPUs, started with ``ray start --head --block`` in its own process group (so stopping it
stops this cluster only, never another Ray on the machine), and the test process
disconnected from it at the end."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

_START_TIMEOUT_S = 60.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(port: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + _START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"ray start exited with status {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"the Ray head did not listen on port {port} within {_START_TIMEOUT_S} s")


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[str]:
    """The address ``127.0.0.1:PORT`` of a fresh local Ray cluster (2 CPUs)."""
    import ray

    port = _free_port()
    command = [
        str(Path(sys.executable).parent / "ray"),
        "start",
        "--head",
        "--block",
        "--num-cpus=2",
        f"--port={port}",
        "--include-dashboard=false",
        "--object-store-memory=200000000",
        "--disable-usage-stats",
    ]
    # no token authentication: a ~/.ray/auth_token left by another Ray session must not
    # lock these tests out of their own cluster
    env = {**os.environ, "RAY_AUTH_MODE": "disabled"}
    proc = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env=env,
    )
    try:
        _wait_for(port, proc)
        yield f"127.0.0.1:{port}"
    finally:
        ray.shutdown()
        os.killpg(proc.pid, signal.SIGINT)  # ray start --block stops its processes on ^C
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
