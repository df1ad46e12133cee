"""The privacy panel's words and table, shared by the dashboard and the report: what the
ε covers, a traffic light per finding, and a plain sentence each
(:class:`mcrage_core.privacy.PrivacyAssessment` holds the numbers)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import pandas as pd

from mcrage_core.diffusion.private import DP_COVERS, DP_DOES_NOT_COVER
from mcrage_core.privacy import DEFAULT_THRESHOLDS, PrivacyAssessment

__all__ = [
    "DP_SCOPE",
    "dp_scope",
    "LIGHT_LABELS",
    "PRIVACY_INTRO",
    "privacy_assessment",
    "privacy_headline",
    "privacy_table",
]

LIGHT_LABELS = {"green": "low", "amber": "check", "red": "high", "grey": "not measured"}
"""The traffic light in words (the dashboard colours the cell; no emoji font needed)."""

PRIVACY_INTRO = (
    "How much the synthetic rows reveal about the real patients the generator learnt from. "
    "Membership: an attacker holding the synthetic rows tries to tell the generator's "
    "training patients from real patients it never saw (AUC 0.5 = guessing, 1 = certain). "
    "Attribute disclosure: knowing a training patient's race, sex and age band, the attacker "
    "guesses the outcome from the synthetic rows, compared with guessing it from real "
    "population data (0 = no gain). Small groups carry the most risk and the widest "
    "intervals; an amber light with an interval that includes no risk means the data "
    "cannot tell."
)

DP_SCOPE = f"{DP_COVERS} {DP_DOES_NOT_COVER}"
"""What ε covers and does not (the diffusion package's own statements)."""


def dp_scope(dp: Mapping[str, Any] | None) -> str:
    """What the run's ε covers and does not, in the model's own words when it has them."""
    if dp and dp.get("covers") and dp.get("does_not_cover"):
        return f"{dp['covers']} {dp['does_not_cover']}"
    return DP_SCOPE  # a model saved before it stated its scope


def privacy_assessment(
    fidelity: Mapping[str, Any] | None,
    thresholds: Mapping[str, tuple[float, float]] | None = None,
) -> PrivacyAssessment | None:
    """The run's assessment (``results.fidelity["privacy"]``), re-read with the user's
    thresholds; ``None`` for runs without synthetic rows or made before it was measured."""
    data = (fidelity or {}).get("privacy")
    if not isinstance(data, Mapping):
        return None
    found = PrivacyAssessment.from_dict(data)
    if not thresholds:
        return found
    return replace(found, thresholds={**(found.thresholds or DEFAULT_THRESHOLDS), **thresholds})


def privacy_table(assessment: PrivacyAssessment) -> pd.DataFrame:
    """One row per finding: Risk, What, Who, Value, Interval, Patients, Reading."""
    rows = []
    for r in assessment.readings():
        interval = (
            f"{r.ci_low:.2f} to {r.ci_high:.2f}"
            if r.ci_low is not None and r.ci_high is not None
            else ""
        )
        value = _value(r.measure, r.value)
        rows.append(
            {
                "Risk": LIGHT_LABELS.get(r.light, r.light),
                "What": r.measure,
                "Who": "everyone" if r.scope in ("all", "model") else r.scope,
                "Value": value,
                "Interval (95 %)": interval,
                "Patients": "" if r.n is None else f"{r.n:,}",
                "Reading": r.sentence,
            }
        )
    return pd.DataFrame(rows)


def _value(measure: str, value: float | None) -> str:
    if value is None:
        return ""
    if measure.startswith("exact copies"):
        return f"{int(value):,}"
    if measure == "attribute disclosure":
        return f"{value:+.3f}"
    if measure == "differential privacy":
        return f"ε = {value:.2f}"
    return f"{value:.3f}"


def privacy_headline(assessment: PrivacyAssessment) -> str:
    """One sentence: the worst light and where it is."""
    readings = assessment.readings()
    worst = assessment.worst_light()
    flagged = [r for r in readings if r.light == worst and worst in ("red", "amber")]
    if worst == "red":
        where = "; ".join(sorted({f"{r.measure} ({r.scope})" for r in flagged}))
        return f"High privacy risk found: {where}. Do not share the synthetic file as it is."
    if worst == "amber":
        where = "; ".join(sorted({f"{r.measure} ({r.scope})" for r in flagged}))
        return f"No high risk, but check: {where}."
    return "Every measured privacy risk is low at the thresholds set."
