"""Metrics of one set of decisions on the real test rows: per group (fairlearn
:class:`~fairlearn.metrics.MetricFrame`, or the same functions group by group), for every
bootstrap resample (weighted counts, AUROC and average precision, a block of resamples at
a time so that memory stays bounded), and the intervals."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from fairlearn.metrics import MetricFrame

__all__ = [
    "bootstrap_counts",
    "group_metrics",
    "group_table",
    "metrics_from_counts",
    "percentile_interval",
    "point_metrics",
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


_SCORED = ("auroc", "pr_auc")  # the metrics that also take the scores


def _metric_functions() -> dict[str, Callable[..., float]]:
    """The metric functions of :func:`group_metrics`, by name, in the table's order."""
    from fairlearn.metrics import count, false_positive_rate, selection_rate, true_positive_rate
    from sklearn.metrics import accuracy_score

    return {
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
    }


def group_metrics(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    y_score: np.ndarray,
    groups: pd.Series | np.ndarray,
) -> MetricFrame:
    """A fairlearn MetricFrame with accuracy, balanced accuracy, F1, AUROC, PR-AUC, base rate,
    selection rate, TPR, FPR, the predictive-parity rates (PPV, FNR, FOR, FDR; NaN where
    the denominator is empty) and count."""
    from fairlearn.metrics import MetricFrame

    score = np.asarray(y_score, dtype=float)
    return MetricFrame(
        metrics=_metric_functions(),
        y_true=np.asarray(y_true),
        y_pred=np.asarray(y_pred),
        sensitive_features=np.asarray(groups, dtype=object),
        sample_params={name: {"y_score": score} for name in _SCORED},
    )


def point_metrics(y_true: np.ndarray, y_pred: np.ndarray, y_score: np.ndarray) -> dict[str, float]:
    """The metrics of :func:`group_metrics` on these rows: the same functions on the same
    values, so the same numbers as its ``overall``. (fairlearn 0.15's MetricFrame copies
    its inputs value by value for every metric, ``np.stack`` of each column: most of the
    measuring time at 100,000 rows.)"""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    score = np.asarray(y_score, dtype=float)
    return {
        name: fn(y_true, y_pred, y_score=score) if name in _SCORED else fn(y_true, y_pred)
        for name, fn in _metric_functions().items()
    }


