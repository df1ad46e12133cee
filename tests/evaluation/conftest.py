"""Fixtures for the pipeline tests: small real SUPPORT2 audits, run once per session."""

from __future__ import annotations

import pandas as pd
import pytest

from mcrage_core.evaluation import AuditConfig, run_audit
from mcrage_core.tables import infer_schema

TARGET = "died_within_6_months"


def tiny_cddpm_config():
    """A diffusion model small enough to train in seconds (quality is not the point)."""
    from mcrage_core.diffusion import CDDPMConfig

    return CDDPMConfig(
        hidden=32,
        depth=1,
        timesteps=50,
        train_steps=40,
        batch_size=128,
        sampling_steps=5,
        checkpoint_every=0,
        n_quantiles=50,
        device="cpu",
    )


@pytest.fixture(scope="session")
def tiny_config():
    return tiny_cddpm_config()


@pytest.fixture(scope="session")
def small_table(support2_small: pd.DataFrame):
    return infer_schema(support2_small, target=TARGET)


@pytest.fixture(scope="session")
def small_audit(small_table):
    """Two seeds, four cheap strategies, logistic regression, with progress events."""
    data, schema = small_table
    events: list = []
    config = AuditConfig(
        TARGET,
        sensitive=("race", "sex", "age"),
        strategies=("none", "oversample", "reweigh", "threshold"),
        classifier="logreg",
        seeds=2,
        n_bootstrap=40,
    )
    results = run_audit(data, schema, config, progress=events.append)
    return results, events, config


@pytest.fixture(scope="session")
def cddpm_audit(small_table):
    """One seed with the real CDDPM engine (tiny config) and SMOTE."""
    data, schema = small_table
    config = AuditConfig(
        TARGET,
        sensitive=("race", "sex"),
        strategies=("none", "smote", "cddpm"),
        classifier="logreg",
        seeds=1,
        n_bootstrap=20,
        min_cell_rows=40,
        cddpm_config=tiny_cddpm_config(),
    )
    events: list = []
    return run_audit(data, schema, config, progress=events.append), events, config
