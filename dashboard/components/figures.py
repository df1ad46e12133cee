"""Plotly figures that only the dashboard needs (the shared ones are in
:mod:`mcrage_core.presentation.plots`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import plotly.graph_objects as go

from mcrage_core.presentation import plots

if TYPE_CHECKING:
    from mcrage_core.tables import Schema

__all__ = ["intersection_figure", "missingness_figure"]


def missingness_figure(schema: Schema) -> go.Figure:
    """Share of empty cells per column (only columns with any), largest first."""
    cols = sorted(
        (c for c in schema.columns if c.missing_fraction > 0),
        key=lambda c: c.missing_fraction,
        reverse=True,
    )
    fig = go.Figure(
        go.Bar(
            x=[c.name for c in cols],
            y=[c.missing_fraction for c in cols],
            marker_color="#7f7f7f",
            hovertemplate="%{x}: %{y:.0%} empty<extra></extra>",
        )
    )
    fig.update_layout(
        title="Empty cells per column",
        yaxis={"tickformat": ".0%", "range": [0, 1]},
        template="plotly_white",
        height=300,
        margin={"l": 50, "r": 10, "t": 50, "b": 90},
    )
    return fig


def intersection_figure(intersection: pd.DataFrame, columns: list[str]) -> go.Figure:
    """Heatmap of counts: the first group column down, the other(s) combined across
    (e.g. race × "sex · age band")."""
    if len(columns) == 1:
        frame = intersection.assign(all="all")
        return plots.intersection_heatmap(frame, rows=columns[0], columns="all")
    across = " · ".join(columns[1:])
    frame = intersection.copy()
    frame[across] = frame[columns[1:]].astype(str).agg(" · ".join, axis=1)
    return plots.intersection_heatmap(frame, rows=columns[0], columns=across)
