"""Plotly figure builders and the self-contained HTML report."""

from __future__ import annotations

import re

import plotly.graph_objects as go
import pytest

from mcrage_core.errors import ConfigError
from mcrage_core.evaluation.pipeline import AuditConfig, run_audit
from mcrage_core.evaluation.results import AuditResults
from mcrage_core.presentation import plots
from mcrage_core.presentation.report import plain_summary, render_report
from mcrage_core.tables.schema import infer_schema

TARGET = "died_within_6_months"
pytestmark = pytest.mark.slow


def test_metric_bars_have_one_trace_per_strategy_with_error_bars(small_audit):
    results, _, _ = small_audit
    fig = plots.metric_bars_by_group(results, metric="f1", attribute="race")
    assert isinstance(fig, go.Figure)
    assert [t.name for t in fig.data] == [
        results.dataset["strategy_labels"][s] for s in results.strategies
    ]
    for trace in fig.data:
        assert trace.error_y.array is not None
        assert all("n=" in x for x in trace.x)
    assert "F1" in fig.layout.title.text
    with pytest.raises(ConfigError):
        plots.metric_bars_by_group(results, metric="kappa")


def test_disparity_chart_compares_against_the_baseline(small_audit):
    results, _, _ = small_audit
    fig = plots.disparity_before_after(results, attribute="sex")
    labels = results.dataset["strategy_labels"]
    names = {y.split(" ⚠")[0] for t in fig.data for y in t.y}
    assert len(fig.data) == 4  # one panel per fairness measure
    assert labels["none"] not in names
    assert names == {labels[s] for s in results.strategies if s != "none"}


def test_imbalance_figures_use_the_audit_tables(small_audit):
    results, _, _ = small_audit
    groups = results.imbalance["groups"]
    bar = plots.group_counts_bar(groups, attribute="race")
    race = [g for g in groups if g["attribute"] == "race"]
    assert list(bar.data[0].y) == [g["n"] for g in race]
    prev = plots.prevalence_with_ci(groups, attribute="race")
    assert prev.data[0].error_y.array is not None
    heat = plots.intersection_heatmap(results.imbalance["intersection"], rows="race", columns="sex")
    assert heat.data[0].z.sum() == sum(r["n"] for r in results.imbalance["intersection"])


def test_synthetic_data_figures(support2_small):
    real = support2_small.iloc[:300]
    fake = support2_small.iloc[300:]
    assert len(plots.column_overlay(real, fake, "age").data) == 2
    cat = plots.column_overlay(real, fake, "sex")
    assert {t.type for t in cat.data} == {"bar"}
    heat = plots.correlation_difference_heatmap(real, fake, columns=["age", "heart_rate", "sodium"])
    assert heat.data[0].z.shape == (3, 3)
    proj = plots.projection_2d(real, fake, columns=["age", "heart_rate", "sodium"])
    assert len(proj.data) == 2
    loss = plots.loss_curve([{"step": 1, "loss": 1.0}, {"step": 2, "loss": 0.5}])
    assert list(loss.data[0].y) == [1.0, 0.5]
    with pytest.raises(ConfigError):
        plots.column_overlay(real, fake, "no_such_column")


def test_report_is_self_contained_and_complete(small_audit):
    results, _, _ = small_audit
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


def test_user_text_is_escaped_everywhere(support2_small):
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
            n_bootstrap=10,
            classifier="logreg",
        ),
    )
    text = render_report(results, title=evil)
    assert evil not in text
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in text


def test_plain_summary_speaks_about_the_rebalanced_attribute(small_audit):
    results, _, _ = small_audit
    text = plain_summary(results)
    assert "race" in text and "F1" in text
    assert str(results.dataset["n_test"]) in text.replace(",", "")


def test_report_renders_from_a_saved_results_file(cddpm_audit):
    results, _, _ = cddpm_audit
    fresh = render_report(results)
    assert "real versus synthetic" in fresh  # overlays need the synthetic rows
    saved = AuditResults.from_json(results.to_json())
    text = render_report(saved)
    assert "Fairness gaps before and after" in text
    assert "Closer to training rows" in text  # fidelity and privacy table survives
