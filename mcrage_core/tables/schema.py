"""The schema of a table: each column's kind and role (the outcome, the sensitive
attributes, identifiers kept out of modelling, features), built by :func:`infer_schema`.

The work is done by :mod:`~mcrage_core.tables.kinds` (column kinds),
:mod:`~mcrage_core.tables.roles` (sensitive attributes and outcome detection),
:mod:`~mcrage_core.tables.outcome` (positive class) and
:mod:`~mcrage_core.tables.bands` (age bands); this module puts their answers together.

Examples
--------
>>> import pandas as pd
>>> from mcrage_core.tables import infer_schema
>>> df = pd.DataFrame({"Gender": ["F", "M"] * 30, "AgeYears": list(range(20, 50)) * 2,
...                    "readmitted": ["Yes", "No", "No"] * 20})
>>> _, schema = infer_schema(df)
>>> schema.sensitive, schema.target, schema.positive_class
({'sex': 'Gender', 'age': 'AgeYears'}, 'readmitted', 'Yes')
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal, NamedTuple

import pandas as pd

from mcrage_core.errors import ConfigError, DataError
from mcrage_core.tables.bands import DEFAULT_AGE_BANDS, validate_bands
from mcrage_core.tables.io import table_warnings
from mcrage_core.tables.kinds import (
    ColumnKind,
    clean_text_counted,
    coerce_numeric,
    column_kind,
    is_text,
)
from mcrage_core.tables.outcome import check_target
from mcrage_core.tables.roles import (
    SensitiveChoice,
    check_named,
    detect_target,
    resolve_sensitive,
)

__all__ = [
    "ColumnInfo",
    "ColumnRole",
    "Schema",
    "infer_schema",
    "with_overrides",
]

ColumnRole = Literal["target", "sensitive", "identifier", "feature", "excluded"]


@dataclass(frozen=True)
class ColumnInfo:
    """What is known about one column."""

    name: str
    kind: ColumnKind
    missing_fraction: float
    n_unique: int
    role: ColumnRole = "feature"
    reason: str | None = None


@dataclass(frozen=True)
class Schema:
    """Kinds and roles of a table's columns. Build it with :func:`infer_schema`."""

    columns: tuple[ColumnInfo, ...]
    target: str | None
    positive_class: str | None
    classes: tuple[str, ...]
    sensitive: dict[str, str]
    identifiers: tuple[str, ...]
    excluded: dict[str, str]
    warnings: tuple[str, ...] = ()
    age_bands: tuple[int, ...] = DEFAULT_AGE_BANDS
    coerced: dict[str, int] = field(default_factory=dict)

    @property
    def features(self) -> list[str]:
        """Columns used for modelling: everything except the target and excluded columns."""
        return [
            c.name for c in self.columns if c.name != self.target and c.name not in self.excluded
        ]

    @property
    def is_binary_target(self) -> bool:
        return len(self.classes) == 2

    def column(self, name: str) -> ColumnInfo:
        for c in self.columns:
            if c.name == name:
                return c
        raise ConfigError(f"There is no column '{name}' in the table.")

    def kinds(self) -> dict[str, str]:
        return {c.name: c.kind for c in self.columns}

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["columns"] = [asdict(c) for c in self.columns]
        d["features"] = self.features
        for key in ("classes", "identifiers", "warnings", "age_bands"):
            d[key] = list(d[key])
        return d

    def to_frame(self) -> pd.DataFrame:
        """One row per column: name, kind, role, missing fraction, distinct values, reason."""
        return pd.DataFrame(
            [
                {
                    "column": c.name,
                    "kind": c.kind,
                    "role": c.role,
                    "missing_%": round(100 * c.missing_fraction, 1),
                    "distinct_values": c.n_unique,
                    "note": c.reason or "",
                }
                for c in self.columns
            ]
        )


