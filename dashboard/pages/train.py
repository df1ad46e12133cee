"""3 · Train: plan the augmentation, pick a preset, run the audit in the background with live
progress, and browse past runs."""

from __future__ import annotations

import os

import pandas as pd
import streamlit as st

from dashboard import _helpers as h
from dashboard import state
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
            report = h.current_audit()
            data_bands, mapping = h.current_groups()
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
        with h.user_errors():
            plan = h.current_plan(data_bands, rebalance_cols, schema.target)
        n_add = int(plan["n_add"].sum())
        st.write(
            f"**Augmentation plan:** add **{n_add:,} synthetic rows** so that every "
            f"{' × '.join(rebalance_kinds)} group is as large as the largest one "
            "(each group keeps its own outcome mix)."
        )
        st.dataframe(plan, hide_index=True, width="stretch", height=min(320, 38 + 35 * len(plan)))

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
        h.show_small_cell_guardrail(plan, min_rows=int(min_cell), allowed=bool(allow_small))
        if st.button(
            "Start training", type="primary", key="start_run", icon=":material/play_arrow:"
        ):
            params = h.run_params(
                schema_choices=h.choices(),
                rebalance=rebalance_cols,
                strategies=strategies or list(h.DEFAULT_STRATEGIES),
                preset=preset,
                device=device,
                n_seeds=int(seeds),
                train_steps=int(epochs) or None,
                min_cell_rows=int(min_cell),
                allow_small_cells=bool(allow_small),
            )
            try:
                run_id = registry.start_run(owner, params, st.session_state[state.DATA])
            except MCRAGEError as exc:
                st.error(str(exc))
            else:
                st.session_state[state.CURRENT_RUN] = run_id
                st.rerun()

# ============================================================================= current run
run_id = st.session_state.get(state.CURRENT_RUN)
if not run_id:  # after a refresh or in a new tab: show the newest run of this session
    newest = registry.list_runs(owner, include_shared=False, limit=1)
    if newest:
        run_id = st.session_state[state.CURRENT_RUN] = newest[0].id
if run_id:
    try:
        record = registry.get(run_id, owner=owner)
    except MCRAGEError:
        st.session_state[state.CURRENT_RUN] = None
        record = None
    if record is not None:
        st.subheader("Selected run")

        @st.fragment(run_every=1.0 if record.is_active else None)
        def live_run() -> None:
            registry.refresh()
            rec = registry.get(run_id, owner=owner)
            h.show_run(rec, registry, owner=owner)
            if record.is_active and not rec.is_active:
                st.rerun(scope="app")

        live_run()

# ============================================================================= past runs
st.subheader("Past runs")
registry.refresh()
runs = registry.list_runs(owner)
if not runs:
    st.caption("No runs yet. Start one above; it keeps going if you close or refresh the page.")
else:
    table = pd.DataFrame([h.run_row(r, owner=owner) for r in runs])
    st.dataframe(table, hide_index=True, width="stretch")
    ids = [r.id for r in runs]
    current = st.session_state.get(state.CURRENT_RUN)
    picked = st.selectbox(
        "Show run",
        ids,
        index=ids.index(current) if current in ids else 0,
        format_func=lambda i: h.run_label(next(r for r in runs if r.id == i)),
        key="pick_run",
    )
    if picked != current and st.button("Show this run", key="show_run"):
        st.session_state[state.CURRENT_RUN] = picked
        st.rerun()

if os.environ.get("MCRAGE_TEST_MODE") == "1":
    st.caption("Test mode is on: a tiny preset is available.")
h.next_step(h.PAGE_COMPARE, "Next: 4 · Compare real and synthetic rows")
