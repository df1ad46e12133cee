"""Fidelity and privacy of a synthetic table against the real one, overall and per group.

Metrics (each in [0, 1]):

* **column shapes** - per column, ``1 - KS statistic`` (numeric columns, observed
  values; :func:`scipy.stats.ks_2samp`) or ``1 - total variation distance``
  (categorical columns, with "missing" as a category); averaged over columns.
  The missing-value rate of each column is compared separately
  (``missingness`` = ``1 - mean |rate_real - rate_synthetic|``).
* **pair trends** - per pair of columns, ``1 - |Spearman_real - Spearman_synth| / 2``
  for two numeric columns, and ``1 - TV`` of the joint distribution otherwise
  (numeric columns cut into quantile bins of the real data, missing as a bin).
* **detection AUC** - ROC AUC of a gradient-boosting classifier (scikit-learn
  ``HistGradientBoostingClassifier``, 3-fold cross-validation) that tries to tell
  real rows from synthetic ones: 0.5 means indistinguishable, 1.0 trivially fake.
* **DCR share** - distance to closest record: the share of synthetic rows that lie
  closer to the training rows than to held-out real rows (needs ``holdout``; the
  training rows are subsampled to the hold-out size; about 0.5 means no
  memorisation, near 1.0 means copying).
* **exact copies** - synthetic rows identical to a real row on every shared column.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp

from mcrage_core.errors import ConfigError, DataError

__all__ = [
    "FidelityReport",
    "evaluate_fidelity",
    "drop_exact_copies",
    "row_hashes",
    "column_kinds",
]

_NUMERIC_MIN_LEVELS = 16  # numeric columns with fewer distinct values are compared as categories
_N_BINS = 10
_MIN_GROUP_DETECTION = 50  # rows per side below which no per-group detection AUC is fitted
_GROUP_MAX_ROWS = 1500  # rows per side for per-group detection and DCR
_MISSING = "\x00<missing>"


@dataclass(frozen=True)
class FidelityReport:
    """Result of :func:`evaluate_fidelity`.

    Attributes
    ----------
    overall : dict
        ``column_shapes``, ``pair_trends``, ``missingness``, ``detection_auc``,
        ``dcr_closer_to_train_share``, ``exact_copies``, ``n_real``, ``n_synthetic``.
    by_group : DataFrame
        One row per group of ``by`` (empty without ``by``): the group column(s),
        ``n_real``, ``n_synthetic`` and the metrics above.
    column_scores : DataFrame
        ``column, kind, metric, score, missing_real, missing_synthetic`` (overall).
    """

    overall: dict[str, Any]
    by_group: pd.DataFrame = field(default_factory=pd.DataFrame)
    column_scores: pd.DataFrame = field(default_factory=pd.DataFrame)

    def to_dict(self) -> dict[str, Any]:
        return {
            "overall": {k: _clean(v) for k, v in self.overall.items()},
            "by_group": [
                {k: _clean(v) for k, v in r.items()}
                for r in self.by_group.to_dict(orient="records")
            ],
            "column_scores": [
                {k: _clean(v) for k, v in r.items()}
                for r in self.column_scores.to_dict(orient="records")
            ],
        }


def _clean(v: Any) -> Any:
    if v is pd.NA or v is None:
        return None
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


# --------------------------------------------------------------------- helpers
def _is_num(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)


def column_kinds(real: pd.DataFrame, columns: Sequence[str]) -> dict[str, str]:
    """``"numeric"`` or ``"categorical"`` per column, judged on the real table."""
    kinds = {}
    for c in columns:
        s = real[c]
        kinds[c] = (
            "numeric"
            if _is_num(s) and s.nunique(dropna=True) >= _NUMERIC_MIN_LEVELS
            else "categorical"
        )
    return kinds


def _as_float(s: pd.Series) -> np.ndarray:
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _as_labels(s: pd.Series) -> pd.Series:
    """Category labels as strings that compare equal across dtypes (1, 1.0, "1")."""
    if _is_num(s) or pd.api.types.is_bool_dtype(s.dtype):
        x = _as_float(s)
        out = pd.Series(
            [_MISSING if math.isnan(v) else repr(float(v)) for v in x], index=s.index, dtype=object
        )
        return out
    out = s.astype(object).where(s.notna(), _MISSING)
    return out.map(str)


def row_hashes(df: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """One 64-bit hash per row over ``columns``, robust to dtype round trips.

    Numbers are compared as floats rounded to 9 significant digits, everything
    else as text; missing values are equal to each other.
    """
    norm = {}
    for c in columns:
        s = df[c]
        if _is_num(s) or pd.api.types.is_bool_dtype(s.dtype):
            x = _as_float(s)
            with np.errstate(divide="ignore", invalid="ignore"):
                x = np.where(np.isnan(x), np.nan, np.float64([float(f"{v:.9g}") for v in x]))
            norm[c] = pd.Series(x, index=s.index).astype(str)
        else:
            norm[c] = s.astype(object).where(s.notna(), _MISSING).map(str)
    frame = pd.DataFrame(norm, index=df.index)
    return pd.util.hash_pandas_object(frame, index=False).to_numpy()


def drop_exact_copies(synthetic: pd.DataFrame, real: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Remove synthetic rows identical to a real row on every shared column.

    Returns the remaining rows (index reset) and how many were removed.
    """
    cols = [c for c in synthetic.columns if c in real.columns]
    if not cols:
        raise DataError("The synthetic and real tables have no column in common.")
    real_set = set(row_hashes(real, cols).tolist())
    is_copy = np.fromiter(
        (h in real_set for h in row_hashes(synthetic, cols)), dtype=bool, count=len(synthetic)
    )
    return synthetic.loc[~is_copy].reset_index(drop=True), int(is_copy.sum())


