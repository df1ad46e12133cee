"""Plain readings of the synthetic-data scores: good / fair / poor for each score of a
fidelity report, with the thresholds stated in :data:`FIDELITY_THRESHOLDS` and a
sentence per score in :data:`FIDELITY_HELP`. Shared by the report, the CLI and the
dashboard so the wording cannot drift.

Examples
--------
>>> fidelity_verdict("detection_auc", 0.62)
'good'
>>> fidelity_verdict("column_shapes", 0.71)
'poor'
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, SupportsFloat

__all__ = ["FIDELITY_HELP", "FIDELITY_THRESHOLDS", "fidelity_verdict", "fidelity_verdicts"]

FIDELITY_THRESHOLDS: dict[str, tuple[str, float, float]] = {
    # metric: (direction, good bound, fair bound)
    "column_shapes": ("higher", 0.90, 0.80),
    "pair_trends": ("higher", 0.90, 0.80),
    "missingness": ("higher", 0.97, 0.90),
    "detection_auc": ("lower", 0.70, 0.85),
    "dcr_closer_to_train_share": ("lower", 0.60, 0.70),
    "exact_copies": ("lower", 0.0, 0.0),
}
FIDELITY_HELP: dict[str, str] = {
    "column_shapes": "each column's distribution (1 = identical); good ≥ 0.90, fair ≥ 0.80",
    "pair_trends": "relationships between pairs of columns (1 = identical); good ≥ 0.90, "
    "fair ≥ 0.80",
    "missingness": "missing-value rates (1 = identical); good ≥ 0.97, fair ≥ 0.90",
    "detection_auc": "how well a classifier tells synthetic from real, within each group "
    "(0.5 = indistinguishable, 1 = trivially fake); good ≤ 0.70, fair ≤ 0.85",
    "dcr_closer_to_train_share": "share of synthetic rows closer to a training patient than "
    "to a held-out one (0.5 = no sign of copying); good ≤ 0.60, fair ≤ 0.70",
    "exact_copies": "synthetic rows identical to a real patient (removed); good = 0",
}


def fidelity_verdict(metric: str, value: SupportsFloat | str | None) -> str | None:
    """``"good"``, ``"fair"`` or ``"poor"`` for one score (``None``: no verdict)."""
    if metric not in FIDELITY_THRESHOLDS or value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(v):
        return None
    direction, good, fair = FIDELITY_THRESHOLDS[metric]
    if direction == "higher":
        return "good" if v >= good else "fair" if v >= fair else "poor"
    return "good" if v <= good else "fair" if v <= fair else "poor"


def fidelity_verdicts(overall: Mapping[str, Any]) -> dict[str, str]:
    """Verdicts of every judged score in a fidelity report's ``overall`` dict."""
    out = {}
    for metric in FIDELITY_THRESHOLDS:
        verdict = fidelity_verdict(metric, overall.get(metric))
        if verdict is not None:
            out[metric] = verdict
    return out
