"""Small helpers shared by the dashboard pages: guards, per-session derived results,
display tables, and a few plotly figures that only the dashboard needs.

Numbers and headers are formatted by :mod:`mcrage_core.presentation.format` (shared with the
HTML report); text that comes from users or from error messages is escaped with
:func:`md_escape` before Streamlit renders it as markdown."""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import state
from mcrage_core.errors import MCRAGEError
from mcrage_core.presentation.format import (
    NO_VALUE,
    fmt_count,
    fmt_duration,
    fmt_number,
    fmt_pct,
    human_label,
    sort_groups,
)
from mcrage_core.rebalance import STRATEGY_LABELS

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLES: dict[str, tuple[Path, str]] = {
    "support2": (
        REPO_ROOT / "sample_data" / "support2.csv",
        "SUPPORT2: 9,105 seriously ill adults; outcome: died within 6 months",
    ),
    "patient_treatment": (
        REPO_ROOT / "sample_data" / "patient_treatment.csv",
        "Patient treatment: 4,412 lab panels; outcome: inpatient or outpatient",
    ),
}

PAGE_DATA = "app_pages/data.py"
PAGE_IMBALANCE = "app_pages/imbalance.py"
PAGE_TRAIN = "app_pages/train.py"
PAGE_COMPARE = "app_pages/compare.py"
PAGE_RESULTS = "app_pages/results.py"
PAGE_REPORT = "app_pages/report.py"

# The page files live in app_pages/, not pages/: Streamlit treats a folder named pages/
# next to the entry script as an old-style multipage app and may then run a page file
# without app.py (no session set-up, no sidebar).


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Show library errors as readable messages and stop the page (never a traceback)."""
    try:
        yield
    except MCRAGEError as exc:
        show_error(exc)
        st.stop()
    except Exception as exc:  # noqa: BLE001 - last line of defence in the UI
        st.error(
            f"Something unexpected went wrong ({type(exc).__name__}). Your data and runs are "
            "kept; try again, and if it happens again please report it."
        )
        st.stop()


def next_step(page: str, label: str, *, note: str | None = None) -> None:
    """A visible pointer to the next page."""
    st.divider()
    if note:
        st.caption(note)
    st.page_link(page, label=label, icon=":material/arrow_forward:")


def require_table() -> pd.DataFrame:
    """The session's table, or a helpful empty state that links to the Data page."""
    df = st.session_state.get(state.DATA)
    if df is None:
        st.info(
            "No table is loaded yet. Start on the Data page: upload a CSV, Parquet or Excel "
            "file, or pick the bundled sample with one click."
        )
        st.page_link(PAGE_DATA, label="Go to 1 · Data", icon=":material/upload_file:")
        st.stop()
    return df


def choices() -> dict[str, Any]:
    return dict(st.session_state[state.CHOICES])


