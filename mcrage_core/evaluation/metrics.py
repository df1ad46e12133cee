"""Metrics of one set of decisions on the real test rows: per group (fairlearn
:class:`~fairlearn.metrics.MetricFrame`), for every bootstrap resample at once (weighted
counts, AUROC and average precision), and the intervals."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from fairlearn.metrics import MetricFrame

__all__ = [
    "bootstrap_counts",
    "group_metrics",
    "metrics_from_counts",
    "percentile_interval",
    "t_interval",
]


def _auroc(y_true: np.ndarray, y_pred: np.ndarray, *, y_score: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    y_true = np.asarray(y_true)
    if len(np.unique(y_true)) < 2:
        return math.nan
    return float(roc_auc_score(y_true, np.asarray(y_score)))


def _pr_auc(y_true: np.ndarray, y_pred: np.ndarray, *, y_score: np.ndarray) -> float:
    from sklearn.metrics import average_precision_score

    y_true = np.asarray(y_true)
    if len(np.unique(y_true)) < 2:
        return math.nan
    return float(average_precision_score(y_true, np.asarray(y_score)))


def _balanced_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    y_true, y_pred = np.asarray(y_true).astype(bool), np.asarray(y_pred).astype(bool)
    rates = []
    if y_true.any():
        rates.append(np.mean(y_pred[y_true]))  # sensitivity
    if (~y_true).any():
        rates.append(np.mean(~y_pred[~y_true]))  # specificity
    return float(np.mean(rates)) if rates else math.nan


def _base_rate(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    y_true = np.asarray(y_true)
    return float(y_true.mean()) if len(y_true) else math.nan


def _f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(y_true, y_pred, zero_division=0))


def _ratio(num: np.ndarray, den: np.ndarray) -> float:
    n, d = int(np.sum(num)), int(np.sum(den))
    return n / d if d else math.nan


def _ppv(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    yt, yp = np.asarray(y_true).astype(bool), np.asarray(y_pred).astype(bool)
    return _ratio(yt & yp, yp)


def _fdr(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    yt, yp = np.asarray(y_true).astype(bool), np.asarray(y_pred).astype(bool)
    return _ratio(~yt & yp, yp)


def _for(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    yt, yp = np.asarray(y_true).astype(bool), np.asarray(y_pred).astype(bool)
    return _ratio(yt & ~yp, ~yp)


def _fnr(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    yt, yp = np.asarray(y_true).astype(bool), np.asarray(y_pred).astype(bool)
    return _ratio(yt & ~yp, yt)


def group_metrics(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    y_score: np.ndarray,
    groups: pd.Series | np.ndarray,
) -> MetricFrame:
    """A fairlearn MetricFrame with accuracy, balanced accuracy, F1, AUROC, PR-AUC, base rate,
    selection rate, TPR, FPR, the predictive-parity rates (PPV, FNR, FOR, FDR; NaN where
    the denominator is empty) and count."""
    from fairlearn.metrics import (
        MetricFrame,
        count,
        false_positive_rate,
        selection_rate,
        true_positive_rate,
    )
    from sklearn.metrics import accuracy_score

    return MetricFrame(
        metrics={
            "accuracy": accuracy_score,
            "balanced_accuracy": _balanced_accuracy,
            "f1": _f1,
            "auroc": _auroc,
            "pr_auc": _pr_auc,
            "base_rate": _base_rate,
            "selection_rate": selection_rate,
            "tpr": true_positive_rate,
            "fpr": false_positive_rate,
            "ppv": _ppv,
            "fnr": _fnr,
            "for": _for,
            "fdr": _fdr,
            "n": count,
        },
        y_true=np.asarray(y_true),
        y_pred=np.asarray(y_pred),
        sensitive_features=np.asarray(groups, dtype=object),
        sample_params={
            "auroc": {"y_score": np.asarray(y_score, dtype=float)},
            "pr_auc": {"y_score": np.asarray(y_score, dtype=float)},
        },
    )


def bootstrap_counts(n: int, n_bootstrap: int, rng: np.random.Generator) -> np.ndarray:
    """Multinomial resample counts, shape ``(n_bootstrap, n)``: row b says how often each
    test row appears in resample b."""
    if n == 0 or n_bootstrap == 0:
        return np.zeros((n_bootstrap, n), dtype=np.int32)
    return rng.multinomial(n, np.full(n, 1.0 / n), size=n_bootstrap).astype(np.int32)


def _safe_div(a: np.ndarray, b: np.ndarray, empty: float = math.nan) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(b > 0, a / np.where(b > 0, b, 1), empty)
    return out


def _ranked(
    y: np.ndarray, score: np.ndarray, W: np.ndarray, *, descending: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Resample weights of the positives and negatives per distinct score (B × U)."""
    order = np.argsort(-score if descending else score, kind="mergesort")
    s, yy, Ws = score[order], y[order].astype(bool), W[:, order].astype(float)
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    pos = np.add.reduceat(Ws * yy, starts, axis=1)
    neg = np.add.reduceat(Ws * ~yy, starts, axis=1)
    return pos, neg


