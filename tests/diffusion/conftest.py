"""Fixtures of the diffusion tests: a tiny configuration and one model trained with it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from mcrage_core.diffusion import CDDPM, CDDPMConfig
from mcrage_core.progress import ProgressEvent

TARGET = "died_within_6_months"
TINY = CDDPMConfig.preset("tiny", device="cpu").with_overrides(
    train_steps=20, batch_size=64, seed=3
)
OLD_MODEL = Path(__file__).resolve().parent / "data" / "model_v1"
"""A model folder saved before the diffusion package was split (format version 1)."""


@pytest.fixture(scope="session")
def table(support2_small: pd.DataFrame) -> pd.DataFrame:
    df = support2_small.copy()
    df["patient_id"] = [f"P{i:05d}" for i in range(len(df))]  # identifier: must be left out
    return df


@pytest.fixture(scope="session")
def fitted(table: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> tuple[CDDPM, Path]:
    """A model trained on ``table`` (race and sex), saved to the returned run folder."""
    run = tmp_path_factory.mktemp("cddpm") / "run"
    events: list[ProgressEvent] = []
    model = CDDPM(TINY).fit(
        table, target=TARGET, condition=["race", "sex"], run_dir=run, progress=events.append
    )
    model.events = events  # type: ignore[attr-defined]
    return model, run
