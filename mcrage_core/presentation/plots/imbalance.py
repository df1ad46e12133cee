"""Figures of the imbalance audit: group sizes, outcome rates, intersections."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from mcrage_core.errors import ConfigError
from mcrage_core.presentation.format import fmt_count, fmt_pct
from mcrage_core.presentation.plots._style import (
    REAL_COLOR,
    TableLike,
    as_frame,
    by_group,
    error_bars,
    finish,
    pct,
    pick_attribute,
)
from mcrage_core.presentation.tables import intersection_table
from mcrage_core.tables import sort_groups

__all__ = [
    "group_counts_bar",
    "prevalence_with_ci",
    "intersection_heatmap",
    "intersection_figure",
]


def group_counts_bar(groups: TableLike, *, attribute: str | None = None) -> go.Figure:
    """How many patients each group has (bars), small groups marked.

    ``groups`` is :attr:`mcrage_core.tables.imbalance.ImbalanceReport.groups` (or its records).
    """
    frame = as_frame(groups, "group table")
    attribute = pick_attribute(frame, attribute)
    sub = by_group(frame[frame["attribute"].astype(str) == attribute])
    small = sub["small_cell"].astype(bool).to_numpy()
    colors = np.where(small, "#d62728", REAL_COLOR)
    hover = [
        f"<b>{g}</b><br>{fmt_count(n)} patients ({pct(s)} of the table)"
        + ("<br><b>Small group</b>: numbers for it are unreliable" if sm else "")
        for g, n, s, sm in zip(sub["group"], sub["n"], sub["share"], small, strict=True)
    ]
    fig = go.Figure(
        go.Bar(
            x=sub["group"].astype(str),
            y=sub["n"],
            marker_color=colors,
            text=[fmt_count(n) for n in sub["n"]],
            textposition="outside",
            hovertext=hover,
            hoverinfo="text",
            name="patients",
        )
    )
    finish(
        fig,
        f"Patients per {attribute} group (red: fewer than the small-group limit)",
        xaxis_title=attribute,
        yaxis_title="Number of patients",
        showlegend=False,
    )
    return fig


def prevalence_with_ci(
    groups: TableLike,
    *,
    attribute: str | None = None,
    outcome_label: str = "outcome",
) -> go.Figure:
    """Share of patients with the outcome per group, with 95 % Wilson intervals."""
    frame = as_frame(groups, "group table")
    attribute = pick_attribute(frame, attribute)
    sub = by_group(frame[frame["attribute"].astype(str) == attribute])
    rate = sub["outcome_rate"].astype(float).to_numpy()
    hover = [
        f"<b>{g}</b><br>{pct(r)} have the {outcome_label}<br>"
        f"95 % interval {pct(lo)} to {pct(hi)}<br>based on {fmt_count(n)} patients"
        for g, r, lo, hi, n in zip(
            sub["group"], rate, sub["ci_low"], sub["ci_high"], sub["n"], strict=True
        )
    ]
    fig = go.Figure(
        go.Scatter(
            x=sub["group"].astype(str),
            y=rate,
            mode="markers",
            marker={"size": 12, "color": REAL_COLOR},
            error_y=error_bars(rate, sub["ci_low"], sub["ci_high"]),
            hovertext=hover,
            hoverinfo="text",
        )
    )
    finish(
        fig,
        f"How often the {outcome_label} occurs, by {attribute} (with 95 % interval)",
        xaxis_title=attribute,
        yaxis_title=f"Share with the {outcome_label}",
        yaxis_tickformat=".0%",
        showlegend=False,
    )
    return fig


def _pivots(
    frame: pd.DataFrame, rows: str, columns: str, value: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(values, patient counts) per rows × columns, both in group display order; a rate
    is averaged over the other attributes weighted by patients."""

    def total(col: str, data: pd.DataFrame = frame) -> pd.DataFrame:
        return data.pivot_table(
            index=rows, columns=columns, values=col, aggfunc="sum", observed=True
        )

    counts = total("n")
    if value == "n":
        pivot = counts
    else:
        pivot = total("_w", frame.assign(_w=frame[value].astype(float) * frame["n"])) / counts
    pivot = pivot.reindex(index=sort_groups(pivot.index), columns=sort_groups(pivot.columns))
    return pivot, counts.reindex(index=pivot.index, columns=pivot.columns)


def intersection_heatmap(
    intersection: TableLike,
    *,
    rows: str,
    columns: str,
    value: str = "n",
) -> go.Figure:
    """Patients (or outcome rate, ``value="outcome_rate"``) per combination of two attributes."""
    frame = as_frame(intersection, "intersection table")
    for col in (rows, columns, value):
        if col not in frame.columns:
            raise ConfigError(
                f"the intersection table has no column {col!r}; columns: {', '.join(frame.columns)}"
            )
    pivot, counts = _pivots(frame, rows, columns, value)
    z = pivot.to_numpy(dtype=float)
    n = counts.to_numpy(dtype=float)
    text = [
        [
            ("" if not np.isfinite(v) else (fmt_count(v) if value == "n" else fmt_pct(v, 0)))
            for v in row
        ]
        for row in z
    ]
    hover = [
        [
            f"{rows} = {r}<br>{columns} = {c}<br>"
            + (f"{fmt_count(nn)} patients" if np.isfinite(nn) else "no patients")
            + ("" if value == "n" or not np.isfinite(v) else f"<br>{pct(v)} with the outcome")
            for c, v, nn in zip(pivot.columns, zrow, nrow, strict=True)
        ]
        for r, zrow, nrow in zip(pivot.index, z, n, strict=True)
    ]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[str(c) for c in pivot.columns],
            y=[str(r) for r in pivot.index],
            text=text,
            texttemplate="%{text}",
            hovertext=hover,
            hoverinfo="text",
            colorscale="Blues",
            colorbar={"title": "patients" if value == "n" else "outcome rate"},
        )
    )
    what = "Patients" if value == "n" else "Outcome rate"
    agg = "sum" if value == "n" else "mean"
    finish(
        fig,
        f"{what} per {rows} × {columns} ({agg} over other attributes)",
        xaxis_title=columns,
        yaxis_title=rows,
    )
    return fig


def intersection_figure(intersection: pd.DataFrame, columns: Sequence[str]) -> go.Figure:
    """Heatmap of patients: the first group column down, the other(s) combined across
    (e.g. race × "sex · age band"); see :func:`~mcrage_core.presentation.tables.intersection_table`."""
    frame, rows, across = intersection_table(intersection, columns)
    return intersection_heatmap(frame, rows=rows, columns=across)
