"""Plotly figure builders shared by the dashboard and the HTML report.

Every builder returns a :class:`plotly.graph_objects.Figure` with a plain-language
title, labelled axes and hover text that says what a number means and how many people
it rests on. Nothing here draws HTML by hand.

Layout rules shared by every figure (see :mod:`._style`): titles are wrapped to
:data:`TITLE_WIDTH` characters per line and the top margin grows with the number of
title lines (and subplot titles), so a title is never cut off or drawn over the plot;
legends sit beside the plot, below the title. Groups are shown in the order of
:func:`mcrage_core.tables.sort_groups` (age bands by their lower bound).

* :mod:`.imbalance` — group sizes, outcome rates, intersections;
* :mod:`.results` — metrics per group, fairness changes per strategy;
* :mod:`.fidelity` — synthetic versus real rows, training loss;
* :mod:`.curves` — ROC curves, calibration and the decision threshold, per group;
* :mod:`.compare` — two finished runs side by side.

Examples
--------
>>> fig = metric_bars_by_group(results, metric="f1")  # doctest: +SKIP
>>> fig.show()  # doctest: +SKIP
"""

from __future__ import annotations

from mcrage_core.presentation.plots._style import STRATEGY_COLORS, TITLE_WIDTH, wrap_title
from mcrage_core.presentation.plots.compare import compare_runs_bars
from mcrage_core.presentation.plots.curves import (
    THRESHOLD_METRICS,
    calibration_curves,
    curve_frames,
    roc_curves,
    threshold_effect,
)
from mcrage_core.presentation.plots.fidelity import (
    column_overlay,
    correlation_difference_heatmap,
    loss_curve,
    projection_2d,
)
from mcrage_core.presentation.plots.imbalance import (
    group_counts_bar,
    intersection_figure,
    intersection_heatmap,
    prevalence_with_ci,
)
from mcrage_core.presentation.plots.results import disparity_before_after, metric_bars_by_group

__all__ = [
    "group_counts_bar",
    "prevalence_with_ci",
    "intersection_heatmap",
    "intersection_figure",
    "metric_bars_by_group",
    "disparity_before_after",
    "column_overlay",
    "correlation_difference_heatmap",
    "projection_2d",
    "loss_curve",
    "roc_curves",
    "calibration_curves",
    "threshold_effect",
    "curve_frames",
    "compare_runs_bars",
    "THRESHOLD_METRICS",
    "STRATEGY_COLORS",
    "TITLE_WIDTH",
    "wrap_title",
]
