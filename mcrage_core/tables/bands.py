"""Age banding: the one home for turning a numeric age (or any many-valued numeric
sensitive column) into ordered band groups.

Public entry point, used by the imbalance audit, the Train page and the evaluation::

    band_columns(df: pd.DataFrame, schema: Schema, columns: Sequence[str])
        -> tuple[pd.DataFrame, dict[str, tuple[str, tuple[int, ...]]]]

It returns a copy of ``df`` with one band column added per banded column, and
``{band column: (source column, edges)}``. The rule (:func:`needs_band`): a column is
banded when it holds numbers and is either the schema's age column or has more than
:data:`BAND_ABOVE_LEVELS` distinct values; age bands exported as text (``'[70-80)'``)
are used as they are. The band column is :data:`AGE_BAND_COLUMN` (``age_band``) for the
age column and ``<column>_band`` for any other one; its values are the ordered
categories of :func:`age_band_labels` (missing where the age is missing).

Examples
--------
>>> age_band_labels((30, 45, 65, 80))
['<30', '30-44', '45-64', '65-79', '80+']
>>> df = pd.DataFrame({"age": [18, 30, 44.9, 45, 81, None]})
>>> add_age_band(df, "age")["age_band"].tolist()
['<30', '30-44', '30-44', '45-64', '80+', nan]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mcrage_core.errors import ConfigError

if TYPE_CHECKING:
    from mcrage_core.tables.schema import Schema

__all__ = [
    "AGE_BAND_COLUMN",
    "BAND_ABOVE_LEVELS",
    "Bands",
    "DEFAULT_AGE_BANDS",
    "add_age_band",
    "age_band_labels",
    "band_columns",
    "group_columns",
    "needs_band",
    "validate_bands",
]

DEFAULT_AGE_BANDS: tuple[int, ...] = (30, 45, 65, 80)
AGE_BAND_COLUMN = "age_band"
BAND_ABOVE_LEVELS = 20
"""A numeric sensitive column with more distinct values than this is grouped by band."""

Bands = dict[str, tuple[str, tuple[int, ...]]]
"""``{band column: (source column, band edges)}``, as returned by :func:`band_columns`."""


def validate_bands(age_bands: Sequence[int]) -> tuple[int, ...]:
    """The band edges as whole, increasing, positive ages.

    Raises
    ------
    ConfigError
        When an edge is not a whole number, or the edges do not increase.
    """
    try:
        edges = tuple(int(b) for b in age_bands)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"Age bands must be whole numbers, got {list(age_bands)!r}.") from exc
    if not edges or any(b <= a for a, b in zip(edges, edges[1:], strict=False)) or edges[0] <= 0:
        raise ConfigError(
            f"Age bands must be increasing positive ages such as 30, 45, 65, 80; got {list(edges)}."
        )
    return edges


def age_band_labels(edges: Sequence[int] = DEFAULT_AGE_BANDS) -> list[str]:
    """``(30, 45, 65, 80)`` → ``['<30', '30-44', '45-64', '65-79', '80+']``."""
    edges = validate_bands(edges)
    labels = [f"<{edges[0]}"]
    labels += [f"{a}-{b - 1}" for a, b in zip(edges, edges[1:], strict=False)]
    labels.append(f"{edges[-1]}+")
    return labels


def add_age_band(
    df: pd.DataFrame,
    age_column: str,
    edges: Sequence[int] = DEFAULT_AGE_BANDS,
    name: str = AGE_BAND_COLUMN,
) -> pd.DataFrame:
    """Copy of ``df`` with an ordered categorical column ``name`` of age bands."""
    edges = validate_bands(edges)
    if age_column not in df.columns:
        raise ConfigError(f"The age column '{age_column}' is not in the table.")
    age = pd.to_numeric(df[age_column], errors="coerce")
    bins = [-np.inf, *edges, np.inf]
    out = df.copy(deep=False)  # copy-on-write: adding a column never changes ``df``
    out[name] = pd.cut(age, bins=bins, right=False, labels=age_band_labels(edges))
    return out


def needs_band(series: pd.Series, *, is_age: bool) -> bool:
    """Whether a sensitive column is grouped by band rather than by its own values."""
    if not pd.api.types.is_numeric_dtype(series):
        return False
    return is_age or int(series.nunique()) > BAND_ABOVE_LEVELS


def band_columns(
    df: pd.DataFrame, schema: Schema, columns: Sequence[str]
) -> tuple[pd.DataFrame, Bands]:
    """Add a band column for each of ``columns`` that :func:`needs_band`.

    Parameters
    ----------
    df
        The table (after :func:`~mcrage_core.tables.schema.infer_schema`).
    schema
        Its schema: ``schema.sensitive["age"]`` names the age column and
        ``schema.age_bands`` gives the edges.
    columns
        The sensitive columns to consider; the others are left alone.

    Returns
    -------
    (DataFrame, Bands)
        A copy of ``df`` with the band columns added (``df`` itself when nothing is
        banded), and ``{band column: (source column, edges)}`` in the order of ``columns``.
    """
    age_col = schema.sensitive.get("age")
    edges = validate_bands(schema.age_bands)
    out = df
    bands: Bands = {}
    for col in columns:
        if col not in df.columns or not needs_band(df[col], is_age=col == age_col):
            continue
        name = AGE_BAND_COLUMN if col == age_col else f"{col}_band"
        out = add_age_band(out, col, edges, name=name)
        bands[name] = (col, edges)
    return out, bands


def group_columns(df: pd.DataFrame, schema: Schema) -> tuple[pd.DataFrame, dict[str, str]]:
    """The categorical group column for each sensitive kind: a banded column is replaced
    by its band column (added to the returned copy, see :func:`band_columns`); the others
    are used as they are."""
    out, bands = band_columns(df, schema, list(schema.sensitive.values()))
    band_of = {src: band for band, (src, _) in bands.items()}
    mapping = {kind: band_of.get(col, col) for kind, col in schema.sensitive.items()}
    return out, mapping