def _tv(a: pd.Series, b: pd.Series) -> float:
    pa = a.value_counts(normalize=True)
    pb = b.value_counts(normalize=True)
    idx = pa.index.union(pb.index)
    return float(0.5 * np.abs(pa.reindex(idx, fill_value=0) - pb.reindex(idx, fill_value=0)).sum())


def _column_scores(real: pd.DataFrame, synth: pd.DataFrame, kinds: dict[str, str]) -> pd.DataFrame:
    rows = []
    for c, kind in kinds.items():
        miss_r = float(real[c].isna().mean()) if len(real) else math.nan
        miss_s = float(synth[c].isna().mean()) if len(synth) else math.nan
        if kind == "numeric":
            a = _as_float(real[c])
            b = _as_float(synth[c])
            a, b = a[~np.isnan(a)], b[~np.isnan(b)]
            if a.size == 0 and b.size == 0:
                score = 1.0
            elif a.size == 0 or b.size == 0:
                score = 0.0
            else:
                score = 1.0 - float(ks_2samp(a, b).statistic)
            metric = "KS complement"
        else:
            score = 1.0 - _tv(_as_labels(real[c]), _as_labels(synth[c]))
            metric = "TV complement"
        rows.append(
            {
                "column": c,
                "kind": kind,
                "metric": metric,
                "score": score,
                "missing_real": miss_r,
                "missing_synthetic": miss_s,
            }
        )
    return pd.DataFrame(
        rows, columns=["column", "kind", "metric", "score", "missing_real", "missing_synthetic"]
    )


def _codes(
    real_all: pd.DataFrame, frames: list[pd.DataFrame], c: str, kind: str
) -> list[np.ndarray]:
    """Shared integer codes for column ``c`` in each frame (bins from the real data)."""
    if kind == "numeric":
        obs = _as_float(real_all[c])
        obs = obs[~np.isnan(obs)]
        edges = (
            np.unique(np.quantile(obs, np.linspace(0, 1, _N_BINS + 1)[1:-1])) if obs.size else []
        )
        out = []
        for f in frames:
            x = _as_float(f[c])
            code = np.searchsorted(edges, x, side="right")
            code = np.where(np.isnan(x), len(edges) + 1, code)
            out.append(code.astype(np.int64))
        return out
    labels = [_as_labels(f[c]) for f in frames]
    cats = pd.Index(pd.unique(pd.concat(labels, ignore_index=True)))
    return [cats.get_indexer(lab).astype(np.int64) for lab in labels]


