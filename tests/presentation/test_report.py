"""The self-contained HTML report and the plain summary."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from mcrage_core.evaluation import AuditConfig, run_audit
from mcrage_core.evaluation.results import AuditResults
from mcrage_core.presentation.report import plain_summary, render_report
from mcrage_core.presentation.report.html import cell_text, html_table
from mcrage_core.tables import infer_schema

TARGET = "died_within_6_months"
slow = pytest.mark.slow  # the tests on a real audit


def test_cells_read_like_the_dashboard() -> None:
    assert cell_text(12.0) == "12"  # counts travel through JSON as floats
    assert cell_text(0.1 + 0.2) == "0.300"
    assert cell_text(float("nan")) == cell_text(None) == "—"
    assert cell_text(True) == "yes"
    assert cell_text({"race": 3}) == "race: 3"
    assert "more rows not shown" in html_table(pd.DataFrame({"a": range(5)}), max_rows=2)


def test_a_small_report_has_every_section(tiny_results: AuditResults) -> None:
    text = render_report(tiny_results, title="Tiny")
    for anchor in ("summary", "dataset", "imbalance", "plan", "fidelity", "metrics"):
        assert f'id="{anchor}"' in text
    assert "No synthetic rows were generated in this run." in text
    assert not re.search(r"\d\.\d{5,}", re.sub(r"<script.*?</script>", "", text, flags=re.S))


def test_the_summary_names_the_four_fifths_rule_as_the_tables_do(
    tiny_results: AuditResults,
) -> None:
    d = tiny_results.disparity
    d.loc[
        (d["metric"] == "demographic_parity_ratio") & (d["strategy"] == "oversample"), "value"
    ] = 0.5
    text = plain_summary(tiny_results)
    assert "(four-fifths rule not met)" in text
    assert "By age_band, F1 ranged from" in text


@slow
def test_report_is_self_contained_and_complete(small_audit) -> None:
    results = small_audit
    text = render_report(results, title="Audit <test>")
    assert text.startswith("<!DOCTYPE html>")
    assert "<title>Audit &lt;test&gt;</title>" in text
    # plotly.js embedded exactly once, no outside resources
    assert text.count("plotly.js v") <= 2 and "Plotly.newPlot" in text
    assert not re.search(r"""<(script|link|img)[^>]+(src|href)=["']?(https?:)?//""", text)
    for heading in (
        "Dataset",
        "Imbalance",
        "Augmentation plan",
        "fidelity and privacy",
        "Model performance by group",
        "Fairness gaps before and after",
        "Settings and versions",
    ):
        assert heading in text
    assert results.versions["fairlearn"] in text
    assert "Intersections: race × sex · age_band" in text  # the intersectional heatmap


@slow
def test_user_text_is_escaped_everywhere(support2_small) -> None:
    df = support2_small.copy()
    evil = "<script>alert('x')</script>"
    df["race"] = df["race"].replace("white", evil)
    data, schema = infer_schema(df, target=TARGET)
    results = run_audit(
        data,
        schema,
        AuditConfig(
            TARGET,
            sensitive=("race",),
            strategies=("none",),
            seeds=1,
            folds=1,
            n_bootstrap=10,
            classifier="logreg",
        ),
    )
    text = render_report(results, title=evil)
    assert evil not in text
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in text


@slow
def test_plain_summary_speaks_about_the_rebalanced_attribute(small_audit) -> None:
    results = small_audit
    text = plain_summary(results)
    assert "race" in text and "F1" in text
    ds = results.dataset
    tested = ds["n_rows_used"] if ds["folds"] > 1 else ds["n_test"]  # pooled over the folds
    assert f"On all {tested:,} real patients" in text or f"On {tested:,} held-out" in text


@slow
def test_report_renders_from_a_saved_results_file(cddpm_audit) -> None:
    results = cddpm_audit
    fresh = render_report(results)
    assert "real versus synthetic" in fresh  # overlays need the synthetic rows
    saved = AuditResults.from_json(results.to_json())
    text = render_report(saved)
    assert "Fairness gaps before and after" in text
    assert "Closer to training rows" in text  # fidelity and privacy table survives
