"""5 · Results: strategies side by side, per-group metrics, disparities before vs after."""

from __future__ import annotations

import streamlit as st

from dashboard import _helpers as h
from dashboard._readings import show_findings
from dashboard.components import results_view as view
from mcrage_core.presentation import plain_summary, tables

st.title("5 · Results")
record = h.pick_finished_run(purpose="results")
results = h.load_results(record)

st.subheader("What changed")
with h.user_errors():
    st.info(h.md_escape(plain_summary(results)), icon=":material/summarize:")
    show_findings(results)
st.caption("Each value with its change against the baseline model in brackets.")
h.show_table(tables.comparison_table(results))

st.subheader("Per group")
metric, attribute = view.pick_metric_and_attribute(results)
view.show_group_metrics(results, attribute, metric)

st.subheader("Fairness gaps before and after")
view.show_fairness(results, attribute)
view.show_notes(results)

h.next_step(h.PAGE_REPORT, "Next: 6 · Report, download the report and the data")