def schema_args(ch: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments of ``infer_schema`` from the stored choices (``value_labels`` and
    ``merge_below`` are not among them: the labels are applied to the table first, and
    merging is done by the audit)."""
    args: dict[str, Any] = {
        "target": ch.get("target"),
        "positive_class": ch.get("positive_class"),
        "sensitive": ch.get("sensitive"),
        "exclude": tuple(ch.get("exclude") or ()),
        "include": tuple(ch.get("include") or ()),
    }
    if ch.get("age_bands"):
        args["age_bands"] = tuple(ch["age_bands"])
    return args


def _choices_key(ch: dict[str, Any]) -> tuple[str, str]:
    return (st.session_state[state.DATA_VERSION], json.dumps(ch, sort_keys=True, default=str))


def labelled_table(ch: dict[str, Any] | None = None) -> tuple[pd.DataFrame, list[str]]:
    """The session's table with coded values replaced by the user's value labels (what
    every chart, table and pick list shows), and warnings such as codes that never occur
    (memoised)."""
    from mcrage_core.tables.groups import apply_labels

    df = require_table()
    ch = choices() if ch is None else ch
    labels = ch.get("value_labels") or None
    key = (st.session_state[state.DATA_VERSION], json.dumps(labels, sort_keys=True))
    return state.memo("labelled", key, lambda: apply_labels(df, labels))


def current_schema(ch: dict[str, Any] | None = None) -> tuple[pd.DataFrame, Any]:
    """``infer_schema`` of the session's table, with its value labels applied, and the
    session's choices (memoised). For display: a run gets the table in its own coding."""
    from mcrage_core.tables import infer_schema

    ch = choices() if ch is None else ch
    table, _ = labelled_table(ch)
    return state.memo("schema", _choices_key(ch), lambda: infer_schema(table, **schema_args(ch)))


def run_schema(ch: dict[str, Any] | None = None) -> tuple[pd.DataFrame, Any]:
    """``infer_schema`` of the table in its own coding, exactly as the run's worker calls
    it (the audit applies the value labels itself)."""
    from mcrage_core.tables import infer_schema

    df = require_table()
    ch = choices() if ch is None else ch
    args = schema_args(ch)
    key = (st.session_state[state.DATA_VERSION], json.dumps(args, sort_keys=True, default=str))
    return state.memo("run_schema", key, lambda: infer_schema(df, **args))


def coded_columns(
    df: pd.DataFrame, columns: list[str], *, max_codes: int = 12
) -> dict[str, list[str]]:
    """The codes of those ``columns`` that look coded (numbers, or few distinct short
    values such as ``M``/``F``), in order: ``{"raceth": ["1", "2", "3"]}``."""
    from mcrage_core.tables.groups import code_key

    out: dict[str, list[str]] = {}
    for col in columns:
        if col not in df.columns:
            continue
        values = pd.unique(df[col].dropna())
        if not 0 < len(values) <= max_codes:
            continue
        keys = [code_key(v) for v in values]
        numeric = pd.api.types.is_numeric_dtype(df[col]) or all(
            k.lstrip("-").isdigit() for k in keys
        )
        if not (numeric or all(len(k) <= 2 for k in keys)):
            continue

        def order(k: str) -> tuple[int, float, str]:
            try:
                return (0, float(k), k)
            except ValueError:
                return (1, 0.0, k)

        out[col] = sorted(dict.fromkeys(keys), key=order)
    return out


def fallback_schema() -> tuple[pd.DataFrame, Any]:
    """Schema with nothing chosen and no outcome guessed: used when the current choices fail,
    so that the user can still pick other roles."""
    from mcrage_core.tables import infer_schema

    df = require_table()
    key = st.session_state[state.DATA_VERSION]
    return state.memo("fallback_schema", key, lambda: infer_schema(df, detect_target=False))


def current_audit() -> Any:
    """``audit_imbalance`` of the session's table (memoised)."""
    from mcrage_core.tables import audit_imbalance

    coerced, schema = current_schema()
    small = int(st.session_state[state.SMALL_CELL])
    key = (*_choices_key(choices()), small)
    return state.memo("audit", key, lambda: audit_imbalance(coerced, schema, small_cell=small))


def load_sample(name: str) -> None:
    """Load a bundled sample table as the session's table."""
    from mcrage_core.tables import load_table

    path, _ = SAMPLES[name]
    df = load_table(path)
    state.set_table(df, path.name)


def md_escape(text: object) -> str:
    """Escape user text for Streamlit markdown (no links, emphasis or HTML from user data)."""
    out = str(text)
    for ch in "\\`*_{}[]()<>#+-.!|:$~":
        out = out.replace(ch, "\\" + ch)
    return out


def show_error(message: object, *, prefix: str = "") -> None:
    """An error box whose message is shown literally: ``__rare__`` or ``*x*`` in a column
    name or an error text never turn into markdown."""
    st.error(prefix + md_escape(message))


def show_warning(message: object, **kwargs: Any) -> None:
    """A warning box whose (library-written, data-bearing) message is shown literally."""
    st.warning(md_escape(message), **kwargs)


def status_badge(status: str) -> str:
    return {
        "queued": ":orange[queued]",
        "running": ":blue[running]",
        "succeeded": ":green[succeeded]",
        "failed": ":red[failed]",
        "cancelled": ":gray[cancelled]",
    }.get(status, status)


def show_table(
    frame: pd.DataFrame,
    *,
    key: str | None = None,
    height: int | None = None,
    column_config: dict[str, Any] | None = None,
) -> None:
    """A display table (already formatted, e.g. by :func:`format_table`): full width,
    no index, sized to its rows up to ``height``."""
    rows = len(frame.data if hasattr(frame, "data") else frame)
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        height=min(height or 420, 38 + 35 * max(rows, 1)),
        column_config=column_config,
        key=key,
    )


