"""Library calls on the session's table, memoised per session (:func:`state.memo`): the
table with its value labels, its schema, the imbalance audit, the settings of a run and
the plan it will follow.

A run's settings are ONE object, :class:`~mcrage_core.jobs.RunSettings`: the Train page
builds it with :func:`run_settings`, previews it with :func:`current_preview` (the same
``infer``/``audit_config`` calls the worker makes) and stores ``settings.to_dict()``."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import streamlit as st

from dashboard import state
from dashboard.nav import require_table
from mcrage_core.evaluation import preview_plan
from mcrage_core.jobs import RunSettings
from mcrage_core.tables import (
    apply_labels,
    audit_imbalance,
    group_columns,
    infer_schema,
    load_table,
)

if TYPE_CHECKING:
    from mcrage_core.diffusion import ComputeReport
    from mcrage_core.evaluation import PlanPreview
    from mcrage_core.tables import ImbalanceReport, Schema

__all__ = [
    "SAMPLES",
    "choices",
    "current_audit",
    "current_preview",
    "current_schema",
    "compute_report",
    "device_label",
    "fallback_schema",
    "labelled_table",
    "load_sample",
    "run_groups",
    "run_schema",
    "run_settings",
]

REPO_ROOT = Path(__file__).resolve().parent.parent


def _sample_folder() -> Path:
    """sample_data/ of a checkout, else the ``mcrage_samples`` package a wheel installs."""
    checkout = REPO_ROOT / "sample_data"
    if checkout.is_dir():
        return checkout
    spec = importlib.util.find_spec("mcrage_samples")
    return Path(next(iter(spec.submodule_search_locations or []))) if spec else checkout


SAMPLES: dict[str, tuple[Path, str]] = {
    "support2": (
        _sample_folder() / "support2.csv",
        "SUPPORT2: 9,105 seriously ill adults; outcome: died within 6 months",
    ),
    "patient_treatment": (
        _sample_folder() / "patient_treatment.csv",
        "Patient treatment: 4,412 lab panels; outcome: inpatient or outpatient",
    ),
}


def load_sample(name: str) -> None:
    """Load a bundled sample table as the session's table."""
    path, _ = SAMPLES[name]
    state.set_table(load_table(path), path.name)


def choices() -> dict[str, Any]:
    """The Data page's choices about the table (a copy)."""
    return dict(st.session_state[state.CHOICES])


def run_settings(ch: dict[str, Any] | None = None, **options: Any) -> RunSettings:
    """The :class:`~mcrage_core.jobs.RunSettings` of the choices ``ch`` (default: the
    session's) and the run ``options`` (keywords of RunSettings; the rest keep its
    defaults)."""
    values = choices() if ch is None else dict(ch)
    options.setdefault("table", st.session_state.get(state.DATA_NAME))
    return RunSettings.from_choices(values, **options)


def _version() -> str:
    return str(st.session_state[state.DATA_VERSION])


def _json(value: object) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def labelled_table(ch: dict[str, Any] | None = None) -> tuple[pd.DataFrame, list[str]]:
    """The session's table with coded values replaced by the user's value labels (what
    every chart, table and pick list shows), and warnings such as codes that never occur
    (memoised)."""
    df = require_table()
    ch = choices() if ch is None else ch
    labels = ch.get("value_labels") or None
    key = (_version(), _json(labels))
    return state.memo("labelled", key, lambda: apply_labels(df, labels))


def current_schema(ch: dict[str, Any] | None = None) -> tuple[pd.DataFrame, Schema]:
    """The schema of the session's table, with its value labels applied, and the
    session's choices (memoised). For display: a run gets the table in its own coding."""
    ch = choices() if ch is None else ch
    table, _ = labelled_table(ch)
    settings = run_settings(ch)
    return state.memo("schema", (_version(), _json(ch)), lambda: settings.infer(table))


def run_schema(settings: RunSettings) -> tuple[pd.DataFrame, Schema]:
    """``settings.infer`` of the table in its own coding, exactly as the run's worker calls
    it (the audit applies the value labels itself)."""
    df = require_table()
    key = (_version(), _json(settings.to_dict()["schema"]))
    return state.memo("run_schema", key, lambda: settings.infer(df))


def fallback_schema() -> tuple[pd.DataFrame, Schema]:
    """Schema with nothing chosen and no outcome guessed: used when the current choices fail,
    so that the user can still pick other roles."""
    df = require_table()
    return state.memo("fallback_schema", _version(), lambda: infer_schema(df, detect_target=False))


def current_audit() -> ImbalanceReport:
    """``audit_imbalance`` of the session's table (memoised)."""
    ch = choices()
    coerced, schema = current_schema(ch)
    small = int(st.session_state[state.SMALL_CELL])
    key = (_version(), _json(ch), small)
    return state.memo("audit", key, lambda: audit_imbalance(coerced, schema, small_cell=small))


def run_groups() -> dict[str, str]:
    """Sensitive kind -> the group column the run uses for it (age -> ``age_band``)."""
    ch = choices()
    coerced, schema = run_schema(run_settings(ch))
    key = (_version(), _json(ch))
    return state.memo("run_groups", key, lambda: group_columns(coerced, schema)[1])


def current_preview(settings: RunSettings) -> PlanPreview:
    """:func:`mcrage_core.evaluation.preview_plan` of a run with ``settings``: the worker's
    own config, the table in its own coding and the exact training split, so the counts
    are the ones the run generates (memoised)."""
    coerced, schema = run_schema(settings)
    key = (_version(), _json(settings.to_dict()))
    return state.memo(
        "preview", key, lambda: preview_plan(coerced, schema, settings.audit_config(schema))
    )


@st.cache_resource(show_spinner=False)
def compute_report() -> ComputeReport:
    """Compute available to this server, and why (no user data: shared between sessions)."""
    from mcrage_core.diffusion import compute_report as look

    return look()


def device_label() -> str:
    """Where training would run, in words (GPU name and memory, Apple GPU or CPU cores)."""
    report = compute_report()
    return f":material/memory: {report.reason}" + (" :material/warning:" if report.advice else "")
