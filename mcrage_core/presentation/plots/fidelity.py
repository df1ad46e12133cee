"""Figures of the synthetic rows against the real ones, and of the model's training."""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from mcrage_core.errors import ConfigError
from mcrage_core.presentation.format import fmt_count, fmt_pct
from mcrage_core.presentation.plots._style import (
    REAL_COLOR,
    SYNTHETIC_COLOR,
    TableLike,
    as_frame,
    finish,
)
from mcrage_core.tables import sort_groups

__all__ = ["column_overlay", "correlation_difference_heatmap", "projection_2d", "loss_curve"]


def _histograms(fig: go.Figure, real: pd.Series, synthetic: pd.Series, bins: int) -> None:
    both = pd.concat([real, synthetic]).astype(float)
    edges = np.histogram_bin_edges(both.dropna(), bins=bins) if both.notna().any() else None
    xbins = (
        {"start": edges[0], "end": edges[-1], "size": (edges[-1] - edges[0]) / bins}
        if edges is not None and edges[-1] > edges[0]
        else None
    )
    for vals, name, color in (
        (real, "real", REAL_COLOR),
        (synthetic, "synthetic", SYNTHETIC_COLOR),
    ):
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


def _category_bars(fig: go.Figure, real: pd.Series, synthetic: pd.Series) -> None:
    def shares(values: pd.Series) -> pd.Series:
        labelled = values.astype(object).where(values.notna(), "(missing)").astype(str)
        return labelled.value_counts(normalize=True)

    rc, sc = shares(real), shares(synthetic)
    cats = sort_groups(dict.fromkeys([*rc.index, *sc.index]))
    for counts, name, color in ((rc, "real", REAL_COLOR), (sc, "synthetic", SYNTHETIC_COLOR)):
        fig.add_bar(
            x=cats,
            y=[counts.get(c, 0.0) for c in cats],
            name=name,
            marker_color=color,
            hovertemplate="%{x}: %{y:.1%} of " + name + " rows<extra></extra>",
        )
    fig.update_layout(barmode="group", yaxis_tickformat=".0%")


def column_overlay(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    column: str,
    *,
    by: str | None = None,
    group: Hashable | None = None,
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
        _histograms(fig, r, s, bins)
    else:
        _category_bars(fig, r, s)
    where = f" ({by} = {group})" if by is not None and group is not None else ""
    finish(
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
    return [str(c) for c in cols]


def correlation_difference_heatmap(
    real: pd.DataFrame, synthetic: pd.DataFrame, *, columns: Sequence[str] | None = None
) -> go.Figure:
    """Synthetic minus real correlation for each pair of numeric columns (0 = preserved)."""
    cols = _numeric_columns(real, synthetic, columns)
    cr = real[cols].astype(float).corr()
    cs = synthetic[cols].astype(float).corr()
    diff = (cs - cr).to_numpy()
    real_r, synth_r = cr.to_numpy(), cs.to_numpy()
    hover = [
        [
            f"{a} × {b}<br>real correlation {real_r[i, j]:.2f}<br>synthetic {synth_r[i, j]:.2f}"
            for j, b in enumerate(cols)
        ]
        for i, a in enumerate(cols)
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
    finish(fig, "How well column relationships are kept (0 = same correlation as real data)")
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
    for pts, name, color in ((pr, "real", REAL_COLOR), (ps, "synthetic", SYNTHETIC_COLOR)):
        fig.add_scattergl(
            x=pts[:, 0],
            y=pts[:, 1],
            mode="markers",
            name=f"{name} ({fmt_count(len(pts))} rows)",
            marker={"color": color, "size": 4, "opacity": 0.5},
            hoverinfo="skip",
        )
    finish(
        fig,
        "Real and synthetic patients on a 2-D map (overlap = similar patients)",
        xaxis_title=f"Component 1 ({fmt_pct(var[0], 0)} of the variation)",
        yaxis_title=f"Component 2 ({fmt_pct(var[1], 0)} of the variation)",
        legend_title="Rows",
    )
    return fig


def loss_curve(history: TableLike) -> go.Figure:
    """Training loss of the diffusion model over steps (lower = better fit), with the
    loss on the held-out validation rows when it was measured (``val_loss``)."""
    frame = as_frame(history, "training history")
    if not {"step", "loss"} <= set(frame.columns):
        raise ConfigError("the training history needs the columns step and loss")
    fig = go.Figure(
        go.Scatter(
            x=frame["step"],
            y=frame["loss"],
            mode="lines",
            line={"color": SYNTHETIC_COLOR},
            hovertemplate="step %{x}<br>loss %{y:.4f}<extra></extra>",
            name="training rows",
        )
    )
    held_out = frame.dropna(subset=["val_loss"]) if "val_loss" in frame.columns else frame[:0]
    if len(held_out):
        fig.add_trace(
            go.Scatter(
                x=held_out["step"],
                y=held_out["val_loss"],
                mode="lines",
                line={"color": REAL_COLOR, "dash": "dash"},
                hovertemplate="step %{x}<br>held-out loss %{y:.4f}<extra></extra>",
                name="held-out rows (stops training when flat)",
            )
        )
    finish(
        fig,
        "Diffusion model training: loss per step (it should fall, then level off)",
        xaxis_title="Training step",
        yaxis_title="Loss",
        showlegend=bool(len(held_out)),
        legend_title="Loss on",
    )
    return fig
