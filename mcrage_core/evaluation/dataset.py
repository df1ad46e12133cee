"""The facts about the table and the run that go next to the numbers: the imbalance
summary, outcome rates per group, columns that give the outcome away, versions."""

from __future__ import annotations

import platform
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mcrage_core import __version__
from mcrage_core.errors import ConfigError, DataError
from mcrage_core.evaluation.classifiers import CLASSIFIER_LABELS
from mcrage_core.evaluation.config import AuditConfig
from mcrage_core.evaluation.prepare import Prepared
from mcrage_core.tables import (
    DEFAULT_AGE_BANDS,
    MERGED_LABEL,
    Schema,
    add_age_band,
    apply_labels,
    audit_imbalance,
    code_key,
)

if TYPE_CHECKING:
    from mcrage_core.evaluation.results import AuditResults

__all__ = [
    "dataset_block",
    "protocol_text",
    "audit_groups",
    "base_rates",
    "imbalance_summary",
    "leak_warning",
    "leaky_columns",
    "versions",
]


def versions() -> dict[str, str]:
    """Versions of Python, the libraries the numbers depend on, and the platform."""
    import fairlearn
    import imblearn
    import sklearn

    out = {
        "mcrage": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "scikit-learn": sklearn.__version__,
        "fairlearn": fairlearn.__version__,
        "imbalanced-learn": imblearn.__version__,
    }
    try:
        import torch

        out["torch"] = torch.__version__
    except ImportError:  # pragma: no cover
        out["torch"] = "not installed"
    out["platform"] = platform.platform()
    return out


def imbalance_summary(
    labelled: pd.DataFrame,
    schema: Schema,
    prep: Prepared,
    *,
    small_cell: int,
    warnings: list[str],
) -> dict[str, Any] | None:
    """The imbalance audit of the whole table over the audited attributes (``None``, and
    a warning, when it cannot be computed)."""
    try:
        kinds = dict(schema.sensitive or {})
        wanted = {k: v for k, v in kinds.items() if v in set(prep.attributes.values())}
        for src in prep.attributes.values():
            if src not in wanted.values():
                wanted[src] = src
        schema_for_audit = replace(schema, sensitive=wanted) if wanted != kinds else schema
        return audit_imbalance(labelled, schema_for_audit, small_cell=small_cell).to_dict()
    except (ConfigError, DataError, KeyError, ValueError, TypeError) as exc:
        warnings.append(f"the imbalance summary could not be computed ({exc})")
        return None


def leaky_columns(data: pd.DataFrame, features: Sequence[str], target: str) -> dict[str, float]:
    """Columns that on their own separate the outcome almost perfectly (AUROC ≥ 0.99 of the
    column, or of its per-value outcome rate for categories): likely leaks such as a
    follow-up time or a later test result."""
    from sklearn.metrics import roc_auc_score

    y = data[target].to_numpy().astype(int)
    if len(np.unique(y)) < 2:
        return {}
    out: dict[str, float] = {}
    for col in features:
        s = data[col]
        known = s.notna().to_numpy()
        if 20 <= known.sum() <= len(known) - 20:
            # whether the column is filled in can give the outcome away on its own
            auc = float(roc_auc_score(y, known.astype(float)))
            if max(auc, 1 - auc) >= 0.99:
                out[str(col)] = round(max(auc, 1 - auc), 3)
                continue
        if known.sum() < 20 or len(np.unique(y[known])) < 2:
            continue
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            x = s.to_numpy(dtype=float)[known]
        else:
            text = s[known].astype(str)
            rates = pd.Series(y[known]).groupby(text.to_numpy()).mean()
            if len(rates) < 2 or len(rates) > 0.5 * known.sum():
                continue
            x = text.map(rates).to_numpy(dtype=float)
        auc = float(roc_auc_score(y[known], x))
        auc = max(auc, 1 - auc)
        if auc >= 0.99 and known.mean() >= 0.5:
            out[str(col)] = round(auc, 3)
    return out


def leak_warning(leaks: dict[str, float]) -> str:
    """The warning on columns that almost perfectly predict the outcome."""
    return (
        "column(s) "
        + ", ".join(f"{c!r} (AUROC {a:.2f} on its own)" for c, a in leaks.items())
        + " almost perfectly predict the outcome: they may give it away (for example a "
        "follow-up time or a later test result); consider keeping them out of modelling"
    )


