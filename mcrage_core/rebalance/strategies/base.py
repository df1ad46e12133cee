"""The one interface every rebalancing strategy implements, and what it works with.

A :class:`Strategy` has three hooks, each with a default that leaves things as they are:

* :meth:`Strategy.augment` — the rows the downstream model is trained on (default: the
  real training rows unchanged, with the weights of :meth:`Strategy.sample_weight`);
* :meth:`Strategy.sample_weight` — a weight per training row (default: none);
* :meth:`Strategy.predict` — turn the fitted model into decisions and scores on the test
  rows (default: ``predict_proba`` and the decision threshold).

and one optional :meth:`Strategy.report` for extra outputs of the first seed (the
synthetic rows of a generator, their fidelity). The audit loop
(:func:`mcrage_core.evaluation.run_audit`) only calls these hooks, so a new strategy is a
subclass plus :func:`~mcrage_core.rebalance.strategies.register_strategy`.
"""

from __future__ import annotations

from abc import ABC
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import numpy as np
import pandas as pd

from mcrage_core.errors import ConfigError
from mcrage_core.progress import CancelCheck, ProgressCallback

if TYPE_CHECKING:
    from mcrage_core.diffusion import CDDPMConfig, PresetName
    from mcrage_core.tables import Bands, Schema

__all__ = [
    "AugmentContext",
    "Augmentation",
    "Classifier",
    "ModelData",
    "Prediction",
    "Strategy",
    "StrategyReport",
]


class Classifier(Protocol):
    """A fitted scikit-learn style binary classifier."""

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray: ...


@dataclass(frozen=True)
class AugmentContext:
    """What every strategy needs to know besides the training rows and the plan.

    ``features`` are the modelling columns (never identifiers, never the target).
    ``cddpm_config`` is the diffusion model's :class:`~mcrage_core.diffusion.CDDPMConfig`
    (``None`` → the preset ``cddpm_preset`` on ``device``).
    """

    target: str
    features: tuple[str, ...]
    rebalance: tuple[str, ...]
    columns: tuple[str, ...] = ()
    """Every record column a generator must produce (default: ``features``); wider than
    ``features`` when the sensitive columns are not model inputs, so that generated
    records are still whole."""
    seed: int = 0
    min_cell_rows: int = 20
    allow_small_cells: bool = False
    cddpm_config: CDDPMConfig | None = None
    cddpm_preset: PresetName = "quick"
    device: str = "auto"
    sampling_steps: int | None = None
    progress: ProgressCallback | None = None
    should_stop: CancelCheck | None = None
    outcome_names: Mapping[int, Any] | None = None
    """How to write the outcome ``0``/``1`` in messages (the user's own values)."""
    workdir: Path | None = None
    """Folder for a strategy's own files (the diffusion model's checkpoints, one
    sub-folder per strategy and seed); training resumes from it after a restart."""
    primary: str | None = None
    """The group column a post-processing strategy fits its thresholds per (default: the
    first of ``rebalance``)."""
    bands: Bands = field(default_factory=dict)
    """Banded group columns: ``{band column: (source column, edges)}``; generated rows keep
    their source value inside the band of their cell."""
    merged: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """Merged group columns: ``{group column: the merged values of its source}``."""
    attributes: Mapping[str, str] = field(default_factory=dict)
    """``{group column: source column}`` of every evaluated attribute."""

    @property
    def cell_columns(self) -> list[str]:
        """The plan's cell columns: the rebalanced groups and the outcome."""
        return [*self.rebalance, self.target]

    @property
    def group_column(self) -> str:
        return self.primary or (self.rebalance[0] if self.rebalance else self.target)


@dataclass(frozen=True)
class Augmentation:
    """The result of a strategy: what the downstream model is trained on.

    ``train`` holds the real rows followed by ``synthetic`` (the added rows, same
    columns); ``sample_weight`` is set by reweighing only.
    """

    strategy: str
    train: pd.DataFrame
    synthetic: pd.DataFrame
    sample_weight: np.ndarray | None = None
    warnings: tuple[str, ...] = ()
    blocked: pd.DataFrame | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def n_added(self) -> int:
        return len(self.synthetic)


@dataclass(frozen=True)
class ModelData:
    """The rows a strategy's model is judged on: the training part and the real test part,
    as tables and as model inputs (``X_*``, see the evaluation's model frame)."""

    train: pd.DataFrame
    test: pd.DataFrame
    X_train: pd.DataFrame
    X_test: pd.DataFrame
    threshold: float = 0.5


@dataclass(frozen=True)
class Prediction:
    """Decisions (0/1) and scores (probability of a positive decision) on the test rows."""

    pred: np.ndarray
    score: np.ndarray
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReportInputs:
    """What :meth:`Strategy.report` may read: the table as given (the user's own codes,
    before value labels), its schema, the value labels, the training rows' positions in
    it (``train_index``) and the split (prepared rows)."""

    reference: pd.DataFrame
    schema: Schema
    value_labels: Mapping[str, Mapping[str, str]] | None
    train_index: np.ndarray
    train: pd.DataFrame
    test: pd.DataFrame


@dataclass
class StrategyReport:
    """Extra outputs of a strategy (first seed): rows in the input's coding, the training
    set they were added to, a fidelity report, a training summary, warnings."""

    synthetic: pd.DataFrame | None = None
    augmented_train: pd.DataFrame | None = None
    fidelity: dict[str, Any] | None = None
    training: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


