"""The background process that runs one registered job: ``python -m mcrage_core.jobs.worker RUN_DIR``.

Started by :meth:`mcrage_core.jobs.store.RunRegistry.start_run`. It reads the run's input table
and settings from ``RUN_DIR``, runs the job, writes live progress to ``RUN_DIR/progress.json``
(atomically: last event plus the loss history), stops when ``RUN_DIR/CANCEL`` appears, and
on success writes its artefacts (``results.json``, ``report.html``, ``synthetic.csv``,
``augmented_train.csv``). Whatever happens, the registry ends up with a final status and,
on failure, a plain-language reason.
"""

from __future__ import annotations

import errno
import sys
import time
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from mcrage_core.errors import ConfigError, MCRAGEError, TrainingCancelled
from mcrage_core.jobs.store import (
    ARTEFACT_FILES,
    CANCEL_FILE,
    RunRecord,
    RunRegistry,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    classify_failure,
)
from mcrage_core.progress import ProgressEvent

__all__ = [
    "ProgressWriter",
    "CancelFlag",
    "TINY_OVERRIDES",
    "cddpm_config",
    "audit_config",
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


def _schema_args(params: Mapping[str, Any]) -> dict[str, Any]:
    raw = params.get("schema") or {}
    if not isinstance(raw, Mapping):
        raise ConfigError("the run settings are damaged: 'schema' must be an object")
    sensitive = raw.get("sensitive")
    age_bands = raw.get("age_bands")
    return {
        "target": raw.get("target"),
        "positive_class": raw.get("positive_class"),
        "sensitive": dict(sensitive) if sensitive else None,
        "exclude": tuple(raw.get("exclude") or ()),
        "include": tuple(raw.get("include") or ()),
        "age_bands": tuple(age_bands) if age_bands else None,
    }


def _infer(df: pd.DataFrame, params: Mapping[str, Any]) -> tuple[pd.DataFrame, Any]:
    from mcrage_core.tables.schema import infer_schema

    args = _schema_args(params)
    age_bands = args.pop("age_bands")
    if age_bands is not None:
        return infer_schema(df, age_bands=age_bands, **args)
    return infer_schema(df, **args)


def audit_config(params: Mapping[str, Any], schema: Any) -> Any:
    """The :class:`~mcrage_core.evaluation.pipeline.AuditConfig` for a run's settings.

    ``params["audit"]`` holds ``rebalance``, ``strategies``, ``preset`` (quick, standard,
    thorough, or tiny for tests), ``device``, ``n_seeds``, ``train_steps`` (0/None: the
    preset's), ``min_cell_rows``, ``allow_small_cells`` and optionally ``classifier`` and
    ``n_bootstrap``, ``value_labels`` (column → {code: label}), ``merge_below`` and
    ``threshold``.
    """
    from mcrage_core.evaluation.pipeline import AuditConfig

    raw = params.get("audit") or {}
    if not isinstance(raw, Mapping):
        raise ConfigError("the run settings are damaged: 'audit' must be an object")
    if schema.target is None:
        raise ConfigError(
            "the audit needs an outcome column; choose the target on the Data page (or --target)"
        )
    preset = str(raw.get("preset", "quick"))
    device = str(raw.get("device", "auto"))
    custom = None
    if preset == "tiny" or raw.get("train_steps"):
        custom = cddpm_config(preset, device=device, train_steps=raw.get("train_steps"))
    tiny = preset == "tiny"
    return AuditConfig(
        schema.target,
        positive_class=schema.positive_class,
        rebalance=tuple(raw.get("rebalance") or ()),
        strategies=tuple(raw.get("strategies") or ("none", "oversample", "cddpm")),
        classifier=str(raw.get("classifier", "hgb")),  # type: ignore[arg-type]
        seeds=int(raw.get("n_seeds", 1)),
        n_bootstrap=int(raw.get("n_bootstrap", 50 if tiny else 200)),
        cddpm_preset="quick" if tiny else preset,  # type: ignore[arg-type]
        cddpm_config=custom,
        device=device,
        sampling_steps=custom.sampling_steps if tiny and custom is not None else None,
        min_cell_rows=int(raw.get("min_cell_rows", 20)),
        allow_small_cells=bool(raw.get("allow_small_cells", False)),
        value_labels=raw.get("value_labels") or None,
        merge_below=int(raw.get("merge_below") or 0),
        threshold=float(raw.get("threshold", 0.5)),
    )


def _run_audit(record: RunRecord, df: pd.DataFrame, progress: Any, stop: Any) -> None:
    from mcrage_core.evaluation.pipeline import run_audit

    coerced, schema = _infer(df, record.params)
    config = audit_config(record.params, schema)
    run_dir = record.run_dir
    results = run_audit(
        coerced,
        schema,
        config,
        progress=progress,
        should_stop=stop,
        workdir=run_dir / "checkpoints",  # a resumed run continues its diffusion training
    )
    atomic_write_text(run_dir / ARTEFACT_FILES["results"], results.to_json())
    from mcrage_core.tables.records import synthetic_artefacts

    for name, payload in synthetic_artefacts(results, coerced, schema).items():
        atomic_write_bytes(run_dir / name, payload)
    try:
        from mcrage_core.presentation.report import render_report

        html = render_report(results)
    except ImportError:
        html = None
    if html is not None:
        atomic_write_text(run_dir / ARTEFACT_FILES["report"], html)


TINY_OVERRIDES: dict[str, Any] = {
    "hidden": 32,
    "depth": 1,
    "train_steps": 40,
    "batch_size": 128,
    "timesteps": 50,
    "sampling_steps": 10,
    "checkpoint_every": 10,
    "n_quantiles": 50,
}
"""The ``"tiny"`` preset: the ``"quick"`` preset shrunk so that a run takes seconds (tests)."""


def cddpm_config(
    preset: str,
    *,
    device: str = "auto",
    train_steps: int | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Any:
    """The :class:`~mcrage_core.diffusion.CDDPMConfig` for a run's settings.

    ``preset`` is ``"quick"``, ``"standard"``, ``"thorough"`` or ``"tiny"`` (tests).
    """
    from mcrage_core.diffusion import CDDPMConfig

    if preset not in ("tiny", "quick", "standard", "thorough"):
        raise ConfigError(f"unknown model preset {preset!r}; choose Quick, Standard or Thorough")
    config = CDDPMConfig.preset("quick" if preset == "tiny" else preset, device=device)  # type: ignore[arg-type]
    changes: dict[str, Any] = dict(TINY_OVERRIDES) if preset == "tiny" else {}
    if train_steps:
        changes["train_steps"] = int(train_steps)
    changes.update(dict(overrides or {}))
    return config.with_overrides(**changes) if changes else config


def _run_train(record: RunRecord, df: pd.DataFrame, progress: Any, stop: Any) -> None:
    from mcrage_core.diffusion import CDDPM
    from mcrage_core.tables.schema import group_columns

    coerced, schema = _infer(df, record.params)
    if schema.target is None:
        raise ConfigError("training needs an outcome column; choose the target first")
    train = record.params.get("train") or {}
    config = cddpm_config(
        str(train.get("preset", "quick")),
        device=str(train.get("device", "auto")),
        train_steps=train.get("train_steps"),
        overrides=train.get("overrides"),
    )
    coerced, groups = group_columns(coerced, schema)
    wanted = list(train.get("rebalance") or [])
    condition = [groups.get(k, k) for k in wanted] if wanted else list(groups.values())
    missing = [c for c in condition if c not in coerced.columns]
    if missing:
        raise ConfigError(f"cannot condition on unknown column(s): {', '.join(missing)}")
    model_dir = record.run_dir / ARTEFACT_FILES["model"]
    model = CDDPM(config).fit(
        coerced,
        target=schema.target,
        condition=condition,
        columns=[c for c in schema.features if c not in condition],
        progress=progress,
        should_stop=stop,
        run_dir=model_dir,
        resume=record.attempt > 0 and model_dir.exists(),
    )
    model.save(model_dir)
    atomic_write_json(
        record.run_dir / ARTEFACT_FILES["results"],
        {
            "kind": "train",
            "condition": condition,
            "config": config.to_dict(),
            "cells": model.cells_.astype(object).to_dict(orient="records"),
        },
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
