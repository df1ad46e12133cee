"""From per-seed scores to the two tidy tables of :class:`AuditResults`: the mean over
seeds, pooled bootstrap and seed intervals, and the paired change against the baseline."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from mcrage_core.evaluation.metrics import percentile_interval, t_interval
from mcrage_core.evaluation.results import DISPARITIES, METRICS, OVERALL, AuditResults
from mcrage_core.evaluation.scoring import Scores
from mcrage_core.util import to_jsonable

__all__ = [
    "aggregate_disparity",
    "aggregate_metrics",
    "disparity_warnings",
    "mean_over_seeds",
    "summary",
]


def summary(
    per_seed: list[float],
    rep_list: list[np.ndarray],
    base_seed: list[float] | None,
    base_reps: list[np.ndarray] | None,
    confidence: float,
    shared: bool = False,
) -> dict[str, float]:
    """Value, intervals and (with a baseline) the paired change of one number.

    ``shared``: every seed (repeat) was resampled with the same bootstrap draws of the
    same test rows (repeated cross-validation), so replicate ``b`` is averaged over the
    repeats (the interval of the mean over repeats); otherwise the replicates of the
    seeds are pooled (the interval of one seed's number, the conservative choice when
    the seeds' test parts differ)."""
    vals = np.asarray(per_seed, dtype=float)
    value = float(np.nanmean(vals)) if np.isfinite(vals).any() else math.nan
    combine = mean_over_seeds if shared else _concat
    pooled = combine(rep_list)
    ci_low, ci_high = percentile_interval(pooled, confidence)
    seed_low, seed_high = t_interval(vals, confidence)
    if np.isfinite(seed_low):  # every metric here lives in [0, 1]
        seed_low, seed_high = max(0.0, seed_low), min(1.0, seed_high)
    out = {
        "value": value,
        "ci_low": ci_low,
        "ci_high": ci_high,
        "seed_ci_low": seed_low,
        "seed_ci_high": seed_high,
        "delta": math.nan,
        "delta_ci_low": math.nan,
        "delta_ci_high": math.nan,
    }
    if base_seed is not None and base_reps is not None:
        bvals = np.asarray(base_seed, dtype=float)
        diff = vals - bvals
        out["delta"] = float(np.nanmean(diff)) if np.isfinite(diff).any() else math.nan
        dreps = combine([a - b for a, b in zip(rep_list, base_reps, strict=True)])
        out["delta_ci_low"], out["delta_ci_high"] = percentile_interval(dreps, confidence)
    return out


def _concat(reps: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(reps) if reps else np.array([])


def mean_over_seeds(reps: list[np.ndarray]) -> np.ndarray:
    """Replicate ``b`` averaged over the seeds (NaN where every seed's is NaN); the
    replicates concatenated when the seeds have different numbers of them."""
    if not reps or len({len(r) for r in reps}) != 1:
        return _concat(reps)
    stacked = np.stack(reps)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a column of NaN stays NaN
        out = np.nanmean(stacked, axis=0)
    return np.where(np.isfinite(stacked).any(axis=0), out, np.nan)


def _stats(
    points: dict[Any, float],
    reps: dict[Any, np.ndarray],
    key: Callable[[int, str], Hashable],
    strategy: str,
    baseline: str,
    seeds: Sequence[int],
    confidence: float,
    shared: bool = False,
) -> dict[str, float]:
    """:func:`summary` of the number ``key(seed, strategy)`` over the seeds, with the
    change against ``baseline``."""
    per_seed = [points.get(key(s, strategy), math.nan) for s in seeds]
    rep_list = [reps[key(s, strategy)] for s in seeds if key(s, strategy) in reps]
    base: list[float] | None = None
    base_reps: list[np.ndarray] | None = None
    if strategy != baseline:
        base = [points.get(key(s, baseline), math.nan) for s in seeds]
        base_reps = [reps[key(s, baseline)] for s in seeds if key(s, baseline) in reps]
        if len(base_reps) != len(rep_list):
            base, base_reps = None, None
    return summary(per_seed, rep_list, base, base_reps, confidence, shared)


def aggregate_metrics(
    scores: Scores,
    *,
    strategies: Sequence[str],
    seeds: Sequence[int],
    attributes: Sequence[str],
    small_group: int,
    confidence: float,
    shared: bool = False,
) -> pd.DataFrame:
    """The ``metrics`` table (see :mod:`mcrage_core.evaluation.results`); the first
    strategy is the baseline."""
    rows: list[dict[str, Any]] = []
    keys = sorted(
        {(k[2], k[3]) for k in scores.points},
        key=lambda t: (
            t[0] != OVERALL,
            attributes.index(t[0]) if t[0] in attributes else -1,
            str(t[1]),
        ),
    )
    for strategy in strategies:
        for attr, g in keys:
            for metric in METRICS:

                def key(s: int, st: str, a: str = attr, g: str = g, m: str = metric) -> Hashable:
                    return (s, st, a, g, m)

                stats = _stats(
                    scores.points,
                    scores.reps,
                    key,
                    strategy,
                    strategies[0],
                    seeds,
                    confidence,
                    shared,
                )
                ns = [scores.group_n.get((s, attr, g), 0) for s in seeds]
                n = int(round(float(np.mean(ns)))) if ns else 0
                rows.append(
                    {
                        "strategy": strategy,
                        "attribute": attr,
                        "group": str(g),
                        "metric": metric,
                        **stats,
                        "n": n,
                        "small": bool(attr != OVERALL and n < small_group),
                    }
                )
    frame = pd.DataFrame(rows, columns=AuditResults.metric_columns())
    data = {"format": "mcrage-audit/1", "tables": {"metrics": to_jsonable(frame), "disparity": []}}
    return AuditResults.from_dict(data).metrics


def aggregate_disparity(
    scores: Scores,
    *,
    strategies: Sequence[str],
    seeds: Sequence[int],
    attributes: Sequence[str],
    confidence: float,
    shared: bool = False,
) -> pd.DataFrame:
    """The ``disparity`` table (see :mod:`mcrage_core.evaluation.results`)."""
    rows: list[dict[str, Any]] = []
    for strategy in strategies:
        for attr in attributes:
            if attr not in scores.disp_meta:
                continue
            n_groups, excluded = scores.disp_meta[attr]
            for metric in DISPARITIES:

                def key(s: int, st: str, a: str = attr, m: str = metric) -> Hashable:
                    return (s, st, a, m)

                stats = _stats(
                    scores.disp_points,
                    scores.disp_reps,
                    key,
                    strategy,
                    strategies[0],
                    seeds,
                    confidence,
                    shared,
                )
                rows.append(
                    {
                        "strategy": strategy,
                        "attribute": attr,
                        "metric": metric,
                        **stats,
                        "n_groups": n_groups,
                        "excluded_groups": excluded,
                    }
                )
    frame = pd.DataFrame(rows, columns=AuditResults.disparity_columns())
    data = {"format": "mcrage-audit/1", "tables": {"metrics": [], "disparity": to_jsonable(frame)}}
    return AuditResults.from_dict(data).disparity


def disparity_warnings(scores: Scores, *, small_group: int) -> list[str]:
    """Warnings on groups left out of the disparities, and attributes without any."""
    out = []
    for attr, (n_groups, excluded) in scores.disp_meta.items():
        if excluded:
            out.append(
                f"{attr}: group(s) {excluded} have fewer than {small_group} test rows; their "
                "numbers are shown but flagged, and they are left out of the disparities"
            )
        if n_groups < 2:
            out.append(
                f"{attr}: fewer than two groups are large enough to compare, so its "
                "disparities cannot be computed"
            )
    return out
