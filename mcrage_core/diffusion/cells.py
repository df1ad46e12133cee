"""Cell bookkeeping: which cells a model knows, and how many rows to draw per cell.

A *cell* is one combination of the condition columns' values followed by the outcome
value, e.g. ``("black", 1)`` for ``condition=["race"]`` and the target
``died_within_6_months``. Each cell column has sorted *levels*; the network sees a cell
as its tuple of level *codes* (indices into the levels).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from mcrage_core.diffusion.column_specs import CategoryValue, py_scalar
from mcrage_core.diffusion.columns import missing_columns_error
from mcrage_core.errors import ConfigError, DataError
from mcrage_core.util.allocation import largest_remainder

__all__ = [
    "CellCodes",
    "CellKey",
    "CountRequest",
    "cell_columns",
    "cell_codes",
    "cells_frame",
    "known_cells",
    "match_level",
    "resolve_counts",
    "sorted_levels",
    "usable_rows",
]

CellKey = tuple[CategoryValue, ...]
"""A cell by its values: ``(condition values..., target value)``."""
CellCodes = tuple[int, ...]
"""A cell by the indices of its values in each column's levels."""
CountRequest = Mapping[Any, int] | pd.DataFrame
"""Rows wanted per cell: ``{cell or group: n}`` (keys are tuples or bare values, hence
``Any``) or a table with the cell columns and ``n``."""


def cell_columns(df: pd.DataFrame, *, target: str, condition: str | Sequence[str]) -> list[str]:
    """The condition columns followed by the target, checked against ``df``."""
    cond_cols = [condition] if isinstance(condition, str) else [str(c) for c in condition]
    if not cond_cols:
        raise ConfigError("Choose at least one condition column (for example race).")
    if target in cond_cols:
        raise ConfigError(f"The target {target!r} cannot also be a condition column.")
    cols = [*cond_cols, target]
    absent = [c for c in cols if c not in df.columns]
    if absent:
        raise missing_columns_error(absent, df)
    if len(set(cols)) != len(cols):
        raise ConfigError(f"A condition column is listed twice: {cond_cols}.")
    return cols


def usable_rows(df: pd.DataFrame, cols: Sequence[str]) -> tuple[pd.DataFrame, list[str]]:
    """The rows with every cell column filled in (index reset), and a note on the others."""
    keep = df[list(cols)].notna().all(axis=1)
    n_dropped = int((~keep).sum())
    notes = []
    if n_dropped:
        notes.append(
            f"{n_dropped} row(s) with an empty {' / '.join(cols)} value were not used for training."
        )
    data = df.loc[keep].reset_index(drop=True)
    if len(data) < 2:
        raise DataError(
            f"Only {len(data)} row(s) have all of {list(cols)} filled in; at least 2 are needed."
        )
    return data, notes


def sorted_levels(values: Sequence[object]) -> list[CategoryValue]:
    """The distinct values of a cell column, as JSON scalars, sorted."""
    uniq: list[CategoryValue] = list(dict.fromkeys(py_scalar(v) for v in values))
    try:
        return sorted(uniq)  # type: ignore[type-var]  # mixed types: see below
    except TypeError:
        return sorted(uniq, key=str)


def cell_codes(
    data: pd.DataFrame, cols: Sequence[str], levels: Sequence[Sequence[CategoryValue]]
) -> np.ndarray:
    """One row of level codes per row of ``data`` (``int64``, one column per cell column)."""
    blocks = []
    for i, c in enumerate(cols):
        values: list[CategoryValue] = [py_scalar(v) for v in data[c].tolist()]
        # pandas-stubs type Categorical too narrowly for mixed JSON scalars
        blocks.append(pd.Categorical(values, categories=levels[i]).codes)  # type: ignore[arg-type]
    return np.stack(blocks, axis=1).astype(np.int64)


def cells_frame(
    codes: np.ndarray, cols: Sequence[str], levels: Sequence[Sequence[CategoryValue]]
) -> pd.DataFrame:
    """One row per distinct cell in ``codes``: the cell's values and ``n_real``."""
    uniq, counts = np.unique(codes, axis=0, return_counts=True)
    rows = [
        [levels[i][int(k)] for i, k in enumerate(u)] + [int(n)]
        for u, n in zip(uniq, counts, strict=True)
    ]
    return pd.DataFrame(rows, columns=[*cols, "n_real"])


