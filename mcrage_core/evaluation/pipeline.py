"""The audit protocol: split, rebalance with every strategy, train, and measure fairness.

Protocol
--------
1. For each seed, the real rows are split once, stratified by group × outcome. The
   test part holds real rows only and is the same for every strategy of that seed
   (the seed changes the split and the models).
2. The augmentation plan is computed on the training part; every strategy gets the
   same plan and sees only the training part (the CDDPM is trained on it, too).
3. A scikit-learn pipeline (imputation + one-hot encoding + classifier) is trained on
   each strategy's training set. ``threshold`` post-processes the baseline model with
   fairlearn's :class:`~fairlearn.postprocessing.ThresholdOptimizer` (equalized odds).
4. Per group and overall, fairlearn :class:`~fairlearn.metrics.MetricFrame` gives
   accuracy, F1, AUROC (from probabilities), selection rate, TPR and FPR with the
   group n; disparities come from fairlearn's parity functions over the groups with at
   least ``small_group`` test rows (smaller groups are flagged and left out).
5. Confidence intervals: a percentile bootstrap over the test rows (the same resamples
   for every strategy, so changes against the baseline are paired), pooled over seeds,
   and a t-interval of the seed means.

Examples
--------
>>> from mcrage_core.tables.io import load_table
>>> from mcrage_core.tables.schema import infer_schema
>>> df, schema = infer_schema(load_table("sample_data/support2.csv"),
...                           target="died_within_6_months")  # doctest: +SKIP
>>> results = run_audit(df, schema, AuditConfig("died_within_6_months",
...                     sensitive=("race",), seeds=1))  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import math
import os
import platform
import time
from collections.abc import Mapping, Sequence
from dataclasses import KW_ONLY, asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from mcrage_core import __version__
from mcrage_core.errors import ConfigError, DataError, TrainingCancelled
from mcrage_core.evaluation.results import DISPARITIES, METRICS, AuditResults
from mcrage_core.progress import CancelCheck, ProgressCallback, ProgressEvent
from mcrage_core.rebalance.plan import (
    STRATEGIES,
    STRATEGY_LABELS,
    AugmentContext,
    PlanMode,
    blocked_mask,
    get_strategy,
    plan_augmentation,
)

__all__ = [
    "ClassifierName",
    "CDDPMPreset",
    "AuditConfig",
    "run_audit",
    "make_classifier",
    "split_train_test",
    "check_sizes",
    "preview_plan",
    "PlanPreview",
    "group_metrics",
    "bootstrap_counts",
    "metrics_from_counts",
    "AuditResults",
]

ClassifierName = Literal["logreg", "rf", "hgb"]
CDDPMPreset = Literal["quick", "standard", "thorough"]
CLASSIFIERS: tuple[str, ...] = ("logreg", "rf", "hgb")
CLASSIFIER_LABELS = {
    "logreg": "logistic regression",
    "rf": "random forest",
    "hgb": "histogram gradient boosting",
}
OVERALL = "overall"
_MISSING_GROUP = "(missing)"


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class AuditConfig:
    """Settings of one audit run.

    Parameters
    ----------
    target
        The outcome column.
    sensitive
        Columns whose groups are evaluated (race, sex, age...). Age-like numeric columns
        are evaluated by band (``age_band``). Empty → the ones the schema detected.
    positive_class
        The outcome value counted as positive; ``None`` → the schema's choice.
    rebalance
        Column(s) to rebalance (several → their intersection). Empty → the race column
        if one is sensitive, else the first sensitive column.
    strategies
        Any of ``none, oversample, smote, reweigh, cddpm, threshold``. ``none`` (the
        baseline every change is measured against) is always run.
    classifier
        ``"hgb"`` (default: histogram gradient boosting, fast and strong on tables),
        ``"rf"`` (random forest) or ``"logreg"`` (logistic regression).
    seeds
        Number of repetitions with different splits and models (default 3).
    test_size
        Share of real rows held out for testing.
    small_group
        Groups with fewer test rows are flagged and left out of disparities.
    n_bootstrap
        Bootstrap resamples of the test rows for confidence intervals (0 = none).
    confidence
        Confidence level of all intervals.
    plan_mode, plan_share, plan_counts, balance_outcome
        The augmentation plan; see :func:`mcrage_core.rebalance.plan.plan_augmentation`.
    sensitive_as_features
        Whether the sensitive columns are also model inputs (default ``True``).
    cddpm_preset, cddpm_config, device, sampling_steps
        The diffusion model: a preset name, or a full ``CDDPMConfig`` (wins over the
        preset); the device; DDIM sampling steps (``None`` → the model's default).
    min_cell_rows, allow_small_cells
        Privacy guardrail: no CDDPM rows for a cell with fewer real training rows than
        ``min_cell_rows`` unless ``allow_small_cells``.
    base_seed
        Seeds used are ``base_seed, base_seed + 1, ...``.
    value_labels
        What coded values mean, per column (``{"raceth": {"1": "White"}}``): labels are
        shown everywhere; the synthetic files keep the codes.
    merge_below
        Groups of a (non-age) sensitive attribute with fewer rows than this in the whole
        table are merged into one group, "other (merged)" (0 = never merge).
    threshold
        Decision threshold on the predicted probability (default 0.5); shown with every
        result.
    min_test_rows
        The audit is refused when the test part would hold fewer rows than this of either
        outcome, or fewer than two groups of the rebalanced attribute with at least this
        many test rows (nothing could be judged).
    threads
        CPU threads for the downstream classifiers and the fidelity checks (default 1:
        multi-threaded gradient boosting slows down badly on a busy or shared machine;
        ``None`` = all cores). The diffusion model's threads are torch's own.
    """

    target: str
    sensitive: tuple[str, ...] = ()
    _: KW_ONLY
    positive_class: str | None = None
    rebalance: tuple[str, ...] = ()
    strategies: tuple[str, ...] = STRATEGIES
    classifier: ClassifierName = "hgb"
    seeds: int = 3
    test_size: float = 0.25
    small_group: int = 30
    n_bootstrap: int = 200
    confidence: float = 0.95
    plan_mode: PlanMode = "max"
    plan_share: float | None = None
    plan_counts: Mapping[Any, int] | None = None
    balance_outcome: bool = False
    sensitive_as_features: bool = True
    cddpm_preset: CDDPMPreset = "standard"
    cddpm_config: Any = None
    device: str = "auto"
    sampling_steps: int | None = None
    min_cell_rows: int = 20
    allow_small_cells: bool = False
    base_seed: int = 0
    threads: int | None = 1
    value_labels: Mapping[str, Mapping[str, str]] | None = None
    merge_below: int = 0
    threshold: float = 0.5
    min_test_rows: int = 5

    def __post_init__(self) -> None:
        def _tuple(name: str) -> None:
            value = getattr(self, name)
            if isinstance(value, str):
                value = tuple(v.strip() for v in value.split(",") if v.strip())
            object.__setattr__(self, name, tuple(value or ()))

        for name in ("sensitive", "rebalance", "strategies"):
            _tuple(name)
        strategies = tuple(s.strip().lower() for s in self.strategies)
        unknown = [s for s in strategies if s not in STRATEGIES]
        if unknown:
            raise ConfigError(
                f"unknown strateg{'y' if len(unknown) == 1 else 'ies'} {', '.join(unknown)}: "
                f"choose from {', '.join(STRATEGIES)}"
            )
        if not strategies:
            raise ConfigError(f"choose at least one strategy from {', '.join(STRATEGIES)}")
        object.__setattr__(self, "strategies", tuple(dict.fromkeys(strategies)))
        if self.classifier not in CLASSIFIERS:
            raise ConfigError(f"unknown classifier {self.classifier!r}: choose logreg, rf or hgb")
        if not isinstance(self.seeds, (int, np.integer)) or not 1 <= int(self.seeds) <= 100:
            raise ConfigError(f"seeds must be a whole number from 1 to 100, got {self.seeds!r}")
        if not 0.05 <= float(self.test_size) <= 0.5:
            raise ConfigError(
                f"test_size must be between 0.05 and 0.5 (share of rows held out), got {self.test_size!r}"
            )
        if int(self.small_group) < 1:
            raise ConfigError(f"small_group must be at least 1, got {self.small_group!r}")
        if not 0 <= int(self.n_bootstrap) <= 10_000:
            raise ConfigError(f"n_bootstrap must be from 0 to 10000, got {self.n_bootstrap!r}")
        if not 0.5 < float(self.confidence) < 1.0:
            raise ConfigError(f"confidence must be between 0.5 and 1, got {self.confidence!r}")
        if self.plan_mode not in ("max", "share", "counts"):
            raise ConfigError(
                f"unknown plan mode {self.plan_mode!r}: choose 'max', 'share' or 'counts'"
            )
        if self.cddpm_preset not in ("quick", "standard", "thorough"):
            raise ConfigError(
                f"unknown CDDPM preset {self.cddpm_preset!r}: choose quick, standard or thorough"
            )
        if int(self.min_cell_rows) < 1:
            raise ConfigError(f"min_cell_rows must be at least 1, got {self.min_cell_rows!r}")
        if self.threads is not None and int(self.threads) < 1:
            raise ConfigError(f"threads must be at least 1 (or None for all), got {self.threads!r}")
        if self.sampling_steps is not None and int(self.sampling_steps) < 1:
            raise ConfigError(f"sampling_steps must be at least 1, got {self.sampling_steps!r}")
        from mcrage_core.tables.groups import normalise_labels

        object.__setattr__(self, "value_labels", normalise_labels(self.value_labels) or None)
        if int(self.merge_below) < 0:
            raise ConfigError(
                f"merge_below must be 0 (off) or a number of rows, got {self.merge_below!r}"
            )
        if not 0.0 < float(self.threshold) < 1.0:
            raise ConfigError(
                f"the decision threshold must be between 0 and 1, got {self.threshold!r}"
            )
        if int(self.min_test_rows) < 1:
            raise ConfigError(f"min_test_rows must be at least 1, got {self.min_test_rows!r}")

    @property
    def seed_values(self) -> list[int]:
        return [int(self.base_seed) + i for i in range(int(self.seeds))]

    def to_dict(self) -> dict[str, Any]:
        """Plain settings (the CDDPM config through its own ``to_dict`` when it has one)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name == "_":
                continue
            value = getattr(self, f.name)
            if f.name == "cddpm_config" and value is not None:
                value = value.to_dict() if hasattr(value, "to_dict") else asdict(value)
            elif f.name == "plan_counts" and value is not None:
                value = [
                    {"group": list(k) if isinstance(k, tuple) else k, "n": int(v)}
                    for k, v in value.items()
                ]
            elif f.name == "value_labels" and value is not None:
                value = {str(c): dict(m) for c, m in value.items()}
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AuditConfig:
        """Rebuild a config from :meth:`to_dict` (a CDDPM config dict becomes a CDDPMConfig)."""
        known = {f.name for f in fields(cls)} - {"_"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown audit setting(s): {', '.join(unknown)}")
        kwargs = dict(data)
        counts = kwargs.get("plan_counts")
        if counts is not None and not isinstance(counts, Mapping):
            kwargs["plan_counts"] = {
                (tuple(c["group"]) if isinstance(c["group"], list) else c["group"]): int(c["n"])
                for c in counts
            }
        cfg = kwargs.get("cddpm_config")
        if isinstance(cfg, Mapping):
            from mcrage_core.diffusion import CDDPMConfig

            kwargs["cddpm_config"] = (
                CDDPMConfig.from_dict(cfg)
                if hasattr(CDDPMConfig, "from_dict")
                else CDDPMConfig(**cfg)
            )
        target = kwargs.pop("target")
        return cls(target, **kwargs)


# --------------------------------------------------------------------------- classifiers


def _feature_kinds(X: pd.DataFrame) -> tuple[list[str], list[str]]:
    numeric = [c for c in X.columns if pd.api.types.is_numeric_dtype(X[c]) and X[c].dtype != bool]
    categorical = [c for c in X.columns if c not in numeric]
    return numeric, categorical


def make_classifier(
    name: ClassifierName,
    *,
    numeric: Sequence[str],
    categorical: Sequence[str],
    seed: int = 0,
):
    """A scikit-learn pipeline: imputation + scaling/one-hot encoding + the classifier.

    Numbers get median imputation with missing-value indicators (and scaling for
    logistic regression); categories get a ``missing`` level and one-hot encoding
    (unknown levels at prediction time are ignored).
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    num_steps: list[tuple[str, Any]] = [
        ("impute", SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True))
    ]
    if name == "logreg":
        num_steps.append(("scale", StandardScaler()))
    cat_steps = [
        ("impute", SimpleImputer(strategy="constant", fill_value="missing")),
        ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
    ]
    transformers = []
    if numeric:
        transformers.append(("num", Pipeline(num_steps), list(numeric)))
    if categorical:
        transformers.append(("cat", Pipeline(cat_steps), list(categorical)))
    if not transformers:
        raise ConfigError("there are no feature columns to train a model on")
    pre = ColumnTransformer(transformers, remainder="drop")
    if name == "logreg":
        clf: Any = LogisticRegression(max_iter=2000)
    elif name == "rf":
        clf = RandomForestClassifier(
            n_estimators=200, min_samples_leaf=2, n_jobs=1, random_state=seed
        )
    elif name == "hgb":
        clf = HistGradientBoostingClassifier(random_state=seed)
    else:
        raise ConfigError(f"unknown classifier {name!r}: choose logreg, rf or hgb")
    return Pipeline([("prepare", pre), ("model", clf)])


def _model_frame(df: pd.DataFrame, features: Sequence[str]) -> pd.DataFrame:
    """Features with categories as plain objects (NaN for missing) and numbers as floats."""
    X = df[list(features)].copy()
    for c in X.columns:
        s = X[c]
        if pd.api.types.is_bool_dtype(s):
            X[c] = s.astype(object).where(s.notna(), np.nan).astype(str).where(s.notna(), np.nan)
        elif pd.api.types.is_numeric_dtype(s):
            X[c] = s.astype(float)
        else:
            X[c] = s.astype(object).where(s.notna(), np.nan)
            X[c] = X[c].map(lambda v: v if isinstance(v, float) else str(v))
    return X


# --------------------------------------------------------------------------- split


def split_train_test(
    strata: pd.Series, *, test_size: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the training and test rows, stratified by ``strata``.

    A stratum label is ``"group|outcome"``. Strata with a single row cannot be split
    both ways, so they are merged into the largest stratum with the same outcome (or the
    largest stratum when none shares the outcome). If stratification is still impossible
    (for example an outcome with one row in the whole table), the split falls back to
    the outcome alone and finally to a plain random split. It never fails for a table
    of at least two rows.
    """
    from sklearn.model_selection import train_test_split

    labels = pd.Series(strata.astype(str).to_numpy(), dtype=object)
    positions = np.arange(len(labels))
    if len(labels) < 2:
        raise DataError(
            f"the table has {len(labels)} usable row(s); at least two are needed to hold some "
            "out for testing"
        )
    labels = _merge_single_strata(labels)
    outcome = labels.map(lambda lab: lab.rsplit("|", 1)[-1])
    for stratify in (labels, _merge_single_strata(outcome), None):
        try:
            train, test = train_test_split(
                positions,
                test_size=test_size,
                random_state=seed,
                stratify=None if stratify is None else stratify.to_numpy(),
            )
        except ValueError:
            continue
        return np.sort(train), np.sort(test)
    raise DataError(  # pragma: no cover - a plain split of >= 2 rows always works
        "the rows could not be split into a training and a test part"
    )


def _merge_single_strata(labels: pd.Series) -> pd.Series:
    """Relabel one-row strata as the largest stratum with the same outcome."""
    counts = labels.value_counts()
    single = counts[counts < 2].index
    if len(single) == 0 or len(counts) < 2:
        return labels
    big = counts[counts >= 2]
    if big.empty:
        return labels
    by_outcome: dict[str, str] = {}
    for lab in big.index:  # value_counts is sorted by size, so the first one wins
        by_outcome.setdefault(str(lab).rsplit("|", 1)[-1], lab)
    largest = big.index[0]
    mapping = {lab: by_outcome.get(str(lab).rsplit("|", 1)[-1], largest) for lab in single}
    return labels.map(lambda lab: mapping.get(lab, lab))


# --------------------------------------------------------------------------- metrics


def _auroc(y_true, y_pred, *, y_score) -> float:
    from sklearn.metrics import roc_auc_score

    y_true = np.asarray(y_true)
    if len(np.unique(y_true)) < 2:
        return math.nan
    return float(roc_auc_score(y_true, np.asarray(y_score)))


def _pr_auc(y_true, y_pred, *, y_score) -> float:
    from sklearn.metrics import average_precision_score

    y_true = np.asarray(y_true)
    if len(np.unique(y_true)) < 2:
        return math.nan
    return float(average_precision_score(y_true, np.asarray(y_score)))


def _balanced_accuracy(y_true, y_pred) -> float:
    y_true, y_pred = np.asarray(y_true).astype(bool), np.asarray(y_pred).astype(bool)
    rates = []
    if y_true.any():
        rates.append(np.mean(y_pred[y_true]))  # sensitivity
    if (~y_true).any():
        rates.append(np.mean(~y_pred[~y_true]))  # specificity
    return float(np.mean(rates)) if rates else math.nan


def _base_rate(y_true, y_pred) -> float:
    y_true = np.asarray(y_true)
    return float(y_true.mean()) if len(y_true) else math.nan


def _f1(y_true, y_pred) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(y_true, y_pred, zero_division=0))


def group_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, y_score: np.ndarray, groups: pd.Series | np.ndarray
):
    """A fairlearn MetricFrame with accuracy, balanced accuracy, F1, AUROC, PR-AUC, base rate,
    selection rate, TPR, FPR and count."""
    from fairlearn.metrics import (
        MetricFrame,
        count,
        false_positive_rate,
        selection_rate,
        true_positive_rate,
    )
    from sklearn.metrics import accuracy_score

    return MetricFrame(
        metrics={
            "accuracy": accuracy_score,
            "balanced_accuracy": _balanced_accuracy,
            "f1": _f1,
            "auroc": _auroc,
            "pr_auc": _pr_auc,
            "base_rate": _base_rate,
            "selection_rate": selection_rate,
            "tpr": true_positive_rate,
            "fpr": false_positive_rate,
            "n": count,
        },
        y_true=np.asarray(y_true),
        y_pred=np.asarray(y_pred),
        sensitive_features=np.asarray(groups, dtype=object),
        sample_params={
            "auroc": {"y_score": np.asarray(y_score, dtype=float)},
            "pr_auc": {"y_score": np.asarray(y_score, dtype=float)},
        },
    )


