"""Per-group curves of the out-of-fold scores on the real rows: ROC curves, calibration
(reliability diagram) with the Brier score, and the effect of the decision threshold.

:func:`compute_curves` takes the pooled predictions (one row per strategy × repeat ×
real row) and returns four tidy tables, one row per point of a curve:

``roc``
    ``strategy, attribute, group, fpr, tpr, n, auroc``: the ROC curve pooled over the
    repeats, thinned to at most :data:`MAX_ROC_POINTS` points ((0, 0) and (1, 1) kept).
    Groups whose rows all have the same outcome have no ROC curve and are left out.
``calibration``
    ``strategy, attribute, group, bin, mean_predicted, observed_rate, n, ci_low,
    ci_high``: fixed bins of width ``1 / n_bins`` (empty bins left out); ``n`` is the rows
    in the bin per repeat and the Wilson interval of ``observed_rate`` rests on it (a
    repeat re-scores the same patients, so it adds no new people).
``brier``
    ``strategy, attribute, group, brier, ci_low, ci_high, n``: the mean squared error of
    the score against the outcome, with a percentile bootstrap interval over the patients.
    The resamples are the same for every strategy, so the intervals are comparable.
``threshold``
    ``strategy, attribute, group, threshold, selection_rate, tpr, fpr, ppv, f1, n``: the
    decisions ``score >= threshold`` for every threshold of the sweep, pooled over repeats.

``n`` is always the number of people (rows counted once per repeat). The group ``all``
of the attribute ``overall`` holds every row; rows without a group value (NaN) are left
out of that attribute only.

Examples
--------
>>> curves = compute_curves(preds, ["race", "sex"])  # doctest: +SKIP
>>> curves["brier"].query("attribute == 'race'")  # doctest: +SKIP
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm

from mcrage_core.evaluation.results import OVERALL
from mcrage_core.tables import sort_groups

__all__ = [
    "compute_curves",
    "CURVE_COLUMNS",
    "DEFAULT_THRESHOLDS",
    "MAX_ROC_POINTS",
    "OVERALL",
    "ALL_GROUP",
]

ALL_GROUP = "all"
MAX_ROC_POINTS = 101
"""Most points kept per ROC curve (enough to draw it, small enough to store)."""
DEFAULT_THRESHOLDS: tuple[float, ...] = tuple(
    float(t) for t in np.round(np.arange(0.05, 0.951, 0.05), 2)
)
_KEYS = ["strategy", "attribute", "group"]
CURVE_COLUMNS: dict[str, list[str]] = {
    "roc": [*_KEYS, "fpr", "tpr", "n", "auroc"],
    "calibration": [
        *_KEYS,
        *("bin", "mean_predicted", "observed_rate", "n", "ci_low", "ci_high"),
    ],
    "brier": [*_KEYS, "brier", "ci_low", "ci_high", "n"],
    "threshold": [*_KEYS, "threshold", "selection_rate", "tpr", "fpr", "ppv", "f1", "n"],
}
"""The columns of each table :func:`compute_curves` returns, in order."""
_REQUIRED = ("strategy", "repeat", "y", "score")
_BOOT_CELLS = 1 << 22


@dataclass(frozen=True)
class _Settings:
    n_bins: int
    thresholds: np.ndarray
    z: float
    confidence: float
    n_bootstrap: int
    seed: int


class _Table:
    """Columns of one output table, collected chunk by chunk (a chunk is one curve)."""

    def __init__(self, name: str, columns: list[str]) -> None:
        self.columns = columns
        self.types = {c: _dtype(name, c) for c in columns}
        self.chunks: dict[str, list[np.ndarray]] = {c: [] for c in columns}

    def add(self, length: int, **values: object) -> None:
        for col in self.columns:
            v = values[col]
            arr = np.asarray(v) if isinstance(v, np.ndarray) else np.full(length, v)
            self.chunks[col].append(arr)

    def frame(self) -> pd.DataFrame:
        if not self.chunks[self.columns[0]]:
            return pd.DataFrame({c: pd.Series(dtype=t) for c, t in self.types.items()})
        data = {c: np.concatenate(self.chunks[c]) for c in self.columns}
        if "int64" in self.types.values():
            data |= {c: np.rint(data[c]) for c, t in self.types.items() if t == "int64"}
        return pd.DataFrame(data).astype(self.types)


def _dtype(table: str, column: str) -> str:
    """Keys are text, bins and people counts whole numbers (per repeat: fractional in
    the calibration bins only), the rest floats."""
    if column in _KEYS:
        return "object"
    whole = column == "bin" or (column == "n" and table != "calibration")
    return "int64" if whole else "float64"


def _wilson(k: np.ndarray, n: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of ``k / n`` (element-wise; ``n`` may be fractional)."""
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # p = 0 or 1 is a bound up to rounding: keep the interval around p exactly
    return np.clip(centre - half, 0.0, p), np.clip(centre + half, p, 1.0)