def sort_by_group(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``frame`` with its rows in group display order (age bands by lower bound)."""
    present = [c for c in columns if c in frame.columns]
    if not present or frame.empty:
        return frame
    # rank each column's values in display order; text groups keep their first appearance,
    # so the rows of one group stay together
    ranks = {}
    for col in present:
        values = [str(v) for v in frame[col].tolist()]
        ranks[col] = {v: i for i, v in enumerate(sort_groups(list(dict.fromkeys(values))))}
    keys = [
        tuple(ranks[c][str(v)] for c, v in zip(present, row, strict=True))
        for row in frame[present].itertuples(index=False)
    ]
    order = sorted(range(len(frame)), key=keys.__getitem__)
    return frame.iloc[order].reset_index(drop=True)


# --------------------------------------------------------------------------- figures


def missingness_figure(schema: Any) -> go.Figure:
    """Share of empty cells per column (only columns with any), largest first."""
    cols = sorted(
        (c for c in schema.columns if c.missing_fraction > 0),
        key=lambda c: c.missing_fraction,
        reverse=True,
    )
    fig = go.Figure(
        go.Bar(
            x=[c.name for c in cols],
            y=[c.missing_fraction for c in cols],
            marker_color="#7f7f7f",
            hovertemplate="%{x}: %{y:.0%} empty<extra></extra>",
        )
    )
    fig.update_layout(
        title="Empty cells per column",
        yaxis={"tickformat": ".0%", "range": [0, 1]},
        template="plotly_white",
        height=300,
        margin={"l": 50, "r": 10, "t": 50, "b": 90},
    )
    return fig


def intersection_figure(intersection: pd.DataFrame, columns: list[str]) -> go.Figure:
    """Heatmap of counts: the first group column down, the other(s) combined across
    (e.g. race × "sex · age band")."""
    from mcrage_core.presentation import plots

    if len(columns) == 1:
        frame = intersection.assign(all="all")
        return plots.intersection_heatmap(frame, rows=columns[0], columns="all")
    across = " · ".join(columns[1:])
    frame = intersection.copy()
    frame[across] = frame[columns[1:]].astype(str).agg(" · ".join, axis=1)
    return plots.intersection_heatmap(frame, rows=columns[0], columns=across)


def sidebar() -> None:
    """What is loaded and which run is selected, on every page."""
    with st.sidebar:
        st.markdown("**MCRAGE** · find and repair demographic imbalance")
        name = st.session_state.get(state.DATA_NAME)
        df = st.session_state.get(state.DATA)
        if df is not None and name:
            st.caption(
                f"Table: {md_escape(name)} ({fmt_count(len(df))} rows × "
                f"{fmt_count(df.shape[1])} columns)"
            )
        else:
            st.caption("No table loaded yet: start with 1 · Data.")
        run_id = st.session_state.get(state.CURRENT_RUN)
        if run_id:
            st.caption(f"Selected run: {run_id}")


# --------------------------------------------------------------------------- train page

STRATEGY_CHOICES: dict[str, str] = dict(STRATEGY_LABELS)
# every strategy by default: MCRAGE has to beat the simple alternatives to be worth its cost
DEFAULT_STRATEGIES: tuple[str, ...] = tuple(STRATEGY_LABELS)


def presets() -> dict[str, tuple[str, str]]:
    """Model presets shown on the Train page: key -> (label, caption)."""
    out = {
        "quick": ("Quick", "a few minutes on a laptop CPU; good for a first look"),
        "standard": ("Standard", "better synthetic rows; best with a GPU"),
        "thorough": ("Thorough", "largest model, longest training; use a GPU"),
    }
    if os.environ.get("MCRAGE_TEST_MODE") == "1":
        out = {"tiny": ("Tiny (test)", "seconds; for automated tests only"), **out}
    return out


@st.cache_resource(show_spinner=False)
def _device_info() -> dict[str, Any]:
    """Compute available to this server (no user data: safe to share between sessions)."""
    try:
        from mcrage_core.diffusion.device import device_info
    except ImportError:
        return {"gpus": []}
    return device_info()


def device_label() -> str:
    info = _device_info()
    gpus = info.get("gpus") or []
    if gpus:
        g = gpus[0]
        return f":material/memory: GPU: {g['name']} ({g['memory_gib']} GiB)"
    if info.get("mps_available"):
        return ":material/memory: Apple GPU (Metal)"
    cpus = info.get("cpu_count")
    return f":material/memory: CPU ({cpus} cores), no GPU found: training runs on the CPU"


def run_groups() -> dict[str, str]:
    """Sensitive kind -> the group column the run uses for it (age -> ``age_band``)."""
    from mcrage_core.tables import group_columns

    coerced, schema = run_schema()
    return state.memo(
        "run_groups", _choices_key(choices()), lambda: group_columns(coerced, schema)[1]
    )


def current_preview(params: dict[str, Any]) -> Any:
    """:func:`mcrage_core.evaluation.pipeline.preview_plan` of a run with ``params`` (the settings
    :func:`run_params` writes): the worker's own config, the table in its own coding and
    the exact training split, so the counts are the ones the run generates (memoised)."""
    from mcrage_core.evaluation import preview_plan
    from mcrage_core.jobs.worker import audit_config

    coerced, schema = run_schema(params["schema"])
    key = (
        st.session_state[state.DATA_VERSION],
        json.dumps({k: params[k] for k in ("schema", "audit")}, sort_keys=True, default=str),
    )
    return state.memo(
        "preview", key, lambda: preview_plan(coerced, schema, audit_config(params, schema))
    )


def run_params(
    *,
    schema_choices: dict[str, Any],
    rebalance: list[str],
    strategies: list[str],
    preset: str,
    device: str,
    n_seeds: int,
    train_steps: int | None,
    min_cell_rows: int,
    allow_small_cells: bool,
    threshold: float = 0.5,
) -> dict[str, Any]:
    """The settings stored with a run and read by ``mcrage_core.jobs.worker`` (schema choices,
    included columns among them; value labels, merging and the decision threshold go to
    the audit)."""
    schema = {k: v for k, v in schema_choices.items() if k not in ("value_labels", "merge_below")}
    return {
        "schema": schema,
        "audit": {
            "rebalance": list(rebalance),
            "strategies": list(strategies),
            "preset": preset,
            "device": device,
            "n_seeds": n_seeds,
            "train_steps": train_steps,
            "min_cell_rows": min_cell_rows,
            "allow_small_cells": allow_small_cells,
            "value_labels": dict(schema_choices.get("value_labels") or {}),
            "merge_below": int(schema_choices.get("merge_below") or 0),
            "threshold": float(threshold),
        },
        "table": st.session_state.get(state.DATA_NAME),
    }


def run_label(record: Any) -> str:
    """How a run is named in pick lists. It never changes during the run's life (no
    status in it): the browser keeps the chosen label as the widget's value, so a label
    that changed would leave a stale text, such as "running" for a finished run."""
    audit = record.params.get("audit") or {}
    when = time.strftime("%d %b %H:%M", time.localtime(record.created))
    parts = [
        when,
        str(record.params.get("table") or ""),
        str(audit.get("preset") or ""),
        ", ".join(str(c) for c in audit.get("rebalance") or []),
        record.id,
    ]
    return " · ".join(p for p in parts if p)


def run_row(record: Any, *, owner: str, now: float) -> dict[str, Any]:
    """One row of the past-runs table (headers in plain language)."""
    audit = record.params.get("audit") or {}
    row = {
        "started": time.strftime("%Y-%m-%d %H:%M", time.localtime(record.created)),
        "status": record.status,
        "duration": fmt_duration(record.duration_at(now)),
        "table": str(record.params.get("table") or ""),
        "rebalance": ", ".join(str(c) for c in audit.get("rebalance") or []),
        "preset": str(audit.get("preset", "")),
        "shared": "yes" if record.shared else ("" if record.owner == owner else "with you"),
        "id": record.id,
        "error": _shorten(record.error or "", 90),
    }
    return {human_label(k): v for k, v in row.items()}


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def run_picker(label: str, runs: list[Any], *, key: str, wanted: str) -> None:
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


def show_run(record: Any, registry: Any, *, owner: str, now: float) -> None:
    """Status, live progress, errors and actions of one run (``now``: the clock shared with
    the past-runs table, so both show the same duration)."""
    mine = record.owner == owner
    st.markdown(
        f"Run `{record.id}` · {status_badge(record.status)} · "
        f"duration {fmt_duration(record.duration_at(now))}" + ("" if mine else " · shared with you")
    )
    prog = registry.read_progress(record.id) or {}
    event = prog.get("event") or record.progress or {}
    history = prog.get("history") or []
    if record.status in ("queued", "running"):
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
            registry.cancel(record.id, owner=owner)
            st.toast("Cancel requested: the run stops within a few seconds.")
        st.caption("You can leave or refresh this page: the run keeps going in the background.")
    elif record.status == "failed":
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
    elif record.status == "cancelled":
        st.warning("This run was cancelled.")
        _resume_button(record, registry, owner=owner, mine=mine)
    else:
        st.success("Finished. See the results, or compare real and synthetic rows.")
        c1, c2 = st.columns(2)
        c1.page_link(PAGE_RESULTS, label="Open 5 · Results", icon=":material/balance:")
        c2.page_link(PAGE_COMPARE, label="Open 4 · Compare", icon=":material/compare:")
    if history:
        from mcrage_core.presentation.plots import loss_curve

        st.plotly_chart(loss_curve(history), key=f"loss_{record.id}")
    if mine:
        shared = st.toggle(
            "Share this run with other sessions (read-only)", value=record.shared, key="share_run"
        )
        if shared != record.shared:
            registry.set_shared(record.id, shared, owner=owner)
            st.rerun(scope="app")


def _resume_button(record: Any, registry: Any, *, owner: str, mine: bool) -> None:
    if not (mine and record.can_resume):
        return
    if st.button("Resume this run", key="resume_run", icon=":material/replay:"):
        try:
            registry.resume(record.id, owner=owner)
        except MCRAGEError as exc:
            show_error(exc)
        else:
            st.rerun(scope="app")


_LOG_DOWNLOAD_BYTES = 2_000_000


def _worker_log(record: Any, *, mine: bool) -> None:
    """Where the run's technical log is, so that it can be sent with a problem report."""
    path = record.log_path
    st.caption(
        "Technical details are in the run's log file. To report the problem, send this file:"
    )
    st.code(str(path), language=None)
    if mine and path.is_file():
        with open(path, "rb") as fh:
            fh.seek(max(0, path.stat().st_size - _LOG_DOWNLOAD_BYTES))
            data = fh.read()
        st.download_button(
            "Download worker.log",
            data=data,
            file_name=f"mcrage_{record.id}_worker.log",
            mime="text/plain",
            key="download_log",
            icon=":material/download:",
        )


