"""The figures of the per-group curves (ROC, calibration with Brier, decision threshold)
and their report section: one line per group plus the reference, plain titles and axis
labels, n / AUROC / Brier in the legend, no float noise, plotly.js embedded once."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from sklearn.linear_model import LogisticRegression

from mcrage_core.errors import ConfigError
from mcrage_core.evaluation.curves import compute_curves
from mcrage_core.evaluation.results import AuditResults
from mcrage_core.presentation import plots
from mcrage_core.presentation.report.curves import curve_summary_table, curves_section
from mcrage_core.presentation.report.html import Figures
from mcrage_core.util import to_jsonable

TARGET = "died_within_6_months"
FEATURES = ["age", "num_comorbidities", "physiology_score", "coma_score"]
BANDS = ["<30", "30-44", "45-64", "65-79", "80+"]
NOISE = re.compile(r"\d\.\d{5,}")


@pytest.fixture(scope="module")
def curves(support2_df: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Two strategies (two logistic regressions) scored on 1,200 real SUPPORT2 rows."""
    df = support2_df.sample(n=1200, random_state=1).reset_index(drop=True)
    x = df[FEATURES].fillna(df[FEATURES].median())
    x = (x - x.mean()) / x.std()
    y = df[TARGET].to_numpy().astype(int)
    bands = pd.cut(df["age"], [0, 30, 45, 65, 80, 200], labels=BANDS, right=False)
    groups = {"age_band": bands.astype(str), "race": df["race"].astype(object)}
    frames = []
    for strategy, c in (("none", 1.0), ("oversample", 0.01)):
        score = LogisticRegression(C=c, max_iter=500).fit(x, y).predict_proba(x)[:, 1]
        frames.append(pd.DataFrame({"strategy": strategy, "repeat": 0, "y": y, "score": score})
                      .assign(**groups))  # fmt: skip
    return compute_curves(pd.concat(frames), ["age_band", "race"], n_bootstrap=50)


def _groups_of(curves: dict[str, pd.DataFrame], table: str, attribute: str) -> list[str]:
    frame = curves[table]
    return list(dict.fromkeys(frame.loc[frame["attribute"] == attribute, "group"]))


def _texts(fig: go.Figure) -> list[str]:
    out: list[str] = []
    for trace in fig.data:
        for attr in ("hovertext", "name", "hovertemplate"):
            value = getattr(trace, attr, None)
            if value is not None:
                out.extend([value] if isinstance(value, str) else list(value))
    return out


def test_roc_has_one_line_per_group_in_age_order_and_the_chance_line(curves) -> None:
    fig = plots.roc_curves(
        curves["roc"], attribute="age_band", strategy="none", strategy_label="No change"
    )
    groups = _groups_of(curves, "roc", "age_band")
    assert len(fig.data) == len(groups) + 1
    names = [t.name for t in fig.data]
    assert [n.split(" (")[0] for n in names[:-1]] == [b for b in BANDS if b in groups]
    assert names[-1].startswith("Chance")
    for name in names[:-1]:
        assert re.search(r"\(n=[\d,]+, AUROC 0\.\d\d\)$", name), name
    assert "ROC curves by age_band: No change" in fig.layout.title.text.replace("<br>", " ")
    assert fig.layout.xaxis.title.text.startswith("False positive rate")
    assert "sensitivity" in fig.layout.yaxis.title.text
    assert fig.data[-1].hoverinfo == "skip"


def test_calibration_shows_brier_with_its_interval_and_error_bars(curves) -> None:
    fig = plots.calibration_curves(
        curves["calibration"], curves["brier"], attribute="race", strategy="oversample"
    )
    groups = _groups_of(curves, "calibration", "race")
    assert len(fig.data) == len(groups) + 1
    assert fig.data[-1].name == "Perfect calibration"
    for trace in fig.data[:-1]:
        assert re.search(r"\(n=[\d,]+, Brier 0\.\d{3}, 95 % 0\.\d{3} to 0\.\d{3}\)$", trace.name)
        assert trace.error_y.array is not None and len(trace.error_y.array) == len(trace.x)
        assert (np.asarray(trace.error_y.array) >= 0).all()
    assert fig.layout.yaxis.title.text == "Observed share with the outcome"
    assert fig.layout.xaxis.title.text.startswith("Predicted risk")
    assert "Calibration by race" in fig.layout.title.text.replace("<br>", " ")
    without = plots.calibration_curves(curves["calibration"], attribute="race", strategy="none")
    assert all("Brier" not in t.name and "n=" in t.name for t in without.data[:-1])


