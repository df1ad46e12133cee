"""The report's privacy section: ε (when the generator was trained with differential
privacy) and what it covers, then a traffic light per finding with its reading."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mcrage_core.presentation.privacy import (
    PRIVACY_INTRO,
    dp_scope,
    privacy_assessment,
    privacy_headline,
    privacy_table,
)
from mcrage_core.presentation.report.html import esc, html_table, muted

if TYPE_CHECKING:
    from mcrage_core.evaluation.results import AuditResults

__all__ = ["privacy_section"]


def privacy_section(results: AuditResults) -> str:
    """Empty when the run generated no synthetic rows."""
    if not results.fidelity:
        return ""
    out = ['<h2 id="privacy">Privacy of the synthetic rows</h2>', f"<p>{esc(PRIVACY_INTRO)}</p>"]
    assessment = privacy_assessment(results.fidelity)
    if assessment is None:
        return "".join(out) + muted(
            "This run was made before membership and disclosure risks were measured: run "
            "the audit again to see them."
        )
    out.append(f'<p class="summary" id="privacy-headline">{esc(privacy_headline(assessment))}</p>')
    if assessment.dp:
        out.append(f"<p>{esc(dp_scope(assessment.dp))}</p>")
    bounds = assessment.thresholds
    out.append(
        muted(
            "Thresholds (green up to / amber up to): membership AUC "
            f"{bounds['membership_auc'][0]} / {bounds['membership_auc'][1]}; disclosure gain "
            f"{bounds['disclosure_risk'][0]} / {bounds['disclosure_risk'][1]}; share closer "
            f"to training rows {bounds['dcr_share'][0]} / {bounds['dcr_share'][1]}. Groups "
            "with a green light are not listed."
        )
    )
    out.append(html_table(privacy_table(assessment)))
    return "".join(out)
