"""Figures of the audit results: metrics per group, fairness changes per strategy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from mcrage_core.errors import ConfigError
from mcrage_core.evaluation.results import DISPARITY_LABELS, METRIC_LABELS
from mcrage_core.evaluation.verdicts import four_fifths_text
from mcrage_core.presentation.format import fmt_count
from mcrage_core.presentation.plots._style import STRATEGY_COLORS, by_group, error_bars, finish
from mcrage_core.presentation.tables import RULE_COLUMN, strategy_label

if TYPE_CHECKING:
    from mcrage_core.evaluation.results import AuditResults

__all__ = ["metric_bars_by_group", "disparity_before_after", "DISPARITY_CHART_MEASURES"]

DISPARITY_CHART_MEASURES: tuple[str, ...] = (
    "demographic_parity_difference",
    "equalized_odds_difference",
    "worst_group_f1",
    "worst_group_auroc",
)


def _metric_hover(
    results: AuditResults, strategy: str, rows: pd.DataFrame, metric: str
) -> list[str]:
    name = strategy_label(results, strategy)
    attribute = str(rows["attribute"].iloc[0])
    return [
        f"<b>{name}</b><br>{attribute} = {g}<br>"
        f"{METRIC_LABELS[metric]}: {v:.3f} (95 % interval {lo:.3f} to {hi:.3f})<br>"
        f"{fmt_count(n)} test patients"
        + (f"<br>change against the baseline: {d:+.3f}" if np.isfinite(d) else "")
        + ("<br><b>Small group</b>: too few patients to trust" if sm else "")
        for g, v, lo, hi, n, d, sm in zip(
            rows["group"],
            rows["value"].to_numpy(float),
            rows["ci_low"],
            rows["ci_high"],
            rows["n"],
            rows["delta"],
            rows["small"],
            strict=True,
        )
    ]


def metric_bars_by_group(
    results: AuditResults,
    *,
    metric: str = "f1",
    attribute: str | None = None,
    strategies: Sequence[str] | None = None,
) -> go.Figure:
    """One bar per group and strategy (side by side), with 95 % bootstrap error bars.

    Small groups are hatched and say so in the hover text.
    """
    if metric not in METRIC_LABELS:
        raise ConfigError(f"unknown metric {metric!r}: choose one of {', '.join(METRIC_LABELS)}")
    attribute = attribute or results.primary_attribute
    m = results.metrics
    sub = m[(m["attribute"] == attribute) & (m["metric"] == metric)]
    if sub.empty:
        raise ConfigError(f"there are no per-group numbers for {attribute!r}")
    fig = go.Figure()
    for strategy in strategies or results.strategies:
        s = by_group(sub[sub["strategy"] == strategy])
        if s.empty:
            continue
        value = s["value"].to_numpy(float)
        fig.add_bar(
            name=strategy_label(results, strategy),
            x=[f"{g} (n={fmt_count(n)})" for g, n in zip(s["group"], s["n"], strict=True)],
            y=value,
            marker_color=STRATEGY_COLORS.get(strategy),
            marker_pattern_shape=["/" if sm else "" for sm in s["small"]],
            error_y=error_bars(value, s["ci_low"], s["ci_high"]),
            hovertext=_metric_hover(results, strategy, s, metric),
            hoverinfo="text",
        )
    finish(
        fig,
        f"{METRIC_LABELS[metric]} by {attribute}, for each strategy (bars: 95 % interval)",
        barmode="group",
        xaxis_title=f"{attribute} (n = test patients; hatched = small group)",
        yaxis_title=METRIC_LABELS[metric],
        yaxis_range=[0, 1.05],
        legend_title="Strategy",
    )
    return fig


def _strategy_names(results: AuditResults, strategies: pd.Series, attribute: str) -> list[str]:
    """Strategy names, marked with ⚠ and the 80 % rule reading where it is not met."""
    names = []
    for strategy in strategies:
        name = strategy_label(results, strategy)
        if results.four_fifths(strategy, attribute) is False:
            name += f" ⚠ {RULE_COLUMN} {four_fifths_text(results, strategy, attribute)}"
        names.append(name)
    return names


def _change_bars(names: list[str], rows: pd.DataFrame, metric: str) -> go.Bar:
    """Horizontal bars of one measure's change against the baseline, one per strategy:
    green where the change is an improvement, red where it is not."""
    higher_is_better = metric.startswith("worst_group") or metric.endswith("ratio")
    delta = rows["delta"].to_numpy(float)
    good = delta > 0 if higher_is_better else delta < 0
    label = DISPARITY_LABELS[metric]
    hover = [
        f"<b>{nm}</b><br>{label}: {v:.3f} "
        f"(baseline {v - dd:.3f})<br>change {dd:+.3f}, 95 % interval {lo:+.3f} to {hi:+.3f}"
        f"<br>{'better' if g else 'worse or unchanged'} than the baseline"
        for nm, v, dd, lo, hi, g in zip(
            names,
            rows["value"],
            delta,
            rows["delta_ci_low"],
            rows["delta_ci_high"],
            good,
            strict=True,
        )
    ]
    return go.Bar(
        name=label,
        y=names,
        x=delta,
        orientation="h",
        marker_color=np.where(good, "#2ca02c", "#d62728"),
        error_x=error_bars(delta, rows["delta_ci_low"], rows["delta_ci_high"]),
        hovertext=hover,
        hoverinfo="text",
        showlegend=False,
    )


def disparity_before_after(
    results: AuditResults,
    *,
    attribute: str | None = None,
    metrics: Sequence[str] = DISPARITY_CHART_MEASURES,
) -> go.Figure:
    """Change of each fairness measure against the baseline, per strategy (95 % intervals).

    One panel per measure, one horizontal bar per strategy: green where the change is an
    improvement (gaps smaller, worst group better), red where it is worse. A strategy
    whose demographic parity ratio does not meet the four-fifths (80 %) rule is marked
    with ⚠ and the rule's reading.
    """
    attribute = attribute or results.primary_attribute or ""
    d = results.disparity
    d = d[(d["attribute"] == attribute) & (d["strategy"] != "none")]
    if d.empty:
        raise ConfigError(
            f"there are no disparities for {attribute!r} (no other strategy than the baseline, "
            "or too few large groups)"
        )
    shown = [m for m in metrics if (d["metric"] == m).any()]
    fig = make_subplots(
        rows=1,
        cols=len(shown),
        shared_yaxes=True,
        subplot_titles=[DISPARITY_LABELS[m] for m in shown],
        horizontal_spacing=0.03,
    )
    for col, metric in enumerate(shown, start=1):
        rows = d[d["metric"] == metric]
        names = _strategy_names(results, rows["strategy"], attribute)
        fig.add_trace(_change_bars(names, rows, metric), row=1, col=col)
        fig.add_vline(x=0, line_color="#333", line_width=1, row=1, col=col)
        fig.update_xaxes(title_text="change vs baseline", row=1, col=col)
    fig.update_yaxes(autorange="reversed")
    fig.update_annotations(font_size=13)  # the subplot titles
    finish(
        fig,
        f"Fairness by {attribute}: change against the baseline model "
        "(green = better, red = worse; bars: 95 % interval)",
        subplot_titles=True,
        height=max(340, 70 * d["strategy"].nunique() + 200),
    )
    return fig
