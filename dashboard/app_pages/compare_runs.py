"""7 · Compare runs: two finished runs side by side (settings that differ, verdicts,
per-group numbers), and the comparison report to download."""

from __future__ import annotations

import streamlit as st

from dashboard.components.compare_runs_view import pick_two_runs, show_group_comparison
from dashboard.components.tables import show_table
from dashboard.messages import md_escape, user_errors
from dashboard.run_files import load_results
from mcrage_core.presentation.compare_runs import (
    compare_verdicts,
    differences_in_settings,
    same_test_rows,
)
from mcrage_core.presentation.report.compare import render_comparison_report

st.title("7 · Compare runs")
st.write(
    "Two finished runs side by side, for example the quick and the standard preset, or the "
    "plan that raises every group against the targeted plan."
)
record_a, record_b = pick_two_runs()
a, b = load_results(record_a), load_results(record_b)
label_a, label_b = f"A ({record_a.id[-8:]})", f"B ({record_b.id[-8:]})"

st.subheader("What differs")
with user_errors():
    diffs = differences_in_settings(a, b, label_a=label_a, label_b=label_b)
st.markdown("\n".join(f"- {md_escape(d)}" for d in diffs) or "The two runs have the same settings.")
if same_test_rows(a, b):
    st.caption("Both runs tested exactly the same real rows in the same folds.")

st.subheader("Verdicts side by side")
verdicts = compare_verdicts(a, b, label_a=label_a, label_b=label_b)
if verdicts.empty:
    st.info("Neither run has verdicts (runs made before verdicts existed).")
else:
    agree = int((verdicts["Agree"] == "yes").sum())
    st.caption(f"The verdicts agree for {agree} of {len(verdicts)} comparisons.")
    show_table(verdicts, key="compare_verdicts_table")

st.subheader("Per group")
show_group_comparison(a, b, label_a, label_b)

st.download_button(
    "Download the comparison report (HTML)",
    data=lambda: render_comparison_report(a, b, label_a=label_a, label_b=label_b).encode("utf-8"),
    file_name=f"mcrage_compare_{record_a.id}_{record_b.id}.html",
    mime="text/html",
    key="download_comparison",
    icon=":material/download:",
    on_click="ignore",  # no rerun: the file is read by the click itself
)
