"""The report section of the per-group curves: ROC curves, calibration with the Brier
score, and the effect of the decision threshold (tables of
:func:`mcrage_core.evaluation.curves.compute_curves`, figures of
:mod:`mcrage_core.presentation.plots.curves`).

For the primary attribute every strategy gets its three figures; for every attribute a
table gives each group's AUROC and Brier score per strategy.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pandas as pd
import plotly.graph_objects as go

from mcrage_core.errors import ConfigError
from mcrage_core.presentation import plots
from mcrage_core.presentation.format import fmt_count, fmt_estimate, fmt_number
from mcrage_core.presentation.report.html import Figures, esc, html_table, muted
from mcrage_core.presentation.tables import strategy_label

if TYPE_CHECKING:
    from mcrage_core.evaluation.results import AuditResults

__all__ = ["curves_section", "curve_summary_table", "CURVES_INTRO"]

CURVES_INTRO = (
    "How well the model ranks and how well its predicted risks match what happened, group "
    "by group, on the same real test patients (out-of-fold predictions, pooled over the "
    "repeats). ROC curve: closer to the top left corner is better; AUROC 0.5 is chance. "
    "Calibration: a group whose points lie below the diagonal was given risks that are too "
    "high, above it too low; the Brier score is the mean squared error of the predicted "
    "risk (lower is better), with its 95 % bootstrap interval. Decision threshold: how the "
    "share of real cases found (sensitivity) changes with the risk at which a patient is "
    "flagged; the dashed line is the threshold of this run."
)


def curve_summary_table(
    curves: dict[str, pd.DataFrame], attribute: str, labels: dict[str, str] | None = None
) -> pd.DataFrame:
    """One row per strategy × group of ``attribute``: people, AUROC (— when the group has
    one outcome only) and the Brier score with its interval."""
    brier = curves.get("brier", pd.DataFrame())
    if brier.empty:
        return pd.DataFrame()
    brier = brier[brier["attribute"].astype(str) == attribute]
    roc = curves.get("roc", pd.DataFrame())
    auroc: dict[tuple[str, str], float] = {}
    if not roc.empty:
        first = roc[roc["attribute"].astype(str) == attribute].drop_duplicates(
            ["strategy", "group"]
        )
        auroc = {
            (str(s), str(g)): float(a)
            for s, g, a in zip(first["strategy"], first["group"], first["auroc"], strict=True)
        }
    rows = [
        {
            "Strategy": (labels or {}).get(str(s), str(s)),
            "Group": str(g),
            "Patients": fmt_count(n),
            "AUROC": fmt_number(auroc.get((str(s), str(g))), 3),
            "Brier score (95 % interval)": fmt_estimate(b, lo, hi),
        }
        for s, g, n, b, lo, hi in zip(
            brier["strategy"], brier["group"], brier["n"], brier["brier"], brier["ci_low"],
            brier["ci_high"], strict=True,
        )
    ]  # fmt: skip
    return pd.DataFrame(rows)


def _figures(
    results: AuditResults, curves: dict[str, pd.DataFrame], attribute: str, strategy: str
) -> list[Callable[[], go.Figure]]:
    """The three figures of one strategy for ``attribute``, to be drawn."""
    label = strategy_label(results, strategy)
    where = {"attribute": attribute, "strategy": strategy, "strategy_label": label}
    threshold = float(results.dataset.get("threshold", 0.5))
    return [
        lambda: plots.roc_curves(curves.get("roc", pd.DataFrame()), **where),
        lambda: plots.calibration_curves(curves["calibration"], curves["brier"], **where),
        lambda: plots.threshold_effect(
            curves["threshold"], **where, metric="tpr", current=threshold
        ),
    ]


def _strategy_figures(
    results: AuditResults, curves: dict[str, pd.DataFrame], attribute: str, fig: Figures
) -> list[str]:
    """The three figures of every strategy for ``attribute`` (a note where one cannot
    be drawn, e.g. no ROC curve when every group has one outcome only)."""
    out = []
    for strategy in dict.fromkeys(curves["brier"]["strategy"].astype(str)):
        out.append(f"<h4>{esc(strategy_label(results, strategy))}</h4>")
        for draw in _figures(results, curves, attribute, strategy):
            try:
                out.append(fig(draw()))
            except ConfigError as exc:
                out.append(muted(exc))
    return out


def curves_section(results: AuditResults, fig: Figures | None = None) -> str:
    """The section ``#curves``: an explanation, the figures of the primary attribute for
    every strategy, and the AUROC / Brier table of every attribute. Empty text for a run
    without curves (made before they were computed).

    Pass the report's :class:`Figures` as ``fig`` so that plotly.js is embedded once and
    the figure ids stay unique; without it the fragment embeds plotly.js itself.
    """
    curves = plots.curve_frames(getattr(results, "curves", None))
    if not {"brier", "calibration", "threshold"} <= set(curves):
        return ""
    fig = fig or Figures()
    labels = {s: strategy_label(results, s) for s in curves["brier"]["strategy"].astype(str)}
    attributes = [
        str(a) for a in dict.fromkeys(curves["brier"]["attribute"].astype(str)) if a != "overall"
    ]
    primary = results.primary_attribute
    out = [
        '<h2 id="curves">ROC curves, calibration and decision threshold by group</h2>',
        f"<p>{esc(CURVES_INTRO)}</p>",
        "<h3>All patients</h3>",
        html_table(curve_summary_table(curves, "overall", labels)),
    ]
    for attribute in attributes:
        out.append(f"<h3>{esc(attribute)}</h3>")
        if attribute == primary:
            out += _strategy_figures(results, curves, attribute, fig)
        out.append(html_table(curve_summary_table(curves, attribute, labels)))
    return "".join(out)
