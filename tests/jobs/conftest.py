"""Stand-ins for the worker's interpreter (``RunRegistry(python=...)``), so that tests start
real processes that behave like a hung or a stale worker. Every process a test started is
killed when it ends."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from mcrage_core.jobs import liveness

# The real worker (heartbeat thread, attempt checks, outcome) with a job that waits: for
# the file ``go-<attempt>`` in the run folder (then it succeeds) or for its stop check
# (cancel, or the run is no longer this worker's). It reports no progress. With the
# setting ``{"hang": "holding the lock"}`` it takes the registry's write lock and hangs.
_WAITING_WORKER = """\
#!{python}
import sqlite3, sys, time
from mcrage_core.errors import TrainingCancelled
from mcrage_core.jobs import worker

def wait(record, df, progress, stop):
    if record.params.get("hang") == "holding the lock":
        con = sqlite3.connect(record.run_dir.parent.parent / "runs.sqlite")
        con.execute("BEGIN IMMEDIATE")
        time.sleep(600)
    go = record.run_dir / f"go-{{record.attempt}}"
    while not go.exists():
        if stop():
            raise TrainingCancelled("stopped")
        time.sleep(0.05)

worker._JOBS["audit"] = wait
sys.exit(worker.main(sys.argv[3:]))  # argv: script -m mcrage_core.jobs.worker RUN_DIR ...
"""

# A process that looks like a worker (its command line names the worker module and the
# run) but never heartbeats nor imports anything: starts in milliseconds.
_SILENT_WORKER = """\
#!{python}
import time
time.sleep(600)
"""


class FakeWorkers:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _script(self, name: str, text: str) -> str:
        path = self.folder / name
        path.write_text(textwrap.dedent(text).format(python=sys.executable))
        path.chmod(0o755)
        return str(path)

    @property
    def waiting(self) -> str:
        """The real worker running a job that waits (see ``_WAITING_WORKER``)."""
        return self._script("waiting_worker", _WAITING_WORKER)

    @property
    def silent(self) -> str:
        """A worker that starts, never heartbeats and never ends."""
        return self._script("silent_worker", _SILENT_WORKER)


@pytest.fixture()
def fake_workers(tmp_path: Path) -> Iterator[FakeWorkers]:
    before = set(liveness._CHILDREN)
    yield FakeWorkers(tmp_path)
    for pid, proc in list(liveness._CHILDREN.items()):
        if pid not in before and proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
