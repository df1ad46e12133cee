"""Per-group ROC, calibration, Brier and threshold tables agree with their definitions
and with scikit-learn; unknown groups and one-outcome groups are handled."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score

from mcrage_core.evaluation.curves import (
    CURVE_COLUMNS,
    DEFAULT_THRESHOLDS,
    MAX_ROC_POINTS,
    compute_curves,
)

TARGET = "died_within_6_months"
FEATURES = ["age", "num_comorbidities", "physiology_score", "coma_score", "mean_blood_pressure"]


def _preds(y, scores_by_repeat, groups, strategy="none", **extra):
    """Pooled predictions: the same rows once per repeat."""
    frames = []
    for repeat, score in enumerate(scores_by_repeat):
        frame = pd.DataFrame(
            {"strategy": strategy, "repeat": repeat, "y": y, "score": score, **groups, **extra}
        )
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def support2_preds(support2_df):
    """Two repeats of a quick logistic regression on 1,500 real SUPPORT2 rows."""
    df = support2_df.sample(n=1500, random_state=0).reset_index(drop=True)
    x = df[FEATURES].fillna(df[FEATURES].median())
    x = (x - x.mean()) / x.std()
    y = df[TARGET].to_numpy().astype(int)
    scores = [
        LogisticRegression(C=c, max_iter=500).fit(x, y).predict_proba(x)[:, 1] for c in (1.0, 0.01)
    ]
    race = df["race"].astype(object).where(df["race"].notna(), np.nan)
    return _preds(y, scores, {"race": race})


def test_tables_have_the_agreed_columns_and_plain_types(support2_preds):
    curves = compute_curves(support2_preds, ["race"], n_bootstrap=50)
    assert set(curves) == set(CURVE_COLUMNS)
    for name, frame in curves.items():
        assert list(frame.columns) == CURVE_COLUMNS[name]
        assert len(frame)
        keys = frame[["strategy", "attribute", "group"]]
        assert keys.notna().all().all()
        assert all(isinstance(v, str) for v in keys.to_numpy().ravel())
    assert curves["calibration"]["bin"].dtype == np.int64
    assert curves["brier"]["n"].dtype == np.int64
    overall = curves["brier"].query("attribute == 'overall'")
    assert overall["group"].tolist() == ["all"]
    assert overall["n"].iloc[0] == 1500  # counted once per repeat


def test_roc_matches_sklearn_and_runs_from_corner_to_corner(support2_preds):
    roc = compute_curves(support2_preds, ["race"], n_bootstrap=0)["roc"]
    for (attribute, group), curve in roc.groupby(["attribute", "group"]):
        rows = support2_preds
        if attribute == "race":
            rows = rows[rows["race"] == group]
        assert curve["auroc"].iloc[0] == pytest.approx(roc_auc_score(rows["y"], rows["score"]))
        assert len(curve) <= MAX_ROC_POINTS + 2
        assert (curve[["fpr", "tpr"]].iloc[0].to_numpy() == [0, 0]).all()
        assert (curve[["fpr", "tpr"]].iloc[-1].to_numpy() == [1, 1]).all()
        assert (np.diff(curve["fpr"]) >= 0).all() and (np.diff(curve["tpr"]) >= 0).all()
        assert curve["n"].iloc[0] == len(rows) // 2


def test_a_perfect_scorer_has_auroc_one_and_passes_through_the_top_left_corner():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 2000)
    score = np.where(y == 1, 0.6 + 0.4 * rng.random(2000), 0.4 * rng.random(2000))
    groups = {"sex": rng.choice(["female", "male"], 2000)}
    roc = compute_curves(_preds(y, [score, score], groups), ["sex"], n_bootstrap=0)["roc"]
    for _, curve in roc.groupby(["attribute", "group"]):
        assert curve["auroc"].iloc[0] == pytest.approx(1.0)
        assert ((curve["fpr"] == 0) & (curve["tpr"] == 1)).any()


def test_a_calibrated_scorer_is_observed_as_predicted():
    rng = np.random.default_rng(1)
    score = rng.random(20_000)
    y = (rng.random(20_000) < score).astype(int)
    curves = compute_curves(_preds(y, [score], {}), [], n_bootstrap=200)
    cal = curves["calibration"]
    assert cal["bin"].tolist() == list(range(10))
    inside = (cal["ci_low"] <= cal["mean_predicted"]) & (cal["mean_predicted"] <= cal["ci_high"])
    assert inside.sum() >= 8
    assert np.abs(cal["observed_rate"] - cal["mean_predicted"]).max() < 0.04
    assert cal["n"].sum() == 20_000
    brier = curves["brier"].iloc[0]
    assert brier["brier"] == pytest.approx(1 / 6, abs=0.01)  # E[s(1 - s)], s ~ U(0, 1)
    assert brier["ci_low"] < brier["brier"] < brier["ci_high"]
    assert brier["ci_high"] - brier["ci_low"] < 0.01


def test_calibration_bins_count_people_per_repeat_and_drop_empty_bins():
    y = np.array([0, 1, 0, 1])
    score = np.array([0.05, 0.12, 0.18, 0.95])
    cal = compute_curves(_preds(y, [score, score, score], {}), [], n_bootstrap=0)["calibration"]
    assert cal["bin"].tolist() == [0, 1, 9]
    assert cal["n"].tolist() == [1.0, 2.0, 1.0]
    assert cal["observed_rate"].tolist() == [0.0, 0.5, 1.0]
    assert cal["mean_predicted"].tolist() == pytest.approx([0.05, 0.15, 0.95])


def test_threshold_metrics_equal_sklearn_on_pooled_decisions(support2_preds):
    sweep = compute_curves(support2_preds, ["race"], n_bootstrap=0)["threshold"]
    assert sorted(set(sweep["threshold"])) == list(DEFAULT_THRESHOLDS)
    for group in ("white", "black"):
        rows = support2_preds[support2_preds["race"] == group]
        mine = sweep[(sweep["attribute"] == "race") & (sweep["group"] == group)]
        for t in (0.2, 0.35, 0.5, 0.7):
            got = mine[mine["threshold"] == t].iloc[0]
            y, pred = rows["y"].to_numpy(), (rows["score"] >= t).to_numpy().astype(int)
            assert got["selection_rate"] == pytest.approx(pred.mean())
            assert got["tpr"] == pytest.approx(recall_score(y, pred))
            assert got["fpr"] == pytest.approx(pred[y == 0].mean())
            assert got["ppv"] == pytest.approx(precision_score(y, pred, zero_division=np.nan))
            assert got["f1"] == pytest.approx(f1_score(y, pred))
            assert got["n"] == len(rows) // 2


def test_threshold_exactly_at_a_score_counts_as_positive():
    y = np.array([0, 1, 1, 0])
    score = np.array([0.2, 0.5, 0.8, 0.5])
    sweep = compute_curves(_preds(y, [score], {}), [], thresholds=[0.5], n_bootstrap=0)
    got = sweep["threshold"].iloc[0]
    assert got["selection_rate"] == 0.75
    assert got["tpr"] == 1.0 and got["fpr"] == 0.5 and got["ppv"] == pytest.approx(2 / 3)


def test_groups_with_one_outcome_are_left_out_of_the_roc_only():
    rng = np.random.default_rng(2)
    y = np.r_[rng.integers(0, 2, 300), np.zeros(40, dtype=int)]
    score = rng.random(340)
    groups = {"site": np.r_[np.repeat(["a", "b"], 150), np.repeat("c", 40)]}
    curves = compute_curves(_preds(y, [score], groups), ["site"], n_bootstrap=20)
    site = {k: set(f.loc[f["attribute"] == "site", "group"]) for k, f in curves.items()}
    assert site["roc"] == {"a", "b"}
    assert site["calibration"] == site["brier"] == site["threshold"] == {"a", "b", "c"}
    c = curves["threshold"].query("group == 'c'")
    assert c["tpr"].isna().all() and c["fpr"].notna().all()


def test_unknown_groups_are_left_out_of_their_attribute_only(support2_preds):
    n_known = support2_preds["race"].notna().sum() // 2
    assert n_known < 1500  # the sample has people without a race
    brier = compute_curves(support2_preds, ["race"], n_bootstrap=20)["brier"]
    race = brier[brier["attribute"] == "race"]
    assert not race["group"].isin(["nan", "None", "<NA>"]).any()
    assert race["n"].sum() == n_known
    assert brier.query("attribute == 'overall'")["n"].iloc[0] == 1500


def test_identical_strategies_get_identical_brier_intervals(support2_preds):
    twin = support2_preds.assign(strategy="oversample")
    other = support2_preds.assign(strategy="smote", score=support2_preds["score"] ** 1.5)
    both = compute_curves(pd.concat([support2_preds, twin, other]), ["race"], n_bootstrap=100)
    brier = both["brier"].set_index(["strategy", "attribute", "group"])
    cols = ["brier", "ci_low", "ci_high", "n"]
    np.testing.assert_allclose(brier.loc["none"][cols], brier.loc["oversample"][cols], rtol=1e-12)
    alone = compute_curves(support2_preds, ["race"], n_bootstrap=100)["brier"]
    # the resamples do not depend on which other strategies are in the run
    assert alone["ci_low"].tolist() == pytest.approx(
        brier.loc["none"]["ci_low"].tolist(), rel=1e-12
    )
    assert (brier.loc["smote"]["ci_low"] != brier.loc["none"]["ci_low"]).all()


def test_repeats_are_paired_by_row_when_the_rows_carry_their_id(support2_preds):
    rows = support2_preds.assign(row=np.tile(np.arange(1500), 2))
    ordered = compute_curves(rows, ["race"], n_bootstrap=50)["brier"]
    shuffled = rows.sample(frac=1.0, random_state=3)
    again = compute_curves(shuffled, ["race"], n_bootstrap=50)["brier"]
    pd.testing.assert_frame_equal(ordered, again)


def test_strategies_keep_their_order_and_missing_columns_are_named(support2_preds):
    later = support2_preds.assign(strategy="cddpm")
    curves = compute_curves(pd.concat([later, support2_preds]), ["race"], n_bootstrap=0)
    assert list(dict.fromkeys(curves["roc"]["strategy"])) == ["cddpm", "none"]
    with pytest.raises(ValueError, match="sex"):
        compute_curves(support2_preds, ["race", "sex"])


def test_no_rows_give_empty_tables_with_the_columns():
    empty = pd.DataFrame({c: [] for c in ("strategy", "repeat", "y", "score", "race")})
    curves = compute_curves(empty, ["race"])
    for name, frame in curves.items():
        assert frame.empty and list(frame.columns) == CURVE_COLUMNS[name]
