"""Self-contained HTML report of an audit: one file that opens offline in any browser.

plotly.js is embedded once, inline; there are no links to outside resources. Every
string that comes from the user's data or settings is HTML-escaped.

Examples
--------
>>> html_text = render_report(results, title="SUPPORT2 race audit")  # doctest: +SKIP
>>> Path("report.html").write_text(html_text, encoding="utf-8")  # doctest: +SKIP
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Sequence
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from mcrage_core.errors import ConfigError
from mcrage_core.evaluation.results import (
    DISPARITY_LABELS,
    FOUR_FIFTHS,
    METRIC_LABELS,
    AuditResults,
)
from mcrage_core.evaluation.verdicts import (
    FIDELITY_HELP,
    fairness_findings,
    fidelity_verdict,
    four_fifths_text,
    parity_expected_to_differ,
)
from mcrage_core.presentation import plots
from mcrage_core.presentation.format import human_label

__all__ = ["render_report", "plain_summary", "four_fifths_text"]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;
margin:0 auto;max-width:1150px;padding:24px;color:#222;line-height:1.45}
h1{font-size:1.7em;margin-bottom:.2em}h2{border-bottom:2px solid #ddd;padding-bottom:4px;
margin-top:2em}h3{margin-top:1.4em}
table{border-collapse:collapse;margin:8px 0 16px;font-size:.9em}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}th{background:#f3f3f3}
td:first-child,th:first-child{text-align:left}
.summary{background:#eef6ee;border-left:5px solid #2ca02c;padding:12px 16px}
.warn{background:#fff4e5;border-left:5px solid #ff9800;padding:8px 16px}
.muted{color:#666;font-size:.9em}pre{background:#f7f7f7;padding:10px;overflow:auto;font-size:.8em}
nav a{margin-right:12px}.scroll{overflow-x:auto;max-width:100%}
"""


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _fmt(v: object, digits: int = 3) -> str:
    if v is None:
        return "–"
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    if isinstance(v, (float, np.floating)):
        if not math.isfinite(float(v)):
            return "–"
        if float(v).is_integer():
            return f"{int(v):,}"  # counts travel through JSON as floats
        return f"{float(v):.{digits}f}"
    if isinstance(v, dict):
        return ", ".join(f"{k}: {_fmt(x)}" for k, x in v.items())
    return str(v)


def _table(frame: pd.DataFrame, *, max_rows: int = 200) -> str:
    if frame is None or len(frame) == 0:
        return '<p class="muted">Nothing to show.</p>'
    shown = frame.head(max_rows)
    head = "".join(f"<th>{_esc(human_label(c))}</th>" for c in shown.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_esc(_fmt(v))}</td>" for v in row) + "</tr>"
        for row in shown.itertuples(index=False)
    )
    more = (
        f'<p class="muted">{len(frame) - max_rows:,} more rows not shown.</p>'
        if len(frame) > max_rows
        else ""
    )
    return (
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody>'
        f"</table></div>{more}"
    )


class _Figures:
    """Embeds plotly.js with the first figure only."""

    def __init__(self) -> None:
        self.first = True
        self.count = 0

    def __call__(self, fig: go.Figure) -> str:
        self.count += 1
        out = fig.to_html(
            full_html=False,
            include_plotlyjs=self.first,
            div_id=f"mcrage-fig-{self.count}",
            config={"displaylogo": False, "responsive": True},
        )
        self.first = False
        return out


def _ci(v: float, lo: float, hi: float) -> str:
    if v is None or not np.isfinite(v):
        return "–"
    if lo is None or not np.isfinite(lo):
        return f"{v:.3f}"
    return f"{v:.3f} ({lo:.3f}–{hi:.3f})"


def _delta(d: float, lo: float, hi: float) -> str:
    if d is None or not np.isfinite(d):
        return "–"
    if lo is None or not np.isfinite(lo):
        return f"{d:+.3f}"
    return f"{d:+.3f} ({lo:+.3f} to {hi:+.3f})"


