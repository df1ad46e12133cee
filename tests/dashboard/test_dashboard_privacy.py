"""The privacy panel (Compare page), its sidecar and the report's privacy section, on a
finished tiny audit of real SUPPORT2 rows (real worker, real pipeline)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from mcrage_core.jobs import RunRegistry

OWNER = "dashboard-tests-owner-0001"


def _run_dir(home: Path) -> Path:
    (record,) = RunRegistry(home).list_runs(OWNER)
    return Path(record.run_dir)


def _panel_table(at):
    frame = next(df.value for df in at.dataframe if "Reading" in df.value.columns)
    return frame.data if hasattr(frame, "data") else frame  # a Styler holds the frame


def test_sidecar_and_report_carry_the_same_assessment(finished_home) -> None:
    folder = _run_dir(finished_home)
    sidecar = json.loads((folder / "synthetic.privacy.json").read_text(encoding="utf-8"))
    results = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    assert sidecar["worst"] in ("green", "amber", "red")
    assert sidecar["readings"] == results["fidelity"]["privacy"]["readings"]
    n_synth = len(pd.read_csv(folder / "synthetic.csv"))
    assert sidecar["n_rows"] == n_synth == sidecar["n_synthetic"]
    membership = sidecar["membership"]
    overall = [m for m in membership if m["column"] == "(all)"]
    assert {m["attack"] for m in overall} == {"distance", "density"}
    for m in overall:
        assert 0.0 <= m["auc"] <= 1.0 and m["ci_low"] <= m["auc"] <= m["ci_high"]
    race = [m for m in membership if m["column"] == "race"]
    assert race and all(m["n_members"] >= 0 for m in race)
    assert sidecar["disclosure"] and sidecar["settings"]["sensitive"] == "died_within_6_months"
    report = (folder / "report.html").read_text(encoding="utf-8")
    assert 'id="privacy"' in report and 'id="privacy-headline"' in report
    assert "Membership" in report and "membership (distance)" in report


def test_privacy_panel_shows_lights_and_thresholds_move_them(results_app) -> None:
    at = results_app.switch_page("app_pages/compare.py").run()
    assert not at.exception
    assert any(s.value == "Privacy risks" for s in at.subheader)
    table = _panel_table(at)
    assert {"Risk", "What", "Who", "Interval (95 %)", "Patients"} <= set(table.columns)
    assert (table["What"] == "membership (distance)").any()

    def lights_follow(frame, green_up_to: float) -> None:
        rows = frame[frame["What"].str.startswith("membership") & (frame["Value"] != "")]
        assert len(rows)
        for value, risk in zip(rows["Value"].astype(float), rows["Risk"], strict=True):
            assert (risk == "low") == (value <= green_up_to), (value, risk)

    lights_follow(table, 0.55)
    at.slider(key="privacy_membership_bounds").set_value((0.5, 0.5)).run()
    assert not at.exception
    stricter = _panel_table(at)
    lights_follow(stricter, 0.5)
    assert "download_privacy" in {b.key for b in at.get("download_button")}
