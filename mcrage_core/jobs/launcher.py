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
from mcrage_core.jobs.liveness import WORKER_MODULE, pid_alive, remember_child, this_host
from mcrage_core.jobs.records import ARTEFACT_FILES, CANCEL_FILE, RunRecord
from mcrage_core.jobs.sessions import SavedSession, SessionStore
from mcrage_core.jobs.store import RunStore
from mcrage_core.util import atomic_write_text

__all__ = ["RunRegistry", "pid_alive"]


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
    hung_after_s, no_progress_s
        When a running run counts as hung (see :class:`~mcrage_core.jobs.store.RunStore`);
        its workers are started with the same limits.
    """

    def __init__(
        self,
        root: Path | str | None = None,
        *,
        max_parallel: int | None = None,
        python: str | None = None,
        hung_after_s: float | None = None,
        no_progress_s: float | None = None,
    ) -> None:
        super().__init__(root, hung_after_s=hung_after_s, no_progress_s=no_progress_s)
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
                "SELECT id, attempt FROM runs WHERE status = 'queued' ORDER BY created LIMIT ?",
                (slots,),
            ).fetchall()
            for row in rows:
                run_id, attempt = row["id"], int(row["attempt"])
                try:
                    pid = self._spawn(run_id, attempt)
                except OSError as exc:
                    con.execute(
                        "UPDATE runs SET status = 'failed', finished = ?, error = ?, "
                        "error_kind = 'interrupted' WHERE id = ? AND attempt = ?",
                        (
                            time.time(),
                            f"could not start the training process ({exc}); "
                            "you can resume it when the computer has resources to spare",
                            run_id,
                            attempt,
                        ),
                    )
                    continue
                now = time.time()
                con.execute(
                    "UPDATE runs SET status = 'running', started = COALESCE(started, ?), "
                    "pid = ?, host = ?, launched = ?, heartbeat = NULL, last_progress = NULL, "
                    "finished = NULL, error = NULL, error_kind = NULL "
                    "WHERE id = ? AND attempt = ? AND status = 'queued'",
                    (now, pid, this_host(), now, run_id, attempt),
                )
                started.append(run_id)
        return started

    def _spawn(self, run_id: str, attempt: int) -> int:
        run_dir = self.runs_dir / run_id
        env = dict(os.environ)
        package_parent = str(Path(__file__).resolve().parent.parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (package_parent, env.get("PYTHONPATH", "")) if p
        )
        env["MCRAGE_HOME"] = str(self.root)
        env["MCRAGE_MAX_PARALLEL"] = str(self.max_parallel)
        env.update(self.limits.to_env())  # the worker's heartbeat fits the silence limit
        # Share the cores between parallel workers: more math threads than free cores makes
        # torch/OpenMP spin-wait, which was measured 25x slower on a busy 2-core machine.
        threads = env.get("MCRAGE_WORKER_THREADS") or str(
            max(1, (os.cpu_count() or 1) // self.max_parallel)
        )
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            env.setdefault(var, threads)
        with open(run_dir / ARTEFACT_FILES["log"], "ab") as log:
            proc = subprocess.Popen(
                [self.python, "-m", WORKER_MODULE, str(run_dir), "--attempt", str(attempt)],
                cwd=str(run_dir),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
        remember_child(proc)
        return proc.pid

    def refresh(self) -> list[str]:
        """Mark runs whose worker died, stopped answering or stopped making progress as
        failed (:meth:`~mcrage_core.jobs.store.RunStore.sweep`), then start queued runs.

        Call it when polling. Returns the ids of runs newly marked failed.
        """
        marked = self.sweep()
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
                    "error_kind = 'cancelled' WHERE id = ? AND attempt = ? AND status = 'queued'",
                    (time.time(), run_id, record.attempt),
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
        with self._connect(write=True) as con:  # a new attempt: the old worker's writes stop
            con.execute(
                "UPDATE runs SET status = 'queued', finished = NULL, error = NULL, pid = NULL, "
                "error_kind = NULL, heartbeat = NULL, last_progress = NULL, "
                "attempt = attempt + 1 WHERE id = ? AND attempt = ? AND status = ?",
                (run_id, record.attempt, record.status),
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
