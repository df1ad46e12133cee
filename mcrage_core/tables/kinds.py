"""Column kinds: numbers stored as text, text clean-up, and the kind of each column
(numeric, integer, categorical, binary, identifier, datetime, text).

The "too many categories" rule lives here, once: :data:`MAX_CATEGORIES` and
:func:`too_many_categories`. The generator takes its default from it.

Examples
--------
>>> too_many_categories(40), too_many_categories(51)
(False, True)
>>> decimals_of(np.array([1.25, 2.5]))
2
"""

from __future__ import annotations

import re
from typing import Literal

import numpy as np
import pandas as pd

from mcrage_core.tables.vocabulary import CONTACT_TOKENS, ID_TOKENS, NAME_TOKENS, norm, tokens

__all__ = [
    "MAX_CATEGORIES",
    "MAX_DECIMALS",
    "MAX_UNIQUE_FRACTION",
    "ColumnKind",
    "clean_text",
    "clean_text_counted",
    "coerce_numeric",
    "column_kind",
    "decimals_of",
    "is_text",
    "nearly_unique",
    "too_many_categories",
]

ColumnKind = Literal[
    "numeric", "integer", "categorical", "binary", "identifier", "datetime", "text"
]

MAX_CATEGORIES = 50
"""Above this many distinct values a text column is an identifier or free text, not a
category."""
MAX_UNIQUE_FRACTION = 0.5
"""A column with more distinct values than this share of its rows behaves like an
identifier."""
MAX_DECIMALS = 6

_SSN_RE = re.compile(r"^\d{3}-\d{2}-\d{4}$")
_PHONE_RE = re.compile(r"^(\+?\d{1,3}[ .-]?)?\(?\d{3}\)?[ .-]?\d{3}[ .-]?\d{4}$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[a-zA-Z]{2,}$")
_DATE_HINT_RE = re.compile(r"^\s*\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}([ T]\d{1,2}:\d{2}(:\d{2})?)?\s*$")
_DATES = "exact dates are identifying (HIPAA Safe Harbor); derive intervals instead"

KindGuess = tuple[ColumnKind, str | None]


def too_many_categories(n_unique: int, *, max_categories: int = MAX_CATEGORIES) -> bool:
    """Whether a text column has too many distinct values to be modelled as a category
    (it is then an identifier or free text)."""
    return int(n_unique) > int(max_categories)


def nearly_unique(
    n_unique: int, n_rows: int, *, max_unique_fraction: float = MAX_UNIQUE_FRACTION
) -> bool:
    """Whether a column has so many distinct values per row that it behaves like an
    identifier."""
    return n_unique > max_unique_fraction * n_rows


def decimals_of(values: np.ndarray) -> int:
    """The fewest decimals that write ``values`` (within rounding noise), at most 6."""
    for d in range(MAX_DECIMALS + 1):
        if np.allclose(values, np.round(values, d), rtol=0.0, atol=10.0 ** -(d + 3)):
            return d
    return MAX_DECIMALS


def is_text(series: pd.Series) -> bool:
    """Whether ``series`` holds text (object or string dtype)."""
    return pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series)


