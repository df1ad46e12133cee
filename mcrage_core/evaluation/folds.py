"""Cross-validation bookkeeping: the out-of-fold predictions of one repeat (pooled over
its folds, so every real row is scored once by a model that never saw it) and the
per-fold point metrics the corrected resampled t-test needs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mcrage_core.evaluation.config import VERDICT_METRICS
from mcrage_core.evaluation.metrics import metrics_from_counts
from mcrage_core.evaluation.results import OVERALL
from mcrage_core.rebalance import Prediction

__all__ = ["FoldScores", "Pooled", "fold_seed", "merge_fold_scores", "score_fold"]

FoldKey = tuple[int, int, str, str, str, str]  # repeat seed, fold, strategy, attr, group, metric


def fold_seed(seed: int, fold: int, folds: int) -> int:
    """The seed of the models and strategies of one fold (unique within an audit)."""
    return int(seed) if int(folds) <= 1 else int(seed) * 100 + int(fold)


@dataclass
class FoldScores:
    """Per-fold point metrics (:data:`VERDICT_METRICS`) and group sizes, per fold.

    ``points[(seed, fold, strategy, attribute, group, metric)]``,
    ``n[(seed, fold, attribute, group)]``; ``n_train[(seed, fold)]`` and
    ``n_test[(seed, fold)]`` are the fold's sizes (the test-to-training ratio enters the
    correction of the t-test).
    """

    points: dict[FoldKey, float] = field(default_factory=dict)
    n: dict[tuple[int, int, str, str], int] = field(default_factory=dict)
    n_train: dict[tuple[int, int], int] = field(default_factory=dict)
    n_test: dict[tuple[int, int], int] = field(default_factory=dict)

    def folds(self) -> list[tuple[int, int]]:
        """Every (repeat seed, fold) scored, in order."""
        return sorted(self.n_test)


def score_fold(
    scores: FoldScores,
    *,
    seed: int,
    fold: int,
    strategy: str,
    y: np.ndarray,
    prediction: Prediction,
    test: pd.DataFrame,
    attributes: Sequence[str],
    n_train: int,
) -> None:
    """The point metrics of one strategy on one fold's real test rows, per group."""
    scores.n_train[(seed, fold)] = int(n_train)
    scores.n_test[(seed, fold)] = len(y)
    groups: list[tuple[str, str, np.ndarray]] = [(OVERALL, "all", np.arange(len(y)))]
    for attr in attributes:
        col = test[attr]
        known = col.notna().to_numpy()
        values = col.astype(str).to_numpy()
        for g in pd.unique(values[known]):
            groups.append((attr, str(g), np.flatnonzero(known & (values == g))))
    for attr, g, idx in groups:
        scores.n[(seed, fold, attr, g)] = len(idx)
        ones = np.ones((1, len(idx)), dtype=np.int32)
        m = metrics_from_counts(y[idx], prediction.pred[idx], prediction.score[idx], ones)
        for metric in VERDICT_METRICS:
            scores.points[(seed, fold, strategy, attr, g, metric)] = float(m[metric][0])


@dataclass
class Pooled:
    """The out-of-fold decisions and scores of one repeat, per strategy, in the order of
    the prepared table's rows that were tested (every row once with K-fold CV)."""

    n_rows: int
    pred: dict[str, np.ndarray] = field(default_factory=dict)
    score: dict[str, np.ndarray] = field(default_factory=dict)
    tested: np.ndarray = field(default_factory=lambda: np.array([], dtype=bool))

    def __post_init__(self) -> None:
        self.tested = np.zeros(self.n_rows, dtype=bool)

    def add(self, strategy: str, test_pos: np.ndarray, prediction: Prediction) -> None:
        """Keep one fold's prediction of ``strategy`` at its rows' positions."""
        if strategy not in self.pred:
            self.pred[strategy] = np.zeros(self.n_rows, dtype=int)
            self.score[strategy] = np.zeros(self.n_rows, dtype=float)
        self.pred[strategy][test_pos] = np.asarray(prediction.pred).astype(int)
        self.score[strategy][test_pos] = np.asarray(prediction.score, dtype=float)
        self.tested[test_pos] = True

    @property
    def positions(self) -> np.ndarray:
        """Positions (in the prepared table) of the rows tested in this repeat."""
        return np.flatnonzero(self.tested)

    def prediction(self, strategy: str) -> Prediction:
        """The pooled prediction of ``strategy`` on :attr:`positions`."""
        pos = self.positions
        return Prediction(pred=self.pred[strategy][pos], score=self.score[strategy][pos])


def merge_fold_scores(source: FoldScores, into: FoldScores) -> None:
    """Add the folds of ``source`` to ``into`` (their keys never overlap)."""
    into.points.update(source.points)
    into.n.update(source.n)
    into.n_train.update(source.n_train)
    into.n_test.update(source.n_test)
