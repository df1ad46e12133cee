"""Good / fair / poor readings of the fidelity scores."""

from __future__ import annotations

import math

from mcrage_core.fidelity import (
    FIDELITY_HELP,
    FIDELITY_THRESHOLDS,
    fidelity_verdict,
    fidelity_verdicts,
)


def test_verdicts_follow_the_stated_thresholds():
    assert fidelity_verdict("detection_auc", 0.62) == "good"
    assert fidelity_verdict("detection_auc", 0.80) == "fair"
    assert fidelity_verdict("detection_auc", 0.90) == "poor"
    assert fidelity_verdict("column_shapes", 0.95) == "good"
    assert fidelity_verdict("column_shapes", 0.71) == "poor"
    assert fidelity_verdict("exact_copies", 0) == "good"
    assert fidelity_verdict("exact_copies", 1) == "poor"


def test_no_verdict_without_a_number():
    assert fidelity_verdict("detection_auc", None) is None
    assert fidelity_verdict("detection_auc", math.nan) is None
    assert fidelity_verdict("detection_auc", "n/a") is None
    assert fidelity_verdict("n_real", 10) is None


def test_every_judged_score_has_help_text():
    assert set(FIDELITY_HELP) == set(FIDELITY_THRESHOLDS)
    overall = {"column_shapes": 0.93, "detection_auc": math.nan, "n_real": 5}
    assert fidelity_verdicts(overall) == {"column_shapes": "good"}
