"""A strategy written outside the library runs through run_audit through its hooks alone:
no change to the audit loop."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mcrage_core.rebalance.strategies as strategies_module
from mcrage_core.errors import ConfigError
from mcrage_core.evaluation import AuditConfig, run_audit
from mcrage_core.rebalance import (
    AugmentContext,
    Classifier,
    ModelData,
    Prediction,
    Strategy,
    register_strategy,
)
from mcrage_core.tables import infer_schema

TARGET = "died_within_6_months"


class CautiousStrategy(Strategy):
    """Half weight for every row, and a lower decision threshold."""

    name = "cautious"
    label = "Cautious (test strategy)"

    def sample_weight(
        self, train: pd.DataFrame, plan: pd.DataFrame, *, context: AugmentContext
    ) -> np.ndarray:
        return np.full(len(train), 0.5)

    def predict(self, model: Classifier, data: ModelData, *, context: AugmentContext) -> Prediction:
        score = model.predict_proba(data.X_test)[:, 1]
        return Prediction(pred=(score >= 0.3).astype(int), score=score, notes=("cautious: 0.3",))


@pytest.fixture
def registry(monkeypatch):
    """A private copy of the strategy registry for one test."""
    monkeypatch.setattr(strategies_module, "_REGISTRY", dict(strategies_module._REGISTRY))


def test_a_registered_strategy_runs_through_the_audit(registry, support2_small):
    register_strategy(CautiousStrategy)
    data, schema = infer_schema(support2_small, target=TARGET)
    config = AuditConfig(
        TARGET,
        sensitive=("race",),
        strategies=("none", "cautious"),
        classifier="logreg",
        seeds=1,
        folds=1,
        n_bootstrap=10,
    )
    results = run_audit(data, schema, config)
    assert results.strategies == ["none", "cautious"]
    assert results.dataset["strategy_labels"]["cautious"] == CautiousStrategy.label
    assert results.strategy_notes["cautious"] == ["cautious: 0.3"]
    base, cautious = results.overall("none"), results.overall("cautious")
    assert cautious["selection_rate"] >= base["selection_rate"]
    assert np.isfinite(cautious["auroc"])
    d = results.disparity
    assert set(d.loc[d["strategy"] == "cautious", "metric"]) == set(d["metric"])


def test_unregistered_names_are_refused_and_built_in_names_are_protected(registry):
    with pytest.raises(ConfigError, match="unknown strategy"):
        AuditConfig(TARGET, strategies=("none", "cautious"))

    class Impostor(CautiousStrategy):
        name = "smote"

    with pytest.raises(ConfigError, match="taken by a built-in"):
        register_strategy(Impostor)
