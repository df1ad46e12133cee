from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mcrage_core.errors import ConfigError, DataError
from mcrage_core.tables import (
    add_age_band,
    age_band_labels,
    binarize_target,
    detect_positive_class,
    infer_schema,
    load_table,
)


def test_support2_roles(support2_path):
    df, schema = infer_schema(load_table(support2_path))
    assert schema.sensitive == {"race": "race", "sex": "sex", "age": "age"}
    assert schema.target == "died_within_6_months"
    assert schema.positive_class == "1"
    assert schema.identifiers == ()
    kinds = schema.kinds()
    assert kinds["diabetes"] == "binary"
    assert kinds["num_comorbidities"] == "integer"
    assert kinds["glucose"] == "numeric"
    assert kinds["disease_group"] == "categorical"
    assert "died_within_6_months" not in schema.features
    assert schema.column("urine_output").missing_fraction == pytest.approx(0.534, abs=0.001)


def test_patient_treatment_roles(patient_treatment_path):
    _, schema = infer_schema(load_table(patient_treatment_path))
    assert schema.target == "SOURCE"
    assert schema.positive_class == "in"
    assert schema.sensitive == {"sex": "SEX", "age": "AGE"}


def _other_export(n: int = 120) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "PatientID": np.arange(1000, 1000 + n),
            "MRN": [f"MRN{i:06d}" for i in range(n)],
            "Patient Name": [f"Person {i} Smith" for i in range(n)],
            "phone": [f"(555) 123-{i:04d}" for i in range(n)],
            "SSN": [f"{100 + i:03d}-45-{i:04d}" for i in range(n)],
            "AdmitDate": [f"2021-03-{1 + i % 28:02d}" for i in range(n)],
            "Gender": rng.choice(["Female", "Male"], n),
            "RaceEthnicity": rng.choice(["Black or African American", "White", "Asian"], n),
            "AgeYears": rng.integers(18, 95, n),
            "creatinine": [str(round(x, 2)) for x in rng.normal(1, 0.2, n)],
            "Readmitted": rng.choice(["Yes", "No"], n),
        }
    )


def test_other_naming_conventions_and_identifiers():
    frame = _other_export()
    frame.loc[[3, 7], "creatinine"] = "unknown"
    df, schema = infer_schema(frame)
    assert schema.sensitive == {"race": "RaceEthnicity", "sex": "Gender", "age": "AgeYears"}
    assert schema.target == "Readmitted"
    assert schema.positive_class == "Yes"
    for col in ("PatientID", "MRN", "Patient Name", "phone", "SSN", "AdmitDate"):
        assert col in schema.excluded, col
        assert col not in schema.features
    assert "name" in schema.excluded["Patient Name"]
    assert "social security" in schema.excluded["SSN"]
    assert "date" in schema.excluded["AdmitDate"]
    assert schema.kinds()["creatinine"] == "numeric"
    assert df["creatinine"].isna().sum() == 2
    assert any("'creatinine': 2 value(s)" in w and "'unknown'" in w for w in schema.warnings)


@pytest.mark.parametrize(
    ("name", "values", "kind"),
    [
        ("race", ["a", "b"], "race"),
        ("ethnicity", ["a", "b"], "race"),
        ("raceth", ["a", "b"], "race"),
        ("patient_RACE", ["a", "b"], "race"),
        ("col7", ["White", "Black", "Hispanic", "Asian"], "race"),
        ("gender", ["a", "b"], "sex"),
        ("SEX", ["a", "b"], "sex"),
        ("x1", ["M", "F"], "sex"),
        ("age_years", [30, 40], "age"),
        ("AgeYears", [30, 40], "age"),
        ("AGE", [30, 40], "age"),
    ],
)
def test_sensitive_detection_by_name_and_values(name, values, kind):
    n = 60
    frame = pd.DataFrame({name: [values[i % len(values)] for i in range(n)], "y": [0, 1] * 30})
    _, schema = infer_schema(frame)
    assert schema.sensitive.get(kind) == name


def test_words_containing_age_are_not_age():
    frame = pd.DataFrame({"dosage": range(60), "stage": [1, 2, 3] * 20, "y": [0, 1] * 30})
    _, schema = infer_schema(frame)
    assert "age" not in schema.sensitive


def test_overrides_are_respected(support2_path):
    raw = load_table(support2_path)
    _, schema = infer_schema(
        raw,
        target="diabetes",
        positive_class=0,
        sensitive={"race": None, "sex": "sex"},
        exclude=["income"],
    )
    assert schema.target == "diabetes"
    assert schema.positive_class == "0"
    assert "race" not in schema.sensitive and schema.sensitive["sex"] == "sex"
    assert schema.sensitive["age"] == "age"
    assert schema.excluded["income"] == "excluded by the user"


def test_explicit_sensitive_list_assigns_kinds(support2_path):
    _, schema = infer_schema(load_table(support2_path), sensitive=["race", "income"])
    assert schema.sensitive == {"race": "race", "income": "income"}


def test_bad_overrides_have_clear_errors(support2_path):
    raw = load_table(support2_path)
    with pytest.raises(ConfigError, match="'nope' is not in the table"):
        infer_schema(raw, target="nope")
    with pytest.raises(ConfigError, match="positive class 'maybe' does not occur"):
        infer_schema(raw, positive_class="maybe")
    with pytest.raises(ConfigError, match="increasing"):
        infer_schema(raw, age_bands=(50, 40))
    with pytest.raises(DataError, match="only one value"):
        infer_schema(raw.assign(died_within_6_months=1), target="died_within_6_months")


@pytest.mark.parametrize(
    ("values", "positive"),
    [
        (["Yes", "No", "No"], "Yes"),
        (["no", "yes"], "yes"),
        ([0, 1, 1], "1"),
        ([True, False], "True"),
        (["in", "out", "out"], "in"),
        (["out", "in"], "in"),
        (["A", "B", "B", "B"], "A"),
    ],
)
def test_positive_class_mapping(values, positive):
    assert detect_positive_class(pd.Series(values)) == positive


def test_binarize_and_age_bands():
    y = binarize_target(pd.Series(["in", "out", None, "in"]), "in")
    assert y.tolist()[:2] == [1.0, 0.0] and np.isnan(y[2])
    assert age_band_labels() == ["<30", "30-44", "45-64", "65-79", "80+"]
    banded = add_age_band(pd.DataFrame({"age": [18, 30, 44.9, 45, 79, 80, 101, None]}), "age")
    bands = banded["age_band"].tolist()
    assert bands[:7] == ["<30", "30-44", "30-44", "45-64", "65-79", "80+", "80+"]
    assert pd.isna(bands[7])
    assert age_band_labels((40, 60)) == ["<40", "40-59", "60+"]
