"""The pages' addresses, the pointer to the next page, the guard for pages that need a
table, and the sidebar drawn on every page.

The page files live in app_pages/, not pages/: Streamlit treats a folder named pages/
next to the entry script as an old-style multipage app and may then run a page file
without app.py (no session set-up, no sidebar)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import auth, state
from dashboard.messages import md_escape
from mcrage_core.presentation.format import fmt_count

__all__ = [
    "PAGE_COMPARE",
    "PAGE_COMPARE_RUNS",
    "PAGE_DATA",
    "PAGE_IMBALANCE",
    "PAGE_REPORT",
    "PAGE_RESULTS",
    "PAGE_TRAIN",
    "next_step",
    "require_table",
    "sidebar",
]

PAGE_DATA = "app_pages/data.py"
PAGE_IMBALANCE = "app_pages/imbalance.py"
PAGE_TRAIN = "app_pages/train.py"
PAGE_COMPARE = "app_pages/compare.py"
PAGE_RESULTS = "app_pages/results.py"
PAGE_REPORT = "app_pages/report.py"
PAGE_COMPARE_RUNS = "app_pages/compare_runs.py"


def next_step(page: str, label: str, *, note: str | None = None) -> None:
    """A visible pointer to the next page."""
    st.divider()
    if note:
        st.caption(note)
    st.page_link(page, label=label, icon=":material/arrow_forward:")


def require_table() -> pd.DataFrame:
    """The session's table, or a helpful empty state that links to the Data page."""
    df = st.session_state.get(state.DATA)
    if df is None:
        st.info(
            "No table is loaded yet. Start on the Data page: upload a CSV, Parquet or Excel "
            "file, or pick the bundled sample with one click."
        )
        st.page_link(PAGE_DATA, label="Go to 1 · Data", icon=":material/upload_file:")
        st.stop()
    return df


def sidebar() -> None:
    """What is loaded and which run is selected, on every page."""
    with st.sidebar:
        st.markdown("**MCRAGE** · find and repair demographic imbalance")
        auth.sign_out_button()
        name = st.session_state.get(state.DATA_NAME)
        df = st.session_state.get(state.DATA)
        if df is not None and name:
            st.caption(
                f"Table: {md_escape(name)} ({fmt_count(len(df))} rows × "
                f"{fmt_count(df.shape[1])} columns)"
            )
        else:
            st.caption("No table loaded yet: start with 1 · Data.")
        run_id = st.session_state.get(state.CURRENT_RUN)
        if run_id:
            st.caption(f"Selected run: {run_id}")
