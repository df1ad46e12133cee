"""What the encoder learns about one column, and how a decoded column gets its dtype back.

:class:`ColumnSpec` is one column's block in the encoded matrix; it is stored as JSON
(:meth:`ColumnSpec.to_dict` / :func:`spec_from_dict`). :func:`restore_categorical` and
:func:`restore_numeric` turn decoded values back into a column of the original dtype.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from pandas.api.types import pandas_dtype

from mcrage_core.errors import ModelFileError

__all__ = [
    "CategoryValue",
    "ColumnKind",
    "ColumnSpec",
    "py_scalar",
    "restore_categorical",
    "restore_numeric",
    "spec_from_dict",
]

ColumnKind = Literal["numeric", "categorical"]
CategoryValue = bool | int | float | str | None
"""A category as stored in JSON; ``None`` stands for the missing category."""


@dataclass
class ColumnSpec:
    """What the encoder learned about one column."""

    name: str
    kind: ColumnKind
    dtype: str
    has_missing: bool
    start: int
    width: int
    # numeric columns
    minimum: float | None = None
    maximum: float | None = None
    decimals: int | None = None
    missing_start: int | None = None
    # categorical columns (JSON scalars; ``None`` stands for the missing category)
    categories: list[CategoryValue] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        """The spec as plain JSON values (see :meth:`TabularEncoder.get_state`)."""
        return asdict(self)


def py_scalar(value: object) -> bool | int | float | str:
    """A JSON-friendly Python scalar for a category value (numpy scalars unwrapped)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _opt_float(value: Any) -> float | None:  # parsed JSON
    return None if value is None else float(value)


def _opt_int(value: Any) -> int | None:  # parsed JSON
    return None if value is None else int(value)


def spec_from_dict(d: Mapping[str, Any]) -> ColumnSpec:
    """A :class:`ColumnSpec` from its :meth:`ColumnSpec.to_dict` (types checked)."""
    kind = d["kind"]
    if kind not in ("numeric", "categorical"):
        raise ModelFileError(f"Unknown column kind {kind!r} in the encoder file.")
    return ColumnSpec(
        name=str(d["name"]),
        kind=kind,
        dtype=str(d["dtype"]),
        has_missing=bool(d["has_missing"]),
        start=int(d["start"]),
        width=int(d["width"]),
        minimum=_opt_float(d["minimum"]),
        maximum=_opt_float(d["maximum"]),
        decimals=_opt_int(d["decimals"]),
        missing_start=_opt_int(d["missing_start"]),
        categories=list(d["categories"]),
    )


def _int_dtype(dtype: str) -> bool:
    return dtype.lower().startswith(("int", "uint"))


def _astype(series: pd.Series, dtype: str) -> pd.Series:
    """``series.astype(dtype)`` for a dtype name stored as text (``TypeError`` if unknown)."""
    return series.astype(pandas_dtype(dtype))


def restore_numeric(x: np.ndarray, nan: np.ndarray, spec: ColumnSpec) -> pd.Series:
    """Decoded numbers (``nan`` marks the missing ones) as a column of the fitted dtype."""
    if _int_dtype(spec.dtype):
        if nan.any():
            return pd.Series(pd.array(np.where(nan, 0, x).astype(np.int64), dtype="Int64")).where(
                ~nan
            )
        return pd.Series(x.astype(spec.dtype.lower()))
    try:
        return _astype(pd.Series(x), spec.dtype)
    except (TypeError, ValueError):
        return pd.Series(x)


def restore_categorical(
    values: Sequence[CategoryValue], dtype: str, categories: Sequence[CategoryValue]
) -> pd.Series:
    """Categories decoded back to a column of ``dtype`` (the dtype seen at fit time)."""
    has_nan = any(v is None for v in values)
    series = pd.Series(list(values), dtype=object)
    try:
        if _int_dtype(dtype) or dtype == "Int64":
            if has_nan or dtype == "Int64":
                return series.astype("Int64")
            return _astype(series, dtype.lower())
        if dtype == "bool":
            return series.astype("boolean") if has_nan else series.astype(bool)
        if dtype == "category":
            cats = [c for c in categories if c is not None]
            return pd.Series(pd.Categorical(list(values), categories=cats))
        return _astype(series, dtype)
    except (TypeError, ValueError):
        return series
