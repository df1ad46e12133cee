"""Measuring one fitted strategy on the real test rows of one seed: point estimates and
bootstrap replicates, overall, per group and as disparities, kept in :class:`Scores`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mcrage_core.evaluation.metrics import (
    bootstrap_counts,
    group_table,
    metrics_from_counts,
    point_metrics,
)
from mcrage_core.evaluation.results import DISPARITIES, METRICS, OVERALL
from mcrage_core.rebalance import Prediction
from mcrage_core.tables import sort_groups

__all__ = ["Scores", "SeedBootstrap", "score_strategy"]

MetricKey = tuple[int, str, str, str, str]  # seed, strategy, attribute, group, metric
DisparityKey = tuple[int, str, str, str]  # seed, strategy, attribute, metric


@dataclass
class Scores:
    """Per-seed point estimates and bootstrap replicates, filled by :func:`score_strategy`.

    Keys: ``(seed, strategy, attribute, group, metric)`` for metrics,
    ``(seed, attribute, group)`` for group sizes, ``(seed, strategy, attribute, metric)``
    for disparities; ``disp_meta`` maps an attribute to (groups compared, groups left out).
    """

    points: dict[MetricKey, float] = field(default_factory=dict)
    reps: dict[MetricKey, np.ndarray] = field(default_factory=dict)
    group_n: dict[tuple[int, str, str], int] = field(default_factory=dict)
    disp_points: dict[DisparityKey, float] = field(default_factory=dict)
    disp_reps: dict[DisparityKey, np.ndarray] = field(default_factory=dict)
    disp_meta: dict[str, tuple[int, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class SeedBootstrap:
    """The bootstrap resamples of one seed's test rows, shared by every strategy (so that
    changes against the baseline are paired): overall, and per group of each attribute
    (the group's row positions and their resample counts)."""

    n_bootstrap: int
    overall: np.ndarray
    groups: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]]

    @classmethod
    def draw(
        cls,
        test: pd.DataFrame,
        attributes: Sequence[str],
        n_bootstrap: int,
        rng: np.random.Generator,
    ) -> SeedBootstrap:
        overall = bootstrap_counts(len(test), n_bootstrap, rng)
        groups: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = {}
        for attr in attributes:
            codes, values = pd.factorize(test[attr])  # a missing value: -1
            groups[attr] = {}
            # drawn in the order of the groups' text, as the random stream always was
            for k in sorted(range(len(values)), key=lambda k: str(values[k])):
                idx = np.flatnonzero(codes == k)
                groups[attr][str(values[k])] = (idx, bootstrap_counts(len(idx), n_bootstrap, rng))
        return cls(n_bootstrap, overall, groups)


def score_strategy(
    scores: Scores,
    *,
    strategy: str,
    seed: int,
    y: np.ndarray,
    prediction: Prediction,
    test: pd.DataFrame,
    attributes: Sequence[str],
    boot: SeedBootstrap,
    small_group: int,
) -> None:
    """Measure one fitted strategy on the real test rows into ``scores``."""
    pred, score = prediction.pred, prediction.score
    B = boot.n_bootstrap
    empty = np.full(B, np.nan)
    overall = point_metrics(y, pred, score)
    boot_all = metrics_from_counts(y, pred, score, boot.overall) if B else {}
    for metric in METRICS:
        key = (seed, strategy, OVERALL, "all", metric)
        scores.points[key] = float(overall[metric])
        scores.reps[key] = boot_all.get(metric, empty)
    scores.group_n[(seed, OVERALL, "all")] = len(y)
    for attr in attributes:
        col = test[attr]
        known = col.notna().to_numpy()
        if not known.any():
            continue
        table = group_table(y[known], pred[known], score[known], col[known].astype(str))
        rows = table.to_dict("index")
        group_boot: dict[str, dict[str, np.ndarray]] = {}
        eligible: list[str] = []
        for g, (idx, W) in boot.groups[attr].items():
            scores.group_n[(seed, attr, g)] = int(len(idx))
            gb = metrics_from_counts(y[idx], pred[idx], score[idx], W) if B else {}
            group_boot[g] = gb
            for metric in METRICS:
                scores.points[(seed, strategy, attr, g, metric)] = float(rows[g][metric])
                scores.reps[(seed, strategy, attr, g, metric)] = gb.get(metric, empty)
            if len(idx) >= small_group:
                eligible.append(g)
        excluded = sort_groups(sorted(set(boot.groups[attr]) - set(eligible)))
        scores.disp_meta[attr] = (len(eligible), ", ".join(excluded))
        points, reps = _disparities(table, eligible, group_boot, B)
        for metric in DISPARITIES:
            scores.disp_points[(seed, strategy, attr, metric)] = points[metric]
            scores.disp_reps[(seed, strategy, attr, metric)] = reps.get(metric, empty)


