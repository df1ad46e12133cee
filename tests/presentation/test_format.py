"""Display formatting shared by the dashboard and the report: numbers, labels, group order."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from mcrage_core.presentation.format import (
    BASELINE,
    NO_VALUE,
    fmt_change,
    fmt_count,
    fmt_duration,
    fmt_group,
    fmt_interval,
    fmt_number,
    fmt_pct,
    fmt_signed,
    fmt_value,
    fmt_with_change,
    format_table,
)


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [
        (0.1 + 0.2, 2, "0.30"),
        (0.30000000000000004, 3, "0.300"),
        (1234.5, 2, "1,234.50"),
        (np.float64(0.8125), 3, "0.812"),
        (-0.0001, 2, "0.00"),  # never "-0.00"
        (2, 1, "2.0"),
    ],
)
def test_fmt_number_has_fixed_decimals_and_no_float_noise(value, decimals, expected) -> None:
    assert fmt_number(value, decimals) == expected


@pytest.mark.parametrize(
    "missing", [None, float("nan"), np.nan, pd.NA, math.inf, np.float64("nan")]
)
def test_missing_numbers_show_a_dash_never_none_or_nan(missing) -> None:
    for fmt in (fmt_number, fmt_signed, fmt_count, fmt_pct, fmt_value, fmt_duration):
        assert fmt(missing) == NO_VALUE
    assert fmt_interval(missing, 0.5) == NO_VALUE
    assert fmt_with_change(missing, 0.1) == NO_VALUE


def test_counts_are_whole_numbers_with_thousands_separators() -> None:
    assert fmt_count(9105) == "9,105"
    assert fmt_count(np.int64(1_234_567)) == "1,234,567"
    assert fmt_count(12.0) == "12"  # counts that travelled through JSON as floats
    assert fmt_value(np.int64(4412)) == "4,412"


def test_percentages_intervals_and_changes() -> None:
    assert fmt_pct(0.3) == "30.0 %"
    assert fmt_pct(0.30000000000000004, 0) == "30 %"
    assert fmt_interval(0.30000000000000004, 0.45) == "0.30 to 0.45"
    assert fmt_interval(0.1, 0.25, pct=True) == "10.0 % to 25.0 %"
    assert fmt_signed(0.05) == "+0.05"
    assert fmt_signed(-0.1) == "-0.10"
    assert fmt_signed(0.0) == "0.00"
    assert fmt_change(float("nan"), baseline=True) == BASELINE
    assert fmt_change(0.0131) == "+0.013"
    assert fmt_with_change(0.8, None, baseline=True) == "0.800 (baseline)"
    assert fmt_with_change(0.8125, 0.0131) == "0.812 (+0.013)"
    assert fmt_with_change(0.8125, float("nan")) == "0.812"


def test_durations() -> None:
    assert fmt_duration(42.4) == "42 s"
    assert fmt_duration(130) == "2 min 10 s"
    assert fmt_duration(7300) == "2 h 01 min"
    assert fmt_duration(-3) == "0 s"


def test_missing_group_labels_read_missing() -> None:
    assert fmt_group(float("nan")) == "(missing)" and fmt_group(None) == "(missing)"
    assert fmt_group("<30") == "<30"


def test_fmt_value_keeps_text_and_reads_booleans() -> None:
    assert fmt_value("nan") == "nan"  # a user's text is never taken for a missing number
    assert fmt_value(True) == "yes" and fmt_value(np.bool_(False)) == "no"
    assert fmt_value(0.1 + 0.2) == "0.30"


def test_format_table_formats_every_cell_and_humanizes_headers() -> None:
    frame = pd.DataFrame(
        {
            "group": ["<30", "30-44"],
            "n": [1234, 56],
            "ci_low": [0.30000000000000004, float("nan")],
            "small_cell": [True, False],
        }
    )
    shown = format_table(frame, {"ci_low": fmt_pct})
    assert list(shown.columns) == ["Group", "Rows", "95 % CI low", "Small group"]
    assert shown.to_dict("list") == {
        "Group": ["<30", "30-44"],
        "Rows": ["1,234", "56"],
        "95 % CI low": ["30.0 %", NO_VALUE],
        "Small group": ["yes", "no"],
    }


def test_training_sentence_says_how_long_and_why_training_ended() -> None:
    from mcrage_core.presentation.format import training_sentence

    info = {
        "steps": 1650,
        "wall_s": 50.2,
        "device": "cpu",
        "stop_reason": "time",
        "stopped_because": "used its time budget",
        "time_budget_s": 50.0,
        "validation_rows": 362,
    }
    text = training_sentence({"info": info})
    assert text == (
        "The generator trained for 1,650 steps in 50 s on cpu and used its time budget "
        "of 50 s; 362 rows were held out to check it on unseen data."
    )
    plateau = {**info, "stop_reason": "plateau", "stopped_because": "stopped when the loss"}
    assert "stopped when the loss;" in training_sentence({"info": plateau})
    assert training_sentence({}) == "" and training_sentence({"info": {"steps": 0}}) == ""