def bootstrap_counts(n: int, n_bootstrap: int, rng: np.random.Generator) -> np.ndarray:
    """Multinomial resample counts, shape ``(n_bootstrap, n)``: row b says how often each
    test row appears in resample b."""
    if n == 0 or n_bootstrap == 0:
        return np.zeros((n_bootstrap, n), dtype=np.int32)
    return rng.multinomial(n, np.full(n, 1.0 / n), size=n_bootstrap).astype(np.int32)


def _safe_div(a: np.ndarray, b: np.ndarray, empty: float = math.nan) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(b > 0, a / np.where(b > 0, b, 1), empty)
    return out


def _weighted_auroc(y: np.ndarray, score: np.ndarray, W: np.ndarray) -> np.ndarray:
    """AUROC of every resample at once: ``W`` (B × n) are resample counts."""
    order = np.argsort(score, kind="mergesort")
    s, yy, Ws = score[order], y[order].astype(bool), W[:, order].astype(float)
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    neg = np.add.reduceat(Ws * ~yy, starts, axis=1)  # B × U weights of negatives per score
    pos = np.add.reduceat(Ws * yy, starts, axis=1)
    neg_below = np.cumsum(neg, axis=1) - neg
    num = (pos * (neg_below + 0.5 * neg)).sum(axis=1)
    den = pos.sum(axis=1) * neg.sum(axis=1)
    return _safe_div(num, den)


