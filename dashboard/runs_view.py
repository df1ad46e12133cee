"""How runs are named and listed: pick-list labels, rows of the past-runs table, status
badges. Plain functions of a :class:`~mcrage_core.jobs.RunRecord`."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from mcrage_core.presentation.format import fmt_duration, human_label

if TYPE_CHECKING:
    from mcrage_core.jobs import RunRecord

__all__ = ["run_label", "run_row", "status_badge"]

_BADGES = {
    "queued": ":orange[queued]",
    "running": ":blue[running]",
    "succeeded": ":green[succeeded]",
    "failed": ":red[failed]",
    "cancelled": ":gray[cancelled]",
}


def status_badge(status: str) -> str:
    """A run status as coloured markdown."""
    return _BADGES.get(status, status)


def run_label(record: RunRecord) -> str:
    """How a run is named in pick lists. It never changes during the run's life (no
    status in it): the browser keeps the chosen label as the widget's value, so a label
    that changed would leave a stale text, such as "running" for a finished run."""
    audit = record.params.get("audit") or {}
    when = time.strftime("%d %b %H:%M", time.localtime(record.created))
    parts = [
        when,
        str(record.params.get("table") or ""),
        str(audit.get("preset") or ""),
        ", ".join(str(c) for c in audit.get("rebalance") or []),
        record.id,
    ]
    return " · ".join(p for p in parts if p)


def run_row(record: RunRecord, *, owner: str, now: float) -> dict[str, Any]:
    """One row of the past-runs table (headers in plain language)."""
    audit = record.params.get("audit") or {}
    row = {
        "started": time.strftime("%Y-%m-%d %H:%M", time.localtime(record.created)),
        "status": record.status,
        "duration": fmt_duration(record.duration_at(now)),
        "table": str(record.params.get("table") or ""),
        "rebalance": ", ".join(str(c) for c in audit.get("rebalance") or []),
        "preset": str(audit.get("preset", "")),
        "shared": "yes" if record.shared else ("" if record.owner == owner else "with you"),
        "id": record.id,
        "error": _shorten(record.error or "", 90),
    }
    return {human_label(k): v for k, v in row.items()}


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
