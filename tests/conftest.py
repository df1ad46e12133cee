"""Shared test fixtures: paths to the bundled real EHR samples."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

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
