"""Why a run stopped decides whether it may be resumed: interruptions yes, a failure that
would repeat (bad settings or data, a bug) no. Old registries are migrated."""

from __future__ import annotations

import errno
import os
import signal
import sqlite3
import time
from pathlib import Path

import pandas as pd
import pytest

from mcrage_core.errors import ConfigError, DataError, TrainingCancelled, TrainingFailed
from mcrage_core.jobs import DEAD_WORKER_REASON, RunRegistry, classify_failure

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data" / "support2.csv"


@pytest.fixture(scope="module")
def small() -> pd.DataFrame:
    return pd.read_csv(SAMPLE, nrows=150)


def _wait_final(registry: RunRegistry, run_id: str, timeout: float = 120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        registry.refresh()
        record = registry.get(run_id)
        if not record.is_active:
            return record
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} did not finish; log:\n{registry.log_tail(run_id)}")


def _chained(outer: BaseException, inner: BaseException) -> BaseException:
    try:
        try:
            raise inner
        except BaseException as exc:
            raise outer from exc
    except BaseException as exc:  # noqa: BLE001
        return exc


def test_classify_failure_tells_interruptions_from_repeatable_failures() -> None:
    assert classify_failure(MemoryError()) == "out_of_memory"
    assert classify_failure(OSError(errno.ENOSPC, "No space left on device")) == "disk_full"
    assert classify_failure(OSError(errno.EFBIG, "File too large")) == "disk_full"
    assert classify_failure(TrainingCancelled("stop")) == "cancelled"
    assert classify_failure(KeyboardInterrupt()) == "interrupted"
    disk = _chained(TrainingFailed("could not write the checkpoint"), OSError(errno.ENOSPC, "x"))
    assert classify_failure(disk) == "disk_full"
    assert classify_failure(TrainingFailed("The CUDA ran out of memory")) == "out_of_memory"
    assert classify_failure(ConfigError("the column '__rare__' is not in the table")) == (
        "invalid_input"
    )
    assert classify_failure(DataError("the table is empty")) == "invalid_input"
    assert classify_failure(TrainingFailed("Training diverged at step 3")) == "invalid_input"
    assert classify_failure(RuntimeError("bug")) == "internal"


def test_bad_settings_fail_for_good_and_refuse_resume(tmp_path: Path, small) -> None:
    """The real worker exits with status 2 on a ConfigError: resuming would fail again."""
    registry = RunRegistry(tmp_path)
    params = {"schema": {"target": "__rare__ *x*"}, "train": {"preset": "tiny", "device": "cpu"}}
    run_id = registry.start_run("alice", params, small, kind="train")
    record = _wait_final(registry, run_id)
    assert record.status == "failed"
    assert "__rare__ *x*" in (record.error or "")
    assert record.error_kind == "invalid_input"
    assert not record.can_resume
    assert record.to_dict()["can_resume"] is False
    with pytest.raises(ConfigError, match="fail the same way"):
        registry.resume(run_id, owner="alice")
    assert registry.get(run_id).status == "failed"  # nothing was started
    assert record.log_path.is_absolute() and record.log_path.is_file()
    assert record.log_path.name == "worker.log"


def test_killed_and_cancelled_runs_may_resume(tmp_path: Path, small) -> None:
    registry = RunRegistry(tmp_path, max_parallel=1)
    killed = registry.start_run("alice", {}, small)
    queued = registry.start_run("alice", {}, small)
    registry.cancel(queued, owner="alice")
    pid = registry.get(killed).pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    record = _wait_final(registry, killed, timeout=20)
    assert (record.status, record.error, record.error_kind) == (
        "failed",
        DEAD_WORKER_REASON,
        "interrupted",
    )
    assert record.can_resume
    cancelled = registry.get(queued)
    assert cancelled.status == "cancelled" and cancelled.error_kind == "cancelled"
    assert cancelled.can_resume
    resumed = registry.resume(killed, owner="alice")
    assert resumed.error_kind is None and resumed.error is None
    if resumed.pid is not None:
        os.kill(resumed.pid, signal.SIGKILL)
    _wait_final(registry, killed, timeout=20)


