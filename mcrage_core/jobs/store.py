"""The run registry's storage: one SQLite database listing the runs, one folder per run.

Every run gets a generated id (never user input) and a directory ``<root>/runs/<id>/``
holding its input table, settings, progress and results. An embedded SQLite database
(``<root>/runs.sqlite``, WAL mode) lists the runs with their owner, status, settings,
timings and error. :class:`RunStore` creates, reads, updates and finishes those rows;
starting and watching the worker processes is :mod:`.launcher`'s job.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from mcrage_core.errors import ConfigError, DataError
from mcrage_core.jobs.payloads import params_json, write_parquet
from mcrage_core.jobs.records import (
    ARTEFACT_FILES,
    CANCEL_FILE,
    ERROR_KINDS,
    FINAL_STATUSES,
    RUN_KINDS,
    ErrorKind,
    RunKind,
    RunRecord,
    check_owner,
    check_run_id,
    classify_failure,
    default_home,
    kind_from_text,
    new_run_id,
)
from mcrage_core.jobs.settings import RunSettings
from mcrage_core.util import atomic_write_text, to_jsonable

__all__ = ["RunStore"]

_DB_NAME = "runs.sqlite"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    shared INTEGER NOT NULL DEFAULT 0,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    params TEXT NOT NULL,
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    pid INTEGER,
    error TEXT,
    progress TEXT,
    attempt INTEGER NOT NULL DEFAULT 0,
    error_kind TEXT
);
CREATE INDEX IF NOT EXISTS runs_owner ON runs(owner, created);
CREATE INDEX IF NOT EXISTS runs_status ON runs(status);
"""

# Worker processes started by this process, so that they can be reaped (no zombies)
# and their liveness checked without relying on /proc. Holds process handles only,


