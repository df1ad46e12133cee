"""What the privacy attacks share: input checks, group labels, the encoded feature space,
bootstrap intervals and the low / moderate / high reading.

The encoded space is the one of :func:`mcrage_core.fidelity.privacy.dcr_share`: numeric
columns (as judged by :func:`~mcrage_core.fidelity.columns.column_kinds`) are mapped to
[0, 1] by a quantile transform, missing values are imputed with the median plus a 0/1
"was missing" indicator, and categorical columns are one-hot encoded with weight
``1/sqrt(2)`` so that a different category adds 1 to the squared distance, as much as
the largest possible difference of one numeric column.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from mcrage_core.errors import ConfigError, DataError
from mcrage_core.fidelity.columns import MISSING, ColumnKinds, as_float, as_labels
from mcrage_core.tables.order import sort_groups
from mcrage_core.util.jsonable import to_jsonable

__all__ = [
    "ALL",
    "LEVELS",
    "MIN_GROUP_ROWS",
    "MIN_ROWS",
    "MISSING_GROUP",
    "TOO_FEW",
    "RiskTable",
    "at_least",
    "bootstrap_interval",
    "by_list",
    "check_tables",
    "check_thresholds",
    "fit_encoder",
    "group_labels",
    "group_order",
    "risk_level",
]

MIN_ROWS = 20
"""Fewest rows each of the training, hold-out and synthetic tables must have."""
MIN_GROUP_ROWS = 10
"""Fewest evaluated rows (per side, where there are two) for a group's estimate."""
MAX_GROUP_LEVELS = 50
"""A ``by`` column with more distinct values than this is refused (band it first)."""
MISSING_GROUP = "(missing)"
ALL = "(all)"
TOO_FEW = "too few rows"
LEVELS = ("low", "moderate", "high")
_MAX_ONE_HOT = 30  # rarer categories of a column share one "infrequent" indicator

Encoder = Callable[[pd.DataFrame], np.ndarray]


def by_list(by: str | Sequence[str] | None) -> list[str]:
    """``by`` as a list of column names (one name, several, or none)."""
    if by is None:
        return []
    return [by] if isinstance(by, str) else list(by)


def check_tables(
    func: str,
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    *,
    needed: Sequence[str] = (),
) -> list[str]:
    """The columns shared by the three tables, after checking they can be attacked.

    Raises
    ------
    DataError
        When an argument is not a DataFrame, a table has fewer than :data:`MIN_ROWS`
        rows, the tables share no column, or a ``needed`` column (group, quasi-identifier,
        sensitive) is absent from one of them.
    """
    tables = {"training": train, "hold-out": holdout, "synthetic": synthetic}
    for name, df in tables.items():
        if not isinstance(df, pd.DataFrame):
            raise DataError(f"{func}() needs the {name} table as a pandas DataFrame.")
        if len(df) < MIN_ROWS:
            raise DataError(
                f"The {name} table has {len(df)} rows; {func}() needs at least {MIN_ROWS} "
                "rows in each of the training, hold-out and synthetic tables."
            )
    shared = [c for c in train.columns if c in holdout.columns and c in synthetic.columns]
    if not shared:
        raise DataError(
            "The training, hold-out and synthetic tables have no column in common; check "
            "that the synthetic file was generated from this table."
        )
    for name, df in tables.items():
        absent = [c for c in dict.fromkeys(needed) if c not in df.columns]
        if absent:
            raise DataError(
                f"Column(s) {absent} are not in the {name} table; shared columns: {shared}."
            )
    return shared


def group_labels(s: pd.Series) -> np.ndarray:
    """Group labels as text: ``1.0`` reads ``"1"``, a missing value ``"(missing)"``."""
    out = []
    numeric = pd.api.types.is_numeric_dtype(s.dtype)  # booleans too: 1.0 -> "1"
    for v in as_labels(s).tolist():
        if v == MISSING:
            out.append(MISSING_GROUP)
        elif numeric and v.endswith(".0"):
            out.append(v[:-2])
        else:
            out.append(v)
    return np.asarray(out, dtype=object)


def group_order(column: str, labels: np.ndarray) -> list[str]:
    """The distinct labels in display order; refuses a column with too many of them."""
    levels = sort_groups(pd.unique(labels).tolist())
    if len(levels) > MAX_GROUP_LEVELS:
        raise DataError(
            f"Group column {column!r} has {len(levels)} distinct values (more than "
            f"{MAX_GROUP_LEVELS}); cut it into bands first (e.g. age bands)."
        )
    return [str(v) for v in levels]


