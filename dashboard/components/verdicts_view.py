"""The verdicts at the top of the Results page: the paragraph a clinician can read aloud,
the table behind it with the verdicts coloured, and a CSV download."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from dashboard.components.tables import show_table
from dashboard.messages import md_escape
from mcrage_core.evaluation.results import METRIC_LABELS
from mcrage_core.presentation.verdicts import (
    verdict_attributes,
    verdict_paragraph,
    verdict_table,
)

if TYPE_CHECKING:
    import pandas as pd

    from mcrage_core.evaluation.results import AuditResults

__all__ = ["show_verdicts"]

_COLOURS = {
    "helped": "background-color: #d4edda",
    "hurt": "background-color: #f8d7da",
    "no measurable change": "",
}


def _colour(frame: pd.DataFrame) -> object:
    return frame.style.map(lambda v: _COLOURS.get(str(v), ""), subset=["Verdict"])


def show_verdicts(results: AuditResults) -> None:
    """The verdict paragraph (primary attribute, F1, or the chosen ones) and its table."""
    st.subheader("Verdict per group")
    if results.verdicts.empty:
        with st.container(key="verdict_paragraph"):
            st.info(md_escape(verdict_paragraph(results)), icon=":material/gavel:")
        return
    attributes = verdict_attributes(results)
    metrics = [m for m in ("f1", "auroc") if m in set(results.verdicts["metric"])]
    c1, c2 = st.columns(2)
    attribute = c1.selectbox("Judge the groups of", attributes, key="verdict_attribute")
    metric = c2.radio(
        "By", metrics, format_func=METRIC_LABELS.get, horizontal=True, key="verdict_metric"
    )
    with st.container(key="verdict_paragraph"):
        st.info(
            md_escape(verdict_paragraph(results, metric=metric, attribute=attribute)),
            icon=":material/gavel:",
        )
    st.caption(
        "Green: the strategy helped the group; red: it hurt; no colour: no measurable change "
        "(the interval is wide or includes zero). Groups with too few test patients are not "
        "judged. Intervals are 95 %; the verdict uses p-values corrected with Holm's method "
        "for the number of groups compared."
    )
    table = verdict_table(results, attribute=attribute, metric=metric, compact=True)
    show_table(_colour(table), key="verdict_table")  # type: ignore[arg-type]
    st.download_button(
        "Download all verdicts (CSV)",
        data=lambda: verdict_table(results).to_csv(index=False).encode("utf-8"),  # on click
        file_name="mcrage_verdicts.csv",
        mime="text/csv",
        key="download_verdicts",
        icon=":material/download:",
        on_click="ignore",  # no rerun: the file is read by the click itself
    )