class RunStore:
    """SQLite-backed list of runs plus their artefact folders (no processes: see
    :class:`~mcrage_core.jobs.launcher.RunRegistry`).

    Parameters
    ----------
    root
        Folder that holds ``runs.sqlite`` and ``runs/``. Defaults to :func:`default_home`.
        Nothing is created until the first run is created or listed.
    """

    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root).expanduser() if root is not None else default_home()

    @property
    def db_path(self) -> Path:
        return self.root / _DB_NAME

    @property
    def runs_dir(self) -> Path:
        return self.root / "runs"

    def run_dir(self, run_id: str) -> Path:
        """The artefact folder of ``run_id`` (the id is validated: no path tricks)."""
        return self.runs_dir / check_run_id(run_id)

    @contextlib.contextmanager
    def _connect(self, *, write: bool = False) -> Iterator[sqlite3.Connection]:
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.db_path, timeout=30.0, isolation_level=None)
        try:
            con.row_factory = sqlite3.Row
            con.execute("PRAGMA busy_timeout = 30000")
            if con.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                con.execute("PRAGMA journal_mode = WAL")
            con.execute("PRAGMA synchronous = NORMAL")
            con.executescript(_SCHEMA)
            _migrate(con)
            if write:
                con.execute("BEGIN IMMEDIATE")
                try:
                    yield con
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
                else:
                    con.execute("COMMIT")
            else:
                yield con
        finally:
            con.close()

    def _record(self, row: sqlite3.Row) -> RunRecord:
        return RunRecord(
            id=row["id"],
            owner=row["owner"],
            shared=bool(row["shared"]),
            kind=row["kind"],
            status=row["status"],
            params=json.loads(row["params"]),
            created=row["created"],
            started=row["started"],
            finished=row["finished"],
            pid=row["pid"],
            error=row["error"],
            progress=json.loads(row["progress"]) if row["progress"] else None,
            attempt=int(row["attempt"]),
            run_dir=self.runs_dir / row["id"],
            error_kind=row["error_kind"],
        )

    # ------------------------------------------------------------------ starting

    def start_run(
        self,
        owner: str,
        params: RunSettings | Mapping[str, Any],
        data: pd.DataFrame,
        *,
        kind: RunKind = "audit",
        shared: bool = False,
    ) -> str:
        """Save the input table and settings and register the run as queued; a
        :class:`~mcrage_core.jobs.launcher.RunRegistry` then starts its worker.

        Parameters
        ----------
        owner
            Token of the session (or user) that owns the run.
        params
            The run's :class:`~mcrage_core.jobs.settings.RunSettings` (its ``kind`` wins
            over ``kind``), or a JSON-serialisable dict in the shape of
            :meth:`RunSettings.to_dict`, read by :mod:`mcrage_core.jobs.worker`.
        data
            The table to work on; written to the run folder as Parquet.
        kind
            ``"audit"`` (whole audit pipeline) or ``"train"`` (fit a CDDPM only).
        shared
            Make the run visible to other sessions from the start.

        Returns
        -------
        str
            The generated run id.
        """
        check_owner(owner)
        if isinstance(params, RunSettings):
            kind = params.kind
            params = params.to_dict()
        if kind not in RUN_KINDS:
            raise ConfigError(f"unknown run kind {kind!r}; choose one of {', '.join(RUN_KINDS)}")
        if not isinstance(data, pd.DataFrame) or data.empty:
            raise DataError("the table to train on is empty; upload a table with rows first")
        text = params_json(params)
        run_id = new_run_id()
        run_dir = self.runs_dir / run_id
        with self._connect():  # creates root, runs/ and the database
            pass
        run_dir.mkdir()
        write_parquet(data, run_dir / ARTEFACT_FILES["input"])
        atomic_write_text(run_dir / ARTEFACT_FILES["params"], text)
        with self._connect(write=True) as con:
            con.execute(
                "INSERT INTO runs (id, owner, shared, kind, status, params, created) "
                "VALUES (?, ?, ?, ?, 'queued', ?, ?)",
                (run_id, owner, int(shared), kind, text, time.time()),
            )
        self._queued(run_id)
        return run_id

    def _queued(self, run_id: str) -> None:
        """Called when :meth:`start_run` has queued a run (the launcher starts it)."""

    # ------------------------------------------------------------------ reading

    def get(self, run_id: str, *, owner: str | None = None) -> RunRecord:
        """One run. With ``owner``, only runs of that owner or shared runs are visible.

        Raises
        ------
        ConfigError
            If there is no such run (or it belongs to someone else and is not shared).
        """
        check_run_id(run_id)
        with self._connect() as con:
            row = con.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None or (owner is not None and row["owner"] != owner and not row["shared"]):
            raise ConfigError(
                f"there is no run {run_id!r} that you can see; it may belong to another "
                "session and not be shared. Pick a run from the list of past runs"
            )
        return self._record(row)

    def list_runs(
        self, owner: str | None, *, include_shared: bool = True, limit: int = 200
    ) -> list[RunRecord]:
        """Runs of ``owner`` (plus shared runs), newest first. ``owner=None`` lists all."""
        with self._connect() as con:
            if owner is None:
                rows = con.execute(
                    "SELECT * FROM runs ORDER BY created DESC LIMIT ?", (limit,)
                ).fetchall()
            elif include_shared:
                rows = con.execute(
                    "SELECT * FROM runs WHERE owner = ? OR shared = 1 ORDER BY created DESC "
                    "LIMIT ?",
                    (owner, limit),
                ).fetchall()
            else:
                rows = con.execute(
                    "SELECT * FROM runs WHERE owner = ? ORDER BY created DESC LIMIT ?",
                    (owner, limit),
                ).fetchall()
        return [self._record(r) for r in rows]

    def read_progress(self, run_id: str) -> dict[str, Any] | None:
        """The live progress file of a run (``{"event": {...}, "history": [...]}``) or ``None``."""
        path = self.run_dir(run_id) / ARTEFACT_FILES["progress"]
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
            return None

    def log_tail(self, run_id: str, *, n_lines: int = 20) -> str:
        """The last lines of the worker's log (for diagnosing a crash)."""
        path = self.run_dir(run_id) / ARTEFACT_FILES["log"]
        try:
            with open(path, "rb") as fh:
                fh.seek(0, os.SEEK_END)
                size = fh.tell()
                fh.seek(max(0, size - 16_384))
                text = fh.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-n_lines:])

    def set_shared(self, run_id: str, shared: bool, *, owner: str) -> RunRecord:
        """Let other sessions see this run (``shared=True``) or hide it again."""
        self._owned(run_id, owner, "share")
        with self._connect(write=True) as con:
            con.execute("UPDATE runs SET shared = ? WHERE id = ?", (int(bool(shared)), run_id))
        return self.get(run_id)

    def _owned(self, run_id: str, owner: str, action: str) -> RunRecord:
        check_owner(owner)
        record = self.get(run_id)
        if record.owner != owner:
            raise ConfigError(
                f"only the session that started run {run_id} can {action} it; "
                "start your own run instead"
            )
        return record

    # ------------------------------------------------------------------ session tables

    def cancel_requested(self, run_id: str) -> bool:
        """Whether a cancel was requested (the worker polls this)."""
        return (self.run_dir(run_id) / CANCEL_FILE).exists()

    def record_progress(self, run_id: str, event: Mapping[str, Any]) -> None:
        """Store the latest progress event in the database (the worker calls this)."""
        with self._connect(write=True) as con:
            con.execute(
                "UPDATE runs SET progress = ? WHERE id = ?",
                (json.dumps(to_jsonable(dict(event))), run_id),
            )

    def finish(
        self,
        run_id: str,
        status: Literal["succeeded", "failed", "cancelled"],
        *,
        error: str | None = None,
        error_kind: ErrorKind | None = None,
    ) -> None:
        """Record the end of a run (the worker calls this just before it exits).

        ``error_kind`` says whether a failure was an interruption (resumable) or would
        repeat (see :data:`ErrorKind`). When it is not given, it is derived from the
        exception being handled by the caller (the worker calls ``finish`` inside its
        ``except`` blocks; :func:`classify_failure`), else from the status and the error.
        """
        if status not in FINAL_STATUSES:
            raise ConfigError(f"a run cannot finish with status {status!r}")
        if error_kind is not None and error_kind not in ERROR_KINDS:
            raise ConfigError(
                f"unknown error kind {error_kind!r}; choose one of {', '.join(ERROR_KINDS)}"
            )
        if status == "succeeded":
            error_kind = None
        elif error_kind is None:
            handled = sys.exc_info()[1]
            if status == "cancelled":
                error_kind = "cancelled"
            elif handled is not None:
                error_kind = classify_failure(handled)
            else:
                error_kind = kind_from_text(status, error)
        with self._connect(write=True) as con:
            con.execute(
                "UPDATE runs SET status = ?, finished = ?, error = ?, error_kind = ?, pid = NULL "
                "WHERE id = ?",
                (status, time.time(), error, error_kind, run_id),
            )


# --------------------------------------------------------------------------- helpers


def _migrate(con: sqlite3.Connection) -> None:
    """Bring a registry written by an older MCRAGE up to date (idempotent, safe when
    several processes open it at once)."""
    columns = {row[1] for row in con.execute("PRAGMA table_info(runs)")}
    if "error_kind" in columns:
        return
    con.execute("BEGIN IMMEDIATE")
    try:
        columns = {row[1] for row in con.execute("PRAGMA table_info(runs)")}
        if "error_kind" not in columns:
            con.execute("ALTER TABLE runs ADD COLUMN error_kind TEXT")
            rows = con.execute(
                "SELECT id, status, error FROM runs WHERE status IN ('failed', 'cancelled')"
            ).fetchall()
            for row in rows:
                con.execute(
                    "UPDATE runs SET error_kind = ? WHERE id = ?",
                    (kind_from_text(row[1], row[2]), row[0]),
                )
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