# --------------------------------------------------------------------------- finished runs

_OPENED_SHARED = "mcrage_opened_shared_run"  # str | None: shared run id last opened by id


def pick_finished_run(*, purpose: str) -> Any:
    """Choose a finished audit run of this session (or one shared with it).

    Shows a helpful empty state and stops the page when there is none.
    """
    registry = state.registry()
    owner = state.owner()
    registry.refresh()
    runs = [r for r in registry.list_runs(owner) if r.kind == "audit"]
    done = [r for r in runs if r.status == "succeeded"]
    wanted: str | None = None
    with st.expander("Open a run that someone shared with you"):
        shared_id = st.text_input(
            "Run id", key="shared_run_id", placeholder="20250101-120000-1a2b3c4d"
        ).strip()
        if shared_id:
            try:
                shared = registry.get(shared_id, owner=owner)
            except MCRAGEError as exc:
                show_error(exc)
            else:
                if shared.status != "succeeded":
                    st.info(
                        f"Run {shared.id} is {shared.status}: its {purpose} appear here when "
                        "it has finished."
                    )
                else:
                    if shared.id not in {r.id for r in done}:
                        done.insert(0, shared)
                    if st.session_state.get(_OPENED_SHARED) != shared.id:
                        st.session_state[_OPENED_SHARED] = shared.id
                        wanted = shared.id
    if not done:
        active = [r for r in runs if r.is_active]
        if active:
            st.info(
                f"A run is still {active[0].status}. Its {purpose} appear here when it finishes; "
                "follow its progress on the Train page."
            )
        else:
            st.info(
                f"No finished run yet. The {purpose} appear here after a training run: "
                "start one on the Train page (the Quick preset takes a few minutes on a CPU)."
            )
        st.page_link(PAGE_TRAIN, label="Go to 3 · Train", icon=":material/model_training:")
        st.stop()
    ids = [r.id for r in done]
    current = st.session_state.get(state.CURRENT_RUN)
    if wanted is None:
        wanted = current if current in ids else ids[0]
    run_picker("Run", done, key=f"run_{purpose.split()[0]}", wanted=wanted)
    state.select_run(wanted)  # runs the script again if the selection changed (sidebar)
    return next(r for r in done if r.id == wanted)


