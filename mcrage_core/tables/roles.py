"""Role detection: which columns are the sensitive attributes (race/ethnicity, sex/gender,
age) and which one is the outcome. Identifiers are found with the column kinds
(:func:`mcrage_core.tables.kinds.column_kind`).

Names and values are matched in English, Spanish, Portuguese, French and German, case and
accents ignored (:mod:`~mcrage_core.tables.vocabulary`). Detection is a suggestion: every
role can be overridden by the caller.

Examples
--------
>>> sensitive_kind("patient_RACE", pd.Series(["A", "B"]), "categorical")
'race'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from mcrage_core.errors import ConfigError
from mcrage_core.tables.kinds import ColumnKind
from mcrage_core.tables.vocabulary import (
    AGE_TOKENS,
    FEMALE_VALUES,
    MALE_VALUES,
    NEGATIVE,
    OUTCOME_VALUES,
    POSITIVE,
    RACE_NAMES,
    RACE_PREFERRED,
    RACE_TOKENS,
    RACE_VALUES,
    SEX_CORE,
    SEX_TOKENS,
    SEX_VALUES,
    TARGET_NAMES,
    TARGET_SUBSTRINGS,
    TARGET_TOKENS,
    UNSPECIFIC_VALUES,
    fold,
    norm,
    tokens,
)

__all__ = [
    "SENSITIVE_KINDS",
    "SensitiveChoice",
    "check_named",
    "detect_target",
    "resolve_sensitive",
    "sensitive_kind",
]

SENSITIVE_KINDS = ("race", "sex", "age")
SensitiveChoice = Mapping[str, str | None] | Sequence[str] | None
"""What a caller may say about the sensitive columns: ``{kind: column or None}``, a list
of columns, or nothing (detect)."""


def check_named(df: pd.DataFrame, cols: Sequence[str], what: str) -> None:
    """Raise :class:`ConfigError` naming the ``what`` columns that are not in ``df``."""
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ConfigError(
            f"The {what} column {', '.join(repr(m) for m in missing)} is not in the table. "
            f"Available columns: {', '.join(map(str, list(df.columns)[:40]))}."
        )


def _looks_like_age_bands(s: pd.Series) -> bool:
    """Ages already exported as bands, e.g. '[70-80)', '18-29', '80+'."""
    vals = s.dropna().astype(str)
    return bool(len(vals)) and vals.nunique() <= 30 and float(vals.str.contains(r"\d").mean()) > 0.9


def _folded_counts(counts: pd.Series, max_distinct: int) -> pd.Series:
    """How often each value occurs, values folded (trimmed, lower case, no accents); empty
    when the column has more than ``max_distinct`` distinct folded values. ``counts`` is
    the column's ``value_counts()`` (counted once for every rule that needs it)."""
    if counts.empty or len(counts) > 4 * max_distinct:  # 'M', 'm', ' M' fold together
        return pd.Series(dtype="int64")
    folded = counts.groupby([fold(v) for v in counts.index]).sum()
    return folded if len(folded) <= max_distinct else pd.Series(dtype="int64")


def _share(counts: pd.Series, words: frozenset[str]) -> float:
    """The share of the rows whose (folded) value is one of ``words``."""
    total = int(counts.sum())
    return float(counts[counts.index.isin(words)].sum()) / total if total else 0.0


def _race_by_values(value_counts: pd.Series) -> float:
    counts = _folded_counts(value_counts, 40)
    distinct_known = (set(counts.index) & RACE_VALUES) - UNSPECIFIC_VALUES
    if len(distinct_known) < 2:
        return 0.0
    return _share(counts, RACE_VALUES)


def _sex_by_values(value_counts: pd.Series) -> float:
    counts = _folded_counts(value_counts, 5)
    core = set(counts.index) & SEX_CORE
    # one-letter codes: M/F (English), H/M (hombre/mujer), H/F (homme/femme), M/W, V/M
    male = core & (MALE_VALUES | {"h", "v"})
    female = core & (FEMALE_VALUES | {"m", "w"})
    if not (male and female and len(male | female) >= 2):
        return 0.0
    return _share(counts, SEX_VALUES)


def sensitive_kind(col: str, s: pd.Series, kind: ColumnKind) -> str | None:
    """``"race"``, ``"sex"`` or ``"age"`` when the column's name or values say so."""
    words = set(tokens(str(col)))
    normal = norm(str(col))
    if normal in RACE_NAMES or words & RACE_TOKENS:
        return "race"
    if words & SEX_TOKENS:
        return "sex"
    if words & AGE_TOKENS or normal.startswith("age_"):
        if pd.api.types.is_numeric_dtype(s):
            return "age"
        if kind in ("categorical", "binary") and _looks_like_age_bands(s):
            return "age"
    if kind in ("categorical", "binary"):
        counts = s.value_counts(dropna=True)
        if _sex_by_values(counts) >= 0.9:
            return "sex"
        if _race_by_values(counts) >= 0.6:
            return "race"
    return None


