"""Strategies that add rows (:class:`GeneratingStrategy`), and keeping added rows inside
the group (cell) they were made for.

A row made for the age band ``45-64`` must have an age in that band, and a row made for
the merged group "other (merged)" must carry one of the merged values
(:func:`keep_in_groups`, applied to every generating strategy's rows).
"""

from __future__ import annotations

import contextlib
from abc import abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from mcrage_core.rebalance.strategies.base import (
    Augmentation,
    AugmentContext,
    PlanCells,
    Strategy,
    finish,
    plan_cells,
)
from mcrage_core.tables import MERGED_LABEL, Bands, age_band_labels, decimals_of

__all__ = ["Generated", "GeneratingStrategy", "keep_in_groups", "clip_to_bands", "snap_to_groups"]


@dataclass(frozen=True)
class Generated:
    """What a generating strategy made: the new rows (the training rows' columns),
    warnings, the plan cells it refused (``blocked``) and anything else (``extras``)."""

    rows: pd.DataFrame
    warnings: tuple[str, ...] = ()
    blocked: pd.DataFrame | None = None
    extras: dict[str, Any] = field(default_factory=dict)


class GeneratingStrategy(Strategy):
    """A strategy that adds rows: subclasses implement :meth:`generate`; the rows are
    appended to the real ones and kept inside their cell (:func:`keep_in_groups`)."""

    adds_rows = True

    def augment(
        self, train: pd.DataFrame, plan: pd.DataFrame, *, context: AugmentContext
    ) -> Augmentation:
        cells = plan_cells(train, plan, context)
        new = self.generate(cells, plan, context=context)
        aug = finish(
            self.name,
            cells.train,
            new.rows,
            warnings=new.warnings,
            blocked=new.blocked,
            extras=new.extras,
        )
        return keep_in_groups(aug, context)

    @abstractmethod
    def generate(
        self, cells: PlanCells, plan: pd.DataFrame, *, context: AugmentContext
    ) -> Generated:
        """The new rows for the ``plan`` (``cells``: the plan as seen in the training rows)."""


def keep_in_groups(aug: Augmentation, context: AugmentContext) -> Augmentation:
    """``aug`` with its added rows' ages clipped to their band and merged-group values
    kept inside the merged group (see :func:`clip_to_bands`, :func:`snap_to_groups`)."""
    if aug.n_added and context.bands:
        aug = clip_to_bands(aug, context.bands)
    if aug.n_added and any(g in context.merged for g in context.rebalance):
        aug = snap_to_groups(aug, context)
    return aug


def with_synthetic(aug: Augmentation, synthetic: pd.DataFrame) -> Augmentation:
    """``aug`` with its added rows replaced by ``synthetic`` (the real rows unchanged)."""
    real = aug.train.iloc[: len(aug.train) - len(aug.synthetic)]
    train = pd.concat([real, synthetic], ignore_index=True)
    return replace(aug, train=train, synthetic=synthetic)


def snap_to_groups(aug: Augmentation, context: AugmentContext) -> Augmentation:
    """Keep a generated row's original value (say race ``4``) inside the merged group it
    was generated for: a row of "other (merged)" whose value is not one of the merged
    codes gets one drawn from the real members of that group; a row of any other group
    gets that group's own value."""
    rng = np.random.default_rng(context.seed)
    synthetic = aug.synthetic.copy()
    real = aug.train.iloc[: len(aug.train) - len(aug.synthetic)]
    for gcol in context.rebalance:
        if gcol not in context.merged or gcol not in synthetic.columns:
            continue
        src = context.attributes[gcol]
        members = set(context.merged[gcol])
        group = synthetic[gcol].astype(object)
        value = synthetic[src].astype(object)
        merged_rows = (group == MERGED_LABEL).to_numpy()
        outside = merged_rows & ~value.isin(members).to_numpy()
        if outside.any():
            pool = real.loc[real[gcol] == MERGED_LABEL, src].dropna().to_numpy()
            if len(pool):
                value.iloc[np.flatnonzero(outside)] = rng.choice(pool, size=int(outside.sum()))
        own = ~merged_rows & group.notna().to_numpy()
        value.iloc[np.flatnonzero(own)] = group.iloc[np.flatnonzero(own)].to_numpy()
        synthetic[src] = value.to_numpy()
    return with_synthetic(aug, synthetic)


def _band_edges(edges: tuple[int, ...]) -> tuple[Mapping[str, float], Mapping[str, float]]:
    bounds = [-np.inf, *edges, np.inf]
    labels = age_band_labels(edges)
    return (
        dict(zip(labels, bounds[:-1], strict=True)),
        dict(zip(labels, bounds[1:], strict=True)),
    )


def clip_to_bands(aug: Augmentation, bands: Bands) -> Augmentation:
    """Keep generated ages inside the age band of the cell they were generated for."""
    synthetic = aug.synthetic.copy()
    for band_col, (src, edges) in bands.items():
        if band_col not in synthetic.columns or src not in synthetic.columns:
            continue
        lows, highs = _band_edges(edges)
        real_values = pd.to_numeric(aug.train[src], errors="coerce").dropna()
        # the precision real ages are written with, so that rounding on output cannot push
        # an age over its band's upper edge (44.99 → 45.0)
        digits = (
            0
            if pd.api.types.is_integer_dtype(synthetic[src])
            else decimals_of(real_values.to_numpy(dtype=float))
        )
        step = 10.0**-digits
        label = synthetic[band_col].astype(str)
        lo = label.map(lows).astype(float).to_numpy()
        hi = label.map(highs).astype(float).to_numpy() - step
        values = pd.to_numeric(synthetic[src], errors="coerce").to_numpy(float)
        clipped = np.where(np.isnan(values), values, np.clip(np.round(values, digits), lo, hi))
        with contextlib.suppress(TypeError, ValueError):
            synthetic[src] = pd.Series(clipped, index=synthetic.index).astype(synthetic[src].dtype)
    return with_synthetic(aug, synthetic)
