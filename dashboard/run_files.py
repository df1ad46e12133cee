"""A finished run's files, read for the Compare, Results and Report pages: its results
(memoised per run), its CSV artefacts, its sidecar, and why it has no synthetic rows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import streamlit as st

from dashboard import state
from dashboard.messages import user_errors
from mcrage_core.evaluation import AuditResults
from mcrage_core.presentation.format import fmt_count
from mcrage_core.tables import PRIVACY_FILE, SIDECAR_FILE

if TYPE_CHECKING:
    from mcrage_core.jobs import ArtefactName, RunRecord

__all__ = [
    "load_results",
    "load_run_csv",
    "run_file",
    "run_sidecar",
    "why_no_synthetic_rows",
]


def load_results(record: RunRecord) -> AuditResults:
    """The run's :class:`~mcrage_core.evaluation.AuditResults` (memoised per run)."""
    path = record.artefact("results")
    if path is None:
        st.error("This run has no results file; it may have been deleted. Start a new run.")
        st.stop()
    key = (record.id, path.stat().st_mtime_ns)
    with user_errors():
        return state.memo(
            "results", key, lambda: AuditResults.from_json(path.read_text(encoding="utf-8"))
        )


def load_run_csv(record: RunRecord, name: ArtefactName) -> pd.DataFrame | None:
    """A CSV artefact of a run (``synthetic`` or ``augmented``), memoised per run."""
    path = record.artefact(name)
    if path is None:
        return None
    key = (record.id, path.stat().st_mtime_ns)
    with user_errors():
        return state.memo(f"csv_{name}", key, lambda: pd.read_csv(path, low_memory=False))


_SIDECARS = {"columns": SIDECAR_FILE, "privacy": PRIVACY_FILE}


def run_file(record: RunRecord, name: str) -> Path | None:
    """A run artefact by name: the registry's names (``synthetic``, ``report`` ...),
    ``columns`` or ``privacy``, the synthetic files' sidecars (``synthetic.columns.json``,
    ``synthetic.privacy.json``)."""
    if name in _SIDECARS:
        path = Path(record.run_dir) / _SIDECARS[name]
        return path if path.is_file() else None
    return record.artefact(name)  # type: ignore[arg-type]


def run_sidecar(record: RunRecord) -> dict[str, Any]:
    """The run's ``synthetic.columns.json`` (``{}`` when absent or unreadable)."""
    path = run_file(record, "columns")
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def why_no_synthetic_rows(record: RunRecord, results: AuditResults) -> str:
    """What actually happened when a finished run has no synthetic rows: MCRAGE was not
    among the strategies, the plan asked for none, the privacy guardrail skipped every
    cell (named), or MCRAGE refused (its notes)."""
    again = "Start a run with other settings on the Train page to compare."
    if "cddpm" not in results.strategies:
        chosen = ", ".join(
            (results.dataset.get("strategy_labels") or {}).get(s, s) for s in results.strategies
        )
        return (
            f"This run produced no synthetic rows: MCRAGE (CDDPM) was not among its strategies "
            f"({chosen}). To compare real and synthetic rows, start a run with it on the Train "
            "page (Advanced, Strategies to compare)."
        )
    side = run_sidecar(record)
    blocked = [b for b in side.get("blocked_cells") or [] if isinstance(b, dict)]
    if side.get("planned_rows") == 0:
        return (
            "This run produced no synthetic rows: the plan asked for none (the groups it "
            f"rebalances are already as large as the largest one). {again}"
        )
    if blocked and not side.get("planned_rows_after_guardrail"):
        min_rows = (results.settings or {}).get("min_cell_rows", 20)
        return (
            "This run produced no synthetic rows: the privacy guardrail skipped every cell of "
            f"the plan, because each has fewer than {min_rows} real training rows: "
            f"{_blocked_cells(blocked)}. Merge small groups (Data page), rebalance a larger "
            "attribute, or lower the limit or allow small cells (Train page, Advanced; a "
            "privacy risk)."
        )
    notes = list((results.strategy_notes or {}).get("cddpm") or [])
    if notes:
        return "MCRAGE generated no synthetic rows in this run: " + " ".join(notes)
    return (
        "MCRAGE generated no synthetic rows in this run, and the run recorded no reason; its "
        f"worker.log has the details. {again}"
    )


_NOT_GROUPS = ("n_real", "n_add", "blocked", "capped", "reason")


def _blocked_cells(blocked: list[dict[str, Any]]) -> str:
    return "; ".join(
        ", ".join(f"{k} = {v}" for k, v in cell.items() if k not in _NOT_GROUPS)
        + f" ({fmt_count(cell.get('n_real'))} real training rows, "
        f"{fmt_count(cell.get('n_add'))} planned)"
        for cell in blocked
    )
