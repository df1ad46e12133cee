"""Which columns the model learns: identifiers, free text, dates and empty columns are left
out with a note, by the tables package's "too many categories" rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mcrage_core.diffusion.columns import select_features
from mcrage_core.errors import ConfigError
from mcrage_core.tables import MAX_CATEGORIES, MAX_UNIQUE_FRACTION

RULE = {"max_categories": MAX_CATEGORIES, "max_unique_fraction": MAX_UNIQUE_FRACTION}


def test_identifiers_text_dates_and_empty_columns_are_left_out() -> None:
    n = 300
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "race": rng.choice(["a", "b"], n),
            "died": rng.integers(0, 2, n),
            "record": np.arange(n),
            "ward": [f"w{i % (MAX_CATEGORIES + 10)}" for i in range(n)],
            "site": [f"s{i % MAX_CATEGORIES}" for i in range(n)],
            "seen": pd.date_range("2020-01-01", periods=n),
            "empty": [None] * n,
            "age": rng.normal(60, 10, n),
        }
    )
    chosen, notes = select_features(df, ["race", "died"], None, **RULE)
    assert chosen == ["site", "age"]
    assert [n.split("'")[1] for n in notes] == ["record", "ward", "seen", "empty"]
    assert "identifier or free text" in notes[1]


def test_chosen_columns_are_kept_as_given() -> None:
    df = pd.DataFrame({"race": ["a", "b"], "died": [0, 1], "x": [1, 2]})
    assert select_features(df, ["race", "died"], ["x", "race", "x"], **RULE) == (["x"], [])
    with pytest.raises(ConfigError, match="available columns"):
        select_features(df, ["race", "died"], ["nope"], **RULE)
