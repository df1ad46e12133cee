"""Two finished audits side by side: what differs in their settings, their verdicts per
group, and their per-group numbers (each with its group size and interval).

The two runs may have tested different rows (another table, other folds), so the
difference B − A of a per-group number has no paired interval; the table says whether
the runs tested the same real rows.

>>> frame = compare_verdicts(run_a, run_b, label_a="quick", label_b="standard")  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mcrage_core.evaluation.results import METRIC_LABELS
from mcrage_core.presentation.format import fmt_count, fmt_estimate, fmt_group
from mcrage_core.presentation.tables import strategy_label
from mcrage_core.tables import sort_rows_by_group

if TYPE_CHECKING:
    from mcrage_core.evaluation.results import AuditResults

__all__ = [
    "SETTING_NAMES",
    "compare_metrics",
    "compare_verdicts",
    "differences_in_settings",
    "describe_run",
    "same_test_rows",
]

SETTING_NAMES: dict[str, str] = {
    "cddpm_preset": "diffusion model preset",
    "plan_mode": "plan",
    "plan_share": "plan share",
    "plan_worst": "targeted groups",
    "plan_metric": "targeting metric",
    "max_synthetic_ratio": "cap on synthetic rows per real row",
    "folds": "cross-validation folds",
    "seeds": "repeats",
    "classifier": "downstream model",
    "threshold": "decision threshold",
    "strategies": "strategies",
    "rebalance": "rebalanced columns",
    "sensitive": "sensitive columns",
    "target": "outcome",
    "min_cell_rows": "smallest cell the generator may learn from",
    "merge_below": "merge groups below",
    "balance_outcome": "balance outcomes within groups",
    "sampling_steps": "sampling steps",
    "cddpm_config": "custom diffusion settings",
}


def describe_run(results: AuditResults) -> dict[str, Any]:
    """A few facts that tell two runs apart."""
    ds, st = results.dataset, results.settings
    return {
        "rows": ds.get("n_rows_used"),
        "outcome": f"{ds.get('target')} = {ds.get('positive_class')}",
        "rebalanced": results.primary_attribute,
        "strategies": ", ".join(strategy_label(results, s) for s in results.strategies),
        "downstream model": ds.get("classifier"),
        "diffusion preset": st.get("cddpm_preset"),
        "plan": st.get("plan_mode"),
        "evaluation": ds.get("evaluation") or "one hold-out split",
        "verdicts": int(len(results.verdicts)),
    }


def _plain(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value)) or "none"
    return str(value)


def differences_in_settings(a: AuditResults, b: AuditResults, *, label_a: str = "A",
                            label_b: str = "B") -> list[str]:  # fmt: skip
    """Plain sentences on the settings that differ (so a reviewer sees why the runs
    differ), and whether the runs tested the same real rows."""
    out = []
    for key in sorted(set(a.settings) | set(b.settings)):
        va, vb = a.settings.get(key), b.settings.get(key)
        if va == vb or key in ("base_seed", "threads", "device"):
            continue
        name = SETTING_NAMES.get(key, key.replace("_", " "))
        out.append(f"{name}: {_plain(va)} in {label_a}, {_plain(vb)} in {label_b}")
    if a.dataset.get("n_rows_used") != b.dataset.get("n_rows_used"):
        out.append(
            f"table: {fmt_count(a.dataset.get('n_rows_used'))} rows in {label_a}, "
            f"{fmt_count(b.dataset.get('n_rows_used'))} in {label_b}"
        )
    return out


def same_test_rows(a: AuditResults, b: AuditResults) -> bool:
    """Whether the two runs tested exactly the same real rows in the same folds."""
    return bool(a.test_index) and a.test_index == b.test_index


def compare_verdicts(
    a: AuditResults,
    b: AuditResults,
    *,
    label_a: str = "Run A",
    label_b: str = "Run B",
    attribute: str | None = None,
    metric: str | None = None,
) -> pd.DataFrame:
    """The verdicts of the two runs side by side, per strategy × attribute × group ×
    metric: each run's change with its interval and n, its verdict, and ``Agree``."""
    keys = ["strategy", "attribute", "group", "metric"]
    va, vb = a.verdicts, b.verdicts
    if attribute is not None:
        va, vb = va[va["attribute"] == attribute], vb[vb["attribute"] == attribute]
    if metric is not None:
        va, vb = va[va["metric"] == metric], vb[vb["metric"] == metric]
    both = va.merge(vb, on=keys, how="outer", suffixes=("_a", "_b"))
    rows = []
    for _, r in sort_rows_by_group(both, ["attribute", "group"]).iterrows():
        results = a if isinstance(r.get("verdict_a"), str) else b
        row = {
            "Strategy": strategy_label(results, str(r["strategy"])),
            "Attribute": r["attribute"],
            "Group": fmt_group(r["group"]),
            "Metric": METRIC_LABELS.get(str(r["metric"]), r["metric"]),
        }
        for side, label in (("a", label_a), ("b", label_b)):
            verdict = r.get(f"verdict_{side}")
            if not isinstance(verdict, str):
                row[f"{label}: change (95 % CI), n"] = "not judged"
                row[f"{label}: verdict"] = "—"
                continue
            change = fmt_estimate(r[f"delta_{side}"], r[f"ci_low_{side}"], r[f"ci_high_{side}"],
                                  signed=True)  # fmt: skip
            row[f"{label}: change (95 % CI), n"] = f"{change}, n = {fmt_count(r[f'n_{side}'])}"
            row[f"{label}: verdict"] = verdict
        row["Agree"] = "yes" if row[f"{label_a}: verdict"] == row[f"{label_b}: verdict"] else "no"
        rows.append(row)
    return pd.DataFrame(rows)


def _metric_rows(results: AuditResults, attribute: str, metric: str) -> pd.DataFrame:
    m = results.metrics
    return m[(m["attribute"] == attribute) & (m["metric"] == metric)]


def compare_metrics(
    a: AuditResults,
    b: AuditResults,
    *,
    attribute: str,
    metric: str,
    label_a: str = "Run A",
    label_b: str = "Run B",
) -> pd.DataFrame:
    """Per strategy and group: the value (95 % CI) and n in each run and the difference
    B − A (unpaired: the runs may have tested different rows)."""
    keys = ["strategy", "group"]
    cols = [*keys, "value", "ci_low", "ci_high", "n"]
    ma, mb = _metric_rows(a, attribute, metric)[cols], _metric_rows(b, attribute, metric)[cols]
    both = ma.merge(mb, on=keys, how="outer", suffixes=("_a", "_b"))
    rows = []
    for _, r in sort_rows_by_group(both, ["group"]).iterrows():
        results = a if np.isfinite(r.get("value_a", np.nan)) else b
        diff = r.get("value_b", np.nan) - r.get("value_a", np.nan)
        rows.append(
            {
                "Strategy": strategy_label(results, str(r["strategy"])),
                "Group": fmt_group(r["group"]),
                f"{label_a} (95 % CI), n": _value(r, "a"),
                f"{label_b} (95 % CI), n": _value(r, "b"),
                f"{label_b} − {label_a}": "—" if not np.isfinite(diff) else f"{diff:+.3f}",
            }
        )
    return pd.DataFrame(rows)


def _value(r: pd.Series, side: str) -> str:
    value = r.get(f"value_{side}", np.nan)
    if not np.isfinite(value):
        return "not in this run"
    est = fmt_estimate(value, r[f"ci_low_{side}"], r[f"ci_high_{side}"])
    return f"{est}, n = {fmt_count(r[f'n_{side}'])}"
