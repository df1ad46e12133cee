"""The one banding rule shared by the imbalance audit, the Train page and the evaluation."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest

from mcrage_core.errors import ConfigError
from mcrage_core.tables import (
    AGE_BAND_COLUMN,
    Schema,
    band_columns,
    group_columns,
    infer_schema,
    too_many_categories,
)


@pytest.fixture
def table() -> tuple[pd.DataFrame, Schema]:
    n = 120
    df = pd.DataFrame(
        {
            "age": [18 + (i * 7) % 80 for i in range(n)],
            "income": [1000 + (i * 37) % 900 for i in range(n)],
            "race": ["A", "B", "C"] * (n // 3),
            "died": ["Yes", "No", "No", "No"] * (n // 4),
        }
    )
    return infer_schema(df, target="died", sensitive=["race", "age", "income"])


def test_band_columns_names_and_edges(table):
    df, schema = table
    out, bands = band_columns(df, schema, ["race", "age", "income"])
    assert bands == {
        AGE_BAND_COLUMN: ("age", schema.age_bands),
        "income_band": ("income", schema.age_bands),
    }
    assert "race" in out.columns and "race_band" not in out.columns
    assert out[AGE_BAND_COLUMN].cat.ordered
    assert AGE_BAND_COLUMN not in df.columns  # the input is not changed


def test_only_the_named_columns_are_banded(table):
    df, schema = table
    out, bands = band_columns(df, schema, ["race"])
    assert bands == {} and out is df


def test_group_columns_uses_the_same_rule(table):
    df, schema = table
    out, mapping = group_columns(df, schema)
    assert mapping == {"race": "race", "age": AGE_BAND_COLUMN, "income": "income_band"}
    expected, _ = band_columns(df, schema, list(schema.sensitive.values()))
    pd.testing.assert_frame_equal(out, expected)


def test_age_exported_as_bands_is_used_as_it_is():
    df = pd.DataFrame({"age": ["[40-50)", "[50-60)"] * 30, "y": [0, 1, 1] * 20})
    df, schema = infer_schema(df, target="y", sensitive={"age": "age"})
    out, bands = band_columns(df, schema, ["age"])
    assert bands == {} and out is df


def test_bad_band_edges_are_refused(table):
    df, schema = table
    with pytest.raises(ConfigError, match="increasing positive ages"):
        band_columns(df, replace(schema, age_bands=(50, 40)), ["age"])


def test_too_many_categories_is_the_one_rule():
    assert not too_many_categories(50)
    assert too_many_categories(51)
    assert too_many_categories(201, max_categories=200)
