"""The peer benchmark's scorer: it must tell a faithful copy from a poor imitation.

The scorer is what every generator is judged by, so it is tested on real rows: a copy
of the real rows scores a perfect shape and counts as copies, shuffling columns
independently (marginals kept, joint structure destroyed) is caught by the detector, a
different missing rate lowers the shape, and the plan raises every group to the largest.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))

from bench_peers import make_plan  # noqa: E402
from peers.scorer import column_shape, downstream, score_group  # noqa: E402

from mcrage_core.fidelity.columns import column_kinds  # noqa: E402


@pytest.fixture(scope="module")
def black(support2_df: pd.DataFrame) -> pd.DataFrame:
    return support2_df[support2_df["race"] == "black"].reset_index(drop=True)


def test_a_copy_is_perfect_and_counted_as_copies(black: pd.DataFrame, support2_df) -> None:
    half = black.iloc[:600]
    scores = score_group(half, half.copy(), real_all=support2_df, skip=["race"])
    assert scores["column_shape"] == pytest.approx(1.0)
    assert scores["correlation_similarity"] == pytest.approx(1.0)
    assert scores["exact_copies"] == 600


def test_independent_columns_are_detected_and_other_real_rows_are_not(
    black: pd.DataFrame, support2_df
) -> None:
    rng = np.random.default_rng(0)
    mixed = black.sample(frac=1.0, random_state=0).reset_index(drop=True)  # the file is sorted
    real, other = mixed.iloc[:600], mixed.iloc[600:1200].reset_index(drop=True)
    shuffled = other.apply(
        lambda c: c.sample(frac=1.0, random_state=int(rng.integers(1e6))).to_numpy()
    )
    fair = score_group(real, other, real_all=support2_df, skip=["race"])
    fake = score_group(real, shuffled, real_all=support2_df, skip=["race"])
    assert fair["detection_auc"] < 0.6 and fair["exact_copies"] == 600  # real rows: copies
    assert fake["exact_copies"] < 10
    assert fake["detection_auc"] > fair["detection_auc"] + 0.1
    assert fake["correlation_similarity"] < fair["correlation_similarity"]


def test_a_different_missing_rate_lowers_the_shape(black: pd.DataFrame) -> None:
    real = black.iloc[:600]
    kinds = column_kinds(real, ["income"])
    holes = real.copy()
    holes.loc[holes.index[:300], "income"] = None
    assert column_shape(real, holes, kinds) < column_shape(real, real, kinds) - 0.2


def test_plan_raises_every_group_to_the_largest_keeping_its_outcome_mix(support2_df) -> None:
    plan = pd.DataFrame(make_plan(support2_df, "race", "died_within_6_months"))
    sizes = support2_df["race"].value_counts()
    for g, part in plan.groupby("group"):
        assert part["n"].sum() == sizes.max() - sizes[g]
        real_rate = (support2_df.loc[support2_df["race"] == g, "died_within_6_months"] == 1).mean()
        added_rate = part.loc[part["outcome"] == 1, "n"].sum() / part["n"].sum()
        assert added_rate == pytest.approx(real_rate, abs=0.01)
    assert "white" not in set(plan["group"])


def test_downstream_reports_paired_intervals(support2_df) -> None:
    df = support2_df[support2_df["race"].isin(["white", "black"])].iloc[:1200]
    train, hold = df.iloc[:900], df.iloc[900:]
    rows = downstream(
        train,
        train.iloc[:50],
        hold,
        group="race",
        target="died_within_6_months",
        positive=1,
        seed=0,
        n_boot=30,
    )
    groups = {r["group"]: r for r in rows}
    assert {"white", "black", "equalized-odds difference"} <= set(groups)
    for g in ("white", "black"):
        lo, hi = groups[g]["delta_auroc_ci"]
        assert lo <= groups[g]["delta_auroc"] <= hi or abs(groups[g]["delta_auroc"]) < 0.02
        assert groups[g]["n_holdout"] == int((hold["race"] == g).sum())
