"""The evaluation grid's unit of work, one fold of one repeat, and running the folds of a
repeat as Ray tasks on a cluster (the optional ``mcrage[ray]`` extra).

A fold runs every strategy in order (the first is the baseline a post-processing strategy
reuses) and returns a :class:`FoldOutcome`; the audit takes the outcomes in fold order, so
a run on a cluster gives the same numbers as a run in one process for the same seeds
(every fold's models and generator are seeded by the fold, never by where it ran) when the
diffusion model trains a fixed number of steps; a preset is a time budget, so two runs of
one, here or there, can train different step counts.

On a cluster the driver keeps the progress bar (one step per finished fold) and the
cancel button: it polls ``should_stop`` every second and cancels the tasks still running.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from mcrage_core.errors import TrainingCancelled
from mcrage_core.evaluation.config import AuditConfig
from mcrage_core.evaluation.folds import FoldScores
from mcrage_core.evaluation.prepare import Prepared
from mcrage_core.evaluation.split import Split
from mcrage_core.evaluation.tracking import Tracker
from mcrage_core.progress import CancelCheck, ProgressCallback
from mcrage_core.rebalance import (
    AugmentContext,
    Classifier,
    ModelData,
    Prediction,
    StrategyReport,
)
from mcrage_core.util.ray_cluster import cluster_cpus, connect, unwrap

__all__ = ["FoldOutcome", "FoldRun", "run_folds_on_ray"]

_POLL_S = 1.0


@dataclass
class FoldRun:
    """One fold's split, plan and model inputs (``seed``: its models' seed;
    ``repeat_seed``: the seed of its repeat)."""

    seed: int
    repeat_seed: int
    fold: int
    label: str
    split: Split
    plan: pd.DataFrame
    data: ModelData
    numeric: list[str]
    categorical: list[str]
    baseline: Classifier | None = None


@dataclass
class FoldOutcome:
    """What one fold produced: each strategy's prediction on the fold's real test rows,
    the strategies' notes, timings and per-fold scores, and (first fold of the first repeat
    only) the last strategy report."""

    predictions: dict[str, Prediction] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    fold_scores: FoldScores = field(default_factory=FoldScores)
    report: StrategyReport | None = None

    def note(self, strategy: str, lines: Sequence[str]) -> None:
        """Keep each of ``lines`` once, in order."""
        kept = self.notes.setdefault(strategy, [])
        kept.extend(line for line in lines if line not in kept)

    def keep_report(self, report: StrategyReport | None) -> None:
        """Keep the latest report a strategy gave (``None``: it gave none)."""
        if report is not None:
            self.report = report


def augment_context(
    config: AuditConfig,
    prep: Prepared,
    names: dict[int, Any],
    seed: int,
    progress: ProgressCallback | None,
    should_stop: CancelCheck | None,
    workdir: Path | None,
) -> AugmentContext:
    """What a strategy is told about the audit and the fold (models seeded by ``seed``)."""
    return AugmentContext(
        target=prep.target,
        features=tuple(prep.features),
        columns=tuple(prep.columns),
        rebalance=tuple(prep.rebalance),
        outcome_names=names,
        seed=seed,
        min_cell_rows=config.min_cell_rows,
        allow_small_cells=config.allow_small_cells,
        cddpm_config=config.cddpm_config,
        cddpm_preset=config.cddpm_preset,
        device=config.device,
        sampling_steps=config.sampling_steps,
        progress=progress,
        should_stop=should_stop,
        workdir=workdir,
        primary=prep.primary,
        bands=prep.bands,
        merged=prep.merged,
        attributes=prep.attributes,
    )


class _Run(Protocol):
    """What :func:`run_folds_on_ray` needs of the audit's state."""

    @property
    def tracker(self) -> Tracker: ...

    @property
    def should_stop(self) -> CancelCheck | None: ...

    @property
    def strategies(self) -> Sequence[Any]: ...

    def detached(self) -> _Run: ...

    def run_fold(self, run: FoldRun, *, first_seed: bool) -> FoldOutcome: ...


def _fold_task(run: _Run, fold_run: FoldRun, first_seed: bool) -> FoldOutcome:
    """One fold, on a Ray worker."""
    return run.run_fold(fold_run, first_seed=first_seed)


def run_folds_on_ray(
    address: str, run: _Run, fold_runs: Sequence[FoldRun], *, first_seed: bool
) -> list[FoldOutcome]:
    """Run the folds of one repeat as Ray tasks at ``address``; their outcomes in fold
    order. Raises the error a task raised (MCRAGE's own errors unwrapped), or
    :class:`TrainingCancelled` when ``run.should_stop`` says so (the tasks are cancelled)."""
    ray = connect(address)
    tracker = run.tracker
    units = sum(float(s.cost) for s in run.strategies)
    total = len(fold_runs)
    tracker.emit(
        f"Running {total} fold(s) on the Ray cluster at {address} ({cluster_cpus(ray)} CPUs)"
    )
    shared = ray.put(run.detached())
    task = ray.remote(num_cpus=1, max_retries=0)(_fold_task)
    refs = [task.remote(shared, f, first_seed) for f in fold_runs]
    pending, started = list(refs), time.monotonic()
    while pending:
        ready, pending = ray.wait(pending, num_returns=len(pending), timeout=_POLL_S)
        if ready:
            tracker.advance(units * len(ready))
            done = total - len(pending)
            tracker.emit(
                f"{done} of {total} fold(s) done on the Ray cluster "
                f"({time.monotonic() - started:.0f} s)"
            )
        if pending and run.should_stop is not None and run.should_stop():
            for ref in pending:
                ray.cancel(ref, force=True)
            raise TrainingCancelled("the audit was cancelled at your request; nothing was saved")
    try:
        return list(ray.get(refs))
    except Exception as exc:  # a task's own error, wrapped by Ray
        raise unwrap(exc) from None