def _pair_trends(
    real: pd.DataFrame, synth: pd.DataFrame, kinds: dict[str, str], real_all: pd.DataFrame
) -> float:
    cols = list(kinds)
    if len(cols) < 2 or len(real) < 2 or len(synth) < 2:
        return math.nan
    num = [c for c in cols if kinds[c] == "numeric"]
    scores: list[float] = []
    if len(num) >= 2:
        cr = pd.DataFrame({c: _as_float(real[c]) for c in num}).corr(
            method="spearman", min_periods=5
        )
        cs = pd.DataFrame({c: _as_float(synth[c]) for c in num}).corr(
            method="spearman", min_periods=5
        )
        iu = np.triu_indices(len(num), k=1)
        a = cr.to_numpy()[iu]
        b = cs.to_numpy()[iu]
        ok = ~np.isnan(a)
        b = np.where(np.isnan(b), 0.0, b)
        scores.extend((1.0 - np.abs(a[ok] - b[ok]) / 2.0).tolist())
    codes = {c: _codes(real_all, [real, synth], c, kinds[c]) for c in cols}
    n_r, n_s = len(real), len(synth)
    for i, a_col in enumerate(cols):
        for b_col in cols[i + 1 :]:
            if kinds[a_col] == "numeric" and kinds[b_col] == "numeric":
                continue
            (ra, sa), (rb, sb) = codes[a_col], codes[b_col]
            kb = int(max(rb.max(initial=0), sb.max(initial=0))) + 1
            size = (int(max(ra.max(initial=0), sa.max(initial=0))) + 1) * kb
            pr = np.bincount(ra * kb + rb, minlength=size) / n_r
            ps = np.bincount(sa * kb + sb, minlength=size) / n_s
            scores.append(1.0 - 0.5 * float(np.abs(pr - ps).sum()))
    return float(np.mean(scores)) if scores else math.nan


def _detection_frame(frames: list[pd.DataFrame], kinds: dict[str, str]) -> list[pd.DataFrame]:
    out: list[dict[str, Any]] = [{} for _ in frames]
    for c, kind in kinds.items():
        if kind == "numeric":
            for i, f in enumerate(frames):
                out[i][c] = _as_float(f[c])
        else:
            labels = [_as_labels(f[c]) for f in frames]
            cats = pd.unique(pd.concat(labels, ignore_index=True))
            if len(cats) > 250:
                continue
            for i, lab in enumerate(labels):
                out[i][c] = pd.Categorical(lab.to_numpy(), categories=cats)
    return [pd.DataFrame(o) for o in out]


def _detection_auc(
    real: pd.DataFrame, synth: pd.DataFrame, kinds: dict[str, str], *, seed: int, max_rows: int
) -> float:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from threadpoolctl import threadpool_limits

    if min(len(real), len(synth)) < 10 or not kinds:
        return math.nan
    rng = np.random.default_rng(seed)
    r = real.iloc[rng.permutation(len(real))[:max_rows]]
    s = synth.iloc[rng.permutation(len(synth))[:max_rows]]
    xr, xs = _detection_frame([r, s], kinds)
    if xr.shape[1] == 0:
        return math.nan
    x = pd.concat([xr, xs], ignore_index=True)
    y = np.r_[np.zeros(len(xr), dtype=int), np.ones(len(xs), dtype=int)]
    n_splits = int(min(3, np.bincount(y).min()))
    if n_splits < 2:
        return math.nan
    clf = HistGradientBoostingClassifier(
        max_iter=60,
        max_leaf_nodes=15,
        categorical_features="from_dtype",
        early_stopping=False,
        random_state=seed,
    )
    cv = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    # one OpenMP thread: on small tables it is as fast, and on a shared CPU it avoids
    # the many-fold slow-down of spinning threads (scoped; restored afterwards)
    with threadpool_limits(limits=1, user_api="openmp"):
        proba = cross_val_predict(clf, x, y, cv=cv, method="predict_proba")[:, 1]
    return float(roc_auc_score(y, proba))


