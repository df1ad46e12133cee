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


def test_a_runs_csv_gets_the_audits_groups_back(support2_small, small_audit):
    """A CSV in the input's coding regains the audit's age bands, from what the results
    recorded; the input itself is left unchanged."""
    from mcrage_core.evaluation import audit_groups

    results = small_audit[0]
    frame = support2_small.copy()
    out = audit_groups(frame, results)
    assert list(frame.columns) == list(support2_small.columns)  # not changed in place
    attributes = results.dataset["attributes"]
    banded = [g for g, src in attributes.items() if g != src]
    assert banded, "the small audit bands age"
    for gcol in banded:
        reported = set(results.metrics.loc[results.metrics["attribute"] == gcol, "group"])
        seen = set(out[gcol].dropna().astype(str))
        assert seen and seen <= reported
        # every row's band agrees with its age
        src = attributes[gcol]
        lows = out[gcol].dropna().astype(str).str.extract(r"(\d+)")[0].astype(float)
        ages = out.loc[lows.index, src]
        assert ((ages >= lows) | out.loc[lows.index, gcol].astype(str).str.startswith("<")).all()
