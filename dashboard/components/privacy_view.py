"""The privacy panel (Compare page): ε and what it covers, a traffic light per finding with
its reading, thresholds the user can set, and the sidecar JSON to download."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from dashboard.components.tables import show_table
from dashboard.messages import md_escape
from dashboard.run_files import run_file
from mcrage_core.presentation.privacy import (
    LIGHT_LABELS,
    PRIVACY_INTRO,
    dp_scope,
    privacy_assessment,
    privacy_headline,
    privacy_table,
)
from mcrage_core.privacy import DEFAULT_THRESHOLDS

if TYPE_CHECKING:
    from mcrage_core.evaluation.results import AuditResults
    from mcrage_core.jobs import RunRecord

__all__ = ["show_privacy"]

_CELL = {
    LIGHT_LABELS["green"]: "background-color: #d9f2e3",
    LIGHT_LABELS["amber"]: "background-color: #fde8c8",
    LIGHT_LABELS["red"]: "background-color: #f8d0d0",
}

_ICONS = {
    "red": ":material/gpp_bad:",
    "amber": ":material/shield:",
    "green": ":material/verified_user:",
}


def _thresholds() -> dict[str, tuple[float, float]]:
    with st.popover("Thresholds", icon=":material/tune:"):
        st.caption("Green up to the first value, amber up to the second, red above.")
        m = st.slider(
            "Membership AUC", 0.5, 1.0, DEFAULT_THRESHOLDS["membership_auc"], 0.01,
            key="privacy_membership_bounds",
        )  # fmt: skip
        d = st.slider(
            "Disclosure gain", 0.0, 0.5, DEFAULT_THRESHOLDS["disclosure_risk"], 0.01,
            key="privacy_disclosure_bounds",
        )  # fmt: skip
    return {"membership_auc": m, "disclosure_risk": d}


def show_privacy(results: AuditResults, record: RunRecord) -> None:
    with st.container(key="privacy_panel"):
        _panel(results, record)


def _panel(results: AuditResults, record: RunRecord) -> None:
    st.caption(PRIVACY_INTRO)
    assessment = privacy_assessment(results.fidelity, _thresholds())
    if assessment is None:
        st.info(
            "This run was made before membership and disclosure risks were measured: run the "
            "audit again to see them.",
            icon=":material/info:",
        )
        return
    worst = assessment.worst_light()
    headline = md_escape(privacy_headline(assessment))
    show = {"red": st.error, "amber": st.warning}.get(worst, st.success)
    show(headline, icon=_ICONS.get(worst, ":material/verified_user:"))
    if assessment.dp:
        eps = assessment.dp.get("epsilon_spent")
        st.metric("Differential privacy: ε spent", f"{eps:.2g}" if eps is not None else "-")
        st.caption(dp_scope(assessment.dp))
    table = privacy_table(assessment)
    styled = table.style.map(lambda v: _CELL.get(str(v), ""), subset=["Risk"])
    show_table(
        styled,  # type: ignore[arg-type]
        key="privacy_table",
        column_config={"Reading": st.column_config.TextColumn(width="large")},
    )
    path = run_file(record, "privacy")
    if path is not None:
        st.download_button(
            "Download the privacy summary (JSON sidecar of synthetic.csv)",
            data=path.read_bytes,  # read when clicked
            file_name=f"mcrage_{record.id}_synthetic.privacy.json",
            mime="application/json",
            key="download_privacy",
            icon=":material/download:",
            on_click="ignore",  # no rerun: the file is read by the click itself
        )
