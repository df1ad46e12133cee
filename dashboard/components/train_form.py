"""The Train page's set-up: which groups to rebalance, the model preset and the advanced
options (their defaults are :data:`mcrage_core.jobs.DEFAULTS`), the plan the chosen
settings lead to, and the Start button that stores exactly those settings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, get_args

import pandas as pd
import streamlit as st

from dashboard import state
from dashboard._readings import show_preview
from dashboard.messages import md_escape, show_error
from dashboard.nav import PAGE_DATA
from dashboard.services import compute_report, current_preview, device_label
from mcrage_core.diffusion import PRESET_LABELS
from mcrage_core.errors import MCRAGEError
from mcrage_core.jobs import DEFAULTS, EVALUATIONS, RunPreset
from mcrage_core.presentation.format import fmt_count
from mcrage_core.rebalance import STRATEGY_LABELS
from mcrage_core.util.ray_cluster import describe as describe_grid

if TYPE_CHECKING:
    from mcrage_core.jobs import RunRegistry, RunSettings
    from mcrage_core.tables import Schema

__all__ = [
    "DEVICES",
    "PRESET_TEXTS",
    "choose_rebalance",
    "presets",
    "run_options",
    "show_plan",
    "show_small_cell_risk",
    "start_button",
]

PRESET_TEXTS = PRESET_LABELS
"""Label and caption of each model preset on the Train page."""
DEVICES = ["auto", "cpu", "cuda", "mps"]


def presets() -> dict[str, tuple[str, str]]:
    """Model presets shown on the Train page: key -> (label, caption). ``"tiny"`` only
    when the session offers test presets (:data:`state.TEST_PRESETS`)."""
    test = bool(st.session_state.get(state.TEST_PRESETS))
    return {k: PRESET_TEXTS[k] for k in get_args(RunPreset) if test or k != "tiny"}


def choose_rebalance(mapping: dict[str, str], schema: Schema) -> list[str]:
    """The attribute kinds to rebalance (``mapping``: kind -> group column), next to the
    outcome the run predicts. Stops the page when none is chosen."""
    kinds = list(mapping)
    c1, c2 = st.columns([2, 1])
    default_kind = next((k for k in ("race", "sex", "age") if k in kinds), kinds[0])
    chosen: list[str] = c1.multiselect(
        "Rebalance which attribute(s)? Several means their combinations.",
        kinds,
        default=[default_kind],
        format_func=lambda k: f"{k} ({mapping[k]})",
        key="rebalance",
    )
    c2.markdown(f"**Outcome:** {md_escape(schema.target)} = {md_escape(schema.positive_class)}")
    c2.page_link(PAGE_DATA, label="Change on the Data page", icon=":material/edit:")
    if not chosen:
        st.warning("Pick at least one attribute to rebalance.")
        st.stop()
    return chosen


def run_options() -> dict[str, Any]:
    """The preset, compute and Advanced widgets: keyword options of RunSettings."""
    offered = presets()
    default = "tiny" if "tiny" in offered else DEFAULTS.preset
    p1, p2 = st.columns([2, 1])
    preset = p1.radio(
        "Model preset",
        list(offered),
        index=list(offered).index(default),
        format_func=lambda k: offered[k][0],
        captions=[offered[k][1] for k in offered],
        horizontal=True,
        key="preset",
    )
    with p2:
        st.markdown("**Compute**")
        st.write(device_label())
        _compute_details()
    evaluation = _evaluation()
    plan = _plan()
    with st.expander("Differential privacy", icon=":material/shield:"):
        private = _privacy()
    with st.expander("Advanced"):
        options = _advanced()
    return {"preset": preset, **evaluation, **plan, **private, **options}


def _compute_details() -> None:
    report = compute_report()
    with st.expander("Torch build, CUDA, driver and cluster", expanded=bool(report.advice)):
        registry = state.registry()
        journal = f"{registry.journal_mode.upper()} journal: {registry.journal.reason}"
        rows = pd.DataFrame(
            [
                *report.rows(),
                ("Folds and training run on", describe_grid()),
                ("Run registry", f"{registry.root} ({journal})"),
            ],
            columns=["What", "Found"],
        )
        st.dataframe(rows, hide_index=True, width="stretch")
        if report.advice:
            st.warning(report.advice, icon=":material/memory:")


def _evaluation() -> dict[str, Any]:
    """How the strategies are evaluated: folds × repeats, by name."""
    test = bool(st.session_state.get(state.TEST_PRESETS))
    names = list(EVALUATIONS)
    c1, c2 = st.columns([3, 1])
    chosen = c1.radio(
        "Evaluation (repeated cross-validation on real rows only)",
        names,
        index=names.index("holdout" if test else "standard"),
        format_func=lambda k: EVALUATIONS[k][2],
        captions=[EVALUATIONS[k][3] for k in names],
        horizontal=True,
        key="evaluation",
        help="More folds and repeats give narrower intervals and firmer verdicts, and take "
        "longer: every strategy (the diffusion model too) is trained once per fold.",
    )
    folds, repeats, _, _ = EVALUATIONS[chosen]
    threshold = _number(
        c2,
        "threshold",
        "Decision threshold",
        0.05,
        0.95,
        DEFAULTS.threshold,
        step=0.05,
        format="%.2f",
        help="A patient is predicted positive when the model's probability is at least "
        "this. Accuracy, F1 and every parity measure depend on it; AUROC does not.",
    )
    return {"folds": folds, "n_seeds": repeats, "threshold": round(float(threshold), 2)}


def _plan() -> dict[str, Any]:
    """Which groups get synthetic rows, and the cap on synthetic rows per group."""
    c1, c2, c3 = st.columns([2, 1, 1])
    mode = c1.radio(
        "Which groups get synthetic rows?",
        ["max", "targeted"],
        format_func=lambda m: {
            "max": "Every group, up to the largest",
            "targeted": "Only the groups where the baseline model is worst",
        }[m],
        key="plan_mode",
        help="Targeted: a 3-fold cross-validation inside the training part scores the "
        "baseline per group (test rows are never used); the worst groups below the overall "
        "value are raised. The plan below gives the reason for every cell.",
    )
    worst = _number(c2, "plan_worst", "Targeted: how many groups", 1, 20, DEFAULTS.plan_worst)
    cap = _number(
        c3,
        "max_synthetic_ratio",
        "Cap: synthetic rows per real row (0 = no cap)",
        0.0,
        20.0,
        float(DEFAULTS.max_synthetic_ratio or 0.0),
        step=0.5,
        help="No group gets more synthetic rows than this many times its real rows. 1 (the "
        "default): never more synthetic than real rows.",
    )
    return {
        "plan_mode": mode,
        "plan_worst": int(worst),
        "max_synthetic_ratio": float(cap) or None,
    }


def _number(
    box: Any, key: str, label: str, low: float, high: float, default: float, **extra: Any
) -> float:
    """A number widget in ``box`` (a column), starting at ``default``."""
    value = box.number_input(label, min_value=low, max_value=high, value=default, key=key, **extra)
    return float(value)


def _privacy() -> dict[str, Any]:
    """DP-SGD settings of the CDDPM: off by default; ε, δ and the clipping bound."""
    st.caption(
        "Train the generator with differential privacy (DP-SGD): each patient's influence on "
        "the network is clipped and noise is added, so the synthetic rows provably reveal "
        "little about any one patient. Smaller ε is more private and gives less faithful "
        "rows; training takes longer. The ε spent is shown with the results."
    )
    on = st.toggle("Train with differential privacy", value=False, key="dp_on")
    c1, c2, c3 = st.columns(3)
    eps = c1.number_input(
        "Privacy budget ε", 0.1, 100.0, 10.0, 0.5, disabled=not on, key="dp_epsilon",
        help="1 is strong privacy, 10 is common in practice.",
    )  # fmt: skip
    delta = c2.number_input(
        "δ (0 = automatic: below 1 / 10n)", 0.0, 0.01, 0.0, format="%.0e",
        disabled=not on, key="dp_delta",
    )  # fmt: skip
    clip = c3.number_input(
        "Gradient clipping bound C", 0.1, 10.0, 1.0, 0.1, disabled=not on, key="dp_clip"
    )
    if not on:
        return {}
    overrides: dict[str, Any] = {"dp_epsilon": float(eps), "max_grad_norm": float(clip)}
    if delta:
        overrides["dp_delta"] = float(delta)
    return {"overrides": overrides}


def _advanced() -> dict[str, Any]:
    a1, a3 = st.columns(2)
    strategies = a1.multiselect(
        "Strategies to compare",
        list(STRATEGY_LABELS),
        default=list(DEFAULTS.strategies),
        format_func=lambda s: STRATEGY_LABELS[s],
        key="strategies",
    )
    device = a3.selectbox("Device", DEVICES, index=DEVICES.index(DEFAULTS.device), key="device")
    b1, b2, b3 = st.columns(3)
    steps = _number(
        b1,
        "train_steps",
        "Training steps (0 = the preset's time budget)",
        0,
        200_000,
        DEFAULTS.train_steps or 0,
        step=500,
    )
    min_cell = _number(
        b2,
        "min_cell_rows",
        "Do not synthesise cells with fewer real rows than",
        1,
        1_000,
        DEFAULTS.min_cell_rows,
    )
    allow_small = b3.checkbox(
        "Allow small cells anyway (privacy risk)",
        value=DEFAULTS.allow_small_cells,
        key="allow_small",
    )
    return {
        "strategies": tuple(strategies or DEFAULTS.strategies),
        "device": device,
        "train_steps": int(steps) or None,
        "min_cell_rows": int(min_cell),
        "allow_small_cells": bool(allow_small),
    }


def show_plan(settings: RunSettings, kinds: list[str]) -> bool:
    """The augmentation plan of ``settings`` (the worker's own preview); whether the run
    can start."""
    try:
        preview = current_preview(settings)
    except MCRAGEError as exc:
        show_error(exc, prefix="This run cannot start: ")
        return False
    cddpm = "cddpm" in settings.strategies
    can_run = show_preview(preview, cddpm=cddpm, what=" × ".join(kinds))
    if cddpm:
        show_small_cell_risk(
            preview.plan, min_rows=settings.min_cell_rows, allowed=settings.allow_small_cells
        )
    return can_run


def start_button(
    registry: RunRegistry, owner: str, settings: RunSettings, *, can_run: bool
) -> None:
    """Start the run with exactly ``settings`` (the worker reads ``settings.to_dict()``)."""
    if st.button(
        "Start training",
        type="primary",
        key="start_run",
        icon=":material/play_arrow:",
        disabled=not can_run,
        help=None if can_run else "Fix the problem shown above first.",
    ):
        try:
            run_id = registry.start_run(owner, settings, st.session_state[state.DATA])
        except MCRAGEError as exc:
            show_error(exc)
        else:
            state.select_run(run_id)


def show_small_cell_risk(plan: pd.DataFrame, *, min_rows: int, allowed: bool) -> None:
    """When small cells are allowed, warn about the plan cells (exact training rows) that
    the privacy guardrail would otherwise have skipped. When they are not allowed, the
    preview's notes name every skipped cell."""
    if not allowed or "n_real" not in plan or "n_add" not in plan:
        return
    small = plan[(plan["n_add"] > 0) & (plan["n_real"] < int(min_rows))]
    if small.empty:
        return
    not_groups = ("n_real", "n_add", "n_final", "blocked", "capped", "reason")
    cols = [c for c in plan.columns if c not in not_groups]
    names = ", ".join(
        " / ".join(md_escape(str(row[c])) for c in cols) + f" ({fmt_count(row['n_real'])} rows)"
        for _, row in small.iterrows()
    )
    st.warning(
        f"Privacy: {len(small)} cell(s) have fewer than {min_rows} real training rows "
        f"({names}). You allowed them anyway: a generator trained on so few patients can "
        "reproduce them closely.",
        icon=":material/privacy_tip:",
    )
