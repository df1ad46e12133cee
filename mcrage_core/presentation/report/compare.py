"""The comparison report: two finished audits side by side in one self-contained HTML
file (plotly.js inline once, every user string escaped)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pandas as pd

from mcrage_core.presentation import plots
from mcrage_core.presentation.compare_runs import (
    compare_metrics,
    compare_verdicts,
    describe_run,
    differences_in_settings,
    same_test_rows,
)
from mcrage_core.presentation.report.html import Figures, esc, html_table, muted, page
from mcrage_core.presentation.verdicts import verdict_paragraph

if TYPE_CHECKING:
    from mcrage_core.evaluation.results import AuditResults

__all__ = ["render_comparison_report"]

_LINKS = (
    ("runs", "The two runs"),
    ("settings", "What differs"),
    ("verdicts", "Verdicts"),
    ("groups", "Per group"),
)


def _runs_section(a: AuditResults, b: AuditResults, label_a: str, label_b: str) -> str:
    da, db = describe_run(a), describe_run(b)
    table = pd.DataFrame({"": list(da), label_a: list(da.values()), label_b: list(db.values())})
    same = same_test_rows(a, b)
    note = (
        "Both runs tested exactly the same real rows in the same folds."
        if same
        else "The runs tested different rows (another table or other folds), so a difference "
        "between them has no paired interval: read it against the two intervals."
    )
    return f'<h2 id="runs">The two runs</h2>{html_table(table)}{muted(note)}'


def _verdicts_section(a: AuditResults, b: AuditResults, label_a: str, label_b: str) -> str:
    out = ['<h2 id="verdicts">Verdicts side by side</h2>']
    for results, label in ((a, label_a), (b, label_b)):
        out.append(f'<h3>{esc(label)}</h3><p class="summary">{esc(verdict_paragraph(results))}</p>')
    table = compare_verdicts(a, b, label_a=label_a, label_b=label_b)
    if len(table):
        agree = int((table["Agree"] == "yes").sum())
        out.append(muted(f"The verdicts agree for {agree} of {len(table)} comparisons."))
    out.append(html_table(table, max_rows=400))
    return "".join(out)


def _groups_section(
    a: AuditResults, b: AuditResults, label_a: str, label_b: str, fig: Figures
) -> str:
    attribute = a.primary_attribute or "overall"
    out = ['<h2 id="groups">Per group</h2>']
    for metric in ("f1", "auroc"):
        out.append(fig(plots.compare_runs_bars(
            a, b, attribute=attribute, metric=metric, label_a=label_a, label_b=label_b
        )))  # fmt: skip
        out.append(html_table(compare_metrics(
            a, b, attribute=attribute, metric=metric, label_a=label_a, label_b=label_b
        )))  # fmt: skip
    return "".join(out)


def render_comparison_report(
    a: AuditResults, b: AuditResults, *, label_a: str = "Run A", label_b: str = "Run B"
) -> str:
    """The comparison of two finished runs as one self-contained HTML document."""
    fig = Figures()
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    diffs = differences_in_settings(a, b, label_a=label_a, label_b=label_b)
    settings = (
        "<ul>" + "".join(f"<li>{esc(d)}</li>" for d in diffs) + "</ul>"
        if diffs
        else muted("The two runs have the same settings.")
    )
    sections = [
        _runs_section(a, b, label_a, label_b),
        f'<h2 id="settings">What differs</h2>{settings}',
        _verdicts_section(a, b, label_a, label_b),
        _groups_section(a, b, label_a, label_b, fig),
    ]
    title = f"MCRAGE: {label_a} compared with {label_b}"
    return page(title, f"Generated {generated}.", sections, links=_LINKS)
