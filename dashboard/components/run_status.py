"""One run's status, live progress, errors and actions (cancel, resume, share, log), and
the Train page's panel of the selected run and the past runs."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import streamlit as st

from dashboard import state
from dashboard.components.run_picker import run_picker
from dashboard.components.tables import show_table
from dashboard.messages import show_error
from dashboard.nav import PAGE_COMPARE, PAGE_RESULTS
from dashboard.runs_view import run_row, status_badge
from mcrage_core.errors import MCRAGEError
from mcrage_core.presentation.format import NO_VALUE, fmt_count, fmt_duration, fmt_number, fmt_pct
from mcrage_core.presentation.plots import loss_curve

if TYPE_CHECKING:
    from mcrage_core.jobs import RunRecord, RunRegistry

__all__ = ["runs_section", "show_run"]

_LOG_DOWNLOAD_BYTES = 2_000_000


def show_run(record: RunRecord, registry: RunRegistry, *, owner: str, now: float) -> None:
    """Status, live progress, errors and actions of one run (``now``: the clock shared with
    the past-runs table, so both show the same duration)."""
    mine = record.owner == owner
    st.markdown(
        f"Run `{record.id}` · {status_badge(record.status)} · "
        f"duration {fmt_duration(record.duration_at(now))}" + ("" if mine else " · shared with you")
    )
    prog = registry.read_progress(record.id) or {}
    if record.status in ("queued", "running"):
        _live_progress(record, registry, prog.get("event") or record.progress or {}, mine=mine)
    elif record.status == "failed":
        _failed(record, registry, owner=owner, mine=mine)
    elif record.status == "cancelled":
        st.warning("This run was cancelled.")
        _resume_button(record, registry, owner=owner, mine=mine)
    else:
        st.success("Finished. See the results, or compare real and synthetic rows.")
        c1, c2 = st.columns(2)
        c1.page_link(PAGE_RESULTS, label="Open 5 · Results", icon=":material/balance:")
        c2.page_link(PAGE_COMPARE, label="Open 4 · Compare", icon=":material/compare:")
    history = prog.get("history") or []
    if history:
        st.plotly_chart(loss_curve(history), key=f"loss_{record.id}")
    if mine:
        shared = st.toggle(
            "Share this run with other sessions (read-only)", value=record.shared, key="share_run"
        )
        if shared != record.shared:
            registry.set_shared(record.id, shared, owner=owner)
            st.rerun(scope="app")


def _live_progress(
    record: RunRecord, registry: RunRegistry, event: dict[str, Any], *, mine: bool
) -> None:
    fraction = float(event.get("fraction") or 0.0)
    stage = str(
        event.get("stage")
        or ("Waiting for a free slot" if record.status == "queued" else "Starting")
    )
    st.progress(min(1.0, max(0.0, fraction)), text=f"{stage} · {fmt_pct(fraction, 0)}")
    m1, m2, m3, m4 = st.columns(4)
    step, total = event.get("step"), event.get("total_steps")
    m1.metric("Step", f"{fmt_count(step)} / {fmt_count(total)}" if step and total else NO_VALUE)
    m2.metric("Loss", fmt_number(event.get("loss"), 4))
    m3.metric("Rows / s", fmt_count(event.get("rows_per_s")))
    m4.metric("Time left", fmt_duration(event.get("eta_s")))
    if mine and st.button("Cancel this run", key="cancel_run", icon=":material/stop:"):
        registry.cancel(record.id, owner=record.owner)
        st.toast("Cancel requested: the run stops within a few seconds.")
    st.caption(
        "You can leave or refresh this page: the run keeps going in the background."
        + _sign_of_life(record)
    )


def _sign_of_life(record: RunRecord) -> str:
    """When the worker last answered (it is marked failed, resumable, if it falls silent)."""
    if record.status != "running" or not record.heartbeat:
        return ""
    ago = max(0.0, time.time() - float(record.heartbeat))
    text = f" Last sign of life from the worker: {fmt_duration(ago)} ago"
    if record.last_progress:
        text += f"; last progress {fmt_duration(max(0.0, time.time() - record.last_progress))} ago"
    return text + "."


def _failed(record: RunRecord, registry: RunRegistry, *, owner: str, mine: bool) -> None:
    show_error(record.error or "no reason was recorded", prefix="This run failed: ")
    if record.can_resume:
        st.caption(
            "It was interrupted (stopped, out of memory or out of disk space), so it can "
            "continue from its last checkpoint."
        )
        _resume_button(record, registry, owner=owner, mine=mine)
    else:
        st.info(
            "Resuming would stop at the same problem, so it is not offered. Fix what the "
            "message names (on the Data page or in the settings above) and start a new run.",
            icon=":material/info:",
        )
    _worker_log(record, mine=mine)


def _resume_button(record: RunRecord, registry: RunRegistry, *, owner: str, mine: bool) -> None:
    if not (mine and record.can_resume):
        return
    if st.button("Resume this run", key="resume_run", icon=":material/replay:"):
        try:
            registry.resume(record.id, owner=owner)
        except MCRAGEError as exc:
            show_error(exc)
        else:
            st.rerun(scope="app")


def _log_tail(path: Path) -> bytes:
    """The last ``_LOG_DOWNLOAD_BYTES`` of a log file."""
    with open(path, "rb") as fh:
        fh.seek(max(0, path.stat().st_size - _LOG_DOWNLOAD_BYTES))
        return fh.read()


def _worker_log(record: RunRecord, *, mine: bool) -> None:
    """Where the run's technical log is, so that it can be sent with a problem report."""
    path = record.log_path
    st.caption(
        "Technical details are in the run's log file. To report the problem, send this file:"
    )
    st.code(str(path), language=None)
    if mine and path.is_file():
        st.download_button(
            "Download worker.log",
            data=lambda: _log_tail(path),  # read when clicked, not on every rerun
            file_name=f"mcrage_{record.id}_worker.log",
            mime="text/plain",
            key="download_log",
            icon=":material/download:",
            on_click="ignore",  # no rerun: the file is read by the click itself
        )


def runs_section(registry: RunRegistry, owner: str) -> None:
    """The selected run and the past runs, drawn together from one reading of the registry
    and one clock, and refreshed together while any run is active: they cannot disagree on
    a run's status or duration."""
    registry.refresh()
    runs = registry.list_runs(owner)
    if st.session_state.get(state.CURRENT_RUN) not in {r.id for r in runs}:
        # after a refresh or in a new tab: show the newest run of this session
        own = [r for r in runs if r.owner == owner]
        state.select_run(own[0].id if own else None)
    any_active = any(r.is_active for r in runs)

    @st.fragment(run_every=1.0 if any_active else None)
    def runs_panel() -> None:
        registry.refresh()
        now = time.time()
        fresh = registry.list_runs(owner)
        selected = {r.id: r for r in fresh}.get(str(st.session_state.get(state.CURRENT_RUN)))
        if selected is not None:
            st.subheader("Selected run")
            show_run(selected, registry, owner=owner, now=now)
        st.subheader("Past runs")
        if not fresh:
            st.caption(
                "No runs yet. Start one above; it keeps going if you close or refresh the page."
            )
        else:
            show_table(pd.DataFrame([run_row(r, owner=owner, now=now) for r in fresh]), height=320)
            wanted = selected.id if selected is not None else fresh[0].id
            run_picker("Show run", fresh, key="pick_run", wanted=wanted)
        if any_active and not any(r.is_active for r in fresh):
            st.rerun(scope="app")  # everything finished: stop polling, refresh the whole page

    runs_panel()
