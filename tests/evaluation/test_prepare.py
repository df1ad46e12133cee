"""The prepared table: the 0/1 outcome, group columns (bands from mcrage_core.tables,
merged groups, intersections), features and record columns."""

from __future__ import annotations

import pandas as pd
import pytest

from mcrage_core.errors import ConfigError
from mcrage_core.evaluation import AuditConfig, prepare
from mcrage_core.tables import MERGED_LABEL, band_columns, infer_schema

TARGET = "died_within_6_months"


@pytest.fixture(scope="module")
def table(support2_small):
    return infer_schema(support2_small, target=TARGET)


def test_age_is_grouped_by_the_tables_bands(table):
    data, schema = table
    prep = prepare(data, schema, AuditConfig(TARGET, sensitive=("race", "age")))
    assert prep.attributes == {"race": "race", "age_band": "age"}
    banded, bands = band_columns(data, schema, ["age"])
    expected = banded["age_band"].astype(object).where(banded["age_band"].notna(), None)
    got = prep.df["age_band"]
    assert got.isna().sum() == expected.isna().sum()
    assert list(got.dropna()) == [str(v) for v in expected.dropna()]
    assert bands["age_band"][1] == tuple(schema.age_bands)


def test_outcome_is_zero_one_and_the_positive_class_is_named(table):
    data, schema = table
    prep = prepare(data, schema, AuditConfig(TARGET, sensitive=("race",)))
    assert set(prep.df[TARGET].unique()) == {0, 1}
    assert prep.positive_class == str(schema.positive_class)
    assert TARGET not in prep.features and "race" in prep.features


def test_an_intersection_is_the_primary_attribute(table):
    data, schema = table
    prep = prepare(
        data, schema, AuditConfig(TARGET, sensitive=("race", "sex"), rebalance=("race", "sex"))
    )
    assert prep.primary == "race × sex"
    assert prep.primary in prep.derived and prep.primary not in prep.columns
    known = prep.df[["race", "sex"]].notna().all(axis=1)
    assert prep.df.loc[known, prep.primary].str.contains(" × ").all()


def test_small_groups_are_merged(table):
    data, schema = table
    counts = data["race"].value_counts()
    prep = prepare(
        data, schema, AuditConfig(TARGET, sensitive=("race",), merge_below=int(counts.iloc[1]) + 1)
    )
    merged = prep.merged["race (merged)"]
    assert set(merged) == set(counts.index[1:].astype(str))
    assert (prep.df["race (merged)"] == MERGED_LABEL).sum() == counts.iloc[1:].sum()


def test_no_sensitive_column_is_a_config_error(table):
    data, schema = table
    with pytest.raises(ConfigError, match="not in the table"):
        prepare(data, schema, AuditConfig(TARGET, sensitive=("ethnicity",)))
    with pytest.raises(ConfigError, match="outcome column"):
        prepare(pd.DataFrame({"a": [1, 2]}), schema, AuditConfig("y", sensitive=("a",)))
