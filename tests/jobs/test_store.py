"""RunRegistry: SQLite bookkeeping, isolation between owners, dead workers, atomic files."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import time
from pathlib import Path

import pandas as pd
import pytest

from mcrage_core.errors import ConfigError, DataError
from mcrage_core.jobs import DEAD_WORKER_REASON, RunRegistry
from mcrage_core.util import atomic_write_json

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data" / "support2.csv"


@pytest.fixture()
def small() -> pd.DataFrame:
    return pd.read_csv(SAMPLE, nrows=120)


def _freeze_and_kill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)


def _wait_final(registry: RunRegistry, run_id: str, timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        registry.refresh()
        status = registry.get(run_id).status
        if status not in ("queued", "running"):
            return status
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} did not finish within {timeout} s")


def test_constructor_creates_nothing(tmp_path: Path) -> None:
    root = tmp_path / "home"
    RunRegistry(root)
    assert not root.exists()


def test_registry_uses_wal_and_lists_nothing_at_first(tmp_path: Path) -> None:
    registry = RunRegistry(tmp_path)
    assert registry.list_runs("alice") == []
    con = sqlite3.connect(registry.db_path)
    try:
        assert con.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal"
    finally:
        con.close()


def test_run_ids_are_generated_and_path_tricks_rejected(tmp_path: Path) -> None:
    registry = RunRegistry(tmp_path)
    for bad in ("../etc", "..", "a/b", "", "20250101-120000-zzzzzzzz"):
        with pytest.raises(ConfigError):
            registry.get(bad)
        with pytest.raises(ConfigError):
            registry.run_dir(bad)


def test_start_run_rejects_empty_table_and_unserialisable_settings(tmp_path: Path) -> None:
    registry = RunRegistry(tmp_path)
    with pytest.raises(DataError, match="empty"):
        registry.start_run("alice", {}, pd.DataFrame())
    with pytest.raises(ConfigError, match="JSON"):
        registry.start_run("alice", {"x": object()}, pd.DataFrame({"a": [1]}))
    with pytest.raises(ConfigError, match="owner"):
        registry.start_run("", {}, pd.DataFrame({"a": [1]}))
    with pytest.raises(ConfigError, match="kind"):
        registry.start_run("alice", {}, pd.DataFrame({"a": [1]}), kind="mine")  # type: ignore[arg-type]


def test_killed_worker_is_marked_failed_with_reason(tmp_path: Path, small: pd.DataFrame) -> None:
    registry = RunRegistry(tmp_path, max_parallel=1)
    run_id = registry.start_run("alice", {"schema": {"target": "died_within_6_months"}}, small)
    record = registry.get(run_id, owner="alice")
    assert record.status == "running" and record.pid is not None
    assert (record.run_dir / "input.parquet").exists()
    assert json.loads((record.run_dir / "params.json").read_text())["schema"]["target"] == (
        "died_within_6_months"
    )
    _freeze_and_kill(record.pid)
    deadline = time.monotonic() + 10
    marked: list[str] = []
    while time.monotonic() < deadline and not marked:
        marked = registry.refresh()
        time.sleep(0.05)
    assert marked == [run_id]
    failed = registry.get(run_id)
    assert failed.status == "failed"
    assert failed.error == DEAD_WORKER_REASON
    assert failed.finished is not None and failed.pid is None


def test_owners_are_isolated_until_shared(tmp_path: Path, small: pd.DataFrame) -> None:
    registry = RunRegistry(tmp_path, max_parallel=1)
    run_id = registry.start_run("alice", {}, small)
    pid = registry.get(run_id).pid
    assert pid is not None
    _freeze_and_kill(pid)
    assert [r.id for r in registry.list_runs("alice")] == [run_id]
    assert registry.list_runs("bob") == []
    with pytest.raises(ConfigError, match="another session"):
        registry.get(run_id, owner="bob")
    with pytest.raises(ConfigError, match="only the session"):
        registry.cancel(run_id, owner="bob")
    with pytest.raises(ConfigError, match="only the session"):
        registry.set_shared(run_id, True, owner="bob")
    registry.set_shared(run_id, True, owner="alice")
    assert [r.id for r in registry.list_runs("bob")] == [run_id]
    assert registry.get(run_id, owner="bob").shared
    assert registry.list_runs("bob", include_shared=False) == []
    # bob can look but not act
    with pytest.raises(ConfigError):
        registry.resume(run_id, owner="bob")


def test_runs_beyond_the_limit_queue_and_can_be_cancelled(
    tmp_path: Path, small: pd.DataFrame
) -> None:
    registry = RunRegistry(tmp_path, max_parallel=1)
    first = registry.start_run("alice", {}, small)
    second = registry.start_run("alice", {}, small)
    assert registry.get(first).status == "running"
    queued = registry.get(second)
    assert queued.status == "queued" and queued.pid is None
    assert registry.get(first).run_dir != queued.run_dir
    cancelled = registry.cancel(second, owner="alice")
    assert cancelled.status == "cancelled"
    pid = registry.get(first).pid
    assert pid is not None
    _freeze_and_kill(pid)
    _wait_final(registry, first)
    # a cancelled run stays cancelled: nothing else was waiting, nothing started
    assert registry.get(second).status == "cancelled"


def test_resume_requires_a_finished_attempt_and_counts_attempts(
    tmp_path: Path, small: pd.DataFrame
) -> None:
    registry = RunRegistry(tmp_path, max_parallel=1)
    run_id = registry.start_run("alice", {}, small)
    with pytest.raises(ConfigError, match="only failed or cancelled"):
        registry.resume(run_id, owner="alice")
    pid = registry.get(run_id).pid
    assert pid is not None
    _freeze_and_kill(pid)
    assert _wait_final(registry, run_id) == "failed"
    resumed = registry.resume(run_id, owner="alice")
    assert resumed.attempt == 1
    assert resumed.status == "running" and resumed.error is None
    assert resumed.pid is not None and resumed.pid != pid
    _freeze_and_kill(resumed.pid)
    _wait_final(registry, run_id)


def test_registry_survives_a_new_instance(tmp_path: Path, small: pd.DataFrame) -> None:
    """A server restart (new registry object) still sees every run."""
    registry = RunRegistry(tmp_path, max_parallel=1)
    run_id = registry.start_run("alice", {"note": "keep me"}, small)
    pid = registry.get(run_id).pid
    assert pid is not None
    _freeze_and_kill(pid)
    again = RunRegistry(tmp_path)
    record = again.get(run_id, owner="alice")
    assert record.params == {"note": "keep me"}
    assert _wait_final(again, run_id) == "failed"


def test_atomic_json_writes_replace_whole_files(tmp_path: Path) -> None:
    target = tmp_path / "progress.json"
    atomic_write_json(target, {"loss": float("nan"), "values": [1, 2]})
    assert json.loads(target.read_text()) == {"loss": None, "values": [1, 2]}
    atomic_write_json(target, {"loss": 0.5})
    assert json.loads(target.read_text()) == {"loss": 0.5}
    assert [p.name for p in tmp_path.iterdir()] == ["progress.json"]