class Strategy(ABC):
    """One way of rebalancing the training rows according to a plan.

    Class attributes: ``name`` and ``label`` (shown to users); ``adds_rows`` (it
    generates rows); ``guards_small_cells`` (the plan marks the cells the privacy
    guardrail blocks); ``uses_baseline_model`` (no model of its own: :meth:`predict` gets
    the baseline's); ``cost`` (work relative to fitting one classifier, for progress);
    ``progress_stage`` (what its own progress events are called, ``None``: it has none).
    """

    name: ClassVar[str]
    label: ClassVar[str]
    adds_rows: ClassVar[bool] = False
    post_processing: ClassVar[bool] = False
    guards_small_cells: ClassVar[bool] = False
    uses_baseline_model: ClassVar[bool] = False
    cost: ClassVar[float] = 1.0
    progress_stage: ClassVar[str | None] = None

    def augment(
        self, train: pd.DataFrame, plan: pd.DataFrame, *, context: AugmentContext
    ) -> Augmentation:
        """The rows (and weights) to train the downstream model on (default: the real
        rows unchanged, weighted by :meth:`sample_weight`)."""
        weights = self.sample_weight(train, plan, context=context)
        return finish(self.name, train, train.iloc[0:0], sample_weight=weights)

    def sample_weight(
        self, train: pd.DataFrame, plan: pd.DataFrame, *, context: AugmentContext
    ) -> np.ndarray | None:
        """A weight per training row for the classifier (default: none)."""
        return None

    def predict(self, model: Classifier, data: ModelData, *, context: AugmentContext) -> Prediction:
        """Decisions and scores on ``data.X_test`` (default: the positive-class probability
        and ``data.threshold``)."""
        score = model.predict_proba(data.X_test)[:, 1]
        return Prediction(pred=(score >= data.threshold).astype(int), score=score)

    def report(
        self, aug: Augmentation, inputs: ReportInputs, *, context: AugmentContext
    ) -> StrategyReport | None:
        """Extra outputs of the first seed (default: none)."""
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


# --------------------------------------------------------------------------- helpers


def finish(
    name: str,
    train: pd.DataFrame,
    synthetic: pd.DataFrame,
    *,
    sample_weight: np.ndarray | None = None,
    warnings: tuple[str, ...] = (),
    blocked: pd.DataFrame | None = None,
    extras: dict[str, Any] | None = None,
) -> Augmentation:
    """The augmentation of ``train`` by ``synthetic`` (the real rows first)."""
    synthetic = synthetic.reset_index(drop=True)
    full = pd.concat([train.reset_index(drop=True), synthetic], ignore_index=True)
    return Augmentation(
        strategy=name,
        train=full,
        synthetic=synthetic,
        sample_weight=sample_weight,
        warnings=warnings,
        blocked=blocked,
        extras=extras or {},
    )


def cell_labels(df: pd.DataFrame, cols: Sequence[str]) -> pd.Series:
    """A string label per row for its cell; rows outside every cell get ``""``."""
    known = df[list(cols)].notna().all(axis=1)
    labels = pd.Series("", index=df.index, dtype=object)
    if known.any():
        labels.loc[known] = _joined([df.loc[known, c] for c in cols]).to_numpy()
    return labels


def _joined(parts: list[pd.Series]) -> pd.Series:
    """The values of ``parts`` as text, joined row by row with ``"\x1f"``."""
    out = parts[0].astype(str)
    for part in parts[1:]:
        out = out + "\x1f" + part.astype(str)
    return out


def wanted(plan: pd.DataFrame, cols: Sequence[str]) -> dict[str, tuple[int, int]]:
    """``{cell label: (n_real, n_add)}`` of the plan."""
    labels = _joined([plan[c] for c in cols])
    return {
        lab: (int(r), int(a))
        for lab, r, a in zip(labels, plan["n_real"], plan["n_add"], strict=True)
    }


def check_plan(train: pd.DataFrame, plan: pd.DataFrame, cols: Sequence[str]) -> None:
    """Refuse a plan that does not fit the training rows."""
    missing = [c for c in [*cols, "n_real", "n_add"] if c not in plan.columns]
    if missing:
        raise ConfigError(
            f"the augmentation plan lacks column(s) {missing}; build it with plan_augmentation"
        )
    absent = [c for c in cols if c not in train.columns]
    if absent:
        raise ConfigError(f"the training rows lack column(s) {absent} named in the plan")


@dataclass(frozen=True)
class PlanCells:
    """The plan's cells as seen in the training rows (see :func:`plan_cells`)."""

    train: pd.DataFrame
    cols: list[str]
    labels: pd.Series
    counts: pd.Series
    wanted: dict[str, tuple[int, int]]

    def empty_cell_warnings(self, label: str) -> tuple[str, ...]:
        """Warnings for planned cells without a real row to derive new rows from."""
        out = []
        for lab, (_, n_add) in self.wanted.items():
            if n_add > 0 and int(self.counts.get(lab, 0)) == 0:
                out.append(
                    f"{label}: cell {lab.replace(chr(31), ' / ')} has no real training rows, "
                    f"so no rows can be derived from it ({n_add} planned rows were not added)"
                )
        return tuple(out)


def plan_cells(train: pd.DataFrame, plan: pd.DataFrame, context: AugmentContext) -> PlanCells:
    """The plan's cell columns, each training row's cell label, the rows per cell and
    the plan per cell label, after checking that the plan fits the table (the training
    rows get a fresh 0..n-1 index)."""
    cols = context.cell_columns
    check_plan(train, plan, cols)
    train = train.reset_index(drop=True)
    labels = cell_labels(train, cols)
    return PlanCells(train, cols, labels, labels.value_counts(), wanted(plan, cols))
