"""Privacy a data steward can sign off: attacks on a synthetic table that say how much it
reveals about the real patients the generator was trained on.

Import from here (``from mcrage_core.privacy import membership_risk``). Modules:

* :mod:`.membership` - :func:`membership_risk`: can an attacker holding the synthetic
  rows tell training patients from other patients of the same population? A distance
  attack and a DOMIAS-style density-ratio attack, each read as a ROC AUC (0.5 = guessing)
  overall and per group, with bootstrap intervals.
* :mod:`.disclosure` - :func:`disclosure_risk`: knowing a training patient's
  quasi-identifiers, how much better does the synthetic table let an attacker guess a
  sensitive value than a real population sample does (SDMetrics' DisclosureProtection
  idea), overall and per group.

Both need three tables: the training rows, real hold-out rows the generator never saw,
and the synthetic rows. Each result has ``to_frame()``, ``summary()``, ``at_risk()`` and
``to_dict()`` (plain JSON types, for a sidecar file). The simpler checks (exact copies,
distance to closest record) live in :mod:`mcrage_core.fidelity.privacy`.

Examples
--------
>>> result = membership_risk(train, holdout, synthetic, by=["race", "sex"])  # doctest: +SKIP
>>> result.summary()["distance"]["auc"]  # doctest: +SKIP
0.51
"""

from __future__ import annotations

from mcrage_core.privacy.assess import (
    DEFAULT_THRESHOLDS,
    PrivacyAssessment,
    Reading,
    assess_privacy,
)
from mcrage_core.privacy.disclosure import (
    DISCLOSURE_THRESHOLDS,
    DisclosureResult,
    disclosure_risk,
)
from mcrage_core.privacy.membership import (
    ATTACKS,
    MEMBERSHIP_THRESHOLDS,
    MembershipResult,
    membership_risk,
)

__all__ = [
    "DEFAULT_THRESHOLDS",
    "PrivacyAssessment",
    "Reading",
    "assess_privacy",
    "ATTACKS",
    "DISCLOSURE_THRESHOLDS",
    "MEMBERSHIP_THRESHOLDS",
    "DisclosureResult",
    "MembershipResult",
    "disclosure_risk",
    "membership_risk",
]
