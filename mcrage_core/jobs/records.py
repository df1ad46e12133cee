"""What a run is: its record in the registry, statuses, artefact names and why it failed.

Plain data and pure functions (no database, no processes): :mod:`.store` keeps
:class:`RunRecord` rows, :mod:`.launcher` starts and watches workers, :mod:`.worker`
classifies its failures with :func:`classify_failure`.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mcrage_core.errors import ConfigError, MCRAGEError, TrainingCancelled
from mcrage_core.jobs.settings import RunKind, RunSettings

__all__ = [
    "ACTIVE_STATUSES",
    "ARTEFACT_FILES",
    "ArtefactName",
    "CANCEL_FILE",
    "DEAD_WORKER_REASON",
    "ERROR_KINDS",
    "ErrorKind",
    "FINAL_STATUSES",
    "RETRYABLE_ERROR_KINDS",
    "RUN_KINDS",
    "RunKind",
    "RunRecord",
    "RunStatus",
    "check_owner",
    "check_run_id",
    "classify_failure",
    "default_home",
    "kind_from_text",
    "new_run_id",
]

RunStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
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
ERROR_KINDS: tuple[str, ...] = (
    "interrupted",
    "out_of_memory",
    "disk_full",
    "cancelled",
    "invalid_input",
    "internal",
)

ACTIVE_STATUSES: tuple[RunStatus, ...] = ("queued", "running")
FINAL_STATUSES: tuple[RunStatus, ...] = ("succeeded", "failed", "cancelled")
RUN_KINDS: tuple[str, ...] = ("audit", "train")

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

DEAD_WORKER_REASON = (
    "the training process stopped unexpectedly (killed or crashed); "
    "you can resume it from its last checkpoint"
)

_RUN_ID_RE = re.compile(r"^[0-9]{8}-[0-9]{6}-[0-9a-f]{8}$")


def default_home() -> Path:
    """The registry root: ``$MCRAGE_HOME`` if set, otherwise ``~/.mcrage``."""
    env = os.environ.get("MCRAGE_HOME")
    return Path(env).expanduser() if env else Path.home() / ".mcrage"


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
    host, launched
        The computer its (last) worker ran on, and when that worker was started (Unix
        timestamp; ``started`` is the first attempt's start).
    heartbeat, last_progress
        Unix timestamps of that worker's last heartbeat and of its last progress event
        (``None`` until its first, and for runs of an older MCRAGE). A running run whose
        worker has been silent longer than ``MCRAGE_HUNG_AFTER_S`` or has made no progress
        for ``MCRAGE_NO_PROGRESS_S`` is marked failed (see :mod:`.liveness`).
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
    host: str | None = None
    launched: float | None = None
    heartbeat: float | None = None
    last_progress: float | None = None

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
    def settings(self) -> RunSettings:
        """The run's settings as a :class:`~mcrage_core.jobs.settings.RunSettings` (runs
        stored in the older dict shape load too)."""
        return RunSettings.from_dict(self.params, kind=self.kind)  # type: ignore[arg-type]

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


def new_run_id() -> str:
    return f"{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{secrets.token_hex(4)}"


def check_run_id(run_id: str) -> str:
    if not isinstance(run_id, str) or not _RUN_ID_RE.match(run_id):
        raise ConfigError(
            f"{run_id!r} is not a run id (expected something like 20250101-120000-1a2b3c4d); "
            "copy the id from the list of runs"
        )
    return run_id


def check_owner(owner: str) -> None:
    if not isinstance(owner, str) or not owner.strip():
        raise ConfigError("a run needs an owner (the session or user token); none was given")


def classify_failure(exc: BaseException) -> ErrorKind:
    """Whether an exception that ended a run is an interruption or would repeat.

    Out of memory and a full disk (anywhere in the exception's cause chain) and a
    cancel or interrupt signal are interruptions; any other
    :class:`~mcrage_core.errors.MCRAGEError` means the settings or the data cannot be
    used (``"invalid_input"``); anything else is an internal error.
    """
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


def kind_from_text(status: str, error: str | None) -> ErrorKind | None:
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
            (
                "the training process stopped unexpectedly",
                "could not start the training process",
                "the worker stopped answering",
                "the worker made no progress",
            )
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