def _roc_points(y_desc: np.ndarray, s_desc: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """FPR, TPR (thinned) and AUROC of scores sorted from highest to lowest."""
    last = np.r_[np.flatnonzero(np.diff(s_desc)), len(s_desc) - 1]  # end of each tie run
    tps = np.cumsum(y_desc)[last].astype(float)
    fps = (last + 1) - tps
    if len(tps) > 2:  # drop the points on a straight line between their neighbours
        keep = np.r_[True, np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), True]
        tps, fps = tps[keep], fps[keep]
    tps, fps = np.r_[0.0, tps], np.r_[0.0, fps]
    fpr, tpr = fps / fps[-1], tps / tps[-1]
    auroc = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))
    if len(fpr) > MAX_ROC_POINTS:  # evenly spaced along the curve (fpr + tpr runs 0 → 2)
        along = fpr + tpr
        pick = np.searchsorted(along, np.linspace(0.0, 2.0, MAX_ROC_POINTS), side="left")
        pick = np.unique(np.r_[0, np.minimum(pick, len(fpr) - 1), len(fpr) - 1])
        fpr, tpr = fpr[pick], tpr[pick]
    return fpr, tpr, auroc


def _threshold_metrics(
    y_asc: np.ndarray, s_asc: np.ndarray, thresholds: np.ndarray
) -> dict[str, np.ndarray]:
    """Selection rate, TPR, FPR, PPV and F1 of ``score >= t`` for every ``t`` (scores
    sorted from lowest to highest; NaN where a rate has no denominator)."""
    n, pos = len(y_asc), float(y_asc.sum())
    first = np.searchsorted(s_asc, thresholds, side="left")  # rows from here on are >= t
    cum = np.r_[0.0, np.cumsum(y_asc)]
    selected = (n - first).astype(float)
    tp = pos - cum[first]
    fp = selected - tp
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "selection_rate": selected / n,
            "tpr": tp / pos if pos else np.full(len(first), np.nan),
            "fpr": fp / (n - pos) if n - pos else np.full(len(first), np.nan),
            "ppv": np.where(selected > 0, tp / selected, np.nan),
            "f1": np.where(selected + pos > 0, 2 * tp / (selected + pos), np.nan),
        }


def _calibration(
    y: np.ndarray, score: np.ndarray, n_repeats: int, cfg: _Settings
) -> dict[str, np.ndarray]:
    """Mean score, observed rate, people and Wilson interval per non-empty bin."""
    bins = np.clip((score * cfg.n_bins).astype(int), 0, cfg.n_bins - 1)
    count = np.bincount(bins, minlength=cfg.n_bins).astype(float)
    sum_s = np.bincount(bins, weights=score, minlength=cfg.n_bins)
    sum_y = np.bincount(bins, weights=y, minlength=cfg.n_bins)
    keep = np.flatnonzero(count > 0)
    count, sum_s, sum_y = count[keep], sum_s[keep], sum_y[keep]
    observed = sum_y / count
    people = count / n_repeats
    low, high = _wilson(observed * people, people, cfg.z)
    return {
        "bin": keep,
        "mean_predicted": sum_s / count,
        "observed_rate": observed,
        "n": people,
        "ci_low": low,
        "ci_high": high,
    }