def _weighted_average_precision(y: np.ndarray, score: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Average precision (PR-AUC, scikit-learn's step definition) of every resample."""
    order = np.argsort(-score, kind="mergesort")
    s, yy, Ws = score[order], y[order].astype(bool), W[:, order].astype(float)
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    pos = np.add.reduceat(Ws * yy, starts, axis=1)  # B × U, thresholds from high to low
    neg = np.add.reduceat(Ws * ~yy, starts, axis=1)
    tp, fp = np.cumsum(pos, axis=1), np.cumsum(neg, axis=1)
    precision = _safe_div(tp, tp + fp, empty=0.0)
    total = tp[:, -1:] if tp.shape[1] else np.zeros((W.shape[0], 1))
    recall_step = _safe_div(pos, np.broadcast_to(total, pos.shape), empty=0.0)
    ap = (recall_step * precision).sum(axis=1)
    valid = (total[:, 0] > 0) & (neg.sum(axis=1) > 0)
    return np.where(valid, ap, np.nan)


def metrics_from_counts(
    y: np.ndarray, pred: np.ndarray, score: np.ndarray, W: np.ndarray
) -> dict[str, np.ndarray]:
    """Every metric of :data:`~mcrage_core.evaluation.results.METRICS` for each resample (rows of ``W``)."""
    y = np.asarray(y).astype(bool)
    pred = np.asarray(pred).astype(bool)
    Wf = W.astype(float)
    tp = Wf @ (y & pred)
    fp = Wf @ (~y & pred)
    fn = Wf @ (y & ~pred)
    tn = Wf @ (~y & ~pred)
    n = tp + fp + fn + tn
    tpr = _safe_div(tp, tp + fn)  # NaN where a resample has no positive
    tnr = _safe_div(tn, tn + fp)
    with np.errstate(invalid="ignore"):
        balanced = np.where(np.isnan(tpr), tnr, np.where(np.isnan(tnr), tpr, (tpr + tnr) / 2))
    return {
        "accuracy": _safe_div(tp + tn, n),
        "balanced_accuracy": balanced,
        "f1": _safe_div(2 * tp, 2 * tp + fp + fn, empty=0.0),
        "auroc": _weighted_auroc(y, np.asarray(score, dtype=float), W),
        "pr_auc": _weighted_average_precision(y, np.asarray(score, dtype=float), W),
        "base_rate": _safe_div(tp + fn, n),
        "selection_rate": _safe_div(tp + fp, n),
        "tpr": np.nan_to_num(tpr, nan=0.0),
        "fpr": _safe_div(fp, fp + tn, empty=0.0),
    }


def _t_interval(values: Sequence[float], confidence: float) -> tuple[float, float]:
    from scipy import stats

    v = np.asarray([x for x in values if np.isfinite(x)], dtype=float)
    if len(v) < 2:
        return (math.nan, math.nan)
    sd = v.std(ddof=1)
    if sd == 0:
        return (float(v.mean()), float(v.mean()))
    low, high = stats.t.interval(confidence, len(v) - 1, loc=v.mean(), scale=sd / math.sqrt(len(v)))
    return (float(low), float(high))


def _percentile(reps: np.ndarray, confidence: float) -> tuple[float, float]:
    r = reps[np.isfinite(reps)]
    if len(r) == 0:
        return (math.nan, math.nan)
    a = (1 - confidence) / 2
    low, high = np.quantile(r, [a, 1 - a])
    return (float(low), float(high))


# --------------------------------------------------------------------------- run


@dataclass
class _Prepared:
    df: pd.DataFrame  # real rows with binary target and group columns
    target: str
    positive_class: str
    features: list[str]  # inputs of the downstream classifier
    attributes: dict[str, str]  # group column -> source column
    rebalance: list[str]  # group columns rebalanced
    primary: str  # attribute key used for the plan, split and primary disparity
    n_missing_target: int
    warnings: list[str] = field(default_factory=list)
    bands: dict[str, tuple[str, tuple[int, ...]]] = field(default_factory=dict)
    columns: list[str] = field(default_factory=list)  # record columns a generator makes
    source_index: np.ndarray = field(default_factory=lambda: np.array([], dtype=int))
    merged: dict[str, list[str]] = field(default_factory=dict)  # group column -> merged groups
    derived: list[str] = field(default_factory=list)  # helper columns (bands, merges, ×)


def _prepare(df: pd.DataFrame, schema: Any, config: AuditConfig) -> _Prepared:
    from mcrage_core.tables.schema import add_age_band, binarize_target

    if not isinstance(df, pd.DataFrame) or df.empty:
        raise DataError("the table is empty; load a table with rows first")
    target = config.target
    if target not in df.columns:
        raise ConfigError(
            f"the outcome column {target!r} is not in the table; available columns: "
            f"{', '.join(map(str, df.columns))}"
        )
    positive = config.positive_class
    if positive is None:
        positive = schema.positive_class if getattr(schema, "target", None) == target else None
    if positive is None:
        from mcrage_core.tables.schema import detect_positive_class

        positive = detect_positive_class(df[target])
    values = df[target].dropna().astype(str).unique()
    if len(values) < 2:
        raise DataError(
            f"the outcome column {target!r} has only one value ({', '.join(values) or 'none'}); "
            "a model needs both outcomes in the data"
        )
    from mcrage_core.tables.schema import resolve_positive_class

    # as written in the column ('1' given, '1.0' stored because of a blank)
    positive = resolve_positive_class(df[target], positive, target)
    warnings: list[str] = []
    if len(values) > 2:
        warnings.append(
            f"the outcome {target!r} has {len(values)} values; it was made binary: "
            f"{positive!r} versus all others"
        )
    work = df.copy()
    y = binarize_target(work[target], positive)
    n_missing_target = int(y.isna().sum())
    if n_missing_target:
        warnings.append(f"{n_missing_target} row(s) without an outcome in {target!r} were left out")
    work = work.loc[y.notna()].copy()
    work[target] = y.loc[y.notna()].astype(int).to_numpy()
    if work[target].nunique() < 2:
        raise DataError(f"after removing rows without an outcome, {target!r} has one value only")

    sensitive = list(config.sensitive) or list(dict.fromkeys(schema.sensitive.values()))
    if not sensitive:
        raise ConfigError(
            "no sensitive attribute was given or detected; name the race, sex or age "
            "column(s) to audit (for example --sensitive race)"
        )
    missing = [c for c in sensitive if c not in work.columns]
    if missing:
        raise ConfigError(
            f"sensitive column(s) {', '.join(map(repr, missing))} not in the table; available "
            f"columns: {', '.join(map(str, work.columns))}"
        )
    if target in sensitive:
        raise ConfigError(f"the outcome {target!r} cannot also be a sensitive attribute")
    age_col = schema.sensitive.get("age") if hasattr(schema, "sensitive") else None
    bands = getattr(schema, "age_bands", (30, 45, 65, 80))
    attributes: dict[str, str] = {}
    band_info: dict[str, tuple[str, tuple[int, ...]]] = {}
    merged: dict[str, list[str]] = {}
    derived: list[str] = []
    for col in sensitive:
        s = work[col]
        if col == age_col or (pd.api.types.is_numeric_dtype(s) and s.nunique() > 20):
            name = "age_band" if col == age_col else f"{col}_band"
            work = add_age_band(work, col, bands, name=name)
            band_info[name] = (col, tuple(bands))
            work[name] = work[name].astype(object).where(work[name].notna(), np.nan)
            attributes[name] = col
            derived.append(name)
            continue
        if config.merge_below:
            from mcrage_core.tables.groups import MERGED_LABEL, merge_small_groups

            grouped, small = merge_small_groups(s, min_rows=int(config.merge_below))
            if small:
                name = f"{col} (merged)"
                work[name] = grouped.to_numpy()
                attributes[name] = col
                merged[name] = small
                derived.append(name)
                warnings.append(
                    f"{col}: group(s) {', '.join(small)} have fewer than {config.merge_below} "
                    f"rows and are analysed together as '{col}: {MERGED_LABEL}'"
                )
                continue
        attributes[col] = col
    from mcrage_core.tables.groups import code_key

    for gcol in [*attributes, *(src for g, src in attributes.items() if g in merged)]:
        s = work[gcol]
        # group values as text; a coded column with a blank (floats 1.0, 2.0) reads 1, 2
        work[gcol] = s.astype(object).map(lambda v: np.nan if pd.isna(v) else code_key(v))

    reb_input = list(config.rebalance)
    if not reb_input:
        race = schema.sensitive.get("race") if hasattr(schema, "sensitive") else None
        reb_input = [race] if race in sensitive else [sensitive[0]]
    rebalance: list[str] = []
    for col in reb_input:
        match = [g for g, src in attributes.items() if col in (g, src)]
        if not match:
            raise ConfigError(
                f"the column to rebalance {col!r} is not one of the sensitive attributes "
                f"({', '.join(sensitive)}); add it with --sensitive too"
            )
        rebalance.append(match[0])
    rebalance = list(dict.fromkeys(rebalance))
    primary = rebalance[0]
    if len(rebalance) > 1:
        primary = " × ".join(rebalance)
        known = work[rebalance].notna().all(axis=1)
        inter = pd.Series(np.nan, index=work.index, dtype=object)
        if known.any():
            parts = work.loc[known, rebalance].map(str)
            inter.loc[known] = parts.agg(" × ".join, axis=1)
        work[primary] = inter
        derived.append(primary)

    excluded = set(getattr(schema, "excluded", {}) or {})
    modelled = schema.features if getattr(schema, "features", None) else list(df.columns)
    # the record columns a generator must produce: every modelled input column, the
    # sensitive ones included (unless the user excluded them), never helper columns
    columns = [
        c
        for c in modelled
        if c in df.columns and c != target and c not in excluded and c not in derived
    ]
    for src in dict.fromkeys(attributes.values()):
        if src not in columns and src not in excluded and src != target:
            columns.append(src)
    sources = set(attributes.values())
    features = [c for c in columns if config.sensitive_as_features or c not in sources]
    if not features:
        raise ConfigError(
            "no feature columns are left to train a model on (all columns are the outcome, "
            "sensitive attributes or excluded); include more columns"
        )
    for g, src in attributes.items():
        n_miss = int(work[g].isna().sum())
        if n_miss:
            warnings.append(
                f"{n_miss} row(s) have no value for {src!r}: they are kept for training but "
                "are not counted as a group"
            )
    source_index = work.index.to_numpy()
    return _Prepared(
        df=work.reset_index(drop=True),
        target=target,
        positive_class=str(positive),
        features=features,
        attributes=attributes,
        rebalance=rebalance,
        primary=primary,
        n_missing_target=n_missing_target,
        warnings=warnings,
        bands={k: v for k, v in band_info.items() if k in rebalance},
        columns=columns,
        source_index=source_index,
        merged=merged,
        derived=derived,
    )


def _group_labels(config: AuditConfig) -> tuple[dict[str, dict[str, str]], list[str]]:
    """The value labels to apply: never to the outcome column, which keeps its values
    (its positive class is named in those values)."""
    labels = dict(config.value_labels or {})
    warnings = []
    if config.target in labels:
        labels.pop(config.target)
        warnings.append(
            f"value labels for the outcome column {config.target!r} were not used: the outcome "
            "keeps its own values"
        )
    return labels, warnings


def _split(
    prep: _Prepared, config: AuditConfig, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray, np.ndarray]:
    """The training rows, the (real) test rows, and their positions in ``prep.df``."""
    data = prep.df
    strata = data[prep.primary].astype(object).where(data[prep.primary].notna(), _MISSING_GROUP)
    strata = strata.astype(str) + "|" + data[prep.target].astype(str)
    train_pos, test_pos = split_train_test(strata, test_size=config.test_size, seed=seed)
    train = data.iloc[train_pos].reset_index(drop=True)
    test = data.iloc[test_pos].reset_index(drop=True)
    return train, test, train_pos, test_pos


def check_sizes(
    prep: _Prepared, test: pd.DataFrame, config: AuditConfig, *, train: pd.DataFrame | None = None
) -> None:
    """Refuse an audit whose real test rows could not judge anything.

    Rules (``m = config.min_test_rows``): the test part needs at least ``m`` rows of each
    outcome, and at least two groups of the rebalanced attribute with ``m`` or more test
    rows each. Groups below ``config.small_group`` test rows are still shown, flagged as
    too small to judge.

    Raises
    ------
    DataError
        Saying what is too small, by how much, and what to do.
    """
    m = int(config.min_test_rows)
    n_groups = int(prep.df[prep.primary].nunique())
    if n_groups < 2:
        only = ", ".join(map(str, prep.df[prep.primary].dropna().unique())) or "none"
        raise DataError(
            f"the column to rebalance {prep.primary!r} has only one group ({only}), so there "
            "is nothing to compare; choose a column with at least two groups"
        )
    if train is not None:
        yt = train[prep.target]
        if int((yt == 1).sum()) < 2 or int((yt == 0).sum()) < 2:
            raise DataError(
                f"the training part holds {int((yt == 1).sum())} row(s) with outcome "
                f"{prep.positive_class!r} and {int((yt == 0).sum())} without; a model needs at "
                "least two of each. Use a larger table or one where the outcome is less rare."
            )
    y = test[prep.target]
    n_pos, n_neg = int((y == 1).sum()), int((y == 0).sum())
    share = f"{config.test_size:.0%}"
    if n_pos < m or n_neg < m:
        raise DataError(
            f"the table is too small to judge a model: the held-out test part ({share} of "
            f"{len(prep.df)} rows with an outcome) would hold {n_pos} row(s) with outcome "
            f"{prep.positive_class!r} and {n_neg} without; at least {m} of each are needed. "
            "Use a larger table (a few hundred rows or more), or a larger test share."
        )
    sizes = test[prep.primary].value_counts()
    judged = sizes[sizes >= m]
    if len(judged) < 2:
        shown = ", ".join(f"{g}: {int(n)}" for g, n in sizes.items()) or "none"
        raise DataError(
            f"the table is too small to compare groups of {prep.primary!r}: the held-out test "
            f"part would hold fewer than {m} rows in all but {len(judged)} group(s) "
            f"({shown}). Use a larger table, merge small groups, or rebalance another column."
        )


def _plan(prep: _Prepared, train: pd.DataFrame, config: AuditConfig) -> pd.DataFrame:
    """The augmentation plan of one training part, with the privacy guardrail marked."""
    plan = plan_augmentation(
        train,
        rebalance=prep.rebalance,
        target=prep.target,
        mode=config.plan_mode,
        share=config.plan_share,
        counts=config.plan_counts,
        balance_outcome=config.balance_outcome,
    )
    if "cddpm" in config.strategies:
        plan["blocked"] = blocked_mask(
            plan, min_rows=config.min_cell_rows, allow=config.allow_small_cells
        )
    return plan


def _outcome_labels(prep: _Prepared, reference: pd.DataFrame) -> dict[int, Any]:
    """The user's own outcome values for ``1`` and ``0`` (native type: ``1`` stays an int,
    ``"Yes"`` a string)."""
    from mcrage_core.tables.records import negative_label

    values = reference[prep.target].dropna()

    def plain(v: Any) -> Any:
        v = v.item() if hasattr(v, "item") else v
        if isinstance(v, float) and v.is_integer():
            return int(v)  # a 0/1 column with a blank is read as 0.0/1.0; the file says 0/1
        return v

    native = {str(v): plain(v) for v in pd.unique(values)}
    negative = negative_label(values, prep.positive_class)
    return {
        1: native.get(prep.positive_class, prep.positive_class),
        0: native.get(negative, negative) if negative is not None else "other",
    }


def _display_plan(plan: pd.DataFrame, prep: _Prepared, names: Mapping[int, Any]) -> pd.DataFrame:
    """The plan with the outcome written as the user's own values (``names``), not 0/1."""
    out = plan.copy()
    out[prep.target] = out[prep.target].map(lambda v: names.get(int(v), str(v)))
    return out


@dataclass(frozen=True)
class PlanPreview:
    """What an audit will do, computed before anything is trained.

    ``plan`` is the exact plan of the first seed (its training part), with the outcome
    in the user's values and ``blocked`` marking cells the privacy guardrail skips;
    ``n_train``/``n_test`` the sizes of the split; ``notes`` what the user should know
    (blocked cells and their effect on a group's outcome mix); ``problem`` a reason the
    audit would be refused (``None`` when it can run).
    """

    plan: pd.DataFrame
    n_rows: int
    n_train: int
    n_test: int
    n_add: int
    n_add_cddpm: int
    notes: tuple[str, ...]
    problem: str | None


def preview_plan(df: pd.DataFrame, schema: Any, config: AuditConfig) -> PlanPreview:
    """The plan, split sizes and guardrail effects of ``run_audit(df, schema, config)``.

    Raises
    ------
    ConfigError, DataError
        For settings that :func:`run_audit` would refuse too (a too-small table is
        reported in ``problem`` instead, so the page can show the plan and the reason).
    """
    from mcrage_core.rebalance.plan import guardrail_notes
    from mcrage_core.tables.groups import apply_labels

    labelled, _ = apply_labels(df, _group_labels(config)[0])
    prep = _prepare(labelled, schema, config)
    train, test, _, _ = _split(prep, config, config.seed_values[0])
    problem = None
    try:
        check_sizes(prep, test, config, train=train)
    except DataError as exc:
        problem = str(exc)
    plan = _plan(prep, train, config)
    names = _outcome_labels(prep, labelled)
    blocked = plan["blocked"] if "blocked" in plan.columns else pd.Series(False, index=plan.index)
    notes: list[str] = []
    if blocked.any():  # the same sentences the run will write
        notes.extend(
            guardrail_notes(
                plan,
                [*prep.rebalance, prep.target],
                min_rows=int(config.min_cell_rows),
                outcome_names=names,
            )
        )
    return PlanPreview(
        plan=_display_plan(plan, prep, names),
        n_rows=len(prep.df),
        n_train=len(train),
        n_test=len(test),
        n_add=int(plan["n_add"].sum()),
        n_add_cddpm=int(plan.loc[~blocked, "n_add"].sum()),
        notes=tuple(notes),
        problem=problem,
    )


class _Progress:
    """Maps work units to an overall fraction and forwards CDDPM training events."""

    def __init__(self, callback: ProgressCallback | None, total_units: float) -> None:
        self.callback = callback
        self.total = max(total_units, 1e-9)
        self.done = 0.0
        self.last = 0.0
        self.started = time.monotonic()

    def _fraction(self, value: float) -> float:
        self.last = max(self.last, min(1.0, value))  # never goes back
        return self.last

    def emit(self, stage: str, **extra: Any) -> None:
        if self.callback is not None:
            self.callback(
                ProgressEvent(
                    stage=stage,
                    fraction=self._fraction(self.done / self.total),
                    elapsed_s=time.monotonic() - self.started,
                    **extra,
                )
            )

    def advance(self, units: float) -> None:
        self.done += units

    def forward(self, stage: str, units: float) -> ProgressCallback:
        start = self.done

        def _cb(event: ProgressEvent) -> None:
            if self.callback is None:
                return
            frac = min(1.0, max(0.0, float(event.fraction or 0.0)))
            self.callback(
                ProgressEvent(
                    stage=f"{stage}: {event.stage}" if event.stage else stage,
                    fraction=self._fraction((start + frac * units) / self.total),
                    step=event.step,
                    total_steps=event.total_steps,
                    loss=event.loss,
                    rows_per_s=event.rows_per_s,
                    eta_s=event.eta_s,
                    elapsed_s=time.monotonic() - self.started,
                )
            )

        return _cb


def _threads(limit: int | None) -> contextlib.AbstractContextManager:
    """Scoped limit of native (OpenMP/BLAS) threads; nothing global is changed."""
    if limit is None:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=int(limit))


def _check_stop(should_stop: CancelCheck | None) -> None:
    if should_stop is not None and should_stop():
        raise TrainingCancelled("the audit was cancelled at your request; nothing was saved")


def _versions() -> dict[str, str]:
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


def _threshold_groups(labels: pd.Series, y: np.ndarray) -> tuple[pd.Series, set[str]]:
    """Group labels for ThresholdOptimizer: missing and degenerate groups pooled."""
    lab = labels.astype(object).where(labels.notna(), _MISSING_GROUP).astype(str)
    frame = pd.DataFrame({"g": lab.to_numpy(), "y": y})
    stats = frame.groupby("g")["y"].agg(["nunique", "size"])
    pooled = set(stats[(stats["nunique"] < 2) | (stats["size"] < 10)].index)
    out = lab.where(~lab.isin(pooled), "(other small groups)")
    if pooled:
        pool = frame.loc[out.to_numpy() == "(other small groups)", "y"]
        if pool.nunique() < 2 or len(pool) < 10:
            # even together they cannot get a threshold of their own: use the largest group's
            largest = stats.drop(index=list(pooled), errors="ignore")["size"]
            if len(largest):
                out = out.where(out != "(other small groups)", largest.idxmax())
    return out, pooled


def _cddpm_config(config: AuditConfig) -> Any:
    if config.cddpm_config is not None:
        return config.cddpm_config
    from mcrage_core.diffusion import CDDPMConfig

    return CDDPMConfig.preset(config.cddpm_preset, device=config.device)


def run_audit(
    df: pd.DataFrame,
    schema: Any,
    config: AuditConfig,
    *,
    progress: ProgressCallback | None = None,
    should_stop: CancelCheck | None = None,
    workdir: str | os.PathLike[str] | None = None,
) -> AuditResults:
    """Run the whole audit: plan, rebalance with each strategy, train, measure.

    Parameters
    ----------
    df
        The table (as returned by :func:`mcrage_core.tables.schema.infer_schema`).
    schema
        Its :class:`~mcrage_core.tables.schema.Schema` (identifiers and excluded columns are
        never features; the positive class and age column come from it).
    config
        The settings.
    progress
        Called with :class:`~mcrage_core.progress.ProgressEvent` objects: an overall
        fraction with a stage sentence, and the CDDPM trainer's own events (step, loss,
        rows/s, ETA) while it trains.
    should_stop
        Polled between steps (and by the trainer); when it returns ``True`` the run stops
        with :class:`~mcrage_core.errors.TrainingCancelled`.
    workdir
        Optional folder for diffusion checkpoints (one sub-folder per seed). When given,
        a cancelled or killed audit run on the same table and settings continues its
        diffusion training from the last checkpoint instead of starting again.

    Returns
    -------
    AuditResults

    Raises
    ------
    ConfigError, DataError
        For unusable settings or data. ``TrainingCancelled`` when stopped.
    """
    t_start = time.monotonic()
    from mcrage_core.tables.groups import apply_labels

    labels, label_warnings = _group_labels(config)
    labelled, more = apply_labels(df, labels)
    label_warnings += more
    prep = _prepare(labelled, schema, config)
    prep.warnings[:0] = label_warnings
    data = prep.df
    strategies = list(config.strategies)
    if "none" not in strategies:
        strategies.insert(0, "none")
    else:
        strategies.remove("none")
        strategies.insert(0, "none")
    seeds = config.seed_values
    warnings = list(prep.warnings)
    notes: dict[str, list[str]] = {s: [] for s in strategies}
    target = prep.target

    units_per_seed = 1.0 + sum(8.0 if s == "cddpm" else 1.0 for s in strategies)
    tracker = _Progress(progress, units_per_seed * len(seeds) + 1.0)
    tracker.emit("Checking the data")
    _check_stop(should_stop)

    imbalance: dict[str, Any] | None = None
    try:
        from mcrage_core.tables.imbalance import audit_imbalance

        schema_for_audit = schema
        kinds = dict(getattr(schema, "sensitive", {}) or {})
        wanted = {k: v for k, v in kinds.items() if v in set(prep.attributes.values())}
        for src in prep.attributes.values():
            if src not in wanted.values():
                wanted[src] = src
        if hasattr(schema, "sensitive") and wanted != kinds:
            schema_for_audit = replace(schema, sensitive=wanted)
        imbalance = audit_imbalance(
            labelled, schema_for_audit, small_cell=config.small_group
        ).to_dict()
    except (ConfigError, DataError, KeyError, ValueError, TypeError) as exc:
        warnings.append(f"the imbalance summary could not be computed ({exc})")

    rng_master = np.random.default_rng(config.base_seed)
    scores = _Scores()
    test_index: dict[str, list[Any]] = {}
    timings: dict[str, float] = {}
    first_plan: pd.DataFrame | None = None
    synthetic_out: pd.DataFrame | None = None
    augmented_out: pd.DataFrame | None = None
    fidelity: dict[str, Any] | None = None
    training: dict[str, Any] = {}
    attributes = list(prep.attributes)
    if prep.primary not in attributes:
        attributes.append(prep.primary)
    outcome_names = _outcome_labels(prep, labelled)

    for seed_pos, seed in enumerate(seeds):
        label = f"seed {seed_pos + 1} of {len(seeds)}"
        _check_stop(should_stop)
        tracker.emit(f"Splitting the data ({label})")
        train, test, train_pos, test_pos = _split(prep, config, seed)
        check_sizes(prep, test, config, train=train)
        test_index[str(seed)] = [int(i) for i in prep.source_index[test_pos]]
        plan = _plan(prep, train, config)
        if first_plan is None:
            first_plan = plan
        X_test = _model_frame(test, prep.features)
        y_test = test[target].to_numpy().astype(int)
        numeric, categorical = _feature_kinds(_model_frame(train, prep.features))
        # the same bootstrap resamples for every strategy of this seed (paired deltas)
        rng = np.random.default_rng(rng_master.integers(2**63))
        W_overall = bootstrap_counts(len(test), config.n_bootstrap, rng)
        group_W: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = {}
        for attr in attributes:
            col = test[attr]
            group_W[attr] = {}
            for g in sorted(col.dropna().unique(), key=str):
                idx = np.flatnonzero((col == g).to_numpy())
                group_W[attr][str(g)] = (idx, bootstrap_counts(len(idx), config.n_bootstrap, rng))
        tracker.advance(1.0)

        baseline_model = None
        for strategy_name in strategies:
            _check_stop(should_stop)
            t0 = time.monotonic()
            strategy = get_strategy(strategy_name)
            units = 8.0 if strategy_name == "cddpm" else 1.0
            stage = f"{STRATEGY_LABELS[strategy_name]} ({label})"
            tracker.emit(stage)
            context = AugmentContext(
                target=target,
                features=tuple(prep.features),
                columns=tuple(prep.columns),
                rebalance=tuple(prep.rebalance),
                outcome_names=outcome_names,
                seed=seed,
                min_cell_rows=config.min_cell_rows,
                allow_small_cells=config.allow_small_cells,
                cddpm_config=_cddpm_config(config) if strategy_name == "cddpm" else None,
                sampling_steps=config.sampling_steps,
                progress=tracker.forward(f"Training the diffusion model ({label})", units * 0.85)
                if strategy_name == "cddpm"
                else None,
                should_stop=should_stop,
                checkpoint_dir=str(Path(workdir) / f"cddpm_seed{seed}")
                if workdir is not None and strategy_name == "cddpm"
                else None,
            )
            aug = strategy.augment(train, plan, context=context)
            if aug.n_added and prep.bands:
                aug = _clip_to_bands(aug, prep.bands)
            if aug.n_added and any(g in prep.merged for g in prep.rebalance):
                aug = _snap_to_groups(aug, prep, seed)
            for w in aug.warnings:
                if w not in notes[strategy_name]:
                    notes[strategy_name].append(w)
            if strategy_name == "cddpm" and seed_pos == 0:
                with _threads(config.threads):
                    synthetic_out, augmented_out, fidelity, training = _cddpm_outputs(
                        aug,
                        train,
                        train_pos,
                        test,
                        prep,
                        seed,
                        warnings,
                        df,
                        schema,
                        config,
                        outcome_names,
                    )
            _check_stop(should_stop)
            tracker.emit(f"Training the {CLASSIFIER_LABELS[config.classifier]} ({stage})")
            if strategy_name == "threshold":
                model = baseline_model
                with _threads(config.threads):
                    pred, score = _threshold_predict(
                        model, train, test, prep, seed, notes[strategy_name]
                    )
            else:
                model = make_classifier(
                    config.classifier, numeric=numeric, categorical=categorical, seed=seed
                )
                X_train = _model_frame(aug.train, prep.features)
                y_train = aug.train[target].to_numpy().astype(int)
                fit_params = {}
                if aug.sample_weight is not None:
                    fit_params["model__sample_weight"] = aug.sample_weight
                with _threads(config.threads):
                    model.fit(X_train, y_train, **fit_params)
                    score = model.predict_proba(X_test)[:, 1]
                pred = (score >= config.threshold).astype(int)
                if strategy_name == "none":
                    baseline_model = model
            timings[f"{strategy_name}/seed{seed}"] = round(time.monotonic() - t0, 3)
            tracker.advance(units)
            tracker.emit(f"Measuring {STRATEGY_LABELS[strategy_name]} ({label})")
            _score_strategy(
                strategy_name,
                seed,
                y_test,
                pred,
                score,
                test,
                attributes,
                W_overall,
                group_W,
                config,
                scores,
            )

    leaks = _leaky_columns(data, prep.features, target)
    if leaks:
        warnings.insert(
            0,
            "column(s) "
            + ", ".join(f"{c!r} (AUROC {a:.2f} on its own)" for c, a in leaks.items())
            + " almost perfectly predict the outcome: they may give it away (for example a "
            "follow-up time or a later test result); consider keeping them out of modelling",
        )
    tracker.emit("Summarising the results")
    metrics = _aggregate_metrics(
        strategies, seeds, attributes, scores.points, scores.reps, scores.group_n, config
    )
    disparity = _aggregate_disparity(
        strategies,
        seeds,
        attributes,
        scores.disp_points,
        scores.disp_reps,
        scores.disp_meta,
        config,
    )
    for attr, (n_groups, excluded) in scores.disp_meta.items():
        if excluded:
            warnings.append(
                f"{attr}: group(s) {excluded} have fewer than {config.small_group} test rows; "
                "their numbers are shown but flagged, and they are left out of the disparities"
            )
        if n_groups < 2:
            warnings.append(
                f"{attr}: fewer than two groups are large enough to compare, so its "
                "disparities cannot be computed"
            )
    for lines in notes.values():
        warnings.extend(lines)
    timings["total"] = round(time.monotonic() - t_start, 3)
    n_missing_group = {src: int(data[g].isna().sum()) for g, src in prep.attributes.items()}
    dataset = {
        "n_rows": int(len(df)),
        "n_rows_used": int(len(data)),
        "n_columns": int(df.shape[1]),
        "target": target,
        "positive_class": prep.positive_class,
        "prevalence": float(data[target].mean()),
        "n_train": int(len(data) - len(test_index[str(seeds[0])])),
        "n_test": int(len(test_index[str(seeds[0])])),
        "features": list(prep.features),
        "generated_columns": list(prep.columns),
        "outcome_labels": {str(k): v for k, v in outcome_names.items()},
        "threshold": float(config.threshold),
        "value_labels": dict(config.value_labels or {}),
        "merged_groups": dict(prep.merged),
        "leaky_columns": leaks,
        "age_bands": list(getattr(schema, "age_bands", ()) or ()),
        "base_rates": _base_rates(data, attributes, target),
        "attributes": dict(prep.attributes),
        "rebalance": list(prep.rebalance),
        "primary_attribute": prep.primary,
        "n_missing_group": n_missing_group,
        "n_missing_target": prep.n_missing_target,
        "classifier": CLASSIFIER_LABELS[config.classifier],
        "seeds": seeds,
        "strategy_labels": {s: STRATEGY_LABELS[s] for s in strategies},
    }
    tracker.done = tracker.total
    tracker.emit("Done")
    return AuditResults(
        settings=config.to_dict(),
        versions=_versions(),
        dataset=dataset,
        metrics=metrics,
        disparity=disparity,
        plan=_display_plan(first_plan, prep, outcome_names)
        if first_plan is not None
        else pd.DataFrame(),
        imbalance=imbalance,
        fidelity=fidelity,
        warnings=list(dict.fromkeys(warnings)),
        strategy_notes={k: v for k, v in notes.items() if v},
        training=training,
        timings=timings,
        test_index=test_index,
        synthetic=synthetic_out,
        augmented_train=augmented_out,
    )


def _leaky_columns(data: pd.DataFrame, features: Sequence[str], target: str) -> dict[str, float]:
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


def _base_rates(data: pd.DataFrame, attributes: Sequence[str], target: str) -> dict[str, Any]:
    """Real outcome rate per group of every attribute (all real rows with an outcome)."""
    out: dict[str, Any] = {"overall": {"all": {"n": len(data), "rate": float(data[target].mean())}}}
    for attr in attributes:
        known = data[attr].notna()
        stats = data.loc[known].groupby(attr, observed=True)[target].agg(["size", "mean"])
        out[attr] = {
            str(g): {"n": int(r["size"]), "rate": float(r["mean"])} for g, r in stats.iterrows()
        }
    return out


def _snap_to_groups(aug: Any, prep: _Prepared, seed: int) -> Any:
    """Keep a generated row's original value (say race ``4``) inside the merged group it
    was generated for: a row of "other (merged)" whose value is not one of the merged
    codes gets one drawn from the real members of that group; a row of any other group
    gets that group's own value."""
    from mcrage_core.tables.groups import MERGED_LABEL

    rng = np.random.default_rng(seed)
    synthetic = aug.synthetic.copy()
    real = aug.train.iloc[: len(aug.train) - len(aug.synthetic)]
    for gcol in prep.rebalance:
        if gcol not in prep.merged or gcol not in synthetic.columns:
            continue
        src = prep.attributes[gcol]
        members = set(prep.merged[gcol])
        group = synthetic[gcol].astype(object)
        value = synthetic[src].astype(object)
        merged_rows = (group == MERGED_LABEL).to_numpy()
        outside = merged_rows & ~value.isin(members).to_numpy()
        if outside.any():
            pool = real.loc[real[gcol] == MERGED_LABEL, src].dropna().to_numpy()
            if len(pool):
                value.iloc[np.flatnonzero(outside)] = rng.choice(pool, size=int(outside.sum()))
        own = ~merged_rows & group.notna().to_numpy()
        value.iloc[np.flatnonzero(own)] = group.iloc[np.flatnonzero(own)].to_numpy()
        synthetic[src] = value.to_numpy()
    return _with_synthetic(aug, synthetic)


def _with_synthetic(aug: Any, synthetic: pd.DataFrame) -> Any:
    """``aug`` with its added rows replaced by ``synthetic`` (the real rows unchanged)."""
    real = aug.train.iloc[: len(aug.train) - len(aug.synthetic)]
    train = pd.concat([real, synthetic], ignore_index=True)
    return replace(aug, train=train, synthetic=synthetic)


def _clip_to_bands(aug: Any, bands: Mapping[str, tuple[str, tuple[int, ...]]]) -> Any:
    """Keep generated ages inside the age band of the cell they were generated for."""
    from mcrage_core.tables.schema import age_band_labels

    synthetic = aug.synthetic.copy()
    for band_col, (src, edges) in bands.items():
        if band_col not in synthetic.columns or src not in synthetic.columns:
            continue
        bounds = [-np.inf, *edges, np.inf]
        lows = dict(zip(age_band_labels(edges), bounds[:-1], strict=True))
        highs = dict(zip(age_band_labels(edges), bounds[1:], strict=True))
        from mcrage_core.diffusion.encoding import decimals_of

        real_values = pd.to_numeric(aug.train[src], errors="coerce").dropna()
        # the precision real ages are written with, so that rounding on output cannot push
        # an age over its band's upper edge (44.99 → 45.0)
        digits = (
            0
            if pd.api.types.is_integer_dtype(synthetic[src])
            else decimals_of(real_values.to_numpy(dtype=float))
        )
        step = 10.0**-digits
        label = synthetic[band_col].astype(str)
        lo = label.map(lows).astype(float).to_numpy()
        hi = label.map(highs).astype(float).to_numpy() - step
        values = pd.to_numeric(synthetic[src], errors="coerce").to_numpy(float)
        clipped = np.where(np.isnan(values), values, np.clip(np.round(values, digits), lo, hi))
        with contextlib.suppress(TypeError, ValueError):
            synthetic[src] = pd.Series(clipped, index=synthetic.index).astype(synthetic[src].dtype)
    return _with_synthetic(aug, synthetic)


def _cddpm_outputs(
    aug, train, train_pos, test, prep, seed, warnings, reference, schema, config, names
):
    """The synthetic rows and the augmented training set in the input's own coding (see
    :mod:`mcrage_core.tables.records`), the fidelity report and the training summary."""
    from mcrage_core.tables.records import output_columns, to_input_coding

    columns, dropped = output_columns(reference, schema)
    synthetic = to_input_coding(
        aug.synthetic,
        reference=reference,
        columns=columns,
        target=prep.target,
        positive_class=names[1],
        negative_class=names[0],
        labels=config.value_labels,
    )
    real_part = to_input_coding(
        reference.loc[prep.source_index[train_pos], columns],
        reference=reference,
        columns=columns,
        exact=True,
    )
    augmented = pd.concat(
        [real_part.assign(source="real"), synthetic.assign(source="synthetic")],
        ignore_index=True,
    )
    fidelity = None
    if len(aug.synthetic):
        try:
            from mcrage_core.fidelity.scores import evaluate_fidelity

            cols = [*prep.columns, *prep.rebalance, prep.target]
            cols = list(dict.fromkeys(c for c in cols if c in aug.synthetic.columns))
            report = evaluate_fidelity(
                train[cols],
                aug.synthetic[cols],
                by=list(prep.rebalance),
                holdout=test[cols],
                seed=seed,
            )
            fidelity = report.to_dict()
        except ImportError:
            warnings.append("the fidelity module is not available; fidelity was not measured")
        except (ConfigError, DataError, ValueError) as exc:
            warnings.append(f"the fidelity of the synthetic rows could not be measured ({exc})")
    training: dict[str, Any] = {}
    model = aug.extras.get("model")
    history = getattr(model, "train_log_", None)
    if history:
        frame = pd.DataFrame(list(history))
        if {"step", "loss"} <= set(frame.columns):
            training["loss_history"] = frame[["step", "loss"]].to_dict(orient="records")
    config_obj = getattr(model, "config", None)
    if config_obj is not None and hasattr(config_obj, "to_dict"):
        training["config"] = config_obj.to_dict()
    training["n_synthetic"] = int(len(synthetic))
    training["output_columns"] = list(columns)
    training["dropped_columns"] = [{"column": c, "reason": r} for c, r in dropped.items()]
    if aug.blocked is not None and len(aug.blocked):
        training["blocked_cells"] = _display_plan(aug.blocked, prep, names).to_dict(
            orient="records"
        )
    return synthetic, augmented, fidelity, training


def _threshold_predict(model, train, test, prep, seed, notes):
    from fairlearn.postprocessing import ThresholdOptimizer

    target = prep.target
    y_train = train[target].to_numpy().astype(int)
    g_train, pooled = _threshold_groups(train[prep.primary], y_train)
    g_test = test[prep.primary].astype(object).where(test[prep.primary].notna(), _MISSING_GROUP)
    g_test = g_test.astype(str)
    known = set(g_train.unique())
    g_test = g_test.where(g_test.isin(known), "(other small groups)")
    if "(other small groups)" not in known:
        g_test = g_test.where(g_test != "(other small groups)", g_train.mode().iloc[0])
    if pooled:
        msg = (
            f"Threshold optimizer: group(s) {', '.join(sorted(pooled))} are too small or have "
            "one outcome only in the training part; they share one threshold"
        )
        if msg not in notes:
            notes.append(msg)
    optimizer = ThresholdOptimizer(
        estimator=model,
        constraints="equalized_odds",
        objective="accuracy_score",
        predict_method="predict_proba",
        prefit=True,
    )
    X_train = _model_frame(train, prep.features)
    X_test = _model_frame(test, prep.features)
    optimizer.fit(X_train, y_train, sensitive_features=g_train.to_numpy())
    pred = np.asarray(
        optimizer.predict(X_test, sensitive_features=g_test.to_numpy(), random_state=seed)
    ).astype(int)
    # probability of a positive decision of the randomised post-processed classifier
    score = np.asarray(optimizer._pmf_predict(X_test, sensitive_features=g_test.to_numpy()))[:, 1]
    return pred, score


@dataclass
class _Scores:
    """Per-seed point estimates and bootstrap replicates, filled by :func:`_score_strategy`.

    Keys: ``(seed, strategy, attribute, group, metric)`` for metrics,
    ``(seed, attribute, group)`` for group sizes, ``(seed, strategy, attribute, metric)``
    for disparities; ``disp_meta`` maps an attribute to (groups compared, groups left out).
    """

    points: dict[tuple, float] = field(default_factory=dict)
    reps: dict[tuple, np.ndarray] = field(default_factory=dict)
    group_n: dict[tuple, int] = field(default_factory=dict)
    disp_points: dict[tuple, float] = field(default_factory=dict)
    disp_reps: dict[tuple, np.ndarray] = field(default_factory=dict)
    disp_meta: dict[str, tuple[int, str]] = field(default_factory=dict)


def _score_strategy(
    strategy: str,
    seed: int,
    y: np.ndarray,
    pred: np.ndarray,
    score: np.ndarray,
    test: pd.DataFrame,
    attributes: dict[str, str],
    W_overall: np.ndarray,
    group_W: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]],
    config: AuditConfig,
    scores: _Scores,
) -> None:
    """Measure one fitted strategy on the real test rows (point estimates and bootstrap
    replicates, overall, per group and as disparities) into ``scores``."""
    points, reps, group_n = scores.points, scores.reps, scores.group_n
    disp_points, disp_reps, disp_meta = scores.disp_points, scores.disp_reps, scores.disp_meta
    from fairlearn.metrics import (
        demographic_parity_difference,
        demographic_parity_ratio,
        equalized_odds_difference,
        equalized_odds_ratio,
    )

    B = config.n_bootstrap
    empty = np.full(B, np.nan)
    overall_mf = group_metrics(y, pred, score, np.full(len(y), "all", dtype=object))
    for metric in METRICS:
        points[(seed, strategy, OVERALL, "all", metric)] = float(overall_mf.overall[metric])
    boot = metrics_from_counts(y, pred, score, W_overall) if B else {}
    for metric in METRICS:
        reps[(seed, strategy, OVERALL, "all", metric)] = boot.get(metric, empty)
    group_n[(seed, OVERALL, "all")] = len(y)

    for attr in attributes:
        col = test[attr]
        known = col.notna().to_numpy()
        if not known.any():
            continue
        mf = group_metrics(y[known], pred[known], score[known], col[known].astype(str))
        table = mf.by_group
        group_boot: dict[str, dict[str, np.ndarray]] = {}
        eligible: list[str] = []
        for g, (idx, W) in group_W[attr].items():
            n = int(len(idx))
            group_n[(seed, attr, g)] = n
            for metric in METRICS:
                points[(seed, strategy, attr, g, metric)] = float(table.loc[g, metric])
            gb = metrics_from_counts(y[idx], pred[idx], score[idx], W) if B else {}
            group_boot[g] = gb
            for metric in METRICS:
                reps[(seed, strategy, attr, g, metric)] = gb.get(metric, empty)
            if n >= config.small_group:
                eligible.append(g)
        from mcrage_core.presentation.format import sort_groups

        excluded = sort_groups(sorted(set(group_W[attr]) - set(eligible)))
        disp_meta[attr] = (len(eligible), ", ".join(excluded))
        if len(eligible) < 2:
            for metric in DISPARITIES:
                disp_points[(seed, strategy, attr, metric)] = math.nan
                disp_reps[(seed, strategy, attr, metric)] = empty
            continue
        sel = col.isin(eligible).to_numpy()
        sf = col[sel].astype(str).to_numpy()
        yt, yp = y[sel], pred[sel]
        disp_points[(seed, strategy, attr, "demographic_parity_difference")] = float(
            demographic_parity_difference(yt, yp, sensitive_features=sf)
        )
        disp_points[(seed, strategy, attr, "demographic_parity_ratio")] = float(
            demographic_parity_ratio(yt, yp, sensitive_features=sf)
        )
        disp_points[(seed, strategy, attr, "equalized_odds_difference")] = float(
            equalized_odds_difference(yt, yp, sensitive_features=sf)
        )
        disp_points[(seed, strategy, attr, "equalized_odds_ratio")] = float(
            equalized_odds_ratio(yt, yp, sensitive_features=sf)
        )
        disp_points[(seed, strategy, attr, "worst_group_f1")] = float(
            np.nanmin([table.loc[g, "f1"] for g in eligible])
        )
        auc = [table.loc[g, "auroc"] for g in eligible]
        disp_points[(seed, strategy, attr, "worst_group_auroc")] = (
            float(np.nanmin(auc)) if np.isfinite(auc).any() else math.nan
        )
        if B:

            def stack(metric: str, boot: dict = group_boot, groups: list = eligible) -> np.ndarray:
                return np.stack([boot[g][metric] for g in groups], axis=1)

            sr, tpr, fpr = stack("selection_rate"), stack("tpr"), stack("fpr")
            with np.errstate(divide="ignore", invalid="ignore"):
                dp_ratio = sr.min(1) / sr.max(1)
                eo_ratio = np.minimum(tpr.min(1) / tpr.max(1), fpr.min(1) / fpr.max(1))
            disp_reps[(seed, strategy, attr, "demographic_parity_difference")] = sr.max(1) - sr.min(
                1
            )
            disp_reps[(seed, strategy, attr, "demographic_parity_ratio")] = dp_ratio
            disp_reps[(seed, strategy, attr, "equalized_odds_difference")] = np.maximum(
                tpr.max(1) - tpr.min(1), fpr.max(1) - fpr.min(1)
            )
            disp_reps[(seed, strategy, attr, "equalized_odds_ratio")] = eo_ratio
            disp_reps[(seed, strategy, attr, "worst_group_f1")] = stack("f1").min(1)
            with np.errstate(all="ignore"):
                a = stack("auroc")
                worst = np.where(
                    np.isfinite(a).any(1), np.nanmin(np.where(np.isfinite(a), a, np.inf), 1), np.nan
                )
            disp_reps[(seed, strategy, attr, "worst_group_auroc")] = worst
        else:
            for metric in DISPARITIES:
                disp_reps[(seed, strategy, attr, metric)] = empty


