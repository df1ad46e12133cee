"""Fidelity and privacy metrics on real SUPPORT2 rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mcrage_core.errors import ConfigError, DataError
from mcrage_core.fidelity import drop_exact_copies, evaluate_fidelity, row_hashes


@pytest.fixture(scope="module")
def halves(support2_df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    df = support2_df.sample(n=1200, random_state=1).reset_index(drop=True)
    return df.iloc[:600].reset_index(drop=True), df.iloc[600:].reset_index(drop=True)


def _scrambled(df: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Each column shuffled on its own: same marginals, no relationships."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({c: df[c].to_numpy()[rng.permutation(len(df))] for c in df.columns})


def test_fresh_real_rows_score_high_and_unrelated_noise_low(halves) -> None:
    a, b = halves
    good = evaluate_fidelity(a, b, holdout=None, detection=False)
    assert good.overall["column_shapes"] > 0.9
    assert good.overall["pair_trends"] > 0.9
    noise = b.copy()
    for c in ("age", "physiology_score", "heart_rate"):
        noise[c] = np.random.default_rng(0).uniform(1000, 2000, len(b))
    noise["sex"] = "unknown"
    bad = evaluate_fidelity(a, noise, detection=False)
    assert bad.overall["column_shapes"] < good.overall["column_shapes"] - 0.05
    scores = bad.column_scores.set_index("column")["score"]
    assert scores["sex"] == pytest.approx(0.0)
    assert scores["age"] < 0.2
    assert set(bad.column_scores["metric"]) == {"KS complement", "TV complement"}


def test_pair_trends_see_broken_relationships(halves) -> None:
    a, b = halves
    kept = evaluate_fidelity(a, b, detection=False).overall["pair_trends"]
    broken = evaluate_fidelity(a, _scrambled(b), detection=False).overall
    assert broken["column_shapes"] > 0.9  # marginals untouched
    assert broken["pair_trends"] < kept


def test_detection_auc_separates_fake_from_real(halves) -> None:
    a, b = halves
    same = evaluate_fidelity(a, b, max_rows=600).overall["detection_auc"]
    fake = b.copy()
    fake["age"] = fake["age"] + 25
    fake["sodium"] = fake["sodium"] * 1.2
    shifted = evaluate_fidelity(a, fake, max_rows=600).overall["detection_auc"]
    assert same < 0.65
    assert shifted > 0.9


def test_dcr_and_exact_copies_flag_memorisation(halves) -> None:
    a, b = halves
    train, hold = a.iloc[:300], a.iloc[300:]
    copies = train.iloc[:200]
    report = evaluate_fidelity(train, copies, holdout=hold, detection=False)
    assert report.overall["exact_copies"] == 200
    assert report.overall["dcr_closer_to_train_share"] > 0.95
    fresh = evaluate_fidelity(train, b.iloc[:200], holdout=hold, detection=False)
    assert fresh.overall["exact_copies"] == 0
    assert 0.3 < fresh.overall["dcr_closer_to_train_share"] < 0.7


def test_by_group_reports_each_group_with_its_size(halves) -> None:
    a, b = halves
    report = evaluate_fidelity(a, b, by="race", detection=False)
    g = report.by_group
    assert list(g.columns[:3]) == ["race", "n_real", "n_synthetic"]
    white = g[g["race"] == "white"].iloc[0]
    assert white["n_real"] == (a["race"] == "white").sum()
    assert white["n_synthetic"] == (b["race"] == "white").sum()
    d = report.to_dict()
    assert d["overall"]["n_real"] == 600 and len(d["by_group"]) == len(g)
    with pytest.raises(ConfigError, match="nope"):
        evaluate_fidelity(a, b, by="nope")
    with pytest.raises(DataError):
        evaluate_fidelity(a.iloc[:0], b)


def test_drop_exact_copies_survives_dtype_round_trips(halves) -> None:
    a, _ = halves
    synth = a.iloc[:10].copy()
    synth["num_comorbidities"] = synth["num_comorbidities"].astype(float)  # 2 -> 2.0
    synth.loc[synth.index[:4], "age"] += 0.5  # these four are no longer copies
    kept, removed = drop_exact_copies(synth, a)
    assert removed == 6 and len(kept) == 4
    assert (row_hashes(a, list(a.columns)) == row_hashes(a.copy(), list(a.columns))).all()