def load_results(record: Any) -> Any:
    """The run's :class:`~mcrage_core.evaluation.results.AuditResults` (memoised per run)."""
    from mcrage_core.evaluation.results import AuditResults

    path = record.artefact("results")
    if path is None:
        st.error("This run has no results file; it may have been deleted. Start a new run.")
        st.stop()
    key = (record.id, path.stat().st_mtime_ns)
    with user_errors():
        return state.memo(
            "results", key, lambda: AuditResults.from_json(path.read_text(encoding="utf-8"))
        )


def load_run_csv(record: Any, name: str) -> pd.DataFrame | None:
    """A CSV artefact of a run (``synthetic`` or ``augmented``), memoised per run."""
    path = record.artefact(name)
    if path is None:
        return None
    key = (record.id, path.stat().st_mtime_ns)
    with user_errors():
        return state.memo(f"csv_{name}", key, lambda: pd.read_csv(path, low_memory=False))


def run_file(record: Any, name: str) -> Path | None:
    """A run artefact by name: the registry's names (``synthetic``, ``report`` ...) or
    ``columns``, the synthetic files' sidecar (``synthetic.columns.json``)."""
    from mcrage_core.tables.records import SIDECAR_FILE

    if name == "columns":
        path = Path(record.run_dir) / SIDECAR_FILE
        return path if path.is_file() else None
    return record.artefact(name)


