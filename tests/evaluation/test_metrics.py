"""Vectorised bootstrap metrics agree with scikit-learn and fairlearn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, recall_score, roc_auc_score

from mcrage_core.evaluation import bootstrap_counts, group_metrics, metrics_from_counts


@pytest.fixture(scope="module")
def predictions():
    rng = np.random.default_rng(7)
    y = rng.integers(0, 2, 300)
    score = np.round(np.clip(0.3 * y + rng.normal(0.35, 0.25, 300), 0, 1), 1)  # with ties
    pred = (score >= 0.5).astype(int)
    groups = rng.choice(["a", "b", "c"], 300, p=[0.6, 0.3, 0.1])
    return y, pred, score, groups


def test_identity_resample_matches_sklearn(predictions):
    y, pred, score, _ = predictions
    W = np.ones((1, len(y)), dtype=np.int32)
    m = metrics_from_counts(y, pred, score, W)
    assert m["accuracy"][0] == pytest.approx(accuracy_score(y, pred))
    assert m["f1"][0] == pytest.approx(f1_score(y, pred))
    assert m["auroc"][0] == pytest.approx(roc_auc_score(y, score))
    assert m["tpr"][0] == pytest.approx(recall_score(y, pred))
    assert m["fpr"][0] == pytest.approx(((pred == 1) & (y == 0)).sum() / (y == 0).sum())
    assert m["selection_rate"][0] == pytest.approx(pred.mean())


def test_resample_counts_equal_explicit_resampling(predictions):
    y, pred, score, _ = predictions
    W = bootstrap_counts(len(y), 5, np.random.default_rng(0))
    assert (W.sum(axis=1) == len(y)).all()
    m = metrics_from_counts(y, pred, score, W)
    for b in range(5):
        idx = np.repeat(np.arange(len(y)), W[b])
        assert m["auroc"][b] == pytest.approx(roc_auc_score(y[idx], score[idx]))
        assert m["f1"][b] == pytest.approx(f1_score(y[idx], pred[idx]))


def test_single_class_resample_gives_missing_auroc():
    y = np.array([1, 1, 1, 0])
    W = np.array([[1, 1, 2, 0]])
    m = metrics_from_counts(y, np.array([1, 0, 1, 0]), np.array([0.9, 0.2, 0.8, 0.1]), W)
    assert np.isnan(m["auroc"][0])


def test_metric_frame_gives_group_numbers_and_counts(predictions):
    y, pred, score, groups = predictions
    mf = group_metrics(y, pred, score, groups)
    table = mf.by_group
    assert table["n"].sum() == len(y)
    for g in ("a", "b", "c"):
        sel = groups == g
        assert table.loc[g, "n"] == sel.sum()
        assert table.loc[g, "auroc"] == pytest.approx(roc_auc_score(y[sel], score[sel]))
        assert table.loc[g, "accuracy"] == pytest.approx(accuracy_score(y[sel], pred[sel]))