def group_table(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    y_score: np.ndarray,
    groups: pd.Series | np.ndarray,
) -> pd.DataFrame:
    """The numbers of :func:`group_metrics`'s ``by_group``: one row per group (sorted),
    :func:`point_metrics` of its rows."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    score = np.asarray(y_score, dtype=float)
    codes, labels = pd.factorize(np.asarray(groups, dtype=object), sort=True)
    rows = {}
    for k, label in enumerate(labels):
        idx = np.flatnonzero(codes == k)
        rows[label] = point_metrics(y_true[idx], y_pred[idx], score[idx])
    return pd.DataFrame.from_dict(rows, orient="index", columns=list(_metric_functions()))


# Resamples are drawn and measured a block at a time, so that no temporary has more than
# about this many elements (8 MB of float64), whatever the number of test rows.
_BLOCK_ELEMENTS = 1 << 20


def _block_rows(n_rows: int, width: int) -> int:
    """How many resamples of ``width`` rows one block holds (at least one)."""
    return max(1, min(n_rows, _BLOCK_ELEMENTS // max(width, 1)))


def bootstrap_counts(n: int, n_bootstrap: int, rng: np.random.Generator) -> np.ndarray:
    """Multinomial resample counts, shape ``(n_bootstrap, n)``: row b says how often each
    test row appears in resample b.

    Stored compactly (``uint8``; wider only if some row is drawn more than 255 times in a
    resample) and drawn in blocks of resamples: the same numbers, from the same random
    stream, as one ``rng.multinomial(n, [1/n] * n, size=n_bootstrap)``."""
    out = np.zeros((n_bootstrap, n), dtype=np.uint8)
    if n == 0 or n_bootstrap == 0:
        return out
    p = np.full(n, 1.0 / n)
    step = _block_rows(n_bootstrap, n)
    for lo in range(0, n_bootstrap, step):
        block = rng.multinomial(n, p, size=min(step, n_bootstrap - lo))
        top = int(block.max())
        if top > np.iinfo(out.dtype).max:
            out = out.astype(np.min_scalar_type(top))
        out[lo : lo + len(block)] = block
        del block  # before the next block is drawn
    return out


def _safe_div(a: np.ndarray, b: np.ndarray, empty: float = math.nan) -> np.ndarray:
    """``a / b`` where ``b > 0``, else ``empty``."""
    out = np.full(np.broadcast_shapes(np.shape(a), np.shape(b)), empty)
    return np.divide(a, b, out=out, where=b > 0)


@dataclass(frozen=True)
class _Ranking:
    """The test rows by ascending score (stable), shared by every block of resamples."""

    order: np.ndarray  # row positions by ascending score
    starts: np.ndarray  # where each distinct score begins in ``order``
    positive: np.ndarray  # the outcome in ``order``
    predicted: np.ndarray  # the decision in ``order`` (as float, for the weighted counts)
    flip: slice | np.ndarray  # the distinct scores from high to low (NaN ones last, as met)

    @classmethod
    def of(cls, y: np.ndarray, pred: np.ndarray, score: np.ndarray) -> _Ranking:
        order = np.argsort(score, kind="mergesort")
        s = score[order]
        starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]]) if len(s) else order[:0]
        # each NaN score is a distinct score of its own, at the end in both directions
        n_nan = int(np.isnan(score).sum())
        flip: slice | np.ndarray = slice(None, None, -1)
        if n_nan:
            finite = len(starts) - n_nan
            flip = np.r_[np.arange(finite)[::-1], np.arange(finite, len(starts))]
        return cls(order, starts, y[order], pred[order].astype(float), flip)


def _per_score(Ws: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """The sums of ``Ws``'s columns over each distinct score (``Ws`` itself when every
    score is distinct)."""
    if len(starts) == Ws.shape[1]:
        return Ws
    return np.add.reduceat(Ws, starts, axis=1)


def _block_counts(
    rank: _Ranking, W: np.ndarray
) -> tuple[tuple[np.ndarray, ...], np.ndarray, np.ndarray]:
    """For a block of resamples ``W`` (k × n): the weighted confusion counts (tp, fp, fn,
    tn) and the weights of the positives and negatives per distinct score (k × U).

    Every number here is a sum of counts, an exact integer in float64, so it is the same
    whatever order it is summed in."""
    Ws = W[:, rank.order].astype(float)
    total = _per_score(Ws, rank.starts)
    selected = Ws @ rank.predicted
    Wp = Ws * rank.positive  # the positives only
    del Ws
    pos = _per_score(Wp, rank.starts)
    tp = Wp @ rank.predicted
    del Wp
    neg = total - pos
    del total
    fp = selected - tp
    fn = pos.sum(axis=1) - tp
    tn = neg.sum(axis=1) - fp
    return (tp, fp, fn, tn), pos, neg


def _auroc_rows(pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """AUROC of each resample from its weights per distinct score (ascending):
    ``sum(pos * (negatives below + neg / 2)) / (P * N)``."""
    below = np.cumsum(neg, axis=1)
    below -= neg
    below += 0.5 * neg
    below *= pos
    return _safe_div(below.sum(axis=1), pos.sum(axis=1) * neg.sum(axis=1))


def _average_precision_rows(pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """Average precision (PR-AUC, scikit-learn's step definition) of each resample from
    its weights per distinct score (thresholds from high to low):
    ``sum(pos / P * tp / (tp + fp))`` over the thresholds."""
    tp = np.cumsum(pos, axis=1)
    total = tp[:, -1:].copy() if tp.shape[1] else np.zeros((pos.shape[0], 1))
    seen = np.cumsum(neg, axis=1)
    seen += tp  # tp + fp
    precision = _safe_div(tp, seen, empty=0.0)
    del tp, seen
    step = _safe_div(pos, np.broadcast_to(total, pos.shape), empty=0.0)
    step *= precision
    ap = step.sum(axis=1)  # the one sum here that rounds: per resample, as before
    valid = (total[:, 0] > 0) & (neg.sum(axis=1) > 0)
    return np.where(valid, ap, np.nan)


def _resample_measures(rank: _Ranking, W: np.ndarray) -> list[np.ndarray]:
    """tp, fp, fn, tn, AUROC and average precision of every resample (rows of ``W``),
    worked out a block of resamples at a time."""
    parts: list[list[np.ndarray]] = [[] for _ in range(6)]
    step = _block_rows(W.shape[0], W.shape[1])
    for lo in range(0, W.shape[0], step):
        counts, pos, neg = _block_counts(rank, W[lo : lo + step])
        auroc = _auroc_rows(pos, neg)
        pos, neg = pos[:, rank.flip], neg[:, rank.flip]
        ap = _average_precision_rows(pos, neg)
        del pos, neg
        for part, values in zip(parts, (*counts, auroc, ap), strict=True):
            part.append(values)
    return [np.concatenate(p) if p else np.zeros(0) for p in parts]


def metrics_from_counts(
    y: np.ndarray, pred: np.ndarray, score: np.ndarray, W: np.ndarray
) -> dict[str, np.ndarray]:
    """Every metric of :data:`~mcrage_core.evaluation.results.METRICS` for each resample
    (rows of ``W``, resample counts of any integer type)."""
    y = np.asarray(y).astype(bool)
    pred = np.asarray(pred).astype(bool)
    rank = _Ranking.of(y, pred, np.asarray(score, dtype=float))
    tp, fp, fn, tn, auroc, pr_auc = _resample_measures(rank, np.asarray(W))
    n = tp + fp + fn + tn
    tpr = _safe_div(tp, tp + fn)  # NaN where a resample has no positive
    tnr = _safe_div(tn, tn + fp)
    with np.errstate(invalid="ignore"):
        balanced = np.where(np.isnan(tpr), tnr, np.where(np.isnan(tnr), tpr, (tpr + tnr) / 2))
    return {
        "accuracy": _safe_div(tp + tn, n),
        "balanced_accuracy": balanced,
        "f1": _safe_div(2 * tp, 2 * tp + fp + fn, empty=0.0),
        "auroc": auroc,
        "pr_auc": pr_auc,
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