def _label(results: AuditResults, strategy: str) -> str:
    return (results.dataset.get("strategy_labels") or {}).get(strategy, strategy)


def plain_summary(results: AuditResults) -> str:
    """A few plain sentences for a review meeting: what changed, for whom.

    Changes are called clear only when their 95 % interval (paired bootstrap over the
    test patients) excludes zero.
    """
    attr = results.primary_attribute
    d = results.disparity
    m = results.metrics
    n_test = results.dataset.get("n_test")
    clf = results.dataset.get("classifier", "model")
    parts: list[str] = []
    base = m[(m["strategy"] == "none") & (m["attribute"] == attr) & (m["metric"] == "f1")]
    base = base[~base["small"]]
    overall = results.overall("none") if "none" in results.strategies else {}
    if overall:
        parts.append(
            f"On {n_test:,} held-out real patients, the baseline {clf} reached an F1 score of "
            f"{overall.get('f1', float('nan')):.2f} and an AUROC of "
            f"{overall.get('auroc', float('nan')):.2f}."
        )
    if len(base) == 1:
        only = base.iloc[0]
        parts.append(
            f"By {attr}, only {only['group']} (n={int(only['n'])}) has enough test patients to "
            f"be judged on its own: F1 {only['value']:.2f}."
        )
    elif len(base) > 1:
        worst = base.loc[base["value"].idxmin()]
        best = base.loc[base["value"].idxmax()]
        if round(float(worst["value"]), 2) == round(float(best["value"]), 2):
            parts.append(
                f"By {attr}, F1 was {worst['value']:.2f} in every group large enough to judge "
                f"({len(base)} groups)."
            )
        else:
            parts.append(
                f"By {attr}, F1 ranged from {worst['value']:.2f} for {worst['group']} "
                f"(n={int(worst['n'])}) to {best['value']:.2f} for {best['group']} "
                f"(n={int(best['n'])})."
            )
    small = m[(m["attribute"] == attr) & m["small"] & (m["strategy"] == "none")]
    if len(small):
        groups = ", ".join(sorted(set(small["group"].astype(str))))
        parts.append(
            f"Group(s) {groups} have too few test patients to judge and were left out of the "
            "fairness gaps."
        )
    for strategy in results.strategies:
        if strategy == "none":
            continue
        sel = d[(d["strategy"] == strategy) & (d["attribute"] == attr)]
        if sel.empty:
            continue
        wf1 = sel[sel["metric"] == "worst_group_f1"]
        eo = sel[sel["metric"] == "equalized_odds_difference"]
        bits = []
        for rows, name, better_up in (
            (wf1, "worst-group F1", True),
            (eo, "equalized odds gap", False),
        ):
            if rows.empty or not np.isfinite(rows["delta"].iloc[0]):
                continue
            r = rows.iloc[0]
            clear = np.isfinite(r["delta_ci_low"]) and (
                r["delta_ci_low"] > 0 or r["delta_ci_high"] < 0
            )
            if not clear:
                bits.append(f"did not clearly change the {name} ({r['delta']:+.3f})")
            else:
                improved = (r["delta"] > 0) == better_up
                bits.append(
                    f"{'improved' if improved else 'worsened'} the {name} by {abs(r['delta']):.3f}"
                )
        if bits:
            parts.append(f"{_label(results, strategy)} {' and '.join(bits)}.")
        ff = results.four_fifths(strategy, attr)
        if ff is False and not parity_expected_to_differ(results, attr):
            parts.append(
                f"With {_label(results, strategy)}, the demographic parity ratio is below "
                f"{FOUR_FIFTHS:.0%} (four-fifths rule not met)."
            )
    if not parts:
        return "No results to summarise yet."
    for finding in fairness_findings(results):
        if finding.level == "warning":
            parts.append(finding.text)
    return " ".join(parts)