def _summary(
    per_seed: list[float],
    rep_list: list[np.ndarray],
    base_seed: list[float] | None,
    base_reps: list[np.ndarray] | None,
    confidence: float,
) -> dict[str, float]:
    vals = np.asarray(per_seed, dtype=float)
    value = float(np.nanmean(vals)) if np.isfinite(vals).any() else math.nan
    pooled = np.concatenate(rep_list) if rep_list else np.array([])
    ci_low, ci_high = _percentile(pooled, confidence)
    seed_low, seed_high = _t_interval(vals, confidence)
    if np.isfinite(seed_low):  # every metric here lives in [0, 1]
        seed_low, seed_high = max(0.0, seed_low), min(1.0, seed_high)
    out = {
        "value": value,
        "ci_low": ci_low,
        "ci_high": ci_high,
        "seed_ci_low": seed_low,
        "seed_ci_high": seed_high,
        "delta": math.nan,
        "delta_ci_low": math.nan,
        "delta_ci_high": math.nan,
    }
    if base_seed is not None and base_reps is not None:
        bvals = np.asarray(base_seed, dtype=float)
        diff = vals - bvals
        out["delta"] = float(np.nanmean(diff)) if np.isfinite(diff).any() else math.nan
        dreps = (
            np.concatenate([a - b for a, b in zip(rep_list, base_reps, strict=True)])
            if rep_list
            else np.array([])
        )
        out["delta_ci_low"], out["delta_ci_high"] = _percentile(dreps, confidence)
    return out


