"""Each rebalancing strategy follows the same plan."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mcrage_core.errors import ConfigError
from mcrage_core.rebalance import AugmentContext, get_strategy, plan_augmentation

TARGET = "died_within_6_months"


@pytest.fixture(scope="module")
def setup(support2_small):
    train = support2_small.reset_index(drop=True)
    plan = plan_augmentation(train, rebalance=["race"], target=TARGET)
    features = tuple(c for c in train.columns if c != TARGET)
    ctx = AugmentContext(target=TARGET, features=features, rebalance=("race",), seed=3)
    return train, plan, ctx


def _added_per_cell(frame: pd.DataFrame) -> pd.Series:
    return frame.groupby(["race", TARGET]).size()


def _planned(plan: pd.DataFrame) -> pd.Series:
    p = plan[plan["n_add"] > 0]
    return p.set_index(["race", TARGET])["n_add"]


@pytest.mark.parametrize("name", ["oversample", "smote"])
def test_row_adding_strategies_follow_the_plan(setup, name):
    train, plan, ctx = setup
    aug = get_strategy(name).augment(train, plan, context=ctx)
    planned = _planned(plan)
    got = _added_per_cell(aug.synthetic).reindex(planned.index)
    assert (got == planned).all()
    assert len(aug.train) == len(train) + planned.sum()
    assert list(aug.synthetic.columns) == list(train.columns)
    # the real rows come first, untouched
    pd.testing.assert_frame_equal(aug.train.iloc[: len(train)], train)


def test_oversampled_rows_are_copies_from_their_own_cell(setup):
    train, plan, ctx = setup
    aug = get_strategy("oversample").augment(train, plan, context=ctx)
    key = ["age", "race", TARGET, "physiology_score"]
    real_keys = set(map(tuple, train[key].astype(str).to_numpy()))
    synth_keys = set(map(tuple, aug.synthetic[key].astype(str).to_numpy()))
    assert synth_keys <= real_keys


def test_smote_rows_lie_between_real_rows_of_the_same_cell(setup):
    train, plan, ctx = setup
    aug = get_strategy("smote").augment(train, plan, context=ctx)
    synth = aug.synthetic
    assert synth["age"].notna().all()  # imputed before interpolation
    for (race, y), rows in synth.groupby(["race", TARGET]):
        cell = train[(train["race"] == race) & (train[TARGET] == y)]
        lo, hi = cell["age"].min(), cell["age"].max()
        assert rows["age"].between(lo - 1e-9, hi + 1e-9).all()
        assert set(rows["sex"]) <= set(cell["sex"])
    assert any("missing values were filled in" in w for w in aug.warnings)


def test_reweigh_adds_weights_not_rows(setup):
    train, plan, ctx = setup
    aug = get_strategy("reweigh").augment(train, plan, context=ctx)
    assert aug.n_added == 0 and len(aug.train) == len(train)
    w = pd.Series(aug.sample_weight)
    per_cell = w.groupby([train["race"], train[TARGET]]).sum()
    wanted = (plan["n_real"] + plan["n_add"]).to_numpy()
    assert np.allclose(per_cell.reindex(pd.MultiIndex.from_frame(plan[["race", TARGET]])), wanted)
    assert (w[train["race"].isna()] == 1).all()


@pytest.mark.parametrize("name", ["none", "threshold"])
def test_baseline_and_threshold_train_on_real_rows_only(setup, name):
    train, plan, ctx = setup
    aug = get_strategy(name).augment(train, plan, context=ctx)
    assert aug.n_added == 0 and aug.sample_weight is None
    pd.testing.assert_frame_equal(aug.train, train)


def test_unknown_strategy_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown strategy"):
        get_strategy("gan")


# --------------------------------------------------------------------------- threshold


def _threshold_table(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 400
    group = rng.choice(["a", "b", "c"], size=n, p=[0.5, 0.3, 0.2])
    x = rng.normal(size=n) + (group == "b") * 0.7
    noise = rng.normal(scale=0.8, size=n)
    y = ((x + noise + (group == "c") * 0.5) > 0.3).astype(int)
    return pd.DataFrame({"x": x, "z": rng.normal(size=n), "group": group, "y": y})


def _fitted_baseline(frame: pd.DataFrame):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression().fit(frame[["x", "z"]], frame["y"])


def _fitted_optimizer(model, train: pd.DataFrame):
    """fairlearn's ThresholdOptimizer as the threshold strategy sets it up."""
    from fairlearn.postprocessing import ThresholdOptimizer

    return ThresholdOptimizer(
        estimator=model,
        constraints="equalized_odds",
        objective="accuracy_score",
        predict_method="predict_proba",
        prefit=True,
    ).fit(train[["x", "z"]], train["y"], sensitive_features=train["group"].to_numpy())


def test_threshold_probability_matches_fairlearns_own_randomised_classifier():
    from mcrage_core.rebalance import positive_probability

    train, test = _threshold_table(0), _threshold_table(1)
    model = _fitted_baseline(train)
    optimizer = _fitted_optimizer(model, train)
    groups = test["group"].to_numpy()
    got = positive_probability(optimizer, model.predict_proba(test[["x", "z"]])[:, 1], groups)
    # route 1: fairlearn's own (private) probability mass function, test-only
    pmf = optimizer._pmf_predict(test[["x", "z"]], sensitive_features=groups)[:, 1]
    np.testing.assert_allclose(got, pmf, rtol=0, atol=1e-12)
    # route 2: the share of positive decisions over many seeded random draws
    draws = np.mean(
        [
            optimizer.predict(test[["x", "z"]], sensitive_features=groups, random_state=k)
            for k in range(400)
        ],
        axis=0,
    )
    assert np.abs(draws - got).max() < 0.15


def test_threshold_strategy_predicts_with_the_baseline_and_fairlearns_probabilities():
    from mcrage_core.rebalance import ModelData

    train, test = _threshold_table(0), _threshold_table(1)
    model = _fitted_baseline(train)
    strategy = get_strategy("threshold")
    assert strategy.uses_baseline_model and strategy.post_processing
    ctx = AugmentContext(target="y", features=("x", "z"), rebalance=("group",), seed=5)
    data = ModelData(train=train, test=test, X_train=train[["x", "z"]], X_test=test[["x", "z"]])
    got = strategy.predict(model, data, context=ctx)
    reference = _fitted_optimizer(model, train)
    groups = test["group"].to_numpy()
    expected = reference._pmf_predict(test[["x", "z"]], sensitive_features=groups)[:, 1]
    np.testing.assert_allclose(got.score, expected, rtol=0, atol=1e-12)
    decisions = reference.predict(test[["x", "z"]], sensitive_features=groups, random_state=5)
    np.testing.assert_array_equal(got.pred, np.asarray(decisions).astype(int))
    assert got.notes == ()