def _dcr_share(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synth: pd.DataFrame,
    kinds: dict[str, str],
    *,
    seed: int,
    max_rows: int,
) -> float:
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.neighbors import NearestNeighbors
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, QuantileTransformer

    if len(holdout) < 5 or len(train) < 5 or len(synth) == 0:
        return math.nan
    rng = np.random.default_rng(seed)
    n_ref = min(len(train), len(holdout), max_rows)
    tr = train.iloc[rng.permutation(len(train))[:n_ref]]
    ho = holdout.iloc[rng.permutation(len(holdout))[:n_ref]]
    sy = synth.iloc[rng.permutation(len(synth))[:max_rows]]

    num = [c for c, k in kinds.items() if k == "numeric"]
    cat = [c for c, k in kinds.items() if k == "categorical"]

    def prep(f: pd.DataFrame) -> pd.DataFrame:
        d = {c: _as_float(f[c]) for c in num}
        d.update({c: _as_labels(f[c]).to_numpy() for c in cat})
        return pd.DataFrame(d, columns=num + cat)

    steps = []
    if num:
        steps.append(
            (
                "num",
                make_pipeline(
                    QuantileTransformer(n_quantiles=min(1000, n_ref), random_state=seed),
                    SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
                ),
                num,
            )
        )
    if cat:
        steps.append(("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), cat))
    ct = ColumnTransformer(steps)
    a_tr = ct.fit_transform(prep(tr))
    a_ho = ct.transform(prep(ho))
    a_sy = ct.transform(prep(sy))
    d_tr = NearestNeighbors(n_neighbors=1).fit(a_tr).kneighbors(a_sy)[0][:, 0]
    d_ho = NearestNeighbors(n_neighbors=1).fit(a_ho).kneighbors(a_sy)[0][:, 0]
    closer = (d_tr < d_ho).astype(float) + 0.5 * (d_tr == d_ho)
    return float(closer.mean())


def _scores(
    real: pd.DataFrame,
    synth: pd.DataFrame,
    kinds: dict[str, str],
    real_all: pd.DataFrame,
    *,
    holdout: pd.DataFrame | None,
    copies: int,
    seed: int,
    detection: bool,
    max_rows: int,
) -> tuple[dict[str, Any], pd.DataFrame]:
    cs = _column_scores(real, synth, kinds)
    miss = (
        1.0 - float(np.nanmean(np.abs(cs["missing_real"] - cs["missing_synthetic"])))
        if len(cs) and len(real) and len(synth)
        else math.nan
    )
    result = {
        "n_real": len(real),
        "n_synthetic": len(synth),
        "column_shapes": float(cs["score"].mean()) if len(cs) and len(synth) else math.nan,
        "pair_trends": _pair_trends(real, synth, kinds, real_all),
        "missingness": miss,
        "detection_auc": _detection_auc(real, synth, kinds, seed=seed, max_rows=max_rows)
        if detection
        else math.nan,
        "dcr_closer_to_train_share": _dcr_share(
            real, holdout, synth, kinds, seed=seed, max_rows=max_rows
        )
        if holdout is not None
        else math.nan,
        "exact_copies": copies,
    }
    return result, cs


def evaluate_fidelity(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    *,
    by: str | Sequence[str] | None = None,
    holdout: pd.DataFrame | None = None,
    seed: int = 0,
    columns: Sequence[str] | None = None,
    detection: bool = True,
    max_rows: int = 3000,
) -> FidelityReport:
    """Compare a synthetic table with the real one, overall and per group.

    Parameters
    ----------
    real
        The real rows the generator was trained on.
    synthetic
        Generated rows (same columns; extra columns on either side are ignored).
    by
        Group column(s), e.g. ``"race"`` or ``["race", "died_within_6_months"]``:
        metrics are also computed within each group, with ``n`` per group.
    holdout
        Real rows *not* used for training; enables the DCR share.
    seed
        Seed for subsampling and the detection classifier's folds.
    columns
        Columns to compare (default: all shared columns).
    detection
        Compute the detection AUC (the slowest metric).
    max_rows
        Rows per side used by the detection classifier and DCR.

    Raises
    ------
    DataError
        If the tables share no column or one of them is empty.
    ConfigError
        If a ``by`` column is missing.
    """
    if not isinstance(real, pd.DataFrame) or not isinstance(synthetic, pd.DataFrame):
        raise DataError("evaluate_fidelity() needs two pandas DataFrames.")
    if columns is None:
        columns = [c for c in real.columns if c in synthetic.columns]
    else:
        absent = [c for c in columns if c not in real.columns or c not in synthetic.columns]
        if absent:
            raise ConfigError(f"Column(s) {absent} are not in both tables.")
        columns = list(columns)
    if not columns:
        raise DataError(
            "The real and synthetic tables have no column in common; check that the "
            "synthetic file was generated from this table."
        )
    if len(real) == 0 or len(synthetic) == 0:
        raise DataError(
            f"Cannot compare: the real table has {len(real)} rows and the synthetic one "
            f"{len(synthetic)}."
        )
    by_cols = [] if by is None else ([by] if isinstance(by, str) else list(by))
    absent = [c for c in by_cols if c not in real.columns or c not in synthetic.columns]
    if absent:
        raise ConfigError(
            f"Group column(s) {absent} are not in both tables; shared columns: {columns}."
        )
    if holdout is not None:
        missing_h = [c for c in columns if c not in holdout.columns]
        if missing_h:
            raise DataError(f"The hold-out table lacks the column(s) {missing_h}.")
    kinds = column_kinds(real, columns)
    reference = real if holdout is None else pd.concat([real[columns], holdout[columns]])
    real_hashes = set(row_hashes(reference, columns).tolist())
    is_copy = np.fromiter(
        (h in real_hashes for h in row_hashes(synthetic, columns).tolist()),
        dtype=bool,
        count=len(synthetic),
    )
    overall, cs = _scores(
        real,
        synthetic,
        kinds,
        real,
        holdout=holdout,
        copies=int(is_copy.sum()),
        seed=seed,
        detection=detection,
        max_rows=max_rows,
    )
    rows = []
    if by_cols:
        inner = {c: k for c, k in kinds.items() if c not in by_cols}
        key_r = pd.MultiIndex.from_frame(
            real[by_cols].astype(object).where(real[by_cols].notna(), None)
        )
        groups = list(dict.fromkeys(key_r.tolist()))
        lab_r = [_as_labels(real[c]) for c in by_cols]
        lab_s = [_as_labels(synthetic[c]) for c in by_cols]
        lab_h = [_as_labels(holdout[c]) for c in by_cols] if holdout is not None else None
        for g in groups:
            g = g if isinstance(g, tuple) else (g,)
            g_lab = [
                _as_labels(pd.Series([v], dtype=real[c].dtype)).iloc[0]
                for v, c in zip(g, by_cols, strict=True)
            ]
            mr = np.logical_and.reduce([lab == v for lab, v in zip(lab_r, g_lab, strict=True)])
            ms = np.logical_and.reduce([lab == v for lab, v in zip(lab_s, g_lab, strict=True)])
            h = None
            if holdout is not None and lab_h is not None:
                mh = np.logical_and.reduce([lab == v for lab, v in zip(lab_h, g_lab, strict=True)])
                h = holdout.loc[np.asarray(mh)]
            r_g = real.loc[np.asarray(mr)]
            s_g = synthetic.loc[np.asarray(ms)]
            if len(s_g) == 0:
                res = {"n_real": len(r_g), "n_synthetic": 0}
            else:
                res, _ = _scores(
                    r_g,
                    s_g,
                    inner,
                    real,
                    holdout=h,
                    copies=int(is_copy[np.asarray(ms)].sum()),
                    seed=seed,
                    detection=detection and min(len(r_g), len(s_g)) >= _MIN_GROUP_DETECTION,
                    max_rows=min(max_rows, _GROUP_MAX_ROWS),
                )
            rows.append(
                {**dict(zip(by_cols, [None if v is None else v for v in g], strict=True)), **res}
            )
    metric_cols = [
        "n_real",
        "n_synthetic",
        "column_shapes",
        "pair_trends",
        "missingness",
        "detection_auc",
        "dcr_closer_to_train_share",
        "exact_copies",
    ]
    by_group = pd.DataFrame(rows, columns=[*by_cols, *metric_cols]) if by_cols else pd.DataFrame()
    if by_cols:
        by_group["exact_copies"] = by_group["exact_copies"].astype("Int64")
        _stratify_detection(overall, by_group)
    from mcrage_core.evaluation.verdicts import fidelity_verdicts

    overall["verdicts"] = fidelity_verdicts(overall)
    return FidelityReport(overall=overall, by_group=by_group, column_scores=cs)


def _stratify_detection(overall: dict[str, Any], by_group: pd.DataFrame) -> None:
    """Overall detection AUC as the mean of the within-group AUCs (weighted by synthetic
    rows). A detector trained across groups mostly learns that the synthetic rows come
    from the small groups, which says nothing about their realism."""
    overall["detection_auc_pooled"] = overall.get("detection_auc")
    auc = pd.to_numeric(by_group["detection_auc"], errors="coerce")
    n = pd.to_numeric(by_group["n_synthetic"], errors="coerce").fillna(0)
    ok = auc.notna() & (n > 0)
    if ok.any():
        overall["detection_auc"] = float(np.average(auc[ok], weights=n[ok]))
        overall["detection_auc_method"] = (
            f"within groups: mean of {int(ok.sum())} group AUC(s), weighted by synthetic rows "
            f"({int(n[ok].sum())} of {int(n.sum())} rows; groups under "
            f"{_MIN_GROUP_DETECTION} rows are not tested)"
        )
    else:
        overall["detection_auc_method"] = (
            f"pooled across groups (every group has fewer than {_MIN_GROUP_DETECTION} rows)"
        )
