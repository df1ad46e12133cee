"""A verdict per strategy, attribute, group and metric: *helped*, *no measurable change*
or *hurt*, with the change against the baseline, its interval and the test used.

Tests
-----
* **Corrected resampled t-test** (Nadeau & Bengio 2003; for repeated k-fold
  cross-validation, Bouckaert & Frank 2004): the paired per-fold changes ``d_j`` of the
  group's metric over all ``J`` folds of all repeats; their variance is inflated by
  ``1/J + n_test/n_train`` because the training parts of different folds overlap (a
  plain t-test over folds is far too optimistic). Used when the group has at least
  ``small_group`` test rows in every fold.
* **Paired bootstrap over the pooled test rows**: for a group too small per fold, its
  test rows are pooled over the folds of a repeat (every real row once); the same
  resamples of those rows score the strategy and the baseline, and each replicate is
  averaged over repeats. The interval is the percentile interval of the replicates, the
  p-value the normal approximation with their standard deviation. It covers the sampling of test patients, not the variation
  between training sets, so it is the less conservative of the two; the ``test``
  column says which one was used.

The change, the baseline and the value are those of the pooled predictions (mean over
repeats). p-values are adjusted with Holm's step-down method across the groups of one
attribute (per strategy and metric); a verdict other than "no measurable change"
needs an adjusted p-value below ``1 - confidence`` and a change of at least
``min_effect`` (0.01 by default: an AUROC 0.001 lower is not a harm a reviewer should
act on, however clear). Intervals are the unadjusted
``confidence`` intervals of the change.

Groups with fewer than ``small_group`` pooled test rows are not judged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from mcrage_core.evaluation.aggregate import mean_over_seeds
from mcrage_core.evaluation.config import VERDICT_METRICS, AuditConfig
from mcrage_core.evaluation.folds import FoldScores
from mcrage_core.evaluation.results import OVERALL, VERDICT_COLUMNS, VERDICTS, AuditResults
from mcrage_core.evaluation.scoring import Scores

__all__ = [
    "VERDICT_COLUMNS",
    "VERDICTS",
    "holm",
    "corrected_t",
    "judge",
    "TEST_NB",
    "TEST_BOOT",
]

TEST_NB = "corrected resampled t-test (Nadeau-Bengio) over {j} folds"
TEST_BOOT = "paired bootstrap over {n} pooled test rows ({b} resamples)"


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (NaN stays NaN)."""
    p = np.asarray(p_values, dtype=float)
    out = np.full(len(p), math.nan)
    ok = np.flatnonzero(np.isfinite(p))
    order = ok[np.argsort(p[ok], kind="stable")]
    m, running = len(order), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out.tolist()


def corrected_t(
    diffs: Sequence[float], test_train_ratio: float, confidence: float
) -> tuple[float, float, float]:
    """Standard error, half-width and p-value of the mean of the per-fold ``diffs`` under
    the corrected resampled t-test (NaN when fewer than three folds are usable)."""
    from scipy import stats

    d = np.asarray([x for x in diffs if np.isfinite(x)], dtype=float)
    j = len(d)
    if j < 3:
        return math.nan, math.nan, math.nan
    var = float(d.var(ddof=1))
    se = math.sqrt(var * (1.0 / j + float(test_train_ratio)))
    q = float(stats.t.ppf(0.5 + confidence / 2, j - 1))
    if se == 0:
        return 0.0, 0.0, 1.0 if d.mean() == 0 else 0.0
    p = float(2 * stats.t.sf(abs(d.mean()) / se, j - 1))
    return se, q * se, p


def _boot_p(delta: float, d: np.ndarray) -> float:
    """Two-sided p-value of ``delta`` from the bootstrap standard error of the paired
    replicates ``d`` (normal approximation: a percentile count of 200 replicates could
    never go below 1/100, too coarse for Holm's correction across several groups)."""
    from scipy import stats

    d = d[np.isfinite(d)]
    if len(d) < 2:
        return math.nan
    se = float(d.std(ddof=1))
    if se == 0:
        return 1.0 if delta == 0 else 0.0
    return float(2 * stats.norm.sf(abs(delta) / se))


def _mean_reps(scores: Scores, seeds: Sequence[int], key: tuple[str, str, str, str]) -> np.ndarray:
    """Replicate ``b`` of ``key`` averaged over the repeats (empty unless every repeat
    has the same number of replicates)."""
    reps = [scores.reps[(s, *key)] for s in seeds if (s, *key) in scores.reps]
    reps = [r for r in reps if len(r)]
    if not reps or len({len(r) for r in reps}) != 1:
        return np.array([])
    return mean_over_seeds(reps)


