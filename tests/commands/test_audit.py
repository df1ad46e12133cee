"""``mcrage audit`` from the command line."""

from __future__ import annotations

import json

import pytest

from mcrage_core.cli import main

TARGET = "died_within_6_months"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def small_csv(support2_small, tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "support2_small.csv"
    support2_small.to_csv(path, index=False)
    return path


def test_audit_writes_results_report_and_synthetic_csv(small_csv, tmp_path, capsys):
    out = tmp_path / "run"
    code = main(
        [
            "audit",
            str(small_csv),
            "--target",
            TARGET,
            "--sensitive",
            "race",
            "--sensitive",
            "sex",
            "--strategies",
            "none,oversample,threshold",
            "--classifier",
            "logreg",
            "--seeds",
            "1",
            "--bootstrap",
            "20",
            "--out",
            str(out),
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert set(data["strategies"]) == {"none", "oversample", "threshold"}
    race = data["strategies"]["oversample"]["by_group"]["race"]["black"]
    assert {"n", "accuracy", "f1", "auroc", "f1_ci_low", "f1_ci_high"} <= set(race)
    assert "equalized_odds_difference" in data["strategies"]["threshold"]["disparity"]
    html_text = (out / "report.html").read_text(encoding="utf-8")
    assert html_text.startswith("<!DOCTYPE html>")
    synthetic = (out / "synthetic.csv").read_text(encoding="utf-8")
    assert synthetic.splitlines()[0].startswith("age,")  # header; no CDDPM rows requested
    assert "Checking the data" in captured.err  # progress on stderr
    summary = json.loads(captured.out.strip().splitlines()[-1])
    assert set(summary["strategies"]) == {"none", "oversample", "threshold"}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--target", "no_such_outcome", "--sensitive", "race"], "no_such_outcome"),
        (["--target", TARGET, "--sensitive", "race", "--strategies", "none,magic"], "magic"),
        (["--target", TARGET, "--sensitive", "race", "--plan", "share"], "--share"),
    ],
)
def test_bad_input_exits_2_with_one_error_line(small_csv, tmp_path, capsys, extra, message):
    code = main(["audit", str(small_csv), *extra, "--seeds", "1", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and message in lines[0]


def test_quick_audit_with_a_targeted_plan_writes_verdicts(small_csv, tmp_path, capsys):
    out = tmp_path / "quick"
    code = main(
        [
            "audit",
            str(small_csv),
            "--target",
            TARGET,
            "--sensitive",
            "race",
            "--sensitive",
            "sex",
            "--strategies",
            "none,oversample,reweigh",
            "--classifier",
            "logreg",
            "--quick",
            "--plan",
            "targeted",
            "--worst",
            "2",
            "--max-synthetic-ratio",
            "0.5",
            "--out",
            str(out),
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert data["settings"]["folds"] == 3 and data["settings"]["seeds"] == 1  # --quick
    keys = {"strategy", "attribute", "group", "metric", "baseline", "value", "delta"}
    keys |= {"ci_low", "ci_high", "test", "verdict"}
    verdicts = data["verdicts"]
    assert verdicts and all(keys <= set(v) for v in verdicts)
    assert {v["strategy"] for v in verdicts} == {"oversample", "reweigh"}
    assert {v["verdict"] for v in verdicts} <= {"helped", "no measurable change", "hurt"}
    assert all(v["ci_low"] <= v["ci_high"] for v in verdicts)
    plan = data["plan"]
    assert all(row["reason"] for row in plan)
    raised = {row["race"] for row in plan if row["n_add"] > 0}
    assert len(raised) <= 2
    for group in raised:
        real = sum(r["n_real"] for r in plan if r["race"] == group)
        added = sum(r["n_add"] for r in plan if r["race"] == group)
        assert added <= 0.5 * real
    assert "Verdicts on F1 for race" in captured.err  # the paragraph in the terminal too
    summary = json.loads(captured.out.strip().splitlines()[-1])
    assert sum(summary["verdicts"].values()) == len(verdicts)
    report = (out / "report.html").read_text(encoding="utf-8")
    assert 'id="verdict-paragraph"' in report
    assert report.index('id="verdicts"') < report.index('id="summary"')  # at the top