def resolve_sensitive(
    df: pd.DataFrame, kinds: Mapping[str, ColumnKind], sensitive: SensitiveChoice
) -> dict[str, str]:
    """``{kind: column}`` of the sensitive attributes: those given, the others detected.

    A list of columns is taken as it is (each assigned to race/sex/age by name or values,
    others kept under their own name); a mapping fixes some kinds (``None`` turns a kind
    off) and the rest are detected.
    """
    chosen: dict[str, str] = {}
    disabled: set[str] = set()
    if isinstance(sensitive, Mapping):
        for kind, col in sensitive.items():
            if col is None:
                disabled.add(kind)
                continue
            check_named(df, [col], f"sensitive ({kind})")
            _check_sensitive_kind(kind, col, kinds)
            chosen[kind] = col
    elif sensitive:
        cols = list(sensitive)
        check_named(df, cols, "sensitive")
        for col in cols:
            kind = sensitive_kind(col, df[col], kinds[col]) or str(col)
            if kind in chosen:  # two race-like columns: keep both, second under its own name
                kind = str(col)
            chosen[kind] = col
        return chosen  # explicit list: exactly these columns
    _detect_sensitive(df, kinds, chosen, disabled)
    return {k: chosen[k] for k in sorted(chosen, key=_kind_order)}


def _detect_sensitive(
    df: pd.DataFrame, kinds: Mapping[str, ColumnKind], chosen: dict[str, str], disabled: set[str]
) -> None:
    """Fill ``chosen`` with the detected kinds that were neither given nor turned off."""
    for col in df.columns:
        if col in chosen.values() or kinds[col] in ("identifier", "datetime", "text"):
            continue
        kind = sensitive_kind(col, df[col], kinds[col])
        if not kind or kind in disabled:
            continue
        if kind not in chosen:
            chosen[kind] = col
        elif kind == "race" and _says_race(col) and not _says_race(chosen[kind]):
            chosen[kind] = col  # prefer a 'race' column over an 'ethnicity' one


def _says_race(col: str) -> bool:
    return bool(RACE_PREFERRED & set(tokens(str(col))))


def _kind_order(kind: str) -> tuple[int, str]:
    return (SENSITIVE_KINDS.index(kind), "") if kind in SENSITIVE_KINDS else (9, kind)


def _check_sensitive_kind(kind: str, col: str, kinds: Mapping[str, ColumnKind]) -> None:
    if kind == "age" and kinds[col] not in ("integer", "numeric", "categorical", "binary"):
        raise ConfigError(
            f"The age column '{col}' must hold numbers (years) or age bands; it holds "
            f"{kinds[col]} values. Choose another age column."
        )


def detect_target(
    df: pd.DataFrame,
    kinds: Mapping[str, ColumnKind],
    *,
    exclude: set[str],
    n_unique: Mapping[str, int] | None = None,
) -> str | None:
    """The column that looks most like the outcome (by name, values and position).
    ``n_unique``: each column's number of distinct values, when the caller has counted
    them already."""
    best: tuple[float, str] | None = None
    cols = list(df.columns)
    for pos, col in enumerate(cols):
        if col in exclude or kinds[col] not in ("binary", "categorical", "integer"):
            continue
        distinct = n_unique[col] if n_unique is not None else df[col].nunique(dropna=True)
        if distinct < 2 or distinct > 10:
            continue
        score = _target_score(col, df[col], kinds[col])
        if pos == len(cols) - 1:
            score += 1.5  # the outcome is usually the last column of an ML export
        if score >= 2.5 and (best is None or score > best[0]):
            best = (score, col)
    return best[1] if best else None


def _target_score(col: str, values: pd.Series, kind: ColumnKind) -> float:
    words = set(tokens(str(col)))
    squashed = "".join(tokens(str(col)))
    score = 0.0
    if (
        words & TARGET_TOKENS
        or norm(str(col)) in TARGET_NAMES
        or any(w in squashed for w in TARGET_SUBSTRINGS)
    ):
        score += 3
    vals = {fold(v) for v in values.unique() if not pd.isna(v)}
    if vals & OUTCOME_VALUES:
        score += 1.5  # values such as died/alive, expired, readmitted, in/out
    if kind == "binary":
        score += 1
        if vals & set(POSITIVE) and vals & set(NEGATIVE):
            score += 0.5
    return score
