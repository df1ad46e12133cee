"""2 · Imbalance: group sizes and shares, intersections, outcome prevalence, small cells."""

from __future__ import annotations

import streamlit as st

from dashboard import _helpers as h
from dashboard import state
from mcrage_core import plots

st.title("2 · Imbalance")
h.require_table()
with h.user_errors():
    coerced, schema = h.current_schema()
    if not schema.sensitive:
        st.info(
            "No sensitive attribute (race, sex or age) was found. Choose the columns on the "
            "Data page."
        )
        st.page_link(h.PAGE_DATA, label="Go to 1 · Data", icon=":material/upload_file:")
        st.stop()
    report = h.current_audit()

st.write(
    "How many rows does each group have, and how often does the outcome occur in it? "
    "Small groups make models less reliable for exactly those patients."
)

# ----------------------------------------------------------------------------- summary
summary = report.summary.copy()
cols = st.columns(max(1, len(summary)))
for col, row in zip(cols, summary.itertuples(), strict=False):
    col.metric(
        f"{row.attribute}: largest ÷ smallest group",
        f"{row.imbalance_ratio:,.1f}×" if row.imbalance_ratio == row.imbalance_ratio else "–",
        help=f"Largest group: {row.largest}; smallest: {row.smallest}; "
        f"{row.n_missing} rows without a value.",
    )

warnings = report.warnings()
if warnings:
    with st.container(border=True):
        st.markdown(f"**{len(warnings)} small-cell or missing-value warning(s)**")
        for w in warnings[:12]:
            st.warning(w)
        if len(warnings) > 12:
            st.caption(f"... and {len(warnings) - 12} more (see the table of small cells below).")

small = st.number_input(
    "Flag groups with fewer rows than",
    min_value=1,
    max_value=10_000,
    value=int(st.session_state[state.SMALL_CELL]),
    step=5,
    key="small_cell_input",
)
if int(small) != int(st.session_state[state.SMALL_CELL]):
    st.session_state[state.SMALL_CELL] = int(small)
    st.rerun()

# ----------------------------------------------------------------------------- per attribute
outcome = (
    f"outcome ({schema.target} = {schema.positive_class})"
    if schema.target is not None
    else "outcome"
)
kinds = {f"{row.attribute} ({row.kind})": row for row in summary.itertuples()}
chosen = st.segmented_control(
    "Attribute", list(kinds), default=next(iter(kinds)), key="imbalance_attribute"
)
row = kinds[chosen or next(iter(kinds))]
c1, c2 = st.columns(2)
c1.plotly_chart(
    plots.group_counts_bar(report.groups, attribute=row.attribute), key=f"counts_{row.kind}"
)
if schema.target is not None:
    c2.plotly_chart(
        plots.prevalence_with_ci(report.groups, attribute=row.attribute, outcome_label=outcome),
        key=f"prevalence_{row.kind}",
    )
else:
    c2.info("Choose an outcome column on the Data page to see prevalence per group.")
table = report.groups[report.groups["attribute"] == row.attribute]
st.dataframe(
    table[["group", "n", "share", "outcome_rate", "ci_low", "ci_high", "small_cell"]],
    hide_index=True,
    width="stretch",
    column_config={
        "share": st.column_config.NumberColumn(format="percent"),
        "outcome_rate": st.column_config.NumberColumn("outcome rate", format="percent"),
        "ci_low": st.column_config.NumberColumn("95 % low", format="percent"),
        "ci_high": st.column_config.NumberColumn("95 % high", format="percent"),
    },
)

# ----------------------------------------------------------------------------- intersections
st.subheader("Intersections")
group_cols = list(report.group_columns.values())
if len(report.intersection):
    st.plotly_chart(h.intersection_figure(report.intersection, group_cols), key="heatmap")
    n_small = int(report.intersection["small_cell"].sum())
    st.caption(
        f"{n_small} of {len(report.intersection)} combinations have fewer than "
        f"{report.small_cell} rows."
    )
    with st.expander("Table of the smallest combinations"):
        st.dataframe(
            report.intersection.sort_values("n").head(50), hide_index=True, width="stretch"
        )
else:
    st.info("No row has a value for every sensitive attribute, so there are no intersections.")

h.next_step(
    h.PAGE_TRAIN,
    "Next: 3 · Train, generate synthetic rows for the small groups",
    note="The Train page plans how many synthetic rows each small group needs.",
)
