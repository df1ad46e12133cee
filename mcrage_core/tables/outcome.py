"""The outcome column: which value counts as positive, and the 0/1 outcome.

Examples
--------
>>> s = pd.Series(["No", "Yes", "No", None])
>>> detect_positive_class(s)
'Yes'
>>> binarize_target(s, "Yes").tolist()
[0.0, 1.0, 0.0, nan]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mcrage_core.errors import ConfigError, DataError
from mcrage_core.tables.kinds import ColumnKind
from mcrage_core.tables.vocabulary import NEGATIVE, POSITIVE, fold

__all__ = [
    "binarize_target",
    "check_target",
    "detect_positive_class",
    "resolve_positive_class",
]


def detect_positive_class(series: pd.Series) -> str:
    """The outcome value that counts as "positive" (the event): yes/1/true/in/died (or
    sí/sim/oui/ja, fallecido/óbito/décédé/verstorben...); for unfamiliar codes, the rarer
    value."""
    values = [v for v in pd.unique(series.dropna())]
    lowered = {fold(v): v for v in values}
    for word in POSITIVE:
        if word in lowered and any(n in lowered for n in NEGATIVE):
            return str(lowered[word])
    counts = series.dropna().astype(str).value_counts()
    return str(counts.index[-1])


def resolve_positive_class(series: pd.Series, positive_class: object | None, target: str) -> str:
    """The outcome value, as written in ``series``, that counts as positive: detected when
    ``positive_class`` is ``None``; ``1`` matches ``1.0`` and case is ignored.

    Raises
    ------
    ConfigError
        If the value does not occur in the column.
    """
    as_text = series.dropna().astype(str)
    if positive_class is None:
        return detect_positive_class(series)
    wanted = str(positive_class)
    if wanted not in set(as_text):
        # tolerate 1 vs 1.0 and case differences
        for v in as_text.unique():
            if v.strip().lower() == wanted.strip().lower() or _same_number(v, wanted):
                return v
        raise ConfigError(
            f"The positive class {wanted!r} does not occur in the target column '{target}'. "
            f"Its values are: {', '.join(map(repr, sorted(as_text.unique())[:10]))}."
        )
    return wanted


def check_target(
    df: pd.DataFrame, target: str, kind: ColumnKind, positive_class: object | None
) -> tuple[tuple[str, ...], str, list[str]]:
    """The outcome's classes (sorted, as text), its positive class and warnings.

    Raises
    ------
    DataError
        If the outcome has fewer than two values or looks continuous.
    ConfigError
        If ``positive_class`` does not occur in it.
    """
    values = df[target].dropna()
    if values.nunique() < 2:
        raise DataError(
            f"The target column '{target}' has only one value ({_plain(values.iloc[0])!r} in every row)"
            if len(values)
            else f"The target column '{target}' is empty"
            + ". A model needs at least two outcomes: choose another target column."
        )
    if values.nunique() > 20 and kind in ("numeric", "integer"):
        raise DataError(
            f"The target column '{target}' looks continuous ({values.nunique()} distinct "
            "values). Choose a yes/no or categorical outcome column, or bin it first."
        )
    classes = tuple(str(v) for v in _sorted_values(values))
    pos = resolve_positive_class(df[target], positive_class, target)
    warnings = []
    n_missing = int(df[target].isna().sum())
    if n_missing:
        warnings.append(
            f"Target '{target}': {n_missing} row(s) have no outcome and are left out of "
            "modelling and outcome rates."
        )
    return classes, pos, warnings


def binarize_target(series: pd.Series, positive_class: object) -> pd.Series:
    """1 where the outcome equals ``positive_class`` (compared as text), 0 otherwise,
    missing where the outcome is missing."""
    pos = str(positive_class)
    as_text = series.astype(str).where(series.notna())
    out = (as_text == pos).astype("float")
    out[series.isna()] = np.nan
    if out.notna().all():
        return out.astype(int)
    return out


def _sorted_values(values: pd.Series) -> list[object]:
    uniq = list(pd.unique(values))
    try:
        return sorted(uniq)
    except TypeError:
        return sorted(uniq, key=str)


def _plain(value: object) -> object:
    """A numpy scalar as the Python value it holds (so messages read 0, not np.int64(0))."""
    item = getattr(value, "item", None)
    return item() if callable(item) else value


def _same_number(a: str, b: str) -> bool:
    try:
        return float(a) == float(b)
    except ValueError:
        return False
