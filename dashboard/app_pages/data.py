"""1 · Data: load a table (upload or bundled sample), preview it, check and adjust roles."""

from __future__ import annotations

import contextlib

import pandas as pd
import streamlit as st

from dashboard import services, state
from dashboard.components.figures import missingness_figure
from dashboard.components.loader import load_section
from dashboard.components.roles_form import roles_form
from dashboard.components.tables import show_table
from dashboard.messages import md_escape, show_error, show_warning, user_errors
from dashboard.nav import PAGE_IMBALANCE, next_step
from mcrage_core.errors import MCRAGEError
from mcrage_core.presentation.format import fmt_count, fmt_number, fmt_pct, format_table

st.title("1 · Data")
st.write(
    "Load the patient table to audit. Each row is one patient or stay; one column is the "
    "outcome (for example death or readmission). Nothing leaves this computer."
)

# ----------------------------------------------------------------------------- loading
load_section()
if not state.has_table():
    st.info(
        "Upload a file above, or click **Use the support2 sample** to explore with real data "
        "(SUPPORT2: 9,105 patients)."
    )
    st.stop()

df = st.session_state[state.DATA]
name = st.session_state[state.DATA_NAME]

# ----------------------------------------------------------------------------- preview
st.subheader("Preview")
c1, c2, c3 = st.columns(3)
c1.metric("Rows", fmt_count(len(df)))
c2.metric("Columns", fmt_count(df.shape[1]))
c3.metric("Missing cells", fmt_pct(df.isna().to_numpy().mean() if df.size else 0.0))
st.caption(f"File: {md_escape(name)}. First 100 rows:")
st.dataframe(df.head(100), width="stretch", height=260)

try:
    coerced, schema = services.current_schema()
except MCRAGEError as exc:
    # Show the problem, then let the user fix the roles (the form below stays usable).
    show_error(exc)
    with user_errors():
        coerced, schema = services.fallback_schema()

# ----------------------------------------------------------------------------- schema
st.subheader("Columns and their roles")
st.write(
    "MCRAGE guessed what each column is. **Check the outcome and the sensitive "
    "attributes** below and change them if they are wrong."
)
for warning in schema.warnings:
    show_warning(warning)
with contextlib.suppress(MCRAGEError):  # unusable labels are reported by the schema above
    for warning in services.labelled_table()[1]:  # e.g. a label for a code that never occurs
        show_warning(warning)

show_table(format_table(schema.to_frame(), {"missing_%": lambda v: fmt_number(v, 1)}))

if any(c.missing_fraction > 0 for c in schema.columns):
    with st.expander("Empty cells per column", expanded=True):
        st.plotly_chart(missingness_figure(schema), key="missingness")

if schema.excluded:
    st.write("**Kept out of modelling** (identifiers, personal details and your exclusions):")
    excluded = {"column": list(schema.excluded), "reason": list(schema.excluded.values())}
    show_table(format_table(pd.DataFrame(excluded)))

m1, m2, m3 = st.columns(3)
m1.metric("Outcome (target)", schema.target or "none")
m2.metric("Positive class", schema.positive_class or "–")
m3.metric(
    "Sensitive attributes",
    ", ".join(f"{k}: {v}" for k, v in schema.sensitive.items()) or "none found",
)

# ----------------------------------------------------------------------------- overrides
roles_form(df, schema)

if schema.target is None:
    st.warning("Choose the outcome column above: the fairness audit needs one.")
if not schema.sensitive:
    st.warning("Choose at least one sensitive attribute (race, sex or age) above.")
next_step(PAGE_IMBALANCE, "Next: 2 · Imbalance, see which groups are under-represented")

# Prepare the Imbalance page while the user reads this one (memoised per session).
if schema.sensitive:
    with contextlib.suppress(MCRAGEError):  # the Imbalance page shows any message
        services.current_audit()
