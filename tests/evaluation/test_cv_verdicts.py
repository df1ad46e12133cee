"""Repeated stratified cross-validation, the verdicts and their tests, the targeted plan
and the cap on synthetic rows — on real SUPPORT2 rows."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

import mcrage_core.rebalance.strategies as strategies_module
from mcrage_core.errors import ConfigError, DataError
from mcrage_core.evaluation import AuditConfig, AuditResults, run_audit
from mcrage_core.evaluation.judging import corrected_t, holm
from mcrage_core.evaluation.prepare import prepare
from mcrage_core.evaluation.split import split_folds
from mcrage_core.evaluation.targeting import make_plan
from mcrage_core.presentation.verdicts import verdict_paragraph
from mcrage_core.rebalance import (
    AugmentContext,
    Classifier,
    ModelData,
    Prediction,
    Strategy,
    plan_augmentation,
    register_strategy,
)
from mcrage_core.tables import infer_schema

TARGET = "died_within_6_months"
VERDICT_KEYS = {
    "strategy",
    "attribute",
    "group",
    "metric",
    "baseline",
    "value",
    "delta",
    "ci_low",
    "ci_high",
    "test",
    "verdict",
}


# ------------------------------------------------------------------ folds


def test_folds_cover_every_row_once_and_keep_the_strata(support2_df):
    strata = support2_df["race"].fillna("?").astype(str) + "|" + support2_df[TARGET].astype(str)
    folds = split_folds(strata, folds=5, seed=3)
    tested = np.concatenate([te for _, te in folds])
    assert sorted(tested) == list(range(len(strata)))
    for train, test in folds:
        assert not set(train) & set(test)
        # every stratum of 20+ rows is spread evenly (within one row of a fifth)
        full = strata.value_counts()
        part = strata.iloc[test].value_counts()
        for label, n in full[full >= 20].items():
            assert abs(part.get(label, 0) - n / 5) <= 1
    again = split_folds(strata, folds=5, seed=3)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(folds, again, strict=True))


def test_folds_merge_strata_smaller_than_the_folds_and_refuse_tiny_tables():
    strata = pd.Series(["a|0"] * 40 + ["a|1"] * 30 + ["b|1"] * 2)  # b|1 has 2 rows < 5 folds
    folds = split_folds(strata, folds=5, seed=0)
    assert sorted(np.concatenate([te for _, te in folds])) == list(range(72))
    with pytest.raises(DataError, match="at least 10"):
        split_folds(pd.Series(["a|0"] * 6 + ["a|1"] * 3), folds=5, seed=0)


# ------------------------------------------------------------------ the tests


def test_holm_adjusts_step_down_and_keeps_order():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5]) == [0.5]
    out = holm([0.2, float("nan"), 0.001])
    assert out[0] == pytest.approx(0.2) and math.isnan(out[1]) and out[2] == pytest.approx(0.002)


def test_corrected_t_is_wider_than_the_naive_t_test_by_the_overlap_term():
    rng = np.random.default_rng(0)
    diffs = rng.normal(0.02, 0.03, size=10)
    se, half, p = corrected_t(diffs, 0.25, 0.95)
    naive = diffs.std(ddof=1) / math.sqrt(10)
    assert se == pytest.approx(diffs.std(ddof=1) * math.sqrt(1 / 10 + 0.25))
    assert se > 1.8 * naive and 0 < p < 1 and half > se
    assert math.isnan(corrected_t([0.1, 0.2], 0.25, 0.95)[2])  # too few folds


# ------------------------------------------------------------------ verdicts end to end


class OracleForBlack(Strategy):
    """Knows the truth for black patients (a strategy that must be judged 'helped' there)
    and keeps the baseline's decisions for everyone else."""

    name = "oracle_black"
    label = "Oracle for black patients (test strategy)"
    uses_baseline_model = True

    def predict(self, model: Classifier, data: ModelData, *, context: AugmentContext) -> Prediction:
        score = model.predict_proba(data.X_test)[:, 1]
        black = (data.test["race"] == "black").to_numpy()
        truth = data.test[context.target].to_numpy().astype(float)
        score = np.where(black, truth, score)
        return Prediction(pred=(score >= data.threshold).astype(int), score=score)


@pytest.fixture(scope="module")
def oracle_audit(support2_df):
    saved = dict(strategies_module._REGISTRY)
    register_strategy(OracleForBlack)
    try:
        data, schema = infer_schema(support2_df.sample(3000, random_state=1), target=TARGET)
        config = AuditConfig(
            TARGET,
            sensitive=("race", "sex"),
            strategies=("none", "oracle_black"),
            classifier="logreg",
            folds=5,
            seeds=2,
            n_bootstrap=100,
        )
        yield run_audit(data, schema, config), config
    finally:
        strategies_module._REGISTRY.clear()
        strategies_module._REGISTRY.update(saved)


