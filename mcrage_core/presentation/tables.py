"""The results tables people read, prepared once for the dashboard and the HTML report.

Every function takes an :class:`~mcrage_core.evaluation.results.AuditResults` and returns
a display frame: plain-language headers, every cell as text (numbers rounded by
:mod:`mcrage_core.presentation.format`), strategies in the order they were run and
groups in display order. The dashboard shows these frames as they are and the report
writes them as HTML tables, so column names, wording and rounding cannot drift apart.
The 80 % rule reads as :func:`mcrage_core.evaluation.verdicts.four_fifths_text` says.

Examples
--------
>>> comparison_table(results, ("f1", "auroc")).columns.tolist()  # doctest: +SKIP
['Strategy', 'F1 score', 'AUROC', 'Test rows']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd

from mcrage_core.evaluation.results import DISPARITY_LABELS, METRIC_LABELS
from mcrage_core.evaluation.verdicts import RARE_OUTCOME, four_fifths_text
from mcrage_core.presentation.format import (
    NO_VALUE,
    fmt_change,
    fmt_count,
    fmt_estimate,
    fmt_group,
    fmt_interval,
    fmt_number,
    fmt_pct,
    fmt_with_change,
    humanize_columns,
)
from mcrage_core.tables import sort_rows_by_group

if TYPE_CHECKING:
    from mcrage_core.evaluation.results import AuditResults

__all__ = [
    "RULE_COLUMN",
    "INTERVAL_COLUMN",
    "TOO_SMALL",
    "FAIRNESS_MEASURES",
    "DETAIL_METRICS",
    "strategy_labels",
    "strategy_label",
    "is_rare_outcome",
    "headline_metrics",
    "group_metric_choices",
    "comparison_table",
    "group_table",
    "group_metrics_table",
    "base_rate_table",
    "disparity_table",
    "interval_table",
    "disparity_interval_table",
    "excluded_groups",
    "run_notes",
    "intersection_table",
]

RULE_COLUMN = "80 % rule"
"""Header of the four-fifths rule reading (the text is ``four_fifths_text``'s)."""
INTERVAL_COLUMN = "95 % interval"
TOO_SMALL = "too small to judge"
"""Note on a group with too few test rows to be judged on its own."""
FAIRNESS_MEASURES: tuple[str, ...] = (
    "demographic_parity_ratio",
    "demographic_parity_difference",
    "equalized_odds_difference",
    "worst_group_f1",
)
"""The fairness measures of the strategy-by-measure table (narrow enough for a page)."""
DETAIL_METRICS: tuple[str, ...] = (
    "base_rate",
    "accuracy",
    "balanced_accuracy",
    "f1",
    "auroc",
    "pr_auc",
    "tpr",
    "fpr",
    "ppv",
    "fnr",
    "for",
    "fdr",
)
"""The metrics of the detailed per-group table with intervals (the report's)."""
_RARE_METRICS = ("balanced_accuracy", "pr_auc")


# --------------------------------------------------------------------------- readings


def strategy_labels(results: AuditResults) -> dict[str, str]:
    """Display name of each strategy (``{"none": "No change (baseline)", ...}``)."""
    return dict(results.dataset.get("strategy_labels") or {})


def strategy_label(results: AuditResults, strategy: str) -> str:
    """Display name of one strategy (its code when the run has no label for it)."""
    return strategy_labels(results).get(strategy, strategy)


def is_rare_outcome(results: AuditResults) -> bool:
    """Whether the outcome is rare (accuracy then says little)."""
    prevalence = results.dataset.get("prevalence")
    return prevalence is not None and float(prevalence) < RARE_OUTCOME


def headline_metrics(results: AuditResults) -> tuple[str, ...]:
    """The metrics of the strategy comparison: with a rare outcome, balanced accuracy
    and PR-AUC are shown next to accuracy."""
    if is_rare_outcome(results):
        return ("accuracy", "balanced_accuracy", "f1", "auroc", "pr_auc")
    return ("accuracy", "f1", "auroc")


def group_metric_choices(results: AuditResults) -> list[str]:
    """The metrics one can pick for the per-group view."""
    rare = _RARE_METRICS if is_rare_outcome(results) else ()
    present = set(results.metrics["metric"])
    extra = [m for m in ("ppv", "fnr", "for", "fdr") if m in present]
    return ["f1", "auroc", "accuracy", *rare, *extra]


def _in_run_order(results: AuditResults, frame: pd.DataFrame) -> pd.DataFrame:
    """Rows by group display order, then (stably) by the order strategies were run."""
    order = {s: i for i, s in enumerate(results.strategies)}
    frame = sort_rows_by_group(frame, ["group"])
    frame = frame.assign(_order=frame["strategy"].map(order))
    return frame.sort_values("_order", kind="stable").drop(columns="_order")


# --------------------------------------------------------------------------- tables


def comparison_table(results: AuditResults, metrics: Sequence[str] | None = None) -> pd.DataFrame:
    """Strategies side by side on the whole test set: one row per strategy, each metric
    with its change against the baseline in brackets, and the test rows."""
    m = results.metrics
    overall = m[m["attribute"] == "overall"]
    rows = []
    for strategy in results.strategies:
        sel = overall[overall["strategy"] == strategy].set_index("metric")
        row: dict[str, str] = {"strategy": strategy_label(results, strategy)}
        for metric in metrics or headline_metrics(results):
            if metric in sel.index:
                # the baseline is the reference: it has no change against itself
                row[METRIC_LABELS[metric]] = fmt_with_change(
                    sel.loc[metric, "value"], sel.loc[metric, "delta"], baseline=strategy == "none"
                )
        row["test_rows"] = fmt_count(sel["n"].iloc[0]) if len(sel) else NO_VALUE
        rows.append(row)
    return humanize_columns(pd.DataFrame(rows))


def group_table(results: AuditResults, attribute: str, metric: str) -> pd.DataFrame:
    """One metric per strategy and group of ``attribute``: test rows, value, 95 %
    interval, change against the baseline, and a note on groups too small to judge."""
    rows = results.by_group(attribute)
    rows = _in_run_order(results, rows[rows["metric"] == metric])
    table = pd.DataFrame(
        {
            "strategy": [strategy_label(results, s) for s in rows["strategy"]],
            "group": [fmt_group(g) for g in rows["group"]],
            "test_rows": [fmt_count(n) for n in rows["n"]],
            METRIC_LABELS[metric]: [fmt_number(v, 3) for v in rows["value"]],
            "ci": [
                fmt_interval(lo, hi, decimals=3)
                for lo, hi in zip(rows["ci_low"], rows["ci_high"], strict=True)
            ],
            "delta": [
                fmt_change(d, baseline=s == "none")
                for s, d in zip(rows["strategy"], rows["delta"], strict=True)
            ],
            "note": [TOO_SMALL if s else "" for s in rows["small"].astype(bool)],
        }
    )
    return humanize_columns(table, {"ci": INTERVAL_COLUMN})


def group_metrics_table(
    results: AuditResults, attribute: str, metrics: Sequence[str] = _RARE_METRICS
) -> pd.DataFrame:
    """Several metrics per strategy and group of ``attribute`` (values only), e.g. the
    two measures that still say something when the outcome is rare."""
    rows = results.by_group(attribute)
    rows = rows[rows["metric"].isin(list(metrics))]
    wide = rows.pivot_table(
        index=["strategy", "group"], columns="metric", values="value", aggfunc="first"
    )
    n = rows.groupby(["strategy", "group"], sort=False)["n"].first()
    wide = _in_run_order(results, wide.assign(n=n).reset_index())
    table = {
        "strategy": [strategy_label(results, s) for s in wide["strategy"]],
        "group": [fmt_group(g) for g in wide["group"]],
        "test_rows": [fmt_count(v) for v in wide["n"]],
        **{
            METRIC_LABELS[m]: [fmt_number(v, 3) for v in wide[m]]
            for m in metrics
            if m in wide.columns
        },
    }
    return humanize_columns(pd.DataFrame(table))


def base_rate_table(results: AuditResults, attribute: str) -> pd.DataFrame:
    """The real outcome rate of each group among the held-out test rows, with its 95 %
    interval (empty when the run has no base rates)."""
    rows = results.by_group(attribute)
    rows = rows[(rows["metric"] == "base_rate") & (rows["strategy"] == "none")]
    rows = sort_rows_by_group(rows, ["group"])
    table = pd.DataFrame(
        {
            "group": [fmt_group(g) for g in rows["group"]],
            "test_rows": [fmt_count(n) for n in rows["n"]],
            METRIC_LABELS["base_rate"]: [fmt_pct(v, 1) for v in rows["value"]],
            "ci": [
                fmt_interval(lo, hi, pct=True)
                for lo, hi in zip(rows["ci_low"], rows["ci_high"], strict=True)
            ],
        }
    )
    return humanize_columns(table, {"ci": INTERVAL_COLUMN})


def disparity_table(
    results: AuditResults, attribute: str, measures: Sequence[str] = FAIRNESS_MEASURES
) -> pd.DataFrame:
    """Fairness measures per strategy for ``attribute``, each with its change against
    the baseline in brackets, and the 80 % rule reading (:data:`RULE_COLUMN`)."""
    d = results.disparity
    d = d[d["attribute"] == attribute]
    rows = []
    for strategy in results.strategies:
        sel = d[d["strategy"] == strategy].set_index("metric")
        row = {"Strategy": strategy_label(results, strategy)}
        for m in measures:
            if m in sel.index:
                row[DISPARITY_LABELS[m]] = fmt_with_change(
                    sel.loc[m, "value"], sel.loc[m, "delta"], baseline=strategy == "none"
                )
        row[RULE_COLUMN] = four_fifths_text(results, strategy, attribute)
        rows.append(row)
    return pd.DataFrame(rows).fillna(NO_VALUE)


def interval_table(
    results: AuditResults, attribute: str, metrics: Sequence[str] = DETAIL_METRICS
) -> pd.DataFrame:
    """Every metric per strategy and group of ``attribute`` (``"overall"``: the whole
    test set) with its 95 % interval, and for F1 and AUROC the change against the
    baseline with its interval (Δ)."""
    sub = _in_run_order(results, results.metrics[results.metrics["attribute"] == attribute])
    rows = []
    for (strategy, group), g in sub.groupby(["strategy", "group"], sort=False):
        strategy = str(strategy)
        small = attribute != "overall" and bool(g["small"].iloc[0])
        row = {
            "strategy": strategy_label(results, strategy),
            "group": fmt_group(group),
            "test_rows": fmt_count(g["n"].iloc[0]),
            "note": TOO_SMALL if small else "",
        }
        by_metric = g.drop_duplicates("metric").set_index("metric")
        for metric in metrics:
            if metric not in by_metric.index:
                continue
            r = by_metric.loc[metric]
            label = METRIC_LABELS[metric]
            row[f"{label} ({INTERVAL_COLUMN})"] = fmt_estimate(
                r["value"], r["ci_low"], r["ci_high"]
            )
            if strategy != "none" and metric in ("f1", "auroc"):
                row[f"Δ {label}"] = fmt_estimate(
                    r["delta"], r["delta_ci_low"], r["delta_ci_high"], signed=True
                )
        rows.append(row)
    return humanize_columns(pd.DataFrame(rows)).fillna(NO_VALUE)


def disparity_interval_table(results: AuditResults, attribute: str) -> pd.DataFrame:
    """Every fairness measure per strategy with its 95 % interval, and its change
    against the baseline with the interval of the change (Δ)."""
    d = results.disparity
    rows = []
    for strategy, g in d[d["attribute"] == attribute].groupby("strategy", sort=False):
        row = {"Strategy": strategy_label(results, str(strategy))}
        by_metric = g.drop_duplicates("metric").set_index("metric")
        for metric, label in DISPARITY_LABELS.items():
            if metric not in by_metric.index:
                continue
            r = by_metric.loc[metric]
            row[f"{label} ({INTERVAL_COLUMN})"] = fmt_estimate(
                r["value"], r["ci_low"], r["ci_high"]
            )
            if strategy != "none":
                row[f"Δ {label}"] = fmt_estimate(
                    r["delta"], r["delta_ci_low"], r["delta_ci_high"], signed=True
                )
        rows.append(row)
    return pd.DataFrame(rows).fillna(NO_VALUE)


def excluded_groups(results: AuditResults, attribute: str) -> list[str]:
    """Groups of ``attribute`` left out of the fairness gaps (too few test rows)."""
    d = results.disparity
    excluded = d.loc[d["attribute"] == attribute, "excluded_groups"].dropna().astype(str)
    return [e for e in excluded.unique() if e]


def run_notes(results: AuditResults) -> list[str]:
    """The run's warnings and every strategy's notes, each once (the warnings already
    include the notes)."""
    notes = (n for ns in results.strategy_notes.values() for n in ns)
    return list(dict.fromkeys([*results.warnings, *notes]))


# --------------------------------------------------------------------------- imbalance


def intersection_table(
    intersection: pd.DataFrame, columns: Sequence[str]
) -> tuple[pd.DataFrame, str, str]:
    """The intersection table ready for a heatmap: ``(frame, rows, across)``, the first
    group column down and the other(s) combined across (``"sex · age_band"``); with one
    group column, a single column ``"all"`` across."""
    if len(columns) == 1:
        return intersection.assign(all="all"), columns[0], "all"
    across = " · ".join(columns[1:])
    frame = intersection.copy()
    frame[across] = frame[list(columns[1:])].astype(str).agg(" · ".join, axis=1)
    return frame, columns[0], across