def _imbalance_section(results: AuditResults, fig) -> str:
    imb = results.imbalance
    if not imb or not imb.get("groups"):
        return '<p class="muted">The imbalance summary is not available.</p>'
    groups = pd.DataFrame(imb["groups"])
    out = [_table(pd.DataFrame(imb.get("summary") or []))]
    outcome = f"outcome ({results.dataset.get('target')} = {results.dataset.get('positive_class')})"
    for attribute in dict.fromkeys(groups["attribute"].astype(str)):
        out.append(f"<h3>{_esc(attribute)}</h3>")
        out.append(fig(plots.group_counts_bar(groups, attribute=attribute)))
        out.append(
            fig(plots.prevalence_with_ci(groups, attribute=attribute, outcome_label=outcome))
        )
    inter = pd.DataFrame(imb.get("intersection") or [])
    cols = [c for c in (imb.get("group_columns") or {}).values() if c in inter.columns]
    if len(cols) >= 2 and len(inter):
        across = " · ".join(cols[1:])
        inter[across] = inter[cols[1:]].astype(str).agg(" · ".join, axis=1)
        out.append(f"<h3>Intersections: {_esc(cols[0])} × {_esc(across)}</h3>")
        out.append(fig(plots.intersection_heatmap(inter, rows=cols[0], columns=across)))
    return "".join(out)


def _fidelity_section(results: AuditResults, fig, max_overlays: int) -> str:
    out: list[str] = []
    fid = results.fidelity
    if fid:
        overall = fid.get("overall") or {}
        rows = [
            {
                "measure": human_label(k),
                "value": overall.get(k),
                "verdict": fidelity_verdict(k, overall.get(k)) or "–",
                "how to read it": text,
            }
            for k, text in FIDELITY_HELP.items()
        ]
        out.append(
            "<p>Each score with a plain reading (good / fair / poor) and the thresholds used. "
            "Exact copies of real patients are removed before anything is written.</p>"
        )
        out.append(_table(pd.DataFrame(rows)))
        if overall.get("detection_auc_method"):
            out.append(
                f'<p class="muted">Detection AUC computed {_esc(overall["detection_auc_method"])}; '
                f"pooled across groups it is {_fmt(overall.get('detection_auc_pooled'))}.</p>"
            )
        by_group = pd.DataFrame(fid.get("by_group") or [])
        if len(by_group):
            out.append("<h3>Per group</h3>" + _table(by_group))
    else:
        out.append('<p class="muted">No synthetic rows were generated in this run.</p>')
    loss = results.training.get("loss_history")
    if loss:
        out.append(fig(plots.loss_curve(loss)))
    synth, aug = results.synthetic, results.augmented_train
    if synth is not None and len(synth) and aug is not None and "source" in aug.columns:
        real = aug[aug["source"] == "real"]
        features = [c for c in results.dataset.get("features", []) if c in synth.columns]
        for col in features[:max_overlays]:
            out.append(fig(plots.column_overlay(real, synth, col)))
        try:
            out.append(fig(plots.correlation_difference_heatmap(real, synth, columns=None)))
            out.append(fig(plots.projection_2d(real, synth)))
        except ConfigError as exc:
            out.append(f'<p class="muted">{_esc(exc)}</p>')
    return "".join(out)


def _metrics_table(results: AuditResults, attribute: str) -> pd.DataFrame:
    m = results.metrics
    sub = m[m["attribute"] == attribute]
    rows = []
    for (strategy, group), g in sub.groupby(["strategy", "group"], sort=False):
        row = {
            "strategy": _label(results, strategy),
            "group": group,
            "n": int(g["n"].iloc[0]),
            "small": bool(g["small"].iloc[0]) if attribute != "overall" else False,
        }
        for metric in (
            "base_rate",
            "accuracy",
            "balanced_accuracy",
            "f1",
            "auroc",
            "pr_auc",
            "tpr",
            "fpr",
        ):
            r = g[g["metric"] == metric]
            if len(r):
                r = r.iloc[0]
                row[METRIC_LABELS[metric] + " (95 % CI)"] = _ci(
                    r["value"], r["ci_low"], r["ci_high"]
                )
                if strategy != "none" and metric in ("f1", "auroc"):
                    row[f"Δ {METRIC_LABELS[metric]}"] = _delta(
                        r["delta"], r["delta_ci_low"], r["delta_ci_high"]
                    )
        rows.append(row)
    return pd.DataFrame(rows)


