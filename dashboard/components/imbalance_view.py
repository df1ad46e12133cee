"""Parts of the Imbalance page: the note on groups the audit merges, the small-cell
warnings."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from dashboard.messages import md_escape, show_warning, user_errors
from mcrage_core.tables import MERGED_LABEL, merge_small_groups, needs_band

if TYPE_CHECKING:
    from mcrage_core.tables import ImbalanceReport, Schema

__all__ = ["merging_note", "small_cell_warnings"]


def merging_note(coerced: pd.DataFrame, schema: Schema, merge_below: int) -> None:
    """Which race/sex groups the audit analyses together (fewer than ``merge_below``
    rows); the counts on the page stay the table's own."""
    if not merge_below:
        return
    age_col = schema.sensitive.get("age")
    merging = []
    for col in dict.fromkeys(schema.sensitive.values()):
        if col not in coerced.columns or needs_band(coerced[col], is_age=col == age_col):
            continue  # banded by the audit, never merged
        with user_errors():
            _, small_groups = merge_small_groups(coerced[col], min_rows=merge_below)
        if small_groups:
            merging.append(f"{col}: {', '.join(small_groups)}")
    if merging:
        st.info(
            md_escape(
                f"The audit analyses groups with fewer than {merge_below} rows together as "
                f"'{MERGED_LABEL}' ({'; '.join(merging)}). The counts below are the table's own."
            ),
            icon=":material/merge:",
        )


def small_cell_warnings(report: ImbalanceReport, *, shown: int = 12) -> None:
    """The audit's small-cell and missing-value warnings, the first ``shown`` of them."""
    warnings = report.warnings()
    if not warnings:
        return
    with st.container(border=True):
        st.markdown(f"**{len(warnings)} small-cell or missing-value warning(s)**")
        for w in warnings[:shown]:
            show_warning(w)
        if len(warnings) > shown:
            st.caption(
                f"... and {len(warnings) - shown} more (see the table of small cells below)."
            )
