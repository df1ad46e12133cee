"""Jobs: the settings of a run, the registry of runs, the worker processes that run them.

Modules: :mod:`.settings` (RunSettings, THE contract for a run's choices and defaults),
:mod:`.records` (RunRecord, statuses, artefact names, why a run failed), :mod:`.store`
(the SQLite registry; :mod:`.ledger` its worker writes, :mod:`.liveness` heartbeats and
hung workers, :mod:`.journal` its journal mode), :mod:`.launcher` (RunRegistry: starting, watching, cancelling and
resuming workers), :mod:`.sessions` (a browser session's saved table), :mod:`.execute`
(run_settings: what the worker and ``mcrage audit`` both run) and :mod:`.worker` (the
background process). Import from here: ``from mcrage_core.jobs import RunRegistry,
RunSettings``.
"""

from __future__ import annotations

from mcrage_core.jobs.journal import JournalChoice, choose_journal
from mcrage_core.jobs.launcher import RunRegistry
from mcrage_core.jobs.liveness import Limits
from mcrage_core.jobs.records import (
    ACTIVE_STATUSES,
    ARTEFACT_FILES,
    DEAD_WORKER_REASON,
    FINAL_STATUSES,
    RETRYABLE_ERROR_KINDS,
    ArtefactName,
    ErrorKind,
    RunKind,
    RunRecord,
    RunStatus,
    classify_failure,
    default_home,
)
from mcrage_core.jobs.sessions import SavedSession, SessionStore
from mcrage_core.jobs.settings import DEFAULTS, EVALUATIONS, RunPreset, RunSettings
from mcrage_core.jobs.store import RunStore

__all__ = [
    "ACTIVE_STATUSES",
    "ARTEFACT_FILES",
    "DEAD_WORKER_REASON",
    "DEFAULTS",
    "EVALUATIONS",
    "FINAL_STATUSES",
    "RETRYABLE_ERROR_KINDS",
    "ArtefactName",
    "ErrorKind",
    "JournalChoice",
    "Limits",
    "RunKind",
    "RunPreset",
    "RunRecord",
    "RunRegistry",
    "RunSettings",
    "RunStatus",
    "RunStore",
    "SavedSession",
    "SessionStore",
    "choose_journal",
    "classify_failure",
    "default_home",
]
