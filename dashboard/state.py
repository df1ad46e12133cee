"""Session-state keys and their defaults, in one place.

Everything a browser session knows lives in ``st.session_state`` under the keys below,
so one session never sees another session's data. The owner token is kept in the URL
(``?session=...``) so that a page refresh or a new tab with the same address still lists
the session's runs; the loaded table and the choices about it are kept in the run store
under that token (:meth:`~mcrage_core.jobs.RunRegistry.save_session_table`), so that a
refresh restores them too. Only the same token leads back to them.
"""

from __future__ import annotations

import contextlib
import copy
import gc
import os
import re
import secrets
import sys
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st

from mcrage_core.jobs import RunRegistry
from mcrage_core.presentation.format import fmt_count

T = TypeVar("T")

# --- identity
OWNER = "mcrage_owner"  # str: owner token of this browser session (runs are listed by it)
OWNER_QUERY_PARAM = "session"
RESTORE_CHECKED = "mcrage_restore_checked"  # bool: the kept table was looked for once

# --- the loaded table (raw, as load_table returned it)
DATA = "mcrage_data"  # pandas.DataFrame | None
DATA_NAME = "mcrage_data_name"  # str | None: file name shown to the user
DATA_VERSION = "mcrage_data_version"  # str: changes whenever a new table is loaded
LOAD_ERROR = "mcrage_load_error"  # str | None: last upload error (the old table stays)
LAST_UPLOAD_ID = "mcrage_last_upload_id"  # str | None: file_id of the last processed upload

# --- user choices about the table (arguments of infer_schema)
# dict: target, positive_class, sensitive, exclude, include, age_bands (infer_schema's
# arguments), value_labels ({column: {code: label}}) and merge_below (rows; 0 = off), which
# are not infer_schema's: the labels are applied to the table before it, merging by the audit
CHOICES = "mcrage_choices"
SMALL_CELL = "mcrage_small_cell"  # int: small-cell threshold of the imbalance audit

# widgets of the Data page's roles form: their values belong to one table
ROLE_WIDGETS = (
    "target",
    "positive_class",
    "sensitive_race",
    "sensitive_sex",
    "sensitive_age",
    "age_bands",
    "exclude",
    "value_labels",
    "merge_below",
)

# --- runs
CURRENT_RUN = "mcrage_current_run"  # str | None: the run shown on Train/Compare/Results/Report
# RunSettings | None: the settings the Train page shows; Start stores exactly these
RUN_SETTINGS = "mcrage_run_settings"
# bool: offer the "tiny" model preset (seconds of training; for automated tests only).
# Tests seed it in session_state; `streamlit run dashboard/app.py -- --test-presets` sets it.
TEST_PRESETS = "mcrage_test_presets"
TEST_PRESETS_FLAG = "--test-presets"

# --- per-session memo of derived results (schema, audit, plan ...): name -> (key, value)
MEMO = "mcrage_memo"
# name -> (key, threading.Event) of a memo value being computed by one of the session's
# script runs (a page switch starts a new run while the old one finishes its computation)
MEMO_PENDING = "mcrage_memo_pending"

DEFAULT_CHOICES: dict[str, Any] = {
    "target": None,
    "positive_class": None,
    "sensitive": None,
    "exclude": [],
    "include": [],
    "age_bands": None,
    "value_labels": {},
    "merge_below": 0,
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
    RUN_SETTINGS: lambda: None,
    TEST_PRESETS: lambda: False,
    MEMO: dict,
    MEMO_PENDING: dict,
}

_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def init(user: str | None = None) -> None:
    """Set missing keys to their defaults, establish the session's owner token and, on a
    session's first run, restore the table it kept (after a page refresh).

    ``user`` is the signed-in user's token when sign-in is configured (see
    :mod:`dashboard.auth`): it owns the session's runs, and the address token is not used.
    """
    _freeze_imports()
    for key, factory in _DEFAULTS.items():
        if key not in st.session_state:
            st.session_state[key] = factory()
    if user is not None:
        _init_user(user)
        _report_keep_failure()
        return
    from_url = False
    if OWNER not in st.session_state:
        token = st.query_params.get(OWNER_QUERY_PARAM)
        if isinstance(token, str) and _TOKEN_RE.match(token):
            st.session_state[OWNER] = token
            from_url = True
        else:
            st.session_state[OWNER] = secrets.token_urlsafe(18)
    if st.query_params.get(OWNER_QUERY_PARAM) != st.session_state[OWNER]:
        st.query_params[OWNER_QUERY_PARAM] = st.session_state[OWNER]
    if not st.session_state.get(RESTORE_CHECKED):
        st.session_state[RESTORE_CHECKED] = True
        if from_url and not has_table():
            _restore()
    _report_keep_failure()


