"""Each rebalancing strategy follows the same plan."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mcrage_core.errors import ConfigError
from mcrage_core.rebalance.plan import AugmentContext, get_strategy, plan_augmentation

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
