"""The HTML pieces of the report: page frame and style, escaped text, tables, figures.

Every string that comes from the user's data or settings goes through :func:`esc`.
plotly.js is embedded once, inline, with the first figure (:class:`Figures`).
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from mcrage_core.presentation.format import fmt_count, fmt_value, human_label

__all__ = ["esc", "cell_text", "html_table", "muted", "warning_list", "Figures", "page"]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;
margin:0 auto;max-width:1150px;padding:24px;color:#222;line-height:1.45}
h1{font-size:1.7em;margin-bottom:.2em}h2{border-bottom:2px solid #ddd;padding-bottom:4px;
margin-top:2em}h3{margin-top:1.4em}
table{border-collapse:collapse;margin:8px 0 16px;font-size:.9em}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}th{background:#f3f3f3}
td:first-child,th:first-child{text-align:left}
.summary{background:#eef6ee;border-left:5px solid #2ca02c;padding:12px 16px}
.warn{background:#fff4e5;border-left:5px solid #ff9800;padding:8px 16px}
.muted{color:#666;font-size:.9em}pre{background:#f7f7f7;padding:10px;overflow:auto;font-size:.8em}
nav a{margin-right:12px}.scroll{overflow-x:auto;max-width:100%}
"""


def esc(value: object) -> str:
    """``value`` as HTML-escaped text (quotes too)."""
    return html.escape(str(value), quote=True)


def cell_text(value: object) -> str:
    """A table cell as text (:func:`~mcrage_core.presentation.format.fmt_value` with three
    decimals); whole floats read as counts (they travel through JSON as floats), a
    mapping as ``key: value`` pairs."""
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {cell_text(x)}" for k, x in value.items())
    if isinstance(value, (float, np.floating)) and math.isfinite(value) and value.is_integer():
        return fmt_count(value)
    return fmt_value(value, 3)


def html_table(frame: pd.DataFrame | None, *, max_rows: int = 200) -> str:
    """``frame`` as an HTML table (plain-language headers, escaped cells), at most
    ``max_rows`` rows with a note on the rest."""
    if frame is None or len(frame) == 0:
        return muted("Nothing to show.")
    shown = frame.head(max_rows)
    head = "".join(f"<th>{esc(human_label(c))}</th>" for c in shown.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{esc(cell_text(v))}</td>" for v in row) + "</tr>"
        for row in shown.itertuples(index=False)
    )
    more = muted(f"{len(frame) - max_rows:,} more rows not shown.") if len(frame) > max_rows else ""
    return (
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody>'
        f"</table></div>{more}"
    )


def muted(text: object) -> str:
    """A grey side note (escaped)."""
    return f'<p class="muted">{esc(text)}</p>'


def warning_list(items: Sequence[str], *, item_class: Sequence[str] | None = None) -> str:
    """An orange box with one bullet per item (escaped)."""
    classes = item_class or [""] * len(items)
    bullets = "".join(
        (f'<li class="{esc(c)}">' if c else "<li>") + f"{esc(text)}</li>"
        for text, c in zip(items, classes, strict=True)
    )
    return f'<div class="warn"><ul>{bullets}</ul></div>'


class Figures:
    """Turns figures into HTML; embeds plotly.js with the first figure only."""

    def __init__(self) -> None:
        self.first = True
        self.count = 0

    def __call__(self, fig: go.Figure) -> str:
        self.count += 1
        out: str = fig.to_html(
            full_html=False,
            include_plotlyjs=self.first,
            div_id=f"mcrage-fig-{self.count}",
            config={"displaylogo": False, "responsive": True},
        )
        self.first = False
        return out


_NAV = (
    ("verdicts", "Verdicts"),
    ("summary", "Summary"),
    ("dataset", "Dataset"),
    ("imbalance", "Imbalance"),
    ("plan", "Plan"),
    ("fidelity", "Synthetic data"),
    ("metrics", "Performance"),
    ("disparities", "Fairness"),
    ("curves", "Curves"),
    ("reproduce", "Settings"),
)


def page(
    title: str,
    subtitle: str,
    sections: Sequence[str],
    *,
    links: Sequence[tuple[str, str]] = _NAV,
) -> str:
    """The whole document: head with the style, title, a subtitle line (already HTML),
    the section links (``(anchor, text)`` pairs) and the sections."""
    nav = "".join(f'<a href="#{a}">{t}</a>' for a, t in links)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{esc(title)}</h1>"
        f'<p class="muted">{subtitle}</p>'
        f"<nav>{nav}</nav>{''.join(sections)}</body></html>\n"
    )
