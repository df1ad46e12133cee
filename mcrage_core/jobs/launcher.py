"""Background runs: start the worker processes, queue them, watch them, cancel and resume.

:class:`RunRegistry` is the one object the dashboard and the CLI hold: the storage of
:class:`~mcrage_core.jobs.store.RunStore` plus the worker processes
(``python -m mcrage_core.jobs.worker RUN_DIR``, so that the dashboard stays responsive and
a page refresh or a server restart loses nothing) plus the per-session tables of
:class:`~mcrage_core.jobs.sessions.SessionStore`.

Examples
--------
>>> registry = RunRegistry(tmp_path)  # doctest: +SKIP
>>> run_id = registry.start_run("owner-token", RunSettings(target="died"), df)  # doctest: +SKIP
>>> registry.get(run_id, owner="owner-token").status  # doctest: +SKIP
'running'
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from mcrage_core.errors import ConfigError
from mcrage_core.jobs.records import (
    ARTEFACT_FILES,
    CANCEL_FILE,
    DEAD_WORKER_REASON,
    RunRecord,
)
from mcrage_core.jobs.sessions import SavedSession, SessionStore
from mcrage_core.jobs.store import RunStore
from mcrage_core.util import atomic_write_text

__all__ = ["RunRegistry", "pid_alive"]

# Worker processes started by this process, so that they can be reaped (no zombies)
# and their liveness checked without relying on /proc. Holds process handles only,
# never user data.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


class RunRegistry(RunStore):
    """The runs (see :class:`~mcrage_core.jobs.store.RunStore`), their worker processes
    and the sessions' saved tables.

    Parameters
    ----------
    root
        Folder that holds ``runs.sqlite``, ``runs/`` and ``sessions/``. Defaults to
        :func:`~mcrage_core.jobs.records.default_home`. Nothing is created until the
        first run is started or listed.
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
        super().__init__(root)
        self.sessions = SessionStore(self.root)
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

    def _queued(self, run_id: str) -> None:
        """A run was queued by :meth:`start_run`: start it if a slot is free."""
        self.dispatch()

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
        package_parent = str(Path(__file__).resolve().parent.parent.parent)
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

    def refresh(self) -> list[str]:
        """Mark runs whose worker has died as failed, then start queued runs.

        Call it when polling. Returns the ids of runs newly marked failed.
        """
        with self._connect() as con:
            rows = con.execute("SELECT id, pid FROM runs WHERE status = 'running'").fetchall()
        dead = [r["id"] for r in rows if r["pid"] is None or not pid_alive(int(r["pid"]))]
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

    # ------------------------------------------------------------------ session tables

    def session_dir(self, owner: str) -> Path:
        """The private folder of one browser session (see :class:`SessionStore`)."""
        return self.sessions.session_dir(owner)

    def save_session_table(self, owner: str, data: pd.DataFrame, name: str) -> None:
        """Keep the session's loaded table so that a page refresh restores it."""
        self.sessions.save_session_table(owner, data, name)

    def save_session_settings(self, owner: str, settings: Mapping[str, Any]) -> None:
        """Keep the session's choices about its table (a JSON object)."""
        self.sessions.save_session_settings(owner, settings)

    def load_session(self, owner: str) -> SavedSession | None:
        """The table and settings kept for ``owner``, or ``None``."""
        return self.sessions.load_session(owner)

    def forget_session(self, owner: str) -> None:
        """Delete the table and settings kept for ``owner``."""
        self.sessions.forget_session(owner)


def pid_alive(pid: int) -> bool:
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