def _weighted_auroc(y: np.ndarray, score: np.ndarray, W: np.ndarray) -> np.ndarray:
    """AUROC of every resample at once: ``W`` (B × n) are resample counts."""
    pos, neg = _ranked(y, score, W, descending=False)
    neg_below = np.cumsum(neg, axis=1) - neg
    num = (pos * (neg_below + 0.5 * neg)).sum(axis=1)
    den = pos.sum(axis=1) * neg.sum(axis=1)
    return _safe_div(num, den)


def _weighted_average_precision(y: np.ndarray, score: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Average precision (PR-AUC, scikit-learn's step definition) of every resample."""
    pos, neg = _ranked(y, score, W, descending=True)  # thresholds from high to low
    tp, fp = np.cumsum(pos, axis=1), np.cumsum(neg, axis=1)
    precision = _safe_div(tp, tp + fp, empty=0.0)
    total = tp[:, -1:] if tp.shape[1] else np.zeros((W.shape[0], 1))
    recall_step = _safe_div(pos, np.broadcast_to(total, pos.shape), empty=0.0)
    ap = (recall_step * precision).sum(axis=1)
    valid = (total[:, 0] > 0) & (neg.sum(axis=1) > 0)
    return np.where(valid, ap, np.nan)


def metrics_from_counts(
    y: np.ndarray, pred: np.ndarray, score: np.ndarray, W: np.ndarray
) -> dict[str, np.ndarray]:
    """Every metric of :data:`~mcrage_core.evaluation.results.METRICS` for each resample
    (rows of ``W``)."""
    y = np.asarray(y).astype(bool)
    pred = np.asarray(pred).astype(bool)
    Wf = W.astype(float)
    tp = Wf @ (y & pred)
    fp = Wf @ (~y & pred)
    fn = Wf @ (y & ~pred)
    tn = Wf @ (~y & ~pred)
    n = tp + fp + fn + tn
    tpr = _safe_div(tp, tp + fn)  # NaN where a resample has no positive
    tnr = _safe_div(tn, tn + fp)
    with np.errstate(invalid="ignore"):
        balanced = np.where(np.isnan(tpr), tnr, np.where(np.isnan(tnr), tpr, (tpr + tnr) / 2))
    return {
        "accuracy": _safe_div(tp + tn, n),
        "balanced_accuracy": balanced,
        "f1": _safe_div(2 * tp, 2 * tp + fp + fn, empty=0.0),
        "auroc": _weighted_auroc(y, np.asarray(score, dtype=float), W),
        "pr_auc": _weighted_average_precision(y, np.asarray(score, dtype=float), W),
        "base_rate": _safe_div(tp + fn, n),
        "selection_rate": _safe_div(tp + fp, n),
        "tpr": np.nan_to_num(tpr, nan=0.0),
        "fpr": _safe_div(fp, fp + tn, empty=0.0),
        "ppv": _safe_div(tp, tp + fp),
        "fnr": _safe_div(fn, tp + fn),
        "for": _safe_div(fn, fn + tn),
        "fdr": _safe_div(fp, tp + fp),
    }


def t_interval(values: Sequence[float] | np.ndarray, confidence: float) -> tuple[float, float]:
    """The t-interval of the mean of ``values`` (NaN with fewer than two finite values)."""
    from scipy import stats

    v = np.asarray([x for x in values if np.isfinite(x)], dtype=float)
    if len(v) < 2:
        return (math.nan, math.nan)
    sd = v.std(ddof=1)
    if sd == 0:
        return (float(v.mean()), float(v.mean()))
    low, high = stats.t.interval(confidence, len(v) - 1, loc=v.mean(), scale=sd / math.sqrt(len(v)))
    return (float(low), float(high))


def percentile_interval(reps: np.ndarray, confidence: float) -> tuple[float, float]:
    """The percentile interval of the finite bootstrap replicates ``reps``."""
    r = reps[np.isfinite(reps)]
    if len(r) == 0:
        return (math.nan, math.nan)
    a = (1 - confidence) / 2
    low, high = np.quantile(r, [a, 1 - a])
    return (float(low), float(high))
