"""Imbalance audit: how large is each demographic group, how rare is the smallest, and
how often does the outcome occur in each group (with Wilson 95 % intervals).

Examples
--------
>>> import pandas as pd
>>> from mcrage_core.tables import audit_imbalance, infer_schema
>>> df = pd.DataFrame({"sex": ["F"] * 40 + ["M"] * 60, "outcome": [0, 1] * 50})
>>> df2, schema = infer_schema(df, target="outcome", sensitive={"sex": "sex"})
>>> report = audit_imbalance(df2, schema)
>>> report.summary.loc[0, "imbalance_ratio"]
np.float64(1.5)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mcrage_core.errors import ConfigError
from mcrage_core.tables.bands import group_columns
from mcrage_core.tables.outcome import binarize_target
from mcrage_core.tables.schema import Schema
from mcrage_core.util import to_jsonable

__all__ = ["ImbalanceReport", "audit_imbalance", "wilson_interval", "DEFAULT_SMALL_CELL"]

DEFAULT_SMALL_CELL = 30
_Z_95 = 1.959963984540054
"""``scipy.stats.norm.ppf(0.975)``, the z of a 95 % interval: kept so that the common
case does not import scipy.stats (over a second of every ``mcrage inspect``)."""


def wilson_interval(
    k: int | float, n: int | float, *, confidence: float = 0.95
) -> tuple[float, float]:
    """Wilson score interval for a proportion ``k / n``; ``(nan, nan)`` when ``n == 0``."""
    if n <= 0:
        return (math.nan, math.nan)
    if confidence == 0.95:
        z = _Z_95
    else:
        from scipy.stats import norm

        z = float(norm.ppf(0.5 + confidence / 2))
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True)
class ImbalanceReport:
    """Result of :func:`audit_imbalance`.

    Attributes
    ----------
    groups
        One row per (attribute, group): ``attribute, kind, group, n, share, outcome_rate,
        ci_low, ci_high, small_cell``.
    summary
        One row per attribute: ``attribute, kind, n_groups, largest, smallest,
        imbalance_ratio, n_missing``.
    intersection
        One row per combination of the group columns (e.g. race × sex × age band), with the
        same statistics as ``groups``.
    """

    groups: pd.DataFrame
    summary: pd.DataFrame
    intersection: pd.DataFrame
    n_rows: int
    target: str | None
    positive_class: str | None
    small_cell: int
    group_columns: dict[str, str]

    @property
    def small_cells(self) -> pd.DataFrame:
        """The intersectional cells with fewer than ``small_cell`` rows."""
        return self.intersection[self.intersection["small_cell"]]

    def warnings(self) -> list[str]:
        """Missing values, small groups and small intersectional cells, in words."""
        out = []
        for rec in self.summary.to_dict(orient="records"):
            if rec["n_missing"]:
                out.append(f"{rec['n_missing']} row(s) have no value for '{rec['attribute']}'.")
        small = self.groups[self.groups["small_cell"]]
        for row in small.itertuples():
            out.append(
                f"Group {row.attribute} = {row.group} has only {row.n} rows "
                f"(< {self.small_cell}): its numbers are unreliable."
            )
        if len(self.small_cells):
            out.append(
                f"{len(self.small_cells)} of {len(self.intersection)} intersectional cells "
                f"have fewer than {self.small_cell} rows."
            )
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_rows": self.n_rows,
            "target": self.target,
            "positive_class": self.positive_class,
            "small_cell": self.small_cell,
            "group_columns": dict(self.group_columns),
            "groups": _records(self.groups),
            "summary": _records(self.summary),
            "intersection": _records(self.intersection),
            "warnings": self.warnings(),
        }


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {str(k): to_jsonable(v) for k, v in rec.items()} for rec in frame.to_dict(orient="records")
    ]


def audit_imbalance(
    df: pd.DataFrame, schema: Schema, *, small_cell: int = DEFAULT_SMALL_CELL
) -> ImbalanceReport:
    """Counts, shares, imbalance ratios and outcome prevalence by sensitive group.

    Parameters
    ----------
    df
        The (coerced) table returned by :func:`~mcrage_core.tables.schema.infer_schema`.
    schema
        Its schema; ``schema.sensitive`` names the attributes to audit (age by band).
    small_cell
        Groups and cells with fewer rows than this are flagged.
    """
    if small_cell < 1:
        raise ConfigError(f"The small-cell threshold must be at least 1, got {small_cell}.")
    if not schema.sensitive:
        raise ConfigError(
            "No sensitive attribute (race, sex or age) was found or chosen. "
            "Pick the columns to audit (--sensitive COL, or the Data page)."
        )
    data, mapping = group_columns(df, schema)
    y = None
    if schema.target is not None and schema.positive_class is not None:
        y = binarize_target(data[schema.target], schema.positive_class)
    groups, summary = _by_attribute(data, mapping, schema.sensitive, y, small_cell)
    return ImbalanceReport(
        groups=groups,
        summary=summary,
        intersection=_intersection(data, list(mapping.values()), y, small_cell),
        n_rows=len(data),
        target=schema.target,
        positive_class=schema.positive_class,
        small_cell=small_cell,
        group_columns=dict(mapping),
    )


_STAT_COLUMNS = ["n", "share", "outcome_rate", "ci_low", "ci_high", "small_cell"]


def _by_attribute(
    data: pd.DataFrame,
    mapping: Mapping[str, str],
    sensitive: Mapping[str, str],
    y: pd.Series | None,
    small_cell: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per (attribute, group), and one summary row per attribute."""
    group_rows = []
    summary_rows = []
    outcome = _outcome(y)
    for kind, col in mapping.items():
        attribute = sensitive[kind]
        values = data[col]
        codes, names = _group_codes(values)
        n, k, m = _tallies(codes, len(names), outcome)
        # value_counts' order: the largest group first, ties in order of first appearance
        counts = pd.Series(n, index=names, dtype="int64").sort_values(
            ascending=False, kind="stable"
        )
        n_present = int(n.sum())
        position = {name: i for i, name in enumerate(names)}
        for group in _group_order(values, counts):
            i = position[group]
            base: dict[str, object] = {"attribute": attribute, "kind": kind, "group": group}
            group_rows.append(
                _stats(base, (int(n[i]), float(k[i]), int(m[i])), y, n_present, small_cell)
            )
        non_empty = counts[counts > 0]
        summary_rows.append(
            {
                "attribute": attribute,
                "kind": kind,
                "n_groups": int(len(non_empty)),
                "largest": str(non_empty.idxmax()) if len(non_empty) else None,
                "smallest": str(non_empty.idxmin()) if len(non_empty) else None,
                "imbalance_ratio": float(non_empty.max() / non_empty.min())
                if len(non_empty)
                else math.nan,
                "n_missing": int(len(data) - n_present),
            }
        )
    groups = pd.DataFrame(group_rows, columns=["attribute", "kind", "group", *_STAT_COLUMNS])
    return groups, pd.DataFrame(summary_rows)


