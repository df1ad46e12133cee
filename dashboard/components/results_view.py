"""Pieces of the Results page: the per-group view and the fairness table with its
colours. The tables come from :mod:`mcrage_core.presentation.tables`, the same ones the
HTML report writes, so the page and the report read alike."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from dashboard.components.tables import show_table
from dashboard.messages import md_escape, user_errors
from mcrage_core.evaluation.results import DISPARITY_LABELS, FOUR_FIFTHS, METRIC_LABELS
from mcrage_core.evaluation.verdicts import parity_expected_to_differ
from mcrage_core.presentation import plots, tables
from mcrage_core.presentation.format import fmt_number, fmt_pct

if TYPE_CHECKING:
    from mcrage_core.evaluation.results import AuditResults

__all__ = ["pick_metric_and_attribute", "show_group_metrics", "show_fairness", "show_notes"]

MEASURE_HELP = {
    "demographic_parity_ratio": "Lowest ÷ highest share predicted positive across groups "
    "(1 = equal; below 0.8 fails the four-fifths rule).",
    "demographic_parity_difference": "Highest minus lowest share predicted positive across "
    "groups (0 = equal).",
    "equalized_odds_difference": "Largest gap between groups in true or false positive rate "
    "(0 = equal).",
    "worst_group_f1": "F1 score of the group the model serves worst (higher is better).",
}
_GREEN = "background-color: #d4edda"
_RED = "background-color: #f8d7da"
_YELLOW = "background-color: #fff3cd"
FAIRNESS_CAPTION = (
    "Demographic parity compares how often each group is predicted positive; equalized odds "
    "compares error rates. A demographic parity ratio below "
    f"{fmt_pct(FOUR_FIFTHS, 0)} does not meet the four-fifths (80 %) rule: red below, green at "
    "or above. When the real outcome rates of the groups differ, demographic parity is expected "
    "to differ too and the rule is no verdict (yellow). Each value with its change against the "
    "baseline model in brackets."
)


def pick_metric_and_attribute(results: AuditResults) -> tuple[str, str]:
    """The metric and the attribute the user picks for the per-group view."""
    attributes = [str(a) for a in dict.fromkeys(results.by_group()["attribute"].astype(str))]
    primary = results.primary_attribute
    c1, c2 = st.columns(2)
    metric = c1.radio(
        "Metric",
        tables.group_metric_choices(results),
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
    return str(metric), str(attribute)


def show_group_metrics(results: AuditResults, attribute: str, metric: str) -> None:
    """Bars per group and strategy, the per-group table and, for a rare outcome, the two
    measures that still say something."""
    with user_errors():
        st.plotly_chart(
            plots.metric_bars_by_group(results, metric=metric, attribute=attribute),
            key="metric_bars",
        )
    show_table(tables.group_table(results, attribute, metric))
    if tables.is_rare_outcome(results):
        # accuracy is dominated by the negatives: the two measures that are not, per group
        prevalence = results.dataset.get("prevalence")
        st.caption(
            f"The outcome is rare ({fmt_pct(prevalence, 1)} of patients): read balanced "
            f"accuracy and PR-AUC (a random model scores {fmt_number(prevalence, 2)}) rather "
            "than accuracy."
        )
        show_table(tables.group_metrics_table(results, attribute), key="rare_outcome_table")


def _colours(results: AuditResults, attribute: str, table: pd.DataFrame) -> pd.DataFrame:
    """Cell colours of the fairness table: the parity ratio and the 80 % rule green where
    the rule is met, red where not, the rule yellow where it is no verdict."""
    colours = pd.DataFrame("", index=table.index, columns=table.columns)
    no_verdict = parity_expected_to_differ(results, attribute)
    ratio = DISPARITY_LABELS["demographic_parity_ratio"]
    for i, strategy in enumerate(results.strategies):
        met = results.four_fifths(strategy, attribute)
        if met is None:
            continue
        if ratio in colours.columns:
            colours.iloc[i, colours.columns.get_loc(ratio)] = _GREEN if met else _RED
        rule = _YELLOW if no_verdict else (_GREEN if met else _RED)
        colours.iloc[i, colours.columns.get_loc(tables.RULE_COLUMN)] = rule
    return colours


def show_fairness(results: AuditResults, attribute: str) -> None:
    """The change chart, the strategy × measure table with the 80 % rule, the real
    outcome rates and the groups left out."""
    st.caption(FAIRNESS_CAPTION)
    with user_errors():
        st.plotly_chart(plots.disparity_before_after(results, attribute=attribute), key="disparity")
    table = tables.disparity_table(results, attribute)
    colours = _colours(results, attribute, table)
    st.dataframe(
        table.style.apply(lambda _: colours, axis=None),
        hide_index=True,
        width="stretch",
        column_config={
            DISPARITY_LABELS[m]: st.column_config.TextColumn(help=text)
            for m, text in MEASURE_HELP.items()
            if DISPARITY_LABELS[m] in table.columns
        },
    )
    base = tables.base_rate_table(results, attribute)
    if len(base):
        st.write(
            "**Real outcome rate per group** (the held-out real test rows): demographic parity "
            "compares predictions with each other, not with these rates."
        )
        show_table(base, key="base_rates")
    excluded = tables.excluded_groups(results, attribute)
    if excluded:
        st.caption(f"Left out of the gaps (too few test rows): {md_escape(', '.join(excluded))}")


def show_notes(results: AuditResults) -> None:
    """Every note about the run once, in an expander."""
    notes = tables.run_notes(results)
    if notes:
        with st.expander(f"{len(notes)} note(s) about this run"):
            for note in notes:
                st.write(f"- {md_escape(note)}")