def _freeze_imports() -> None:
    """Move the objects alive now out of the cyclic garbage collector's sight, once per
    server process, at the start of the first run after the pages were imported.

    Streamlit collects garbage after every script run: a full pass over every object, some
    300,000 once pandas, plotly, Streamlit and the library are imported, which takes
    0.2-0.4 s with the interpreter lock held (the page's last messages wait for it). Those
    objects live as long as the server; frozen, a pass walks only what runs created since.
    Objects are still freed when nothing refers to them any more."""
    if _FROZEN.is_set() or "dashboard.services" not in sys.modules:
        return
    _FROZEN.set()
    gc.freeze()


_FROZEN = threading.Event()


def _init_user(user: str) -> None:
    if st.session_state.get(OWNER) != user:
        st.session_state[OWNER] = user
        st.session_state[RESTORE_CHECKED] = False
    if OWNER_QUERY_PARAM in st.query_params:
        del st.query_params[OWNER_QUERY_PARAM]  # an address must not carry access
    if not st.session_state.get(RESTORE_CHECKED):
        st.session_state[RESTORE_CHECKED] = True
        if not has_table():
            _restore()


def _restore() -> None:
    """Bring back the table and choices this owner token kept (nothing if none)."""
    _KEEPER.wait(owner())  # the table this owner's last upload is still writing
    try:
        saved = registry().load_session(owner())
    except Exception:  # noqa: BLE001 - a damaged store never blocks the app
        return
    if saved is None or saved.data is None:
        return
    st.session_state[DATA] = saved.data
    st.session_state[DATA_NAME] = saved.name or "table"
    st.session_state[DATA_VERSION] = secrets.token_hex(8)
    st.session_state[MEMO] = {}
    choices = saved.settings.get("choices")
    if isinstance(choices, dict):
        st.session_state[CHOICES] = {k: choices.get(k, v) for k, v in DEFAULT_CHOICES.items()}
    small = saved.settings.get("small_cell")
    if isinstance(small, int) and small >= 1:
        st.session_state[SMALL_CELL] = small


def owner() -> str:
    return str(st.session_state[OWNER])


def registry() -> RunRegistry:
    """The run registry (its root comes from ``$MCRAGE_HOME`` or ``~/.mcrage``)."""
    return RunRegistry()


def set_table(df: Any, name: str) -> None:
    """Make ``df`` the session's table: forget choices and derived results of the old one,
    and keep the table for page refreshes."""
    st.session_state[DATA] = df
    st.session_state[DATA_NAME] = name
    st.session_state[DATA_VERSION] = secrets.token_hex(8)
    st.session_state[LOAD_ERROR] = None
    st.session_state[CHOICES] = dict(DEFAULT_CHOICES)
    st.session_state[MEMO] = {}
    for key in ROLE_WIDGETS:  # the form shows the new table's roles, not the old entries
        st.session_state.pop(key, None)
    frame = df.copy(deep=False)  # the writer's own frame: it shares no pandas state with the page
    _keep(lambda reg, who: reg.save_session_table(who, frame, name), rows=len(df))
    _keep_settings()


def set_choices(choices: dict[str, Any]) -> None:
    """The user's choices about the table (roles, age bands), kept for page refreshes."""
    st.session_state[CHOICES] = dict(choices)
    _keep_settings()


def set_small_cell(n: int) -> None:
    """The small-cell threshold of the imbalance audit, kept for page refreshes."""
    st.session_state[SMALL_CELL] = int(n)
    _keep_settings()


def select_run(run_id: str | None) -> None:
    """Make ``run_id`` the selected run. If that changes anything, the script runs again so
    that everything drawn before this call (the sidebar) shows the new selection."""
    if st.session_state.get(CURRENT_RUN) != run_id:
        st.session_state[CURRENT_RUN] = run_id
        st.rerun()


def _keep_settings() -> None:
    settings = copy.deepcopy(
        {"choices": st.session_state[CHOICES], "small_cell": st.session_state[SMALL_CELL]}
    )
    _keep(lambda reg, who: reg.save_session_settings(who, settings))


