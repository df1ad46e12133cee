"""Two real audits side by side: settings that differ, B − A per group with both n and
intervals, verdict agreement, and the comparison report; ``mcrage compare``."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mcrage_core.cli import main
from mcrage_core.evaluation import AuditConfig, run_audit
from mcrage_core.presentation.compare_runs import (
    compare_metrics,
    compare_verdicts,
    differences_in_settings,
    same_test_rows,
)
from mcrage_core.presentation.report.compare import render_comparison_report

TARGET = "died_within_6_months"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def two_runs(small_table):
    data, schema = small_table
    common = {"sensitive": ("race", "sex"), "strategies": ("none", "oversample"),
              "classifier": "logreg", "n_bootstrap": 30}  # fmt: skip
    a = run_audit(data, schema, AuditConfig(TARGET, folds=3, seeds=1, **common))
    b = run_audit(
        data, schema, AuditConfig(TARGET, folds=3, seeds=1, plan_mode="targeted", **common)
    )
    return a, b


def test_settings_that_differ_are_named(two_runs):
    a, b = two_runs
    diffs = differences_in_settings(a, b, label_a="max", label_b="targeted")
    assert any(d.startswith("plan: max in max, targeted in targeted") for d in diffs)
    assert not any("folds" in d for d in diffs)  # same protocol
    assert differences_in_settings(a, a) == []
    assert same_test_rows(a, b)  # same folds: same seeds and strata


def test_metrics_side_by_side_carry_n_intervals_and_the_difference(two_runs):
    a, b = two_runs
    table = compare_metrics(a, b, attribute="race", metric="f1", label_a="A", label_b="B")
    m_a, m_b = a.metrics, b.metrics
    for _, row in table.iterrows():
        assert "n =" in row["A (95 % CI), n"] and "n =" in row["B (95 % CI), n"]
        assert " to " in row["A (95 % CI), n"]  # the interval

    # B − A is the difference of the two values
    def sel(m):
        return m[(m["attribute"] == "race") & (m["metric"] == "f1") & (m["strategy"] == "none")]

    va = sel(m_a).set_index("group")["value"]
    vb = sel(m_b).set_index("group")["value"]
    first = table[table["Strategy"].str.startswith("No change")].iloc[0]
    assert float(first["B − A"]) == pytest.approx(vb[first["Group"]] - va[first["Group"]], abs=1e-3)


def test_verdicts_side_by_side_say_when_they_agree(two_runs):
    a, b = two_runs
    table = compare_verdicts(a, b, label_a="A", label_b="B")
    assert len(table) == len(
        a.verdicts.merge(b.verdicts, on=["strategy", "attribute", "group", "metric"], how="outer")
    )
    agree = table["A: verdict"] == table["B: verdict"]
    assert ((table["Agree"] == "yes") == agree).all()
    same = compare_verdicts(a, a)
    assert (same["Agree"] == "yes").all()
    # a verdict changed by hand is a disagreement
    changed = b.verdicts.copy()
    changed.loc[changed.index[0], "verdict"] = (
        "hurt" if changed["verdict"].iloc[0] != "hurt" else "helped"
    )
    b2 = type(b).from_dict({**b.to_dict(), "verdicts": changed.to_dict(orient="records")})
    assert (compare_verdicts(b, b2)["Agree"] == "no").sum() == 1


def test_comparison_report_is_self_contained(two_runs):
    a, b = two_runs
    html = render_comparison_report(a, b, label_a="max <plan>", label_b="targeted")
    assert html.startswith("<!DOCTYPE html>")
    assert (
        "max &lt;plan&gt;" in html and "<plan>" not in html.split("<body>")[1].split("<script")[0]
    )
    assert html.count("plotly.js v") <= 1 or html.count("Plotly=") <= 1
    assert 'src="http' not in html and "Verdicts side by side" in html


def test_cli_compare_writes_the_report_and_refuses_bad_paths(two_runs, tmp_path, capsys):
    a, b = two_runs
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "results.json").write_text(a.to_json(), encoding="utf-8")
    (tmp_path / "b.json").write_text(b.to_json(), encoding="utf-8")
    out = tmp_path / "cmp.html"
    code = main(["compare", str(tmp_path / "a"), str(tmp_path / "b.json"), "--out", str(out),
                 "--label-a", "max", "--label-b", "targeted"])  # fmt: skip
    text = capsys.readouterr().out
    assert code == 0 and out.is_file()
    assert "plan: max in max, targeted in targeted" in text and "Verdicts agree" in text
    assert "max" in out.read_text(encoding="utf-8")
    code = main(["compare", str(tmp_path / "a"), str(tmp_path / "b.json"), "--json"])
    data = json.loads(capsys.readouterr().out)
    assert data["differences"] and len(data["verdicts"]) == len(compare_verdicts(a, b))
    (tmp_path / "bad.json").write_text("{not json", encoding="utf-8")
    for bad in (tmp_path / "missing", tmp_path / "bad.json"):
        code = main(["compare", str(bad), str(tmp_path / "b.json")])
        err = capsys.readouterr().err
        assert code == 2 and "Traceback" not in err
        assert len([ln for ln in err.splitlines() if ln.startswith("error:")]) == 1
    assert np.isfinite(a.verdicts["delta"]).all()
