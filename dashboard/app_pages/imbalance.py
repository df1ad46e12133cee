"""2 · Imbalance: group sizes and shares, intersections, outcome prevalence, small cells."""

from __future__ import annotations

import streamlit as st

from dashboard import services, state
from dashboard.components.figures import intersection_figure
from dashboard.components.imbalance_view import merging_note, small_cell_warnings
from dashboard.components.tables import show_table
from dashboard.messages import md_escape, user_errors
from dashboard.nav import PAGE_DATA, PAGE_TRAIN, next_step, require_table
from mcrage_core.presentation import plots
from mcrage_core.presentation.format import (
    fmt_count,
    fmt_interval,
    fmt_number,
    fmt_pct,
    format_table,
)
from mcrage_core.tables import sort_rows_by_group

_PCT = {c: fmt_pct for c in ("share", "outcome_rate", "ci_low", "ci_high")}

st.title("2 · Imbalance")
require_table()
with user_errors():
    coerced, schema = services.current_schema()
    if not schema.sensitive:
        st.info(
            "No sensitive attribute (race, sex or age) was found. Choose the columns on the "
            "Data page."
        )
        st.page_link(PAGE_DATA, label="Go to 1 · Data", icon=":material/upload_file:")
        st.stop()
    report = services.current_audit()

st.write(
    "How many rows does each group have, and how often does the outcome occur in it? "
    "Small groups make models less reliable for exactly those patients."
)

# ----------------------------------------------------------------------------- summary
summary = report.summary.copy()
cols = st.columns(max(1, len(summary)))
for col, row in zip(cols, summary.itertuples(), strict=False):
    ratio = fmt_number(row.imbalance_ratio, 1)
    col.metric(
        f"{row.attribute}: largest ÷ smallest group",
        ratio if ratio == "—" else f"{ratio}×",
        help=f"Largest group: {md_escape(row.largest)}; smallest: {md_escape(row.smallest)}; "
        f"{fmt_count(row.n_missing)} rows without a value.",
    )

merging_note(coerced, schema, int(services.choices().get("merge_below") or 0))
small_cell_warnings(report)

small = st.number_input(
    "Flag groups with fewer rows than",
    min_value=1,
    max_value=10_000,
    value=int(st.session_state[state.SMALL_CELL]),
    step=5,
    key="small_cell_input",
)
if int(small) != int(st.session_state[state.SMALL_CELL]):
    state.set_small_cell(int(small))
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
    plots.group_counts_bar(report.groups, attribute=str(row.attribute)), key=f"counts_{row.kind}"
)
if schema.target is not None:
    c2.plotly_chart(
        plots.prevalence_with_ci(
            report.groups, attribute=str(row.attribute), outcome_label=outcome
        ),
        key=f"prevalence_{row.kind}",
    )
else:
    c2.info("Choose an outcome column on the Data page to see prevalence per group.")
table = sort_rows_by_group(report.groups[report.groups["attribute"] == row.attribute], ["group"])
shown = table[["group", "n", "share", "outcome_rate"]].copy()
shown["ci"] = [
    fmt_interval(lo, hi, pct=True) for lo, hi in zip(table["ci_low"], table["ci_high"], strict=True)
]
shown["small_cell"] = table["small_cell"].map(lambda s: "yes" if s else "")
show_table(format_table(shown, _PCT, labels={"ci": "Outcome rate, 95 % interval"}))

# ----------------------------------------------------------------------------- intersections
st.subheader("Intersections")
group_cols = list(report.group_columns.values())
if len(report.intersection):
    st.plotly_chart(intersection_figure(report.intersection, group_cols), key="heatmap")
    n_small = int(report.intersection["small_cell"].sum())
    st.caption(
        f"{n_small} of {len(report.intersection)} combinations have fewer than "
        f"{report.small_cell} rows."
    )
    with st.expander("Table of the smallest combinations"):
        smallest = report.intersection.sort_values("n", kind="stable").head(50)
        show_table(format_table(smallest, _PCT))
else:
    st.info("No row has a value for every sensitive attribute, so there are no intersections.")

next_step(
    PAGE_TRAIN,
    "Next: 3 · Train, generate synthetic rows for the small groups",
    note="The Train page plans how many synthetic rows each small group needs.",
)