def _point(scores: Scores, seeds: Sequence[int], key: tuple[str, str, str, str]) -> float:
    vals = np.asarray([scores.points.get((s, *key), math.nan) for s in seeds], dtype=float)
    return float(np.nanmean(vals)) if np.isfinite(vals).any() else math.nan


def _one(
    scores: Scores,
    folds: FoldScores,
    config: AuditConfig,
    strategy: str,
    attr: str,
    group: str,
    metric: str,
) -> dict[str, Any] | None:
    seeds, base = config.seed_values, "none"
    value = _point(scores, seeds, (strategy, attr, group, metric))
    baseline = _point(scores, seeds, (base, attr, group, metric))
    if not (np.isfinite(value) and np.isfinite(baseline)):
        return None
    delta = value - baseline
    keys = folds.folds()
    per_fold = [folds.n.get((s, k, attr, group), 0) for s, k in keys]
    if len(keys) >= 3 and min(per_fold) >= int(config.small_group):
        diffs = [
            folds.points.get((s, k, strategy, attr, group, metric), math.nan)
            - folds.points.get((s, k, base, attr, group, metric), math.nan)
            for s, k in keys
        ]
        ratio = float(np.mean([folds.n_test[k] / max(folds.n_train[k], 1) for k in keys]))
        _, half, p = corrected_t(diffs, ratio, float(config.confidence))
        if np.isfinite(p):
            test = TEST_NB.format(j=len(keys))
            return _entry(delta, delta - half, delta + half, p, test, value, baseline)
    mine = _mean_reps(scores, seeds, (strategy, attr, group, metric))
    theirs = _mean_reps(scores, seeds, (base, attr, group, metric))
    if len(mine) == 0 or len(mine) != len(theirs):
        return None
    d = mine - theirs
    if not np.isfinite(d).any():
        return None
    a = (1 - float(config.confidence)) / 2
    low, high = np.nanquantile(d, [a, 1 - a])
    n = int(round(np.mean([scores.group_n.get((s, attr, group), 0) for s in seeds])))
    test = TEST_BOOT.format(n=f"{n:,}", b=len(d))
    return _entry(delta, float(low), float(high), _boot_p(delta, d), test, value, baseline)


def _entry(
    delta: float, low: float, high: float, p: float, test: str, value: float, baseline: float
) -> dict[str, Any]:
    return {
        "baseline": baseline,
        "value": value,
        "delta": delta,
        "ci_low": low,
        "ci_high": high,
        "test": test,
        "p_value": p,
    }


def judge(
    scores: Scores,
    folds: FoldScores,
    *,
    strategies: Sequence[str],
    attributes: Sequence[str],
    config: AuditConfig,
    metrics: Sequence[str] = VERDICT_METRICS,
) -> pd.DataFrame:
    """The verdicts table (:data:`VERDICT_COLUMNS`), one row per strategy (other than the
    baseline ``none``) × attribute × judgeable group × metric."""
    seeds, small = config.seed_values, int(config.small_group)
    rows: list[dict[str, Any]] = []
    for attr in [OVERALL, *attributes]:
        groups = sorted({k[2] for k in scores.group_n if k[1] == attr}, key=str)
        for strategy in strategies:
            if strategy == "none":
                continue
            for metric in metrics:
                family = []
                for g in groups:
                    n = int(round(np.mean([scores.group_n.get((s, attr, g), 0) for s in seeds])))
                    if n < small:
                        continue
                    entry = _one(scores, folds, config, strategy, attr, g, metric)
                    if entry is not None:
                        family.append({"strategy": strategy, "attribute": attr, "group": g,
                                       "metric": metric, "n": n, **entry})  # fmt: skip
                for row, p_adj in zip(family, holm([r["p_value"] for r in family]), strict=True):
                    row["p_adjusted"] = p_adj
                    row["verdict"] = _verdict(row["delta"], p_adj, config)
                rows.extend(family)
    return AuditResults.verdict_frame(rows)


def _verdict(delta: float, p_adjusted: float, config: AuditConfig) -> str:
    clear = np.isfinite(p_adjusted) and p_adjusted < 1 - float(config.confidence)
    if clear and abs(delta) >= float(config.min_effect) and delta != 0:
        return "helped" if delta > 0 else "hurt"
    return "no measurable change"