def known_cells(cells: pd.DataFrame, cols: Sequence[str]) -> list[CellKey]:
    """The cells of a :func:`cells_frame`, as tuples of values."""
    return [tuple(py_scalar(r[c]) for c in cols) for _, r in cells.iterrows()]


def match_level(levels: Sequence[CategoryValue], value: object) -> int | None:
    """The index of ``value`` in ``levels``: exact, then by text (any case), then by number."""
    v = py_scalar(value)
    for j, lv in enumerate(levels):
        if type(lv) is type(v) and lv == v:
            return j
    for j, lv in enumerate(levels):
        if str(lv).strip().lower() == str(v).strip().lower():
            return j
    try:
        fv = float(v)
    except (TypeError, ValueError):
        return None
    for j, lv in enumerate(levels):
        if isinstance(lv, int | float) and not isinstance(lv, bool) and float(lv) == fv:
            return j
    return None


def _match_cell(
    levels: Sequence[Sequence[CategoryValue]], key: Sequence[object]
) -> CellCodes | None:
    """The codes of ``key``'s values (a cell or a group prefix); ``None`` if one is unknown."""
    codes = [match_level(levels[i], v) for i, v in enumerate(key)]
    return tuple(c for c in codes if c is not None) if None not in codes else None


def _request_items(counts: CountRequest, cols: Sequence[str]) -> list[tuple[object, object]]:
    if isinstance(counts, pd.DataFrame):
        needed = [*cols, "n"]
        if any(c not in counts.columns for c in needed):
            raise ConfigError(f"The counts table needs the columns {needed}.")
        return [(tuple(r[c] for c in cols), r["n"]) for _, r in counts.iterrows()]
    if isinstance(counts, Mapping):
        return list(counts.items())
    raise ConfigError("counts must be a mapping {cell: n} or a table with a column n.")


def _whole_count(key: object, n: object) -> int:
    if isinstance(n, float | np.floating) and float(n).is_integer():
        n = int(n)
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or int(n) < 0:
        raise ConfigError(f"The count for {key!r} must be a whole number, 0 or more.")
    return int(n)


def resolve_counts(
    counts: CountRequest,
    *,
    cells: pd.DataFrame,
    cols: Sequence[str],
    levels: Sequence[Sequence[CategoryValue]],
) -> list[tuple[CellCodes, int]]:
    """Turn requested counts into ``[(cell codes, n), ...]`` (cells with ``n > 0`` only).

    Keys are full cells ``(condition values..., target value)``; a key with only the
    condition values (or a bare value when there is one condition column) is split over
    the outcome classes in proportion to that group's real outcome mix (``cells``).
    """
    k = len(cols)
    keys = known_cells(cells, cols)
    known: dict[CellCodes, int] = {}
    for cell, n in zip(keys, cells["n_real"], strict=True):
        codes = _match_cell(levels, cell)
        if codes is not None:  # always: a known cell matches its own levels
            known[codes] = int(n)
    text = ", ".join(
        f"{'|'.join(str(v) for v in cell)} (n={n})"
        for cell, n in zip(keys, cells["n_real"], strict=True)
    )
    out: dict[CellCodes, int] = {}
    for key, value in _request_items(counts, cols):
        n = _whole_count(key, value)
        key_t = key if isinstance(key, tuple) else (key,)
        if len(key_t) not in (k, k - 1):
            raise ConfigError(
                f"Cell {key!r} should name {k} values ({', '.join(cols)}) or {k - 1} "
                f"(without the outcome). Known cells: {text}."
            )
        prefix = _match_cell(levels, key_t)
        group = [(c, m) for c, m in known.items() if c[: len(key_t)] == prefix]
        if not group:
            what = "cell" if len(key_t) == k else "group"
            names = list(cols) if len(key_t) == k else list(cols[:-1])
            raise ConfigError(f"Unknown {what} {key!r} for columns {names}. Known cells: {text}.")
        shares = largest_remainder(n, [m for _, m in group])
        for (c, _), share in zip(group, shares, strict=True):
            out[c] = out.get(c, 0) + int(share)
    return [(c, n) for c, n in out.items() if n > 0]
