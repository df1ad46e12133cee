from __future__ import annotations

import json

import pandas as pd
import pytest

from mcrage_core.errors import ConfigError
from mcrage_core.tables import audit_imbalance, infer_schema, load_table, wilson_interval


def test_wilson_interval_known_values():
    lo, hi = wilson_interval(5, 10)
    assert lo == pytest.approx(0.2366, abs=1e-3) and hi == pytest.approx(0.7634, abs=1e-3)
    lo, hi = wilson_interval(0, 10)
    assert lo == 0.0 and hi == pytest.approx(0.2775, abs=1e-3)
    assert all(map(lambda v: v != v, wilson_interval(0, 0)))  # nan


@pytest.fixture(scope="module")
def support2_report(support2_path):
    df, schema = infer_schema(load_table(support2_path))
    return audit_imbalance(df, schema), df


def test_support2_group_counts_match_sample_readme(support2_report):
    report, df = support2_report
    race = report.groups[report.groups["attribute"] == "race"].set_index("group")["n"].to_dict()
    assert race == {"white": 7191, "black": 1391, "hispanic": 290, "other": 112, "asian": 79}
    sex = report.groups[report.groups["attribute"] == "sex"].set_index("group")["n"].to_dict()
    assert sex == {"male": 5125, "female": 3980}
    age = report.groups[report.groups["kind"] == "age"]
    assert age["n"].sum() == 9105
    assert list(age["group"]) == ["<30", "30-44", "45-64", "65-79", "80+"]


def test_summary_ratios_missing_and_prevalence(support2_report):
    report, df = support2_report
    s = report.summary.set_index("attribute")
    assert s.loc["race", "imbalance_ratio"] == pytest.approx(7191 / 79)
    assert s.loc["race", "n_missing"] == 42
    assert s.loc["race", "largest"] == "white" and s.loc["race", "smallest"] == "asian"
    black = report.groups.query("group == 'black'").iloc[0]
    expected = df.loc[df["race"] == "black", "died_within_6_months"].mean()
    assert black["outcome_rate"] == pytest.approx(expected)
    assert black["ci_low"] < expected < black["ci_high"]
    assert black["share"] == pytest.approx(1391 / (9105 - 42))


def test_intersection_and_small_cells(support2_report):
    report, df = support2_report
    inter = report.intersection
    assert set(["race", "sex", "age_band", "n"]).issubset(inter.columns)
    assert inter["n"].sum() == 9105 - 42
    cell = inter[
        (inter["race"] == "asian") & (inter["sex"] == "female") & (inter["age_band"] == "<30")
    ]
    expected = ((df["race"] == "asian") & (df["sex"] == "female") & (df["age"] < 30)).sum()
    assert (cell["n"].sum() if len(cell) else 0) == expected
    assert report.small_cells["n"].lt(30).all()
    assert any("intersectional cells" in w for w in report.warnings())


def test_small_cell_threshold_is_configurable(support2_path):
    df, schema = infer_schema(load_table(support2_path))
    report = audit_imbalance(df, schema, small_cell=100)
    flagged = set(report.groups[report.groups["small_cell"]]["group"])
    assert flagged == {"asian"}
    with pytest.raises(ConfigError):
        audit_imbalance(df, schema, small_cell=0)


def test_report_is_json_serialisable(support2_report):
    report, _ = support2_report
    text = json.dumps(report.to_dict(), allow_nan=False)
    back = json.loads(text)
    assert back["groups"][0]["attribute"] == "race"
    assert back["n_rows"] == 9105


def test_no_sensitive_attribute_is_a_clear_error():
    frame = pd.DataFrame({"x": range(40), "y": [0, 1] * 20})
    df, schema = infer_schema(frame)
    with pytest.raises(ConfigError, match="No sensitive attribute"):
        audit_imbalance(df, schema)
