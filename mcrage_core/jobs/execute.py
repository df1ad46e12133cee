"""Run a :class:`~mcrage_core.jobs.settings.RunSettings`: the one code path behind both the
background worker (:mod:`mcrage_core.jobs.worker`) and ``mcrage audit``.

>>> settings = RunSettings(target="died", sensitive=("race",))  # doctest: +SKIP
>>> run = run_settings(settings, df, progress=print)  # doctest: +SKIP
>>> write_audit_artefacts(Path("out"), run, title="Audit of ward 3")  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from mcrage_core.diffusion import CDDPM, CDDPMConfig
from mcrage_core.errors import ConfigError
from mcrage_core.evaluation import run_audit
from mcrage_core.evaluation.results import AuditResults
from mcrage_core.jobs.records import ARTEFACT_FILES
from mcrage_core.jobs.settings import RunSettings
from mcrage_core.presentation.report import render_report
from mcrage_core.progress import CancelCheck, ProgressCallback
from mcrage_core.tables import Schema, group_columns
from mcrage_core.tables.records import synthetic_artefacts
from mcrage_core.util import atomic_write_bytes, atomic_write_json, atomic_write_text
from mcrage_core.util.ray_cluster import resolve_address, resolve_workers

if TYPE_CHECKING:
    from mcrage_core.diffusion.distributed import RayTraining

__all__ = ["AuditRun", "run_settings", "train_settings", "write_audit_artefacts"]


@dataclass(frozen=True)
class AuditRun:
    """What an audit run produced: the results, and the table and schema it ran on (the
    table in its coerced form, which the synthetic files are written against)."""

    results: AuditResults
    data: pd.DataFrame
    schema: Schema


def run_settings(
    settings: RunSettings,
    df: pd.DataFrame,
    *,
    progress: ProgressCallback | None = None,
    should_stop: CancelCheck | None = None,
    workdir: Path | None = None,
    ray_address: str | None = None,
) -> AuditRun:
    """Infer the schema with every schema choice, build the audit's config and run it.

    ``workdir`` keeps the diffusion model's checkpoints (a resumed run continues there);
    ``ray_address``: run the folds on that Ray cluster (default: ``MCRAGE_RAY_ADDRESS``).
    """
    data, schema = settings.infer(df)
    config = settings.audit_config(schema)
    results = run_audit(
        data,
        schema,
        config,
        progress=progress,
        should_stop=should_stop,
        workdir=workdir,
        ray_address=ray_address,
    )
    return AuditRun(results=results, data=data, schema=schema)


def write_audit_artefacts(folder: Path, run: AuditRun, *, title: str | None = None) -> None:
    """Write ``results.json``, ``report.html``, ``synthetic.csv``, ``augmented_train.csv``
    and ``synthetic.columns.json`` into ``folder`` (each atomically)."""
    atomic_write_text(folder / ARTEFACT_FILES["results"], run.results.to_json())
    for name, payload in synthetic_artefacts(run.results, run.data, run.schema).items():
        atomic_write_bytes(folder / name, payload)
    report = (
        render_report(run.results) if title is None else render_report(run.results, title=title)
    )
    atomic_write_text(folder / ARTEFACT_FILES["report"], report)


def _ray_training(config: CDDPMConfig) -> RayTraining | None:
    """Data-parallel training on the Ray cluster of ``MCRAGE_RAY_ADDRESS`` (with
    ``MCRAGE_RAY_WORKERS`` workers, default 2), as the dashboard's training runs use it;
    ``None`` (this process) without a cluster, or for differentially private training,
    which runs in one process."""
    address = resolve_address(None)
    if address is None or config.dp_epsilon is not None:
        return None
    from mcrage_core.diffusion.distributed import RayTraining

    return RayTraining(address, workers=resolve_workers())


def train_settings(
    settings: RunSettings,
    df: pd.DataFrame,
    *,
    folder: Path,
    progress: ProgressCallback | None = None,
    should_stop: CancelCheck | None = None,
    resume: bool = False,
) -> dict[str, Any]:
    """Fit the diffusion model of a ``"train"`` run, save it to ``folder/model`` and write
    ``folder/results.json`` (the conditioning columns, the config and the cells).

    ``settings.rebalance`` names the columns (or sensitive kinds) to condition on; empty:
    every sensitive group column.
    """
    data, schema = settings.infer(df)
    if schema.target is None:
        raise ConfigError("training needs an outcome column; choose the target first")
    config = settings.cddpm_config()
    data, groups = group_columns(data, schema)
    wanted = list(settings.rebalance)
    condition = [groups.get(k, k) for k in wanted] if wanted else list(groups.values())
    missing = [c for c in condition if c not in data.columns]
    if missing:
        raise ConfigError(f"cannot condition on unknown column(s): {', '.join(missing)}")
    model_dir = folder / ARTEFACT_FILES["model"]
    model = CDDPM(config).fit(
        data,
        target=schema.target,
        condition=condition,
        columns=[c for c in schema.features if c not in condition],
        progress=progress,
        should_stop=should_stop,
        run_dir=model_dir,
        resume=resume and model_dir.exists(),
        runner=_ray_training(config),
    )
    model.save(model_dir)
    summary = {
        "kind": "train",
        "condition": condition,
        "config": config.to_dict(),
        "cells": model.cells_.astype(object).to_dict(orient="records"),
    }
    atomic_write_json(folder / ARTEFACT_FILES["results"], summary)
    return summary
