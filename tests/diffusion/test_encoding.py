"""Mixed-type encoder: fit / transform / inverse_transform and its safe state."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mcrage_core.diffusion import TabularEncoder
from mcrage_core.errors import DataError, ModelFileError


@pytest.fixture()
def table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 400
    lab = rng.lognormal(0, 1, n).round(2)
    lab[rng.random(n) < 0.5] = np.nan  # half empty, like SUPPORT2's urine output
    return pd.DataFrame(
        {
            "age": rng.normal(60, 15, n).round(1),
            "days": rng.integers(0, 80, n),
            "lab": lab,
            "flag": rng.integers(0, 2, n),
            "sex": rng.choice(["female", "male"], n),
            "income": pd.Series(rng.choice(["low", "high", None], n), dtype="str"),
            "score": rng.choice([0.0, 9.0, 26.0, 44.0], n),
        }
    )


def test_round_trip_restores_values_dtypes_and_missing(table: pd.DataFrame) -> None:
    enc = TabularEncoder().fit(table)
    back = enc.inverse_transform(enc.transform(table))
    assert list(back.columns) == list(table.columns)
    for c in table.columns:
        assert back[c].dtype == table[c].dtype, c
    # categorical and discrete columns come back exactly, missing included
    for c in ("flag", "sex", "income", "score"):
        pd.testing.assert_series_equal(back[c], table[c], check_names=False)
    assert back["lab"].isna().equals(table["lab"].isna())
    np.testing.assert_allclose(back["lab"].dropna(), table["lab"].dropna(), rtol=0.02, atol=0.02)
    np.testing.assert_array_equal(back["days"].to_numpy(), table["days"].to_numpy())


def test_decoding_noise_stays_in_observed_range_and_type(table: pd.DataFrame) -> None:
    enc = TabularEncoder().fit(table)
    z = np.random.default_rng(1).normal(0, 3, (1000, enc.output_dim_))
    out = enc.inverse_transform(z)
    assert out["age"].between(table["age"].min(), table["age"].max()).all()
    assert out["days"].dtype == np.int64
    assert set(out["sex"]) <= {"female", "male"}
    assert set(out["score"]) <= {0.0, 9.0, 26.0, 44.0}
    # values keep the data's precision (one decimal for age, two for the lab)
    np.testing.assert_allclose(out["age"], out["age"].round(1))
    assert 0.1 < out["lab"].isna().mean() < 0.9  # missing values are generated, not imputed


def test_missing_values_are_modelled_not_imputed(table: pd.DataFrame) -> None:
    enc = TabularEncoder().fit(table)
    spec = {s.name: s for s in enc.specs_}
    assert spec["lab"].missing_start is not None
    assert spec["age"].missing_start is None
    assert None in spec["income"].categories


def test_state_round_trip_and_validation(table: pd.DataFrame) -> None:
    enc = TabularEncoder().fit(table)
    meta, arrays = enc.get_state()
    again = TabularEncoder.from_state(meta, arrays)
    x = enc.transform(table)
    np.testing.assert_array_equal(again.transform(table), x)
    pd.testing.assert_frame_equal(again.inverse_transform(x), enc.inverse_transform(x))
    broken = {**meta, "version": 99}
    with pytest.raises(ModelFileError, match="version"):
        TabularEncoder.from_state(broken, arrays)
    bad_specs = [dict(s) for s in meta["specs"]]
    bad_specs[0]["width"] = 7
    with pytest.raises(ModelFileError):
        TabularEncoder.from_state({**meta, "specs": bad_specs}, arrays)
    with pytest.raises(ModelFileError):
        TabularEncoder.from_state(meta, {})


def test_unknown_category_and_too_many_categories_are_reported(table: pd.DataFrame) -> None:
    enc = TabularEncoder().fit(table)
    other = table.copy()
    other.loc[0, "sex"] = "unknown"
    with pytest.raises(DataError, match="sex"):
        enc.transform(other)
    ids = pd.DataFrame({"note": [f"text {i}" for i in range(300)]})
    with pytest.raises(DataError, match="note"):
        TabularEncoder(max_categories=200).fit(ids)
