"""Membership inference (mcrage_core.privacy.membership): a generator that leaks its
training rows is caught by both attacks, an honest one reads as guessing, groups carry
their sizes and intervals, and bad inputs get plain errors."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from mcrage_core.errors import ConfigError, DataError
from mcrage_core.fidelity.columns import as_float, column_kinds
from mcrage_core.privacy import MembershipResult, membership_risk
from mcrage_core.tables.bands import add_age_band

BY = ["race", "sex", "age_band"]


def _support2_split(support2_df: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """2,000 real SUPPORT2 rows cut into train (700), hold-out (700) and a third,
    disjoint sample (600) that stands in for an honest generator's output; and a leaky
    generator's output: the training rows with tiny noise on the numeric columns."""
    df = add_age_band(support2_df.sample(n=2000, random_state=0).reset_index(drop=True), "age")
    order = np.random.default_rng(0).permutation(len(df))
    train, holdout = df.iloc[order[:700]], df.iloc[order[700:1400]]
    honest = df.iloc[order[1400:]]
    leaky = train.copy()
    rng = np.random.default_rng(1)
    for c, kind in column_kinds(df, list(df.columns)).items():
        if kind == "numeric":
            x = as_float(leaky[c])
            leaky[c] = x + rng.normal(0.0, 0.01 * np.nanstd(x), len(x))
    return {"train": train, "holdout": holdout, "honest": honest, "leaky": leaky}


@pytest.fixture(scope="module")
def split(support2_df: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return _support2_split(support2_df)


@pytest.fixture(scope="module")
def leaky(split: dict[str, pd.DataFrame]) -> MembershipResult:
    return membership_risk(split["train"], split["holdout"], split["leaky"], by=BY, seed=0)


@pytest.fixture(scope="module")
def honest(split: dict[str, pd.DataFrame]) -> MembershipResult:
    return membership_risk(split["train"], split["holdout"], split["honest"], by=BY, seed=0)


def _overall(result: MembershipResult, attack: str) -> pd.Series:
    t = result.to_frame()
    return t.loc[(t["attack"] == attack) & (t["column"] == "(all)")].iloc[0]


def test_a_leaky_generator_is_caught_by_both_attacks(leaky: MembershipResult) -> None:
    distance, density = _overall(leaky, "distance"), _overall(leaky, "density")
    assert distance["auc"] >= 0.8  # observed 1.00
    assert density["auc"] > 0.7  # observed 0.997
    assert distance["risk"] == density["risk"] == "high"
    assert distance["above_chance"] and density["above_chance"]
    summary = leaky.summary()
    assert summary["risk"] == "high"
    assert summary["distance"]["auc"] == distance["auc"]
    assert summary["groups_at_risk"], "every large group is exposed"


def test_an_honest_generator_reads_as_guessing(honest: MembershipResult) -> None:
    for attack in ("distance", "density"):
        row = _overall(honest, attack)
        assert abs(row["auc"] - 0.5) <= 0.07, (attack, row["auc"])  # observed 0.508, 0.520
        assert row["ci_low"] <= 0.5 <= row["ci_high"]
        assert not row["above_chance"]
    assert honest.summary()["risk"] == "low"


def test_groups_carry_their_sizes_and_intervals(
    honest: MembershipResult, leaky: MembershipResult
) -> None:
    for result in (honest, leaky):
        t = result.to_frame()
        n_mem, n_non = result.settings["n_members"], result.settings["n_nonmembers"]
        assert n_mem == n_non == 350  # hold-out halves; members balanced to the same count
        for (attack, column), g in t.groupby(["attack", "column"]):
            assert g["n_members"].sum() == n_mem, (attack, column)
            assert g["n_nonmembers"].sum() == n_non, (attack, column)
        ok = t["auc"].notna()
        assert (t.loc[ok, "ci_low"] <= t.loc[ok, "auc"] + 1e-12).all()
        assert (t.loc[ok, "auc"] <= t.loc[ok, "ci_high"] + 1e-12).all()
        small = (t["n_members"] < 10) | (t["n_nonmembers"] < 10)
        assert small.any(), "SUPPORT2's asian and other groups are small"
        assert t.loc[small, "auc"].isna().all()
        assert (t.loc[small, "note"] == "too few rows").all()
        assert (t.loc[small, "risk"] == "unknown").all()
        assert t.loc[~small, "auc"].notna().all()
    groups = honest.to_frame().query("attack == 'distance' and column == 'age_band'")
    assert groups["group"].tolist() == ["<30", "30-44", "45-64", "65-79", "80+"]


def test_at_risk_keeps_moderate_and_high_rows(leaky: MembershipResult) -> None:
    flagged = leaky.at_risk()
    assert set(flagged["risk"]) <= {"moderate", "high"}
    assert len(flagged) == (leaky.to_frame()["risk"].isin(["moderate", "high"])).sum()
    assert len(leaky.at_risk("high")) <= len(flagged)
    with pytest.raises(ConfigError, match="min_level"):
        leaky.at_risk("severe")


def test_to_dict_is_plain_json(honest: MembershipResult) -> None:
    data = honest.to_dict()
    text = json.dumps(data, allow_nan=False)  # NaN became null
    assert json.loads(text)["thresholds"] == {"low": 0.55, "moderate": 0.6}
    too_few = [r for r in data["rows"] if r["note"] == "too few rows"]
    assert too_few and all(r["auc"] is None for r in too_few)
    assert data["summary"]["distance"]["risk"] == "low"


def _toy(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "y": rng.normal(size=n),
            "g": rng.choice(["a", "b", "c"], size=n, p=[0.6, 0.35, 0.05]),
        }
    )