def infer_schema(
    df: pd.DataFrame,
    *,
    target: str | None = None,
    positive_class: object | None = None,
    sensitive: SensitiveChoice = None,
    exclude: Sequence[str] = (),
    include: Sequence[str] = (),
    age_bands: Sequence[int] = DEFAULT_AGE_BANDS,
    detect_target: bool = True,
) -> tuple[pd.DataFrame, Schema]:
    """Infer column kinds and roles, coercing numbers stored as text.

    Parameters
    ----------
    df
        The table as loaded.
    target
        Outcome column; detected from names and values when ``None``.
    positive_class
        The outcome value that counts as positive; detected when ``None``.
    sensitive
        Either a mapping ``{"race": col, "sex": col, "age": col}`` (a ``None`` value turns a
        kind off; kinds not named are still detected), or a list of columns, each assigned
        to race/sex/age by name or values (others are kept under their own name).
    exclude
        Extra columns to keep out of modelling.
    include
        Columns detected as identifiers that the user wants to model anyway.
    age_bands
        Lower edges of the age bands after the first, e.g. ``(30, 45, 65, 80)``.

    Returns
    -------
    (DataFrame, Schema)
        The coerced copy of the table and its schema.
    """
    if df.shape[1] == 0 or len(df) == 0:
        raise DataError("The table has no rows or no columns.")
    check_named(df, [target] if target else [], "target")
    check_named(df, list(exclude), "excluded")
    check_named(df, list(include), "included")
    edges = validate_bands(age_bands)
    out, kinds, reasons, coerced, warnings, n_unique = _coerce_columns(df)
    sens = resolve_sensitive(out, kinds, sensitive)
    if target is None and detect_target:
        target = _detect_target(
            out, kinds, exclude=set(sens.values()) | set(reasons), n_unique=n_unique
        )
    classes: tuple[str, ...] = ()
    pos: str | None = None
    if target is not None:
        classes, pos, target_warnings = check_target(out, target, kinds[target], positive_class)
        warnings += target_warnings
        if target in sens.values():
            raise ConfigError(
                f"'{target}' cannot be both the target and a sensitive attribute; choose another."
            )
    identifiers = [
        c for c in reasons if c not in include and c != target and c not in sens.values()
    ]
    excluded = _excluded(out, target, sens, {c: reasons[c] for c in identifiers}, exclude, n_unique)
    warnings += _sensitive_warnings(out, sens)
    schema = Schema(
        columns=_column_infos(out, kinds, target, sens, identifiers, excluded, n_unique),
        target=target,
        positive_class=pos,
        classes=classes,
        sensitive=sens,
        identifiers=tuple(identifiers),
        excluded=excluded,
        warnings=tuple(warnings),
        age_bands=edges,
        coerced=coerced,
    )
    return out, schema


_detect_target = detect_target  # the parameter of infer_schema hides the function's name


def _coerce_columns(
    df: pd.DataFrame,
) -> tuple[
    pd.DataFrame, dict[str, ColumnKind], dict[str, str], dict[str, int], list[str], dict[str, int]
]:
    """A copy with text cleaned and numbers-as-text converted; each column's kind, the
    reason for identifier-like ones, values made missing per column, warnings, and each
    column's number of distinct non-missing values (counted once: a long table pays for
    every count). The columns of a long table are looked at in parallel threads: counting
    distinct values runs without the interpreter lock, so each core counts a column."""
    out = df.copy(deep=False)  # copy-on-write: a replaced column never changes ``df``
    warnings = list(table_warnings(df))
    coerced: dict[str, int] = {}
    kinds: dict[str, ColumnKind] = {}
    reasons: dict[str, str] = {}
    n_unique: dict[str, int] = {}
    columns = [(col, out[col]) for col in out.columns]
    workers = min(4, os.cpu_count() or 1) if df.size >= _PARALLEL_CELLS else 1
    if workers > 1:
        with ThreadPoolExecutor(workers, thread_name_prefix="mcrage-schema") as pool:
            looks = list(pool.map(lambda item: _look_at_column(*item), columns))
    else:
        looks = [_look_at_column(col, series) for col, series in columns]
    for (col, _), look in zip(columns, looks, strict=True):
        if look.replaced is not None:
            out[col] = look.replaced
        if look.n_bad:
            coerced[col] = look.n_bad
            warnings.append(
                f"Column '{col}': {look.n_bad} value(s) that are not numbers "
                f"(e.g. {', '.join(repr(e) for e in look.examples)}) were treated as missing."
            )
        n_unique[col], kinds[col] = look.n_unique, look.kind
        if look.reason:
            reasons[col] = look.reason
    return out, kinds, reasons, coerced, warnings, n_unique