def _intersection(
    data: pd.DataFrame, inter_cols: list[str], y: pd.Series | None, small_cell: int
) -> pd.DataFrame:
    """One row per combination of the group columns, largest first (equal sizes in the
    order of the combinations' text)."""
    combo = np.zeros(len(data), dtype=np.int64)  # each row's combination; -1: incomplete
    parts: list[tuple[int, ...]] = [()]  # each combination's group per column
    names: list[list[str]] = []
    for col in inter_cols:
        codes, col_names = _group_codes(data[col])
        names.append(col_names)
        joint = np.where((codes < 0) | (combo < 0), -1, combo * max(len(col_names), 1) + codes)
        complete = joint >= 0
        combo = np.full(len(data), -1, dtype=np.int64)
        found, uniques = pd.factorize(joint[complete])
        combo[complete] = found
        width = max(len(col_names), 1)
        parts = [(*parts[int(u) // width], int(u) % width) for u in uniques]
    n, k, m = _tallies(combo, len(parts), _outcome(y))
    n_complete = int(n.sum())
    combos = sorted(
        (tuple(names[j][g] for j, g in enumerate(part)), i) for i, part in enumerate(parts)
    )
    inter_rows = [
        _stats(
            dict(zip(inter_cols, values, strict=True)),
            (int(n[i]), float(k[i]), int(m[i])),
            y,
            n_complete,
            small_cell,
        )
        for values, i in combos
    ]
    intersection = pd.DataFrame(inter_rows, columns=[*inter_cols, *_STAT_COLUMNS])
    if len(intersection):
        intersection = intersection.sort_values("n", ascending=False, ignore_index=True)
    return intersection


def _group_codes(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Each row's group as an index into the groups' names, -1 where the value is missing.

    The names are the values as text (as ``astype(str)`` writes them), in order of first
    appearance; values with the same text (``1`` and ``'1'``) are one group. Counting
    codes costs a fraction of comparing a million texts once per group."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    position: dict[str, int] = {}
    remap = np.array([position.setdefault(str(u), len(position)) for u in uniques], dtype=np.int64)
    codes = np.asarray(codes, dtype=np.int64)
    if len(position) < len(remap):
        codes = np.where(codes >= 0, remap[np.maximum(codes, 0)], -1)
    return codes, list(position)


def _outcome(y: pd.Series | None) -> np.ndarray | None:
    return None if y is None else y.to_numpy(dtype=float, na_value=np.nan)


def _tallies(
    codes: np.ndarray, size: int, outcome: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per code: the rows (n), the sum of the known outcomes (k) and their number (m)."""
    present = codes >= 0
    n = np.bincount(codes[present], minlength=size)
    if outcome is None:
        return n, np.zeros(size), np.zeros(size, dtype=np.int64)
    known = present & ~np.isnan(outcome)
    k = np.bincount(codes[known], weights=outcome[known], minlength=size)
    return n, k, np.bincount(codes[known], minlength=size)


def _group_order(values: pd.Series, counts: pd.Series) -> list[str]:
    if isinstance(values.dtype, pd.CategoricalDtype) and values.dtype.ordered:
        return [str(c) for c in values.cat.categories if counts.get(str(c), 0) > 0]
    return [str(g) for g in counts.index]


def _stats(
    base: dict[str, object],
    tally: tuple[int, float, int],
    y: pd.Series | None,
    n_ref: int,
    small_cell: int,
) -> dict[str, object]:
    """The row of one group: ``tally`` is its rows, the sum of its known outcomes and
    their number (:func:`_tallies`)."""
    n, k, m = tally
    row: dict[str, object] = dict(base)
    row["n"] = n
    row["share"] = n / n_ref if n_ref else math.nan
    if y is not None:
        row["outcome_rate"] = k / m if m else math.nan
        row["ci_low"], row["ci_high"] = wilson_interval(k, m)
    else:
        row["outcome_rate"] = row["ci_low"] = row["ci_high"] = math.nan
    row["small_cell"] = n < small_cell
    return row