def test_threshold_effect_marks_the_run_threshold(curves) -> None:
    fig = plots.threshold_effect(
        curves["threshold"], attribute="age_band", strategy="none", metric="ppv", current=0.35
    )
    groups = _groups_of(curves, "threshold", "age_band")
    assert len(fig.data) == len(groups)
    assert all(re.search(r"\(n=[\d,]+\)$", t.name) for t in fig.data)
    assert all("patients" in t.hovertemplate for t in fig.data)
    lines = [s for s in fig.layout.shapes if s.type == "line"]
    assert len(lines) == 1 and lines[0].x0 == lines[0].x1 == 0.35
    assert any("0.35" in a.text for a in fig.layout.annotations)
    assert fig.layout.yaxis.title.text.startswith("Precision")
    assert fig.layout.xaxis.title.text.startswith("Decision threshold")
    with pytest.raises(ConfigError, match="unknown measure"):
        plots.threshold_effect(curves["threshold"], attribute="race", strategy="none", metric="x")


def test_figures_name_the_choices_when_asked_for_what_is_not_there(curves) -> None:
    with pytest.raises(ConfigError, match="age_band"):
        plots.roc_curves(curves["roc"], attribute="sex", strategy="none")
    with pytest.raises(ConfigError, match="oversample"):
        plots.threshold_effect(curves["threshold"], attribute="race", strategy="smote")
    with pytest.raises(ConfigError, match="empty"):
        plots.roc_curves(pd.DataFrame(), attribute="race", strategy="none")


def test_records_from_json_draw_the_same_figures(curves) -> None:
    records = {k: to_jsonable(v) for k, v in curves.items()}
    frames = plots.curve_frames(records)
    a = plots.roc_curves(records["roc"], attribute="race", strategy="none")
    b = plots.roc_curves(frames["roc"], attribute="race", strategy="none")
    assert [t.name for t in a.data] == [t.name for t in b.data]
    assert plots.curve_frames(None) == {}


def test_hover_and_legends_have_no_float_noise(curves) -> None:
    figures = [
        plots.roc_curves(curves["roc"], attribute="race", strategy="none"),
        plots.calibration_curves(
            curves["calibration"], curves["brier"], attribute="age_band", strategy="none"
        ),
        plots.threshold_effect(curves["threshold"], attribute="race", strategy="none"),
    ]
    for fig in figures:
        assert not [t for t in _texts(fig) if NOISE.search(str(t))]
        assert all(len(line) <= plots.TITLE_WIDTH for line in fig.layout.title.text.split("<br>"))
        # a group keeps its colour from one figure to the next
    roc_colors = {t.name.split(" (")[0]: t.line.color for t in figures[0].data[:-1]}
    thr_colors = {t.name.split(" (")[0]: t.line.color for t in figures[2].data}
    assert all(thr_colors[g] == c for g, c in roc_colors.items())


def test_report_section_draws_the_primary_attribute_and_tables(tiny_results, curves) -> None:
    results = AuditResults.from_json(tiny_results.to_json())
    results.curves = {k: v.copy() for k, v in curves.items()}
    fig = Figures()
    fig.first = False  # plotly.js already embedded by an earlier section
    html = curves_section(results, fig)
    assert html.startswith('<h2 id="curves">')
    assert fig.count == 6  # three figures for each of the two strategies
    assert html.count('id="mcrage-fig-') == 6
    assert "No change (baseline)" in html and "Oversample" in html
    assert "<h3>race</h3>" in html and "AUROC" in html and "Brier score" in html
    assert "cdn.plot.ly" not in html and "<script src=" not in html
    alone = curves_section(results)  # a fragment on its own embeds plotly.js once
    assert alone.count("plotly.js v") <= 2 and "Plotly.newPlot" in alone
    tiny_results.curves = {}
    assert curves_section(tiny_results) == ""


def test_summary_table_has_one_row_per_strategy_and_group(curves) -> None:
    table = curve_summary_table(curves, "race", {"none": "No change"})
    groups = _groups_of(curves, "brier", "race")
    assert len(table) == 2 * len(groups)
    assert set(table["Strategy"]) == {"No change", "oversample"}
    assert (
        table["Brier score (95 % interval)"].str.match(r"0\.\d{3} \(0\.\d{3} to 0\.\d{3}\)").all()
    )
