"""Plain readings of the numbers, shared by the report, the CLI and the dashboard.

* :func:`fairness_findings` — what a reviewer must know before reading a fairness
  table: when real outcome rates differ between groups (so demographic parity is
  *expected* to differ and error-rate balance is the better yardstick), when the model
  is close to trivial (predicts almost nobody positive, so parity "passes" for the
  wrong reason), when the outcome is rare, which decision threshold was used, and why
  the threshold optimizer's AUROC is lower.

The verdicts on synthetic-data scores (good / fair / poor) live with the scores, in
:mod:`mcrage_core.fidelity.verdicts`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from mcrage_core.evaluation.results import AuditResults

__all__ = [
    "Finding",
    "fairness_findings",
    "parity_expected_to_differ",
    "four_fifths_text",
    "BASE_RATE_GAP",
    "RARE_OUTCOME",
]

BASE_RATE_GAP = 0.10
"""Real outcome rates of two judged groups further apart than this (absolute) make
demographic parity the wrong yardstick."""
RARE_OUTCOME = 0.10
"""An outcome with a lower share of positives is called rare."""

Level = Literal["info", "warning"]


@dataclass(frozen=True)
class Finding:
    """One plain sentence for reviewers; ``code`` is stable for tests and styling."""

    code: str
    level: Level
    text: str
    attribute: str | None = None


def _rows(results: AuditResults, strategy: str, attribute: str, metric: str) -> pd.DataFrame:
    m = results.metrics
    return m[(m["strategy"] == strategy) & (m["attribute"] == attribute) & (m["metric"] == metric)]


def _value(results: AuditResults, strategy: str, attribute: str, group: str, metric: str) -> float:
    rows = _rows(results, strategy, attribute, metric)
    rows = rows[rows["group"].astype(str) == str(group)]
    return float(rows["value"].iloc[0]) if len(rows) else math.nan


def base_rate_range(
    results: AuditResults, attribute: str
) -> tuple[str, float, str, float, int, int] | None:
    """(lowest group, rate, highest group, rate, n low, n high) of the real outcome rate
    among the judged groups of ``attribute`` (all real rows with an outcome), or ``None``."""
    rates = (results.dataset.get("base_rates") or {}).get(attribute) or {}
    m = results.metrics
    sel = m[(m["attribute"] == attribute) & (m["strategy"] == "none") & m["small"]]
    small = set(sel["group"].astype(str))
    judged = {g: r for g, r in rates.items() if g not in small and r.get("n", 0) > 0}
    if len(judged) < 2:
        return None
    lo = min(judged, key=lambda g: judged[g]["rate"])
    hi = max(judged, key=lambda g: judged[g]["rate"])
    return (
        lo,
        float(judged[lo]["rate"]),
        hi,
        float(judged[hi]["rate"]),
        int(judged[lo]["n"]),
        int(judged[hi]["n"]),
    )


def parity_expected_to_differ(results: AuditResults, attribute: str) -> bool:
    """Whether real outcome rates differ between judged groups, materially (by more than
    :data:`BASE_RATE_GAP`, or a ratio below 0.8 with at least 5 points apart) and clearly
    (two-proportion z-test at the 5 % level), so that demographic parity is expected to
    differ even for a model that is equally accurate for everyone."""
    rng = base_rate_range(results, attribute)
    if rng is None:
        return False
    _, lo, _, hi, n_lo, n_hi = rng
    material = (hi - lo) > BASE_RATE_GAP or (hi > 0 and lo / hi < 0.8 and hi - lo >= 0.05)
    pooled = (lo * n_lo + hi * n_hi) / max(n_lo + n_hi, 1)
    se = math.sqrt(max(pooled * (1 - pooled) * (1 / max(n_lo, 1) + 1 / max(n_hi, 1)), 1e-12))
    return bool(material and (hi - lo) / se > 1.96)


def four_fifths_text(results: AuditResults, strategy: str, attribute: str) -> str:
    """The 80 % rule reading, with the caveat when real outcome rates differ."""
    ff = results.four_fifths(strategy, attribute)
    if ff is None:
        return "–"
    text = "met" if ff else "not met"
    if parity_expected_to_differ(results, attribute):
        text += " (outcome rates differ: not a fairness verdict)"
    return text


def fairness_findings(results: AuditResults) -> list[Finding]:
    """Sentences a reviewer needs next to the fairness tables (see the module doc)."""
    out = [_threshold_finding(results)]
    out += _leak_findings(results)
    out += _base_rate_findings(results)
    out += _rare_outcome_findings(results)
    out += _trivial_model_findings(results)
    out += _threshold_auroc_findings(results)
    return out


def _threshold_finding(results: AuditResults) -> Finding:
    ds = results.dataset
    threshold = float(ds.get("threshold", 0.5))
    outcome = f"{ds.get('target')} = {ds.get('positive_class')}"
    return Finding(
        "threshold",
        "info",
        f"A patient is predicted positive ({outcome}) when the model's probability is at "
        f"least {threshold:.2f}. Accuracy, F1, selection rate, TPR, FPR and every parity "
        "metric depend on this threshold; AUROC and PR-AUC do not.",
    )


def _leak_findings(results: AuditResults) -> list[Finding]:
    leaks = results.dataset.get("leaky_columns") or {}
    if not leaks:
        return []
    return [
        Finding(
            "outcome_leak",
            "warning",
            "Column(s) "
            + ", ".join(f"{c} (AUROC {float(a):.2f} on its own)" for c, a in leaks.items())
            + " almost perfectly predict the outcome, so the models may be reading the "
            "answer rather than learning it (for example a follow-up time or a later test "
            "result). Keep such columns out of modelling on the Data page (or with the "
            "schema's exclude) and run the audit again.",
        )
    ]


def _base_rate_findings(results: AuditResults) -> list[Finding]:
    out = []
    attributes = [a for a in dict.fromkeys(results.metrics["attribute"]) if a != "overall"]
    for attr in attributes:
        rng = base_rate_range(results, attr)
        if rng is None or not parity_expected_to_differ(results, attr):
            continue
        lo_g, lo, hi_g, hi, _, _ = rng
        out.append(
            Finding(
                "base_rates_differ",
                "warning",
                f"{attr}: real outcome rates differ between groups, from {100 * lo:.0f} % "
                f"({lo_g}) to {100 * hi:.0f} % ({hi_g}). A model that is equally accurate for "
                "everyone will still flag these groups at different rates, so demographic "
                "parity and the 80 % rule are expected to differ and are not a verdict of "
                "unfairness here. Judge by equalized odds (are true- and false-positive rates "
                "alike across groups?) and by per-group F1 and AUROC.",
                attribute=attr,
            )
        )
    return out


def _prevalence(results: AuditResults) -> float:
    return float(results.dataset.get("prevalence") or math.nan)


def _rare_outcome_findings(results: AuditResults) -> list[Finding]:
    prevalence = _prevalence(results)
    if not (np.isfinite(prevalence) and prevalence < RARE_OUTCOME):
        return []
    pr = _value(results, "none", "overall", "all", "pr_auc")
    return [
        Finding(
            "rare_outcome",
            "warning",
            f"The outcome is rare ({100 * prevalence:.1f} % of patients). Accuracy is "
            f"dominated by the negatives (predicting nobody positive scores "
            f"{1 - prevalence:.2f}); read balanced accuracy and PR-AUC instead "
            f"(PR-AUC of a random model = {prevalence:.2f}"
            + (f"; baseline {pr:.2f})." if np.isfinite(pr) else ")."),
        )
    ]


def _trivial_model_findings(results: AuditResults) -> list[Finding]:
    out = []
    prevalence = _prevalence(results)
    for strategy in results.strategies:
        acc = _value(results, strategy, "overall", "all", "accuracy")
        sel = _value(results, strategy, "overall", "all", "selection_rate")
        bal = _value(results, strategy, "overall", "all", "balanced_accuracy")
        f1 = _value(results, strategy, "overall", "all", "f1")
        if not np.isfinite(prevalence) or not np.isfinite(sel):
            continue
        all_negative = 1 - prevalence
        trivial = sel < prevalence / 4 or (np.isfinite(bal) and bal < 0.55)
        if not trivial:
            continue
        label = (results.dataset.get("strategy_labels") or {}).get(strategy, strategy)
        out.append(
            Finding(
                "near_trivial_model",
                "warning",
                f"{label}: the model is close to trivial: it flags {100 * sel:.1f} % of patients "
                f"although {100 * prevalence:.1f} % have the outcome (F1 {f1:.2f}, balanced "
                f"accuracy {bal:.2f}; accuracy {acc:.2f} against {all_negative:.2f} for "
                "predicting nobody positive). Parity metrics look good when almost nobody is "
                "flagged, so a 'pass' says little; consider a lower decision threshold or "
                "rebalancing the outcome.",
            )
        )
    return out


def _threshold_auroc_findings(results: AuditResults) -> list[Finding]:
    if "threshold" not in results.strategies:
        return []
    base = _value(results, "none", "overall", "all", "auroc")
    thr = _value(results, "threshold", "overall", "all", "auroc")
    if not (np.isfinite(base) and np.isfinite(thr) and base - thr >= 0.005):
        return []
    return [
        Finding(
            "threshold_auroc",
            "info",
            "Threshold optimizer: its AUROC and PR-AUC are computed from its yes/no "
            "decisions (the probability of a positive decision for the patient's "
            "group), not from a risk score, so they are lower by construction "
            f"({thr:.2f} against {base:.2f} for the baseline). Compare it on F1, "
            "TPR and FPR.",
        )
    ]
