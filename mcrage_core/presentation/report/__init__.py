"""Self-contained HTML report of an audit: one file that opens offline in any browser.

plotly.js is embedded once, inline; there are no links to outside resources. Every
string that comes from the user's data or settings is HTML-escaped.

* :mod:`.html` — page frame, style, escaped tables and figures;
* :mod:`.sections` — one function per report section;
* :mod:`.summary` — :func:`plain_summary`, the few sentences for a review meeting.

Examples
--------
>>> html_text = render_report(results, title="SUPPORT2 race audit")  # doctest: +SKIP
>>> Path("report.html").write_text(html_text, encoding="utf-8")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from mcrage_core.evaluation.verdicts import four_fifths_text
from mcrage_core.presentation.report import sections as s
from mcrage_core.presentation.report.curves import curves_section
from mcrage_core.presentation.report.html import Figures, esc, page
from mcrage_core.presentation.report.privacy import privacy_section
from mcrage_core.presentation.report.summary import plain_summary

if TYPE_CHECKING:
    from mcrage_core.evaluation.results import AuditResults

__all__ = ["render_report", "plain_summary", "four_fifths_text"]


def render_report(
    results: AuditResults,
    *,
    title: str = "MCRAGE fairness audit",
    max_overlays: int = 6,
    metrics: Sequence[str] = ("f1", "auroc", "accuracy"),
) -> str:
    """The full report as one self-contained HTML document (UTF-8 text).

    Sections: summary, dataset, imbalance, augmentation plan, synthetic data fidelity
    and privacy, per-group metrics and disparities before/after for every strategy,
    warnings, settings and versions.
    """
    fig = Figures()
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    subtitle = (
        f"Generated {generated} by MCRAGE {esc(results.versions.get('mcrage', ''))}. "
        f"Outcome: {esc(results.dataset.get('target'))}; "
        f"primary attribute: {esc(results.primary_attribute or '')}."
    )
    sections = [
        s.verdict_section(results),
        s.summary_section(results),
        s.dataset_section(results),
        s.imbalance_section(results, fig),
        s.plan_section(results),
        s.fidelity_section(results, fig, max_overlays),
        privacy_section(results),
        s.reading_section(results),
        s.performance_section(results, fig, metrics),
        s.fairness_section(results, fig),
        curves_section(results, fig),
        s.warnings_section(results),
        s.settings_section(results),
    ]
    return page(title, subtitle, sections)
