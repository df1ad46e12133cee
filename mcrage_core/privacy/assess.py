"""One privacy assessment of a synthetic table, for the dashboard's privacy panel, the
report, the synthetic files' sidecar and ``mcrage privacy``.

:func:`assess_privacy` gathers: the differential-privacy budget spent by the generator
(when it was trained with DP-SGD), exact copies of real rows, the distance-to-closest-
record share, membership-inference risk and attribute-disclosure risk, overall and per
group. :meth:`PrivacyAssessment.readings` turns each into a traffic light with one plain
sentence.

Traffic lights: *green* the number is within the "low" threshold; *amber* it is within
"moderate", **or** it is above but its interval still includes no risk (a small group:
the data cannot tell); *red* it is above "moderate" and the interval excludes no risk.
The thresholds are the user's to set (:data:`DEFAULT_THRESHOLDS`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from mcrage_core.errors import DataError
from mcrage_core.fidelity.columns import column_kinds
from mcrage_core.fidelity.privacy import copy_mask, dcr_share
from mcrage_core.privacy.disclosure import DISCLOSURE_THRESHOLDS, disclosure_risk
from mcrage_core.privacy.membership import MEMBERSHIP_THRESHOLDS, membership_risk
from mcrage_core.util.jsonable import to_jsonable

__all__ = ["DEFAULT_THRESHOLDS", "PrivacyAssessment", "Reading", "assess_privacy"]

DEFAULT_THRESHOLDS: dict[str, tuple[float, float]] = {
    "membership_auc": MEMBERSHIP_THRESHOLDS,
    "disclosure_risk": DISCLOSURE_THRESHOLDS,
    "dcr_share": (0.55, 0.60),
    "epsilon": (1.0, 10.0),
}
"""(green up to, amber up to) per measure; above the second is red."""


@dataclass(frozen=True)
class Reading:
    """One line of the privacy panel: a measure, its value, a light and a sentence."""

    measure: str
    scope: str
    value: float | None
    ci_low: float | None
    ci_high: float | None
    n: int | None
    light: str  # green | amber | red | grey
    sentence: str


@dataclass(frozen=True)
class PrivacyAssessment:
    """Result of :func:`assess_privacy` (see the module docstring)."""

    dp: dict[str, Any] | None
    exact_copies: int
    n_synthetic: int
    dcr_share: float
    membership: pd.DataFrame
    disclosure: pd.DataFrame | None
    thresholds: dict[str, tuple[float, float]] = field(
        default_factory=lambda: dict(DEFAULT_THRESHOLDS)
    )
    settings: dict[str, Any] = field(default_factory=dict)

    def readings(self) -> list[Reading]:
        """The traffic lights, overall first, then every group that is not green."""
        out = [self._dp_reading(), self._copies_reading(), self._dcr_reading()]
        out += _membership_readings(self.membership, self.thresholds["membership_auc"])
        if self.disclosure is not None:
            out += _disclosure_readings(self.disclosure, self.thresholds["disclosure_risk"])
        return out

    def worst_light(self) -> str:
        lights = [r.light for r in self.readings()]
        for light in ("red", "amber", "green"):
            if light in lights:
                return light
        return "grey"

    def readings_frame(self) -> pd.DataFrame:
        return pd.DataFrame([r.__dict__ for r in self.readings()])

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (for results.json and the synthetic files' sidecar)."""
        return to_jsonable(
            {
                "dp": self.dp,
                "exact_copies": self.exact_copies,
                "n_synthetic": self.n_synthetic,
                "dcr_share": self.dcr_share,
                "membership": self.membership,
                "disclosure": self.disclosure,
                "thresholds": {k: list(v) for k, v in self.thresholds.items()},
                "settings": self.settings,
                "worst": self.worst_light(),
                "readings": [r.__dict__ for r in self.readings()],
            }
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PrivacyAssessment:
        disclosure = data.get("disclosure")
        return cls(
            dp=data.get("dp"),
            exact_copies=int(data.get("exact_copies") or 0),
            n_synthetic=int(data.get("n_synthetic") or 0),
            dcr_share=_num(data.get("dcr_share")),
            membership=pd.DataFrame(data.get("membership") or []),
            disclosure=pd.DataFrame(disclosure) if disclosure is not None else None,
            thresholds={k: (v[0], v[1]) for k, v in (data.get("thresholds") or {}).items()}
            or dict(DEFAULT_THRESHOLDS),
            settings=dict(data.get("settings") or {}),
        )

    def _dp_reading(self) -> Reading:
        if not self.dp or self.dp.get("epsilon_spent") is None:
            return Reading(
                "differential privacy", "model", None, None, None, None, "grey",
                "The generator was trained without differential privacy: no formal bound on "
                "what it can reveal; rely on the measured risks below.",
            )  # fmt: skip
        eps = float(self.dp["epsilon_spent"])
        light = _light(eps, self.thresholds["epsilon"])
        delta = self.dp.get("delta")
        delta_text = f"{float(delta):.0e}" if delta is not None else "not recorded"
        return Reading(
            "differential privacy", "model", eps, None, None, None, light,
            f"Trained with differential privacy: ε = {eps:.2g} (δ = {delta_text}). Smaller ε "
            "means any one patient changes the generator less; ε ≤ 1 is strong, ε ≤ 10 is "
            "common in practice. It covers the network's weights only (see the report).",
        )  # fmt: skip

    def _copies_reading(self) -> Reading:
        if self.settings.get("copies_removed"):
            return Reading(
                "exact copies removed", "all", float(self.exact_copies), None, None,
                self.n_synthetic, "green" if self.exact_copies == 0 else "amber",
                f"{self.exact_copies} generated rows were identical to a real patient and were "
                "removed before anything was saved.",
            )  # fmt: skip
        return Reading(
            "exact copies", "all", float(self.exact_copies), None, None, self.n_synthetic,
            "green" if self.exact_copies == 0 else "red",
            f"{self.exact_copies} synthetic rows are identical to a real training patient"
            + (": remove them before sharing the file." if self.exact_copies else "."),
        )  # fmt: skip

    def _dcr_reading(self) -> Reading:
        value = self.dcr_share
        if math.isnan(value):
            return Reading("closer to training rows", "all", None, None, None, None, "grey",
                           "Not measured (too few hold-out rows).")  # fmt: skip
        return Reading(
            "closer to training rows", "all", value, None, None, self.n_synthetic,
            _light(value, self.thresholds["dcr_share"]),
            f"{value:.0%} of synthetic rows lie closer to a training patient than to an unseen "
            "one (50 % means no memorisation).",
        )  # fmt: skip


def _num(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _count(value: Any) -> int:
    number = _num(value)
    return 0 if math.isnan(number) else int(number)


def _light(value: float, bounds: tuple[float, float], *, certain: bool = True) -> str:
    if value <= bounds[0]:
        return "green"
    if value <= bounds[1] or not certain:
        return "amber"
    return "red"


def _scope(row: Any) -> tuple[bool, str]:
    """Whether a result row is the overall one, and who it is about."""
    overall = row.column == "(all)"
    return overall, "all" if overall else f"{row.column} = {row.group}"


def _shown_light(
    value: float, bounds: tuple[float, float], certain: bool, overall: bool
) -> str | None:
    """The row's light; ``None`` for a green group (only findings are listed per group)."""
    light = _light(value, bounds, certain=certain)
    return None if light == "green" and not overall else light


def _membership_readings(table: pd.DataFrame, bounds: tuple[float, float]) -> list[Reading]:
    out = []
    for row in table.itertuples(index=False):
        auc = _num(row.auc)
        overall, scope = _scope(row)
        n = _count(row.n_members) + _count(row.n_nonmembers)
        if math.isnan(auc):
            if overall:
                out.append(Reading(f"membership ({row.attack})", scope, None, None, None, n,
                                   "grey", "Not measured: too few rows.",))  # fmt: skip
            continue
        light = _shown_light(auc, bounds, bool(row.above_chance), overall)
        if light is None:
            continue
        lo, hi = _num(row.ci_low), _num(row.ci_high)
        sentence = (
            f"An attacker with the synthetic rows tells training patients"
            f"{'' if overall else f' ({scope})'} from unseen ones with AUC {auc:.2f} ({lo:.2f} to {hi:.2f}; 0.5 = "
            f"guessing; {n} patients)."
        )
        if light == "amber" and not bool(row.above_chance):
            sentence += " The interval includes guessing: too few patients to tell."
        out.append(Reading(f"membership ({row.attack})", scope, auc, lo, hi, n, light, sentence))
    return out


def _disclosure_readings(table: pd.DataFrame, bounds: tuple[float, float]) -> list[Reading]:
    out = []
    for row in table.itertuples(index=False):
        risk = _num(row.disclosure_risk)
        overall, scope = _scope(row)
        light = (
            None
            if math.isnan(risk)
            else _shown_light(risk, bounds, bool(row.above_baseline), overall)
        )
        if light is None:
            continue
        lo, hi = _num(row.ci_low), _num(row.ci_high)
        sentence = (
            f"Knowing a patient's quasi-identifiers, the synthetic rows let an attacker guess "
            f"the sensitive value right {row.synthetic_accuracy:.0%} of the time against "
            f"{row.baseline_accuracy:.0%} from real population data ({risk:+.2f}, {lo:+.2f} to "
            f"{hi:+.2f}; {_count(row.n_targets)} patients)."
        )
        if light == "amber" and not bool(row.above_baseline):
            sentence += " The interval includes no gain: too few patients to tell."
        out.append(Reading("attribute disclosure", scope, risk, lo, hi, _count(row.n_targets),
                           light, sentence))  # fmt: skip
    return out


def assess_privacy(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    *,
    by: Sequence[str] = (),
    quasi_identifiers: Sequence[str] = (),
    sensitive: str | None = None,
    dp: Mapping[str, Any] | None = None,
    exact_copies_removed: int | None = None,
    thresholds: Mapping[str, tuple[float, float]] | None = None,
    seed: int = 0,
    n_boot: int = 200,
) -> PrivacyAssessment:
    """Assess a synthetic table against the training rows and unseen real rows.

    Parameters
    ----------
    train, holdout, synthetic
        The generator's training rows, real rows it never saw, and its output.
    by
        Group columns (race, sex, age band) for per-group membership and disclosure.
    quasi_identifiers, sensitive
        What the disclosure attacker knows and what it tries to infer; without
        ``sensitive`` disclosure is not measured.
    dp
        The generator's differential-privacy record (``epsilon_spent``, ``delta`` ...).
    exact_copies_removed
        Copies already removed by the generator; counted here when ``None``.
    """
    columns = [c for c in synthetic.columns if c in train.columns and c in holdout.columns]
    if not columns:
        raise DataError("The synthetic, training and hold-out tables share no column.")
    bounds = dict(DEFAULT_THRESHOLDS)
    bounds.update(thresholds or {})
    kinds = column_kinds(train, columns)
    copies = exact_copies_removed
    if copies is None:
        copies = int(copy_mask(synthetic, train, columns).sum())
    dcr = dcr_share(train[columns], holdout[columns], synthetic[columns], kinds, seed=seed,
                    max_rows=5000)  # fmt: skip
    membership = membership_risk(
        train, holdout, synthetic, by=list(by), columns=columns, seed=seed, n_boot=n_boot,
        thresholds=bounds["membership_auc"],
    )  # fmt: skip
    disclosure = None
    if sensitive:
        quasi = list(dict.fromkeys([*quasi_identifiers] or [*by]))
        disclosure = disclosure_risk(
            train, holdout, synthetic, quasi_identifiers=quasi, sensitive=sensitive,
            by=list(by), seed=seed, n_boot=n_boot, thresholds=bounds["disclosure_risk"],
        ).to_frame()  # fmt: skip
    return PrivacyAssessment(
        dp=dict(dp) if dp else None,
        exact_copies=copies,
        n_synthetic=len(synthetic),
        dcr_share=float(dcr),
        membership=membership.to_frame(),
        disclosure=disclosure,
        thresholds=bounds,
        settings={
            "by": list(by),
            "quasi_identifiers": list(quasi_identifiers or by),
            "sensitive": sensitive,
            "n_train": len(train),
            "n_holdout": len(holdout),
            "seed": seed,
            "copies_removed": exact_copies_removed is not None,
        },
    )
