"""The downstream classifiers: a scikit-learn pipeline per strategy, its inputs, and
scoped thread limits."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from mcrage_core.errors import ConfigError

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

__all__ = [
    "CLASSIFIERS",
    "CLASSIFIER_LABELS",
    "ClassifierName",
    "feature_kinds",
    "make_classifier",
    "model_frame",
    "thread_limit",
]

ClassifierName = Literal["logreg", "rf", "hgb"]
CLASSIFIERS: tuple[str, ...] = ("logreg", "rf", "hgb")
CLASSIFIER_LABELS = {
    "logreg": "logistic regression",
    "rf": "random forest",
    "hgb": "histogram gradient boosting",
}


def feature_kinds(X: pd.DataFrame) -> tuple[list[str], list[str]]:
    """The numeric and the categorical columns of a model frame."""
    numeric = [c for c in X.columns if pd.api.types.is_numeric_dtype(X[c]) and X[c].dtype != bool]
    categorical = [c for c in X.columns if c not in numeric]
    return numeric, categorical


def make_classifier(
    name: ClassifierName,
    *,
    numeric: Sequence[str],
    categorical: Sequence[str],
    seed: int = 0,
) -> Pipeline:
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
    clf: Any
    if name == "logreg":
        clf = LogisticRegression(max_iter=2000)
    elif name == "rf":
        clf = RandomForestClassifier(
            n_estimators=200, min_samples_leaf=2, n_jobs=1, random_state=seed
        )
    elif name == "hgb":
        clf = HistGradientBoostingClassifier(random_state=seed)
    else:
        raise ConfigError(f"unknown classifier {name!r}: choose logreg, rf or hgb")
    return Pipeline([("prepare", pre), ("model", clf)])


def model_frame(df: pd.DataFrame, features: Sequence[str]) -> pd.DataFrame:
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


def thread_limit(limit: int | None) -> contextlib.AbstractContextManager[object]:
    """Scoped limit of native (OpenMP/BLAS) threads; nothing global is changed."""
    if limit is None:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=int(limit))
