"""split_train_test: stratified, and never failing for two rows or more."""

from __future__ import annotations

import pandas as pd

from mcrage_core.evaluation import split_train_test


def test_split_survives_exactly_one_single_row_stratum():
    # one stratum of one row: pooling it alone used to leave a one-member pool
    strata = pd.Series(["a|0"] * 40 + ["a|1"] * 10 + ["b|0"] * 20 + ["c|1"])
    train, test = split_train_test(strata, test_size=0.25, seed=0)
    assert len(train) + len(test) == len(strata)
    assert not set(train) & set(test)


def test_split_survives_an_outcome_with_a_single_row():
    strata = pd.Series(["a|0"] * 30 + ["a|1"])
    train, test = split_train_test(strata, test_size=0.25, seed=0)
    assert sorted([*train, *test]) == list(range(31))
