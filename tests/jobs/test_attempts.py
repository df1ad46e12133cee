"""Only the attempt that owns a run may write it: a stale worker (one from before a resume)
cannot overwrite the resumed run. Real processes, a real registry."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from mcrage_core.jobs import RunRegistry
from mcrage_core.jobs.liveness import pid_alive

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data" / "support2.csv"

# A worker of attempt 0 that wakes up after its run was resumed and reports as usual.
_STALE_WRITES = """\
import json, sys
from mcrage_core.jobs.store import RunStore
store = RunStore(sys.argv[1])
run_id = sys.argv[2]
print(json.dumps({
    "progress": store.record_progress(run_id, {"stage": "Training", "step": 99}, attempt=0),
    "heartbeat": store.heartbeat(run_id, attempt=0),
    "finish": store.finish(run_id, "succeeded", attempt=0),
}))
"""


@pytest.fixture(scope="module")
def small() -> pd.DataFrame:
    return pd.read_csv(SAMPLE, nrows=60)


def _until(check, timeout: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _resumed(registry: RunRegistry, run_id: str) -> int:
    """Kill attempt 0's worker, resume: attempt 1 runs. Returns attempt 0's pid."""
    pid = registry.get(run_id).pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    _until(lambda: registry.get(run_id).status == "failed", what="the kill to be noticed")
    resumed = registry.resume(run_id, owner="alice")
    assert resumed.status == "running" and resumed.attempt == 1
    return pid


def test_a_stale_worker_cannot_overwrite_the_resumed_run(
    tmp_path: Path, small: pd.DataFrame, fake_workers
) -> None:
    registry = RunRegistry(tmp_path / "home", python=fake_workers.silent)
    run_id = registry.start_run("alice", {}, small)
    _resumed(registry, run_id)
    before = registry.get(run_id)

    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_STALE_WRITES), str(registry.root), run_id],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr  # ignored, never raised
    assert json.loads(done.stdout) == {"progress": False, "heartbeat": False, "finish": False}
    after = registry.get(run_id)
    assert (after.status, after.attempt, after.pid) == ("running", 1, before.pid)
    assert after.progress is None and after.finished is None and after.error is None
    assert after.heartbeat is None and after.launched == before.launched
    log = (after.run_dir / "worker.log").read_text()
    for what in ("progress", "heartbeat", "outcome (succeeded)"):
        assert f"ignored the {what} of attempt 0: the run is running at attempt 1" in log

    # the owner of the run, attempt 1, writes as usual
    assert registry.record_progress(run_id, {"stage": "Training", "step": 1}, attempt=1)
    assert registry.finish(run_id, "succeeded", attempt=1)
    assert registry.get(run_id).status == "succeeded"
    assert not registry.finish(run_id, "failed", attempt=1, error="late")  # already final
    assert registry.get(run_id).status == "succeeded"


def test_a_stale_real_worker_gives_up_the_run_by_itself(
    tmp_path: Path, small: pd.DataFrame, fake_workers
) -> None:
    """Attempt 0's worker is still alive when the run moves on (e.g. another computer that
    shares the registry judged it hung and could not stop it): its next heartbeat is
    refused, its job stops, its outcome is ignored, and the resumed attempt finishes."""
    # a heartbeat every 3 s (a quarter of the silence limit)
    registry = RunRegistry(tmp_path / "home", python=fake_workers.waiting, hung_after_s=12)
    run_id = registry.start_run("alice", {}, small)
    first = registry.get(run_id)
    assert first.pid is not None
    assert first.heartbeat is None  # until the worker's first heartbeat
    _until(lambda: registry.get(run_id).heartbeat is not None, what="the first heartbeat")
    with registry._connect(write=True) as con:  # judged hung elsewhere: failed, still alive
        con.execute(
            "UPDATE runs SET status = 'failed', error_kind = 'interrupted', pid = NULL, "
            "finished = ? WHERE id = ?",
            (time.time(), run_id),
        )
    resumed = registry.resume(run_id, owner="alice")
    assert resumed.attempt == 1 and resumed.pid not in (None, first.pid)

    _until(lambda: not pid_alive(first.pid), what="the stale worker to stop")
    log = (first.run_dir / "worker.log").read_text()
    assert "ignored the heartbeat of attempt 0: the run is running at attempt 1" in log
    assert "ignored the outcome (cancelled) of attempt 0" in log
    record = registry.get(run_id)
    assert (record.status, record.attempt, record.pid) == ("running", 1, resumed.pid)

    (first.run_dir / "go-1").touch()
    _until(lambda: not registry.get(run_id).is_active, what="attempt 1 to finish")
    done = registry.get(run_id)
    assert (done.status, done.attempt) == ("succeeded", 1), registry.log_tail(run_id)