def fit_encoder(reference: pd.DataFrame, kinds: ColumnKinds, seed: int) -> Encoder:
    """Fit the shared encoding (see the module docstring) on ``reference``; returns a
    function turning a table into a dense float matrix."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, QuantileTransformer

    num = [c for c, k in kinds.items() if k == "numeric"]
    cat = [c for c, k in kinds.items() if k == "categorical"]

    def prep(f: pd.DataFrame) -> pd.DataFrame:
        d: dict[str, Any] = {c: as_float(f[c]) for c in num}
        d.update({c: as_labels(f[c]).to_numpy() for c in cat})
        return pd.DataFrame(d, columns=num + cat)

    steps: list[tuple[str, Any, list[str]]] = []
    if num:
        quantiles = QuantileTransformer(n_quantiles=min(1000, len(reference)), random_state=seed)
        impute = SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)
        steps.append(("num", make_pipeline(quantiles, impute), num))
    if cat:
        one_hot = OneHotEncoder(
            handle_unknown="infrequent_if_exist", max_categories=_MAX_ONE_HOT, sparse_output=False
        )
        steps.append(("cat", one_hot, cat))
    ct = ColumnTransformer(steps, transformer_weights={"num": 1.0, "cat": 1.0 / math.sqrt(2)})
    ct.fit(prep(reference))

    def encode(f: pd.DataFrame) -> np.ndarray:
        return np.asarray(ct.transform(prep(f)), dtype=np.float64)

    return encode


def bootstrap_interval(
    stat: Callable[[np.ndarray], np.ndarray], draws: np.ndarray, level: float = 0.95
) -> tuple[float, float]:
    """Percentile interval of ``stat`` over bootstrap draws.

    ``draws`` has one row of resampled indices per replicate; ``stat`` maps that
    matrix to one value per replicate. Non-finite replicates are ignored.
    """
    if draws.shape[0] == 0:
        return math.nan, math.nan
    values = np.asarray(stat(draws), dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return math.nan, math.nan
    tail = (1.0 - level) / 2.0 * 100.0
    low, high = np.percentile(values, [tail, 100.0 - tail])
    return float(low), float(high)


def risk_level(value: float, thresholds: tuple[float, float]) -> str:
    """``"low"`` up to ``thresholds[0]``, ``"moderate"`` up to ``thresholds[1]``,
    ``"high"`` above, ``"unknown"`` when the value is missing."""
    if value is None or not math.isfinite(value):
        return "unknown"
    if value <= thresholds[0]:
        return "low"
    return "moderate" if value <= thresholds[1] else "high"


def check_thresholds(thresholds: Sequence[float]) -> tuple[float, float]:
    """``(low, moderate)`` as two increasing floats; :class:`ConfigError` otherwise."""
    t = tuple(float(x) for x in thresholds)
    if len(t) != 2 or not t[0] <= t[1]:
        raise ConfigError(
            f"thresholds must be two increasing numbers (low, moderate); got {thresholds!r}."
        )
    return t[0], t[1]


def at_least(frame: pd.DataFrame, min_level: str) -> pd.DataFrame:
    """Rows of ``frame`` whose ``risk`` is ``min_level`` or worse."""
    if min_level not in LEVELS:
        raise ConfigError(f"min_level must be one of {list(LEVELS)}; got {min_level!r}.")
    keep = LEVELS[LEVELS.index(min_level) :]
    return frame.loc[frame["risk"].isin(keep)].reset_index(drop=True)


class RiskTable:
    """Shared reading of a result with a ``table`` (one row overall, one per group),
    ``thresholds`` and ``summary()``: :meth:`to_frame`, :meth:`at_risk`, :meth:`to_dict`."""

    table: pd.DataFrame
    thresholds: tuple[float, float]

    def summary(self) -> dict[str, Any]:  # pragma: no cover - defined by each result
        raise NotImplementedError

    def to_frame(self) -> pd.DataFrame:
        """A copy of the table."""
        return self.table.copy()

    def at_risk(self, min_level: str = "moderate") -> pd.DataFrame:
        """Rows (overall or per group) whose risk is ``min_level`` or worse."""
        return at_least(self.table, min_level)

    def to_dict(self) -> dict[str, Any]:
        """Summary, thresholds and every row as plain JSON types (NaN becomes ``None``)."""
        return to_jsonable(
            {
                "summary": self.summary(),
                "thresholds": {"low": self.thresholds[0], "moderate": self.thresholds[1]},
                "rows": self.table,
            }
        )
