"""The plotly figure builders: one trace per strategy, error bars, group order, the 80 %
rule marker, and the figures of the imbalance audit and of the synthetic rows."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import pytest

from mcrage_core.errors import ConfigError
from mcrage_core.evaluation.results import AuditResults
from mcrage_core.evaluation.verdicts import four_fifths_text
from mcrage_core.presentation import plots, tables

slow = pytest.mark.slow  # the tests on a real audit


def test_bars_come_in_age_order_with_counts(tiny_results: AuditResults) -> None:
    fig = plots.metric_bars_by_group(tiny_results, metric="f1", attribute="age_band")
    assert [t.name for t in fig.data] == ["No change (baseline)", "Oversample"]
    assert list(fig.data[0].x) == ["<30 (n=120)", "30-44 (n=10)", "80+ (n=40)"]
    assert list(fig.data[0].marker.pattern.shape) == ["", "/", ""]  # small group hatched


def test_the_80_rule_marker_reads_like_the_tables(tiny_results: AuditResults) -> None:
    fig = plots.disparity_before_after(tiny_results, attribute="age_band")
    names = {y for t in fig.data for y in t.y}
    assert names == {"Oversample"}  # 0.85 meets the rule: no marker
    tiny_results.disparity.loc[
        tiny_results.disparity["metric"] == "demographic_parity_ratio", "value"
    ] = 0.5
    fig = plots.disparity_before_after(tiny_results, attribute="age_band")
    reading = four_fifths_text(tiny_results, "oversample", "age_band")
    assert {y for t in fig.data for y in t.y} == {f"Oversample ⚠ {tables.RULE_COLUMN} {reading}"}


def test_intersection_figure_combines_the_other_columns() -> None:
    inter = pd.DataFrame(
        {"race": ["a", "a", "b"], "sex": ["f", "m", "f"], "age": ["<30", "80+", "<30"],
         "n": [5, 6, 7]}
    )  # fmt: skip
    fig = plots.intersection_figure(inter, ["race", "sex", "age"])
    assert list(fig.data[0].x) == ["f · <30", "m · 80+"]
    assert fig.data[0].z.tolist()[0] == [5.0, 6.0]
    one = plots.intersection_figure(inter, ["race"])
    assert list(one.data[0].x) == ["all"] and one.data[0].z.tolist() == [[11.0], [7.0]]


@slow
def test_metric_bars_have_one_trace_per_strategy_with_error_bars(small_audit: AuditResults) -> None:
    results = small_audit
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


@slow
def test_disparity_chart_compares_against_the_baseline(small_audit: AuditResults) -> None:
    results = small_audit
    fig = plots.disparity_before_after(results, attribute="sex")
    labels = results.dataset["strategy_labels"]
    names = {y.split(" ⚠")[0] for t in fig.data for y in t.y}
    assert len(fig.data) == 4  # one panel per fairness measure
    assert labels["none"] not in names
    assert names == {labels[s] for s in results.strategies if s != "none"}


@slow
def test_imbalance_figures_use_the_audit_tables(small_audit: AuditResults) -> None:
    results = small_audit
    groups = results.imbalance["groups"]
    bar = plots.group_counts_bar(groups, attribute="race")
    race = [g for g in groups if g["attribute"] == "race"]
    assert list(bar.data[0].y) == [g["n"] for g in race]
    prev = plots.prevalence_with_ci(groups, attribute="race")
    assert prev.data[0].error_y.array is not None
    heat = plots.intersection_heatmap(results.imbalance["intersection"], rows="race", columns="sex")
    assert heat.data[0].z.sum() == sum(r["n"] for r in results.imbalance["intersection"])


@slow
def test_synthetic_data_figures(support2_small) -> None:
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


def test_loss_curve_shows_the_held_out_loss_when_measured() -> None:
    history = [
        {"step": 10, "loss": 1.0},
        {"step": 20, "loss": 0.5, "val_loss": 0.6},
        {"step": 30, "loss": 0.4, "val_loss": 0.55},
    ]
    fig = plots.loss_curve(history)
    assert [len(t.x) for t in fig.data] == [3, 2]
    assert "held-out" in fig.data[1].name and fig.layout.showlegend
    assert len(plots.loss_curve(history[:1]).data) == 1