def clean_text(series: pd.Series) -> pd.Series:
    """Strip surrounding blanks; empty strings and '?' become missing. Works on the distinct
    values, so it stays fast on long tables."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    cleaned = [u.strip() if isinstance(u, str) else u for u in uniques]
    cleaned = [None if u in ("", "?") else u for u in cleaned]
    if cleaned == list(uniques):
        return series
    lookup = np.array([*cleaned, None], dtype=object)  # code -1 (missing) → None
    return pd.Series(lookup[codes], index=series.index, name=series.name)


def clean_text_counted(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """:func:`clean_text` of ``series`` and the cleaned values' ``value_counts()``: the
    values are counted once when there is nothing to clean (the common case)."""
    counts = series.value_counts(dropna=True)
    if not any(isinstance(v, str) and (v.strip() != v or v in ("", "?")) for v in counts.index):
        return series, counts
    cleaned = clean_text(series)
    return cleaned, cleaned.value_counts(dropna=True)


def coerce_numeric(
    series: pd.Series, *, counts: pd.Series | None = None
) -> tuple[pd.Series | None, int, list[str]]:
    """Numbers stored as text: returns (numeric series, n values made missing, examples).

    Decided on the distinct values weighted by their counts (``counts``: the series'
    ``value_counts()`` when the caller has it), so it stays fast on long tables."""
    if counts is None:
        counts = series.value_counts(dropna=True)
    if counts.empty:
        return None, 0, []
    text = pd.Series(counts.index.astype(str))
    decimal_comma = text.str.fullmatch(r"\s*-?\d+,\d+\s*")
    fixed = text.where(~decimal_comma, text.str.replace(",", ".", regex=False))
    parsed = pd.to_numeric(fixed, errors="coerce").to_numpy(dtype=float)
    ok = ~np.isnan(parsed)
    n = counts.to_numpy()
    n_ok, n_total = int(n[ok].sum()), int(n.sum())
    if n_ok < 0.9 * n_total or n_ok < 5:
        return None, 0, []
    bad = text[~ok]
    if len(bad) > max(5, 0.02 * n_total):
        return None, 0, []
    full = series.map(dict(zip(counts.index, parsed, strict=True))).astype(float)
    present = full.dropna()
    whole = bool(len(present)) and bool(np.all(np.isclose(present % 1, 0)))
    out: pd.Series = full.astype("int64") if whole and not full.isna().any() else full
    examples = [str(v) for v in bad.tolist()[:3]]
    return out, n_total - n_ok, examples


def column_kind(col: str, s: pd.Series, *, n_unique: int | None = None) -> KindGuess:
    """Kind of a column and, for identifiers/PHI, the reason it is excluded.

    ``n_unique`` is the number of distinct non-missing values of ``s`` when the caller has
    it already (counted here otherwise)."""
    words = set(tokens(str(col)))
    if n_unique is None:
        n_unique = int(s.nunique(dropna=True))
    if words & NAME_TOKENS and is_text(s):
        return "identifier", "looks like a person's name (direct identifier)"
    if words & CONTACT_TOKENS and n_unique > 10:
        return "identifier", "contact details (phone, e-mail or address) are direct identifiers"
    if pd.api.types.is_datetime64_any_dtype(s):
        return "datetime", _DATES
    if is_text(s):
        return _text_kind(col, s, n_unique)
    if pd.api.types.is_bool_dtype(s):
        return "binary", None
    if pd.api.types.is_numeric_dtype(s):
        return _numeric_kind(col, s, n_unique)
    return "categorical", None


def _text_kind(col: str, s: pd.Series, n_unique: int) -> KindGuess:
    n = int(s.count())
    sample = _first_present(s, 500).astype(str)
    if len(sample):
        if sample.str.fullmatch(_SSN_RE).mean() > 0.8:
            return "identifier", "values look like social security numbers (direct identifier)"
        if sample.str.fullmatch(_EMAIL_RE).mean() > 0.8:
            return "identifier", "values look like e-mail addresses (direct identifier)"
        if sample.str.fullmatch(_PHONE_RE).mean() > 0.8 and n_unique > 10:
            return "identifier", "values look like phone numbers (direct identifier)"
        if sample.str.fullmatch(_DATE_HINT_RE).mean() > 0.8:
            return "datetime", _DATES
    if n_unique == 2:
        return "binary", None
    if _looks_like_id_name(str(col)) and nearly_unique(n_unique, n):
        return (
            "identifier",
            "an identifier (the name says ID/record number and values are nearly unique)",
        )
    if not too_many_categories(n_unique):
        return "categorical", None
    mean_len = float(sample.str.len().mean()) if len(sample) else 0.0
    spaces = float(sample.str.count(" ").mean()) if len(sample) else 0.0
    if mean_len > 25 and spaces >= 3:
        return (
            "text",
            "free text: may hold names or other identifying details, and cannot be modelled as a category",
        )
    if nearly_unique(n_unique, n):
        return (
            "identifier",
            f"{n_unique} distinct values in {n} rows: behaves like an identifier",
        )
    return "text", f"{n_unique} distinct text values: too many categories to model"


def _first_present(s: pd.Series, k: int) -> pd.Series:
    """The first ``k`` present values of ``s`` (without copying a long column to find them)."""
    head = s.iloc[: 10 * k].dropna()
    return head.head(k) if len(head) >= k or len(s) <= 10 * k else s.dropna().head(k)


def _numeric_kind(col: str, s: pd.Series, n_unique: int) -> KindGuess:
    if n_unique == 2:
        return "binary", None
    n = int(s.count())
    integral = bool(n) and _whole_numbers(s)
    if integral and _looks_like_id_name(str(col)) and nearly_unique(n_unique, n) and n > 20:
        return (
            "identifier",
            "an identifier (the name says ID/record number and values are unique)",
        )
    if integral and n > 50 and n_unique == n:
        diffs = np.diff(s.dropna().to_numpy(dtype=float))
        if np.all(diffs > 0) or np.all(diffs < 0):
            return "identifier", "a running record number (unique and ordered)"
    return ("integer" if integral else "numeric"), None


def _whole_numbers(s: pd.Series) -> bool:
    """Whether every present value of the numeric ``s`` is a whole number. An integer
    column is without looking; a measured one usually fails on its first values, so those
    are looked at before the whole column."""
    if pd.api.types.is_integer_dtype(s.dtype):
        return True
    values = s.to_numpy(dtype=float, na_value=np.nan)
    for part in (values[:1000], values):
        present = part[~np.isnan(part)]
        if not np.all(np.isclose(present % 1, 0)):
            return False
    return True


def _looks_like_id_name(name: str) -> bool:
    words, normal = set(tokens(name)), norm(name)
    squashed = normal.replace("_", "")
    return (
        bool(words & ID_TOKENS)
        or normal.endswith("_id")
        or normal in {"id", "key", "index"}
        or (squashed.endswith("id") and len(squashed) > 6)  # 'patientunitstayid', 'subjectid'
    )
