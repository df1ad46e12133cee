"""The combined privacy assessment (traffic lights, sidecar round trip) and `mcrage privacy`
on a leaky and an honest generator built from real SUPPORT2 rows."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mcrage_core.presentation.privacy import privacy_assessment, privacy_headline, privacy_table
from mcrage_core.privacy import PrivacyAssessment, assess_privacy

from .test_membership import _support2_split

BY = ["race", "sex", "age_band"]


@pytest.fixture(scope="module")
def split(support2_df: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return _support2_split(support2_df)


def _assess(split, synthetic: str, **kw) -> PrivacyAssessment:
    return assess_privacy(
        split["train"], split["holdout"], split[synthetic], by=BY,
        sensitive="died_within_6_months", n_boot=100, **kw,
    )  # fmt: skip


def test_leaky_generator_is_red_and_honest_is_not(split) -> None:
    leaky, honest = _assess(split, "leaky"), _assess(split, "honest")
    assert leaky.worst_light() == "red"
    assert "Do not share" in privacy_headline(leaky)
    red = [r for r in leaky.readings() if r.light == "red"]
    assert any(r.measure.startswith("membership") and r.scope == "all" for r in red)
    assert honest.worst_light() != "red"
    overall = [r for r in honest.readings() if r.measure.startswith("membership")]
    assert all(r.light == "green" for r in overall if r.scope == "all")


def test_small_groups_above_threshold_read_amber_not_red(split) -> None:
    honest = _assess(split, "honest")
    for r in honest.readings():
        if r.light == "amber" and r.ci_low is not None and r.measure.startswith("membership"):
            assert r.ci_low <= 0.5 or r.value <= honest.thresholds["membership_auc"][1]


def test_round_trip_and_user_thresholds(split) -> None:
    honest = _assess(split, "honest", dp={"epsilon_spent": 3.2, "delta": 1e-5})
    data = json.loads(json.dumps(honest.to_dict(), allow_nan=False))
    back = PrivacyAssessment.from_dict(data)
    assert [r.sentence for r in back.readings()] == [r.sentence for r in honest.readings()]
    dp = back.readings()[0]
    assert dp.measure == "differential privacy" and dp.value == 3.2 and dp.light == "amber"
    strict = privacy_assessment({"privacy": data}, {"membership_auc": (0.5, 0.5)})
    assert strict is not None
    for r in strict.readings():
        if r.measure.startswith("membership") and r.value is not None:
            assert (r.light == "green") == (r.value <= 0.5)
    table = privacy_table(strict)
    assert list(table.columns)[:3] == ["Risk", "What", "Who"] and len(table) == len(
        strict.readings()
    )


def test_exact_copies_in_a_file_are_red(split) -> None:
    copies = pd.concat([split["honest"], split["train"].head(5)], ignore_index=True)
    found = assess_privacy(split["train"], split["holdout"], copies, by=["race"])
    reading = next(r for r in found.readings() if r.measure == "exact copies")
    assert reading.value == 5 and reading.light == "red"


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mcrage_core.cli", "privacy", *args],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_cli_reports_a_leak_and_refuses_unknown_columns(split, tmp_path: Path) -> None:
    paths = {}
    for name in ("train", "holdout", "leaky"):
        paths[name] = tmp_path / f"{name}.csv"
        split[name].to_csv(paths[name], index=False)
    files = [str(paths[n]) for n in ("train", "holdout", "leaky")]
    proc = _cli(*files, "--by", "race", "--infer", "died_within_6_months", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["worst"] == "red" and out["settings"]["by"] == ["race"]
    auc = [m["auc"] for m in out["membership"] if m["column"] == "(all)"]
    assert len(auc) == 2 and min(auc) > 0.8
    text = _cli(*files, "--by", "race")
    assert text.returncode == 0 and "[RISK] membership (distance) (all)" in text.stdout
    bad = _cli(*files, "--by", "ward")
    assert bad.returncode == 2 and "ward" in bad.stderr and "Traceback" not in bad.stderr
    assert np.isfinite(auc).all()
