"""Value labels for coded columns and merging of tiny groups.

Hospital exports often code race as ``1…5`` and sex as ``1/2``. A *value label* map says
what the codes mean (``{"raceth": {"1": "White", "2": "Black"}}``); the audit shows the
labels in every chart, table and report, while the synthetic files keep the input's own
codes (see :mod:`mcrage_core.tables.records`).

Groups with very few patients cannot be judged and make the generator's job risky; they
can be merged into one group, :data:`MERGED_LABEL`.

Examples
--------
>>> parse_labels(["raceth=1:White,2:Black", "sex=1:Male,2:Female"])
{'raceth': {'1': 'White', '2': 'Black'}, 'sex': {'1': 'Male', '2': 'Female'}}
>>> s = pd.Series([1, 1, 1, 2, 2, 2, 3])
>>> merge_small_groups(s, min_rows=2)[0].tolist()
['1', '1', '1', '2', '2', '2', 'other (merged)']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from mcrage_core.errors import ConfigError

__all__ = [
    "MERGED_LABEL",
    "ValueLabels",
    "parse_labels",
    "format_labels",
    "normalise_labels",
    "code_key",
    "apply_labels",
    "invert_labels",
    "merge_small_groups",
]

MERGED_LABEL = "other (merged)"
ValueLabels = dict[str, dict[str, str]]


def code_key(value: object) -> str:
    """The text form of a code used as a key of a label map (``2.0`` → ``"2"``)."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return str(int(v)) if v.is_integer() else repr(v)
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        return text
    return str(int(number)) if number.is_integer() and "." in text else text


def parse_labels(specs: str | Iterable[str] | None) -> ValueLabels:
    """Parse ``COLUMN=CODE:LABEL,CODE:LABEL`` specifications (one per column).

    Raises
    ------
    ConfigError
        With the offending part and an example of the right form.
    """
    if specs is None:
        return {}
    if isinstance(specs, str):
        specs = [specs]
    out: ValueLabels = {}
    example = "for example raceth=1:White,2:Black,3:Hispanic"
    for spec in specs:
        if "=" not in spec:
            raise ConfigError(
                f"value labels {spec!r} need the form COLUMN=CODE:LABEL,...; {example}"
            )
        column, _, body = spec.partition("=")
        column = column.strip()
        if not column:
            raise ConfigError(f"value labels {spec!r} do not name a column; {example}")
        mapping: dict[str, str] = {}
        for part in body.split(","):
            if not part.strip():
                continue
            if ":" not in part:
                raise ConfigError(
                    f"value label {part.strip()!r} of column {column!r} needs the form "
                    f"CODE:LABEL; {example}"
                )
            code, _, label = part.partition(":")
            code, label = code.strip(), label.strip()
            if not code or not label:
                raise ConfigError(
                    f"value label {part.strip()!r} of column {column!r} has an empty code or "
                    f"label; {example}"
                )
            mapping[code_key(code)] = label
        if not mapping:
            raise ConfigError(f"value labels for column {column!r} are empty; {example}")
        out.setdefault(column, {}).update(mapping)
    return normalise_labels(out)


def format_labels(labels: Mapping[str, Mapping[str, str]]) -> list[str]:
    """The inverse of :func:`parse_labels` (one ``COLUMN=CODE:LABEL,...`` per column)."""
    return [
        f"{col}=" + ",".join(f"{code}:{label}" for code, label in mapping.items())
        for col, mapping in labels.items()
    ]


def normalise_labels(labels: Mapping[str, Mapping[Any, Any]] | None) -> ValueLabels:
    """Check a label map: keys as text codes, labels unique and non-empty per column."""
    out: ValueLabels = {}
    for col, mapping in (labels or {}).items():
        if not isinstance(mapping, Mapping):
            raise ConfigError(f"the value labels of column {col!r} must map codes to labels")
        clean = {code_key(k): str(v).strip() for k, v in mapping.items() if str(v).strip()}
        seen: dict[str, str] = {}
        for code, label in clean.items():
            if label in seen and seen[label] != code:
                raise ConfigError(
                    f"column {col!r}: the label {label!r} is given to two codes "
                    f"({seen[label]} and {code}); give every code its own label"
                )
            seen[label] = code
        if clean:
            out[str(col)] = clean
    return out


