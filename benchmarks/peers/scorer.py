"""The one scorer of the peer benchmark, applied identically to every generator.

Per group (real side: that group's real training rows; synthetic side: that group's
generated rows):

* **column shape**: for each column, the KS complement (numbers, on their non-missing
  values) or the total-variation complement (categories, missing as a category), times
  ``1 - |missing_real - missing_synthetic|``; the mean over columns. 1 = same marginals.
* **correlation similarity**: :func:`mcrage_core.fidelity.columns.pair_trends` (Spearman
  correlations between numbers, contingency tables for every other pair); 1 = same.
* **detection AUC**: :func:`mcrage_core.fidelity.detection.detection_auc`, a
  gradient-boosting classifier with 3-fold stratified cross-validation telling real from
  synthetic rows (0.5 = indistinguishable).
* **exact copies**: generated rows identical to any real row (training or hold-out).

Downstream (:func:`downstream`): one classifier trained on the real training rows alone
and one on those rows plus a generator's rows, both tested on the real hold-out; per group
F1 and AUROC and the equalized-odds difference, each as augmented minus baseline with a
paired bootstrap interval (the same resamples of the hold-out for both models).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp

from mcrage_core.fidelity.columns import as_float, as_labels, column_kinds, pair_trends
from mcrage_core.fidelity.detection import detection_auc
from mcrage_core.fidelity.privacy import row_hashes

__all__ = ["column_shape", "downstream", "score_group"]


def _shape_one(real: pd.Series, synth: pd.Series, kind: str) -> float:
    if kind == "numeric":
        a, b = as_float(real), as_float(synth)
        a, b = a[~np.isnan(a)], b[~np.isnan(b)]
        if a.size == 0 or b.size == 0:
            base = float(a.size == b.size)
        else:
            base = 1.0 - float(ks_2samp(a, b).statistic)
    else:
        pa = as_labels(real).value_counts(normalize=True)
        pb = as_labels(synth).value_counts(normalize=True)
        idx = pa.index.union(pb.index)
        tv = 0.5 * np.abs(pa.reindex(idx, fill_value=0) - pb.reindex(idx, fill_value=0)).sum()
        base = 1.0 - float(tv)
    return base * (1.0 - abs(float(real.isna().mean()) - float(synth.isna().mean())))


def column_shape(real: pd.DataFrame, synth: pd.DataFrame, kinds: dict[str, str]) -> float:
    """Mean over columns of the marginal similarity with its missing-rate term."""
    if len(real) == 0 or len(synth) == 0:
        return math.nan
    return float(np.mean([_shape_one(real[c], synth[c], k) for c, k in kinds.items()]))


def score_group(
    real: pd.DataFrame,
    synth: pd.DataFrame,
    *,
    real_all: pd.DataFrame,
    skip: Sequence[str] = (),
    seed: int = 0,
) -> dict[str, float]:
    """Every fidelity score of one group (``skip``: columns constant within the group)."""
    cols = [c for c in real.columns if c in synth.columns and c not in skip]
    kinds = column_kinds(real_all, cols)
    hashes = set(row_hashes(real_all, cols).tolist())
    copies = sum(h in hashes for h in row_hashes(synth, cols).tolist())
    return {
        "column_shape": column_shape(real, synth, kinds),
        "correlation_similarity": pair_trends(real, synth, kinds, real_all),
        "detection_auc": detection_auc(real, synth, kinds, seed=seed, max_rows=20000),
        "exact_copies": int(copies),
        "n_real": len(real),
        "n_synthetic": len(synth),
    }


def _features(frames: list[pd.DataFrame], target: str) -> list[pd.DataFrame]:
    """One-hot categories (shared levels), numbers as floats with NaN kept."""
    joined = pd.concat(frames, keys=range(len(frames)))
    x = joined.drop(columns=[target])
    numeric = [c for c in x.columns if pd.api.types.is_numeric_dtype(x[c])]
    other = [c for c in x.columns if c not in numeric]
    parts = [x[numeric].astype(float)]
    if other:
        parts.append(pd.get_dummies(x[other].astype(str), dtype=float))
    full = pd.concat(parts, axis=1)
    return [full.xs(i) for i in range(len(frames))]


def _group_scores(
    y: np.ndarray, p: np.ndarray, groups: np.ndarray, w: np.ndarray, g: object
) -> tuple[float, float]:
    from sklearn.metrics import f1_score, roc_auc_score

    m = groups == g
    yy, pp, ww = y[m], p[m], w[m]
    keep = ww > 0
    if len(np.unique(yy[keep])) < 2:
        return math.nan, math.nan
    f1 = f1_score(yy, pp >= 0.5, sample_weight=ww, zero_division=0)
    return float(f1), float(roc_auc_score(yy, pp, sample_weight=ww))


def _eod(y: np.ndarray, p: np.ndarray, groups: np.ndarray, w: np.ndarray) -> float:
    """Equalized-odds difference (fairlearn's definition) with resample weights."""
    pred = p >= 0.5
    tpr, fpr = [], []
    for g in np.unique(groups):
        m = groups == g
        pos, neg = m & (y == 1), m & (y == 0)
        if w[pos].sum() == 0 or w[neg].sum() == 0:
            continue
        tpr.append((w[pos] * pred[pos]).sum() / w[pos].sum())
        fpr.append((w[neg] * pred[neg]).sum() / w[neg].sum())
    if len(tpr) < 2:
        return math.nan
    return float(max(max(tpr) - min(tpr), max(fpr) - min(fpr)))


def downstream(
    train: pd.DataFrame,
    synth: pd.DataFrame,
    hold: pd.DataFrame,
    *,
    group: str,
    target: str,
    positive: object,
    seed: int,
    n_boot: int = 200,
) -> list[dict[str, object]]:
    """Per group and overall: augmented minus baseline F1, AUROC and equalized-odds
    difference with paired 95 % bootstrap intervals over hold-out resamples."""
    from fairlearn.metrics import equalized_odds_difference
    from sklearn.ensemble import HistGradientBoostingClassifier

    cols = [c for c in train.columns]
    x_tr, x_aug, x_te = _features(
        [train[cols], pd.concat([train, synth])[cols], hold[cols]], target
    )
    y_tr = (train[target] == positive).to_numpy(int)
    y_aug = (pd.concat([train, synth])[target] == positive).to_numpy(int)
    y_te = (hold[target] == positive).to_numpy(int)
    probs = []
    for x, y in ((x_tr, y_tr), (x_aug, y_aug)):
        clf = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, random_state=seed)
        probs.append(clf.fit(x, y).predict_proba(x_te)[:, 1])
    groups = hold[group].astype(str).to_numpy()
    rng = np.random.default_rng(seed)
    weights = [np.ones(len(hold))] + [
        rng.multinomial(len(hold), np.full(len(hold), 1 / len(hold))) for _ in range(n_boot)
    ]
    rows = []
    for g in sorted(set(groups)):
        n = int((groups == g).sum())
        deltas = np.array(
            [
                np.subtract(*[_group_scores(y_te, p, groups, w, g) for p in probs[::-1]])
                for w in weights
            ]
        )
        row: dict[str, object] = {"group": g, "n_holdout": n}
        for j, name in enumerate(("f1", "auroc")):
            row[f"delta_{name}"] = deltas[0, j]
            row[f"delta_{name}_ci"] = tuple(np.nanpercentile(deltas[1:, j], [2.5, 97.5]))
        rows.append(row)
    eod = np.array(
        [_eod(y_te, probs[1], groups, w) - _eod(y_te, probs[0], groups, w) for w in weights]
    )
    check = equalized_odds_difference(y_te, probs[0] >= 0.5, sensitive_features=groups)
    assert math.isclose(check, _eod(y_te, probs[0], groups, weights[0]), abs_tol=1e-9)
    rows.append(
        {
            "group": "equalized-odds difference",
            "n_holdout": len(hold),
            "baseline_eod": _eod(y_te, probs[0], groups, weights[0]),
            "delta_eod": eod[0],
            "delta_eod_ci": tuple(np.nanpercentile(eod[1:], [2.5, 97.5])),
        }
    )
    return rows
