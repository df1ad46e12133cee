"""Plotly figure builders shared by the dashboard and the HTML report.

Every builder returns a :class:`plotly.graph_objects.Figure` with a plain-language
title, labelled axes and hover text that says what a number means and how many people
it rests on. Nothing here draws HTML by hand.

Layout rules shared by every figure (see :func:`_finish`): titles are wrapped to
:data:`TITLE_WIDTH` characters per line and the top margin grows with the number of
title lines (and subplot titles), so a title is never cut off or drawn over the plot;
legends sit beside the plot, below the title. Groups are shown in the order of
:func:`mcrage_core.presentation.format.sort_groups` (age bands by their lower bound).

Examples
--------
>>> fig = metric_bars_by_group(results, metric="f1")  # doctest: +SKIP
>>> fig.show()  # doctest: +SKIP
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from mcrage_core.errors import ConfigError
from mcrage_core.evaluation.results import (
    DISPARITY_LABELS,
    METRIC_LABELS,
    AuditResults,
)
from mcrage_core.presentation.format import fmt_count, fmt_pct, group_sort_key, sort_groups

__all__ = [
    "group_counts_bar",
    "prevalence_with_ci",
    "intersection_heatmap",
    "metric_bars_by_group",
    "disparity_before_after",
    "column_overlay",
    "correlation_difference_heatmap",
    "projection_2d",
    "loss_curve",
    "STRATEGY_COLORS",
    "TITLE_WIDTH",
    "wrap_title",
]

STRATEGY_COLORS: dict[str, str] = {
    "none": "#7f7f7f",
    "oversample": "#1f77b4",
    "smote": "#ff7f0e",
    "reweigh": "#9467bd",
    "cddpm": "#2ca02c",
    "threshold": "#d62728",
}
_REAL = "#1f77b4"
_SYNTH = "#2ca02c"

TITLE_WIDTH = 56
"""Most characters per title line: fits a figure in half of a dashboard page."""
_TITLE_FONT = 16
_LINE_PX = 22  # height of one title line at _TITLE_FONT
_SUBPLOT_TITLE_PX = 26  # room for the subplot titles between the title and the plots
_AXIS_TITLE_WIDTH = 40


def wrap_title(text: str, width: int = TITLE_WIDTH) -> list[str]:
    """``text`` as lines of at most ``width`` characters (words are not split)."""
    return textwrap.wrap(str(text), width, break_long_words=False) or [""]


def _finish(fig: go.Figure, title: str, *, subplot_titles: bool = False, **layout: Any) -> None:
    """Apply the shared layout: wrapped title in a top margin tall enough for it, white
    template, legend beside the plot (never over the title)."""
    lines = wrap_title(title)
    top = 24 + _LINE_PX * len(lines) + (_SUBPLOT_TITLE_PX if subplot_titles else 0)
    for axis in ("xaxis_title", "yaxis_title"):  # long axis titles are cut off too
        if isinstance(layout.get(axis), str):
            layout[axis] = "<br>".join(wrap_title(layout[axis], _AXIS_TITLE_WIDTH))
    fig.update_layout(
        title={
            "text": "<br>".join(lines),
            "x": 0.01,
            "xref": "container",
            "xanchor": "left",
            "y": 1.0,
            "yref": "container",
            "yanchor": "top",
            "pad": {"t": 12},
            "font": {"size": _TITLE_FONT},
        },
        template="plotly_white",
        margin={"l": 60, "r": 20, "t": top, "b": 60},
        legend={"yanchor": "top", "y": 1.0, "x": 1.02, "xanchor": "left"},
        **layout,
    )


def _by_group(frame: pd.DataFrame, column: str = "group") -> pd.DataFrame:
    """Rows in group display order (``'<30'`` before ``'30-44'``; missing last)."""
    if frame.empty:
        return frame
    order = sorted(range(len(frame)), key=lambda i: group_sort_key(frame[column].iloc[i]))
    return frame.iloc[order]


def _frame(data: pd.DataFrame | Iterable[Mapping[str, Any]] | None, what: str) -> pd.DataFrame:
    if data is None:
        raise ConfigError(f"there is no {what} to draw yet; run the audit first")
    frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(list(data))
    if frame.empty:
        raise ConfigError(f"the {what} is empty, so there is nothing to draw")
    return frame


def _pick_attribute(frame: pd.DataFrame, attribute: str | None) -> str:
    attrs = list(dict.fromkeys(frame["attribute"].astype(str)))
    if attribute is None:
        return attrs[0]
    if attribute not in attrs:
        raise ConfigError(
            f"there are no numbers for the attribute {attribute!r}; choose one of {', '.join(attrs)}"
        )
    return attribute


def _pct(v: float) -> str:
    return fmt_pct(v, 1)


# --------------------------------------------------------------------------- imbalance


def group_counts_bar(
    groups: pd.DataFrame | Iterable[Mapping[str, Any]], *, attribute: str | None = None
) -> go.Figure:
    """How many patients each group has (bars), small groups marked.

    ``groups`` is :attr:`mcrage_core.tables.imbalance.ImbalanceReport.groups` (or its records).
    """
    frame = _frame(groups, "group table")
    attribute = _pick_attribute(frame, attribute)
    sub = _by_group(frame[frame["attribute"].astype(str) == attribute])
    small = sub["small_cell"].astype(bool).to_numpy()
    colors = np.where(small, "#d62728", _REAL)
    hover = [
        f"<b>{g}</b><br>{fmt_count(n)} patients ({_pct(s)} of the table)"
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
    _finish(
        fig,
        f"Patients per {attribute} group (red: fewer than the small-group limit)",
        xaxis_title=attribute,
        yaxis_title="Number of patients",
        showlegend=False,
    )
    return fig


def prevalence_with_ci(
    groups: pd.DataFrame | Iterable[Mapping[str, Any]],
    *,
    attribute: str | None = None,
    outcome_label: str = "outcome",
) -> go.Figure:
    """Share of patients with the outcome per group, with 95 % Wilson intervals."""
    frame = _frame(groups, "group table")
    attribute = _pick_attribute(frame, attribute)
    sub = _by_group(frame[frame["attribute"].astype(str) == attribute])
    rate = sub["outcome_rate"].astype(float).to_numpy()
    low = sub["ci_low"].astype(float).to_numpy()
    high = sub["ci_high"].astype(float).to_numpy()
    hover = [
        f"<b>{g}</b><br>{_pct(r)} have the {outcome_label}<br>"
        f"95 % interval {_pct(lo)} to {_pct(hi)}<br>based on {fmt_count(n)} patients"
        for g, r, lo, hi, n in zip(sub["group"], rate, low, high, sub["n"], strict=True)
    ]
    fig = go.Figure(
        go.Scatter(
            x=sub["group"].astype(str),
            y=rate,
            mode="markers",
            marker={"size": 12, "color": _REAL},
            error_y={
                "type": "data",
                "symmetric": False,
                "array": np.nan_to_num(high - rate),
                "arrayminus": np.nan_to_num(rate - low),
            },
            hovertext=hover,
            hoverinfo="text",
        )
    )
    _finish(
        fig,
        f"How often the {outcome_label} occurs, by {attribute} (with 95 % interval)",
        xaxis_title=attribute,
        yaxis_title=f"Share with the {outcome_label}",
        yaxis_tickformat=".0%",
        showlegend=False,
    )
    return fig


def intersection_heatmap(
    intersection: pd.DataFrame | Iterable[Mapping[str, Any]],
    *,
    rows: str,
    columns: str,
    value: str = "n",
) -> go.Figure:
    """Patients (or outcome rate, ``value="outcome_rate"``) per combination of two attributes."""
    frame = _frame(intersection, "intersection table")
    for col in (rows, columns, value):
        if col not in frame.columns:
            raise ConfigError(
                f"the intersection table has no column {col!r}; columns: {', '.join(frame.columns)}"
            )
    agg = "sum" if value == "n" else "mean"
    if value == "n":
        pivot = frame.pivot_table(
            index=rows, columns=columns, values="n", aggfunc="sum", observed=True
        )
    else:
        weighted = frame.assign(_w=frame[value].astype(float) * frame["n"])
        num = weighted.pivot_table(
            index=rows, columns=columns, values="_w", aggfunc="sum", observed=True
        )
        den = weighted.pivot_table(
            index=rows, columns=columns, values="n", aggfunc="sum", observed=True
        )
        pivot = num / den
    counts = frame.pivot_table(
        index=rows, columns=columns, values="n", aggfunc="sum", observed=True
    )
    pivot = pivot.reindex(index=sort_groups(pivot.index), columns=sort_groups(pivot.columns))
    counts = counts.reindex(index=pivot.index, columns=pivot.columns)
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
            + ("" if value == "n" or not np.isfinite(v) else f"<br>{_pct(v)} with the outcome")
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
    _finish(
        fig,
        f"{what} per {rows} × {columns} ({agg} over other attributes)",
        xaxis_title=columns,
        yaxis_title=rows,
    )
    return fig


# --------------------------------------------------------------------------- results


def _labels(results: AuditResults) -> dict[str, str]:
    return dict(results.dataset.get("strategy_labels") or {})


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
    labels = _labels(results)
    fig = go.Figure()
    for strategy in strategies or results.strategies:
        s = _by_group(sub[sub["strategy"] == strategy])
        if s.empty:
            continue
        value = s["value"].to_numpy(float)
        hover = [
            f"<b>{labels.get(strategy, strategy)}</b><br>{attribute} = {g}<br>"
            f"{METRIC_LABELS[metric]}: {v:.3f} (95 % interval {lo:.3f} to {hi:.3f})<br>"
            f"{fmt_count(n)} test patients"
            + (f"<br>change against the baseline: {d:+.3f}" if np.isfinite(d) else "")
            + ("<br><b>Small group</b>: too few patients to trust" if sm else "")
            for g, v, lo, hi, n, d, sm in zip(
                s["group"],
                value,
                s["ci_low"],
                s["ci_high"],
                s["n"],
                s["delta"],
                s["small"],
                strict=True,
            )
        ]
        fig.add_bar(
            name=labels.get(strategy, strategy),
            x=[f"{g} (n={fmt_count(n)})" for g, n in zip(s["group"], s["n"], strict=True)],
            y=value,
            marker_color=STRATEGY_COLORS.get(strategy),
            marker_pattern_shape=["/" if sm else "" for sm in s["small"]],
            error_y={
                "type": "data",
                "symmetric": False,
                "array": np.nan_to_num(s["ci_high"].to_numpy(float) - value),
                "arrayminus": np.nan_to_num(value - s["ci_low"].to_numpy(float)),
            },
            hovertext=hover,
            hoverinfo="text",
        )
    _finish(
        fig,
        f"{METRIC_LABELS[metric]} by {attribute}, for each strategy (bars: 95 % interval)",
        barmode="group",
        xaxis_title=f"{attribute} (n = test patients; hatched = small group)",
        yaxis_title=METRIC_LABELS[metric],
        yaxis_range=[0, 1.05],
        legend_title="Strategy",
    )
    return fig


def disparity_before_after(
    results: AuditResults,
    *,
    attribute: str | None = None,
    metrics: Sequence[str] = (
        "demographic_parity_difference",
        "equalized_odds_difference",
        "worst_group_f1",
        "worst_group_auroc",
    ),
) -> go.Figure:
    """Change of each fairness measure against the baseline, per strategy (95 % intervals).

    One panel per measure, one horizontal bar per strategy: green where the change is an
    improvement (gaps smaller, worst group better), red where it is worse. A strategy
    whose demographic parity ratio fails the four-fifths (80 %) rule is marked with ⚠.
    """
    from plotly.subplots import make_subplots

    attribute = attribute or results.primary_attribute
    d = results.disparity
    d = d[(d["attribute"] == attribute) & (d["strategy"] != "none")]
    if d.empty:
        raise ConfigError(
            f"there are no disparities for {attribute!r} (no other strategy than the baseline, "
            "or too few large groups)"
        )
    labels = _labels(results)
    metrics = [m for m in metrics if (d["metric"] == m).any()]
    fig = make_subplots(
        rows=1,
        cols=len(metrics),
        shared_yaxes=True,
        subplot_titles=[DISPARITY_LABELS[m] for m in metrics],
        horizontal_spacing=0.03,
    )
    for col, metric in enumerate(metrics, start=1):
        s = d[d["metric"] == metric]
        higher_is_better = metric.startswith("worst_group") or metric.endswith("ratio")
        delta = s["delta"].to_numpy(float)
        good = delta > 0 if higher_is_better else delta < 0
        names = []
        for strategy in s["strategy"]:
            passed = results.four_fifths(strategy, attribute)
            names.append(
                labels.get(strategy, strategy) + (" ⚠ fails 80 % rule" if passed is False else "")
            )
        hover = [
            f"<b>{nm}</b><br>{DISPARITY_LABELS[metric]}: {v:.3f} "
            f"(baseline {v - dd:.3f})<br>change {dd:+.3f}, 95 % interval {lo:+.3f} to {hi:+.3f}"
            f"<br>{'better' if g else 'worse or unchanged'} than the baseline"
            for nm, v, dd, lo, hi, g in zip(
                names, s["value"], delta, s["delta_ci_low"], s["delta_ci_high"], good, strict=True
            )
        ]
        fig.add_trace(
            go.Bar(
                name=DISPARITY_LABELS[metric],
                y=names,
                x=delta,
                orientation="h",
                marker_color=np.where(good, "#2ca02c", "#d62728"),
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": np.nan_to_num(s["delta_ci_high"].to_numpy(float) - delta),
                    "arrayminus": np.nan_to_num(delta - s["delta_ci_low"].to_numpy(float)),
                },
                hovertext=hover,
                hoverinfo="text",
                showlegend=False,
            ),
            row=1,
            col=col,
        )
        fig.add_vline(x=0, line_color="#333", line_width=1, row=1, col=col)
        fig.update_xaxes(title_text="change vs baseline", row=1, col=col)
    fig.update_yaxes(autorange="reversed")
    fig.update_annotations(font_size=13)  # the subplot titles
    _finish(
        fig,
        f"Fairness by {attribute}: change against the baseline model "
        "(green = better, red = worse; bars: 95 % interval)",
        subplot_titles=True,
        height=max(340, 70 * d["strategy"].nunique() + 200),
    )
    return fig


# --------------------------------------------------------------------------- synthetic data


def column_overlay(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    column: str,
    *,
    by: str | None = None,
    group: Any = None,
    bins: int = 30,
) -> go.Figure:
    """Real versus synthetic distribution of one column (histogram or bars), optionally
    within one group (``by`` = group column, ``group`` = its value)."""
    for name, frame in (("real", real), ("synthetic", synthetic)):
        if column not in frame.columns:
            raise ConfigError(f"the {name} table has no column {column!r}")
    if by is not None and group is not None:
        real = real[real[by].astype(str) == str(group)]
        synthetic = synthetic[synthetic[by].astype(str) == str(group)]
    r, s = real[column], synthetic[column]
    fig = go.Figure()
    numeric = pd.api.types.is_numeric_dtype(r) and not pd.api.types.is_bool_dtype(r)
    if numeric and r.nunique() > 15:
        both = pd.concat([r, s]).astype(float)
        edges = np.histogram_bin_edges(both.dropna(), bins=bins) if both.notna().any() else None
        xbins = (
            {"start": edges[0], "end": edges[-1], "size": (edges[-1] - edges[0]) / bins}
            if edges is not None and edges[-1] > edges[0]
            else None
        )
        for vals, name, color in ((r, "real", _REAL), (s, "synthetic", _SYNTH)):
            fig.add_histogram(
                x=vals.dropna(),
                name=f"{name} (n={fmt_count(vals.notna().sum())}, "
                f"{fmt_pct(vals.isna().mean(), 0)} missing)",
                histnorm="probability",
                hovertemplate="%{x}: %{y:.1%} of " + name + " rows<extra></extra>",
                marker_color=color,
                opacity=0.6,
                xbins=xbins,
            )
        fig.update_layout(barmode="overlay", yaxis_tickformat=".0%")
    else:
        rc = r.astype(object).where(r.notna(), "(missing)").astype(str).value_counts(normalize=True)
        sc = s.astype(object).where(s.notna(), "(missing)").astype(str).value_counts(normalize=True)
        cats = sort_groups(dict.fromkeys([*rc.index, *sc.index]))
        for counts, name, color in ((rc, "real", _REAL), (sc, "synthetic", _SYNTH)):
            fig.add_bar(
                x=cats,
                y=[counts.get(c, 0.0) for c in cats],
                name=name,
                marker_color=color,
                hovertemplate="%{x}: %{y:.1%} of " + name + " rows<extra></extra>",
            )
        fig.update_layout(barmode="group", yaxis_tickformat=".0%")
    where = f" ({by} = {group})" if by is not None and group is not None else ""
    _finish(
        fig,
        f"{column}: real versus synthetic patients{where}",
        xaxis_title=column,
        yaxis_title="Share of rows",
        legend_title="Rows",
    )
    return fig


def _numeric_columns(
    real: pd.DataFrame, synthetic: pd.DataFrame, columns: Sequence[str] | None
) -> list[str]:
    cols = columns or [
        c
        for c in real.columns
        if c in synthetic.columns
        and pd.api.types.is_numeric_dtype(real[c])
        and not pd.api.types.is_bool_dtype(real[c])
        and real[c].nunique() > 1
    ]
    if len(cols) < 2:
        raise ConfigError("at least two numeric columns are needed for this chart")
    return list(cols)


def correlation_difference_heatmap(
    real: pd.DataFrame, synthetic: pd.DataFrame, *, columns: Sequence[str] | None = None
) -> go.Figure:
    """Synthetic minus real correlation for each pair of numeric columns (0 = preserved)."""
    cols = _numeric_columns(real, synthetic, columns)
    cr = real[cols].astype(float).corr()
    cs = synthetic[cols].astype(float).corr()
    diff = (cs - cr).to_numpy()
    hover = [
        [
            f"{a} × {b}<br>real correlation {cr.loc[a, b]:.2f}<br>synthetic {cs.loc[a, b]:.2f}"
            for b in cols
        ]
        for a in cols
    ]
    fig = go.Figure(
        go.Heatmap(
            z=diff,
            x=cols,
            y=cols,
            zmin=-1,
            zmax=1,
            colorscale="RdBu",
            reversescale=True,
            hovertext=hover,
            hoverinfo="text",
            colorbar={"title": "synthetic − real"},
        )
    )
    _finish(fig, "How well column relationships are kept (0 = same correlation as real data)")
    return fig


def projection_2d(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    *,
    columns: Sequence[str] | None = None,
    max_rows: int = 2000,
    seed: int = 0,
) -> go.Figure:
    """Real and synthetic rows on the first two principal components of the real data."""
    from sklearn.decomposition import PCA
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    cols = _numeric_columns(real, synthetic, columns)
    r = real[cols].astype(float)
    s = synthetic[cols].astype(float)
    if len(r) > max_rows:
        r = r.sample(max_rows, random_state=seed)
    if len(s) > max_rows:
        s = s.sample(max_rows, random_state=seed)
    pipe = make_pipeline(
        SimpleImputer(strategy="median", keep_empty_features=True),
        StandardScaler(),
        PCA(2, random_state=seed),
    )
    pr = pipe.fit_transform(r)
    ps = pipe.transform(s)
    var = pipe[-1].explained_variance_ratio_
    fig = go.Figure()
    for pts, name, color in ((pr, "real", _REAL), (ps, "synthetic", _SYNTH)):
        fig.add_scattergl(
            x=pts[:, 0],
            y=pts[:, 1],
            mode="markers",
            name=f"{name} ({fmt_count(len(pts))} rows)",
            marker={"color": color, "size": 4, "opacity": 0.5},
            hoverinfo="skip",
        )
    _finish(
        fig,
        "Real and synthetic patients on a 2-D map (overlap = similar patients)",
        xaxis_title=f"Component 1 ({fmt_pct(var[0], 0)} of the variation)",
        yaxis_title=f"Component 2 ({fmt_pct(var[1], 0)} of the variation)",
        legend_title="Rows",
    )
    return fig


def loss_curve(history: pd.DataFrame | Iterable[Mapping[str, Any]]) -> go.Figure:
    """Training loss of the diffusion model over steps (lower = better fit)."""
    frame = _frame(history, "training history")
    if not {"step", "loss"} <= set(frame.columns):
        raise ConfigError("the training history needs the columns step and loss")
    fig = go.Figure(
        go.Scatter(
            x=frame["step"],
            y=frame["loss"],
            mode="lines",
            line={"color": _SYNTH},
            hovertemplate="step %{x}<br>loss %{y:.4f}<extra></extra>",
            name="loss",
        )
    )
    _finish(
        fig,
        "Diffusion model training: loss per step (it should fall, then level off)",
        xaxis_title="Training step",
        yaxis_title="Loss",
        showlegend=False,
    )
    return fig
