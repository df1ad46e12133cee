"""Plain-language column headers: one table of names for the dashboard, the HTML report
and the CLI (re-exported by :mod:`mcrage_core.presentation.format`).

Examples
--------
>>> human_label("n_add")
'Rows to add'
>>> human_label("race")  # the user's own column names are kept
'race'
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

__all__ = ["HUMAN_LABELS", "human_label", "humanize_columns"]

HUMAN_LABELS: dict[str, str] = {
    # groups and imbalance
    "attribute": "Attribute",
    "kind": "Kind",
    "group": "Group",
    "n": "Rows",
    "share": "Share",
    "outcome_rate": "Outcome rate",
    "ci_low": "95 % CI low",
    "ci_high": "95 % CI high",
    "small_cell": "Small group",
    "n_groups": "Groups compared",
    "largest": "Largest group",
    "smallest": "Smallest group",
    "imbalance_ratio": "Largest ÷ smallest",
    "n_missing": "Rows without a value",
    "age_band": "Age band",
    # augmentation plan
    "n_real": "Real rows",
    "n_add": "Rows to add",
    "n_final": "Rows after",
    "n_synthetic": "Synthetic rows",
    "capped": "Capped",
    # results
    "strategy": "Strategy",
    "metric": "Measure",
    "value": "Value",
    "seed_ci_low": "Seed range low",
    "seed_ci_high": "Seed range high",
    "small": "Too small to judge",
    "delta": "Change vs baseline",
    "delta_ci_low": "Change, 95 % CI low",
    "delta_ci_high": "Change, 95 % CI high",
    "excluded_groups": "Left out (too few rows)",
    "test_rows": "Test rows",
    # schema
    "column": "Column",
    "missing_fraction": "Empty cells",
    "missing_%": "Empty cells (%)",
    "n_unique": "Distinct values",
    "distinct_values": "Distinct values",
    "note": "Note",
    "role": "Role",
    "reason": "Why",
    # fidelity and privacy
    "column_shapes": "Column shapes",
    "pair_trends": "Pair trends",
    "missingness": "Missing values",
    "detection_auc": "Detection AUC",
    "dcr_closer_to_train_share": "Closer to training rows",
    "exact_copies": "Exact copies",
    # runs
    "status": "Status",
    "started": "Started",
    "duration": "Duration",
    "table": "Table",
    "rebalance": "Rebalanced",
    "preset": "Preset",
    "strategies": "Strategies",
    "shared": "Shared",
    "error": "Error",
    "id": "Run id",
}
"""Plain-language header for each machine column name used by MCRAGE's tables."""


def human_label(name: object, labels: Mapping[str, str] | None = None) -> str:
    """The plain-language header of a machine column name (unknown names are kept:
    they are the user's own column names)."""
    key = str(name)
    if labels and key in labels:
        return labels[key]
    return HUMAN_LABELS.get(key, key)


def humanize_columns(df: pd.DataFrame, labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """A copy of ``df`` with plain-language column headers (see :data:`HUMAN_LABELS`)."""
    return df.rename(columns={c: human_label(c, labels) for c in df.columns})
