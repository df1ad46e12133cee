"""The background process that runs one registered job: ``python -m mcrage_core.jobs.worker RUN_DIR``.

Started by :meth:`mcrage_core.jobs.launcher.RunRegistry.start_run` as
``python -m mcrage_core.jobs.worker RUN_DIR --attempt N``. It reads the run's
input table and its :class:`~mcrage_core.jobs.settings.RunSettings` (``RunRecord.settings``)
from ``RUN_DIR`` and runs them with :mod:`mcrage_core.jobs.execute`, exactly as
``mcrage audit`` does. It writes live progress to ``RUN_DIR/progress.json`` (atomically:
last event plus the loss history), stops when ``RUN_DIR/CANCEL`` appears, and on success
writes its artefacts (``results.json``, ``report.html``, ``synthetic.csv``,
``augmented_train.csv``). Whatever happens, the registry ends up with a final status and,
on failure, a plain-language reason.

A background thread writes a heartbeat every few seconds (:class:`~.liveness.Lease`), so
that a worker that hangs is noticed. Every write names the worker's attempt; once the run
belongs to a newer attempt (it was resumed) or was marked failed as hung, the registry
ignores this worker and it stops at its next cancel check.
"""

from __future__ import annotations

import errno
import os
import sys
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import pandas as pd

from mcrage_core.errors import ConfigError, MCRAGEError, TrainingCancelled
from mcrage_core.jobs.launcher import RunRegistry
from mcrage_core.jobs.liveness import Lease
from mcrage_core.jobs.records import (
    ARTEFACT_FILES,
    CANCEL_FILE,
    ErrorKind,
    RunRecord,
    classify_failure,
)
from mcrage_core.util import atomic_write_json

if TYPE_CHECKING:
    from mcrage_core.progress import ProgressEvent

__all__ = [
    "ProgressWriter",
    "CancelFlag",
    "run_job",
    "main",
    "MAX_HISTORY",
]

MAX_HISTORY = 2000
"""Most loss-history points kept in ``progress.json`` (older points are thinned out)."""


class ProgressWriter:
    """Progress callback that writes ``progress.json`` atomically and the registry row.

    The file is rewritten at most every ``file_every_s`` seconds (and on every stage
    change); the database row at most every ``db_every_s`` seconds, as ``attempt``. Once
    ``lease`` is lost (the run is no longer this worker's), nothing more is written.
    """

    def __init__(
        self,
        registry: RunRegistry,
        run_id: str,
        *,
        attempt: int = 0,
        lease: Lease | None = None,
        file_every_s: float = 0.25,
        db_every_s: float = 2.0,
    ) -> None:
        self.registry = registry
        self.run_id = run_id
        self.attempt = attempt
        self.lease = lease
        self.path = registry.run_dir(run_id) / ARTEFACT_FILES["progress"]
        self.file_every_s = file_every_s
        self.db_every_s = db_every_s
        self.history: list[dict[str, Any]] = []
        self.last: ProgressEvent | None = None
        self._last_file = 0.0
        self._last_db = 0.0
        self._stride = 1
        self._n_loss = 0
        previous = registry.read_progress(run_id)
        if previous and isinstance(previous.get("history"), list):
            self.history = list(previous["history"])[-MAX_HISTORY:]

    def __call__(self, event: ProgressEvent) -> None:
        if self._lost():
            return
        stage_changed = self.last is None or self.last.stage != event.stage
        self.last = event
        if event.loss is not None:
            self._n_loss += 1
            if self._n_loss % self._stride == 0:
                self.history.append(
                    {
                        "stage": event.stage,
                        "step": event.step,
                        "loss": event.loss,
                        "elapsed_s": event.elapsed_s,
                        "fraction": event.fraction,
                    }
                )
                if len(self.history) > MAX_HISTORY:
                    self.history = self.history[::2]
                    self._stride *= 2
        now = time.monotonic()
        if stage_changed or now - self._last_db >= self.db_every_s:
            owned = self.registry.record_progress(
                self.run_id, event.to_dict(), attempt=self.attempt
            )
            if not owned and self.lease is not None:
                self.lease.release("the registry ignored this worker's progress")
            self._last_db = now
        if stage_changed or now - self._last_file >= self.file_every_s:
            self.flush()  # nothing once the run is lost
            self._last_file = now

    def _lost(self) -> bool:
        return self.lease is not None and self.lease.lost.is_set()

    def flush(self) -> None:
        """Write the current state to ``progress.json`` now (not once the run is lost)."""
        if self._lost():
            return
        atomic_write_json(
            self.path,
            {
                "event": self.last.to_dict() if self.last else None,
                "history": self.history,
                "updated": time.time(),
            },
            durable=False,
        )


class CancelFlag:
    """``should_stop`` callback: ``True`` once ``RUN_DIR/CANCEL`` exists (checked at most
    every ``every_s`` seconds so the training loop stays fast) or ``lease`` is lost."""

    def __init__(self, run_dir: Path, *, every_s: float = 0.2, lease: Lease | None = None) -> None:
        self.path = Path(run_dir) / CANCEL_FILE
        self.every_s = every_s
        self.lease = lease
        self._last = 0.0
        self._stop = False

    def __call__(self) -> bool:
        if self._stop or (self.lease is not None and self.lease.lost.is_set()):
            return True
        now = time.monotonic()
        if now - self._last >= self.every_s:
            self._last = now
            self._stop = self.path.exists()
        return self._stop


# --------------------------------------------------------------------------- jobs


