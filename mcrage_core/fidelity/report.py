"""Fidelity and privacy of a synthetic table against the real one, overall and per group:
:func:`evaluate_fidelity` and its result, :class:`FidelityReport`.

Metrics (each in [0, 1]):

* **column shapes**, **pair trends** - see :mod:`~mcrage_core.fidelity.columns`; the
  missing-value rate of each column is compared separately
  (``missingness`` = ``1 - mean |rate_real - rate_synthetic|``).
* **detection AUC** - see :mod:`~mcrage_core.fidelity.detection`.
* **DCR share**, **exact copies** - see :mod:`~mcrage_core.fidelity.privacy`.

Each score gets a plain verdict (:mod:`~mcrage_core.fidelity.verdicts`) in
``overall["verdicts"]``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from mcrage_core.errors import ConfigError, DataError
from mcrage_core.fidelity.columns import (
    ColumnKinds,
    as_labels,
    column_kinds,
    column_scores,
    pair_trends,
)
from mcrage_core.fidelity.detection import MIN_GROUP_DETECTION, detection_auc, stratify_detection
from mcrage_core.fidelity.privacy import copy_mask, dcr_share
from mcrage_core.fidelity.verdicts import fidelity_verdicts
from mcrage_core.util import to_jsonable

__all__ = ["FidelityReport", "evaluate_fidelity"]

_GROUP_MAX_ROWS = 1500  # rows per side for per-group detection and DCR
_METRIC_COLUMNS = [
    "n_real",
    "n_synthetic",
    "column_shapes",
    "pair_trends",
    "missingness",
    "detection_auc",
    "dcr_closer_to_train_share",
    "exact_copies",
]


@dataclass(frozen=True)
class FidelityReport:
    """Result of :func:`evaluate_fidelity`.

    Attributes
    ----------
    overall : dict
        ``column_shapes``, ``pair_trends``, ``missingness``, ``detection_auc``,
        ``dcr_closer_to_train_share``, ``exact_copies``, ``n_real``, ``n_synthetic``.
    by_group : DataFrame
        One row per group of ``by`` (empty without ``by``): the group column(s),
        ``n_real``, ``n_synthetic`` and the metrics above.
    column_scores : DataFrame
        ``column, kind, metric, score, missing_real, missing_synthetic`` (overall).
    """

    overall: dict[str, Any]
    by_group: pd.DataFrame = field(default_factory=pd.DataFrame)
    column_scores: pd.DataFrame = field(default_factory=pd.DataFrame)

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON types (non-finite numbers become ``None``)."""
        return {
            "overall": to_jsonable(self.overall),
            "by_group": to_jsonable(self.by_group),
            "column_scores": to_jsonable(self.column_scores),
        }


@dataclass(frozen=True)
class _Options:
    """The settings every subset of rows is scored with."""

    real_all: pd.DataFrame  # the whole real table: bins of numeric columns come from it
    seed: int
    detection: bool
    max_rows: int


def _scores(
    real: pd.DataFrame,
    synth: pd.DataFrame,
    kinds: ColumnKinds,
    opts: _Options,
    *,
    holdout: pd.DataFrame | None,
    copies: int,
) -> tuple[dict[str, Any], pd.DataFrame]:
    cs = column_scores(real, synth, kinds)
    miss = (
        1.0 - float(np.nanmean(np.abs(cs["missing_real"] - cs["missing_synthetic"])))
        if len(cs) and len(real) and len(synth)
        else math.nan
    )
    seed, max_rows = opts.seed, opts.max_rows
    result = {
        "n_real": len(real),
        "n_synthetic": len(synth),
        "column_shapes": float(cs["score"].mean()) if len(cs) and len(synth) else math.nan,
        "pair_trends": pair_trends(real, synth, kinds, opts.real_all),
        "missingness": miss,
        "detection_auc": detection_auc(real, synth, kinds, seed=seed, max_rows=max_rows)
        if opts.detection
        else math.nan,
        "dcr_closer_to_train_share": dcr_share(
            real, holdout, synth, kinds, seed=seed, max_rows=max_rows
        )
        if holdout is not None
        else math.nan,
        "exact_copies": copies,
    }
    return result, cs


