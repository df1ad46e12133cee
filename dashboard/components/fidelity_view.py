"""Pieces of the Compare page: the synthetic-data scores with their explanations and
verdicts, and the per-group scores."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from dashboard._readings import show_fidelity_verdicts
from dashboard.components.tables import show_table
from mcrage_core.presentation.format import (
    HUMAN_LABELS,
    fmt_count,
    fmt_group,
    fmt_number,
    format_table,
    human_label,
    training_sentence,
)
from mcrage_core.tables import sort_rows_by_group

if TYPE_CHECKING:
    from mcrage_core.evaluation.results import AuditResults

__all__ = ["EXPLAIN", "show_scores"]

EXPLAIN: dict[str, str] = {
    "column_shapes": "How closely each column's distribution matches the real one (1 = identical).",
    "pair_trends": "How well relationships between pairs of columns are kept (1 = identical).",
    "missingness": "How well the pattern of empty cells is reproduced (1 = identical).",
    "detection_auc": "How easily a model tells synthetic from real rows: 0.5 = cannot tell "
    "(best), 1.0 = always can.",
    "dcr_closer_to_train_share": "Privacy: share of synthetic rows closer to a training "
    "patient than to an unseen one. About 0.5 means no memorisation; near 1 means rows copy "
    "real patients.",
    "exact_copies": "Privacy: synthetic rows identical to a real patient (should be 0; they "
    "are removed).",
}
"""What each synthetic-data score means (its header is :func:`human_label`'s)."""
_COUNTS = ("n_real", "n_synthetic", "exact_copies")


def _per_group(by_group: pd.DataFrame) -> None:
    st.write("**Per group** (groups that received no synthetic rows show no scores):")
    group_cols = [c for c in by_group.columns if c not in HUMAN_LABELS or c == "age_band"]
    by_group = sort_rows_by_group(by_group, group_cols)
    formats = {c: fmt_count for c in _COUNTS} | {c: fmt_group for c in group_cols}
    show_table(
        format_table(by_group, formats),
        column_config={
            human_label(k): st.column_config.TextColumn(help=text) for k, text in EXPLAIN.items()
        },
    )


def show_scores(results: AuditResults) -> None:
    """Each score as a metric with its explanation, the verdicts, and the scores per
    group."""
    fidelity = results.fidelity or {}
    overall = fidelity.get("overall") or {}
    trained = training_sentence(results.training)
    if trained:
        st.caption(trained)
    cols = st.columns(3)
    for i, (key, text) in enumerate(EXPLAIN.items()):
        value = overall.get(key)
        cols[i % 3].metric(
            human_label(key),
            fmt_count(value) if key == "exact_copies" else fmt_number(value, 2),
            help=text,
        )
    st.markdown("**Verdicts** (the thresholds used are named after each score):")
    show_fidelity_verdicts(overall)
    with st.expander("What do these scores mean?", expanded=False):
        for key, text in EXPLAIN.items():
            st.markdown(f"**{human_label(key)}**: {text}")
    by_group = pd.DataFrame(fidelity.get("by_group") or [])
    if len(by_group):
        _per_group(by_group)
