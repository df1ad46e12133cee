"""Shared test fixtures: paths to the bundled real EHR samples, and small real SUPPORT2
audits (run once per session) used by the evaluation and presentation tests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from mcrage_core.evaluation import AuditConfig, run_audit
from mcrage_core.tables import infer_schema

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DIR = ROOT / "sample_data"
SUPPORT2 = SAMPLE_DIR / "support2.csv"
PATIENT_TREATMENT = SAMPLE_DIR / "patient_treatment.csv"
BAD_DIR = Path(__file__).resolve().parent / "data" / "bad"


@pytest.fixture(scope="session")
def support2_path() -> Path:
    return SUPPORT2


@pytest.fixture(scope="session")
def patient_treatment_path() -> Path:
    return PATIENT_TREATMENT


@pytest.fixture(scope="session")
def support2_df() -> pd.DataFrame:
    return pd.read_csv(SUPPORT2)


@pytest.fixture(scope="session")
def support2_small(support2_df: pd.DataFrame) -> pd.DataFrame:
    """600 real SUPPORT2 rows, stratified so that every race group appears."""
    parts = []
    for _, g in support2_df.groupby(support2_df["race"].fillna("__na__")):
        parts.append(g.sample(n=min(len(g), 150), random_state=0))
    return pd.concat(parts).sample(n=600, random_state=0).reset_index(drop=True)


TARGET = "died_within_6_months"


def tiny_cddpm_config():
    """A diffusion model small enough to train in seconds (quality is not the point)."""
    from mcrage_core.diffusion import CDDPMConfig

    return CDDPMConfig.preset("tiny", device="cpu").with_overrides(
        sampling_steps=5, checkpoint_every=0
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
        folds=1,
        n_bootstrap=20,
        min_cell_rows=40,
        cddpm_config=tiny_cddpm_config(),
    )
    events: list = []
    return run_audit(data, schema, config, progress=events.append), events, config
