"""The run registry's storage: one SQLite database listing the runs, one folder per run.

Every run gets a generated id (never user input) and a directory ``<root>/runs/<id>/``
holding its input table, settings, progress and results. An embedded SQLite database
(``<root>/runs.sqlite``; WAL mode on a local disk, a rollback journal on a network share:
:mod:`.journal`) lists the runs with their owner, status, settings, timings and error.
:class:`RunStore` creates, reads, updates and finishes those rows; starting the worker
processes is :mod:`.launcher`'s job.

Each launch of a run is an *attempt* (0, then +1 per resume). A worker writes its progress,
heartbeat and outcome only while its attempt owns the run (the run is ``running`` at that
attempt): a stale worker, e.g. one that was still alive when its run was resumed, cannot
overwrite the newer attempt; its writes are ignored and noted in the run's ``worker.log``.
Every read first judges the running runs (:meth:`RunStore.sweep`, :mod:`.liveness`): a
dead, silent or stuck worker's run is marked failed, so it can be resumed.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Mapping
from typing import Any

import pandas as pd

from mcrage_core.errors import ConfigError, DataError
from mcrage_core.jobs.ledger import RunLedger
from mcrage_core.jobs.payloads import params_json, write_parquet
from mcrage_core.jobs.records import (
    ARTEFACT_FILES,
    CANCEL_FILE,
    RUN_KINDS,
    RunKind,
    RunRecord,
    check_owner,
    check_run_id,
    new_run_id,
)
from mcrage_core.jobs.settings import RunSettings
from mcrage_core.util import atomic_write_text

__all__ = ["RunStore"]


class RunStore(RunLedger):
    """SQLite-backed list of runs plus their artefact folders (no processes: see
    :class:`~mcrage_core.jobs.launcher.RunRegistry`).

    Parameters
    ----------
    root
        Folder that holds ``runs.sqlite`` and ``runs/``. Defaults to :func:`default_home`.
        Nothing is created until the first run is created or listed.
    hung_after_s, no_progress_s
        A running run whose worker sent no heartbeat for ``hung_after_s`` seconds, or no
        progress for ``no_progress_s`` seconds, is marked failed (0 turns a check off).
        Default: ``$MCRAGE_HUNG_AFTER_S`` (else 120) and ``$MCRAGE_NO_PROGRESS_S`` (else
        1800); see :class:`~mcrage_core.jobs.liveness.Limits`.
    """

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
            host=row["host"],
            launched=row["launched"],
            heartbeat=row["heartbeat"],
            last_progress=row["last_progress"],
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
        self.sweep()
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
        self.sweep()
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

    def cancel_requested(self, run_id: str) -> bool:
        """Whether a cancel was requested (the worker polls this)."""
        return (self.run_dir(run_id) / CANCEL_FILE).exists()
