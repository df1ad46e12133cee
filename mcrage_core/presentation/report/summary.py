"""A few plain sentences on an audit for a review meeting (the report's summary, the
CLI's closing words and the dashboard's "What changed")."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mcrage_core.evaluation.results import FOUR_FIFTHS
from mcrage_core.evaluation.verdicts import (
    fairness_findings,
    four_fifths_text,
    parity_expected_to_differ,
)
from mcrage_core.presentation.tables import strategy_label

if TYPE_CHECKING:
    from mcrage_core.evaluation.results import AuditResults

__all__ = ["plain_summary", "NOTHING_TO_SUMMARISE"]

NOTHING_TO_SUMMARISE = "No results to summarise yet."


def _baseline_sentences(results: AuditResults, attr: str) -> list[str]:
    """How the baseline did overall and across the groups of ``attr``."""
    m = results.metrics
    parts: list[str] = []
    overall = results.overall("none") if "none" in results.strategies else {}
    if overall:
        ds = results.dataset
        tested = (
            f"all {ds.get('n_rows_used', ds.get('n_test')):,} real patients, each scored by a "
            f"model that never saw it ({ds.get('folds')}-fold cross-validation)"
            if int(ds.get("folds") or 1) > 1
            else f"{ds.get('n_test'):,} held-out real patients"
        )
        parts.append(
            f"On {tested}, the baseline "
            f"{results.dataset.get('classifier', 'model')} reached an F1 score of "
            f"{overall.get('f1', float('nan')):.2f} and an AUROC of "
            f"{overall.get('auroc', float('nan')):.2f}."
        )
    base = m[(m["strategy"] == "none") & (m["attribute"] == attr) & (m["metric"] == "f1")]
    base = base[~base["small"].astype(bool)]
    if len(base) == 1:
        only = base.iloc[0]
        parts.append(
            f"By {attr}, only {only['group']} (n={int(only['n'])}) has enough test patients to "
            f"be judged on its own: F1 {only['value']:.2f}."
        )
    elif len(base) > 1 and np.isfinite(values := base["value"].to_numpy(float)).any():
        worst = base.iloc[int(np.nanargmin(values))]
        best = base.iloc[int(np.nanargmax(values))]
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
    small = m[(m["attribute"] == attr) & m["small"].astype(bool) & (m["strategy"] == "none")]
    if len(small):
        groups = ", ".join(sorted(set(small["group"].astype(str))))
        parts.append(
            f"Group(s) {groups} have too few test patients to judge and were left out of the "
            "fairness gaps."
        )
    return parts


def _change_phrase(rows: pd.DataFrame, name: str, *, better_up: bool) -> str | None:
    """How a strategy changed one fairness measure; a change is called clear only when
    its 95 % interval excludes zero."""
    if rows.empty or not np.isfinite(rows["delta"].iloc[0]):
        return None
    r = rows.iloc[0]
    clear = np.isfinite(r["delta_ci_low"]) and (r["delta_ci_low"] > 0 or r["delta_ci_high"] < 0)
    if not clear:
        return f"did not clearly change the {name} ({r['delta']:+.3f})"
    improved = (r["delta"] > 0) == better_up
    return f"{'improved' if improved else 'worsened'} the {name} by {abs(r['delta']):.3f}"


def _strategy_sentences(results: AuditResults, attr: str, strategy: str) -> list[str]:
    """What one strategy changed for the groups of ``attr``, and its 80 % rule reading."""
    d = results.disparity
    sel = d[(d["strategy"] == strategy) & (d["attribute"] == attr)]
    if sel.empty:
        return []
    parts: list[str] = []
    label = strategy_label(results, strategy)
    bits = [
        phrase
        for metric, name, better_up in (
            ("worst_group_f1", "worst-group F1", True),
            ("equalized_odds_difference", "equalized odds gap", False),
        )
        if (phrase := _change_phrase(sel[sel["metric"] == metric], name, better_up=better_up))
    ]
    if bits:
        parts.append(f"{label} {' and '.join(bits)}.")
    if results.four_fifths(strategy, attr) is False and not parity_expected_to_differ(
        results, attr
    ):
        parts.append(
            f"With {label}, the demographic parity ratio is below {FOUR_FIFTHS:.0%} "
            f"(four-fifths rule {four_fifths_text(results, strategy, attr)})."
        )
    return parts


def plain_summary(results: AuditResults) -> str:
    """A few plain sentences for a review meeting: what changed, for whom.

    Changes are called clear only when their 95 % interval (paired bootstrap over the
    test patients) excludes zero.
    """
    attr = results.primary_attribute or ""
    parts = _baseline_sentences(results, attr)
    for strategy in results.strategies:
        if strategy != "none":
            parts += _strategy_sentences(results, attr, strategy)
    if not parts:
        return NOTHING_TO_SUMMARISE
    parts += [f.text for f in fairness_findings(results) if f.level == "warning"]
    return " ".join(parts)
