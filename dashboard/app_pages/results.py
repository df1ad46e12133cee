"""5 · Results: strategies side by side, per-group metrics, disparities before vs after."""

from __future__ import annotations

import streamlit as st

from dashboard._readings import show_findings
from dashboard.components import results_view as view
from dashboard.components.curves_view import show_curves
from dashboard.components.run_picker import pick_finished_run
from dashboard.components.tables import show_table
from dashboard.components.verdicts_view import show_verdicts
from dashboard.messages import md_escape, user_errors
from dashboard.nav import PAGE_REPORT, next_step
from dashboard.run_files import load_results
from mcrage_core.presentation import plain_summary, tables

st.title("5 · Results")
record = pick_finished_run(purpose="results")
results = load_results(record)

with user_errors():
    show_verdicts(results)

st.subheader("What changed")
with user_errors():
    st.info(md_escape(plain_summary(results)), icon=":material/summarize:")
    show_findings(results)
st.caption("Each value with its change against the baseline model in brackets.")
show_table(tables.comparison_table(results))

st.subheader("Per group")
metric, attribute = view.pick_metric_and_attribute(results)
view.show_group_metrics(results, attribute, metric)

st.subheader("Fairness gaps before and after")
view.show_fairness(results, attribute)
view.show_notes(results)

st.subheader("ROC curves, calibration and decision threshold")
show_curves(results)

next_step(PAGE_REPORT, "Next: 6 · Report, download the report and the data")
