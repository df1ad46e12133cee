"""Run registry: background audit and training jobs, their status, progress and artefacts.

Every run gets a generated id (never user input) and a directory ``<root>/runs/<id>/``
holding its input table, settings, progress and results. An embedded SQLite database
(``<root>/runs.sqlite``, WAL mode) lists the runs with their owner, status, settings,
timings and error. The work itself happens in a separate process
(``python -m mcrage_core.jobs.worker RUN_DIR``) so that the dashboard or the CLI stays
responsive, and so that a page refresh or a server restart loses nothing.

Examples
--------
>>> registry = RunRegistry(tmp_path)  # doctest: +SKIP
>>> run_id = registry.start_run("owner-token", {"target": "died"}, df)  # doctest: +SKIP
>>> registry.get(run_id, owner="owner-token").status  # doctest: +SKIP
'running'
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import math
import os
import re
import secrets
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from mcrage_core.errors import ConfigError, DataError

__all__ = [
    "RunStatus",
    "RunKind",
    "ErrorKind",
    "RETRYABLE_ERROR_KINDS",
    "classify_failure",
    "SavedSession",
    "ArtefactName",
    "RunRecord",
    "RunRegistry",
    "ACTIVE_STATUSES",
    "FINAL_STATUSES",
    "ARTEFACT_FILES",
    "DEAD_WORKER_REASON",
    "default_home",
    "atomic_write_bytes",
    "atomic_write_text",
    "atomic_write_json",
]

RunStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
RunKind = Literal["audit", "train"]
ArtefactName = Literal[
    "input", "params", "progress", "log", "results", "report", "synthetic", "augmented", "model"
]

ErrorKind = Literal[
    "interrupted", "out_of_memory", "disk_full", "cancelled", "invalid_input", "internal"
]
"""Why a run ended without success.

