"""What people see of an audit, shared by the dashboard, the HTML report and the CLI.

* :mod:`.format` (with :mod:`.labels`) — numbers, headers and group order as text;
* :mod:`.tables` — the results tables, prepared once for the dashboard and the report;
* :mod:`.plots` — plotly figures;
* :mod:`.report` — the self-contained HTML report and the plain summary.

``from mcrage_core.presentation import plots`` then ``plots.<figure>(...)``; the other
public names are re-exported here.
"""

from __future__ import annotations

from mcrage_core.presentation import plots, report, tables
from mcrage_core.presentation.format import (
    HUMAN_LABELS,
    NO_VALUE,
    fmt_count,
    fmt_estimate,
    fmt_number,
    fmt_pct,
    format_table,
    human_label,
    humanize_columns,
)
from mcrage_core.presentation.report import plain_summary, render_report
from mcrage_core.presentation.tables import (
    base_rate_table,
    comparison_table,
    disparity_table,
    group_table,
    intersection_table,
)

__all__ = [
    "plots",
    "report",
    "tables",
    "HUMAN_LABELS",
    "NO_VALUE",
    "fmt_count",
    "fmt_estimate",
    "fmt_number",
    "fmt_pct",
    "format_table",
    "human_label",
    "humanize_columns",
    "plain_summary",
    "render_report",
    "base_rate_table",
    "comparison_table",
    "disparity_table",
    "group_table",
    "intersection_table",
]
