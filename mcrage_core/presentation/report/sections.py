"""The sections of the HTML report, one function each; tables come from
:mod:`mcrage_core.presentation.tables` (the dashboard shows the same ones)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from mcrage_core.errors import ConfigError
from mcrage_core.evaluation.verdicts import fairness_findings
from mcrage_core.fidelity import FIDELITY_HELP, fidelity_verdict
from mcrage_core.presentation import plots, tables
from mcrage_core.presentation.format import NO_VALUE, human_label, training_sentence
from mcrage_core.presentation.report.html import (
    Figures,
    cell_text,
    esc,
    html_table,
    muted,
    warning_list,
)
from mcrage_core.presentation.report.summary import plain_summary
from mcrage_core.presentation.verdicts import verdict_paragraph, verdict_table

if TYPE_CHECKING:
    from mcrage_core.evaluation.results import AuditResults

__all__ = [
    "verdict_section",
    "summary_section",
    "dataset_section",
    "imbalance_section",
    "plan_section",
    "fidelity_section",
    "reading_section",
    "performance_section",
    "fairness_section",
    "warnings_section",
    "settings_section",
]


def _joined(pairs: dict[str, object] | None, sep: str = ", ") -> str:
    return sep.join(f"{k}: {v}" for k, v in (pairs or {}).items())


def verdict_section(results: AuditResults) -> str:
    """The verdict paragraph (rebalanced attribute, F1) and the verdicts of every
    attribute and metric."""
    text = verdict_paragraph(results)
    out = [
        '<h2 id="verdicts">Verdict per group</h2>',
        f'<p class="summary" id="verdict-paragraph">{esc(text)}</p>',
    ]
    if not results.verdicts.empty:
        out.append(
            muted(
                "Every verdict: helped / no measurable change / hurt, with the change against "
                "the baseline, its 95 % interval, the test used and the p-value after Holm's "
                "correction across the groups of an attribute."
            )
        )
        out.append(html_table(verdict_table(results), max_rows=400))
    return "".join(out)


def summary_section(results: AuditResults) -> str:
    return f'<h2 id="summary">Summary</h2><p class="summary">{esc(plain_summary(results))}</p>'


def dataset_section(results: AuditResults) -> str:
    """What table was audited, how it was split and what the models saw."""
    ds = results.dataset
    seeds = ds.get("seeds") or []
    labels = ds.get("value_labels") or {}
    merged = ds.get("merged_groups") or {}
    rows = {
        "Rows in the table": ds.get("n_rows"),
        "Rows used (with an outcome)": ds.get("n_rows_used"),
        "Columns": ds.get("n_columns"),
        "Outcome": f"{ds.get('target')} = {ds.get('positive_class')}",
        "Share with the outcome": f"{100 * (ds.get('prevalence') or 0):.1f} %",
        "Evaluation": ds.get("evaluation") or "one hold-out split",
        "Training / test rows (per fold)": f"{ds.get('n_train')} / {ds.get('n_test')}",
        f"Model inputs ({len(ds.get('features') or [])})": ", ".join(ds.get("features") or []),
        "Attributes audited": ", ".join(ds.get("attributes") or {}),
        "Rebalanced": ", ".join(ds.get("rebalance") or []),
        "Downstream model": ds.get("classifier"),
        "Decision threshold": f"{float(ds.get('threshold', 0.5)):.2f}",
        "Value labels": "; ".join(
            f"{c}: " + ", ".join(f"{k} = {v}" for k, v in m.items()) for c, m in labels.items()
        )
        or "none",
        "Merged groups": "; ".join(f"{c}: {', '.join(g)}" for c, g in merged.items()) or "none",
        "Repetitions (seeds)": f"{len(seeds)} ({', '.join(map(str, seeds))})",
        "Rows without a group value (kept for training, not a group)": _joined(
            ds.get("n_missing_group")
        ),
    }
    frame = pd.DataFrame({"item": list(rows), "value": list(rows.values())})
    return f'<h2 id="dataset">Dataset</h2>{html_table(frame)}'


def imbalance_section(results: AuditResults, fig: Figures) -> str:
    """Group sizes and outcome rates per attribute, and the intersections heatmap."""
    imb = results.imbalance
    body = muted("The imbalance summary is not available.")
    if imb and imb.get("groups"):
        groups = pd.DataFrame(imb["groups"])
        out = [html_table(pd.DataFrame(imb.get("summary") or []))]
        ds = results.dataset
        outcome = f"outcome ({ds.get('target')} = {ds.get('positive_class')})"
        for attribute in dict.fromkeys(groups["attribute"].astype(str)):
            out.append(f"<h3>{esc(attribute)}</h3>")
            out.append(fig(plots.group_counts_bar(groups, attribute=attribute)))
            out.append(
                fig(plots.prevalence_with_ci(groups, attribute=attribute, outcome_label=outcome))
            )
        inter = pd.DataFrame(imb.get("intersection") or [])
        cols = [c for c in (imb.get("group_columns") or {}).values() if c in inter.columns]
        if len(cols) >= 2 and len(inter):
            _, rows, across = tables.intersection_table(inter, cols)
            out.append(f"<h3>Intersections: {esc(rows)} × {esc(across)}</h3>")
            out.append(fig(plots.intersection_figure(inter, cols)))
        body = "".join(out)
    return f'<h2 id="imbalance">Imbalance</h2>{body}'


def plan_section(results: AuditResults) -> str:
    return (
        '<h2 id="plan">Augmentation plan</h2><p>For each group × outcome cell: real training '
        "rows and the synthetic rows planned (the same plan feeds every strategy).</p>"
        + html_table(results.plan)
    )


def _fidelity_scores(fid: dict[str, Any]) -> str:
    overall = fid.get("overall") or {}
    rows = [
        {
            "measure": human_label(k),
            "value": overall.get(k),
            "verdict": fidelity_verdict(k, overall.get(k)) or NO_VALUE,
            "how to read it": text,
        }
        for k, text in FIDELITY_HELP.items()
    ]
    out = [
        "<p>Each score with a plain reading (good / fair / poor) and the thresholds used. "
        "Exact copies of real patients are removed before anything is written.</p>",
        html_table(pd.DataFrame(rows)),
    ]
    if overall.get("detection_auc_method"):
        out.append(
            f'<p class="muted">Detection AUC computed {esc(overall["detection_auc_method"])}; '
            f"pooled across groups it is {esc(cell_text(overall.get('detection_auc_pooled')))}.</p>"
        )
    by_group = pd.DataFrame(fid.get("by_group") or [])
    if len(by_group):
        out.append("<h3>Per group</h3>" + html_table(by_group))
    return "".join(out)


def _synthetic_figures(results: AuditResults, fig: Figures, max_overlays: int) -> list[str]:
    synth, aug = results.synthetic, results.augmented_train
    if synth is None or not len(synth) or aug is None or "source" not in aug.columns:
        return []
    real = aug[aug["source"] == "real"]
    features = [c for c in results.dataset.get("features", []) if c in synth.columns]
    out = [fig(plots.column_overlay(real, synth, col)) for col in features[:max_overlays]]
    try:
        out.append(fig(plots.correlation_difference_heatmap(real, synth, columns=None)))
        out.append(fig(plots.projection_2d(real, synth)))
    except ConfigError as exc:
        out.append(muted(exc))
    return out


def fidelity_section(results: AuditResults, fig: Figures, max_overlays: int) -> str:
    """Fidelity and privacy scores with their readings, the loss curve, and real versus
    synthetic figures."""
    out = ['<h2 id="fidelity">Synthetic data: fidelity and privacy</h2>']
    if results.fidelity:
        out.append(_fidelity_scores(results.fidelity))
    else:
        out.append(muted("No synthetic rows were generated in this run."))
    trained = training_sentence(results.training)
    if trained:
        out.append(f"<p>{esc(trained)}</p>")
    loss = results.training.get("loss_history")
    if loss:
        out.append(fig(plots.loss_curve(loss)))
    out += _synthetic_figures(results, fig, max_overlays)
    return "".join(out)


def reading_section(results: AuditResults) -> str:
    """What a reviewer must know before reading the fairness tables (may be empty)."""
    findings = fairness_findings(results)
    if not findings:
        return ""
    return '<h2 id="reading">How to read the fairness results</h2>' + warning_list(
        [f.text for f in findings], item_class=[f.level for f in findings]
    )


def _attributes(results: AuditResults) -> list[str]:
    return [str(a) for a in dict.fromkeys(results.metrics["attribute"]) if a != "overall"]


def performance_section(results: AuditResults, fig: Figures, metrics: Sequence[str]) -> str:
    """Strategies side by side, then every metric per group with its interval; bar
    charts of ``metrics`` for the primary attribute."""
    out = [
        '<h2 id="metrics">Model performance by group</h2>'
        "<p>Test patients are real and the same for every strategy. Intervals are 95 % "
        "bootstrap intervals over the test patients; Δ is the change against the baseline "
        "(paired). Small groups are flagged and not used in the fairness gaps.</p>",
        "<h3>Strategies side by side</h3>" + html_table(tables.comparison_table(results)),
        "<h3>Overall</h3>" + html_table(tables.interval_table(results, "overall")),
    ]
    for attribute in _attributes(results):
        out.append(f"<h3>{esc(attribute)}</h3>")
        if attribute == results.primary_attribute:
            for metric in metrics:
                chart = plots.metric_bars_by_group(results, metric=metric, attribute=attribute)
                out.append(fig(chart))
        out.append(html_table(tables.interval_table(results, attribute)))
    return "".join(out)


def fairness_section(results: AuditResults, fig: Figures) -> str:
    """Per attribute: the change chart, the strategy × measure table with the 80 % rule
    (as on the dashboard) and every measure with its intervals."""
    out = ['<h2 id="disparities">Fairness gaps before and after</h2>']
    for attribute in _attributes(results):
        detail = tables.disparity_interval_table(results, attribute)
        if detail.empty:
            continue
        out.append(f"<h3>{esc(attribute)}</h3>")
        if len(results.strategies) > 1:
            try:
                out.append(fig(plots.disparity_before_after(results, attribute=attribute)))
            except ConfigError as exc:
                out.append(muted(exc))
        out.append(html_table(tables.disparity_table(results, attribute)))
        out.append(html_table(detail))
    return "".join(out)


def warnings_section(results: AuditResults) -> str:
    if not results.warnings:
        return ""
    return '<h2 id="warnings">Warnings</h2>' + warning_list(results.warnings)


def settings_section(results: AuditResults) -> str:
    settings = json.dumps(
        {"settings": results.settings, "versions": results.versions, "timings_s": results.timings},
        indent=2,
        default=str,
        ensure_ascii=False,
    )
    return (
        '<h2 id="reproduce">Settings and versions (to reproduce this run)</h2>'
        f"<pre>{esc(settings)}</pre>"
    )