def apply_labels(
    df: pd.DataFrame, labels: Mapping[str, Mapping[str, str]] | None
) -> tuple[pd.DataFrame, list[str]]:
    """A copy of ``df`` with coded values replaced by their labels.

    Codes without a label keep their value (as text). Returns the copy and warnings
    (labels for codes that never occur).

    Raises
    ------
    ConfigError
        If a labelled column is not in the table, or a label equals another existing code
        of the column (the two could no longer be told apart).
    """
    labels = normalise_labels(labels)
    if not labels:
        return df, []
    absent = [c for c in labels if c not in df.columns]
    if absent:
        raise ConfigError(
            f"value labels name column(s) {', '.join(map(repr, absent))}, which are not in the "
            f"table; columns: {', '.join(map(str, df.columns))}"
        )
    out = df.copy()
    warnings: list[str] = []
    for col, mapping in labels.items():
        s = out[col]
        keys = s.map(lambda v: code_key(v) if pd.notna(v) else None)
        present = set(keys.dropna())
        unused = [c for c in mapping if c not in present]
        if unused:
            warnings.append(
                f"value labels for column {col!r}: code(s) {', '.join(unused)} do not occur in "
                "the table"
            )
        labels_set = set(mapping.values())
        already = present & labels_set  # values that are labels already (idempotent)
        clash = [
            lab
            for code, lab in mapping.items()
            if lab in present and lab != code and code in present
        ]
        clash = [lab for lab in clash if lab not in mapping]
        if clash:
            raise ConfigError(
                f"column {col!r}: the label(s) {', '.join(map(repr, clash))} are also codes of "
                "the column; choose labels that are not codes"
            )
        out[col] = keys.map(
            lambda k, m=mapping, done=already: (
                np.nan if k is None else k if k in done else m.get(k, k)
            )
        )
    return out, warnings


def invert_labels(values: pd.Series, mapping: Mapping[str, str] | None) -> pd.Series:
    """Labels back to the codes they stand for (other values unchanged)."""
    if not mapping:
        return values
    back = {label: code for code, label in mapping.items()}
    return values.map(lambda v: back.get(v, v) if isinstance(v, str) else v)


def merge_small_groups(values: pd.Series, *, min_rows: int) -> tuple[pd.Series, list[str]]:
    """Groups with fewer than ``min_rows`` rows become :data:`MERGED_LABEL`.

    Returns the group labels as text (missing stays missing) and the merged groups. A
    lone small group is merged too (it is then simply renamed), so the rule is the
    same for every table.
    """
    if int(min_rows) < 1:
        raise ConfigError(f"the merge threshold must be at least 1 row, got {min_rows!r}")
    text = _code_keys(values)
    counts = text.value_counts()
    small = sorted(str(g) for g in counts[counts < int(min_rows)].index)
    if MERGED_LABEL in counts.index and MERGED_LABEL not in small:
        small.append(MERGED_LABEL)
    if not small or len(small) == len(counts):
        return text, []  # nothing to merge, or nothing left to merge into
    return text.where(~text.isin(small), MERGED_LABEL), small


def _code_keys(values: pd.Series) -> pd.Series:
    """:func:`code_key` of every value (missing stays missing), as objects. A column of one
    type is keyed on its distinct values (a million rows hold a few codes); a column of
    mixed objects value by value, where ``True`` and ``1`` are equal but keyed apart."""
    if values.dtype == object:
        return values.map(lambda v: code_key(v) if pd.notna(v) else np.nan).astype(object)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    keys = np.array([*(code_key(v) for v in uniques), np.nan], dtype=object)
    return pd.Series(keys[codes], index=values.index, name=values.name, dtype=object)
