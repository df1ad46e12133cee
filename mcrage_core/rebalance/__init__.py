"""Rebalancing: the augmentation plan (:mod:`.plan`: cells × rows to add, the privacy
guardrail) and the strategies that follow it (:mod:`.strategies`, one interface).

Import from here: ``from mcrage_core.rebalance import plan_augmentation, get_strategy``.
"""

from __future__ import annotations

from mcrage_core.rebalance.plan import (
    MISSING_GROUP,
    PlanMode,
    blocked_mask,
    cell_key,
    display_plan,
    guardrail_notes,
    plan_augmentation,
    small_cells,
)
from mcrage_core.rebalance.strategies import (
    STRATEGIES,
    STRATEGY_LABELS,
    Augmentation,
    AugmentContext,
    CDDPMStrategy,
    Classifier,
    ModelData,
    NoneStrategy,
    OversampleStrategy,
    Prediction,
    ReportInputs,
    ReweighStrategy,
    SmoteStrategy,
    Strategy,
    StrategyName,
    StrategyReport,
    ThresholdStrategy,
    get_strategy,
    positive_probability,
    register_strategy,
    registered_strategies,
)

__all__ = [
    "MISSING_GROUP",
    "PlanMode",
    "STRATEGIES",
    "STRATEGY_LABELS",
    "StrategyName",
    "AugmentContext",
    "Augmentation",
    "CDDPMStrategy",
    "Classifier",
    "ModelData",
    "NoneStrategy",
    "OversampleStrategy",
    "Prediction",
    "ReportInputs",
    "ReweighStrategy",
    "SmoteStrategy",
    "Strategy",
    "StrategyReport",
    "ThresholdStrategy",
    "blocked_mask",
    "cell_key",
    "display_plan",
    "get_strategy",
    "guardrail_notes",
    "plan_augmentation",
    "positive_probability",
    "register_strategy",
    "registered_strategies",
    "small_cells",
]