def _aggregate_metrics(
    strategies, seeds, attributes, points, reps, group_n, config
) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    keys = sorted(
        {(k[2], k[3]) for k in points},
        key=lambda t: (
            t[0] != OVERALL,
            attributes.index(t[0]) if t[0] in attributes else -1,
            str(t[1]),
        ),
    )
    for strategy in strategies:
        for attr, g in keys:
            for metric in METRICS:
                per_seed = [points.get((s, strategy, attr, g, metric), math.nan) for s in seeds]
                rep_list = [
                    reps[(s, strategy, attr, g, metric)]
                    for s in seeds
                    if (s, strategy, attr, g, metric) in reps
                ]
                base = None
                base_reps = None
                if strategy != "none":
                    base = [points.get((s, "none", attr, g, metric), math.nan) for s in seeds]
                    base_reps = [
                        reps[(s, "none", attr, g, metric)]
                        for s in seeds
                        if (s, "none", attr, g, metric) in reps
                    ]
                    if len(base_reps) != len(rep_list):
                        base, base_reps = None, None
                stats = _summary(per_seed, rep_list, base, base_reps, config.confidence)
                ns = [group_n.get((s, attr, g), 0) for s in seeds]
                n = int(round(float(np.mean(ns)))) if ns else 0
                rows.append(
                    {
                        "strategy": strategy,
                        "attribute": attr,
                        "group": str(g),
                        "metric": metric,
                        **stats,
                        "n": n,
                        "small": bool(attr != OVERALL and n < config.small_group),
                    }
                )
    return _typed(pd.DataFrame(rows, columns=AuditResults.metric_columns()))


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    from mcrage_core.evaluation.results import to_jsonable

    data = {"format": "mcrage-audit/1", "tables": {"metrics": to_jsonable(frame), "disparity": []}}
    return AuditResults.from_dict(data).metrics


