"""AuditConfig: validated settings that round-trip through plain JSON."""

from __future__ import annotations

import numpy as np
import pytest

from mcrage_core.errors import ConfigError
from mcrage_core.evaluation import AuditConfig

TARGET = "died_within_6_months"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"strategies": ("none", "gan")}, "unknown strategy"),
        ({"seeds": 0}, "seeds"),
        ({"classifier": "svm"}, "classifier"),
        ({"test_size": 0.9}, "test_size"),
    ],
)
def test_bad_settings_are_config_errors(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        AuditConfig(TARGET, sensitive=("race",), **kwargs)


def test_config_round_trips_through_a_dict():
    config = AuditConfig(
        TARGET,
        sensitive=("race", "sex"),
        rebalance=("race", "sex"),
        plan_mode="counts",
        plan_counts={("asian", "female"): 100},
        seeds=2,
    )
    assert AuditConfig.from_dict(config.to_dict()) == config
    assert np.isfinite(config.confidence)