def _patient_errors(y: np.ndarray, score: np.ndarray, repeat: np.ndarray) -> np.ndarray:
    """Squared error per person, averaged over the repeats when every repeat holds the
    same number of rows of the group (in the same order, as the pipeline writes them);
    else per row."""
    err = (score - y) ** 2
    values, counts = np.unique(repeat, return_counts=True)
    if len(values) < 2 or not np.all(counts == counts[0]):
        return err
    if np.any(np.diff(repeat) < 0):  # the pipeline writes the repeats one after another
        err = err[np.argsort(repeat, kind="stable")]
    return err.reshape(len(values), counts[0]).mean(axis=0)


def _bootstrap_means(cfg: _Settings, attribute: str, group: str, errors: np.ndarray) -> np.ndarray:
    """Mean of each column of ``errors`` (people × strategies) in every bootstrap
    resample of the people (``n_bootstrap × strategies``). The resamples depend only on
    the seed, the group and its size, so they are the same for every strategy."""
    size = len(errors)
    key = zlib.crc32(f"{attribute}\x1f{group}".encode())
    rng = np.random.default_rng([cfg.seed, key, size])
    per = max(1, _BOOT_CELLS // size)  # resamples drawn at once (bounded memory)
    out = []
    for start in range(0, cfg.n_bootstrap, per):
        b = min(per, cfg.n_bootstrap - start)
        idx = rng.integers(0, size, size=(b, size)) + np.arange(b)[:, None] * size
        counts = np.bincount(idx.ravel(), minlength=b * size).reshape(b, size)
        out.append(counts.astype(float) @ errors / size)  # times drawn × error, per person
    return np.concatenate(out)


def _brier_rows(
    table: _Table, errors: dict[str, np.ndarray], people: dict[str, float], where: dict[str, str],
    cfg: _Settings,
) -> None:  # fmt: skip
    """Brier score of each strategy with its bootstrap interval (shared resamples)."""
    a = (1 - cfg.confidence) / 2
    for size in sorted({len(e) for e in errors.values()}):
        names = [s for s, e in errors.items() if len(e) == size]
        stacked = np.stack([errors[s] for s in names], axis=1)  # size × strategies
        if cfg.n_bootstrap > 0:
            reps = _bootstrap_means(cfg, where["attribute"], where["group"], stacked)
            low, high = np.quantile(reps, [a, 1 - a], axis=0)
        else:
            low = high = np.full(len(names), np.nan)
        for i, s in enumerate(names):
            table.add(
                1, strategy=s, **where, brier=float(stacked[:, i].mean()),
                ci_low=float(low[i]), ci_high=float(high[i]), n=people[s],
            )  # fmt: skip


def _one_curve(
    tables: dict[str, _Table], y_asc: np.ndarray, s_asc: np.ndarray, n_repeats: int,
    keys: dict[str, str], cfg: _Settings,
) -> None:  # fmt: skip
    """The ROC, calibration and threshold rows of one strategy's rows of one group
    (sorted by score, lowest first)."""
    people = len(y_asc) / n_repeats
    if 0 < y_asc.sum() < len(y_asc):
        fpr, tpr, auroc = _roc_points(y_asc[::-1], s_asc[::-1])
        tables["roc"].add(len(fpr), **keys, fpr=fpr, tpr=tpr, n=people, auroc=auroc)
    cal = _calibration(y_asc, s_asc, n_repeats, cfg)
    tables["calibration"].add(len(cal["bin"]), **keys, **cal)
    sweep = _threshold_metrics(y_asc, s_asc, cfg.thresholds)
    tables["threshold"].add(
        len(cfg.thresholds), **keys, threshold=cfg.thresholds, **sweep, n=people
    )


def _groups(labels: pd.Series) -> tuple[np.ndarray, list[tuple[int, str]]]:
    """Group code of every row (-1: unknown) and the (code, label) of each group in
    display order (largest first among labels without a natural order)."""
    known = labels.notna().to_numpy()
    codes, uniques = pd.factorize(labels.astype(str).where(known, None))
    names = [str(u) for u in uniques]
    counts = np.bincount(codes[codes >= 0], minlength=len(names))
    largest = [names[i] for i in np.argsort(-counts, kind="stable")]
    return codes, [(names.index(g), g) for g in sort_groups(largest)]


def _frame(preds: pd.DataFrame, attributes: Sequence[str]) -> pd.DataFrame:
    missing = [c for c in (*_REQUIRED, *attributes) if c not in preds.columns]
    if missing:
        raise ValueError(f"the predictions lack the column(s) {', '.join(missing)}")
    work = preds.loc[np.isfinite(preds["score"].to_numpy(dtype=float))]
    if "row" in work.columns:  # align the repeats person by person
        work = work.sort_values(["repeat", "row"], kind="stable")
    return work


def compute_curves(
    preds: pd.DataFrame,
    attributes: Sequence[str],
    *,
    n_bins: int = 10,
    thresholds: Sequence[float] | None = None,
    confidence: float = 0.95,
    n_bootstrap: int = 200,
    seed: int = 0,
) -> dict[str, pd.DataFrame]:
    """ROC, calibration, Brier and threshold tables per strategy × attribute × group.

    ``preds`` has the columns ``strategy``, ``repeat``, ``y`` (0/1), ``score`` (the
    predicted probability of the outcome) and one column per name in ``attributes``
    (group labels; NaN = unknown, left out for that attribute); optionally ``row`` (an
    id of the real row) to pair the repeats person by person — without it, every repeat
    must list a group's rows in the same order. Rows without a finite score are dropped.
    Returns the tables ``roc``, ``calibration``, ``brier`` and ``threshold`` described in
    the module docstring (columns :data:`CURVE_COLUMNS`), groups in display order.
    """
    cfg = _Settings(
        n_bins=int(n_bins),
        thresholds=np.asarray(DEFAULT_THRESHOLDS if thresholds is None else thresholds, float),
        z=float(norm.ppf(0.5 + confidence / 2)),
        confidence=float(confidence),
        n_bootstrap=int(n_bootstrap),
        seed=int(seed),
    )
    attrs = [a for a in dict.fromkeys(attributes) if a != OVERALL]
    work = _frame(preds, attrs)
    tables = {name: _Table(name, cols) for name, cols in CURVE_COLUMNS.items()}
    names = pd.unique(preds["strategy"].astype(str))  # in the order they come
    strategy = pd.Categorical(work["strategy"].astype(str), categories=names).codes
    y = work["y"].to_numpy().astype(int)
    score = work["score"].to_numpy(dtype=float)
    repeat = work["repeat"].to_numpy()
    rows = {str(s): np.flatnonzero(strategy == i) for i, s in enumerate(names)}
    repeats = {s: max(1, len(np.unique(repeat[i]))) for s, i in rows.items()}
    ranked = {s: i[np.argsort(score[i], kind="stable")] for s, i in rows.items()}  # sort once
    everyone = pd.Series(ALL_GROUP, index=work.index)
    for attribute in [OVERALL, *attrs]:
        codes, groups = _groups(everyone if attribute == OVERALL else work[attribute])
        for code, group in groups:
            in_group = codes == code
            keys = {"attribute": attribute, "group": group}
            errors, people = {}, {}
            for s, idx in rows.items():
                sel = idx[in_group[idx]]
                if not len(sel):
                    continue
                by_score = ranked[s][in_group[ranked[s]]]
                _one_curve(
                    tables, y[by_score], score[by_score], repeats[s], {"strategy": s, **keys}, cfg
                )
                errors[s] = _patient_errors(y[sel], score[sel], repeat[sel])
                people[s] = len(sel) / repeats[s]
            _brier_rows(tables["brier"], errors, people, keys, cfg)
    return {name: table.frame() for name, table in tables.items()}
