"""6 · Report: download the HTML report, the synthetic rows, the augmented set and the JSON."""

from __future__ import annotations

import streamlit as st

from dashboard.components.run_picker import pick_finished_run
from dashboard.nav import PAGE_DATA
from dashboard.run_files import run_file

st.title("6 · Report")
record = pick_finished_run(purpose="downloads")
st.write(
    "Everything this run produced, for the review meeting and for your records. The CSV files "
    "are safe to open in a spreadsheet (cells that look like formulas are neutralised)."
)

DOWNLOADS = (
    ("report", "HTML report (open in any browser, print to PDF)", "text/html", "html"),
    ("synthetic", "Synthetic rows (CSV)", "text/csv", "csv"),
    (
        "columns",
        "Columns of the synthetic files: dropped columns with the reason, planned and "
        "generated rows, cells the privacy guardrail skipped (JSON)",
        "application/json",
        "json",
    ),
    (
        "privacy",
        "Privacy of the synthetic rows: ε, membership and disclosure risk per group (JSON)",
        "application/json",
        "json",
    ),
    ("augmented", "Augmented training set: real + synthetic rows (CSV)", "text/csv", "csv"),
    ("results", "All numbers (JSON)", "application/json", "json"),
)
cols = st.columns(2)
for i, (name, label, mime, ext) in enumerate(DOWNLOADS):
    path = run_file(record, name)
    with cols[i % 2], st.container(border=True):
        st.markdown(f"**{label}**")
        if path is None:
            st.caption("Not produced by this run (for example, no CDDPM strategy was chosen).")
            continue
        st.caption(f"{path.stat().st_size / 1024:,.0f} KB")
        st.download_button(
            "Download",
            data=path.read_bytes,  # read when clicked, not on every rerun
            file_name=f"mcrage_{record.id}_{path.name.removesuffix('.' + ext)}.{ext}",
            mime=mime,
            key=f"download_{name}",
            icon=":material/download:",
            on_click="ignore",  # no rerun: the file is read by the click itself
        )

with st.expander("Settings of this run"):
    st.json(record.params)
st.divider()
st.caption("Start over with another table or other settings:")
st.page_link(PAGE_DATA, label="1 · Data", icon=":material/upload_file:")
