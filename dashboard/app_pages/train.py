"""3 · Train: plan the augmentation, pick a preset, run the audit in the background with live
progress, and browse past runs."""

from __future__ import annotations

import streamlit as st

from dashboard import services, state
from dashboard.components import train_form
from dashboard.components.run_status import runs_section
from dashboard.messages import show_error, user_errors
from dashboard.nav import PAGE_COMPARE, PAGE_DATA, next_step
from mcrage_core.errors import MCRAGEError

st.title("3 · Train")
registry = state.registry()
owner = state.owner()


def set_up_run() -> None:
    """The run's settings, the plan they lead to, and the Start button."""
    with user_errors():
        _, schema = services.current_schema()
    if schema.target is None or not schema.sensitive:
        st.warning(
            "Training needs an outcome column and at least one sensitive attribute. "
            "Set them on the Data page."
        )
        st.page_link(PAGE_DATA, label="Go to 1 · Data", icon=":material/upload_file:")
        return
    st.subheader("Set up a run")
    with user_errors():
        mapping = services.run_groups()
    kinds = train_form.choose_rebalance(mapping, schema)
    # the plan is drawn here, but computed after the settings below (it depends on them)
    plan_box = st.container()
    options = train_form.run_options()
    try:
        settings = services.run_settings(rebalance=tuple(mapping[k] for k in kinds), **options)
    except MCRAGEError as exc:
        show_error(exc, prefix="This run cannot start: ")
        return
    st.session_state[state.RUN_SETTINGS] = settings
    with plan_box:
        can_run = train_form.show_plan(settings, kinds)
    train_form.start_button(registry, owner, settings, can_run=can_run)


if state.has_table():
    set_up_run()
else:
    st.info("Load a table on the Data page to start a new run. Your earlier runs are listed below.")
    st.page_link(PAGE_DATA, label="Go to 1 · Data", icon=":material/upload_file:")

runs_section(registry, owner)

if st.session_state.get(state.TEST_PRESETS):
    st.caption("Test mode is on: a tiny preset is available.")
next_step(PAGE_COMPARE, "Next: 4 · Compare real and synthetic rows")