def base_rates(data: pd.DataFrame, attributes: Sequence[str], target: str) -> dict[str, Any]:
    """Real outcome rate per group of every attribute (all real rows with an outcome)."""
    out: dict[str, Any] = {"overall": {"all": {"n": len(data), "rate": float(data[target].mean())}}}
    for attr in attributes:
        known = data[attr].notna()
        stats = data.loc[known].groupby(attr, observed=True)[target].agg(["size", "mean"])
        out[attr] = {
            str(g): {"n": int(r["size"]), "rate": float(r["mean"])} for g, r in stats.iterrows()
        }
    return out


def audit_groups(frame: pd.DataFrame, results: AuditResults) -> pd.DataFrame:
    """A table in the input's own codes (a run's CSV) as the audit saw it: its value labels
    applied, and the group columns the results are reported by (merged groups, age bands)
    added, from what ``results`` recorded. ``frame`` is not changed."""
    dataset = results.dataset
    labels = {c: m for c, m in (dataset.get("value_labels") or {}).items() if c in frame.columns}
    try:
        out, _ = apply_labels(frame, labels)
    except (ConfigError, DataError):
        out = frame.copy()
    merged = dataset.get("merged_groups") or {}
    edges = tuple(dataset.get("age_bands") or DEFAULT_AGE_BANDS)
    for gcol, src in (dataset.get("attributes") or {}).items():
        if gcol in out.columns or src not in out.columns:
            continue
        if gcol in merged:
            keys = out[src].map(lambda v: code_key(v) if pd.notna(v) else None)
            out = out.assign(**{gcol: keys.where(~keys.isin(merged[gcol]), MERGED_LABEL)})
            continue
        try:
            out = add_age_band(out, src, edges, name=gcol)
        except (ConfigError, DataError, ValueError, TypeError):
            continue
        out[gcol] = out[gcol].astype(object).where(out[gcol].notna(), None)
    return out


def protocol_text(config: AuditConfig) -> str:
    """The evaluation protocol in one phrase."""
    if config.folds <= 1:
        n = config.seeds
        return f"{n} hold-out split{'s' if n > 1 else ''} ({config.test_size:.0%} of rows tested)"
    if config.seeds <= 1:
        return f"{config.folds}-fold cross-validation: every real row tested once"
    return (
        f"{config.folds}-fold cross-validation repeated {config.seeds} times: every real row "
        "tested once per repeat"
    )


def dataset_block(
    df: pd.DataFrame,
    prep: Prepared,
    config: AuditConfig,
    *,
    leaks: dict[str, float],
    n_test: int,
    names: Mapping[int, Any],
    schema: Schema,
    attributes: Sequence[str],
    labels: Mapping[str, str],
) -> dict[str, Any]:
    """The ``dataset`` block of the results (``n_test``: test rows of the first fold)."""
    data, target = prep.df, prep.target
    return {
        "n_rows": int(len(df)),
        "n_rows_used": int(len(data)),
        "n_columns": int(df.shape[1]),
        "target": target,
        "positive_class": prep.positive_class,
        "prevalence": float(data[target].mean()),
        "n_train": int(len(data) - n_test),
        "n_test": int(n_test),
        "features": list(prep.features),
        "generated_columns": list(prep.columns),
        "outcome_labels": {str(k): v for k, v in names.items()},
        "threshold": float(config.threshold),
        "value_labels": dict(config.value_labels or {}),
        "merged_groups": dict(prep.merged),
        "leaky_columns": leaks,
        "age_bands": list(schema.age_bands or ()),
        "base_rates": base_rates(data, attributes, target),
        "attributes": dict(prep.attributes),
        "rebalance": list(prep.rebalance),
        "primary_attribute": prep.primary,
        "n_missing_group": {src: int(data[g].isna().sum()) for g, src in prep.attributes.items()},
        "n_missing_target": prep.n_missing_target,
        "classifier": CLASSIFIER_LABELS[config.classifier],
        "seeds": config.seed_values,
        "folds": int(config.folds),
        "intersections": list(prep.intersections),
        "evaluation": protocol_text(config),
        "strategy_labels": dict(labels),
    }
