"""SMOTE-NC (imbalanced-learn): new rows interpolated between real neighbours of the
same cell. Missing values are filled in (median / most frequent) first, because SMOTE
cannot work with gaps; a cell with a single real row is copied instead."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from mcrage_core.errors import ConfigError
from mcrage_core.rebalance.strategies.base import AugmentContext, PlanCells
from mcrage_core.rebalance.strategies.generated import Generated, GeneratingStrategy

__all__ = ["SmoteStrategy"]

_MISSING_CAT = "__mcrage_missing__"


class SmoteStrategy(GeneratingStrategy):
    """SMOTE (numbers), SMOTEN (categories) or SMOTE-NC (both), per cell."""

    name = "smote"
    label = "SMOTE-NC"

    def generate(
        self, cells: PlanCells, plan: pd.DataFrame, *, context: AugmentContext
    ) -> Generated:
        train = cells.train
        warnings = list(cells.empty_cell_warnings(self.label))
        strategy: dict[str, int] = {}
        tiny: dict[str, int] = {}
        for lab, (_, n_add) in cells.wanted.items():
            n_now = int(cells.counts.get(lab, 0))
            if n_add <= 0 or n_now == 0:
                continue
            if n_now < 2:
                tiny[lab] = n_add
            else:
                strategy[lab] = n_now + n_add
        parts: list[pd.DataFrame] = []
        if strategy:
            parts.append(_interpolate(cells, strategy, context, warnings))
        if tiny:
            rng = np.random.default_rng(context.seed)
            for lab, n_add in tiny.items():
                idx = np.flatnonzero((cells.labels == lab).to_numpy())
                parts.append(train.iloc[rng.choice(idx, size=n_add, replace=True)])
                warnings.append(
                    f"SMOTE-NC: cell {lab.replace(chr(31), ' / ')} has a single real row; "
                    f"it was copied {n_add} times instead of interpolated"
                )
        synthetic = pd.concat(parts, ignore_index=True) if parts else train.iloc[0:0]
        return Generated(synthetic, warnings=tuple(warnings))


def _interpolate(
    cells: PlanCells, strategy: dict[str, int], context: AugmentContext, warnings: list[str]
) -> pd.DataFrame:
    """The interpolated rows of the cells in ``strategy`` (label → wanted total)."""
    from imblearn.over_sampling import SMOTE, SMOTEN, SMOTENC

    train, cols = cells.train, cells.cols
    feats = [c for c in (context.columns or context.features) if c not in cols]
    if not feats:
        raise ConfigError(
            "SMOTE needs at least one feature column besides the group and outcome columns"
        )
    X, categorical, restore = _smote_matrix(train[feats])
    k = max(1, min(5, min(int(cells.counts[lab]) for lab in strategy) - 1))
    sampler: Any
    if not categorical:
        sampler = SMOTE(sampling_strategy=strategy, k_neighbors=k, random_state=context.seed)
    elif len(categorical) == len(feats):
        sampler = SMOTEN(sampling_strategy=strategy, k_neighbors=k, random_state=context.seed)
    else:
        sampler = SMOTENC(
            categorical_features=[feats.index(c) for c in categorical],
            sampling_strategy=strategy,
            k_neighbors=k,
            random_state=context.seed,
        )
    X_res, y_res = sampler.fit_resample(X, cells.labels.to_numpy())
    new = pd.DataFrame(X_res, columns=feats).iloc[len(train) :].reset_index(drop=True)
    new = restore(new)
    new_labels = np.asarray(y_res)[len(train) :]
    new = _attach_cells(new, new_labels, train, cells.labels, cols)
    if any(train[feats].isna().any()):
        warnings.append(
            "SMOTE-NC cannot work with gaps: missing values were filled in (median for "
            "numbers, most frequent value for categories) before new rows were made, so "
            "SMOTE rows have no missing values"
        )
    return new[train.columns]


def _is_categorical(s: pd.Series) -> bool:
    if isinstance(s.dtype, pd.CategoricalDtype) or s.dtype == bool:
        return True
    if not pd.api.types.is_numeric_dtype(s):
        return True
    vals = s.dropna()
    return bool(
        len(vals) > 0 and vals.nunique() <= 10 and np.all(np.mod(vals.to_numpy(float), 1) == 0)
    )


Restore = Callable[[pd.DataFrame], pd.DataFrame]


def _smote_matrix(X: pd.DataFrame) -> tuple[pd.DataFrame, list[str], Restore]:
    """Impute and encode ``X`` for SMOTE; returns (matrix frame, categorical cols, restore)."""
    X = X.copy()
    categorical = [c for c in X.columns if _is_categorical(X[c])]
    dtypes = X.dtypes.to_dict()
    numeric_like = {c for c in categorical if pd.api.types.is_numeric_dtype(X[c])}
    for c in X.columns:
        if c in categorical:
            col = X[c]
            if c in numeric_like:
                mode = col.mode(dropna=True)
                fill = mode.iloc[0] if len(mode) else 0
                X[c] = col.fillna(fill).astype(float)
            else:
                X[c] = col.astype(object).where(col.notna(), _MISSING_CAT).astype(str)
        else:
            num = pd.to_numeric(X[c], errors="coerce").astype(float)
            med = num.median()
            X[c] = num.fillna(0.0 if pd.isna(med) else med)

    def restore(new: pd.DataFrame) -> pd.DataFrame:
        new = new.copy()
        for c in new.columns:
            if c in categorical and c not in numeric_like:
                vals = new[c].astype(object)
                vals = vals.where(vals != _MISSING_CAT, np.nan)
            else:
                vals = pd.to_numeric(new[c], errors="coerce")
                if c in numeric_like:
                    vals = vals.round()
            try:
                new[c] = vals.astype(dtypes[c])
            except (TypeError, ValueError):
                new[c] = vals
        return new

    return X, categorical, restore


def _attach_cells(
    new: pd.DataFrame,
    new_labels: np.ndarray,
    train: pd.DataFrame,
    labels: pd.Series,
    cols: Sequence[str],
) -> pd.DataFrame:
    """Set the group and outcome columns of generated rows from their cell label."""
    first = train.assign(_lab=labels.to_numpy()).drop_duplicates("_lab").set_index("_lab")
    for c in cols:
        new[c] = first.loc[new_labels, c].to_numpy()
    for c in train.columns:
        if c not in new.columns:
            new[c] = np.nan
    return new
