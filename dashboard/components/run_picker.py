"""Choosing a run: the pick list that follows the selected run, and the finished-run
chooser of the Compare, Results and Report pages (with runs shared by id)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from dashboard import state
from dashboard.messages import show_error
from dashboard.nav import PAGE_TRAIN
from dashboard.runs_view import run_label
from mcrage_core.errors import MCRAGEError

if TYPE_CHECKING:
    from mcrage_core.jobs import RunRecord, RunRegistry

__all__ = ["pick_finished_run", "run_picker"]

_OPENED_SHARED = "mcrage_opened_shared_run"  # str | None: shared run id last opened by id


def run_picker(label: str, runs: list[RunRecord], *, key: str, wanted: str) -> None:
    """A pick list of runs that always shows the selected run (``wanted``) and makes the
    user's pick the selected run before the next script run (so the sidebar agrees)."""
    by_id = {r.id: r for r in runs}
    if st.session_state.get(key) != wanted:
        st.session_state[key] = wanted
    st.selectbox(
        label,
        list(by_id),
        format_func=lambda i: run_label(by_id[i]),
        key=key,
        on_change=_select_from_widget,
        args=(key,),
    )


def _select_from_widget(key: str) -> None:
    st.session_state[state.CURRENT_RUN] = st.session_state.get(key)


def pick_finished_run(*, purpose: str) -> RunRecord:
    """Choose a finished audit run of this session (or one shared with it).

    Shows a helpful empty state and stops the page when there is none.
    """
    registry = state.registry()
    owner = state.owner()
    registry.refresh()
    runs = [r for r in registry.list_runs(owner) if r.kind == "audit"]
    done = [r for r in runs if r.status == "succeeded"]
    with st.expander("Open a run that someone shared with you"):
        wanted = _open_shared(registry, owner, done, purpose=purpose)
    if not done:
        _no_finished_run(runs, purpose=purpose)
    ids = [r.id for r in done]
    current = st.session_state.get(state.CURRENT_RUN)
    if wanted is None:
        wanted = current if current in ids else ids[0]
    run_picker("Run", done, key=f"run_{purpose.split()[0]}", wanted=wanted)
    state.select_run(wanted)  # runs the script again if the selection changed (sidebar)
    return next(r for r in done if r.id == wanted)


def _open_shared(
    registry: RunRegistry, owner: str, done: list[RunRecord], *, purpose: str
) -> str | None:
    """The run id typed in the box, added to ``done`` when it has finished; its id the
    first time it is opened (then it becomes the selected run), else ``None``."""
    shared_id = st.text_input(
        "Run id", key="shared_run_id", placeholder="20250101-120000-1a2b3c4d"
    ).strip()
    if not shared_id:
        return None
    try:
        shared = registry.get(shared_id, owner=owner)
    except MCRAGEError as exc:
        show_error(exc)
        return None
    if shared.status != "succeeded":
        st.info(
            f"Run {shared.id} is {shared.status}: its {purpose} appear here when it has finished."
        )
        return None
    if shared.id not in {r.id for r in done}:
        done.insert(0, shared)
    if st.session_state.get(_OPENED_SHARED) != shared.id:
        st.session_state[_OPENED_SHARED] = shared.id
        return shared.id
    return None


def _no_finished_run(runs: list[RunRecord], *, purpose: str) -> None:
    """The empty state when no run has finished yet; stops the page."""
    active = [r for r in runs if r.is_active]
    if active:
        st.info(
            f"A run is still {active[0].status}. Its {purpose} appear here when it finishes; "
            "follow its progress on the Train page."
        )
    else:
        st.info(
            f"No finished run yet. The {purpose} appear here after a training run: "
            "start one on the Train page (the Quick preset trains for about a minute)."
        )
    st.page_link(PAGE_TRAIN, label="Go to 3 · Train", icon=":material/model_training:")
    st.stop()
