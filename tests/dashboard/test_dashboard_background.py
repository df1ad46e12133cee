"""Work the dashboard does off the page's path, on small real data:

* a derived result (the imbalance audit) that one script run of a session is computing is
  waited for by another run that needs it (the Data page prepares the audit while the user
  opens the Imbalance page), not computed twice;
* the session's table is kept for page refreshes in the background, writes landing in the
  order they were made, and a write that fails is reported on the next run.

Streamlit runs scripts of one session in threads that share its session state; here the
threads share the state of Streamlit's bare mode.
"""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pandas as pd
import pytest
import streamlit as st

from dashboard import state
from mcrage_core.jobs import RunRegistry
from mcrage_core.tables import audit_imbalance, infer_schema, load_table

OWNER = "background-test-owner-0001"
SUPPORT2 = Path(__file__).resolve().parents[2] / "sample_data" / "support2.csv"


@pytest.fixture()
def session(mcrage_home: Path):
    """A fresh session state (bare mode) with an owner token."""
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    st.session_state[state.OWNER] = OWNER
    st.session_state[state.SMALL_CELL] = 30
    st.session_state[state.CHOICES] = dict(state.DEFAULT_CHOICES)
    yield st.session_state
    state._KEEPER.wait(OWNER)


@pytest.fixture(scope="module")
def small_table(support2_small_csv: bytes) -> pd.DataFrame:
    return load_table(io.BytesIO(support2_small_csv), filename="small.csv")


def test_a_run_waits_for_the_audit_another_run_is_computing(session, small_table) -> None:
    coerced, schema = infer_schema(small_table)
    started, release = threading.Event(), threading.Event()
    calls: list[str] = []

    def slow_audit():
        calls.append("first")
        started.set()
        release.wait(10)
        return audit_imbalance(coerced, schema)

    def audit_again():
        calls.append("second")
        return audit_imbalance(coerced, schema)

    results: dict[str, object] = {}
    first = threading.Thread(target=lambda: results.update(a=state.memo("audit", 1, slow_audit)))
    first.start()
    assert started.wait(10)
    second = threading.Thread(target=lambda: results.update(b=state.memo("audit", 1, audit_again)))
    second.start()
    second.join(0.3)
    assert second.is_alive()  # waiting for the first run's audit, not computing its own
    release.set()
    first.join(10)
    second.join(10)
    assert calls == ["first"]
    assert results["a"] is results["b"]
    assert results["a"].groups["n"].sum() > 0  # type: ignore[attr-defined]
    # another key is computed anew
    assert state.memo("audit", 2, audit_again) is not results["a"]
    assert calls == ["first", "second"]


def test_a_failed_computation_is_retried_by_the_run_that_waited(session, small_table) -> None:
    coerced, schema = infer_schema(small_table)
    started, release = threading.Event(), threading.Event()
    errors: list[Exception] = []

    def failing():
        started.set()
        release.wait(10)
        return audit_imbalance(coerced, schema, small_cell=0)  # ConfigError: at least 1

    def run_first() -> None:
        try:
            state.memo("audit", 7, failing)
        except Exception as exc:  # noqa: BLE001 - what the page would show
            errors.append(exc)

    first = threading.Thread(target=run_first)
    first.start()
    assert started.wait(10)
    results: list[object] = []
    second = threading.Thread(
        target=lambda: results.append(
            state.memo("audit", 7, lambda: audit_imbalance(coerced, schema))
        )
    )
    second.start()
    release.set()
    first.join(10)
    second.join(10)
    assert errors and "small-cell threshold" in str(errors[0])
    assert len(results) == 1 and results[0].n_rows == len(small_table)  # type: ignore[attr-defined]


def test_the_table_is_kept_in_the_background_and_the_last_one_wins(
    session, small_table, mcrage_home: Path
) -> None:
    big = load_table(SUPPORT2)
    state.set_table(big, "first.csv")  # the larger write, started first
    state.set_table(small_table, "second.csv")
    state._KEEPER.wait(OWNER)
    saved = RunRegistry().load_session(OWNER)
    assert saved is not None and saved.name == "second.csv"
    assert saved.data is not None and len(saved.data) == len(small_table)
    assert list(saved.data.columns) == list(small_table.columns)


def test_a_write_that_fails_is_reported_once(session, small_table, mcrage_home: Path) -> None:
    folder = RunRegistry().sessions.session_dir(OWNER)
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.write_text("in the way")  # a file where the session's folder must go
    state.set_table(small_table, "blocked.csv")
    state._KEEPER.wait(OWNER)
    message = state._KEEPER.failure(OWNER)
    assert message is not None
    assert message.startswith("The table (422 rows) could not be kept for page refreshes")
    assert "stays loaded in this tab" in message
    assert state._KEEPER.failure(OWNER) is None  # reported once
    assert st.session_state[state.DATA] is small_table  # the session keeps its table
