"""Pieces of the Compare runs page: choosing the two runs, and the per-group comparison
with its figure. The tables and the figure come from mcrage_core.presentation, as in the
comparison report."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from dashboard import state
from dashboard.components.tables import show_table
from dashboard.messages import user_errors
from dashboard.nav import PAGE_TRAIN
from dashboard.runs_view import run_label
from mcrage_core.evaluation.results import METRIC_LABELS
from mcrage_core.presentation import plots
from mcrage_core.presentation.compare_runs import compare_metrics

if TYPE_CHECKING:
    from mcrage_core.evaluation.results import AuditResults
    from mcrage_core.jobs import RunRecord

__all__ = ["pick_two_runs", "show_group_comparison"]


def pick_two_runs() -> tuple[RunRecord, RunRecord]:
    """Two finished audit runs of this session; stops the page with a pointer to the
    Train page when there are fewer than two."""
    registry = state.registry()
    registry.refresh()
    done = [
        r
        for r in registry.list_runs(state.owner())
        if r.kind == "audit" and r.status == "succeeded"
    ]
    if len(done) < 2:
        st.info(
            f"Comparing runs needs two finished runs; this session has {len(done)}. Start "
            "another run on the Train page, for example with the other plan or preset."
        )
        st.page_link(PAGE_TRAIN, label="Go to 3 · Train", icon=":material/model_training:")
        st.stop()
    by_id = {r.id: r for r in done}
    c1, c2 = st.columns(2)
    first = c1.selectbox(
        "Run A", list(by_id), format_func=lambda i: run_label(by_id[i]), key="compare_run_a"
    )
    others = [i for i in by_id if i != first]
    second = c2.selectbox(
        "Run B", others, format_func=lambda i: run_label(by_id[i]), key="compare_run_b"
    )
    return by_id[first], by_id[second]


def show_group_comparison(a: AuditResults, b: AuditResults, label_a: str, label_b: str) -> None:
    """Attribute, metric and strategy pickers; the bars of the two runs and the table."""
    attributes = [x for x in dict.fromkeys(a.by_group()["attribute"].astype(str))]
    primary = a.primary_attribute
    c1, c2, c3 = st.columns(3)
    attribute = c1.selectbox(
        "Attribute",
        attributes,
        index=attributes.index(primary) if primary in attributes else 0,
        key="compare_attribute",
    )
    metric = c2.radio(
        "Metric", ["f1", "auroc", "accuracy"], format_func=METRIC_LABELS.get, key="compare_metric"
    )
    strategies = [s for s in a.strategies if s in b.strategies] or a.strategies
    strategy = c3.selectbox("Strategy", strategies, key="compare_strategy")
    with user_errors():
        st.plotly_chart(
            plots.compare_runs_bars(
                a,
                b,
                attribute=attribute,
                metric=str(metric),
                strategy=strategy,
                label_a=label_a,
                label_b=label_b,
            ),
            key="compare_runs_chart",
        )
    st.caption(
        "The runs may have tested different rows, so the difference has no paired interval: "
        "read it against the two intervals."
    )
    show_table(
        compare_metrics(
            a, b, attribute=attribute, metric=str(metric), label_a=label_a, label_b=label_b
        ),
        key="compare_metrics_table",
    )
