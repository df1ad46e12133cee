"""The results tables are prepared once: the report writes exactly the tables the
dashboard shows (same headers, same cells), and the 80 % rule reads as the verdict says."""

from __future__ import annotations

import pandas as pd

from mcrage_core.evaluation.results import AuditResults
from mcrage_core.evaluation.verdicts import four_fifths_text
from mcrage_core.presentation import render_report, tables
from mcrage_core.presentation.report.html import html_table


def test_strategies_side_by_side(tiny_results: AuditResults) -> None:
    table = tables.comparison_table(tiny_results)
    assert list(table.columns) == ["Strategy", "Accuracy", "F1 score", "AUROC", "Test rows"]
    assert table.to_dict("list") == {
        "Strategy": ["No change (baseline)", "Oversample"],
        "Accuracy": ["0.750 (baseline)", "0.770 (+0.020)"],
        "F1 score": ["0.600 (baseline)", "0.620 (+0.020)"],
        "AUROC": ["0.800 (baseline)", "0.820 (+0.020)"],
        "Test rows": ["170", "170"],
    }


def test_per_group_table_in_age_order_with_sizes_and_intervals(
    tiny_results: AuditResults,
) -> None:
    table = tables.group_table(tiny_results, "age_band", "f1")
    assert list(table.columns) == [
        "Strategy",
        "Group",
        "Test rows",
        "F1 score",
        tables.INTERVAL_COLUMN,
        "Change vs baseline",
        "Note",
    ]
    assert list(table["Group"][:3]) == ["<30", "30-44", "80+"]
    assert list(table["Strategy"]) == ["No change (baseline)"] * 3 + ["Oversample"] * 3
    first = table.iloc[0]
    assert (first["Test rows"], first["F1 score"]) == ("120", "0.500")
    assert first[tables.INTERVAL_COLUMN] == "0.420 to 0.580"
    assert first["Change vs baseline"] == "baseline"
    assert list(table["Note"][:3]) == ["", tables.TOO_SMALL, ""]


def test_the_80_rule_column_is_the_verdicts_text(tiny_results: AuditResults) -> None:
    table = tables.disparity_table(tiny_results, "age_band")
    assert list(table.columns) == [
        "Strategy",
        "Demographic parity ratio",
        "Demographic parity difference",
        "Equalized odds difference",
        "Worst-group F1",
        tables.RULE_COLUMN,
    ]
    assert list(table[tables.RULE_COLUMN]) == [
        four_fifths_text(tiny_results, s, "age_band") for s in tiny_results.strategies
    ]
    assert list(table[tables.RULE_COLUMN]) == ["not met", "met"]
    assert table.iloc[1]["Demographic parity ratio"] == "0.850 (+0.150)"


def test_the_report_writes_the_dashboards_tables(tiny_results: AuditResults) -> None:
    text = render_report(tiny_results)
    for table in (
        tables.comparison_table(tiny_results),
        tables.disparity_table(tiny_results, "age_band"),
    ):
        assert html_table(table) in text


def test_detail_tables_carry_intervals_and_changes(tiny_results: AuditResults) -> None:
    overall = tables.interval_table(tiny_results, "overall")
    assert overall.loc[1, "F1 score (95 % interval)"] == "0.620 (0.570 to 0.670)"
    assert overall.loc[0, "Δ F1 score"] == "—"  # the baseline has no change
    gaps = tables.disparity_interval_table(tiny_results, "age_band")
    assert gaps.loc[1, "Δ Demographic parity ratio"] == "+0.150 (+0.100 to +0.200)"
    assert tables.RULE_COLUMN not in gaps.columns


def test_rare_outcome_base_rates_notes_and_excluded_groups(tiny_results: AuditResults) -> None:
    assert not tables.is_rare_outcome(tiny_results)
    tiny_results.dataset["prevalence"] = 0.05
    assert "pr_auc" in tables.headline_metrics(tiny_results)
    assert "pr_auc" in tables.group_metric_choices(tiny_results)
    base = tables.base_rate_table(tiny_results, "age_band")
    assert list(base.columns) == [
        "Group",
        "Test rows",
        "Real outcome rate (base rate)",
        tables.INTERVAL_COLUMN,
    ]
    assert base["Real outcome rate (base rate)"].tolist() == ["20.0 %", "10.0 %", "30.0 %"]
    assert tables.excluded_groups(tiny_results, "age_band") == ["30-44"]
    assert tables.run_notes(tiny_results) == ["a note", "a strategy note"]


def test_intersection_table_combines_the_other_columns() -> None:
    inter = pd.DataFrame({"race": ["a"], "sex": ["f"], "age": ["<30"], "n": [3]})
    frame, rows, across = tables.intersection_table(inter, ["race", "sex", "age"])
    assert (rows, across) == ("race", "sex · age")
    assert frame[across].tolist() == ["f · <30"]
    frame, rows, across = tables.intersection_table(inter, ["race"])
    assert (rows, across, frame["all"].tolist()) == ("race", "all", ["all"])