def _aggregate_disparity(
    strategies, seeds, attributes, disp_points, disp_reps, disp_meta, config
) -> pd.DataFrame:
    from mcrage_core.evaluation.results import to_jsonable

    rows: list[dict[str, Any]] = []
    for strategy in strategies:
        for attr in attributes:
            if attr not in disp_meta:
                continue
            n_groups, excluded = disp_meta[attr]
            for metric in DISPARITIES:
                key = lambda s, st=strategy, a=attr, m=metric: (s, st, a, m)  # noqa: E731
                per_seed = [disp_points.get(key(s), math.nan) for s in seeds]
                rep_list = [disp_reps[key(s)] for s in seeds if key(s) in disp_reps]
                base = base_reps = None
                if strategy != "none":
                    base = [disp_points.get((s, "none", attr, metric), math.nan) for s in seeds]
                    base_reps = [
                        disp_reps[(s, "none", attr, metric)]
                        for s in seeds
                        if (s, "none", attr, metric) in disp_reps
                    ]
                    if len(base_reps) != len(rep_list):
                        base, base_reps = None, None
                stats = _summary(per_seed, rep_list, base, base_reps, config.confidence)
                rows.append(
                    {
                        "strategy": strategy,
                        "attribute": attr,
                        "metric": metric,
                        **stats,
                        "n_groups": n_groups,
                        "excluded_groups": excluded,
                    }
                )
    data = {
        "format": "mcrage-audit/1",
        "tables": {
            "metrics": [],
            "disparity": to_jsonable(pd.DataFrame(rows, columns=AuditResults.disparity_columns())),
        },
    }
    return AuditResults.from_dict(data).disparity