``interrupted`` (the worker was killed, crashed or could not start), ``out_of_memory``,
``disk_full`` and ``cancelled`` are interruptions: running the same settings again can
succeed, so such a run can be resumed from its last checkpoint. ``invalid_input`` (the
settings or the table cannot be used: a :class:`~mcrage_core.errors.MCRAGEError`) and
``internal`` (a bug) fail the same way every time, so resuming is refused.
"""
RETRYABLE_ERROR_KINDS: frozenset[str] = frozenset(
    {"interrupted", "out_of_memory", "disk_full", "cancelled"}
)
_ERROR_KINDS: tuple[str, ...] = (
    "interrupted",
    "out_of_memory",
    "disk_full",
    "cancelled",
    "invalid_input",
    "internal",
)

ACTIVE_STATUSES: tuple[RunStatus, ...] = ("queued", "running")
FINAL_STATUSES: tuple[RunStatus, ...] = ("succeeded", "failed", "cancelled")
_KINDS: tuple[str, ...] = ("audit", "train")

ARTEFACT_FILES: dict[str, str] = {
    "input": "input.parquet",
    "params": "params.json",
    "progress": "progress.json",
    "log": "worker.log",
    "results": "results.json",
    "report": "report.html",
    "synthetic": "synthetic.csv",
    "augmented": "augmented_train.csv",
    "columns": "synthetic.columns.json",
    "model": "model",
}
CANCEL_FILE = "CANCEL"
SESSIONS_DIR = "sessions"
_SESSION_FILE = "session.json"
_SESSION_FORMAT = "mcrage-session/1"

DEAD_WORKER_REASON = (
    "the training process stopped unexpectedly (killed or crashed); "
    "you can resume it from its last checkpoint"
)

_RUN_ID_RE = re.compile(r"^[0-9]{8}-[0-9]{6}-[0-9a-f]{8}$")
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
# never user data.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def default_home() -> Path:
    """The registry root: ``$MCRAGE_HOME`` if set, otherwise ``~/.mcrage``."""
    env = os.environ.get("MCRAGE_HOME")
    return Path(env).expanduser() if env else Path.home() / ".mcrage"


# --------------------------------------------------------------------------- atomic files


def atomic_write_bytes(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Write ``data`` to ``path`` atomically (temporary file in the same folder + rename).

    A reader never sees a half-written file, and a crash (or a full disk) leaves the
    previous version in place. ``durable=False`` skips the ``fsync`` (for files rewritten
    many times a second, such as live progress, where losing the last update is harmless).
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def atomic_write_text(path: Path, text: str, *, durable: bool = True) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"), durable=durable)


def atomic_write_json(path: Path, obj: Any, *, durable: bool = True) -> None:
    """Write ``obj`` as JSON to ``path`` atomically (non-finite numbers become null)."""
    atomic_write_text(
        path, json.dumps(_json_safe(obj), separators=(",", ":"), allow_nan=False), durable=durable
    )


def _json_safe(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalars
        with contextlib.suppress(Exception):
            return _json_safe(obj.item())
    return obj


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class RunRecord:
    """One run as stored in the registry.

    Attributes
    ----------
    id, owner, kind, status
        Generated id, owner token, job kind and lifecycle status.
    shared
        Whether other sessions may see the run.
    params
        The settings the run was started with (JSON object).
    created, started, finished
        Unix timestamps (``started``/``finished`` are ``None`` until they happen).
    pid
        Process id of the worker, while it runs.
    error
        Why the run failed, in plain language (``None`` otherwise).
    progress
        The last progress event (``ProgressEvent.to_dict()``), updated every few seconds.
    attempt
        0 for the first attempt, +1 per resume.
    run_dir
        The folder with the run's artefacts.
    error_kind
        Why a failed or cancelled run stopped (see :data:`ErrorKind`); ``None`` otherwise.
    """

    id: str
    owner: str
    shared: bool
    kind: str
    status: RunStatus
    params: dict[str, Any]
    created: float
    started: float | None
    finished: float | None
    pid: int | None
    error: str | None
    progress: dict[str, Any] | None
    attempt: int
    run_dir: Path = field(repr=False)
    error_kind: str | None = None

    @property
    def is_active(self) -> bool:
        """``True`` while the run is queued or running."""
        return self.status in ACTIVE_STATUSES

    @property
    def can_resume(self) -> bool:
        """Whether resuming can help: the run was cancelled or interrupted (killed, out of
        memory, disk full), not stopped by its settings, its data or a bug."""
        if self.status == "cancelled":
            return True
        return self.status == "failed" and self.error_kind in RETRYABLE_ERROR_KINDS

    @property
    def log_path(self) -> Path:
        """Full path of the worker's log (``worker.log``), to send with a problem report."""
        return (self.run_dir / ARTEFACT_FILES["log"]).resolve()

    def duration_at(self, now: float | None = None) -> float | None:
        """Seconds from start to finish, or to ``now`` (default: the current time) while the
        run has not finished; ``None`` if it never started. The one definition of a run's
        duration: pass the same ``now`` to every place that shows it."""
        if self.started is None:
            return None
        if self.finished is not None:
            return max(0.0, self.finished - self.started)
        return max(0.0, (time.time() if now is None else now) - self.started)

    @property
    def duration_s(self) -> float | None:
        """Seconds from start to finish (or to now while it runs); ``None`` if not started."""
        return self.duration_at()

    def artefact(self, name: ArtefactName) -> Path | None:
        """Path of an artefact of this run if it exists, else ``None``."""
        if name not in ARTEFACT_FILES:
            raise ConfigError(
                f"unknown run artefact {name!r}; choose one of {', '.join(ARTEFACT_FILES)}"
            )
        path = self.run_dir / ARTEFACT_FILES[name]
        return path if path.exists() else None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly summary (used by tables in the dashboard and the CLI)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "shared": self.shared,
            "created": self.created,
            "started": self.started,
            "finished": self.finished,
            "duration_s": self.duration_s,
            "attempt": self.attempt,
            "error": self.error,
            "error_kind": self.error_kind,
            "can_resume": self.can_resume,
            "params": self.params,
        }


@dataclass(frozen=True)
class SavedSession:
    """What a browser session keeps between page loads (see
    :meth:`RunRegistry.save_session_table`).

    Attributes
    ----------
    name
        Display name of the table (its file name), ``None`` without a table.
    data
        The table as it was loaded, ``None`` if none was kept (or it cannot be read).
    settings
        The session's choices about the table (JSON object; empty if none).
    updated
        Unix time of the last change.
    """

    name: str | None
    data: pd.DataFrame | None
    settings: dict[str, Any]
    updated: float


# --------------------------------------------------------------------------- registry