def run_sidecar(record: Any) -> dict[str, Any]:
    """The run's ``synthetic.columns.json`` (``{}`` when absent or unreadable)."""
    path = run_file(record, "columns")
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def why_no_synthetic_rows(record: Any, results: Any) -> str:
    """What actually happened when a finished run has no synthetic rows: MCRAGE was not
    among the strategies, the plan asked for none, the privacy guardrail skipped every
    cell (named), or MCRAGE refused (its notes)."""
    again = "Start a run with other settings on the Train page to compare."
    if "cddpm" not in results.strategies:
        chosen = ", ".join(
            (results.dataset.get("strategy_labels") or {}).get(s, s) for s in results.strategies
        )
        return (
            f"This run produced no synthetic rows: MCRAGE (CDDPM) was not among its strategies "
            f"({chosen}). To compare real and synthetic rows, start a run with it on the Train "
            "page (Advanced, Strategies to compare)."
        )
    side = run_sidecar(record)
    planned = side.get("planned_rows")
    blocked = [b for b in side.get("blocked_cells") or [] if isinstance(b, dict)]
    if planned == 0:
        return (
            "This run produced no synthetic rows: the plan asked for none (the groups it "
            f"rebalances are already as large as the largest one). {again}"
        )
    if blocked and not side.get("planned_rows_after_guardrail"):
        min_rows = (results.settings or {}).get("min_cell_rows", 20)
        cells = "; ".join(
            ", ".join(
                f"{k} = {v}" for k, v in cell.items() if k not in ("n_real", "n_add", "blocked")
            )
            + f" ({fmt_count(cell.get('n_real'))} real training rows, "
            f"{fmt_count(cell.get('n_add'))} planned)"
            for cell in blocked
        )
        return (
            "This run produced no synthetic rows: the privacy guardrail skipped every cell of "
            f"the plan, because each has fewer than {min_rows} real training rows: {cells}. "
            "Merge small groups (Data page), rebalance a larger attribute, or lower the limit "
            "or allow small cells (Train page, Advanced; a privacy risk)."
        )
    notes = list((results.strategy_notes or {}).get("cddpm") or [])
    if notes:
        return "MCRAGE generated no synthetic rows in this run: " + " ".join(notes)
    return (
        "MCRAGE generated no synthetic rows in this run, and the run recorded no reason; its "
        f"worker.log has the details. {again}"
    )


