"""Figures of the per-group curves: ROC curves, calibration (reliability diagram) with
the Brier score, and the effect of the decision threshold.

Each builder takes the tables of :func:`mcrage_core.evaluation.curves.compute_curves`
(frames, or their records as stored in the results JSON) and draws one line per group of
one attribute for one strategy, plus a reference line. A group keeps its colour in all
three figures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative

from mcrage_core.errors import ConfigError
from mcrage_core.evaluation.results import METRIC_LABELS
from mcrage_core.presentation.format import fmt_count, fmt_interval
from mcrage_core.presentation.plots._style import TableLike, as_frame, error_bars, finish, pct
from mcrage_core.tables import sort_groups

__all__ = [
    "roc_curves",
    "calibration_curves",
    "threshold_effect",
    "curve_frames",
    "THRESHOLD_METRICS",
]

THRESHOLD_METRICS: tuple[str, ...] = ("selection_rate", "tpr", "fpr", "ppv", "f1")
"""The measures :func:`threshold_effect` can draw (labels: ``METRIC_LABELS``)."""
_GROUP_COLORS = qualitative.D3 + qualitative.Set2
_REFERENCE = {"color": "#7f7f7f", "dash": "dash", "width": 1}
_FPR = "False positive rate (1 − specificity)"
_TPR = "True positive rate (sensitivity)"


def curve_frames(curves: Mapping[str, TableLike] | None) -> dict[str, pd.DataFrame]:
    """The curve tables of a run as frames (``AuditResults.curves``, whose tables may be
    records when read back from JSON); empty tables are left out, ``{}`` when none."""
    out = {}
    for name, table in (curves or {}).items():
        frame = table if isinstance(table, pd.DataFrame) else pd.DataFrame(list(table))
        if len(frame):
            out[str(name)] = frame
    return out


def _rows(frame: pd.DataFrame, attribute: str, strategy: str, what: str) -> pd.DataFrame:
    """The rows of one attribute and strategy; a :class:`ConfigError` that names the
    choices when there are none."""
    sub = frame[(frame["attribute"].astype(str) == attribute) & (frame["strategy"] == strategy)]
    if sub.empty:
        attrs = ", ".join(dict.fromkeys(frame["attribute"].astype(str)))
        names = ", ".join(dict.fromkeys(frame["strategy"].astype(str)))
        raise ConfigError(
            f"the {what} has no rows for the attribute {attribute!r} and the strategy "
            f"{strategy!r}; attributes: {attrs}; strategies: {names}"
        )
    return sub


def _groups(frame: pd.DataFrame, attribute: str) -> dict[str, str]:
    """Colour of every group of ``attribute`` (in display order, over all strategies)."""
    labels = frame.loc[frame["attribute"].astype(str) == attribute, "group"].astype(str)
    order = sort_groups(list(dict.fromkeys(labels)))
    return {g: _GROUP_COLORS[i % len(_GROUP_COLORS)] for i, g in enumerate(order)}


def _diagonal(name: str) -> go.Scatter:
    return go.Scatter(
        x=[0, 1], y=[0, 1], mode="lines", name=name, line=_REFERENCE, hoverinfo="skip"
    )


def roc_curves(
    roc: TableLike, *, attribute: str, strategy: str, strategy_label: str | None = None
) -> go.Figure:
    """One ROC curve per group of ``attribute`` for ``strategy`` (pooled over repeats),
    legend ``group (n=…, AUROC 0.xx)``, and the diagonal of a model that guesses."""
    frame = as_frame(roc, "ROC curve table")
    sub = _rows(frame, attribute, strategy, "ROC curve table")
    colors = _groups(frame, attribute)
    fig = go.Figure()
    for group, color in colors.items():
        g = sub[sub["group"].astype(str) == group]
        if g.empty:
            continue
        n, auroc = fmt_count(g["n"].iloc[0]), float(g["auroc"].iloc[0])
        fig.add_scatter(
            x=g["fpr"],
            y=g["tpr"],
            mode="lines",
            name=f"{group} (n={n}, AUROC {auroc:.2f})",
            line={"color": color, "width": 2},
            hovertemplate=f"<b>{group}</b> ({n} patients)<br>"
            "false positive rate %{x:.1%}<br>true positive rate %{y:.1%}<extra></extra>",
        )
    fig.add_trace(_diagonal("Chance (AUROC 0.50)"))
    finish(
        fig,
        f"ROC curves by {attribute}: {strategy_label or strategy} "
        "(closer to the top left corner is better)",
        xaxis_title=_FPR,
        yaxis_title=_TPR,
        xaxis_range=[0, 1],
        yaxis_range=[0, 1.02],
        xaxis_tickformat=".0%",
        yaxis_tickformat=".0%",
        legend_title=attribute,
    )
    return fig


def _brier_names(brier: pd.DataFrame | None, attribute: str, strategy: str) -> dict[str, str]:
    """Legend text per group: ``group (n=…, Brier 0.123, 95 % 0.110 to 0.135)``."""
    if brier is None or brier.empty:
        return {}
    sub = brier[(brier["attribute"].astype(str) == attribute) & (brier["strategy"] == strategy)]
    return {
        str(g): f"{g} (n={fmt_count(n)}, Brier {b:.3f}, 95 % {fmt_interval(lo, hi, decimals=3)})"
        for g, b, lo, hi, n in zip(
            sub["group"], sub["brier"], sub["ci_low"], sub["ci_high"], sub["n"], strict=True
        )
    }


def _calibration_hover(group: str, rows: pd.DataFrame) -> list[str]:
    return [
        f"<b>{group}</b><br>mean predicted risk {pct(m)}<br>observed with the outcome "
        f"{pct(o)} (95 % interval {fmt_interval(lo, hi, pct=True)})<br>"
        f"{fmt_count(n)} patients in this band"
        for m, o, lo, hi, n in zip(
            rows["mean_predicted"], rows["observed_rate"], rows["ci_low"], rows["ci_high"],
            rows["n"], strict=True,
        )
    ]  # fmt: skip


def calibration_curves(
    calibration: TableLike,
    brier: TableLike | None = None,
    *,
    attribute: str,
    strategy: str,
    strategy_label: str | None = None,
) -> go.Figure:
    """Reliability diagram: the share of patients with the outcome against the mean
    predicted risk, per band of predicted risk and group (bars: 95 % Wilson interval),
    with the diagonal of perfect calibration. The legend gives each group's Brier score
    with its interval and n (from ``brier``, when given)."""
    frame = as_frame(calibration, "calibration table")
    sub = _rows(frame, attribute, strategy, "calibration table")
    names = _brier_names(
        None if brier is None else as_frame(brier, "Brier table"), attribute, strategy
    )
    fig = go.Figure()
    for group, color in _groups(frame, attribute).items():
        g = sub[sub["group"].astype(str) == group].sort_values("bin")
        if g.empty:
            continue
        observed = g["observed_rate"].to_numpy(float)
        fig.add_scatter(
            x=g["mean_predicted"],
            y=observed,
            mode="lines+markers",
            name=names.get(group, f"{group} (n={fmt_count(g['n'].sum())})"),
            line={"color": color, "width": 2},
            marker={"size": 7},
            error_y=error_bars(observed, g["ci_low"], g["ci_high"]) | {"thickness": 1},
            hovertext=_calibration_hover(group, g),
            hoverinfo="text",
        )
    fig.add_trace(_diagonal("Perfect calibration"))
    finish(
        fig,
        f"Calibration by {attribute}: {strategy_label or strategy} — predicted risk against "
        "what happened (closer to the diagonal is better; lower Brier is better)",
        xaxis_title="Predicted risk (mean within each band)",
        yaxis_title="Observed share with the outcome",
        xaxis_range=[0, 1],
        yaxis_range=[0, 1.02],
        xaxis_tickformat=".0%",
        yaxis_tickformat=".0%",
        legend_title=attribute,
    )
    return fig


def threshold_effect(
    threshold: TableLike,
    *,
    attribute: str,
    strategy: str,
    metric: str = "tpr",
    current: float = 0.5,
    strategy_label: str | None = None,
    groups: Sequence[str] | None = None,
) -> go.Figure:
    """``metric`` of the decisions ``score >= threshold`` against the threshold, one line
    per group (``groups``: only these), and a vertical line at the ``current``
    threshold of the run. ``metric`` is one of :data:`THRESHOLD_METRICS`."""
    if metric not in THRESHOLD_METRICS:
        raise ConfigError(
            f"unknown measure {metric!r}: choose one of {', '.join(THRESHOLD_METRICS)}"
        )
    frame = as_frame(threshold, "threshold table")
    sub = _rows(frame, attribute, strategy, "threshold table")
    label = METRIC_LABELS[metric]
    shown = ".1%" if metric != "f1" else ".3f"  # rates as percentages, F1 as a number
    fig = go.Figure()
    for group, color in _groups(frame, attribute).items():
        g = sub[sub["group"].astype(str) == group].sort_values("threshold")
        if g.empty or (groups is not None and group not in groups):
            continue
        n = fmt_count(g["n"].iloc[0])
        fig.add_scatter(
            x=g["threshold"],
            y=g[metric].to_numpy(float),
            mode="lines+markers",
            name=f"{group} (n={n})",
            line={"color": color, "width": 2},
            marker={"size": 5},
            hovertemplate=f"<b>{group}</b> ({n} patients)<br>threshold %{{x:.2f}}<br>"
            f"{label}: %{{y:{shown}}}<extra></extra>",
        )
    fig.add_vline(
        x=float(current),
        line=_REFERENCE | {"color": "#333"},
        annotation_text=f"threshold of this run ({float(current):.2f})",
        annotation_position="top right",
    )
    finish(
        fig,
        f"{label} by {attribute} at each decision threshold: {strategy_label or strategy}",
        xaxis_title="Decision threshold (predicted risk at or above which a patient is flagged)",
        yaxis_title=label,
        xaxis_range=[0, 1],
        yaxis_range=[0, 1.02],
        yaxis_tickformat=".0%" if metric != "f1" else ".1f",
        legend_title=attribute,
    )
    return fig