def _disparity_table(results: AuditResults, attribute: str) -> pd.DataFrame:
    d = results.disparity
    sub = d[d["attribute"] == attribute]
    rows = []
    for strategy, g in sub.groupby("strategy", sort=False):
        row = {"strategy": _label(results, strategy)}
        for metric in DISPARITY_LABELS:
            r = g[g["metric"] == metric]
            if len(r):
                r = r.iloc[0]
                row[DISPARITY_LABELS[metric]] = _ci(r["value"], r["ci_low"], r["ci_high"])
                if strategy != "none":
                    row[f"Δ {DISPARITY_LABELS[metric]}"] = _delta(
                        r["delta"], r["delta_ci_low"], r["delta_ci_high"]
                    )
        row["80 % rule (demographic parity)"] = four_fifths_text(results, strategy, attribute)
        rows.append(row)
    return pd.DataFrame(rows)


def render_report(
    results: AuditResults,
    *,
    title: str = "MCRAGE fairness audit",
    max_overlays: int = 6,
    metrics: Sequence[str] = ("f1", "auroc", "accuracy"),
) -> str:
    """The full report as one self-contained HTML document (UTF-8 text).

    Sections: summary, dataset, imbalance, augmentation plan, synthetic data fidelity
    and privacy, per-group metrics and disparities before/after for every strategy,
    warnings, settings and versions.
    """
    fig = _Figures()
    ds = results.dataset
    primary = results.primary_attribute or ""
    attributes = [a for a in dict.fromkeys(results.metrics["attribute"]) if a != "overall"]
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    sections: list[str] = []

    sections.append(
        f'<h2 id="summary">Summary</h2><p class="summary">{_esc(plain_summary(results))}</p>'
    )
    dataset_rows = pd.DataFrame(
        [
            {"item": "Rows in the table", "value": ds.get("n_rows")},
            {"item": "Rows used (with an outcome)", "value": ds.get("n_rows_used")},
            {"item": "Columns", "value": ds.get("n_columns")},
            {"item": "Outcome", "value": f"{ds.get('target')} = {ds.get('positive_class')}"},
            {
                "item": "Share with the outcome",
                "value": f"{100 * (ds.get('prevalence') or 0):.1f} %",
            },
            {
                "item": "Training / test rows (per seed)",
                "value": f"{ds.get('n_train')} / {ds.get('n_test')}",
            },
            {
                "item": f"Model inputs ({len(ds.get('features') or [])})",
                "value": ", ".join(ds.get("features") or []),
            },
            {"item": "Attributes audited", "value": ", ".join(ds.get("attributes") or {})},
            {"item": "Rebalanced", "value": ", ".join(ds.get("rebalance") or [])},
            {"item": "Downstream model", "value": ds.get("classifier")},
            {"item": "Decision threshold", "value": f"{float(ds.get('threshold', 0.5)):.2f}"},
            {
                "item": "Value labels",
                "value": "; ".join(
                    f"{c}: " + ", ".join(f"{k} = {v}" for k, v in m.items())
                    for c, m in (ds.get("value_labels") or {}).items()
                )
                or "none",
            },
            {
                "item": "Merged groups",
                "value": "; ".join(
                    f"{c}: {', '.join(g)}" for c, g in (ds.get("merged_groups") or {}).items()
                )
                or "none",
            },
            {
                "item": "Repetitions (seeds)",
                "value": f"{len(ds.get('seeds') or [])} ({', '.join(map(str, ds.get('seeds') or []))})",
            },
            {
                "item": "Rows without a group value (kept for training, not a group)",
                "value": ", ".join(
                    f"{k}: {v}" for k, v in (ds.get("n_missing_group") or {}).items()
                ),
            },
        ]
    )
    sections.append(f'<h2 id="dataset">Dataset</h2>{_table(dataset_rows)}')
    sections.append(f'<h2 id="imbalance">Imbalance</h2>{_imbalance_section(results, fig)}')
    sections.append(
        '<h2 id="plan">Augmentation plan</h2><p>For each group × outcome cell: real training '
        "rows and the synthetic rows planned (the same plan feeds every strategy).</p>"
        + _table(results.plan)
    )
    sections.append(
        '<h2 id="fidelity">Synthetic data: fidelity and privacy</h2>'
        + _fidelity_section(results, fig, max_overlays)
    )
    findings = fairness_findings(results)
    if findings:
        items = "".join(f'<li class="{_esc(f.level)}">{_esc(f.text)}</li>' for f in findings)
        sections.append(
            '<h2 id="reading">How to read the fairness results</h2>'
            f'<div class="warn"><ul>{items}</ul></div>'
        )
    perf = ['<h2 id="metrics">Model performance by group</h2>']
    perf.append(
        "<p>Test patients are real and the same for every strategy. Intervals are 95 % "
        "bootstrap intervals over the test patients; Δ is the change against the baseline "
        "(paired). Small groups are flagged and not used in the fairness gaps.</p>"
    )
    perf.append("<h3>Overall</h3>" + _table(_metrics_table(results, "overall")))
    for attribute in attributes:
        perf.append(f"<h3>{_esc(attribute)}</h3>")
        if attribute == primary:
            for metric in metrics:
                perf.append(
                    fig(plots.metric_bars_by_group(results, metric=metric, attribute=attribute))
                )
        perf.append(_table(_metrics_table(results, attribute)))
    sections.append("".join(perf))
    disp = ['<h2 id="disparities">Fairness gaps before and after</h2>']
    for attribute in attributes:
        table = _disparity_table(results, attribute)
        if table.empty:
            continue
        disp.append(f"<h3>{_esc(attribute)}</h3>")
        if len(results.strategies) > 1:
            try:
                disp.append(fig(plots.disparity_before_after(results, attribute=attribute)))
            except ConfigError as exc:
                disp.append(f'<p class="muted">{_esc(exc)}</p>')
        disp.append(_table(table))
    sections.append("".join(disp))
    if results.warnings:
        items = "".join(f"<li>{_esc(w)}</li>" for w in results.warnings)
        sections.append(f'<h2 id="warnings">Warnings</h2><div class="warn"><ul>{items}</ul></div>')
    settings = json.dumps(
        {"settings": results.settings, "versions": results.versions, "timings_s": results.timings},
        indent=2,
        default=str,
        ensure_ascii=False,
    )
    sections.append(
        '<h2 id="reproduce">Settings and versions (to reproduce this run)</h2>'
        f"<pre>{_esc(settings)}</pre>"
    )
    nav = "".join(
        f'<a href="#{a}">{t}</a>'
        for a, t in (
            ("summary", "Summary"),
            ("dataset", "Dataset"),
            ("imbalance", "Imbalance"),
            ("plan", "Plan"),
            ("fidelity", "Synthetic data"),
            ("metrics", "Performance"),
            ("disparities", "Fairness"),
            ("reproduce", "Settings"),
        )
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_esc(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{_esc(title)}</h1>"
        f'<p class="muted">Generated {generated} by MCRAGE {_esc(results.versions.get("mcrage", ""))}. '
        f"Outcome: {_esc(ds.get('target'))}; primary attribute: {_esc(primary)}.</p>"
        f"<nav>{nav}</nav>{''.join(sections)}</body></html>\n"
    )
