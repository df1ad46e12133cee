"""Loading the session's table on the Data page: the uploader (with the sheet choice of
a workbook), the bundled samples, and the message of an upload that failed."""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from dashboard import state
from dashboard.messages import md_escape, show_error, user_errors
from dashboard.services import SAMPLES, load_sample
from mcrage_core.errors import MCRAGEError
from mcrage_core.tables import SUPPORTED_EXTENSIONS, list_sheets, load_table

__all__ = ["load_section"]

_EXCEL = (".xlsx", ".xlsm", ".xls")


def load_section() -> None:
    """Uploader and samples side by side; a new table becomes the session's table, a
    failed upload never replaces the table already loaded (its message is shown)."""
    left, right = st.columns([3, 2], gap="large")
    with left:
        uploaded = st.file_uploader(
            "Upload a table (CSV, Parquet or Excel)",
            type=[e.lstrip(".") for e in SUPPORTED_EXTENSIONS],
            key="upload",
            help="Up to 200 MB. Delimiter and text encoding are detected automatically.",
        )
    with right:
        _samples()
    if uploaded is not None:
        _load_upload(uploaded)
    if st.session_state[state.LOAD_ERROR]:
        show_error(st.session_state[state.LOAD_ERROR])
        if state.has_table():
            st.info(
                f"The table loaded before ({md_escape(st.session_state[state.DATA_NAME])}) is "
                "still in use."
            )


def _samples() -> None:
    st.write("**No file at hand?** Try a real, de-identified sample:")
    for sample_key, (path, description) in SAMPLES.items():
        if st.button(
            f"Use the {path.stem} sample",
            key=f"sample_{sample_key}",
            help=description,
            icon=":material/dataset:",
        ):
            with user_errors():
                load_sample(sample_key)
            st.session_state[state.LAST_UPLOAD_ID] = None
            st.rerun()
        st.caption(description)


def _load_upload(uploaded: UploadedFile) -> None:
    sheet = None
    sheets: list[str] = []
    if uploaded.name.lower().endswith(_EXCEL):
        try:
            sheets = list_sheets(uploaded, filename=uploaded.name)
        except MCRAGEError:
            sheets = []
        if len(sheets) > 1:
            sheet = st.selectbox(
                "This workbook has several sheets: which one holds the patient table?",
                sheets,
                index=None,
                placeholder="Choose a sheet",
                key="sheet",
            )
    upload_id = f"{uploaded.file_id}:{sheet}"
    if len(sheets) > 1 and sheet is None:
        st.info("Choose the sheet to load.")
    elif upload_id != st.session_state[state.LAST_UPLOAD_ID]:
        st.session_state[state.LAST_UPLOAD_ID] = upload_id
        try:
            uploaded.seek(0)
            table = load_table(uploaded, filename=uploaded.name, sheet=sheet)
        except MCRAGEError as exc:
            # A failed upload never replaces the table already loaded.
            st.session_state[state.LOAD_ERROR] = str(exc)
        else:
            state.set_table(table, uploaded.name)
            st.rerun()  # the sidebar, drawn before this page, then shows the new table
