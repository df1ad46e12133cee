"""The Data page's "Change roles" form: outcome and positive class, sensitive columns,
age bands, exclusions, value labels of coded columns and merging of small groups. Applying
it checks the choices with the same schema inference a run uses, then keeps them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd
import streamlit as st

from dashboard import state
from dashboard.messages import md_escape, show_error
from dashboard.services import choices, run_settings
from mcrage_core.errors import MCRAGEError
from mcrage_core.tables import MERGED_LABEL, apply_labels, code_key, format_labels, parse_labels

if TYPE_CHECKING:
    from mcrage_core.tables import Schema

__all__ = ["NONE", "coded_columns", "parse_value_labels", "roles_form"]

NONE = "(none)"
_SENSITIVE = (("race", "Race / ethnicity column"), ("sex", "Sex / gender column"))
_AGE = ("age", "Age column (years)")


def coded_columns(
    df: pd.DataFrame, columns: list[str], *, max_codes: int = 12
) -> dict[str, list[str]]:
    """The codes of those ``columns`` that look coded (numbers, or few distinct short
    values such as ``M``/``F``), in order: ``{"raceth": ["1", "2", "3"]}``."""
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
        if numeric or all(len(k) <= 2 for k in keys):
            out[col] = sorted(dict.fromkeys(keys), key=_code_order)
    return out


def _code_order(k: str) -> tuple[int, float, str]:
    try:
        return (0, float(k), k)
    except ValueError:
        return (1, 0.0, k)


def parse_value_labels(
    text: str, table: pd.DataFrame, target: str | None
) -> dict[str, dict[str, str]] | None:
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
            show_error(message, prefix=f"What do coded values mean? Line {number}: ")
            return None
        for col, mapping in parsed.items():
            labels.setdefault(col, {}).update(mapping)
    if target is not None and target in labels:
        show_error(
            f"the outcome column {target!r} keeps its own values; instead of labelling it, "
            "choose its positive class in the list above.",
            prefix="What do coded values mean? ",
        )
        return None
    try:
        apply_labels(table, labels)  # names a column not in the table, a label that is a code
    except MCRAGEError as exc:
        show_error(exc, prefix="What do coded values mean? ")
        return None
    return labels


def _pick(box: Any, label: str, columns: list[str], current: str | None, key: str) -> str:
    """A column choice with "(none)" first, preselecting ``current``."""
    index = 1 + columns.index(current) if current in columns else 0
    return str(box.selectbox(label, [NONE, *columns], index=index, key=key))


def _roles_fields(df: pd.DataFrame, schema: Schema) -> dict[str, Any]:
    """The form's role widgets (inside the form): their raw values by name."""
    columns = [str(c) for c in df.columns]
    f1, f2 = st.columns(2)
    target = _pick(f1, "Outcome column (target)", columns, schema.target, "target")
    classes = [str(c) for c in schema.classes]
    positive = f2.selectbox(
        "Positive class (the event to predict)",
        classes or [NONE],
        index=classes.index(schema.positive_class) if schema.positive_class in classes else 0,
        key="positive_class",
        help="Applies to the outcome shown above; after changing the outcome, apply first.",
    )
    boxes = st.columns(3)
    picks = {
        kind: _pick(box, label, columns, schema.sensitive.get(kind), f"sensitive_{kind}")
        for box, (kind, label) in zip(boxes, (*_SENSITIVE, _AGE), strict=True)
    }
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
    return {
        "target": target,
        "positive": positive,
        "picks": picks,
        "bands": bands,
        "excluded": excluded,
    }


def _labels_fields(df: pd.DataFrame, schema: Schema) -> tuple[str, int]:
    """The value-labels box (with the codes found as a hint) and the merge threshold."""
    saved = choices()
    l1, l2 = st.columns([3, 1])
    coded = coded_columns(df, [c for k, c in schema.sensitive.items() if k in ("race", "sex")])
    text = l1.text_area(
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
            + "; ".join(f"{md_escape(c)}: {md_escape(', '.join(ks))}" for c, ks in coded.items())
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
    return text, int(merge_below)


def roles_form(df: pd.DataFrame, schema: Schema) -> None:
    """The form; on Apply, the new choices are checked and kept (the page runs again)."""
    with st.form("roles", border=True):
        st.write("**Change roles**")
        fields = _roles_fields(df, schema)
        labels_text, merge_below = _labels_fields(df, schema)
        submitted = st.form_submit_button("Apply", type="primary", key="apply_roles")
    if submitted:
        _apply(df, schema, fields, labels_text, merge_below)


def _apply(
    df: pd.DataFrame, schema: Schema, fields: dict[str, Any], labels_text: str, merge_below: int
) -> None:
    new = dict(state.DEFAULT_CHOICES)
    target = None if fields["target"] == NONE else fields["target"]
    new["target"] = target
    positive = fields["positive"]
    new["positive_class"] = None if target != schema.target or positive == NONE else positive
    new["sensitive"] = {k: (None if v == NONE else v) for k, v in fields["picks"].items()}
    bands = fields["bands"]
    try:
        new["age_bands"] = [int(x) for x in bands.replace(";", ",").split(",") if x.strip()]
    except ValueError:
        show_error(
            f"Age band edges must be whole numbers separated by commas, like 30, 45, 65, 80; "
            f"got {bands!r}."
        )
        st.stop()
    # only what the user changed: automatic exclusions (identifiers, empty or constant
    # columns) keep their own reasons; removing one brings it back into modelling
    auto = [c for c, why in schema.excluded.items() if why != "excluded by the user"]
    new["exclude"] = [c for c in fields["excluded"] if c != target and c not in auto]
    new["include"] = [c for c in auto if c not in fields["excluded"]]
    value_labels = parse_value_labels(labels_text, df, target)
    if value_labels is None:
        st.stop()
    new["value_labels"] = value_labels
    new["merge_below"] = merge_below
    try:
        run_settings(new).infer(apply_labels(df, value_labels)[0])
    except MCRAGEError as exc:
        show_error(exc, prefix="These settings cannot be used: ")
    else:
        state.set_choices(new)
        st.rerun()
