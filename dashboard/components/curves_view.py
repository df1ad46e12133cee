"""The per-group curves of a run (Results page): ROC curves, calibration with the Brier
score, and the effect of the decision threshold, for one attribute and one strategy. The
figures are the report's own (:mod:`mcrage_core.presentation.plots.curves`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard.messages import show_warning
from mcrage_core.errors import MCRAGEError
from mcrage_core.evaluation.results import METRIC_LABELS
from mcrage_core.presentation import plots
from mcrage_core.presentation.tables import strategy_label

if TYPE_CHECKING:
    from mcrage_core.evaluation.results import AuditResults

__all__ = ["show_curves", "CURVE_CAPTIONS"]

CURVE_CAPTIONS = {
    "roc": "Each line shows, for one group, the share of real cases the model finds "
    "(up) against the share of other patients it flags by mistake (right) as the threshold "
    "moves. Closer to the top left corner is better; the dashed diagonal is guessing.",
    "calibration": "Each point compares the risk the model predicted (across) with the "
    "share of those patients who really had the outcome (up). Points below the diagonal: "
    "risk overestimated for that group; above: underestimated. Lower Brier score is better.",
}
NO_CURVES = (
    "This run was made before ROC and calibration curves were computed: run the audit again "
    "to see them."
)


def _pick(results: AuditResults, brier: pd.DataFrame) -> tuple[str, str]:
    """The attribute and strategy the user picks (the rebalanced attribute first)."""
    attributes = list(dict.fromkeys(brier["attribute"].astype(str)))
    strategies = list(dict.fromkeys(brier["strategy"].astype(str)))
    primary = results.primary_attribute
    default = attributes.index(primary) if primary in attributes else min(1, len(attributes) - 1)
    c1, c2 = st.columns(2)
    attribute = c1.selectbox(
        "Attribute",
        attributes,
        index=default,
        format_func=lambda a: "all patients" if a == "overall" else a,
        key="curves_attribute",
    )
    strategy = c2.selectbox(
        "Strategy",
        strategies,
        format_func=lambda s: strategy_label(results, s),
        key="curves_strategy",
    )
    return str(attribute), str(strategy)


def _chart(draw: Callable[[], go.Figure], key: str) -> None:
    """The figure, or a note where it cannot be drawn (no ROC curve when every group
    has one outcome only) without stopping the page."""
    try:
        st.plotly_chart(draw(), key=key)
    except MCRAGEError as exc:
        show_warning(exc)


def show_curves(results: AuditResults) -> None:
    """ROC curves, calibration and the decision threshold in tabs, for the attribute and
    strategy picked; a note for a run made before the curves were computed."""
    curves = plots.curve_frames(getattr(results, "curves", None) or {})
    if not {"brier", "calibration", "threshold"} <= set(curves):
        st.caption(NO_CURVES)
        return
    attribute, strategy = _pick(results, curves["brier"])
    where = {
        "attribute": attribute,
        "strategy": strategy,
        "strategy_label": strategy_label(results, strategy),
    }
    current = float(results.dataset.get("threshold", 0.5))
    roc_tab, calibration_tab, threshold_tab = st.tabs(
        ["ROC curves", "Calibration", "Decision threshold"]
    )
    with roc_tab:
        _chart(lambda: plots.roc_curves(curves.get("roc", pd.DataFrame()), **where), "curves_roc")
        st.caption(CURVE_CAPTIONS["roc"])
    with calibration_tab:
        _chart(
            lambda: plots.calibration_curves(curves["calibration"], curves["brier"], **where),
            "curves_calibration",
        )
        st.caption(CURVE_CAPTIONS["calibration"])
        if strategy == "threshold":
            st.caption(
                "The threshold optimizer's score is the chance that its randomised rule says "
                "yes for the patient's group, not a predicted risk, so it is not calibrated by "
                "design; compare it on the other tabs."
            )
    with threshold_tab:
        metric = st.radio(
            "Measure",
            plots.THRESHOLD_METRICS,
            index=plots.THRESHOLD_METRICS.index("tpr"),
            format_func=METRIC_LABELS.get,
            horizontal=True,
            key="curves_metric",
        )
        _chart(
            lambda: plots.threshold_effect(
                curves["threshold"], **where, metric=str(metric), current=current
            ),
            "curves_threshold",
        )
        st.caption(
            f"How the measure would change for each group if patients were flagged at another "
            f"predicted risk. The dashed line is this run's threshold ({current:.2f}), which "
            "every other number on this page uses; to audit another one, set the decision "
            "threshold on the Train page and run again."
        )
