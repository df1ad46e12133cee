"""Attribute disclosure (mcrage_core.privacy.disclosure): a leaky generator lets an
attacker who knows a patient's quasi-identifiers guess their outcome far better than the
population does, an honest one does not, and the groups and errors read plainly."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mcrage_core.errors import ConfigError, DataError
from mcrage_core.privacy import DisclosureResult, disclosure_risk

from .test_membership import _support2_split

QIS = ["age", "sex", "race", "heart_rate", "mean_blood_pressure"]
SENSITIVE = "died_within_6_months"
BY = ["race", "sex"]


@pytest.fixture(scope="module")
def split(support2_df: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return _support2_split(support2_df)


def _run(split: dict[str, pd.DataFrame], generator: str, **kw) -> DisclosureResult:
    return disclosure_risk(
        split["train"],
        split["holdout"],
        split[generator],
        quasi_identifiers=kw.pop("quasi_identifiers", QIS),
        sensitive=kw.pop("sensitive", SENSITIVE),
        by=BY,
        seed=0,
        **kw,
    )


@pytest.fixture(scope="module")
def leaky(split: dict[str, pd.DataFrame]) -> DisclosureResult:
    return _run(split, "leaky")


@pytest.fixture(scope="module")
def honest(split: dict[str, pd.DataFrame]) -> DisclosureResult:
    return _run(split, "honest")


def test_a_leaky_generator_discloses_the_outcome(leaky: DisclosureResult) -> None:
    s = leaky.summary()
    assert s["disclosure_risk"] >= 0.2  # observed 0.39 (accuracy 0.91 against 0.52)
    assert s["synthetic_accuracy"] >= 0.8
    assert s["ci_low"] > 0 and s["above_baseline"]
    assert s["risk"] == "high"
    assert s["protection"] < 0.4
    assert s["exact_match_share"] > 0.5
    assert s["groups_at_risk"]


def test_an_honest_generator_discloses_nothing_more(
    honest: DisclosureResult, leaky: DisclosureResult
) -> None:
    s = honest.summary()
    assert abs(s["disclosure_risk"]) <= 0.07  # observed 0.02
    assert s["ci_low"] <= 0 <= s["ci_high"]
    assert not s["above_baseline"]
    assert s["risk"] == "low"
    assert s["protection"] > leaky.summary()["protection"] + 0.3


def test_groups_carry_their_sizes_and_intervals(
    honest: DisclosureResult, leaky: DisclosureResult
) -> None:
    for result in (honest, leaky):
        t = result.to_frame()
        n = result.settings["n_targets"]
        assert n == 700
        assert t.iloc[0][["column", "group", "n_targets"]].tolist() == ["(all)", "(all)", n]
        for column in BY:
            assert t.loc[t["column"] == column, "n_targets"].sum() == n
        ok = t["disclosure_risk"].notna()
        assert (t.loc[ok, "ci_low"] <= t.loc[ok, "disclosure_risk"] + 1e-12).all()
        assert (t.loc[ok, "disclosure_risk"] <= t.loc[ok, "ci_high"] + 1e-12).all()
        diff = t.loc[ok, "synthetic_accuracy"] - t.loc[ok, "baseline_accuracy"]
        assert np.allclose(diff, t.loc[ok, "disclosure_risk"])
        small = t["n_targets"] < 10
        assert small.any() and (t.loc[small, "note"] == "too few rows").all()
        assert t.loc[small, "disclosure_risk"].isna().all()
        assert (t.loc[small, "risk"] == "unknown").all()
    data = honest.to_dict()
    json.dumps(data, allow_nan=False)
    assert data["summary"]["quasi_identifiers"] == QIS
    assert data["thresholds"] == {"low": 0.05, "moderate": 0.1}


def test_a_numeric_sensitive_column_is_binned(split: dict[str, pd.DataFrame]) -> None:
    result = _run(split, "leaky", sensitive="physiology_score", n_bins=4, n_boot=20)
    assert result.settings["sensitive_values"] == 4
    s = result.summary()
    assert s["synthetic_accuracy"] > s["baseline_accuracy"] + 0.2
    assert 0.0 <= s["protection"] <= 1.0


def _toy(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "pid": [f"p{seed}-{i}" for i in range(n)],
            "sex": rng.choice(["female", "male"], size=n),
            "band": rng.choice(["<30", "30-44", "45-64"], size=n),
            "y": rng.integers(0, 2, n),
        }
    )


def test_majority_vote_on_exact_matches_and_nearest_rows() -> None:
    train, holdout = _toy(100, 1), _toy(100, 2)
    # a copy of the training rows: each target's unique match gives its own value away
    copied = disclosure_risk(
        train, holdout, train, quasi_identifiers=["pid", "sex"], sensitive="y", n_boot=0
    ).summary()
    assert copied["exact_match_share"] == 1.0
    assert copied["synthetic_accuracy"] == 1.0
    assert copied["protection"] == 0.0
    assert copied["disclosure_risk"] > 0.3  # the hold-out holds nobody with these ids
    # a synthetic table that shares no quasi-identifier value: the k nearest rows answer
    renamed = train.assign(pid="other-" + train["pid"], y=1)
    far = disclosure_risk(
        train, holdout, renamed, quasi_identifiers=["pid", "sex"], sensitive="y", k=3, n_boot=0
    ).summary()
    assert far["exact_match_share"] == 0.0
    assert far["synthetic_accuracy"] == pytest.approx(float((train["y"] == 1).mean()))


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"quasi_identifiers": []}, ConfigError, "at least one quasi-identifier"),
        ({"quasi_identifiers": ["sex", "y"]}, ConfigError, "also a quasi-identifier"),
        ({"k": 0}, ConfigError, "k >= 1"),
        ({"quasi_identifiers": ["sex", "weight"]}, DataError, r"\['weight'\] are not in"),
        ({"sensitive": "outcome"}, DataError, r"\['outcome'\] are not in"),
        ({"thresholds": (0.1,)}, ConfigError, "two increasing numbers"),
    ],
)
def test_bad_settings_get_plain_errors(kwargs, error, message) -> None:
    args = {"quasi_identifiers": ["sex", "band"], "sensitive": "y", "n_boot": 5} | kwargs
    with pytest.raises(error, match=message):
        disclosure_risk(_toy(50, 1), _toy(50, 2), _toy(50, 3), **args)


def test_small_or_empty_tables_are_refused() -> None:
    with pytest.raises(DataError, match="synthetic table has 19 rows"):
        disclosure_risk(
            _toy(50, 1), _toy(50, 2), _toy(19, 3), quasi_identifiers=["sex"], sensitive="y"
        )
    with pytest.raises(DataError, match="hold-out table has 0 rows"):
        disclosure_risk(
            _toy(50, 1), _toy(0, 2), _toy(50, 3), quasi_identifiers=["sex"], sensitive="y"
        )
