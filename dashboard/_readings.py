"""Plain readings shown on the dashboard: fairness findings, synthetic-data verdicts and
the pre-training plan preview. The texts come from ``mcrage_core.evaluation.verdicts`` and
``mcrage_core.fidelity`` (the report uses the same ones), so the dashboard and the report
cannot drift apart."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, SupportsFloat

import pandas as pd
import streamlit as st

from dashboard.components.tables import show_table
from mcrage_core.evaluation.verdicts import fairness_findings
from mcrage_core.fidelity import FIDELITY_HELP, fidelity_verdict
from mcrage_core.presentation.format import format_table
from mcrage_core.tables import sort_rows_by_group

if TYPE_CHECKING:
    from mcrage_core.evaluation import PlanPreview
    from mcrage_core.evaluation.results import AuditResults

_BADGE = {"good": "🟢 good", "fair": "🟡 fair", "poor": "🔴 poor"}


def _md(text: str) -> str:
    """Text safe for markdown (no accidental bold from ``__x__`` or ``*x*``), escaping only
    the characters that would change the rendering, so the readings stay searchable text
    (``dashboard.messages.md_escape`` also escapes ``.``, ``-`` and brackets, for user data)."""
    for ch in ("\\", "*", "_", "`", "#", "[", "]", "<", ">", "|", "$"):
        text = text.replace(ch, "\\" + ch)
    return text


def show_findings(results: AuditResults) -> None:
    """What a reviewer must know before reading the fairness tables."""
    for finding in fairness_findings(results):
        box = st.warning if finding.level == "warning" else st.info
        box(_md(finding.text), icon="⚠️" if finding.level == "warning" else "ℹ️")


def verdict_text(metric: str, value: SupportsFloat | str | None) -> str:
    """``"🟢 good"`` / ``"🟡 fair"`` / ``"🔴 poor"`` or ``"–"``."""
    verdict = fidelity_verdict(metric, value)
    return _BADGE.get(verdict or "", "–")


def show_fidelity_verdicts(overall: Mapping[str, Any]) -> None:
    """One line per synthetic-data score: value, verdict and the thresholds used."""
    rows = []
    for metric, help_text in FIDELITY_HELP.items():
        value = overall.get(metric)
        shown = "–" if value is None else f"{float(value):.2f}"
        if metric == "exact_copies" and value is not None:
            shown = f"{int(value):,}"
        rows.append(
            f"- **{metric.replace('_', ' ')}**: {shown} · {verdict_text(metric, value)} "
            f"— {_md(help_text)}"
        )
    st.markdown("\n".join(rows))
    method = overall.get("detection_auc_method")
    if method:
        st.caption(f"Detection AUC is computed {_md(str(method))}.")


SKIPPED = "skipped: too few real rows (privacy)"


def plan_table(preview: PlanPreview) -> pd.DataFrame:
    """The preview's plan for display: groups in display order, numbers as text, the
    cells the privacy guardrail skips marked."""
    plan = preview.plan.drop(columns=["capped"], errors="ignore")
    not_groups = ("n_real", "n_add", "n_final", "blocked", "reason")
    groups = [c for c in plan.columns if c not in not_groups]
    plan = sort_rows_by_group(plan, groups)
    if "blocked" in plan.columns:
        plan["blocked"] = plan["blocked"].map(lambda b: SKIPPED if bool(b) else "")
    return format_table(plan, labels={"blocked": "MCRAGE"})


def show_preview(preview: PlanPreview, *, cddpm: bool = True, what: str = "group") -> bool:
    """The exact plan of the run with the guardrail's effects: the headline count (what
    the run generates), the split sizes, the plan with skipped cells marked, the notes;
    ``False`` when the audit would be refused (the reason is shown)."""
    skipped = preview.n_add - preview.n_add_cddpm
    if cddpm:
        head = (
            f"**Augmentation plan:** MCRAGE will generate **{preview.n_add_cddpm:,} synthetic "
            f"rows** for the {_md(what)} groups below (each group keeps its own outcome mix; "
            "the last column says why each cell gets what it gets)"
        )
        if skipped:
            head += (
                f"; the plan asks for {preview.n_add:,}, and {skipped:,} are skipped by the "
                "privacy guardrail (cells marked below)"
            )
        st.markdown(head + ".")
    else:
        st.markdown(
            f"**Augmentation plan:** the other strategies add **{preview.n_add:,} rows** to the "
            f"{_md(what)} groups below (the last column says why). MCRAGE (CDDPM) is not "
            "among the strategies, so no synthetic rows are generated."
        )
    st.caption(
        f"{preview.n_rows:,} real rows with an outcome: {preview.n_train:,} train the models "
        f"and the generator, {preview.n_test:,} real rows are held out for testing (never "
        "synthetic). The plan is computed on exactly these training rows. With "
        "cross-validation these are the first fold's numbers: each fold gets its own plan "
        "on its own training part, and every real row is tested once per repeat."
    )
    show_table(plan_table(preview), height=320, key="plan_table")
    if preview.notes:  # one box, one line per skipped cell or changed outcome mix
        st.warning(
            "\n".join(f"- {_md(note)}" for note in preview.notes),
            icon=":material/privacy_tip:",
        )
    if preview.problem:
        st.error(_md(preview.problem))
        return False
    return True
