"""5 · Results: strategies side by side, per-group metrics, disparities before vs after."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import _helpers as h
from mcrage_core import plots
from mcrage_core.report import plain_summary
from mcrage_core.results import DISPARITY_LABELS, FOUR_FIFTHS, METRIC_LABELS

st.title("5 · Results")
record = h.pick_finished_run(purpose="results")
results = h.load_results(record)
labels = dict(results.dataset.get("strategy_labels") or {})

# ----------------------------------------------------------------------------- summary
st.subheader("What changed")
with h.user_errors():
    st.info(h.md_escape(plain_summary(results)), icon=":material/summarize:")

overall = results.metrics[results.metrics["attribute"] == "overall"]
rows = []
for strategy in results.strategies:
    sel = overall[overall["strategy"] == strategy].set_index("metric")
    row: dict[str, object] = {"strategy": labels.get(strategy, strategy)}
    for metric in ("accuracy", "f1", "auroc"):
        if metric in sel.index:
            row[METRIC_LABELS[metric]] = sel.loc[metric, "value"]
            # the baseline is the reference: its change is zero by definition
            delta = 0.0 if strategy == "none" else sel.loc[metric, "delta"]
            row[f"{METRIC_LABELS[metric]} change"] = delta
    row["test rows"] = int(sel["n"].iloc[0]) if len(sel) else None
    rows.append(row)
st.dataframe(
    pd.DataFrame(rows),
    hide_index=True,
    width="stretch",
    column_config={
        c: st.column_config.NumberColumn(format="%+.3f" if c.endswith("change") else "%.3f")
        for r in rows
        for c in r
        if c not in ("strategy", "test rows")
    },
)

# ----------------------------------------------------------------------------- per group
st.subheader("Per group")
attributes = [a for a in dict.fromkeys(results.by_group()["attribute"].astype(str))]
primary = results.primary_attribute
c1, c2 = st.columns(2)
metric = c1.radio(
    "Metric",
    ["f1", "auroc", "accuracy"],
    format_func=METRIC_LABELS.get,
    horizontal=True,
    key="metric",
)
attribute = c2.selectbox(
    "Attribute",
    attributes,
    index=attributes.index(primary) if primary in attributes else 0,
    key="attribute",
)
with h.user_errors():
    st.plotly_chart(
        plots.metric_bars_by_group(results, metric=metric, attribute=attribute),
        key="metric_bars",
    )
group_rows = results.by_group(attribute)
group_rows = group_rows[group_rows["metric"] == metric]
table = pd.DataFrame(
    {
        "strategy": group_rows["strategy"].map(lambda s: labels.get(s, s)),
        "group": group_rows["group"].astype(str),
        "n (test rows)": group_rows["n"].astype(int),
        METRIC_LABELS[metric]: group_rows["value"],
        "95 % low": group_rows["ci_low"],
        "95 % high": group_rows["ci_high"],
        "change vs baseline": group_rows["delta"],
        "too small to judge": group_rows["small"].astype(bool),
    }
)
st.dataframe(
    table,
    hide_index=True,
    width="stretch",
    column_config={
        c: st.column_config.NumberColumn(format="%.3f")
        for c in (METRIC_LABELS[metric], "95 % low", "95 % high")
    }
    | {"change vs baseline": st.column_config.NumberColumn(format="%+.3f")},
)

# ----------------------------------------------------------------------------- disparities
st.subheader("Fairness gaps before and after")
st.caption(
    "Demographic parity compares how often each group is predicted positive; equalized odds "
    "compares error rates. A demographic parity ratio below "
    f"{FOUR_FIFTHS:.0%} fails the four-fifths (80 %) rule: red below, green at or above."
)
with h.user_errors():
    st.plotly_chart(plots.disparity_before_after(results, attribute=attribute), key="disparity")
d = results.disparity[results.disparity["attribute"] == attribute]
wide = []
for strategy in results.strategies:
    sel = d[d["strategy"] == strategy].set_index("metric")
    row = {"strategy": labels.get(strategy, strategy)}
    for m in (
        "demographic_parity_ratio",
        "demographic_parity_difference",
        "equalized_odds_difference",
        "worst_group_f1",
    ):
        if m in sel.index:
            row[DISPARITY_LABELS[m]] = sel.loc[m, "value"]
            if strategy != "none":
                row[f"{DISPARITY_LABELS[m]} change"] = sel.loc[m, "delta"]
    passed = results.four_fifths(strategy, attribute)
    row["80 % rule"] = "passed" if passed else ("failed" if passed is False else "unknown")
    wide.append(row)
disparity_table = pd.DataFrame(wide)


def _colour(value: object) -> str:
    if value == "passed":
        return "background-color: #d4edda"
    if value == "failed":
        return "background-color: #f8d7da"
    return ""


def _ratio_colour(value: object) -> str:
    if isinstance(value, float) and value == value:
        return "background-color: #d4edda" if value >= FOUR_FIFTHS else "background-color: #f8d7da"
    return ""


styled = disparity_table.style.format(precision=3, na_rep="–").map(_colour, subset=["80 % rule"])
ratio_col = DISPARITY_LABELS["demographic_parity_ratio"]
if ratio_col in disparity_table.columns:
    styled = styled.map(_ratio_colour, subset=[ratio_col])
st.dataframe(styled, hide_index=True, width="stretch")
excluded = d["excluded_groups"].dropna().astype(str)
excluded = [e for e in excluded.unique() if e]
if excluded:
    st.caption(f"Left out of the gaps (too few test rows): {h.md_escape(', '.join(excluded))}")

notes = list(results.warnings) + [n for ns in results.strategy_notes.values() for n in ns]
if notes:
    with st.expander(f"{len(notes)} note(s) about this run"):
        for note in notes:
            st.write(f"- {h.md_escape(note)}")

h.next_step(h.PAGE_REPORT, "Next: 6 · Report, download the report and the data")
