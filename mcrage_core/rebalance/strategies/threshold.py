"""The threshold optimizer: no new rows, no new model. fairlearn's
:class:`~fairlearn.postprocessing.ThresholdOptimizer` (equalized odds) post-processes the
baseline model with a (randomised) threshold per group.

Its score is the probability of a positive decision of the randomised classifier,
computed from fairlearn's public fitted attributes (:func:`positive_probability`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mcrage_core.rebalance.plan import MISSING_GROUP
from mcrage_core.rebalance.strategies.base import (
    AugmentContext,
    Classifier,
    ModelData,
    Prediction,
    Strategy,
)

if TYPE_CHECKING:
    from fairlearn.postprocessing import ThresholdOptimizer

__all__ = ["ThresholdStrategy", "threshold_groups", "positive_probability", "POOLED_GROUP"]

POOLED_GROUP = "(other small groups)"
MIN_GROUP_ROWS = 10
"""A group with fewer training rows (or one outcome only) shares a pooled threshold."""


class ThresholdStrategy(Strategy):
    """Trains nothing: the baseline model with one (randomised) threshold per group."""

    name = "threshold"
    label = "Threshold optimizer (equalized odds)"
    post_processing = True
    uses_baseline_model = True

    def predict(self, model: Classifier, data: ModelData, *, context: AugmentContext) -> Prediction:
        from fairlearn.postprocessing import ThresholdOptimizer

        column = context.group_column
        y_train = data.train[context.target].to_numpy().astype(int)
        g_train, pooled = threshold_groups(data.train[column], y_train)
        g_test = _test_groups(data.test[column], g_train)
        notes: tuple[str, ...] = ()
        if pooled:
            notes = (
                f"Threshold optimizer: group(s) {', '.join(sorted(pooled))} are too small or "
                "have one outcome only in the training part; they share one threshold",
            )
        optimizer = ThresholdOptimizer(
            estimator=model,
            constraints="equalized_odds",
            objective="accuracy_score",
            predict_method="predict_proba",
            prefit=True,
        )
        optimizer.fit(data.X_train, y_train, sensitive_features=g_train.to_numpy())
        sf = g_test.to_numpy()
        pred = np.asarray(
            optimizer.predict(data.X_test, sensitive_features=sf, random_state=context.seed)
        ).astype(int)
        score = positive_probability(optimizer, model.predict_proba(data.X_test)[:, 1], sf)
        return Prediction(pred=pred, score=score, notes=notes)


def positive_probability(
    optimizer: ThresholdOptimizer, base_score: np.ndarray, groups: np.ndarray
) -> np.ndarray:
    """Probability of a positive decision of a fitted ThresholdOptimizer, per row.

    Reimplements fairlearn's randomised thresholding from its public fitted state
    (``interpolated_thresholder_.interpolation_dict``: per group, threshold operations
    ``operation0``/``operation1`` taken with probabilities ``p0``/``p1``, and optionally a
    constant prediction with probability ``p_ignore``), applied to the base model's
    probabilities ``base_score``.
    """
    interpolation = optimizer.interpolated_thresholder_.interpolation_dict
    base = np.asarray(base_score, dtype=float)
    groups = np.asarray(groups)
    out = np.zeros(len(base), dtype=float)
    for group, rule in interpolation.items():
        prob = rule.p0 * rule.operation0(base) + rule.p1 * rule.operation1(base)
        if "p_ignore" in rule:
            prob = rule.p_ignore * rule.prediction_constant + (1 - rule.p_ignore) * prob
        sel = groups == group
        out[sel] = np.asarray(prob, dtype=float)[sel]
    return out


def threshold_groups(labels: pd.Series, y: np.ndarray) -> tuple[pd.Series, set[str]]:
    """Group labels for ThresholdOptimizer: missing and degenerate groups pooled."""
    lab = labels.astype(object).where(labels.notna(), MISSING_GROUP).astype(str)
    frame = pd.DataFrame({"g": lab.to_numpy(), "y": y})
    stats = frame.groupby("g")["y"].agg(["nunique", "size"])
    pooled = set(stats[(stats["nunique"] < 2) | (stats["size"] < MIN_GROUP_ROWS)].index)
    out = lab.where(~lab.isin(pooled), POOLED_GROUP)
    if pooled:
        pool = frame.loc[out.to_numpy() == POOLED_GROUP, "y"]
        if pool.nunique() < 2 or len(pool) < MIN_GROUP_ROWS:
            # even together they cannot get a threshold of their own: use the largest group's
            largest = stats.drop(index=list(pooled), errors="ignore")["size"]
            if len(largest):
                out = out.where(out != POOLED_GROUP, str(largest.idxmax()))
    return out, pooled


def _test_groups(labels: pd.Series, g_train: pd.Series) -> pd.Series:
    """Test rows' threshold groups: groups unseen in training are pooled (or, without a
    pool, given the most common training group)."""
    g_test = labels.astype(object).where(labels.notna(), MISSING_GROUP).astype(str)
    known = set(g_train.unique())
    g_test = g_test.where(g_test.isin(known), POOLED_GROUP)
    if POOLED_GROUP not in known:
        g_test = g_test.where(g_test != POOLED_GROUP, g_train.mode().iloc[0])
    return g_test