def with_audit_groups(frame: pd.DataFrame, results: Any, record: Any) -> pd.DataFrame:
    """A run's CSV (in the input's own codes) as the audit saw it: value labels applied,
    and the group columns the results are reported by (merged groups, age bands) added."""
    from mcrage_core.tables.groups import MERGED_LABEL, apply_labels, code_key
    from mcrage_core.tables import DEFAULT_AGE_BANDS, add_age_band

    labels = {
        c: m for c, m in (results.dataset.get("value_labels") or {}).items() if c in frame.columns
    }
    try:
        out, _ = apply_labels(frame, labels)
    except MCRAGEError:
        out = frame
    merged = results.dataset.get("merged_groups") or {}
    edges = (record.params.get("schema") or {}).get("age_bands") or DEFAULT_AGE_BANDS
    for gcol, src in (results.dataset.get("attributes") or {}).items():
        if gcol in out.columns or src not in out.columns:
            continue
        if gcol in merged:
            keys = out[src].map(lambda v: code_key(v) if pd.notna(v) else None)
            out = out.assign(**{gcol: keys.where(~keys.isin(merged[gcol]), MERGED_LABEL)})
        else:
            with contextlib.suppress(MCRAGEError, ValueError, TypeError):
                out = add_age_band(out, src, tuple(edges), name=gcol)
                out[gcol] = out[gcol].astype(object).where(out[gcol].notna(), None)
    return out


def show_small_cell_risk(plan: pd.DataFrame, *, min_rows: int, allowed: bool) -> None:
    """When small cells are allowed, warn about the plan cells (exact training rows) that
    the privacy guardrail would otherwise have skipped. When they are not allowed, the
    preview's notes name every skipped cell."""
    if not allowed or "n_real" not in plan or "n_add" not in plan:
        return
    small = plan[(plan["n_add"] > 0) & (plan["n_real"] < int(min_rows))]
    if small.empty:
        return
    cols = [c for c in plan.columns if c not in ("n_real", "n_add", "n_final", "blocked")]
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
