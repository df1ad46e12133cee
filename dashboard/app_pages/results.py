"""5 · Results: strategies side by side, per-group metrics, disparities before vs after."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import _helpers as h
from dashboard._readings import show_findings
from mcrage_core.evaluation.results import DISPARITY_LABELS, FOUR_FIFTHS, METRIC_LABELS
from mcrage_core.evaluation.verdicts import RARE_OUTCOME, four_fifths_text
from mcrage_core.presentation import plots
from mcrage_core.presentation.format import (
    NO_VALUE,
    fmt_change,
    fmt_count,
    fmt_group,
    fmt_interval,
    fmt_number,
    fmt_pct,
    fmt_with_change,
    humanize_columns,
)
from mcrage_core.presentation.report import plain_summary

_HELP = {
    "demographic_parity_ratio": "Lowest ÷ highest share predicted positive across groups "
    "(1 = equal; below 0.8 fails the four-fifths rule).",
    "demographic_parity_difference": "Highest minus lowest share predicted positive across "
    "groups (0 = equal).",
    "equalized_odds_difference": "Largest gap between groups in true or false positive rate "
    "(0 = equal).",
    "worst_group_f1": "F1 score of the group the model serves worst (higher is better).",
}


def _ratio_colour(value: object) -> str:
    if isinstance(value, float) and value == value:
        return "background-color: #d4edda" if value >= FOUR_FIFTHS else "background-color: #f8d7da"
    return ""


def _rule_colour(value: object) -> str:
    text = str(value)
    if "not a fairness verdict" in text:  # outcome rates differ: neither pass nor fail
        return "background-color: #fff3cd"
    if text.startswith("met"):
        return "background-color: #d4edda"
    if text.startswith("not met"):
        return "background-color: #f8d7da"
    return ""


st.title("5 · Results")
record = h.pick_finished_run(purpose="results")
results = h.load_results(record)
labels = dict(results.dataset.get("strategy_labels") or {})
prevalence = results.dataset.get("prevalence")
rare = prevalence is not None and float(prevalence) < RARE_OUTCOME
# a rare outcome: accuracy says little, balanced accuracy and PR-AUC are shown with it
HEADLINE = (
    ("accuracy", "balanced_accuracy", "f1", "auroc", "pr_auc")
    if rare
    else ("accuracy", "f1", "auroc")
)

# ----------------------------------------------------------------------------- summary
st.subheader("What changed")
with h.user_errors():
    st.info(h.md_escape(plain_summary(results)), icon=":material/summarize:")
    show_findings(results)

overall = results.metrics[results.metrics["attribute"] == "overall"]
rows = []
for strategy in results.strategies:
    sel = overall[overall["strategy"] == strategy].set_index("metric")
    row: dict[str, object] = {"strategy": labels.get(strategy, strategy)}
    for metric in HEADLINE:
        if metric in sel.index:
            # the baseline is the reference: it has no change against itself
            row[METRIC_LABELS[metric]] = fmt_with_change(
                sel.loc[metric, "value"], sel.loc[metric, "delta"], baseline=strategy == "none"
            )
    row["test_rows"] = fmt_count(sel["n"].iloc[0]) if len(sel) else NO_VALUE
    rows.append(row)
st.caption("Each value with its change against the baseline model in brackets.")
h.show_table(humanize_columns(pd.DataFrame(rows)))

# ----------------------------------------------------------------------------- per group
st.subheader("Per group")
attributes = [a for a in dict.fromkeys(results.by_group()["attribute"].astype(str))]
primary = results.primary_attribute
c1, c2 = st.columns(2)
metric = c1.radio(
    "Metric",
    ["f1", "auroc", "accuracy", *(("balanced_accuracy", "pr_auc") if rare else ())],
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
all_group_rows = results.by_group(attribute)
group_rows = all_group_rows[all_group_rows["metric"] == metric]
order = {s: i for i, s in enumerate(results.strategies)}
group_rows = group_rows.assign(_order=group_rows["strategy"].map(order))
group_rows = h.sort_by_group(group_rows, ["group"]).sort_values("_order", kind="stable")
table = pd.DataFrame(
    {
        "strategy": group_rows["strategy"].map(lambda s: labels.get(s, s)).tolist(),
        "group": [fmt_group(g) for g in group_rows["group"]],
        "test_rows": [fmt_count(n) for n in group_rows["n"]],
        METRIC_LABELS[metric]: [fmt_number(v, 3) for v in group_rows["value"]],
        "ci": [
            fmt_interval(lo, hi, decimals=3)
            for lo, hi in zip(group_rows["ci_low"], group_rows["ci_high"], strict=True)
        ],
        "delta": [
            fmt_change(d, baseline=s == "none")
            for s, d in zip(group_rows["strategy"], group_rows["delta"], strict=True)
        ],
        "note": ["too small to judge" if s else "" for s in group_rows["small"].astype(bool)],
    }
)
h.show_table(humanize_columns(table, {"ci": "95 % interval"}))
if rare:
    # accuracy is dominated by the negatives: the two measures that are not, per group
    st.caption(
        f"The outcome is rare ({fmt_pct(prevalence, 1)} of patients): read balanced accuracy "
        f"and PR-AUC (a random model scores {fmt_number(prevalence, 2)}) rather than accuracy."
    )
    wide = all_group_rows[all_group_rows["metric"].isin(["balanced_accuracy", "pr_auc"])]
    wide = wide.pivot_table(
        index=["strategy", "group"], columns="metric", values="value", aggfunc="first"
    ).reset_index()
    wide = wide.assign(_order=wide["strategy"].map(order))
    wide = h.sort_by_group(wide, ["group"]).sort_values("_order", kind="stable")
    n_rows = group_rows.set_index(["strategy", "group"])["n"]
    h.show_table(
        humanize_columns(
            pd.DataFrame(
                {
                    "strategy": [labels.get(s, s) for s in wide["strategy"]],
                    "group": [fmt_group(g) for g in wide["group"]],
                    "test_rows": [
                        fmt_count(n_rows.get((s, g)))
                        for s, g in zip(wide["strategy"], wide["group"], strict=True)
                    ],
                    **{
                        METRIC_LABELS[m]: [fmt_number(v, 3) for v in wide[m]]
                        for m in ("balanced_accuracy", "pr_auc")
                        if m in wide.columns
                    },
                }
            )
        ),
        key="rare_outcome_table",
    )

# ----------------------------------------------------------------------------- disparities
st.subheader("Fairness gaps before and after")
st.caption(
    "Demographic parity compares how often each group is predicted positive; equalized odds "
    "compares error rates. A demographic parity ratio below "
    f"{fmt_pct(FOUR_FIFTHS, 0)} does not meet the four-fifths (80 %) rule: red below, green at "
    "or above. When the real outcome rates of the groups differ, demographic parity is expected "
    "to differ too and the rule is no verdict (yellow). Each value with its change against the "
    "baseline model in brackets."
)
with h.user_errors():
    st.plotly_chart(plots.disparity_before_after(results, attribute=attribute), key="disparity")
d = results.disparity[results.disparity["attribute"] == attribute]
RATIO = "demographic_parity_ratio"
MEASURES = (RATIO, "demographic_parity_difference", "equalized_odds_difference", "worst_group_f1")
wide = []
colours = []
for strategy in results.strategies:
    sel = d[d["strategy"] == strategy].set_index("metric")
    row = {"Strategy": labels.get(strategy, strategy)}
    colour = {"Strategy": ""}
    for m in MEASURES:
        if m in sel.index:
            value = sel.loc[m, "value"]
            row[DISPARITY_LABELS[m]] = fmt_with_change(
                value, sel.loc[m, "delta"], baseline=strategy == "none"
            )
            colour[DISPARITY_LABELS[m]] = _ratio_colour(value) if m == RATIO else ""
    row["80 % rule"] = four_fifths_text(results, strategy, attribute)
    colour["80 % rule"] = _rule_colour(row["80 % rule"])
    wide.append(row)
    colours.append(colour)
disparity_table = pd.DataFrame(wide).fillna(NO_VALUE)
colour_table = pd.DataFrame(colours, columns=disparity_table.columns).fillna("")
st.dataframe(
    disparity_table.style.apply(lambda _: colour_table, axis=None),
    hide_index=True,
    width="stretch",
    column_config={
        DISPARITY_LABELS[m]: st.column_config.TextColumn(help=_HELP[m])
        for m in MEASURES
        if DISPARITY_LABELS[m] in disparity_table.columns
    },
)
base = all_group_rows[
    (all_group_rows["metric"] == "base_rate") & (all_group_rows["strategy"] == "none")
]
if len(base):
    base = h.sort_by_group(base, ["group"])
    st.write(
        "**Real outcome rate per group** (the held-out real test rows): demographic parity "
        "compares predictions with each other, not with these rates."
    )
    h.show_table(
        humanize_columns(
            pd.DataFrame(
                {
                    "group": [fmt_group(g) for g in base["group"]],
                    "test_rows": [fmt_count(n) for n in base["n"]],
                    METRIC_LABELS["base_rate"]: [fmt_pct(v, 1) for v in base["value"]],
                    "ci": [
                        fmt_interval(lo, hi, pct=True)
                        for lo, hi in zip(base["ci_low"], base["ci_high"], strict=True)
                    ],
                }
            ),
            {"ci": "95 % interval"},
        ),
        key="base_rates",
    )
excluded = d["excluded_groups"].dropna().astype(str)
excluded = [e for e in excluded.unique() if e]
if excluded:
    st.caption(f"Left out of the gaps (too few test rows): {h.md_escape(', '.join(excluded))}")

# The audit's warnings already include each strategy's notes; show every note once.
notes = list(
    dict.fromkeys([*results.warnings, *(n for ns in results.strategy_notes.values() for n in ns)])
)
if notes:
    with st.expander(f"{len(notes)} note(s) about this run"):
        for note in notes:
            st.write(f"- {h.md_escape(note)}")

h.next_step(h.PAGE_REPORT, "Next: 6 · Report, download the report and the data")
