"""Role detection on exports that follow other naming conventions and codings than the
bundled samples: MIMIC-style, the UCI diabetes-130 style, eICU-style, Framingham-style,
OMOP-style, NHS-style. Each frame imitates the public schema of such an export."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mcrage_core.tables import audit_imbalance, infer_schema

N = 300
RNG = np.random.default_rng(42)


def pick(values, n=N, p=None):
    return RNG.choice(values, n, p=p)


def mimic() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "subject_id": RNG.permutation(np.arange(10_000_000, 10_000_000 + N)),
            "hadm_id": RNG.permutation(np.arange(20_000_000, 20_000_000 + N)),
            "admittime": [f"2180-0{1 + i % 9}-1{i % 9} 08:15:00" for i in range(N)],
            "gender": pick(["M", "F"]),
            "anchor_age": RNG.integers(18, 91, N),
            "race": pick(
                ["WHITE", "BLACK/AFRICAN AMERICAN", "HISPANIC/LATINO - PUERTO RICAN", "ASIAN"]
            ),
            "insurance": pick(["Medicare", "Medicaid", "Other"]),
            "lactate": RNG.normal(2, 0.5, N).round(1),
            "hospital_expire_flag": pick([0, 1], p=[0.9, 0.1]),
            "los_days": RNG.gamma(2, 3, N).round(1),
        }
    )


def diabetes130() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "encounter_id": RNG.permutation(np.arange(100_000, 100_000 + N)),
            "patient_nbr": RNG.permutation(np.arange(500_000, 500_000 + N)),
            "race": pick(["Caucasian", "AfricanAmerican", "Hispanic", "Asian", "?"]),
            "gender": pick(["Female", "Male"]),
            "age": pick(["[40-50)", "[50-60)", "[60-70)", "[70-80)"]),
            "time_in_hospital": RNG.integers(1, 14, N),
            "num_medications": RNG.integers(1, 40, N),
            "A1Cresult": pick(["None", ">7", "Norm"]),
            "readmitted": pick(["NO", ">30", "<30"], p=[0.5, 0.35, 0.15]),
        }
    )


def eicu() -> pd.DataFrame:
    age = RNG.integers(18, 90, N).astype(str).astype(object)
    age[:6] = "> 89"
    return pd.DataFrame(
        {
            "patientunitstayid": RNG.permutation(np.arange(141_000, 141_000 + N)),
            "gender": pick(["Male", "Female"]),
            "age": age,
            "ethnicity": pick(
                ["Caucasian", "African American", "Hispanic", "Asian", "Native American"]
            ),
            "apachescore": RNG.integers(10, 120, N),
            "hospitaldischargestatus": pick(["Alive", "Expired"], p=[0.88, 0.12]),
            "unitdischargeoffset": RNG.integers(100, 10_000, N),
        }
    )


def framingham() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "male": pick([0, 1]),
            "age": RNG.integers(32, 70, N),
            "education": pick([1.0, 2.0, 3.0, 4.0]),
            "currentSmoker": pick([0, 1]),
            "totChol": RNG.normal(236, 44, N).round(),
            "sysBP": RNG.normal(132, 22, N).round(1),
            "TenYearCHD": pick([0, 1], p=[0.85, 0.15]),
        }
    )


def omop() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "person_id": RNG.permutation(np.arange(1, N + 1)),
            "gender_concept_id": pick([8507, 8532]),
            "year_of_birth": RNG.integers(1930, 2000, N),
            "race_concept_id": pick([8527, 8516, 8515]),
            "ethnicity_concept_id": pick([38003563, 38003564]),
            "age_at_index": RNG.integers(20, 90, N),
            "measurement_value": RNG.normal(5, 1, N),
            "death_within_1y": pick([0, 1], p=[0.8, 0.2]),
        }
    )


def nhs() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "NHS Number": [f"{4000000000 + i * 7919}" for i in range(N)],
            "Patient Name": [f"Patient {i} Jones" for i in range(N)],
            "Postcode": [f"SW{i % 20} {i % 9}AB" for i in range(N)],
            "Ethnic Group": pick(
                ["White British", "Black African", "Indian", "Mixed", "White Other"]
            ),
            "Sex": pick(["Male", "Female"]),
            "Age At Admission": RNG.integers(18, 99, N),
            "Length Of Stay": RNG.integers(0, 30, N),
            "Died In Hospital": pick(["Y", "N"], p=[0.1, 0.9]),
        }
    )


CASES = {
    "mimic": (
        mimic,
        {"race": "race", "sex": "gender", "age": "anchor_age"},
        "hospital_expire_flag",
        "1",
        {"subject_id", "hadm_id", "admittime"},
    ),
    "diabetes130": (
        diabetes130,
        {"race": "race", "sex": "gender", "age": "age"},
        "readmitted",
        "<30",
        {"encounter_id", "patient_nbr"},
    ),
    "eicu": (
        eicu,
        {"race": "ethnicity", "sex": "gender", "age": "age"},
        "hospitaldischargestatus",
        "Expired",
        {"patientunitstayid"},
    ),
    "framingham": (framingham, {"sex": "male", "age": "age"}, "TenYearCHD", "1", set()),
    "omop": (
        omop,
        {"race": "race_concept_id", "sex": "gender_concept_id", "age": "age_at_index"},
        "death_within_1y",
        "1",
        {"person_id"},
    ),
    "nhs": (
        nhs,
        {"race": "Ethnic Group", "sex": "Sex", "age": "Age At Admission"},
        "Died In Hospital",
        "Y",
        {"NHS Number", "Patient Name"},
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_roles_on_other_exports(name):
    build, sensitive, target, positive, identifiers = CASES[name]
    df, schema = infer_schema(build())
    assert schema.sensitive == sensitive
    assert schema.target == target
    assert schema.positive_class == positive
    assert identifiers <= set(schema.excluded), schema.excluded
    assert not (identifiers & set(schema.features))
    report = audit_imbalance(df, schema)
    assert report.groups["n"].sum() > 0
    assert set(report.groups["kind"]) == set(sensitive)


def test_question_marks_and_text_ages_become_missing_with_a_warning():
    df, schema = infer_schema(diabetes130())
    assert df["race"].isna().sum() > 0 and "?" not in set(df["race"].dropna())
    df, schema = infer_schema(eicu())
    assert df["age"].isna().sum() == 6
    assert any("'age': 6 value(s)" in w and "'> 89'" in w for w in schema.warnings)


def test_banded_age_is_used_as_groups():
    df, schema = infer_schema(diabetes130())
    report = audit_imbalance(df, schema)
    ages = set(report.groups.query("kind == 'age'")["group"])
    assert ages == {"[40-50)", "[50-60)", "[60-70)", "[70-80)"}
