"""Two finished runs side by side: one strategy's metric per group, run A next to run B."""

from __future__ import annotations

from typing import TYPE_CHECKING

import plotly.graph_objects as go

from mcrage_core.errors import ConfigError
from mcrage_core.evaluation.results import METRIC_LABELS
from mcrage_core.presentation.format import fmt_count
from mcrage_core.presentation.plots._style import by_group, error_bars, finish
from mcrage_core.presentation.tables import strategy_label

if TYPE_CHECKING:
    from mcrage_core.evaluation.results import AuditResults

__all__ = ["compare_runs_bars"]

_RUN_COLORS = ("#1f77b4", "#ff7f0e")


def compare_runs_bars(
    a: AuditResults,
    b: AuditResults,
    *,
    attribute: str,
    metric: str = "f1",
    strategy: str = "none",
    label_a: str = "Run A",
    label_b: str = "Run B",
) -> go.Figure:
    """Bars per group of ``attribute``: ``strategy``'s ``metric`` in run A and in run B,
    with 95 % intervals; the hover says how many test patients each bar rests on."""
    fig = go.Figure()
    for results, label, color in ((a, label_a, _RUN_COLORS[0]), (b, label_b, _RUN_COLORS[1])):
        m = results.metrics
        rows = by_group(
            m[(m["attribute"] == attribute) & (m["metric"] == metric) & (m["strategy"] == strategy)]
        )
        if rows.empty:
            continue
        value = rows["value"].to_numpy(float)
        fig.add_bar(
            name=f"{label}: {strategy_label(results, strategy)}",
            x=[str(g) for g in rows["group"]],
            y=value,
            marker_color=color,
            error_y=error_bars(value, rows["ci_low"], rows["ci_high"]),
            hovertext=[
                f"<b>{label}</b><br>{attribute} = {g}<br>{METRIC_LABELS[metric]}: {v:.3f} "
                f"(95 % interval {lo:.3f} to {hi:.3f})<br>{fmt_count(n)} test patients"
                for g, v, lo, hi, n in zip(
                    rows["group"], value, rows["ci_low"], rows["ci_high"], rows["n"], strict=True
                )
            ],
            hoverinfo="text",
        )
    if not fig.data:
        raise ConfigError(f"neither run has per-group numbers of {strategy!r} for {attribute!r}")
    finish(
        fig,
        f"{METRIC_LABELS[metric]} by {attribute}: {label_a} and {label_b} (bars: 95 % interval)",
        barmode="group",
        xaxis_title=attribute,
        yaxis_title=METRIC_LABELS[metric],
        yaxis_range=[0, 1.05],
        legend_title="Run",
    )
    return fig
