"""Facts about the table next to the numbers: columns that give the outcome away."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mcrage_core.evaluation import leaky_columns

REAL = Path(__file__).resolve().parents[1] / "data" / "real"


def test_a_column_filled_in_only_for_one_outcome_is_flagged_as_a_leak():
    flchain = pd.read_csv(REAL / "flchain.csv")
    data = flchain.assign(death=(flchain["death"] == "dead").astype(int))
    leaks = leaky_columns(data, ["chapter", "age", "kappa"], "death")
    assert "chapter" in leaks  # the cause of death is filled in only for those who died
    assert "age" not in leaks and "kappa" not in leaks
