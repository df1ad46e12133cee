"""Hung workers: a worker that stops answering (no heartbeat) or stops making progress is
terminated and its run marked failed with a plain reason, and the run can be resumed; a
worker that keeps answering keeps running. Real worker processes, a real registry."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from mcrage_core.errors import ConfigError
from mcrage_core.jobs import DEAD_WORKER_REASON, Limits, RunRegistry, RunStore
from mcrage_core.jobs.liveness import judge, pid_alive, terminate_worker, worker_command

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data" / "support2.csv"


@pytest.fixture(scope="module")
def small() -> pd.DataFrame:
    return pd.read_csv(SAMPLE, nrows=60)


def _until(check, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _gone(pid: int) -> bool:
    return not pid_alive(pid) and not Path(f"/proc/{pid}").exists()


def test_a_hung_worker_is_stopped_its_run_failed_and_resumable(
    tmp_path: Path, small: pd.DataFrame, fake_workers
) -> None:
    # silent for 2 s counts as hung (the workers then beat every 0.5 s); progress unchecked
    registry = RunRegistry(
        tmp_path / "home", python=fake_workers.waiting, hung_after_s=2, no_progress_s=0
    )
    run_id = registry.start_run("alice", {}, small)
    launched = registry.get(run_id)
    assert launched.pid is not None and launched.launched is not None
    # a starting worker gets a minute to load its libraries and send its first heartbeat
    _until(lambda: registry.get(run_id).heartbeat is not None, timeout=60, what="a beat")

    # a worker that keeps answering keeps running, however long
    time.sleep(2.5)
    assert registry.get(run_id).status == "running"

    # alive but silent (stopped by a signal): after 2 s it is stopped and the run failed
    os.kill(launched.pid, signal.SIGSTOP)
    _until(lambda: registry.get(run_id).status != "running", what="the hang to be noticed")
    failed = registry.get(run_id)
    assert failed.status == "failed" and failed.error_kind == "interrupted"
    assert failed.error is not None
    assert failed.error.startswith("The worker stopped answering for ")
    assert "(last sign of life at " in failed.error
    assert "it may have hung or been killed. Resume the run to continue" in failed.error
    assert failed.can_resume and failed.pid is None and failed.finished is not None
    assert _gone(launched.pid)  # terminated (and reaped), not left hanging
    log = registry.log_tail(run_id)
    assert "attempt 0 marked failed: The worker stopped answering" in log
    assert f"Its worker process (pid {launched.pid}) was terminated." in log

    # resumed: a new attempt, a new worker, beating
    resumed = registry.resume(run_id, owner="alice")
    assert (resumed.status, resumed.attempt) == ("running", 1)
    assert resumed.pid not in (None, launched.pid)
    assert resumed.heartbeat is None and resumed.launched is not None
    _until(lambda: registry.get(run_id).heartbeat is not None, timeout=60, what="a beat")

    # the same worker, judged by a registry with a no-progress limit: it answers but the
    # job reports no progress for 1.5 s, so it is stuck
    strict = RunStore(registry.root, hung_after_s=2, no_progress_s=1.5)
    _until(lambda: strict.get(run_id).status != "running", what="no progress to be noticed")
    stuck = strict.get(run_id)
    assert stuck.status == "failed" and stuck.error_kind == "interrupted" and stuck.can_resume
    assert stuck.error is not None and stuck.error.startswith("The worker made no progress for ")
    assert "Resume the run to continue from its last checkpoint." in stuck.error
    assert resumed.pid is not None
    _until(lambda: _gone(resumed.pid), timeout=5, what="the stuck worker to end")


@pytest.mark.slow
def test_a_worker_hung_while_holding_the_database_lock_is_stopped(
    tmp_path: Path, small: pd.DataFrame, fake_workers
) -> None:
    """A worker frozen inside a write blocks every other writer (its own heartbeat too):
    reading the registry stops it first, which frees the lock, then marks the run."""
    registry = RunRegistry(tmp_path / "home", python=fake_workers.waiting, hung_after_s=2)
    run_id = registry.start_run("alice", {"hang": "holding the lock"}, small)
    pid = registry.get(run_id).pid
    assert pid is not None
    _until(lambda: registry.get(run_id).status != "running", timeout=60, what="the hang")
    failed = registry.get(run_id)
    assert failed.status == "failed" and failed.can_resume
    assert failed.error is not None and failed.error.startswith("The worker stopped answering")
    assert _gone(pid)
    assert registry.resume(run_id, owner="alice").attempt == 1  # the lock is free again


_PREVIOUS_SCHEMA = """
CREATE TABLE runs (
    id TEXT PRIMARY KEY, owner TEXT NOT NULL, shared INTEGER NOT NULL DEFAULT 0,
    kind TEXT NOT NULL, status TEXT NOT NULL, params TEXT NOT NULL, created REAL NOT NULL,
    started REAL, finished REAL, pid INTEGER, error TEXT, progress TEXT,
    attempt INTEGER NOT NULL DEFAULT 0, error_kind TEXT
);
"""


def test_a_run_of_the_previous_release_is_judged_by_its_process_only(tmp_path: Path) -> None:
    """Upgrading while a run goes on: its worker (old code) writes no heartbeat, so it
    must not be taken for hung; when its process ends it is marked failed as before."""
    run_id = "20250101-000000-0123abcd"
    (tmp_path / "runs" / run_id).mkdir(parents=True)
    old_worker = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"]
        + ["-m", "mcrage_core.jobs.worker", str(tmp_path / "runs" / run_id)]
    )
    try:
        con = sqlite3.connect(tmp_path / "runs.sqlite")
        con.executescript(_PREVIOUS_SCHEMA)
        con.execute(
            "INSERT INTO runs (id, owner, kind, status, params, created, started, pid) "
            "VALUES (?, 'alice', 'audit', 'running', '{}', 1.0, 2.0, ?)",
            (run_id, old_worker.pid),
        )
        con.commit()
        con.close()
        _until(lambda: run_id in (worker_command(old_worker.pid) or ""), what="exec")
        store = RunStore(tmp_path, hung_after_s=1, no_progress_s=1)
        record = store.get(run_id)  # migrated: the new columns are empty
        assert (record.status, record.heartbeat, record.launched) == ("running", None, None)
        old_worker.kill()
        old_worker.wait()
        failed = store.get(run_id)
        assert failed.status == "failed" and failed.error == DEAD_WORKER_REASON
    finally:
        old_worker.kill()
        old_worker.wait()


def test_judge_names_the_reason_and_skips_what_was_never_written() -> None:
    limits = Limits(hung_after_s=100, no_progress_s=1800)
    now = time.mktime((2025, 3, 4, 10, 44, 13, 0, 0, -1))
    start = now - 7200

    def verdict(limits: Limits = limits, **signs):
        return judge(now=now, limits=limits, **{"launched": start, "alive": True, **signs})

    assert verdict(heartbeat=now - 5, last_progress=now - 60) is None
    dead = verdict(alive=False, heartbeat=now, last_progress=now)
    assert dead is not None and dead.reason == DEAD_WORKER_REASON and not dead.hung
    silent = verdict(heartbeat=now - 120, last_progress=now)
    assert silent is not None and silent.hung
    assert silent.reason == (
        "The worker stopped answering for 2 min (last sign of life at 10:42:13); it may have "
        "hung or been killed. Resume the run to continue from its last checkpoint."
    )
    stuck = verdict(alive=None, heartbeat=now, last_progress=now - 3600)
    assert stuck is not None and stuck.reason.startswith("The worker made no progress for 60 min")
    # never any progress: counted from the launch
    never = verdict(heartbeat=now, last_progress=None)
    assert never is not None and never.reason.startswith("The worker made no progress for 2.0 h")
    # a starting worker has at least a minute for its first heartbeat, then it is silent
    quick = Limits(hung_after_s=2)
    assert verdict(quick, launched=now - 30, heartbeat=None, last_progress=None) is None
    late = verdict(quick, launched=now - 61, heartbeat=None, last_progress=None)
    assert late is not None and late.reason.startswith("The worker stopped answering for 61 s")
    # a worker of an older MCRAGE wrote none of them: only its process tells
    assert verdict(launched=None, heartbeat=None, last_progress=None) is None
    off = Limits(hung_after_s=0, no_progress_s=0)
    assert verdict(off, launched=0.0, heartbeat=0.0, last_progress=0.0) is None


def test_limits_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MCRAGE_HUNG_AFTER_S", "30")
    monkeypatch.setenv("MCRAGE_NO_PROGRESS_S", "600")
    limits = RunStore(Path("/nonexistent/mcrage")).limits
    assert (limits.hung_after_s, limits.no_progress_s) == (30, 600)
    assert limits.heartbeat_every_s == 5.0
    assert Limits(hung_after_s=2).heartbeat_every_s == 0.5
    assert RunStore(Path("/nonexistent"), hung_after_s=7).limits.hung_after_s == 7
    monkeypatch.setenv("MCRAGE_HUNG_AFTER_S", "soon")
    with pytest.raises(ConfigError, match="MCRAGE_HUNG_AFTER_S must be a number of seconds"):
        RunStore(Path("/nonexistent"))


def test_only_the_runs_own_worker_is_ever_terminated() -> None:
    run_id = "20250101-000000-0123abcd"
    other = subprocess.Popen(["sleep", "30"])
    # looks like the worker of attempt 1 of run_id (a process this registry did not start)
    looks_like = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(30)"]
        + ["mcrage_core.jobs.worker", f"/x/runs/{run_id}", "--attempt", "1"]
    )
    try:
        _until(lambda: "--attempt" in (worker_command(looks_like.pid) or ""), what="exec")
        assert not terminate_worker(other.pid, run_id, 0)  # not a worker
        assert not terminate_worker(looks_like.pid, "20250101-000000-0123abce", 1)  # other run
        assert not terminate_worker(looks_like.pid, run_id, 0)  # other attempt
        assert other.poll() is None and looks_like.poll() is None  # left alone
        assert pid_alive(looks_like.pid, run_id) and not pid_alive(other.pid)
        assert terminate_worker(looks_like.pid, run_id, 1)
        assert looks_like.wait(timeout=5) == -signal.SIGTERM
    finally:
        for proc in (other, looks_like):
            proc.kill()
            proc.wait()
