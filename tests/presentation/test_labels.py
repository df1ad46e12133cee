"""Plain-language column headers."""

from __future__ import annotations

import pandas as pd

from mcrage_core.presentation.labels import HUMAN_LABELS, humanize_columns


def test_human_labels_replace_machine_column_names() -> None:
    raw = pd.DataFrame(columns=["race", "n_real", "n_add", "ci_low", "ci_high", "delta"])
    shown = humanize_columns(raw)
    assert list(shown.columns) == [
        "race",  # the user's own column name stays as it is
        "Real rows",
        "Rows to add",
        "95 % CI low",
        "95 % CI high",
        "Change vs baseline",
    ]
    assert humanize_columns(raw, {"race": "Race"}).columns[0] == "Race"
    assert all("_" not in label and label != key for key, label in HUMAN_LABELS.items())
