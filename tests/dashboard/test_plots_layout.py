"""Every chart (dashboard and report) has a readable title: wrapped, with a top margin tall
enough for it and its subplot titles, legend beside the plot; groups in age order; hover
numbers without float noise."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import pytest

from mcrage_core.evaluation.results import AuditResults
from mcrage_core.jobs import RunRegistry
from mcrage_core.presentation import plots
from mcrage_core.tables import audit_imbalance, infer_schema

NOISE = re.compile(r"\d\.\d{5,}")
BANDS = ["<30", "30-44", "45-64", "65-79", "80+"]


@pytest.fixture(scope="module")
def results(finished_home: Path) -> AuditResults:
    record = RunRegistry(finished_home).list_runs(None)[0]
    return AuditResults.from_json(record.artefact("results").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def report(support2_small_csv: bytes):
    coerced, schema = infer_schema(pd.read_csv(io.BytesIO(support2_small_csv)))
    return audit_imbalance(coerced, schema)


@pytest.fixture(scope="module")
def figures(results: AuditResults, report, support2_small_csv: bytes) -> dict[str, go.Figure]:
    real = pd.read_csv(io.BytesIO(support2_small_csv))
    synthetic = real.sample(frac=0.5, random_state=1)
    age = report.summary.set_index("kind").loc["age", "attribute"]
    inter = report.intersection.copy()
    across = [c for c in report.group_columns.values()][1:]
    inter["sex · age"] = inter[across].astype(str).agg(" · ".join, axis=1)
    return {
        "counts": plots.group_counts_bar(report.groups, attribute=age),
        "prevalence": plots.prevalence_with_ci(
            report.groups, attribute=age, outcome_label="death within 6 months"
        ),
        "heatmap": plots.intersection_heatmap(
            inter, rows=next(iter(report.group_columns.values())), columns="sex · age"
        ),
        "bars": plots.metric_bars_by_group(results, metric="f1", attribute="age_band"),
        "disparity": plots.disparity_before_after(results, attribute="sex"),
        "overlay": plots.column_overlay(real, synthetic, "heart_rate"),
        "overlay_cat": plots.column_overlay(real, synthetic, "disease_group"),
        "correlation": plots.correlation_difference_heatmap(
            real, synthetic, columns=["age", "heart_rate", "sodium"]
        ),
        "projection": plots.projection_2d(real, synthetic, columns=["age", "heart_rate"]),
        "loss": plots.loss_curve([{"step": i, "loss": 1 / i} for i in range(1, 30)]),
    }


def test_titles_are_wrapped_and_have_room(figures: dict[str, go.Figure]) -> None:
    for name, fig in figures.items():
        title = fig.layout.title
        lines = title.text.split("<br>")
        assert all(len(line) <= plots.TITLE_WIDTH for line in lines), (name, lines)
        subplot_titles = len(fig.layout.annotations) > 0
        needed = 22 * len(lines) + (26 if subplot_titles else 0)
        assert fig.layout.margin.t >= needed + 20, (name, fig.layout.margin.t, lines)
        assert title.yref == "container" and title.yanchor == "top", name
        legend = fig.layout.legend
        assert legend.y is None or legend.y <= 1.0, name  # below the title, not over it
    long = figures["disparity"].layout.title.text
    assert long.count("<br>") >= 1  # the long fairness title is wrapped, not cut off


def test_age_bands_come_in_age_order(figures: dict[str, go.Figure]) -> None:
    assert list(figures["counts"].data[0].x) == BANDS
    assert list(figures["prevalence"].data[0].x) == BANDS
    bar_groups = [x.split(" (n=")[0] for x in figures["bars"].data[0].x]
    assert bar_groups == [b for b in BANDS if b in bar_groups]
    across = list(figures["heatmap"].data[0].x)
    assert across.index("female · <30") < across.index("female · 30-44")
    assert across.index("female · 80+") < across.index("male · <30")


def test_hover_and_labels_have_no_float_noise(figures: dict[str, go.Figure]) -> None:
    for name, fig in figures.items():
        for trace in fig.data:
            texts = []
            for attr in ("hovertext", "text", "name", "hovertemplate"):
                value = getattr(trace, attr, None)
                if value is None:
                    continue
                if isinstance(value, str):
                    texts.append(value)
                else:
                    for item in value:
                        texts.extend(item if isinstance(item, (list, tuple)) else [item])
            noisy = [t for t in texts if NOISE.search(str(t))]
            assert not noisy, (name, noisy[:3])
    for name, fig in figures.items():
        for trace in fig.data:  # plotly's own hover shows numbers at full precision
            if trace.hoverinfo in ("skip", "none"):
                continue
            if trace.hoverinfo == "text" and trace.hovertext is not None:
                continue
            template = trace.hovertemplate or ""
            assert template, (name, trace.type, trace.name)
            unformatted = re.findall(r"%\{([yz])\}", template)
            assert not unformatted, (name, template)
    counts = figures["counts"].data[0].text
    assert all(re.fullmatch(r"\d{1,3}(,\d{3})*", t) for t in counts)
