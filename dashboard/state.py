"""Session-state keys and their defaults, in one place.

Everything a browser session knows lives in ``st.session_state`` under the keys below,
so one session never sees another session's data. The only thing that outlives a
session is the owner token, kept in the URL (``?session=...``) so that a page refresh
or a new tab with the same address still lists the session's runs.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st

from mcrage_core.runs import RunRegistry

T = TypeVar("T")

# --- identity
OWNER = "mcrage_owner"  # str: owner token of this browser session (runs are listed by it)
OWNER_QUERY_PARAM = "session"

# --- the loaded table (raw, as load_table returned it)
DATA = "mcrage_data"  # pandas.DataFrame | None
DATA_NAME = "mcrage_data_name"  # str | None: file name shown to the user
DATA_VERSION = "mcrage_data_version"  # str: changes whenever a new table is loaded
LOAD_ERROR = "mcrage_load_error"  # str | None: last upload error (the old table stays)
LAST_UPLOAD_ID = "mcrage_last_upload_id"  # str | None: file_id of the last processed upload

# --- user choices about the table (arguments of infer_schema)
CHOICES = "mcrage_choices"  # dict: target, positive_class, sensitive, exclude, age_bands
SMALL_CELL = "mcrage_small_cell"  # int: small-cell threshold of the imbalance audit

# --- runs
CURRENT_RUN = "mcrage_current_run"  # str | None: the run shown on Train/Compare/Results/Report

# --- per-session memo of derived results (schema, audit, plan ...): name -> (key, value)
MEMO = "mcrage_memo"

DEFAULT_CHOICES: dict[str, Any] = {
    "target": None,
    "positive_class": None,
    "sensitive": None,
    "exclude": [],
    "include": [],
    "age_bands": None,
}

_DEFAULTS: dict[str, Callable[[], Any]] = {
    DATA: lambda: None,
    DATA_NAME: lambda: None,
    DATA_VERSION: lambda: "",
    LOAD_ERROR: lambda: None,
    LAST_UPLOAD_ID: lambda: None,
    CHOICES: lambda: dict(DEFAULT_CHOICES),
    SMALL_CELL: lambda: 30,
    CURRENT_RUN: lambda: None,
    MEMO: dict,
}

_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def init() -> None:
    """Set missing keys to their defaults and establish the session's owner token."""
    for key, factory in _DEFAULTS.items():
        if key not in st.session_state:
            st.session_state[key] = factory()
    if OWNER not in st.session_state:
        from_url = st.query_params.get(OWNER_QUERY_PARAM)
        if isinstance(from_url, str) and _TOKEN_RE.match(from_url):
            st.session_state[OWNER] = from_url
        else:
            st.session_state[OWNER] = secrets.token_urlsafe(18)
    if st.query_params.get(OWNER_QUERY_PARAM) != st.session_state[OWNER]:
        st.query_params[OWNER_QUERY_PARAM] = st.session_state[OWNER]


def owner() -> str:
    return str(st.session_state[OWNER])


def registry() -> RunRegistry:
    """The run registry (its root comes from ``$MCRAGE_HOME`` or ``~/.mcrage``)."""
    return RunRegistry()


def set_table(df: Any, name: str) -> None:
    """Make ``df`` the session's table: forget choices and derived results of the old one."""
    st.session_state[DATA] = df
    st.session_state[DATA_NAME] = name
    st.session_state[DATA_VERSION] = secrets.token_hex(8)
    st.session_state[LOAD_ERROR] = None
    st.session_state[CHOICES] = dict(DEFAULT_CHOICES)
    st.session_state[MEMO] = {}


def has_table() -> bool:
    return st.session_state.get(DATA) is not None


def memo(name: str, key: Any, compute: Callable[[], T]) -> T:
    """Per-session cache with one slot per ``name``: recompute only when ``key`` changes.

    Used instead of ``st.cache_data`` for user data so that nothing a user uploads is
    shared with another session, and so that memory stays bounded (one value per name).
    """
    store: dict[str, tuple[Any, Any]] = st.session_state.setdefault(MEMO, {})
    hit = store.get(name)
    if hit is not None and hit[0] == key:
        return hit[1]
    value = compute()
    store[name] = (key, value)
    return value