def evaluate_fidelity(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    *,
    by: str | Sequence[str] | None = None,
    holdout: pd.DataFrame | None = None,
    seed: int = 0,
    columns: Sequence[str] | None = None,
    detection: bool = True,
    max_rows: int = 3000,
) -> FidelityReport:
    """Compare a synthetic table with the real one, overall and per group.

    Parameters
    ----------
    real
        The real rows the generator was trained on.
    synthetic
        Generated rows (same columns; extra columns on either side are ignored).
    by
        Group column(s), e.g. ``"race"`` or ``["race", "died_within_6_months"]``:
        metrics are also computed within each group, with ``n`` per group.
    holdout
        Real rows *not* used for training; enables the DCR share.
    seed
        Seed for subsampling and the detection classifier's folds.
    columns
        Columns to compare (default: all shared columns).
    detection
        Compute the detection AUC (the slowest metric).
    max_rows
        Rows per side used by the detection classifier and DCR.

    Raises
    ------
    DataError
        If the tables share no column or one of them is empty.
    ConfigError
        If a ``by`` column is missing.
    """
    columns, by_cols = _check_inputs(real, synthetic, holdout, columns, by)
    kinds = column_kinds(real, columns)
    reference = real if holdout is None else pd.concat([real[columns], holdout[columns]])
    is_copy = copy_mask(synthetic, reference, columns)
    opts = _Options(real_all=real, seed=seed, detection=detection, max_rows=max_rows)
    overall, cs = _scores(real, synthetic, kinds, opts, holdout=holdout, copies=int(is_copy.sum()))
    by_group = pd.DataFrame()
    if by_cols:
        rows = _group_rows(real, synthetic, holdout, by_cols, kinds, is_copy, opts)
        by_group = pd.DataFrame(rows, columns=[*by_cols, *_METRIC_COLUMNS])
        by_group["exact_copies"] = by_group["exact_copies"].astype("Int64")
        stratify_detection(overall, by_group)
    overall["verdicts"] = fidelity_verdicts(overall)
    return FidelityReport(overall=overall, by_group=by_group, column_scores=cs)


def _check_inputs(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame | None,
    columns: Sequence[str] | None,
    by: str | Sequence[str] | None,
) -> tuple[list[str], list[str]]:
    """The columns to compare and the group columns, after checking both exist."""
    if not isinstance(real, pd.DataFrame) or not isinstance(synthetic, pd.DataFrame):
        raise DataError("evaluate_fidelity() needs two pandas DataFrames.")
    if columns is None:
        columns = [c for c in real.columns if c in synthetic.columns]
    else:
        absent = [c for c in columns if c not in real.columns or c not in synthetic.columns]
        if absent:
            raise ConfigError(f"Column(s) {absent} are not in both tables.")
        columns = list(columns)
    if not columns:
        raise DataError(
            "The real and synthetic tables have no column in common; check that the "
            "synthetic file was generated from this table."
        )
    if len(real) == 0 or len(synthetic) == 0:
        raise DataError(
            f"Cannot compare: the real table has {len(real)} rows and the synthetic one "
            f"{len(synthetic)}."
        )
    by_cols = [] if by is None else ([by] if isinstance(by, str) else list(by))
    absent = [c for c in by_cols if c not in real.columns or c not in synthetic.columns]
    if absent:
        raise ConfigError(
            f"Group column(s) {absent} are not in both tables; shared columns: {columns}."
        )
    if holdout is not None:
        missing_h = [c for c in columns if c not in holdout.columns]
        if missing_h:
            raise DataError(f"The hold-out table lacks the column(s) {missing_h}.")
    return columns, by_cols


def _group_rows(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame | None,
    by_cols: list[str],
    kinds: ColumnKinds,
    is_copy: np.ndarray,
    opts: _Options,
) -> list[dict[str, Any]]:
    """One row of scores per group of ``by_cols`` (groups in order of first appearance)."""
    inner = {c: k for c, k in kinds.items() if c not in by_cols}
    key_r = pd.MultiIndex.from_frame(
        real[by_cols].astype(object).where(real[by_cols].notna(), None)
    )
    lab_r = [as_labels(real[c]) for c in by_cols]
    lab_s = [as_labels(synthetic[c]) for c in by_cols]
    lab_h = [as_labels(holdout[c]) for c in by_cols] if holdout is not None else None
    group_opts = replace(opts, max_rows=min(opts.max_rows, _GROUP_MAX_ROWS))
    rows = []
    for key in dict.fromkeys(key_r.tolist()):
        g = key if isinstance(key, tuple) else (key,)
        g_lab = [
            as_labels(pd.Series([v], dtype=real[c].dtype)).iloc[0]
            for v, c in zip(g, by_cols, strict=True)
        ]
        mr = np.logical_and.reduce([lab == v for lab, v in zip(lab_r, g_lab, strict=True)])
        ms = np.logical_and.reduce([lab == v for lab, v in zip(lab_s, g_lab, strict=True)])
        h = None
        if holdout is not None and lab_h is not None:
            mh = np.logical_and.reduce([lab == v for lab, v in zip(lab_h, g_lab, strict=True)])
            h = holdout.loc[np.asarray(mh)]
        r_g = real.loc[np.asarray(mr)]
        s_g = synthetic.loc[np.asarray(ms)]
        res: dict[str, Any] = {"n_real": len(r_g), "n_synthetic": 0}
        if len(s_g):
            detect = opts.detection and min(len(r_g), len(s_g)) >= MIN_GROUP_DETECTION
            res, _ = _scores(
                r_g,
                s_g,
                inner,
                replace(group_opts, detection=detect),
                holdout=h,
                copies=int(is_copy[np.asarray(ms)].sum()),
            )
        rows.append({**dict(zip(by_cols, list(g), strict=True)), **res})
    return rows
