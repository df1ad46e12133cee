"""The rebalancing strategies, one interface (:class:`Strategy`), one file per family.

``none``, ``oversample``, ``reweigh`` (:mod:`.simple`), ``smote`` (:mod:`.smote`),
``cddpm`` (:mod:`.cddpm`, MCRAGE's diffusion model) and ``threshold`` (:mod:`.threshold`,
fairlearn's ThresholdOptimizer). A new strategy is a :class:`Strategy` subclass passed to
:func:`register_strategy`; the audit then runs it like the others.

Examples
--------
>>> aug = get_strategy("smote").augment(train, plan, context=AugmentContext(
...     target="died", features=("age", "race"), rebalance=("race",), seed=0))  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Literal

from mcrage_core.errors import ConfigError
from mcrage_core.rebalance.strategies.base import (
    Augmentation,
    AugmentContext,
    Classifier,
    ModelData,
    Prediction,
    ReportInputs,
    Strategy,
    StrategyReport,
)
from mcrage_core.rebalance.strategies.cddpm import CDDPMStrategy
from mcrage_core.rebalance.strategies.simple import (
    NoneStrategy,
    OversampleStrategy,
    ReweighStrategy,
)
from mcrage_core.rebalance.strategies.smote import SmoteStrategy
from mcrage_core.rebalance.strategies.threshold import ThresholdStrategy, positive_probability

__all__ = [
    "STRATEGIES",
    "STRATEGY_LABELS",
    "StrategyName",
    "AugmentContext",
    "Augmentation",
    "Classifier",
    "ModelData",
    "Prediction",
    "ReportInputs",
    "Strategy",
    "StrategyReport",
    "NoneStrategy",
    "OversampleStrategy",
    "ReweighStrategy",
    "SmoteStrategy",
    "CDDPMStrategy",
    "ThresholdStrategy",
    "get_strategy",
    "register_strategy",
    "registered_strategies",
    "positive_probability",
]

StrategyName = Literal["none", "oversample", "smote", "reweigh", "cddpm", "threshold"]
_BUILT_IN: tuple[type[Strategy], ...] = (
    NoneStrategy,
    OversampleStrategy,
    SmoteStrategy,
    ReweighStrategy,
    CDDPMStrategy,
    ThresholdStrategy,
)
STRATEGIES: tuple[str, ...] = tuple(cls.name for cls in _BUILT_IN)
"""The built-in strategies, in the order the audit runs them."""
STRATEGY_LABELS: dict[str, str] = {cls.name: cls.label for cls in _BUILT_IN}

_REGISTRY: dict[str, type[Strategy]] = {cls.name: cls for cls in _BUILT_IN}


def register_strategy(cls: type[Strategy]) -> type[Strategy]:
    """Make ``cls`` available under ``cls.name`` (usable as a class decorator).

    Raises
    ------
    ConfigError
        If the name is empty or taken by a built-in strategy.
    """
    name = str(getattr(cls, "name", "")).strip().lower()
    if not name or name != cls.name:
        raise ConfigError(f"a strategy needs a lower-case name, got {cls.name!r}")
    if name in STRATEGIES and _REGISTRY[name] is not cls:
        raise ConfigError(f"the strategy name {name!r} is taken by a built-in strategy")
    _REGISTRY[name] = cls
    return cls


def registered_strategies() -> tuple[str, ...]:
    """Every strategy name :func:`get_strategy` knows: built-in ones first."""
    return tuple(_REGISTRY)


def get_strategy(name: str) -> Strategy:
    """The strategy called ``name`` (one of :func:`registered_strategies`).

    Raises
    ------
    ConfigError
        If the name is unknown.
    """
    key = str(name).strip().lower()
    if key not in _REGISTRY:
        raise ConfigError(
            f"unknown strategy {name!r}: choose from {', '.join(registered_strategies())}"
        )
    return _REGISTRY[key]()