_PARALLEL_CELLS = 2_000_000
"""Tables with at least this many cells have their columns looked at in parallel."""


class _Look(NamedTuple):
    replaced: pd.Series | None  # the cleaned or converted column, None when unchanged
    n_bad: int  # values made missing because they are not numbers
    examples: list[str]
    n_unique: int
    kind: ColumnKind
    reason: str | None


def _look_at_column(col: str, original: pd.Series) -> _Look:
    """One column of :func:`_coerce_columns`: text cleaned and numbers-as-text converted,
    then counted and given its kind."""
    series: pd.Series = original
    replaced: pd.Series | None = None
    distinct: int | None = None
    n_bad, examples = 0, list[str]()
    if is_text(original):
        series, counts = clean_text_counted(original)
        converted, n_bad, examples = coerce_numeric(series, counts=counts)
        if converted is not None or series is not original:  # only what changed
            series = replaced = series if converted is None else converted
        if converted is None:
            distinct = len(counts)  # the distinct values, counted already
    n_unique = int(series.nunique(dropna=True)) if distinct is None else distinct
    kind, reason = column_kind(col, series, n_unique=n_unique)
    return _Look(replaced, n_bad, examples, n_unique, kind, reason)


def _excluded(
    df: pd.DataFrame,
    target: str | None,
    sens: Mapping[str, str],
    identifiers: Mapping[str, str],
    exclude: Sequence[str],
    n_unique: Mapping[str, int],
) -> dict[str, str]:
    """Columns kept out of modelling, with the reason: identifiers, the user's choice,
    empty and constant columns (``n_unique``: distinct non-missing values per column)."""
    excluded = dict(identifiers)
    for col in exclude:
        if col != target:
            excluded.setdefault(col, "excluded by the user")
    for col in df.columns:
        if col in excluded or col == target or col in sens.values():
            continue
        if df[col].isna().all():
            excluded[col] = "empty: every value is missing"
        elif n_unique[col] == 1:
            excluded[col] = "constant: the same value in every row"
    return excluded


def _sensitive_warnings(df: pd.DataFrame, sens: Mapping[str, str]) -> list[str]:
    warnings = []
    for kind, col in sens.items():
        frac = float(df[col].isna().mean())
        if frac == 1.0:
            warnings.append(
                f"The {kind} column '{col}' is entirely empty, so no {kind} groups can be "
                "audited. Choose another column or fill it in."
            )
        elif frac > 0.2:
            warnings.append(f"The {kind} column '{col}' is {100 * frac:.0f} % missing.")
    return warnings


def _column_infos(
    df: pd.DataFrame,
    kinds: Mapping[str, ColumnKind],
    target: str | None,
    sens: Mapping[str, str],
    identifiers: Sequence[str],
    excluded: Mapping[str, str],
    n_unique: Mapping[str, int],
) -> tuple[ColumnInfo, ...]:
    sensitive_of: dict[str, str] = {}
    for kind, col in sens.items():
        sensitive_of.setdefault(col, kind)
    infos = []
    for col in df.columns:
        s = df[col]
        role: ColumnRole
        if col == target:
            role = "target"
        elif col in sensitive_of:
            role = "sensitive"
        elif col in identifiers:
            role = "identifier"
        elif col in excluded:
            role = "excluded"
        else:
            role = "feature"
        note = f"sensitive attribute ({sensitive_of[col]})" if role == "sensitive" else None
        infos.append(
            ColumnInfo(
                name=str(col),
                kind=kinds[col],
                missing_fraction=float(s.isna().mean()),
                n_unique=n_unique[col],
                role=role,
                reason=excluded.get(col) or note,
            )
        )
    return tuple(infos)


def with_overrides(schema: Schema, **changes: Any) -> Schema:
    """A copy of ``schema`` with some fields replaced (for UI overrides)."""
    return replace(schema, **changes)
