"""The verdicts as people read them: one paragraph a clinician can read aloud in a review,
and the table behind it (the same for the dashboard, the report and the CLI).

The numbers come from ``results.verdicts`` (see :mod:`mcrage_core.evaluation.judging`),
rounded to two decimals: ``For hispanic patients (n = 290), SMOTE raised F1 from 0.62
to 0.67 (+0.05, 95 % CI +0.01 to +0.09): helped.``
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mcrage_core.evaluation.results import METRIC_LABELS, OVERALL
from mcrage_core.presentation.format import NO_VALUE, fmt_count, fmt_group
from mcrage_core.presentation.tables import strategy_label
from mcrage_core.tables import sort_rows_by_group

if TYPE_CHECKING:
    from mcrage_core.evaluation.results import AuditResults

__all__ = [
    "SHORT_METRICS",
    "verdict_attributes",
    "verdict_paragraph",
    "verdict_table",
    "signed2",
]

SHORT_METRICS = {"f1": "F1", "auroc": "AUROC", "accuracy": "accuracy", "tpr": "sensitivity"}


def signed2(x: float) -> str:
    """``x`` with its sign and two decimals (``-0.00`` reads ``+0.00``)."""
    text = f"{float(x):+.2f}"
    return "+0.00" if text == "-0.00" else text


def verdict_attributes(results: AuditResults) -> list[str]:
    """Attributes with verdicts, the rebalanced one first, ``overall`` last."""
    v = results.verdicts
    attrs = [a for a in dict.fromkeys(v["attribute"].astype(str)) if a != OVERALL]
    primary = results.primary_attribute
    if primary in attrs:
        attrs.remove(primary)
        attrs.insert(0, primary)
    return attrs + ([OVERALL] if (v["attribute"] == OVERALL).any() else [])


def _rows(results: AuditResults, attribute: str, metric: str) -> pd.DataFrame:
    v = results.verdicts
    return v[(v["attribute"] == attribute) & (v["metric"] == metric)]


def _change(r: pd.Series) -> str:
    return f"{signed2(r['delta'])}, 95 % CI {signed2(r['ci_low'])} to {signed2(r['ci_high'])}"


def _strategy_sentence(results: AuditResults, rows: pd.DataFrame, strategy: str, name: str) -> str:
    label = strategy_label(results, strategy)
    parts = []
    for _, r in sort_rows_by_group(
        rows[rows["verdict"] != "no measurable change"], ["group"]
    ).iterrows():
        verb = "raised" if r["delta"] > 0 else "lowered"
        parts.append(
            f"For {fmt_group(r['group'])} patients (n = {fmt_count(r['n'])}), {label} {verb} "
            f"{name} from {r['baseline']:.2f} to {r['value']:.2f} ({_change(r)}): "
            f"{r['verdict']}."
        )
    same = sort_rows_by_group(rows[rows["verdict"] == "no measurable change"], ["group"])
    if len(same):
        listed = ", ".join(
            f"{fmt_group(r['group'])} (n = {fmt_count(r['n'])}, {name} {r['baseline']:.2f} → "
            f"{r['value']:.2f}, {_change(r)})"
            for _, r in same.iterrows()
        )
        lead = "It" if parts else label
        parts.append(f"{lead} made no measurable change for {listed}.")
    return " ".join(parts)


def verdict_paragraph(
    results: AuditResults, *, metric: str = "f1", attribute: str | None = None
) -> str:
    """One paragraph: for each strategy, the groups it helped or hurt with the numbers,
    then the groups without a measurable change, and the groups too small to judge."""
    v = results.verdicts
    if v is None or v.empty:
        return (
            "No verdicts: this run was made before verdicts existed, or no group had enough "
            "test rows to judge. Run the audit again (repeated cross-validation gives the "
            "most power)."
        )
    attribute = attribute or results.primary_attribute or verdict_attributes(results)[0]
    rows = _rows(results, attribute, metric)
    name = SHORT_METRICS.get(metric, METRIC_LABELS.get(metric, metric))
    protocol = results.dataset.get("evaluation") or "the audit's test rows"
    out = [
        f"Verdicts on {name} for {attribute}, on real patients only ({protocol}). Each change "
        "is against the model trained without rebalancing, with its 95 % interval; a change "
        "counts as helped or hurt only when it is clear after correcting for the number of "
        f"groups compared (Holm) and at least {_min_effect(results)} in size."
    ]
    for strategy in dict.fromkeys(rows["strategy"].astype(str)):
        out.append(_strategy_sentence(results, rows[rows["strategy"] == strategy], strategy, name))
    small = _too_small(results, attribute, set(rows["group"].astype(str)))
    if small:
        out.append(f"Too few patients to judge: {small}.")
    return " ".join(out)


def _min_effect(results: AuditResults) -> str:
    return f"{float(results.settings.get('min_effect', 0.01)):.2f}"


def _too_small(results: AuditResults, attribute: str, judged: set[str]) -> str:
    m = results.metrics
    sel = m[(m["attribute"] == attribute) & (m["strategy"] == "none") & (m["metric"] == "f1")]
    sel = sort_rows_by_group(sel[~sel["group"].astype(str).isin(judged)], ["group"])
    return ", ".join(
        f"{fmt_group(r['group'])} (n = {fmt_count(r['n'])})" for _, r in sel.iterrows()
    )


def verdict_table(
    results: AuditResults,
    *,
    attribute: str | None = None,
    metric: str | None = None,
    compact: bool = False,
) -> pd.DataFrame:
    """The verdicts with plain headers: strategy, attribute, group, patients, metric,
    baseline, with the strategy, change (95 % CI), verdict, test and Holm-adjusted p.
    ``compact`` (one attribute and metric chosen, for a page): strategy, group, patients,
    baseline → with the strategy, change, verdict, and the test with its p-value."""
    v = results.verdicts
    if attribute is not None:
        v = v[v["attribute"] == attribute]
    if metric is not None:
        v = v[v["metric"] == metric]
    rows = []
    for _, r in sort_rows_by_group(v, ["attribute", "group"]).iterrows():
        rows.append(
            {
                "Strategy": strategy_label(results, str(r["strategy"])),
                "Attribute": r["attribute"],
                "Group": fmt_group(r["group"]),
                "Test patients (n)": fmt_count(r["n"]),
                "Metric": METRIC_LABELS.get(str(r["metric"]), r["metric"]),
                "Baseline": f"{r['baseline']:.3f}",
                "With strategy": f"{r['value']:.3f}",
                "Change (95 % CI)": f"{r['delta']:+.3f} ({r['ci_low']:+.3f} to {r['ci_high']:+.3f})",
                "Verdict": r["verdict"],
                "p (Holm)": NO_VALUE
                if not np.isfinite(r["p_adjusted"])
                else f"{r['p_adjusted']:.3f}",
                "Test": r["test"],
            }
        )
    frame = pd.DataFrame(rows)
    if compact and len(frame):
        frame["Baseline → with strategy"] = frame["Baseline"] + " → " + frame["With strategy"]
        frame["Test (p, Holm)"] = frame["Test"] + " (p " + frame["p (Holm)"] + ")"
        keep = ["Strategy", "Group", "Test patients (n)", "Baseline → with strategy"]
        frame = frame[[*keep, "Change (95 % CI)", "Verdict", "Test (p, Holm)"]]
    return frame