def _keep(write: Callable[[RunRegistry, str], None], *, rows: int | None = None) -> None:
    """Write to the session store in the background: a million-row table takes seconds as
    Parquet, and the page need not wait for a copy that only a page refresh reads. A failure
    (full disk, odd column types) never loses the table the session holds in memory; it
    is reported on the session's next run."""
    try:
        reg = registry()
    except Exception as exc:  # noqa: BLE001 - keeping a copy is a convenience, not a must
        st.toast(_not_kept(rows, exc), icon=":material/warning:")
        return
    _KEEPER.submit(owner(), reg, write, rows)


def _not_kept(rows: int | None, exc: Exception) -> str:
    what = "The table" if rows is None else f"The table ({fmt_count(rows)} rows)"
    return (
        f"{what} could not be kept for page refreshes ({type(exc).__name__}); it stays "
        "loaded in this tab."
    )


def _report_keep_failure() -> None:
    message = _KEEPER.failure(owner())
    if message:
        st.toast(message, icon=":material/warning:")


class _Keeper:
    """The session store's writes, one after the other per owner token (a later write
    must land after an earlier one), each in a background thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: dict[str, threading.Thread] = {}
        self._failed: dict[str, str] = {}

    def submit(
        self,
        who: str,
        reg: RunRegistry,
        write: Callable[[RunRegistry, str], None],
        rows: int | None,
    ) -> None:
        with self._lock:
            before = self._last.get(who)
            thread = threading.Thread(
                target=self._run,
                args=(who, before, reg, write, rows),
                name="mcrage-keep-session",
                daemon=True,
            )
            self._last[who] = thread
        thread.start()

    def _run(
        self,
        who: str,
        before: threading.Thread | None,
        reg: RunRegistry,
        write: Callable[[RunRegistry, str], None],
        rows: int | None,
    ) -> None:
        _yield_cpu()
        if before is not None:
            before.join()
        try:
            write(reg, who)
        except Exception as exc:  # noqa: BLE001 - keeping a copy is a convenience, not a must
            with self._lock:
                self._failed.setdefault(who, _not_kept(rows, exc))  # the first says most
        with self._lock:
            if self._last.get(who) is threading.current_thread():
                del self._last[who]

    def wait(self, who: str) -> None:
        """Return when every write for ``who`` submitted so far has landed."""
        with self._lock:
            last = self._last.get(who)
        if last is not None:
            last.join()

    def failure(self, who: str) -> str | None:
        """The message of a write for ``who`` that failed (once), else ``None``."""
        with self._lock:
            return self._failed.pop(who, None)


def _yield_cpu() -> None:
    """Lower this thread's priority (Linux: a thread has its own nice value), so that on a
    busy machine writing the copy never slows the page the user is waiting for."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)


_KEEPER = _Keeper()


def has_table() -> bool:
    return st.session_state.get(DATA) is not None


def memo(name: str, key: Any, compute: Callable[[], T]) -> T:
    """Per-session cache with one slot per ``name``: recompute only when ``key`` changes.

    Used instead of ``st.cache_data`` for user data so that nothing a user uploads is
    shared with another session, and so that memory stays bounded (one value per name).
    Keys are cheap (the table's version token, the choices as JSON): the table itself is
    never hashed. A run that needs a value another run of the session is computing (the
    Data page prepares the audit when the user opens the Imbalance page) waits for it
    instead of computing it a second time.
    """
    store: dict[str, tuple[Any, Any]] = st.session_state.setdefault(MEMO, {})
    hit = store.get(name)
    if hit is not None and hit[0] == key:
        return hit[1]
    pending: dict[str, tuple[Any, threading.Event]] = st.session_state.setdefault(MEMO_PENDING, {})
    with _PENDING_LOCK:
        other = pending.get(name)
        mine = (key, threading.Event())
        if other is None or other[0] != key:
            pending[name] = mine
    if other is not None and other[0] == key:
        other[1].wait()
        hit = st.session_state.setdefault(MEMO, {}).get(name)
        if hit is not None and hit[0] == key:
            return hit[1]
        mine = (key, threading.Event())  # that run failed: compute here (and say so again)
    try:
        value = compute()
        store[name] = (key, value)
        return value
    finally:
        with _PENDING_LOCK:
            if pending.get(name) is mine:
                del pending[name]
        mine[1].set()


_PENDING_LOCK = threading.Lock()
