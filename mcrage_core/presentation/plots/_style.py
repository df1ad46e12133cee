"""The layout every figure shares, and small helpers of the figure builders.

Titles are wrapped to :data:`TITLE_WIDTH` characters per line and the top margin grows
with the number of title lines (and subplot titles), so a title is never cut off or
drawn over the plot; legends sit beside the plot, below the title.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from mcrage_core.errors import ConfigError
from mcrage_core.presentation.format import fmt_pct
from mcrage_core.tables import group_sort_key

__all__ = [
    "STRATEGY_COLORS",
    "TITLE_WIDTH",
    "REAL_COLOR",
    "SYNTHETIC_COLOR",
    "TableLike",
    "wrap_title",
    "finish",
    "by_group",
    "as_frame",
    "pick_attribute",
    "pct",
    "error_bars",
]

STRATEGY_COLORS: dict[str, str] = {
    "none": "#7f7f7f",
    "oversample": "#1f77b4",
    "smote": "#ff7f0e",
    "reweigh": "#9467bd",
    "cddpm": "#2ca02c",
    "threshold": "#d62728",
}
REAL_COLOR = "#1f77b4"
SYNTHETIC_COLOR = "#2ca02c"

TITLE_WIDTH = 56
"""Most characters per title line: fits a figure in half of a dashboard page."""
_TITLE_FONT = 16
_LINE_PX = 22  # height of one title line at _TITLE_FONT
_SUBPLOT_TITLE_PX = 26  # room for the subplot titles between the title and the plots
_AXIS_TITLE_WIDTH = 40

TableLike = pd.DataFrame | Iterable[Mapping[str, object]]
"""A tidy table, or its records (as stored in the results JSON)."""


def wrap_title(text: str, width: int = TITLE_WIDTH) -> list[str]:
    """``text`` as lines of at most ``width`` characters (words are not split)."""
    return textwrap.wrap(str(text), width, break_long_words=False) or [""]


def finish(fig: go.Figure, title: str, *, subplot_titles: bool = False, **layout: object) -> None:
    """Apply the shared layout: wrapped title in a top margin tall enough for it, white
    template, legend beside the plot (never over the title)."""
    lines = wrap_title(title)
    top = 24 + _LINE_PX * len(lines) + (_SUBPLOT_TITLE_PX if subplot_titles else 0)
    for axis in ("xaxis_title", "yaxis_title"):  # long axis titles are cut off too
        text = layout.get(axis)
        if isinstance(text, str):
            layout[axis] = "<br>".join(wrap_title(text, _AXIS_TITLE_WIDTH))
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


def by_group(frame: pd.DataFrame, column: str = "group") -> pd.DataFrame:
    """Rows in group display order (``'<30'`` before ``'30-44'``; missing last)."""
    if frame.empty:
        return frame
    order = sorted(range(len(frame)), key=lambda i: group_sort_key(frame[column].iloc[i]))
    return frame.iloc[order]


def as_frame(data: TableLike | None, what: str) -> pd.DataFrame:
    """``data`` as a frame; a :class:`ConfigError` naming ``what`` when there is none."""
    if data is None:
        raise ConfigError(f"there is no {what} to draw yet; run the audit first")
    frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(list(data))
    if frame.empty:
        raise ConfigError(f"the {what} is empty, so there is nothing to draw")
    return frame


def pick_attribute(frame: pd.DataFrame, attribute: str | None) -> str:
    """``attribute`` if the frame has rows for it, else the first one (``None``)."""
    attrs = list(dict.fromkeys(frame["attribute"].astype(str)))
    if attribute is None:
        return attrs[0]
    if attribute not in attrs:
        raise ConfigError(
            f"there are no numbers for the attribute {attribute!r}; choose one of {', '.join(attrs)}"
        )
    return attribute


def pct(v: object) -> str:
    """A share as a percentage with one decimal (hover texts)."""
    return fmt_pct(v, 1)


def error_bars(value: np.ndarray, low: object, high: object) -> dict[str, object]:
    """Plotly error bars (``error_x`` / ``error_y``) from an interval around ``value``;
    missing bounds draw no bar."""
    low_arr = np.asarray(low, dtype=float)
    high_arr = np.asarray(high, dtype=float)
    return {
        "type": "data",
        "symmetric": False,
        "array": np.nan_to_num(high_arr - value),
        "arrayminus": np.nan_to_num(value - low_arr),
    }