def test_finish_reads_the_kind_from_the_exception_being_handled(tmp_path: Path, small) -> None:
    # a worker that does nothing; the test writes its outcomes (attempt 0) itself
    registry = RunRegistry(tmp_path, python="/bin/true", max_parallel=4)
    ids = [registry.start_run("alice", {}, small) for _ in range(4)]
    try:
        raise ConfigError("no column 'x'")
    except ConfigError as exc:
        assert registry.finish(ids[0], "failed", attempt=0, error=str(exc))
    try:
        raise MemoryError
    except MemoryError:
        registry.finish(ids[1], "failed", attempt=0, error="the computer ran out of memory")
    registry.finish(ids[2], "failed", attempt=0, error="boom", error_kind="disk_full")
    registry.finish(ids[3], "succeeded", attempt=0)
    kinds = [registry.get(i).error_kind for i in ids]
    assert kinds == ["invalid_input", "out_of_memory", "disk_full", None]
    assert [registry.get(i).can_resume for i in ids] == [False, True, True, False]
    with pytest.raises(ConfigError, match="error kind"):
        registry.finish(ids[0], "failed", attempt=0, error_kind="whatever")  # type: ignore[arg-type]


_OLD_SCHEMA = """
CREATE TABLE runs (
    id TEXT PRIMARY KEY, owner TEXT NOT NULL, shared INTEGER NOT NULL DEFAULT 0,
    kind TEXT NOT NULL, status TEXT NOT NULL, params TEXT NOT NULL, created REAL NOT NULL,
    started REAL, finished REAL, pid INTEGER, error TEXT, progress TEXT,
    attempt INTEGER NOT NULL DEFAULT 0
);
"""


def test_a_registry_from_before_error_kinds_is_migrated(tmp_path: Path) -> None:
    old = [
        ("20250101-000000-00000001", "failed", DEAD_WORKER_REASON),
        ("20250101-000000-00000002", "failed", "The target column '__rare__' is not in the table."),
        ("20250101-000000-00000003", "failed", "the computer ran out of memory while training"),
        ("20250101-000000-00000004", "failed", "the disk is full, so the run's files could not"),
        ("20250101-000000-00000005", "failed", "unexpected internal error (KeyError: 'x')"),
        ("20250101-000000-00000006", "cancelled", "cancelled by the user"),
        ("20250101-000000-00000007", "succeeded", None),
    ]
    (tmp_path / "runs").mkdir()
    con = sqlite3.connect(tmp_path / "runs.sqlite")
    con.executescript(_OLD_SCHEMA)
    for i, (run_id, status, error) in enumerate(old):
        con.execute(
            "INSERT INTO runs (id, owner, kind, status, params, created, started, finished, "
            "error) VALUES (?, 'alice', 'audit', ?, '{}', ?, ?, ?, ?)",
            (run_id, status, 1.0 + i, 2.0, 3.0, error),
        )
    con.commit()
    con.close()

    registry = RunRegistry(tmp_path)
    records = {r.id: r for r in registry.list_runs("alice")}
    assert len(records) == len(old)
    kinds = [records[run_id].error_kind for run_id, _, _ in old]
    assert kinds == [
        "interrupted",
        "invalid_input",
        "out_of_memory",
        "disk_full",
        "internal",
        "cancelled",
        None,
    ]
    assert [records[run_id].can_resume for run_id, _, _ in old] == [
        True,
        False,
        True,
        True,
        False,
        True,
        False,
    ]
    assert records[old[1][0]].error == old[1][2]  # nothing else changed
    assert RunRegistry(tmp_path).get(old[0][0]).error_kind == "interrupted"  # idempotent


def test_duration_has_one_definition(tmp_path: Path, small, fake_workers) -> None:
    registry = RunRegistry(tmp_path, python=fake_workers.silent)  # runs until the test ends
    run_id = registry.start_run("alice", {}, small)
    record = registry.get(run_id)
    assert record.started is not None
    assert record.duration_at(record.started + 90) == pytest.approx(90)
    registry.finish(run_id, "succeeded", attempt=0)
    done = registry.get(run_id)
    assert done.finished is not None
    # a finished run's duration no longer depends on the clock
    assert done.duration_at(done.finished + 1000) == done.duration_s
