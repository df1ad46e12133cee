"""The augmentation planner on real SUPPORT2 rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mcrage_core.errors import ConfigError
from mcrage_core.rebalance import plan_augmentation

TARGET = "died_within_6_months"


def _group_totals(plan: pd.DataFrame, cols: list[str]) -> pd.Series:
    return (plan["n_real"] + plan["n_add"]).groupby([plan[c] for c in cols]).sum()


def test_max_brings_every_group_to_the_largest(support2_df):
    plan = plan_augmentation(support2_df, rebalance=["race"], target=TARGET)
    assert list(plan.columns) == ["race", TARGET, "n_real", "n_add"]
    totals = _group_totals(plan, ["race"])
    real = support2_df["race"].value_counts()
    assert (totals == real.max()).all()
    assert plan.loc[plan["race"] == real.idxmax(), "n_add"].sum() == 0
    # rows without a race are not a group
    assert plan["n_real"].sum() == support2_df["race"].notna().sum()


def test_max_keeps_each_groups_outcome_mix(support2_df):
    plan = plan_augmentation(support2_df, rebalance=["race"], target=TARGET)
    for _, cells in plan.groupby("race"):
        real_rate = cells["n_real"] / cells["n_real"].sum()
        added = cells["n_add"].sum()
        if added:
            add_rate = cells["n_add"] / added
            assert np.allclose(real_rate, add_rate, atol=1.5 / added + 1e-9)


def test_balance_outcome_equalises_outcomes_within_groups(support2_df):
    plan = plan_augmentation(support2_df, rebalance=["race"], target=TARGET, balance_outcome=True)
    for _, cells in plan.groupby("race"):
        after = cells["n_real"] + cells["n_add"]
        assert after.nunique() == 1
    assert (plan["n_add"] >= 0).all()


def test_share_mode_reaches_the_share_of_the_final_table(support2_df):
    plan = plan_augmentation(
        support2_df, rebalance=["race"], target=TARGET, mode="share", share=0.1
    )
    totals = _group_totals(plan, ["race"])
    shares = totals / totals.sum()
    assert (shares >= 0.1 - 1e-3).all()
    # groups already above the share get nothing
    assert plan.loc[plan["race"] == "white", "n_add"].sum() == 0
    assert plan.loc[plan["race"] == "black", "n_add"].sum() == 0


def test_counts_mode_and_intersections(support2_df):
    plan = plan_augmentation(
        support2_df,
        rebalance=["race", "sex"],
        target=TARGET,
        mode="counts",
        counts={("asian", "female"): 100, ("black", "male"): 10},
    )
    totals = _group_totals(plan, ["race", "sex"])
    assert totals[("asian", "female")] == 100
    real = support2_df.groupby(["race", "sex"]).size()
    assert totals[("black", "male")] == real[("black", "male")]  # never fewer than real
    untouched = plan[(plan["race"] == "white")]
    assert untouched["n_add"].sum() == 0


def test_whole_table_as_one_group_balances_the_outcome(support2_df):
    plan = plan_augmentation(support2_df, rebalance=[], target=TARGET, balance_outcome=True)
    after = plan["n_real"] + plan["n_add"]
    assert after.nunique() == 1 and len(plan) == 2


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"rebalance": ["no_such_column"]}, "not found"),
        ({"rebalance": [TARGET]}, "outcome column"),
        ({"rebalance": ["race"], "mode": "share", "share": 1.5}, "fraction"),
        ({"rebalance": ["race"], "mode": "share", "share": 0.3}, "more than 100"),
        ({"rebalance": ["race"], "mode": "counts", "counts": {"martian": 5}}, "martian"),
        ({"rebalance": ["race"], "mode": "counts"}, "needs counts"),
        ({"rebalance": ["race"], "mode": "median"}, "unknown plan mode"),
    ],
)
def test_bad_plans_raise_config_errors(support2_df, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        plan_augmentation(support2_df, target=TARGET, **kwargs)