def test_verdicts_say_helped_where_a_strategy_helps_and_nothing_elsewhere(oracle_audit):
    results, config = oracle_audit
    v = results.verdicts
    race_f1 = v[(v["attribute"] == "race") & (v["metric"] == "f1")].set_index("group")
    black = race_f1.loc["black"]
    assert black["verdict"] == "helped" and black["ci_low"] > 0
    assert black["value"] == pytest.approx(1.0)
    assert black["test"].startswith("corrected resampled t-test")  # large enough per fold
    white = race_f1.loc["white"]
    assert white["verdict"] == "no measurable change" and white["delta"] == pytest.approx(0)
    assert (v["p_adjusted"] >= v["p_value"] - 1e-12).all()  # Holm never lowers a p-value
    # groups below small_group pooled test rows are not judged
    small = results.by_group("race")
    small = set(small[small["n"] < config.small_group]["group"])
    assert not small & set(race_f1.index)
    # the intersection of the first two attributes is evaluated too
    assert "race × sex" in set(results.metrics["attribute"])
    assert set(v["verdict"]) <= {"helped", "no measurable change", "hurt"}


def test_results_json_carries_the_verdicts_with_the_promised_keys(oracle_audit):
    results, _ = oracle_audit
    data = json.loads(results.to_json())
    assert data["verdicts"] and all(set(e) >= VERDICT_KEYS for e in data["verdicts"])
    again = AuditResults.from_json(results.to_json())
    pd.testing.assert_frame_equal(again.verdicts, results.verdicts)


def test_the_paragraph_states_the_numbers_of_the_verdicts(oracle_audit):
    results, _ = oracle_audit
    text = verdict_paragraph(results)
    v = results.verdicts
    black = v[(v["attribute"] == "race") & (v["metric"] == "f1") & (v["group"] == "black")].iloc[0]
    assert "For black patients" in text and "helped" in text
    assert f"from {black['baseline']:.2f} to {black['value']:.2f}" in text
    assert f"95 % CI {black['ci_low']:+.2f} to {black['ci_high']:+.2f}" in text
    assert "Too few patients to judge" in text or (results.by_group("race")["n"] >= 30).all()


# ------------------------------------------------------------------ plans


def test_the_cap_limits_synthetic_rows_per_group(support2_df):
    plan = plan_augmentation(support2_df, rebalance=["race"], target=TARGET, max_ratio=1.0)
    per_group = plan.groupby("race")[["n_real", "n_add"]].sum()
    assert (per_group["n_add"] <= per_group["n_real"]).all()
    assert plan.loc[plan["race"] == "asian", "capped"].all()
    free = plan_augmentation(support2_df, rebalance=["race"], target=TARGET)
    assert "capped" not in free.columns and free["n_add"].sum() > plan["n_add"].sum()
    with pytest.raises(ConfigError, match="above 0"):
        plan_augmentation(support2_df, rebalance=["race"], target=TARGET, max_ratio=0)


def test_targeted_plan_raises_only_the_worst_groups_with_a_reason(support2_df):
    data, schema = infer_schema(support2_df, target=TARGET)
    config = AuditConfig(
        TARGET, sensitive=("race",), plan_mode="targeted", plan_worst=2, classifier="logreg"
    )
    prep = prepare(data, schema, config)
    train = prep.df.sample(frac=0.8, random_state=0)
    plan = make_plan(prep, train, config, config.make_strategies())
    raised = set(plan.loc[plan["n_add"] > 0, "race"])
    assert 1 <= len(raised) <= 2
    assert "white" not in raised  # the largest group is never targeted
    assert plan["reason"].str.len().gt(0).all()
    for _, row in plan.iterrows():
        assert row["reason"].startswith("targeted" if row["race"] in raised else "not ")
    sizes = plan.groupby("race")[["n_real", "n_add"]].sum()
    assert (sizes["n_add"] <= sizes["n_real"]).all()  # the default cap: 1 synthetic per real


def test_bootstrap_p_values_are_fine_enough_for_holm():
    from mcrage_core.evaluation.judging import _boot_p

    rng = np.random.default_rng(0)
    d = rng.normal(0.05, 0.01, size=200)  # a clear change: 5 standard errors
    p = _boot_p(0.05, d)
    assert p < 1e-4  # a percentile count of 200 replicates could not go below 0.01
    assert holm([p] * 10)[0] < 0.05  # still clear after correcting for 10 groups
    assert _boot_p(0.0, np.zeros(50)) == 1.0 and math.isnan(_boot_p(0.1, np.array([1.0])))
