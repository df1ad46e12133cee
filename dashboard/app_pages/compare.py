"""4 · Compare: real versus synthetic rows, per column and group; fidelity and privacy."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.components.fidelity_view import show_scores
from dashboard.components.privacy_view import show_privacy
from dashboard.components.run_picker import pick_finished_run
from dashboard.messages import md_escape, user_errors
from dashboard.nav import PAGE_RESULTS, PAGE_TRAIN, next_step
from dashboard.run_files import (
    load_results,
    load_run_csv,
    why_no_synthetic_rows,
)
from mcrage_core.evaluation import audit_groups
from mcrage_core.presentation import plots
from mcrage_core.presentation.format import fmt_count
from mcrage_core.tables import sort_groups

ALL = "All groups"

st.title("4 · Compare")
record = pick_finished_run(purpose="comparisons")
results = load_results(record)
synthetic = load_run_csv(record, "synthetic")
augmented = load_run_csv(record, "augmented")
if synthetic is None or augmented is None or synthetic.empty:
    st.info(md_escape(why_no_synthetic_rows(record, results)), icon=":material/info:")
    st.page_link(PAGE_TRAIN, label="Go to 3 · Train", icon=":material/model_training:")
    st.stop()
real = augmented[augmented["source"] == "real"] if "source" in augmented else augmented
group_col = str((results.dataset.get("rebalance") or [results.primary_attribute])[0])
# the files keep the input's codes: show the labels and the audit's groups, as the results do
real = audit_groups(real, results)
synthetic = audit_groups(synthetic, results)
features = [c for c in results.dataset.get("features") or [] if c in synthetic.columns]
columns = [c for c in [*features, results.dataset.get("target"), group_col] if c in synthetic]

c1, c2 = st.columns(2)
groups = [ALL]
if group_col in synthetic.columns:
    groups += sort_groups(sorted(synthetic[group_col].dropna().astype(str).unique()))
group = c1.selectbox(f"Group ({group_col})", groups, key="compare_group")
column = c2.selectbox("Column", [c for c in columns if c != group_col] or columns, key="column")
st.caption(
    f"{fmt_count(len(real))} real training rows and {fmt_count(len(synthetic))} synthetic rows"
    + ("" if group == ALL else f"; showing {md_escape(group_col)} = {md_escape(group)}")
)

by = None if group == ALL else group_col
with user_errors():
    st.plotly_chart(
        plots.column_overlay(real, synthetic, column, by=by, group=None if by is None else group),
        key="overlay",
    )
if by is not None:
    real_g = real[real[group_col].astype(str) == group]
    synth_g = synthetic[synthetic[group_col].astype(str) == group]
else:
    real_g, synth_g = real, synthetic

left, right = st.columns(2)
numeric = [c for c in features if pd.api.types.is_numeric_dtype(real[c])]
try:
    left.plotly_chart(
        plots.correlation_difference_heatmap(real_g, synth_g, columns=numeric or None),
        key="corr_diff",
    )
    right.plotly_chart(
        plots.projection_2d(real_g, synth_g, columns=numeric or None), key="projection"
    )
except Exception as exc:  # noqa: BLE001 - e.g. too few rows in a small group
    st.info(
        "Correlation and projection charts are not available for this selection "
        f"({md_escape(exc)})."
    )

st.subheader("Fidelity and privacy")
show_scores(results)
st.subheader("Privacy risks", anchor="privacy")
show_privacy(results, record)

next_step(PAGE_RESULTS, "Next: 5 · Results, did the model get fairer?")