class RunRegistry:
    """SQLite-backed list of runs plus their artefact folders.

    Parameters
    ----------
    root
        Folder that holds ``runs.sqlite`` and ``runs/``. Defaults to :func:`default_home`.
        Nothing is created until the first run is started or listed.
    max_parallel
        How many workers may run at once; further runs wait with status ``queued``
        and start when a slot frees up. Defaults to ``$MCRAGE_MAX_PARALLEL`` or 2.
    python
        Interpreter used for the worker process (defaults to the current one).
    """

    def __init__(
        self,
        root: Path | str | None = None,
        *,
        max_parallel: int | None = None,
        python: str | None = None,
    ) -> None:
        self.root = Path(root).expanduser() if root is not None else default_home()
        if max_parallel is None:
            env = os.environ.get("MCRAGE_MAX_PARALLEL", "2")
            try:
                max_parallel = int(env)
            except ValueError:
                raise ConfigError(
                    f"MCRAGE_MAX_PARALLEL must be a whole number, got {env!r}"
                ) from None
        if max_parallel < 1:
            raise ConfigError(f"max_parallel must be at least 1, got {max_parallel}")
        self.max_parallel = max_parallel
        self.python = python or sys.executable

    # ------------------------------------------------------------------ plumbing

    @property
    def db_path(self) -> Path:
        return self.root / _DB_NAME

    @property
    def runs_dir(self) -> Path:
        return self.root / "runs"

    def run_dir(self, run_id: str) -> Path:
        """The artefact folder of ``run_id`` (the id is validated: no path tricks)."""
        return self.runs_dir / _check_id(run_id)

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
        params: Mapping[str, Any],
        data: pd.DataFrame,
        *,
        kind: RunKind = "audit",
        shared: bool = False,
    ) -> str:
        """Save the input table and settings, register the run and start its worker.

        Parameters
        ----------
        owner
            Token of the session (or user) that owns the run.
        params
            JSON-serialisable settings, read by :mod:`mcrage_core.jobs.worker`
            (``schema``: arguments of ``infer_schema``; ``audit``: fields of ``AuditConfig``).
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
        _check_owner(owner)
        if kind not in _KINDS:
            raise ConfigError(f"unknown run kind {kind!r}; choose one of {', '.join(_KINDS)}")
        if not isinstance(data, pd.DataFrame) or data.empty:
            raise DataError("the table to train on is empty; upload a table with rows first")
        try:
            params_json = json.dumps(_json_safe(dict(params)), allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"the run settings cannot be saved as JSON ({exc})") from None

        run_id = _new_id()
        run_dir = self.runs_dir / run_id
        with self._connect():  # creates root, runs/ and the database
            pass
        run_dir.mkdir()
        _write_parquet(data, run_dir / ARTEFACT_FILES["input"])
        atomic_write_text(run_dir / ARTEFACT_FILES["params"], params_json)
        with self._connect(write=True) as con:
            con.execute(
                "INSERT INTO runs (id, owner, shared, kind, status, params, created) "
                "VALUES (?, ?, ?, ?, 'queued', ?, ?)",
                (run_id, owner, int(shared), kind, params_json, time.time()),
            )
        self.dispatch()
        return run_id

    def dispatch(self) -> list[str]:
        """Start queued runs while fewer than ``max_parallel`` are running.

        Returns the ids of the runs started.
        """
        started: list[str] = []
        with self._connect(write=True) as con:
            n_running = con.execute(
                "SELECT COUNT(*) FROM runs WHERE status = 'running'"
            ).fetchone()[0]
            slots = self.max_parallel - int(n_running)
            if slots <= 0:
                return started
            rows = con.execute(
                "SELECT id FROM runs WHERE status = 'queued' ORDER BY created LIMIT ?", (slots,)
            ).fetchall()
            for row in rows:
                run_id = row["id"]
                try:
                    pid = self._spawn(run_id)
                except OSError as exc:
                    con.execute(
                        "UPDATE runs SET status = 'failed', finished = ?, error = ?, "
                        "error_kind = 'interrupted' WHERE id = ?",
                        (
                            time.time(),
                            f"could not start the training process ({exc}); "
                            "you can resume it when the computer has resources to spare",
                            run_id,
                        ),
                    )
                    continue
                con.execute(
                    "UPDATE runs SET status = 'running', started = COALESCE(started, ?), "
                    "pid = ?, finished = NULL, error = NULL, error_kind = NULL WHERE id = ?",
                    (time.time(), pid, run_id),
                )
                started.append(run_id)
        return started

    def _spawn(self, run_id: str) -> int:
        run_dir = self.runs_dir / run_id
        env = dict(os.environ)
        package_parent = str(Path(__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (package_parent, env.get("PYTHONPATH", "")) if p
        )
        env["MCRAGE_HOME"] = str(self.root)
        env["MCRAGE_MAX_PARALLEL"] = str(self.max_parallel)
        # Share the cores between parallel workers: more math threads than free cores makes
        # torch/OpenMP spin-wait, which was measured 25x slower on a busy 2-core machine.
        threads = env.get("MCRAGE_WORKER_THREADS") or str(
            max(1, (os.cpu_count() or 1) // self.max_parallel)
        )
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            env.setdefault(var, threads)
        with open(run_dir / ARTEFACT_FILES["log"], "ab") as log:
            proc = subprocess.Popen(
                [self.python, "-m", "mcrage_core.jobs.worker", str(run_dir)],
                cwd=str(run_dir),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
        _CHILDREN[proc.pid] = proc
        return proc.pid

    # ------------------------------------------------------------------ reading

    def get(self, run_id: str, *, owner: str | None = None) -> RunRecord:
        """One run. With ``owner``, only runs of that owner or shared runs are visible.

        Raises
        ------
        ConfigError
            If there is no such run (or it belongs to someone else and is not shared).
        """
        _check_id(run_id)
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

    # ------------------------------------------------------------------ lifecycle

    def refresh(self) -> list[str]:
        """Mark runs whose worker has died as failed, then start queued runs.

        Call it when polling. Returns the ids of runs newly marked failed.
        """
        with self._connect() as con:
            rows = con.execute("SELECT id, pid FROM runs WHERE status = 'running'").fetchall()
        dead = [r["id"] for r in rows if r["pid"] is None or not _pid_alive(int(r["pid"]))]
        marked: list[str] = []
        if dead:
            now = time.time()
            with self._connect(write=True) as con:
                for run_id in dead:
                    cur = con.execute(
                        "UPDATE runs SET status = 'failed', finished = ?, pid = NULL, error = ?, "
                        "error_kind = 'interrupted' WHERE id = ? AND status = 'running'",
                        (now, DEAD_WORKER_REASON, run_id),
                    )
                    if cur.rowcount:
                        marked.append(run_id)
        self.dispatch()
        return marked

    def cancel(self, run_id: str, *, owner: str) -> RunRecord:
        """Ask a run to stop. A queued run is cancelled at once; a running one at its next
        check (within about a second)."""
        record = self._owned(run_id, owner, "cancel")
        if record.status == "queued":
            with self._connect(write=True) as con:
                con.execute(
                    "UPDATE runs SET status = 'cancelled', finished = ?, "
                    "error_kind = 'cancelled' WHERE id = ? AND status = 'queued'",
                    (time.time(), run_id),
                )
        elif record.status == "running":
            atomic_write_text(record.run_dir / CANCEL_FILE, "cancel requested\n")
        return self.get(run_id)

    def resume(self, run_id: str, *, owner: str) -> RunRecord:
        """Start a cancelled or interrupted run again, continuing from its last checkpoint.

        Raises
        ------
        ConfigError
            If the run is not finished, or failed for a reason that would repeat (its
            settings or data cannot be used, or an internal error): see
            :attr:`RunRecord.can_resume`.
        """
        record = self._owned(run_id, owner, "resume")
        if record.status not in ("failed", "cancelled"):
            raise ConfigError(
                f"run {run_id} is {record.status}; only failed or cancelled runs can be resumed"
            )
        if not record.can_resume:
            raise ConfigError(
                f"run {run_id} failed because of its settings, its data or an internal error, "
                "so resuming it would fail the same way; fix the problem named in its error "
                "and start a new run"
            )
        with contextlib.suppress(FileNotFoundError):
            (record.run_dir / CANCEL_FILE).unlink()
        with self._connect(write=True) as con:
            con.execute(
                "UPDATE runs SET status = 'queued', finished = NULL, error = NULL, pid = NULL, "
                "error_kind = NULL, attempt = attempt + 1 WHERE id = ?",
                (run_id,),
            )
        self.dispatch()
        return self.get(run_id)

    def set_shared(self, run_id: str, shared: bool, *, owner: str) -> RunRecord:
        """Let other sessions see this run (``shared=True``) or hide it again."""
        self._owned(run_id, owner, "share")
        with self._connect(write=True) as con:
            con.execute("UPDATE runs SET shared = ? WHERE id = ?", (int(bool(shared)), run_id))
        return self.get(run_id)

    def _owned(self, run_id: str, owner: str, action: str) -> RunRecord:
        _check_owner(owner)
        record = self.get(run_id)
        if record.owner != owner:
            raise ConfigError(
                f"only the session that started run {run_id} can {action} it; "
                "start your own run instead"
            )
        return record

    # ------------------------------------------------------------------ session tables

    def session_dir(self, owner: str) -> Path:
        """The private folder of one browser session (named by a hash of its owner token,
        so the folder name reveals nothing and only that token leads to it)."""
        _check_owner(owner)
        digest = hashlib.sha256(owner.encode("utf-8")).hexdigest()[:40]
        return self.root / SESSIONS_DIR / digest

    def save_session_table(self, owner: str, data: pd.DataFrame, name: str) -> None:
        """Keep the session's loaded table (Parquet) and its display name, so that a page
        refresh restores it. Written atomically: a reader sees the old or the new table."""
        folder = self._session_folder(owner)
        table_file = f"table-{secrets.token_hex(6)}.parquet"
        _write_parquet(data, folder / table_file)
        meta = self._read_session_meta(folder)
        meta.update({"table": table_file, "name": str(name), "updated": time.time()})
        atomic_write_json(folder / _SESSION_FILE, meta)
        for old in folder.glob("table-*.parquet"):
            if old.name != table_file:
                with contextlib.suppress(OSError):
                    old.unlink()

    def save_session_settings(self, owner: str, settings: Mapping[str, Any]) -> None:
        """Keep the session's choices about its table (a JSON object)."""
        try:
            payload = json.loads(json.dumps(_json_safe(dict(settings)), allow_nan=False))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"the session's settings cannot be saved as JSON ({exc})") from None
        folder = self._session_folder(owner)
        meta = self._read_session_meta(folder)
        meta.update({"settings": payload, "updated": time.time()})
        atomic_write_json(folder / _SESSION_FILE, meta)

    def load_session(self, owner: str) -> SavedSession | None:
        """The table and settings kept for ``owner``, or ``None`` if there are none (or
        they cannot be read)."""
        folder = self.session_dir(owner)
        meta = self._read_session_meta(folder)
        if not meta.get("table") and not meta.get("settings"):
            return None
        data: pd.DataFrame | None = None
        table = meta.get("table")
        if isinstance(table, str) and re.fullmatch(r"table-[0-9a-f]{12}\.parquet", table):
            try:
                data = pd.read_parquet(folder / table)
            except (OSError, ValueError, ImportError):
                data = None
        settings = meta.get("settings")
        name = meta.get("name")
        return SavedSession(
            name=str(name) if data is not None and name is not None else None,
            data=data,
            settings=dict(settings) if isinstance(settings, Mapping) else {},
            updated=float(meta.get("updated") or 0.0),
        )

    def forget_session(self, owner: str) -> None:
        """Delete the table and settings kept for ``owner``."""
        folder = self.session_dir(owner)
        if not folder.is_dir():
            return
        for path in folder.iterdir():
            with contextlib.suppress(OSError):
                path.unlink()
        with contextlib.suppress(OSError):
            folder.rmdir()

    def _session_folder(self, owner: str) -> Path:
        folder = self.session_dir(owner)
        folder.parent.mkdir(parents=True, exist_ok=True)
        folder.mkdir(mode=0o700, exist_ok=True)
        return folder

    @staticmethod
    def _read_session_meta(folder: Path) -> dict[str, Any]:
        try:
            meta = json.loads((folder / _SESSION_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {"format": _SESSION_FORMAT}
        if not isinstance(meta, dict) or meta.get("format") != _SESSION_FORMAT:
            return {"format": _SESSION_FORMAT}
        return meta

    # ------------------------------------------------------------------ worker side

    def cancel_requested(self, run_id: str) -> bool:
        """Whether a cancel was requested (the worker polls this)."""
        return (self.run_dir(run_id) / CANCEL_FILE).exists()

    def record_progress(self, run_id: str, event: Mapping[str, Any]) -> None:
        """Store the latest progress event in the database (the worker calls this)."""
        with self._connect(write=True) as con:
            con.execute(
                "UPDATE runs SET progress = ? WHERE id = ?",
                (json.dumps(_json_safe(dict(event))), run_id),
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
        if error_kind is not None and error_kind not in _ERROR_KINDS:
            raise ConfigError(
                f"unknown error kind {error_kind!r}; choose one of {', '.join(_ERROR_KINDS)}"
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
                error_kind = _kind_from_text(status, error)
        with self._connect(write=True) as con:
            con.execute(
                "UPDATE runs SET status = ?, finished = ?, error = ?, error_kind = ?, pid = NULL "
                "WHERE id = ?",
                (status, time.time(), error, error_kind, run_id),
            )


# --------------------------------------------------------------------------- helpers


def _new_id() -> str:
    return f"{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{secrets.token_hex(4)}"


def _check_id(run_id: str) -> str:
    if not isinstance(run_id, str) or not _RUN_ID_RE.match(run_id):
        raise ConfigError(
            f"{run_id!r} is not a run id (expected something like 20250101-120000-1a2b3c4d); "
            "copy the id from the list of runs"
        )
    return run_id


def _check_owner(owner: str) -> None:
    if not isinstance(owner, str) or not owner.strip():
        raise ConfigError("a run needs an owner (the session or user token); none was given")


def classify_failure(exc: BaseException) -> ErrorKind:
    """Whether an exception that ended a run is an interruption or would repeat.

    Out of memory and a full disk (anywhere in the exception's cause chain) and a
    cancel or interrupt signal are interruptions; any other
    :class:`~mcrage_core.errors.MCRAGEError` means the settings or the data cannot be
    used (``"invalid_input"``); anything else is an internal error.
    """
    from mcrage_core.errors import MCRAGEError, TrainingCancelled

    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain and len(chain) < 20:
        chain.append(current)
        current = current.__cause__ or current.__context__
    if isinstance(exc, TrainingCancelled):
        return "cancelled"
    for e in chain:
        if isinstance(e, MemoryError) or "out of memory" in str(e).lower():
            return "out_of_memory"
        if isinstance(e, OSError) and e.errno in _DISK_ERRNOS:
            return "disk_full"
    if isinstance(exc, (KeyboardInterrupt, SystemExit)):
        return "interrupted"
    if isinstance(exc, MCRAGEError):
        return "invalid_input"
    return "internal"


_DISK_ERRNOS = frozenset(
    code for code in (errno.ENOSPC, getattr(errno, "EDQUOT", None), errno.EFBIG) if code
)


def _kind_from_text(status: str, error: str | None) -> ErrorKind | None:
    """Best guess of the error kind from a recorded status and message (registries written
    before error kinds existed, or a caller that gave none)."""
    if status == "succeeded":
        return None
    if status == "cancelled":
        return "cancelled"
    text = (error or "").lower()
    if (
        not text
        or error == DEAD_WORKER_REASON
        or text.startswith(
            ("the training process stopped unexpectedly", "could not start the training process")
        )
    ):
        return "interrupted"
    if "out of memory" in text:
        return "out_of_memory"
    if "disk is full" in text or "file-size limit" in text:
        return "disk_full"
    if text.startswith(("unexpected internal error", "a part of mcrage is missing")):
        return "internal"
    return "invalid_input"


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
                    (_kind_from_text(row[1], row[2]), row[0]),
                )
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def _write_parquet(data: pd.DataFrame, path: Path) -> None:
    frame = data.copy()
    frame.columns = [str(c) for c in frame.columns]
    try:
        payload = _to_parquet_bytes(frame)
    except (ValueError, TypeError, ImportError, OverflowError):
        # Mixed-type object columns: store them as text, the schema step coerces them again.
        for col in frame.columns:
            if frame[col].dtype == object:
                frame[col] = frame[col].astype("string")
        payload = _to_parquet_bytes(frame)
    atomic_write_bytes(path, payload)


def _to_parquet_bytes(frame: pd.DataFrame) -> bytes:
    import io

    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return buf.getvalue()


def _pid_alive(pid: int) -> bool:
    """Whether ``pid`` is a live (non-zombie) MCRAGE worker process."""
    child = _CHILDREN.get(pid)
    if child is not None:
        if child.poll() is None:
            return True
        _CHILDREN.pop(pid, None)
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    proc = Path(f"/proc/{pid}")
    if proc.is_dir():
        try:
            stat = (proc / "stat").read_text()
            state = stat.rsplit(")", 1)[1].split()[0]
            if state in ("Z", "X"):
                return False
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ")
        except (OSError, IndexError):
            return False
        return b"mcrage_core.jobs.worker" in cmdline  # a reused pid is not our worker
    return True
