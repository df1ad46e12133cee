"""Which columns the diffusion model learns, besides the cell columns."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from mcrage_core.errors import ConfigError
from mcrage_core.tables import nearly_unique, too_many_categories

__all__ = ["missing_columns_error", "select_features"]

_MIN_ROWS_FOR_UNIQUENESS = 20  # below this, "every value differs" says nothing


def missing_columns_error(missing: Sequence[str], df: pd.DataFrame) -> ConfigError:
    """The error for columns asked for but absent from ``df`` (lists the columns there are)."""
    return ConfigError(
        f"Column(s) {list(missing)} are not in the table; available columns: "
        f"{[str(c) for c in df.columns]}."
    )


def _skip_reason(
    name: str, s: pd.Series, *, max_categories: int, max_unique_fraction: float
) -> str | None:
    """Why column ``name`` is left out, in plain words; ``None`` if it is modelled."""
    observed = s.dropna()
    n_unique = observed.nunique()
    if observed.empty:
        return f"Column {name!r} was left out: it is completely empty."
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return f"Column {name!r} was left out: dates are not modelled."
    many_rows = len(observed) > _MIN_ROWS_FOR_UNIQUENESS
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        if pd.api.types.is_integer_dtype(s.dtype) and many_rows and n_unique == len(observed):
            return (
                f"Column {name!r} was left out: every value is different, so it looks "
                "like an identifier."
            )
        return None
    if too_many_categories(n_unique, max_categories=max_categories) or (
        many_rows
        and nearly_unique(n_unique, len(observed), max_unique_fraction=max_unique_fraction)
    ):
        return (
            f"Column {name!r} was left out: it has {n_unique} different values, so it "
            "looks like an identifier or free text."
        )
    return None


def select_features(
    df: pd.DataFrame,
    cell_cols: Sequence[str],
    columns: Sequence[str] | None,
    *,
    max_categories: int,
    max_unique_fraction: float,
) -> tuple[list[str], list[str]]:
    """The feature columns to model, and notes on those left out.

    ``columns`` given: exactly those (minus the cell columns), checked to exist. ``None``:
    every other column except empty ones, dates, and those that look like identifiers or
    free text (more than ``max_categories`` values, or more than ``max_unique_fraction``
    of the rows distinct).
    """
    if columns is not None:
        missing = [c for c in columns if c not in df.columns]
        if missing:
            raise missing_columns_error(missing, df)
        chosen = [str(c) for c in columns if c not in cell_cols]
        return list(dict.fromkeys(chosen)), []
    chosen, notes = [], []
    for name in (str(c) for c in df.columns):
        if name in cell_cols:
            continue
        reason = _skip_reason(
            name,
            df[name],
            max_categories=max_categories,
            max_unique_fraction=max_unique_fraction,
        )
        if reason is None:
            chosen.append(name)
        else:
            notes.append(reason)
    return chosen, notes
