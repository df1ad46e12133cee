"""The synthetic output contract: whole records, in the input's own coding.

``synthetic.csv`` and ``augmented_train.csv`` must be usable in place of (or next to)
the user's own table:

* exactly the input's columns, in the input's order, minus the columns that were kept
  out of modelling (identifiers, direct identifiers, columns the user excluded); those
  are listed with the reason in a sidecar (:func:`contract_sidecar`);
* every other column generated, sensitive attributes included;
* values in the input's own coding: the outcome keeps its labels (``Yes``/``No``,
  not ``1``/``0``), coded race/sex keep their codes even when the audit showed labels,
  whole numbers stay whole numbers, a constant column keeps its constant;
* helper columns of the audit (age bands, merged groups, intersections) are not added.

Examples
--------
>>> cols, dropped = output_columns(df, schema)  # doctest: +SKIP
>>> to_input_coding(synthetic, reference=df, columns=cols, target="died",
...                 positive_class="Yes", negative_class="No")  # doctest: +SKIP
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np
import pandas as pd

from mcrage_core.tables.export import to_safe_csv
from mcrage_core.tables.groups import code_key, invert_labels
from mcrage_core.tables.kinds import decimals_of
from mcrage_core.tables.schema import Schema

__all__ = [
    "output_columns",
    "to_input_coding",
    "contract_sidecar",
    "negative_label",
    "synthetic_artefacts",
    "PRIVACY_FILE",
    "SIDECAR_FILE",
    "SyntheticOutcome",
]

SIDECAR_FILE = "synthetic.columns.json"
PRIVACY_FILE = "synthetic.privacy.json"

_REPRODUCED = ("empty: every value is missing", "constant: the same value in every row")


class SyntheticOutcome(Protocol):
    """What :func:`synthetic_artefacts` reads from an audit's results (an
    :class:`~mcrage_core.evaluation.results.AuditResults` has all of it)."""

    @property
    def synthetic(self) -> pd.DataFrame | None: ...
    @property
    def augmented_train(self) -> pd.DataFrame | None: ...
    @property
    def plan(self) -> pd.DataFrame: ...
    @property
    def training(self) -> dict[str, Any]: ...
    @property
    def dataset(self) -> dict[str, Any]: ...
    @property
    def strategy_notes(self) -> dict[str, list[str]]: ...
    @property
    def fidelity(self) -> dict[str, Any] | None: ...


def output_columns(reference: pd.DataFrame, schema: Schema) -> tuple[list[str], dict[str, str]]:
    """The columns of a synthetic file and the dropped ones with their reason.

    Empty and constant columns are kept (they are reproduced exactly); identifiers and
    columns the user excluded are dropped.
    """
    excluded: Mapping[str, str] = dict(schema.excluded or {})
    dropped = {
        str(c): str(reason)
        for c, reason in excluded.items()
        if c in reference.columns and str(reason) not in _REPRODUCED
    }
    keep = [str(c) for c in reference.columns if str(c) not in dropped]
    return keep, dropped


def negative_label(reference: pd.Series, positive_class: str) -> str | None:
    """The outcome value written for a synthetic negative row: the other class of a
    yes/no outcome; the most common non-positive value of a multi-valued one."""
    values = reference.dropna()
    others = values[values.map(lambda v: str(v) != str(positive_class))]
    if others.empty:
        return None
    return others.map(str).value_counts().index[0]


def _restore_column(values: pd.Series, ref: pd.Series, *, exact: bool = False) -> pd.Series:
    """``values`` cast to the kind of data ``ref`` holds (``exact``: the values are the
    user's own, so nothing is rounded; whole numbers only lose a spurious ``.0``)."""
    if pd.api.types.is_bool_dtype(ref):
        text = values.map(lambda v: str(v).strip().lower() if pd.notna(v) else None)
        out = text.map({"true": True, "false": False, "1": True, "0": False, "1.0": True})
        return out.astype("boolean") if out.isna().any() else out.astype(bool)
    if pd.api.types.is_numeric_dtype(ref):
        nums = pd.to_numeric(values, errors="coerce")
        observed = ref.dropna()
        whole = len(observed) > 0 and bool(np.all(np.mod(observed.to_numpy(dtype=float), 1) == 0))
        if whole and (not exact or bool((np.mod(nums.dropna(), 1) == 0).all())):
            nums = nums.round()
            if pd.api.types.is_integer_dtype(ref) and not nums.isna().any():
                return nums.astype(ref.dtype)
            return nums.astype("Int64")
        if exact:
            return nums.astype(float)
        return nums.round(decimals_of(observed.to_numpy(dtype=float))).astype(float)
    # text / category: keep the reference's own spelling of each value
    spelling = {code_key(v): v for v in pd.unique(ref.dropna())}
    return values.map(lambda v: spelling.get(code_key(v), v) if pd.notna(v) else np.nan).astype(
        object
    )


def to_input_coding(
    frame: pd.DataFrame,
    *,
    reference: pd.DataFrame,
    columns: Sequence[str],
    target: str | None = None,
    positive_class: str | None = None,
    negative_class: str | None = None,
    labels: Mapping[str, Mapping[str, str]] | None = None,
    exact: bool = False,
) -> pd.DataFrame:
    """Rows produced inside the audit, written back in the coding of ``reference``.

    Parameters
    ----------
    frame
        Generated rows in the audit's working form (binary 0/1 outcome, labelled
        groups, extra helper columns).
    reference
        The user's table (after type inference), whose columns, codes and dtypes the
        result follows.
    columns
        The output columns (see :func:`output_columns`).
    target, positive_class, negative_class
        The outcome column: ``1`` becomes ``positive_class`` and ``0`` ``negative_class``.
    labels
        Value labels that were applied for display; labels are turned back into codes.
    exact
        The rows are the user's own (the real part of the augmented set): values are kept
        as they are, only whole numbers are written without a spurious ``.0``.
    """
    out = pd.DataFrame(index=range(len(frame)))
    labels = labels or {}
    for col in columns:
        ref = reference[col]
        observed = ref.dropna()
        constant = len(observed) == len(ref) and observed.nunique() == 1
        if col in frame.columns and not (constant and frame[col].isna().all()):
            values = frame[col].reset_index(drop=True)
        else:  # not modelled: an empty or constant column is reproduced
            fill = observed.iloc[0] if constant else np.nan
            values = pd.Series([fill] * len(frame), dtype=object)
        if col == target and positive_class is not None:
            flag = pd.to_numeric(values, errors="coerce")
            coded = np.full(len(values), None, dtype=object)
            coded[(flag == 1).to_numpy()] = positive_class
            coded[(flag == 0).to_numpy()] = negative_class
            values = pd.Series(coded)
            values = values.where(flag.notna().to_numpy(), np.nan)
        if col in labels:
            values = invert_labels(values, labels[col])
        out[col] = _restore_column(values, ref, exact=exact).reset_index(drop=True)
    return out


def contract_sidecar(
    columns: Sequence[str],
    dropped: Mapping[str, str],
    *,
    n_rows: int,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``*.columns.json`` sidecar written next to a synthetic file."""
    return {
        "columns": list(columns),
        "dropped_columns": [{"column": c, "reason": r} for c, r in dropped.items()],
        "n_rows": int(n_rows),
        **dict(extra or {}),
    }


def synthetic_artefacts(
    results: SyntheticOutcome, data: pd.DataFrame, schema: Schema
) -> dict[str, bytes]:
    """The files a user downloads after an audit, as bytes by file name:
    ``synthetic.csv``, ``augmented_train.csv`` (when there is one) and the sidecar
    :data:`SIDECAR_FILE` (columns, dropped columns with their reason, planned and
    generated rows, blocked cells, notes)."""
    columns, dropped = output_columns(data, schema)
    synthetic = results.synthetic
    if synthetic is None:
        synthetic = data[columns].iloc[0:0]
    files = {"synthetic.csv": to_safe_csv(synthetic)}
    augmented = results.augmented_train
    if augmented is not None:
        files["augmented_train.csv"] = to_safe_csv(augmented)
    plan = results.plan
    sidecar = contract_sidecar(
        columns,
        dropped,
        n_rows=len(synthetic),
        extra={
            "augmented_train_rows": None if augmented is None else int(len(augmented)),
            "planned_rows": int(plan["n_add"].sum()) if "n_add" in plan else 0,
            "planned_rows_after_guardrail": int(
                plan.loc[~plan["blocked"].astype(bool), "n_add"].sum()
            )
            if "blocked" in plan
            else None,
            "blocked_cells": results.training.get("blocked_cells", []),
            "value_labels": results.dataset.get("value_labels") or {},
            "notes": list(results.strategy_notes.get("cddpm", [])),
        },
    )
    files[SIDECAR_FILE] = json.dumps(sidecar, indent=2, ensure_ascii=False, default=str).encode(
        "utf-8"
    )
    privacy = (results.fidelity or {}).get("privacy")
    if privacy:
        files[PRIVACY_FILE] = json.dumps(
            {"synthetic_file": "synthetic.csv", "n_rows": int(len(synthetic)), **privacy},
            indent=2,
            ensure_ascii=False,
            default=str,
        ).encode("utf-8")
    return files