def _run_audit(
    record: RunRecord, df: pd.DataFrame, progress: ProgressWriter, stop: CancelFlag
) -> None:
    # imported here: the heartbeat starts before the machine-learning libraries load
    from mcrage_core.jobs.execute import run_settings, write_audit_artefacts

    run = run_settings(
        record.settings,
        df,
        progress=progress,
        should_stop=stop,
        workdir=record.run_dir / "checkpoints",  # a resumed run continues its diffusion training
    )
    write_audit_artefacts(record.run_dir, run)


def _run_train(
    record: RunRecord, df: pd.DataFrame, progress: ProgressWriter, stop: CancelFlag
) -> None:
    from mcrage_core.jobs.execute import train_settings

    train_settings(
        record.settings,
        df,
        folder=record.run_dir,
        progress=progress,
        should_stop=stop,
        resume=record.attempt > 0,
    )


_JOBS = {"audit": _run_audit, "train": _run_train}


def _friendly(exc: BaseException) -> str:
    """A plain-language reason for an unexpected failure."""
    if isinstance(exc, MemoryError) or "out of memory" in str(exc).lower():
        return (
            "the computer ran out of memory while training; choose a smaller preset "
            "(Quick), fewer rows or a smaller batch size, then start again"
        )
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return (
            "the disk is full, so the run's files could not be written; free some space "
            "(or set MCRAGE_HOME to a bigger disk) and resume the run"
        )
    if isinstance(exc, OSError) and exc.errno == errno.EFBIG:
        return (
            "a result file was too large for this computer's file-size limit or disk quota, "
            "so it could not be written; raise the limit, free space (or set MCRAGE_HOME to "
            "another disk) and resume the run"
        )
    if isinstance(exc, ImportError):
        return f"a part of MCRAGE is missing or broken ({exc}); reinstall MCRAGE"
    text = " ".join(str(exc).split())
    return (
        f"unexpected internal error ({type(exc).__name__}: {text}); the details are in "
        "the run's worker.log; please report it"
    )


class _Outcome(NamedTuple):
    status: Literal["succeeded", "failed", "cancelled"]
    code: int
    error: str | None = None
    error_kind: ErrorKind | None = None


def run_job(run_dir: Path, attempt: int | None = None) -> int:
    """Run the job stored in ``run_dir`` as ``attempt`` (default: the run's current one)
    and record its outcome. Returns an exit status."""
    run_dir = Path(run_dir).resolve()
    registry = RunRegistry(run_dir.parent.parent)
    record = registry.get(run_dir.name)
    attempt = record.attempt if attempt is None else attempt
    _say(
        f"worker {os.getpid()} started for run {record.id} (kind {record.kind}, attempt {attempt})"
    )
    if record.attempt != attempt:
        _say(f"the run is at attempt {record.attempt} now, so this worker has nothing to do")
        return 0
    registry.claim(record.id, attempt=attempt)
    lease = Lease(
        lambda: registry.heartbeat(record.id, attempt=attempt),
        every_s=registry.limits.heartbeat_every_s,
    ).start()
    progress = ProgressWriter(registry, record.id, attempt=attempt, lease=lease)
    try:
        outcome = _attempt(record, progress, CancelFlag(run_dir, lease=lease))
    finally:
        lease.stop()  # no heartbeat after the outcome
    _safe_flush(progress)
    try:
        recorded = registry.finish(
            record.id,
            outcome.status,
            attempt=attempt,
            error=outcome.error,
            error_kind=outcome.error_kind,
        )
    except Exception:  # noqa: BLE001 - the registry itself is unusable (disk full)
        traceback.print_exc()
        return 1
    if recorded:
        _say(f"{outcome.status}" + (f": {outcome.error}" if outcome.error else ""))
    else:
        _say(f"{outcome.status}, not recorded: the run is no longer this worker's")
    return outcome.code


def _attempt(record: RunRecord, progress: ProgressWriter, stop: CancelFlag) -> _Outcome:
    """Run the job; its outcome (never raises)."""
    try:
        job = _JOBS.get(record.kind)
        if job is None:
            raise ConfigError(f"unknown run kind {record.kind!r}")
        df = pd.read_parquet(record.run_dir / ARTEFACT_FILES["input"])
        job(record, df, progress, stop)
    except TrainingCancelled:
        return _Outcome("cancelled", 0, "cancelled by the user", "cancelled")
    except MCRAGEError as exc:
        traceback.print_exc()
        return _Outcome("failed", 2, " ".join(str(exc).split()), classify_failure(exc))
    except BaseException as exc:  # noqa: BLE001 - record every failure, never hang
        traceback.print_exc()
        sys.stdout.flush()
        return _Outcome("failed", 1, _friendly(exc), classify_failure(exc))
    return _Outcome("succeeded", 0)


def _say(text: str) -> None:
    print(f"[{time.strftime('%Y-%m-%d %H:%M:%S')}] {text}", flush=True)


def _safe_flush(progress: ProgressWriter) -> None:
    try:
        progress.flush()
    except OSError:
        traceback.print_exc()


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    attempt: int | None = None
    if len(args) == 3 and args[1] == "--attempt" and args[2].isdigit():
        attempt, args = int(args[2]), args[:1]
    if len(args) != 1:
        print("usage: python -m mcrage_core.jobs.worker RUN_DIR [--attempt N]", file=sys.stderr)
        return 2
    try:
        return run_job(Path(args[0]), attempt)
    except MCRAGEError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