def test_small_tables_are_deterministic_and_thresholds_configurable() -> None:
    train, holdout = _toy(200, 1), _toy(200, 2)
    synthetic = train.assign(x=train["x"] + 1e-3)
    a = membership_risk(train, holdout, synthetic, by="g", seed=3, n_boot=50)
    b = membership_risk(train, holdout, synthetic, by="g", seed=3, n_boot=50)
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame())
    assert _overall(a, "distance")["auc"] >= 0.8
    relaxed = membership_risk(
        train, holdout, synthetic, by="g", seed=3, n_boot=50, thresholds=(0.99, 1.0)
    )
    assert _overall(relaxed, "distance")["risk"] in {"low", "moderate"}
    c_rows = a.to_frame().query("column == 'g' and group == 'c'")
    assert (c_rows["note"] == "too few rows").all()
    assert a.settings["holdout_rows_also_in_train"] == 0
    overlapping = pd.concat([holdout.iloc[:150], train.iloc[:50]], ignore_index=True)
    mixed = membership_risk(train, overlapping, synthetic, seed=3, n_boot=0)
    assert mixed.settings["holdout_rows_also_in_train"] == 50  # flagged for the steward
    only_x = membership_risk(train, holdout, synthetic, columns=["x"], seed=3, n_boot=0)
    assert only_x.settings["columns"] == ["x"]
    assert math.isnan(_overall(only_x, "distance")["ci_low"])  # no bootstrap asked


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t, h, s: (t.iloc[:0], h, s), "training table has 0 rows"),
        (lambda t, h, s: (t, h.iloc[:15], s), "hold-out table has 15 rows"),
        (lambda t, h, s: (t, h, s.rename(columns=str.upper)), "no column in common"),
        (lambda t, h, s: (t, h, s.drop(columns="g")), r"\['g'\] are not in the synthetic"),
        (lambda t, h, s: (t, h, s.to_numpy()), "synthetic table as a pandas DataFrame"),
        (lambda t, h, s: (t.assign(g=np.arange(len(t)).astype(str)), h, s), "distinct values"),
    ],
)
def test_bad_inputs_get_plain_errors(change, message) -> None:
    train, holdout, synthetic = change(_toy(150, 1), _toy(150, 2), _toy(150, 3))
    with pytest.raises(DataError, match=message):
        membership_risk(train, holdout, synthetic, by="g", n_boot=10)


def test_bad_settings_get_plain_errors() -> None:
    t, h, s = _toy(60, 1), _toy(60, 2), _toy(60, 3)
    with pytest.raises(ConfigError, match="thresholds"):
        membership_risk(t, h, s, thresholds=(0.6, 0.55))
    with pytest.raises(ConfigError, match="n_boot"):
        membership_risk(t, h, s, n_boot=-1)
    with pytest.raises(ConfigError, match="at least one column"):
        membership_risk(t, h, s, columns=[])
