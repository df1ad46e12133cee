"""The background process that runs one registered job: ``python -m mcrage_core.jobs.worker RUN_DIR``.

Started by :meth:`mcrage_core.jobs.launcher.RunRegistry.start_run`. It reads the run's
input table and its :class:`~mcrage_core.jobs.settings.RunSettings` (``RunRecord.settings``)
from ``RUN_DIR`` and runs them with :mod:`mcrage_core.jobs.execute`, exactly as
``mcrage audit`` does. It writes live progress to ``RUN_DIR/progress.json`` (atomically:
last event plus the loss history), stops when ``RUN_DIR/CANCEL`` appears, and on success
writes its artefacts (``results.json``, ``report.html``, ``synthetic.csv``,
``augmented_train.csv``). Whatever happens, the registry ends up with a final status and,
on failure, a plain-language reason.
"""

from __future__ import annotations

import errno
import sys
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from mcrage_core.errors import ConfigError, MCRAGEError, TrainingCancelled
from mcrage_core.jobs.execute import run_settings, train_settings, write_audit_artefacts
from mcrage_core.jobs.launcher import RunRegistry
from mcrage_core.jobs.records import ARTEFACT_FILES, CANCEL_FILE, RunRecord, classify_failure
from mcrage_core.progress import ProgressEvent
from mcrage_core.util import atomic_write_json

if TYPE_CHECKING:
    pass

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
    change); the database row at most every ``db_every_s`` seconds.
    """

    def __init__(
        self,
        registry: RunRegistry,
        run_id: str,
        *,
        file_every_s: float = 0.25,
        db_every_s: float = 2.0,
    ) -> None:
        self.registry = registry
        self.run_id = run_id
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
        if stage_changed or now - self._last_file >= self.file_every_s:
            self.flush()
            self._last_file = now
        if stage_changed or now - self._last_db >= self.db_every_s:
            self.registry.record_progress(self.run_id, event.to_dict())
            self._last_db = now

    def flush(self) -> None:
        """Write the current state to ``progress.json`` now."""
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
    every ``every_s`` seconds so the training loop stays fast)."""

    def __init__(self, run_dir: Path, *, every_s: float = 0.2) -> None:
        self.path = Path(run_dir) / CANCEL_FILE
        self.every_s = every_s
        self._last = 0.0
        self._stop = False

    def __call__(self) -> bool:
        if self._stop:
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


def run_job(run_dir: Path) -> int:
    """Run the job stored in ``run_dir`` and record its outcome. Returns an exit status."""
    run_dir = Path(run_dir).resolve()
    registry = RunRegistry(run_dir.parent.parent)
    record = registry.get(run_dir.name)
    print(
        f"[{time.strftime('%Y-%m-%d %H:%M:%S')}] worker pid started for run {record.id} "
        f"(kind {record.kind}, attempt {record.attempt})",
        flush=True,
    )
    progress = ProgressWriter(registry, record.id)
    stop = CancelFlag(run_dir)
    try:
        job = _JOBS.get(record.kind)
        if job is None:
            raise ConfigError(f"unknown run kind {record.kind!r}")
        df = pd.read_parquet(run_dir / ARTEFACT_FILES["input"])
        job(record, df, progress, stop)
    except TrainingCancelled:
        _safe_flush(progress)
        registry.finish(record.id, "cancelled", error="cancelled by the user")
        print("cancelled by the user", flush=True)
        return 0
    except MCRAGEError as exc:
        _safe_flush(progress)
        traceback.print_exc()
        registry.finish(
            record.id,
            "failed",
            error=" ".join(str(exc).split()),
            error_kind=classify_failure(exc),
        )
        return 2
    except BaseException as exc:  # noqa: BLE001 - record every failure, never hang
        traceback.print_exc()
        sys.stdout.flush()
        _safe_flush(progress)
        try:
            registry.finish(
                record.id, "failed", error=_friendly(exc), error_kind=classify_failure(exc)
            )
        except Exception:  # noqa: BLE001 - the registry itself is unusable (disk full)
            traceback.print_exc()
        return 1
    _safe_flush(progress)
    registry.finish(record.id, "succeeded")
    print(f"[{time.strftime('%Y-%m-%d %H:%M:%S')}] finished", flush=True)
    return 0


def _safe_flush(progress: ProgressWriter) -> None:
    try:
        progress.flush()
    except OSError:
        traceback.print_exc()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m mcrage_core.jobs.worker RUN_DIR", file=sys.stderr)
        return 2
    try:
        return run_job(Path(args[0]))
    except MCRAGEError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
