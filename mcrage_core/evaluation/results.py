"""The results of an audit run: one object that serialises to JSON and to tidy frames.

:class:`AuditResults` is produced by :func:`mcrage_core.evaluation.run_audit` and read by
the dashboard, the HTML report and the CLI. Its two tidy tables are the source of truth:

``metrics``
    One row per (strategy, attribute, group, metric): ``value`` (mean over seeds),
    ``ci_low``/``ci_high`` (percentile bootstrap over test rows, pooled over seeds),
    ``seed_ci_low``/``seed_ci_high`` (t-interval of the seed means; empty with one seed),
    ``n`` (test rows in the group), ``small`` (fewer than ``small_group`` test rows),
    ``delta`` and ``delta_ci_low``/``delta_ci_high`` (change against the baseline, paired
    bootstrap). Attribute ``"overall"`` / group ``"all"`` is the whole test set.
``disparity``
    One row per (strategy, attribute, metric) for demographic parity difference/ratio,
    equalized odds difference/ratio, worst-group F1 and AUROC, with the same CI and delta
    columns. Small groups are left out of these numbers (listed in ``excluded_groups``).

``verdicts``
    One row per strategy × attribute × judgeable group × metric (see
    :mod:`mcrage_core.evaluation.judging`): ``baseline``, ``value``, ``delta`` with its
    interval ``ci_low``/``ci_high``, the ``test`` used, ``p_value``, ``p_adjusted``
    (Holm) and ``verdict`` (``helped``, ``no measurable change`` or ``hurt``).
``curves``
    Per-group ROC, calibration, Brier score and threshold-sweep tables
    (:func:`mcrage_core.evaluation.curves.compute_curves`), keyed by name.

``to_dict()`` adds a nested view ``strategies → name → {overall, by_group, disparity}``
for people reading the JSON; :meth:`AuditResults.from_dict` rebuilds the object from
the tables.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mcrage_core.errors import DataError
from mcrage_core.util import to_jsonable

__all__ = [
    "AuditResults",
    "METRICS",
    "METRIC_LABELS",
    "DISPARITIES",
    "DISPARITY_LABELS",
    "FOUR_FIFTHS",
    "FORMAT",
    "OVERALL",
    "STAT_SUFFIXES",
    "VERDICT_COLUMNS",
    "VERDICTS",
]

FORMAT = "mcrage-audit/1"
METRICS: tuple[str, ...] = (
    "accuracy",
    "balanced_accuracy",
    "f1",
    "auroc",
    "pr_auc",
    "base_rate",
    "selection_rate",
    "tpr",
    "fpr",
    "ppv",
    "fnr",
    "for",
    "fdr",
)
METRIC_LABELS: dict[str, str] = {
    "accuracy": "Accuracy",
    "balanced_accuracy": "Balanced accuracy",
    "f1": "F1 score",
    "auroc": "AUROC",
    "pr_auc": "PR-AUC (average precision)",
    "base_rate": "Real outcome rate (base rate)",
    "selection_rate": "Share predicted positive",
    "tpr": "True positive rate (sensitivity)",
    "fpr": "False positive rate",
    "ppv": "Precision (positive predictive value)",
    "fnr": "False negative rate (missed cases)",
    "for": "False omission rate",
    "fdr": "False discovery rate",
}
DISPARITIES: tuple[str, ...] = (
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "equalized_odds_difference",
    "equalized_odds_ratio",
    "worst_group_f1",
    "worst_group_auroc",
)
DISPARITY_LABELS: dict[str, str] = {
    "demographic_parity_difference": "Demographic parity difference",
    "demographic_parity_ratio": "Demographic parity ratio",
    "equalized_odds_difference": "Equalized odds difference",
    "equalized_odds_ratio": "Equalized odds ratio",
    "worst_group_f1": "Worst-group F1",
    "worst_group_auroc": "Worst-group AUROC",
}
#: A demographic parity ratio below this fails the four-fifths (80 %) rule.
FOUR_FIFTHS = 0.8

#: The attribute (and its one group, ``"all"``) of the whole test set.
OVERALL = "overall"

_INTERVALS = ["ci_low", "ci_high", "seed_ci_low", "seed_ci_high"]
_DELTAS = ["delta", "delta_ci_low", "delta_ci_high"]
#: The columns next to every ``value``; in the nested JSON view ``<metric>_<suffix>``.
STAT_SUFFIXES = (*_INTERVALS, *_DELTAS)
_METRIC_COLUMNS = [
    *("strategy", "attribute", "group", "metric", "value"),
    *_INTERVALS,
    *("n", "small"),
    *_DELTAS,
]
_DISPARITY_COLUMNS = [
    *("strategy", "attribute", "metric", "value"),
    *_INTERVALS,
    *_DELTAS,
    *("n_groups", "excluded_groups"),
]


VERDICTS = ("helped", "no measurable change", "hurt")
VERDICT_COLUMNS = [
    *("strategy", "attribute", "group", "metric", "n"),
    *("baseline", "value", "delta", "ci_low", "ci_high"),
    *("test", "p_value", "p_adjusted", "verdict"),
]
_TEXT = ("strategy", "attribute", "group", "metric", "excluded_groups", "test", "verdict")


def _frame(records: list[dict] | None, columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(records or [], columns=columns)
    for col in columns:
        if col in _TEXT:
            frame[col] = frame[col].astype(object)
        elif col == "small":
            frame[col] = frame[col].astype(bool)
        elif col in ("n", "n_groups"):
            frame[col] = pd.to_numeric(frame[col]).fillna(0).astype(int)
        else:
            frame[col] = pd.to_numeric(frame[col], errors="coerce").astype(float)
    return frame


@dataclass(eq=False)
class AuditResults:
    """Everything an audit produced. See the module docstring for the tables.

    Attributes
    ----------
    settings
        The :class:`~mcrage_core.evaluation.AuditConfig` as a dict (enough to re-run).
    versions
        Python, torch, scikit-learn, fairlearn, imbalanced-learn, pandas and mcrage versions.
    dataset
        Rows, columns, outcome, positive class, prevalence, train/test sizes, features,
        attributes and their group columns, rows without a group value.
    imbalance
        :meth:`mcrage_core.tables.imbalance.ImbalanceReport.to_dict` of the whole table.
    plan
        The augmentation plan of the first seed (``*rebalance, target, n_real, n_add``).
    fidelity
        Fidelity and privacy report of the CDDPM rows (first seed), or ``None``.
    synthetic, augmented_train
        The CDDPM rows of the first seed and the training set they were added to (column
        ``source`` = ``real``/``synthetic``). Not part of the JSON; export them as CSV.
    """

    settings: dict[str, Any]
    versions: dict[str, str]
    dataset: dict[str, Any]
    metrics: pd.DataFrame
    disparity: pd.DataFrame
    plan: pd.DataFrame
    verdicts: pd.DataFrame = field(default_factory=lambda: _frame([], VERDICT_COLUMNS))
    curves: dict[str, pd.DataFrame] = field(default_factory=dict)
    imbalance: dict[str, Any] | None = None
    fidelity: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)
    strategy_notes: dict[str, list[str]] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    test_index: dict[str, list[Any]] = field(default_factory=dict)
    synthetic: pd.DataFrame | None = None
    augmented_train: pd.DataFrame | None = None

    # ------------------------------------------------------------------ views

    @property
    def strategies(self) -> list[str]:
        """Strategy names in the order they were run."""
        return list(dict.fromkeys(self.metrics["strategy"].tolist()))

    @property
    def primary_attribute(self) -> str | None:
        """The attribute that was rebalanced (the intersection for several columns)."""
        return self.dataset.get("primary_attribute")

    def overall(self, strategy: str) -> dict[str, float]:
        """Overall metric means of one strategy (``{metric: value}``)."""
        m = self.metrics
        sel = m[(m["strategy"] == strategy) & (m["attribute"] == "overall")]
        return {str(k): float(v) for k, v in zip(sel["metric"], sel["value"], strict=True)}

    def by_group(self, attribute: str | None = None) -> pd.DataFrame:
        """Tidy per-group rows (no overall rows), optionally for one attribute."""
        m = self.metrics[self.metrics["attribute"] != "overall"]
        return m if attribute is None else m[m["attribute"] == attribute]

    def four_fifths(self, strategy: str, attribute: str | None = None) -> bool | None:
        """Whether the demographic parity ratio meets the 80 % rule (``None``: unknown)."""
        attribute = attribute or self.primary_attribute
        d = self.disparity
        sel = d[
            (d["strategy"] == strategy)
            & (d["attribute"] == attribute)
            & (d["metric"] == "demographic_parity_ratio")
        ]
        if sel.empty or not np.isfinite(sel["value"].iloc[0]):
            return None
        return bool(sel["value"].iloc[0] >= FOUR_FIFTHS)

    # ------------------------------------------------------------------ serialisation

    def _nested(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for strategy in self.strategies:
            m = self.metrics[self.metrics["strategy"] == strategy]
            overall: dict[str, Any] = {}
            by_group: dict[str, dict[str, dict[str, Any]]] = {}
            for r in m.to_dict(orient="records"):
                if r["attribute"] == "overall":
                    target = overall
                else:
                    target = by_group.setdefault(str(r["attribute"]), {}).setdefault(
                        str(r["group"]), {}
                    )
                target["n"] = int(r["n"])
                if r["attribute"] != "overall":
                    target["small"] = bool(r["small"])
                target[r["metric"]] = r["value"]
                for s in STAT_SUFFIXES:
                    target[f"{r['metric']}_{s}"] = r[s]
            d = self.disparity[self.disparity["strategy"] == strategy]
            by_attr: dict[str, dict[str, Any]] = {}
            for r in d.to_dict(orient="records"):
                entry = by_attr.setdefault(
                    str(r["attribute"]),
                    {"n_groups": int(r["n_groups"]), "excluded_groups": r["excluded_groups"]},
                )
                entry[r["metric"]] = r["value"]
                for s in STAT_SUFFIXES:
                    entry[f"{r['metric']}_{s}"] = r[s]
            for attr, entry in by_attr.items():
                ratio = entry.get("demographic_parity_ratio")
                entry["four_fifths_rule_passed"] = (
                    None if ratio is None or not np.isfinite(ratio) else bool(ratio >= FOUR_FIFTHS)
                )
                by_attr[attr] = entry
            primary = self.primary_attribute
            out[strategy] = {
                "overall": overall,
                "by_group": by_group,
                "disparity": by_attr.get(primary, {}) if primary else {},
                "disparity_by_attribute": by_attr,
                "notes": list(self.strategy_notes.get(strategy, [])),
            }
        return out

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (NaN → ``None``)."""
        return to_jsonable(
            {
                "format": FORMAT,
                "settings": self.settings,
                "versions": self.versions,
                "dataset": self.dataset,
                "imbalance": self.imbalance,
                "plan": self.plan,
                "plan_columns": list(self.plan.columns),
                "fidelity": self.fidelity,
                "warnings": self.warnings,
                "strategy_notes": self.strategy_notes,
                "training": self.training,
                "timings": self.timings,
                "test_index": self.test_index,
                "strategies": self._nested(),
                "verdicts": self.verdicts,
                "curves": dict(self.curves),
                "tables": {"metrics": self.metrics, "disparity": self.disparity},
            }
        )

    def to_json(self, *, indent: int | None = 2) -> str:
        """The :meth:`to_dict` view as strict JSON text."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AuditResults:
        """Rebuild results from :meth:`to_dict` output (``synthetic`` is not restored).

        Raises
        ------
        DataError
            If ``data`` is not an MCRAGE audit results file.
        """
        if not isinstance(data, dict) or data.get("format") != FORMAT or "tables" not in data:
            raise DataError(
                "this is not an MCRAGE audit results file (results.json written by "
                "'mcrage audit' or the dashboard); open the results.json of a finished run"
            )
        tables = data["tables"]
        plan_cols = data.get("plan_columns") or None
        plan = pd.DataFrame(data.get("plan") or [], columns=plan_cols)
        return cls(
            settings=dict(data.get("settings") or {}),
            versions=dict(data.get("versions") or {}),
            dataset=dict(data.get("dataset") or {}),
            metrics=_frame(tables.get("metrics"), _METRIC_COLUMNS),
            disparity=_frame(tables.get("disparity"), _DISPARITY_COLUMNS),
            plan=plan,
            verdicts=_frame(data.get("verdicts"), VERDICT_COLUMNS),
            curves={str(k): pd.DataFrame(v or []) for k, v in (data.get("curves") or {}).items()},
            imbalance=data.get("imbalance"),
            fidelity=data.get("fidelity"),
            warnings=list(data.get("warnings") or []),
            strategy_notes={k: list(v) for k, v in (data.get("strategy_notes") or {}).items()},
            training=dict(data.get("training") or {}),
            timings=dict(data.get("timings") or {}),
            test_index={k: list(v) for k, v in (data.get("test_index") or {}).items()},
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> AuditResults:
        """Rebuild results from :meth:`to_json` text."""
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise DataError(
                f"the results file is not valid JSON ({exc}); it may be truncated — "
                "run the audit again"
            ) from exc
        return cls.from_dict(data)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AuditResults):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    @staticmethod
    def verdict_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
        """The verdicts table of ``records`` with the column types of a loaded file."""
        return _frame(records, VERDICT_COLUMNS)

    @staticmethod
    def empty_metrics() -> pd.DataFrame:
        return _frame([], _METRIC_COLUMNS)

    @staticmethod
    def empty_disparity() -> pd.DataFrame:
        return _frame([], _DISPARITY_COLUMNS)

    @staticmethod
    def metric_columns() -> list[str]:
        return list(_METRIC_COLUMNS)

    @staticmethod
    def disparity_columns() -> list[str]:
        return list(_DISPARITY_COLUMNS)
