"""The simple strategies: the baseline, random oversampling and reweighing.

``none``
    The baseline: the real training rows as they are.
``oversample``
    Random oversampling: real rows of each cell are copied (imbalanced-learn
    :class:`~imblearn.over_sampling.RandomOverSampler`).
``reweigh``
    No new rows: every real row of a cell gets the weight ``(n_real + n_add) / n_real``
    so that the cell counts as much as the plan asks for.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mcrage_core.rebalance.strategies.base import AugmentContext, PlanCells, Strategy, plan_cells
from mcrage_core.rebalance.strategies.generated import Generated, GeneratingStrategy

__all__ = ["NoneStrategy", "OversampleStrategy", "ReweighStrategy"]


class NoneStrategy(Strategy):
    """The baseline: every hook keeps its default."""

    name = "none"
    label = "No change (baseline)"


class ReweighStrategy(Strategy):
    """Weights instead of rows: each cell counts as much as the plan asks for."""

    name = "reweigh"
    label = "Reweighing"

    def sample_weight(
        self, train: pd.DataFrame, plan: pd.DataFrame, *, context: AugmentContext
    ) -> np.ndarray:
        cells = plan_cells(train, plan, context)
        weights = np.ones(len(train), dtype=float)
        for lab, (_, n_add) in cells.wanted.items():
            n_now = int(cells.counts.get(lab, 0))
            if n_now > 0 and n_add > 0:
                weights[(cells.labels == lab).to_numpy()] = (n_now + n_add) / n_now
        return weights


class OversampleStrategy(GeneratingStrategy):
    """Copies of real rows of each cell (imbalanced-learn's RandomOverSampler)."""

    name = "oversample"
    label = "Random oversampling"

    def generate(
        self, cells: PlanCells, plan: pd.DataFrame, *, context: AugmentContext
    ) -> Generated:
        from imblearn.over_sampling import RandomOverSampler

        train = cells.train
        strategy = {
            lab: int(cells.counts[lab]) + n_add
            for lab, (_, n_add) in cells.wanted.items()
            if n_add > 0 and int(cells.counts.get(lab, 0)) > 0
        }
        warnings = cells.empty_cell_warnings(self.label)
        if not strategy:
            return Generated(train.iloc[0:0], warnings=warnings)
        sampler = RandomOverSampler(sampling_strategy=strategy, random_state=context.seed)
        index = np.arange(len(train)).reshape(-1, 1)
        sampler.fit_resample(index, cells.labels.to_numpy())
        new = sampler.sample_indices_[len(train) :]
        return Generated(train.iloc[new], warnings=warnings)
