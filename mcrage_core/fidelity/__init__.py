"""Fidelity: how close a synthetic table is to the real one, and how private.

Import from here (``from mcrage_core.fidelity import evaluate_fidelity``). Modules:
:mod:`.report` (:func:`evaluate_fidelity`, :class:`FidelityReport`), :mod:`.columns`
(column shapes, pair trends), :mod:`.detection` (real-vs-synthetic classifier),
:mod:`.privacy` (exact copies, distance to closest record), :mod:`.verdicts` (good /
fair / poor). Depends only on :mod:`mcrage_core.tables`' layer and below.
"""

from __future__ import annotations

from mcrage_core.fidelity.columns import ColumnKinds, column_kinds
from mcrage_core.fidelity.privacy import copy_mask, drop_exact_copies, row_hashes
from mcrage_core.fidelity.report import FidelityReport, evaluate_fidelity
from mcrage_core.fidelity.verdicts import (
    FIDELITY_HELP,
    FIDELITY_THRESHOLDS,
    fidelity_verdict,
    fidelity_verdicts,
)

__all__ = [
    "FIDELITY_HELP",
    "FIDELITY_THRESHOLDS",
    "ColumnKinds",
    "FidelityReport",
    "column_kinds",
    "copy_mask",
    "drop_exact_copies",
    "evaluate_fidelity",
    "fidelity_verdict",
    "fidelity_verdicts",
    "row_hashes",
]
