"""Detection: how well a classifier tells synthetic rows from real ones.

* **detection AUC** - ROC AUC of a gradient-boosting classifier (scikit-learn
  ``HistGradientBoostingClassifier``, 3-fold cross-validation): 0.5 means
  indistinguishable, 1.0 trivially fake.
* **stratified** - with groups, the overall AUC is the mean of the within-group AUCs
  (:func:`stratify_detection`); a detector trained across groups mostly learns that the
  synthetic rows come from the small groups.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from mcrage_core.fidelity.columns import ColumnKinds, as_float, as_labels

__all__ = ["MIN_GROUP_DETECTION", "detection_auc", "stratify_detection"]

MIN_GROUP_DETECTION = 50
"""Rows per side below which no per-group detection AUC is fitted."""


def _detection_frame(frames: list[pd.DataFrame], kinds: ColumnKinds) -> list[pd.DataFrame]:
    out: list[dict[str, np.ndarray | pd.Categorical]] = [{} for _ in frames]
    for c, kind in kinds.items():
        if kind == "numeric":
            for i, f in enumerate(frames):
                out[i][c] = as_float(f[c])
        else:
            labels = [as_labels(f[c]) for f in frames]
            cats = pd.unique(pd.concat(labels, ignore_index=True))
            if len(cats) > 250:
                continue
            for i, lab in enumerate(labels):
                out[i][c] = pd.Categorical(lab.to_numpy(), categories=cats)
    return [pd.DataFrame(o) for o in out]


def detection_auc(
    real: pd.DataFrame, synth: pd.DataFrame, kinds: ColumnKinds, *, seed: int, max_rows: int
) -> float:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from threadpoolctl import threadpool_limits

    if min(len(real), len(synth)) < 10 or not kinds:
        return math.nan
    rng = np.random.default_rng(seed)
    r = real.iloc[rng.permutation(len(real))[:max_rows]]
    s = synth.iloc[rng.permutation(len(synth))[:max_rows]]
    xr, xs = _detection_frame([r, s], kinds)
    if xr.shape[1] == 0:
        return math.nan
    x = pd.concat([xr, xs], ignore_index=True)
    y = np.r_[np.zeros(len(xr), dtype=int), np.ones(len(xs), dtype=int)]
    n_splits = int(min(3, np.bincount(y).min()))
    if n_splits < 2:
        return math.nan
    clf = HistGradientBoostingClassifier(
        max_iter=60,
        max_leaf_nodes=15,
        categorical_features="from_dtype",
        early_stopping=False,
        random_state=seed,
    )
    cv = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    # one OpenMP thread: on small tables it is as fast, and on a shared CPU it avoids
    # the many-fold slow-down of spinning threads (scoped; restored afterwards)
    with threadpool_limits(limits=1, user_api="openmp"):
        proba = cross_val_predict(clf, x, y, cv=cv, method="predict_proba")[:, 1]
    return float(roc_auc_score(y, proba))


def stratify_detection(overall: dict[str, Any], by_group: pd.DataFrame) -> None:
    """Overall detection AUC as the mean of the within-group AUCs (weighted by synthetic
    rows). A detector trained across groups mostly learns that the synthetic rows come
    from the small groups, which says nothing about their realism."""
    overall["detection_auc_pooled"] = overall.get("detection_auc")
    auc = pd.to_numeric(by_group["detection_auc"], errors="coerce")
    n = pd.to_numeric(by_group["n_synthetic"], errors="coerce").fillna(0)
    ok = auc.notna() & (n > 0)
    if ok.any():
        overall["detection_auc"] = float(np.average(auc[ok], weights=n[ok]))
        overall["detection_auc_method"] = (
            f"within groups: mean of {int(ok.sum())} group AUC(s), weighted by synthetic rows "
            f"({int(n[ok].sum())} of {int(n.sum())} rows; groups under "
            f"{MIN_GROUP_DETECTION} rows are not tested)"
        )
    else:
        overall["detection_auc_method"] = (
            f"pooled across groups (every group has fewer than {MIN_GROUP_DETECTION} rows)"
        )