def _disparities(
    table: pd.DataFrame,
    eligible: list[str],
    group_boot: dict[str, dict[str, np.ndarray]],
    n_bootstrap: int,
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Disparity points over ``eligible`` and their replicates. The points are fairlearn's
    parity functions (``demographic_parity_difference`` and the like, which measure the
    groups' rows again) worked out as those functions do from the group rates in ``table``."""
    if len(eligible) < 2:
        return {metric: math.nan for metric in DISPARITIES}, {}
    part = table.loc[eligible]
    sr, tpr, fpr = (part[m].astype(float) for m in ("selection_rate", "tpr", "fpr"))
    auc = part["auroc"].to_numpy(dtype=float)
    points = {
        "demographic_parity_difference": _difference(sr),
        "demographic_parity_ratio": _ratio(sr),
        # fairlearn takes Python's max (min) of the TPR and FPR numbers, in that order
        "equalized_odds_difference": float(max(_difference(tpr), _difference(fpr))),
        "equalized_odds_ratio": float(min(_ratio(tpr), _ratio(fpr))),
        "worst_group_f1": float(np.nanmin(part["f1"].to_numpy(dtype=float))),
        "worst_group_auroc": float(np.nanmin(auc)) if np.isfinite(auc).any() else math.nan,
    }
    if not n_bootstrap:
        return points, {}
    return points, _disparity_reps(group_boot, eligible)


def _difference(rates: pd.Series) -> float:
    """fairlearn's ``MetricFrame.difference()`` between groups: the largest distance from
    the smallest group value (missing values skipped)."""
    return float((rates - rates.min()).abs().max())


def _ratio(rates: pd.Series) -> float:
    """fairlearn's ``MetricFrame.ratio()`` between groups: smallest over largest."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.divide(rates.min(), rates.max()))


def _disparity_reps(
    group_boot: dict[str, dict[str, np.ndarray]], groups: list[str]
) -> dict[str, np.ndarray]:
    """The disparities of every bootstrap resample (the groups' resamples side by side)."""

    def stack(metric: str) -> np.ndarray:
        return np.stack([group_boot[g][metric] for g in groups], axis=1)

    sr, tpr, fpr = stack("selection_rate"), stack("tpr"), stack("fpr")
    with np.errstate(divide="ignore", invalid="ignore"):
        dp_ratio = sr.min(1) / sr.max(1)
        eo_ratio = np.minimum(tpr.min(1) / tpr.max(1), fpr.min(1) / fpr.max(1))
    with np.errstate(all="ignore"):
        a = stack("auroc")
        worst = np.where(
            np.isfinite(a).any(1), np.nanmin(np.where(np.isfinite(a), a, np.inf), 1), np.nan
        )
    return {
        "demographic_parity_difference": sr.max(1) - sr.min(1),
        "demographic_parity_ratio": dp_ratio,
        "equalized_odds_difference": np.maximum(tpr.max(1) - tpr.min(1), fpr.max(1) - fpr.min(1)),
        "equalized_odds_ratio": eo_ratio,
        "worst_group_f1": stack("f1").min(1),
        "worst_group_auroc": worst,
    }
