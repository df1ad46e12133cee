"""3 · Train: plan the augmentation, pick a preset, run the audit in the background with live
progress, and browse past runs."""

from __future__ import annotations

import os
import time

import pandas as pd
import streamlit as st

from dashboard import _helpers as h
from dashboard import state
from dashboard._readings import show_preview
from mcrage_core.errors import MCRAGEError

st.title("3 · Train")
registry = state.registry()
owner = state.owner()

# ============================================================================= setup
if not state.has_table():
    st.info("Load a table on the Data page to start a new run. Your earlier runs are listed below.")
    st.page_link(h.PAGE_DATA, label="Go to 1 · Data", icon=":material/upload_file:")
else:
    with h.user_errors():
        coerced, schema = h.current_schema()
    if schema.target is None or not schema.sensitive:
        st.warning(
            "Training needs an outcome column and at least one sensitive attribute. "
            "Set them on the Data page."
        )
        st.page_link(h.PAGE_DATA, label="Go to 1 · Data", icon=":material/upload_file:")
    else:
        st.subheader("Set up a run")
        with h.user_errors():
            mapping = h.run_groups()
        kinds = list(mapping)
        labels = {k: f"{k} ({mapping[k]})" for k in kinds}
        c1, c2 = st.columns([2, 1])
        default_kind = next((k for k in ("race", "sex", "age") if k in kinds), kinds[0])
        rebalance_kinds = c1.multiselect(
            "Rebalance which attribute(s)? Several means their combinations.",
            kinds,
            default=[default_kind],
            format_func=labels.get,
            key="rebalance",
        )
        c2.markdown(
            f"**Outcome:** {h.md_escape(schema.target)} = {h.md_escape(schema.positive_class)}"
        )
        c2.page_link(h.PAGE_DATA, label="Change on the Data page", icon=":material/edit:")
        if not rebalance_kinds:
            st.warning("Pick at least one attribute to rebalance.")
            st.stop()
        rebalance_cols = [mapping[k] for k in rebalance_kinds]
        # the plan is drawn here, but computed after the settings below (it depends on them)
        plan_box = st.container()

        presets = h.presets()
        p1, p2 = st.columns([2, 1])
        preset = p1.radio(
            "Model preset",
            list(presets),
            format_func=lambda k: presets[k][0],
            captions=[presets[k][1] for k in presets],
            horizontal=True,
            key="preset",
        )
        with p2:
            st.markdown("**Compute**")
            st.write(h.device_label())
        with st.expander("Advanced"):
            a1, a2, a3 = st.columns(3)
            strategies = a1.multiselect(
                "Strategies to compare",
                list(h.STRATEGY_CHOICES),
                default=list(h.DEFAULT_STRATEGIES),
                format_func=h.STRATEGY_CHOICES.get,
                key="strategies",
            )
            seeds = a2.number_input(
                "Repeats (seeds)", min_value=1, max_value=10, value=1, key="n_seeds"
            )
            device = a3.selectbox("Device", ["auto", "cpu", "cuda", "mps"], key="device")
            b1, b2, b3 = st.columns(3)
            epochs = b1.number_input(
                "Training steps (0 = preset default)",
                min_value=0,
                max_value=200_000,
                value=0,
                step=500,
                key="train_steps",
            )
            min_cell = b2.number_input(
                "Do not synthesise cells with fewer real rows than",
                min_value=1,
                max_value=1_000,
                value=20,
                key="min_cell_rows",
            )
            allow_small = b3.checkbox(
                "Allow small cells anyway (privacy risk)", value=False, key="allow_small"
            )
            threshold = b1.number_input(
                "Decision threshold",
                min_value=0.05,
                max_value=0.95,
                value=0.5,
                step=0.05,
                format="%.2f",
                key="threshold",
                help="A patient is predicted positive when the model's probability is at least "
                "this. Accuracy, F1 and every parity measure depend on it; AUROC does not.",
            )
        strategies = strategies or list(h.DEFAULT_STRATEGIES)
        params = h.run_params(
            schema_choices=h.choices(),
            rebalance=rebalance_cols,
            strategies=strategies,
            preset=preset,
            device=device,
            n_seeds=int(seeds),
            train_steps=int(epochs) or None,
            min_cell_rows=int(min_cell),
            allow_small_cells=bool(allow_small),
            threshold=round(float(threshold), 2),
        )
        with plan_box:
            try:
                preview = h.current_preview(params)
            except MCRAGEError as exc:
                h.show_error(exc, prefix="This run cannot start: ")
                can_run = False
            else:
                can_run = show_preview(
                    preview, cddpm="cddpm" in strategies, what=" × ".join(rebalance_kinds)
                )
                if "cddpm" in strategies:
                    h.show_small_cell_risk(
                        preview.plan, min_rows=int(min_cell), allowed=bool(allow_small)
                    )
        if st.button(
            "Start training",
            type="primary",
            key="start_run",
            icon=":material/play_arrow:",
            disabled=not can_run,
            help=None if can_run else "Fix the problem shown above first.",
        ):
            try:
                run_id = registry.start_run(owner, params, st.session_state[state.DATA])
            except MCRAGEError as exc:
                h.show_error(exc)
            else:
                state.select_run(run_id)

# ============================================================================= runs
# The selected run and the past runs are drawn together, from one reading of the registry
# and one clock, and refreshed together while any run is active: they cannot disagree on
# a run's status or duration.
registry.refresh()
runs = registry.list_runs(owner)
known = {r.id for r in runs}
if st.session_state.get(state.CURRENT_RUN) not in known:
    # after a refresh or in a new tab: show the newest run of this session
    own = [r for r in runs if r.owner == owner]
    state.select_run(own[0].id if own else None)
any_active = any(r.is_active for r in runs)


@st.fragment(run_every=1.0 if any_active else None)
def runs_panel() -> None:
    registry.refresh()
    now = time.time()
    fresh = registry.list_runs(owner)
    by_id = {r.id: r for r in fresh}
    selected = by_id.get(st.session_state.get(state.CURRENT_RUN))
    if selected is not None:
        st.subheader("Selected run")
        h.show_run(selected, registry, owner=owner, now=now)
    st.subheader("Past runs")
    if not fresh:
        st.caption("No runs yet. Start one above; it keeps going if you close or refresh the page.")
    else:
        table = pd.DataFrame([h.run_row(r, owner=owner, now=now) for r in fresh])
        h.show_table(table, height=320)
        h.run_picker(
            "Show run",
            fresh,
            key="pick_run",
            wanted=selected.id if selected is not None else fresh[0].id,
        )
    if any_active and not any(r.is_active for r in fresh):
        st.rerun(scope="app")  # everything finished: stop polling, refresh the whole page


runs_panel()

if os.environ.get("MCRAGE_TEST_MODE") == "1":
    st.caption("Test mode is on: a tiny preset is available.")
h.next_step(h.PAGE_COMPARE, "Next: 4 · Compare real and synthetic rows")
