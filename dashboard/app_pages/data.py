"""1 · Data: load a table (upload or bundled sample), preview it, check and adjust roles."""

from __future__ import annotations

import contextlib

import pandas as pd
import streamlit as st

from dashboard import _helpers as h
from dashboard import state
from mcrage_core.errors import MCRAGEError
from mcrage_core.presentation.format import fmt_count, fmt_number, fmt_pct, format_table
from mcrage_core.tables.groups import MERGED_LABEL, apply_labels, format_labels, parse_labels
from mcrage_core.tables import SUPPORTED_EXTENSIONS, list_sheets, load_table

NONE = "(none)"
_EXCEL = (".xlsx", ".xlsm", ".xls")

st.title("1 · Data")
st.write(
    "Load the patient table to audit. Each row is one patient or stay; one column is the "
    "outcome (for example death or readmission). Nothing leaves this computer."
)


def _parse_value_labels(text: str, table: pd.DataFrame, target: str | None) -> dict | None:
    """The value labels written in the form (``{}`` when empty), or ``None`` after showing
    what is wrong, line by line, in plain words."""
    labels: dict[str, dict[str, str]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            parsed = parse_labels(line.strip())
        except MCRAGEError as exc:
            message = str(exc).replace("for example --labels ", "for example ")
            h.show_error(message, prefix=f"What do coded values mean? Line {number}: ")
            return None
        for col, mapping in parsed.items():
            labels.setdefault(col, {}).update(mapping)
    if target is not None and target in labels:
        h.show_error(
            f"the outcome column {target!r} keeps its own values; instead of labelling it, "
            "choose its positive class in the list above.",
            prefix="What do coded values mean? ",
        )
        return None
    try:
        apply_labels(table, labels)  # names a column not in the table, a label that is a code
    except MCRAGEError as exc:
        h.show_error(exc, prefix="What do coded values mean? ")
        return None
    return labels


# ----------------------------------------------------------------------------- loading
left, right = st.columns([3, 2], gap="large")
with left:
    uploaded = st.file_uploader(
        "Upload a table (CSV, Parquet or Excel)",
        type=[e.lstrip(".") for e in SUPPORTED_EXTENSIONS],
        key="upload",
        help="Up to 200 MB. Delimiter and text encoding are detected automatically.",
    )
with right:
    st.write("**No file at hand?** Try a real, de-identified sample:")
    for sample_key, (path, description) in h.SAMPLES.items():
        if st.button(
            f"Use the {path.stem} sample",
            key=f"sample_{sample_key}",
            help=description,
            icon=":material/dataset:",
        ):
            with h.user_errors():
                h.load_sample(sample_key)
            st.session_state[state.LAST_UPLOAD_ID] = None
            st.rerun()
        st.caption(description)

if uploaded is not None:
    sheet = None
    sheets: list[str] = []
    if uploaded.name.lower().endswith(_EXCEL):
        try:
            sheets = list_sheets(uploaded, filename=uploaded.name)
        except MCRAGEError:
            sheets = []
        if len(sheets) > 1:
            sheet = st.selectbox(
                "This workbook has several sheets: which one holds the patient table?",
                sheets,
                index=None,
                placeholder="Choose a sheet",
                key="sheet",
            )
    upload_id = f"{uploaded.file_id}:{sheet}"
    if len(sheets) > 1 and sheet is None:
        st.info("Choose the sheet to load.")
    elif upload_id != st.session_state[state.LAST_UPLOAD_ID]:
        st.session_state[state.LAST_UPLOAD_ID] = upload_id
        try:
            uploaded.seek(0)
            table = load_table(uploaded, filename=uploaded.name, sheet=sheet)
        except MCRAGEError as exc:
            # A failed upload never replaces the table already loaded.
            st.session_state[state.LOAD_ERROR] = str(exc)
        else:
            state.set_table(table, uploaded.name)
            st.rerun()  # the sidebar, drawn before this page, then shows the new table

if st.session_state[state.LOAD_ERROR]:
    h.show_error(st.session_state[state.LOAD_ERROR])
    if state.has_table():
        st.info(
            f"The table loaded before ({h.md_escape(st.session_state[state.DATA_NAME])}) is "
            "still in use."
        )

if not state.has_table():
    st.info(
        "Upload a file above, or click **Use the support2 sample** to explore with real data "
        "(SUPPORT2: 9,105 patients)."
    )
    st.stop()

df = st.session_state[state.DATA]
name = st.session_state[state.DATA_NAME]

# ----------------------------------------------------------------------------- preview
st.subheader("Preview")
c1, c2, c3 = st.columns(3)
c1.metric("Rows", fmt_count(len(df)))
c2.metric("Columns", fmt_count(df.shape[1]))
c3.metric("Missing cells", fmt_pct(df.isna().to_numpy().mean() if df.size else 0.0))
st.caption(f"File: {h.md_escape(name)}. First 100 rows:")
st.dataframe(df.head(100), width="stretch", height=260)

try:
    coerced, schema = h.current_schema()
except MCRAGEError as exc:
    # Show the problem, then let the user fix the roles (the form below stays usable).
    h.show_error(exc)
    with h.user_errors():
        coerced, schema = h.fallback_schema()

# ----------------------------------------------------------------------------- schema
st.subheader("Columns and their roles")
st.write(
    "MCRAGE guessed what each column is. **Check the outcome and the sensitive "
    "attributes** below and change them if they are wrong."
)
for warning in schema.warnings:
    h.show_warning(warning)
with contextlib.suppress(MCRAGEError):  # unusable labels are reported by the schema above
    for warning in h.labelled_table()[1]:  # e.g. a label for a code that never occurs
        h.show_warning(warning)

frame = schema.to_frame()
h.show_table(format_table(frame, {"missing_%": lambda v: fmt_number(v, 1)}))

if any(c.missing_fraction > 0 for c in schema.columns):
    with st.expander("Empty cells per column", expanded=True):
        st.plotly_chart(h.missingness_figure(schema), key="missingness")

if schema.excluded:
    st.write("**Kept out of modelling** (identifiers, personal details and your exclusions):")
    h.show_table(
        format_table(
            pd.DataFrame(
                {"column": list(schema.excluded), "reason": list(schema.excluded.values())}
            )
        )
    )

m1, m2, m3 = st.columns(3)
m1.metric("Outcome (target)", schema.target or "none")
m2.metric("Positive class", schema.positive_class or "–")
m3.metric(
    "Sensitive attributes",
    ", ".join(f"{k}: {v}" for k, v in schema.sensitive.items()) or "none found",
)

# ----------------------------------------------------------------------------- overrides
columns = [str(c) for c in df.columns]
saved = h.choices()
with st.form("roles", border=True):
    st.write("**Change roles**")
    f1, f2 = st.columns(2)
    target = f1.selectbox(
        "Outcome column (target)",
        [NONE, *columns],
        index=1 + columns.index(schema.target) if schema.target in columns else 0,
        key="target",
    )
    classes = [str(c) for c in schema.classes]
    positive = f2.selectbox(
        "Positive class (the event to predict)",
        classes or [NONE],
        index=classes.index(schema.positive_class) if schema.positive_class in classes else 0,
        key="positive_class",
        help="Applies to the outcome shown above; after changing the outcome, apply first.",
    )
    s1, s2, s3 = st.columns(3)
    picks = {}
    for col_box, kind, label in (
        (s1, "race", "Race / ethnicity column"),
        (s2, "sex", "Sex / gender column"),
        (s3, "age", "Age column (years)"),
    ):
        current = schema.sensitive.get(kind)
        picks[kind] = col_box.selectbox(
            label,
            [NONE, *columns],
            index=1 + columns.index(current) if current in columns else 0,
            key=f"sensitive_{kind}",
        )
    g1, g2 = st.columns(2)
    bands = g1.text_input(
        "Age band edges (years)",
        ", ".join(str(b) for b in schema.age_bands),
        key="age_bands",
        help="30, 45, 65, 80 makes the bands <30, 30-44, 45-64, 65-79 and 80+.",
    )
    excluded = g2.multiselect(
        "Columns kept out of modelling",
        columns,
        default=[c for c in schema.excluded if c in columns],
        key="exclude",
    )
    l1, l2 = st.columns([3, 1])
    chosen = [c for kind, c in schema.sensitive.items() if kind in ("race", "sex")]
    coded = h.coded_columns(df, chosen)
    labels_text = l1.text_area(
        "What do coded values mean?",
        "\n".join(format_labels(saved.get("value_labels") or {})),
        key="value_labels",
        height=90,
        placeholder="\n".join(f"{c}=" + ",".join(f"{k}:…" for k in ks) for c, ks in coded.items())
        or "raceth=1:White,2:Black,3:Hispanic",
        help="One line per column, in the form raceth=1:White,2:Black,3:Hispanic. Charts, "
        "tables and the report then show the labels; the synthetic files keep your codes.",
    )
    if coded:
        l1.caption(
            "Coded values in "
            + "; ".join(
                f"{h.md_escape(c)}: {h.md_escape(', '.join(ks))}" for c, ks in coded.items()
            )
            + ". Write what each code means, for example raceth=1:White,2:Black."
        )
    merge_below = l2.number_input(
        "Merge groups smaller than N rows into 'other (merged)'",
        min_value=0,
        max_value=100_000,
        value=int(saved.get("merge_below") or 0),
        step=5,
        key="merge_below",
        help="0 = off. Race or sex groups with fewer rows are analysed together as one group "
        f"'{MERGED_LABEL}' by the audit (the synthetic files keep the original values).",
    )
    submitted = st.form_submit_button("Apply", type="primary", key="apply_roles")

if submitted:
    new = dict(state.DEFAULT_CHOICES)
    target_changed = (None if target == NONE else target) != schema.target
    new["target"] = None if target == NONE else target
    new["positive_class"] = None if target_changed or positive == NONE else positive
    new["sensitive"] = {k: (None if v == NONE else v) for k, v in picks.items()}
    try:
        new["age_bands"] = [int(x) for x in bands.replace(";", ",").split(",") if x.strip()]
    except ValueError:
        h.show_error(
            f"Age band edges must be whole numbers separated by commas, like 30, 45, 65, 80; "
            f"got {bands!r}."
        )
        st.stop()
    # only what the user changed: automatic exclusions (identifiers, empty or constant
    # columns) keep their own reasons; removing one brings it back into modelling
    auto = [c for c, why in schema.excluded.items() if why != "excluded by the user"]
    new["exclude"] = [c for c in excluded if c != new["target"] and c not in auto]
    new["include"] = [c for c in auto if c not in excluded]
    value_labels = _parse_value_labels(labels_text, df, new["target"])
    if value_labels is None:
        st.stop()
    new["value_labels"] = value_labels
    new["merge_below"] = int(merge_below)
    try:
        from mcrage_core.tables import infer_schema

        infer_schema(apply_labels(df, value_labels)[0], **h.schema_args(new))
    except MCRAGEError as exc:
        h.show_error(exc, prefix="These settings cannot be used: ")
    else:
        state.set_choices(new)
        st.rerun()

if schema.target is None:
    st.warning("Choose the outcome column above: the fairness audit needs one.")
if not schema.sensitive:
    st.warning("Choose at least one sensitive attribute (race, sex or age) above.")
h.next_step(h.PAGE_IMBALANCE, "Next: 2 · Imbalance, see which groups are under-represented")

# Prepare the Imbalance page while the user reads this one (memoised per session).
if schema.sensitive:
    with contextlib.suppress(MCRAGEError):  # the Imbalance page shows any message
        h.current_audit()
