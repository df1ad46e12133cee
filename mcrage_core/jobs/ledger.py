"""The registry's rows as workers and the liveness check see them.

:class:`RunLedger` is the base of :class:`~mcrage_core.jobs.store.RunStore`: it opens the
database (journal mode from :mod:`.journal`), takes the writes of worker processes only
from the attempt that owns a run, and judges running runs on every read (:meth:`sweep`,
:mod:`.liveness`).
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from mcrage_core.errors import ConfigError
from mcrage_core.jobs.database import migrate, open_connection
from mcrage_core.jobs.journal import JournalChoice, choose_journal
from mcrage_core.jobs.liveness import (
    Limits,
    Verdict,
    judge,
    pid_alive,
    terminate_worker,
    this_host,
)
from mcrage_core.jobs.records import (
    ARTEFACT_FILES,
    ERROR_KINDS,
    FINAL_STATUSES,
    ErrorKind,
    check_run_id,
    classify_failure,
    default_home,
    kind_from_text,
)
from mcrage_core.util import to_jsonable

__all__ = ["RunLedger"]

_DB_NAME = "runs.sqlite"


class RunLedger:
    """The registry database: connections, worker writes guarded by the attempt, the
    liveness sweep. Use :class:`~mcrage_core.jobs.store.RunStore` (same parameters)."""

    def __init__(
        self,
        root: Path | str | None = None,
        *,
        hung_after_s: float | None = None,
        no_progress_s: float | None = None,
    ) -> None:
        self.root = Path(root).expanduser() if root is not None else default_home()
        self.limits = Limits.from_env(hung_after_s=hung_after_s, no_progress_s=no_progress_s)
        self._journal: JournalChoice | None = None
        self._mode_seen: str | None = None
        self._ready = False

    @property
    def journal(self) -> JournalChoice:
        """The journal mode chosen for the database and why (local disk: WAL; network share
        or unknown: DELETE; ``$MCRAGE_SQLITE_JOURNAL`` overrides), see :mod:`.journal`."""
        if self._journal is None:
            self._journal = choose_journal(self.root)
        return self._journal

    @property
    def journal_mode(self) -> str:
        """The journal mode in effect (``"wal"``, ``"delete"`` or ``"truncate"``): as last
        seen on a connection, the chosen one before the first. It differs from
        ``journal.mode`` only while another program keeps the database open in its old
        mode."""
        return self._mode_seen or self.journal.mode

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
    def _connect(
        self, *, write: bool = False, busy_s: float | None = None
    ) -> Iterator[sqlite3.Connection]:
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        con, self._mode_seen = open_connection(self.db_path, self.journal)
        try:
            if busy_s is not None:
                con.execute(f"PRAGMA busy_timeout = {int(busy_s * 1000)}")
            if not self._ready:
                migrate(con)
                self._ready = True
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

    # ------------------------------------------------------------------ worker writes

    def claim(self, run_id: str, *, attempt: int) -> None:
        """Let the worker of ``attempt`` in this process take the run if it is still queued
        (a worker started by hand; the launcher marks the workers it starts as running)."""
        now = time.time()
        with self._connect(write=True) as con:
            con.execute(
                "UPDATE runs SET status = 'running', started = COALESCE(started, ?), pid = ?, "
                "host = ?, launched = ?, heartbeat = NULL, last_progress = NULL "
                "WHERE id = ? AND attempt = ? AND status = 'queued'",
                (now, os.getpid(), this_host(), now, check_run_id(run_id), int(attempt)),
            )

    def heartbeat(self, run_id: str, *, attempt: int) -> bool:
        """Record that the worker of ``attempt`` is alive (its heartbeat thread calls this
        every few seconds). ``False``: the run is no longer this attempt's (ignored)."""
        return self._worker_write(run_id, attempt, "heartbeat", "heartbeat = ?", (time.time(),))

    def record_progress(self, run_id: str, event: Mapping[str, Any], *, attempt: int) -> bool:
        """Store the latest progress event of the worker of ``attempt`` (also a heartbeat).
        ``False``: the run is no longer this attempt's, nothing was written."""
        now = time.time()
        text = json.dumps(to_jsonable(dict(event)))
        return self._worker_write(
            run_id,
            attempt,
            "progress",
            "progress = ?, last_progress = ?, heartbeat = ?",
            (text, now, now),
        )

    def finish(
        self,
        run_id: str,
        status: Literal["succeeded", "failed", "cancelled"],
        *,
        attempt: int,
        error: str | None = None,
        error_kind: ErrorKind | None = None,
    ) -> bool:
        """Record the end of a run (the worker of ``attempt`` calls this before it exits).

        ``error_kind`` says whether a failure was an interruption (resumable) or would
        repeat (see :data:`ErrorKind`). When it is not given, it is derived from the
        exception being handled, if ``finish`` is called in an ``except`` block
        (:func:`classify_failure`), else from the status and the error.

        Returns ``False`` when the run no longer belongs to ``attempt`` (it was resumed, or
        marked failed as dead or hung): the outcome is then ignored and noted in the log.
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
        return self._worker_write(
            run_id,
            attempt,
            f"outcome ({status})",
            "status = ?, finished = ?, error = ?, error_kind = ?, pid = NULL",
            (status, time.time(), error, error_kind),
        )

    def _worker_write(
        self, run_id: str, attempt: int, what: str, assignments: str, values: tuple[Any, ...]
    ) -> bool:
        """``UPDATE runs SET <assignments>`` only while ``attempt`` owns the running run."""
        check_run_id(run_id)
        with self._connect(write=True) as con:
            cur = con.execute(
                f"UPDATE runs SET {assignments} "  # noqa: S608 - assignments are constants
                "WHERE id = ? AND attempt = ? AND status = 'running'",
                (*values, run_id, int(attempt)),
            )
            if cur.rowcount:
                return True
            row = con.execute("SELECT status, attempt FROM runs WHERE id = ?", (run_id,)).fetchone()
        now = "not in the registry" if row is None else f"{row[0]} at attempt {row[1]}"
        self._note(run_id, f"ignored the {what} of attempt {attempt}: the run is {now}")
        return False

    # ------------------------------------------------------------------ liveness

    def sweep(self) -> list[str]:
        """Mark running runs whose worker is dead, silent or stuck as failed (resumable), and
        terminate a silent or stuck worker that still runs on this computer (see
        :mod:`.liveness`). Every read calls this; returns the ids marked failed.

        Best effort: when the database stays busy, the runs are judged again at the next
        read (nothing is raised)."""
        now = time.time()
        with self._connect() as con:
            rows = con.execute(
                "SELECT id, pid, attempt, host, launched, heartbeat, last_progress FROM runs "
                "WHERE status = 'running'"
            ).fetchall()
        cases = [case for row in rows if (case := self._judge(row, now)) is not None]
        if not cases:
            return []
        # stop hung workers first: a frozen worker may hold the database's write lock
        stopped = {
            c.id
            for c in cases
            if c.stoppable and c.pid is not None and terminate_worker(c.pid, c.id, c.attempt)
        }
        marked: list[_Case] = []
        try:
            with self._connect(write=True, busy_s=5.0) as con:
                for c in cases:
                    cur = con.execute(  # only if nothing changed since the run was judged
                        "UPDATE runs SET status = 'failed', finished = ?, pid = NULL, error = ?, "
                        "error_kind = 'interrupted' WHERE id = ? AND attempt = ? AND "
                        "status = 'running' AND pid IS ? AND heartbeat IS ? AND last_progress IS ?",
                        (now, c.verdict.reason, c.id, c.attempt, c.pid, *c.seen),
                    )
                    if cur.rowcount:
                        marked.append(c)
        except sqlite3.OperationalError:  # busy or locked: judged again at the next read
            return []
        for c in marked:
            note = f"attempt {c.attempt} marked failed: {c.verdict.reason}"
            if c.id in stopped:
                note += f" Its worker process (pid {c.pid}) was terminated."
            self._note(c.id, note)
        return [c.id for c in marked]

    def _judge(self, row: sqlite3.Row, now: float) -> _Case | None:
        pid = None if row["pid"] is None else int(row["pid"])
        local = row["host"] in (None, this_host())
        # a worker on another computer: only its heartbeat tells
        alive = (pid is not None and pid_alive(pid, row["id"])) if local else None
        verdict = judge(
            now=now,
            limits=self.limits,
            alive=alive,
            launched=row["launched"],
            heartbeat=row["heartbeat"],
            last_progress=row["last_progress"],
        )
        if verdict is None:
            return None
        seen = (row["heartbeat"], row["last_progress"])
        return _Case(row["id"], int(row["attempt"]), pid, local, verdict, seen)

    def _note(self, run_id: str, text: str) -> None:
        """Append a line from the registry to the run's ``worker.log`` (best effort)."""
        line = f"[{time.strftime('%Y-%m-%d %H:%M:%S')}] registry: {text}\n"
        with (
            contextlib.suppress(OSError, ConfigError),
            open(self.run_dir(run_id) / ARTEFACT_FILES["log"], "a", encoding="utf-8") as fh,
        ):
            fh.write(line)


@dataclass(frozen=True)
class _Case:
    """A running run judged over: its row as judged and the verdict."""

    id: str
    attempt: int
    pid: int | None
    local: bool
    verdict: Verdict
    seen: tuple[float | None, float | None]  # heartbeat, last progress

    @property
    def stoppable(self) -> bool:
        """Whether its worker may still run here and should be terminated."""
        return self.verdict.hung and self.local
