"""Column-level fidelity: each column's distribution and the trends between pairs of
columns, real against synthetic.

* **column shapes** - per column, ``1 - KS statistic`` (numeric columns, observed
  values; :func:`scipy.stats.ks_2samp`) or ``1 - total variation distance``
  (categorical columns, with "missing" as a category).
* **pair trends** - per pair of columns, ``1 - |Spearman_real - Spearman_synth| / 2``
  for two numeric columns, and ``1 - TV`` of the joint distribution otherwise
  (numeric columns cut into quantile bins of the real data, missing as a bin).

Examples
--------
>>> real = pd.DataFrame({"x": range(20), "g": ["a", "b"] * 10})
>>> column_kinds(real, ["x", "g"])
{'x': 'numeric', 'g': 'categorical'}
>>> float(column_scores(real, real, column_kinds(real, ["x", "g"]))["score"].min())
1.0
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp

__all__ = [
    "ColumnKinds",
    "MISSING",
    "as_float",
    "as_labels",
    "column_kinds",
    "column_scores",
    "is_numeric",
    "pair_trends",
]

_NUMERIC_MIN_LEVELS = 16  # numeric columns with fewer distinct values are compared as categories
_N_BINS = 10
MISSING = "\x00<missing>"
"""The label of a missing value when columns are compared as categories."""

ColumnKinds = dict[str, str]
"""``{column: "numeric" or "categorical"}``, as returned by :func:`column_kinds`."""


def is_numeric(s: pd.Series) -> bool:
    """Numbers that are not booleans."""
    return pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)


def column_kinds(real: pd.DataFrame, columns: Sequence[str]) -> dict[str, str]:
    """``"numeric"`` or ``"categorical"`` per column, judged on the real table."""
    kinds = {}
    for c in columns:
        s = real[c]
        kinds[c] = (
            "numeric"
            if is_numeric(s) and s.nunique(dropna=True) >= _NUMERIC_MIN_LEVELS
            else "categorical"
        )
    return kinds


def as_float(s: pd.Series) -> np.ndarray:
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def as_labels(s: pd.Series) -> pd.Series:
    """Category labels as strings that compare equal across dtypes (1, 1.0, "1")."""
    if is_numeric(s) or pd.api.types.is_bool_dtype(s.dtype):
        x = as_float(s)
        out = pd.Series(
            [MISSING if math.isnan(v) else repr(float(v)) for v in x], index=s.index, dtype=object
        )
        return out
    out = s.astype(object).where(s.notna(), MISSING)
    return out.map(str)


def _tv(a: pd.Series, b: pd.Series) -> float:
    pa = a.value_counts(normalize=True)
    pb = b.value_counts(normalize=True)
    idx = pa.index.union(pb.index)
    return float(0.5 * np.abs(pa.reindex(idx, fill_value=0) - pb.reindex(idx, fill_value=0)).sum())


def column_scores(real: pd.DataFrame, synth: pd.DataFrame, kinds: dict[str, str]) -> pd.DataFrame:
    rows = []
    for c, kind in kinds.items():
        miss_r = float(real[c].isna().mean()) if len(real) else math.nan
        miss_s = float(synth[c].isna().mean()) if len(synth) else math.nan
        if kind == "numeric":
            a = as_float(real[c])
            b = as_float(synth[c])
            a, b = a[~np.isnan(a)], b[~np.isnan(b)]
            if a.size == 0 and b.size == 0:
                score = 1.0
            elif a.size == 0 or b.size == 0:
                score = 0.0
            else:
                score = 1.0 - float(ks_2samp(a, b).statistic)
            metric = "KS complement"
        else:
            score = 1.0 - _tv(as_labels(real[c]), as_labels(synth[c]))
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
        obs = as_float(real_all[c])
        obs = obs[~np.isnan(obs)]
        cuts = np.linspace(0, 1, _N_BINS + 1)[1:-1]
        edges = np.unique(np.quantile(obs, cuts)) if obs.size else np.array([], dtype=float)
        out = []
        for f in frames:
            x = as_float(f[c])
            code = np.searchsorted(edges, x, side="right")
            code = np.where(np.isnan(x), len(edges) + 1, code)
            out.append(code.astype(np.int64))
        return out
    labels = [as_labels(f[c]) for f in frames]
    cats = pd.Index(pd.unique(pd.concat(labels, ignore_index=True)))
    return [cats.get_indexer(pd.Index(lab)).astype(np.int64) for lab in labels]


def pair_trends(
    real: pd.DataFrame, synth: pd.DataFrame, kinds: dict[str, str], real_all: pd.DataFrame
) -> float:
    cols = list(kinds)
    if len(cols) < 2 or len(real) < 2 or len(synth) < 2:
        return math.nan
    num = [c for c in cols if kinds[c] == "numeric"]
    scores: list[float] = []
    if len(num) >= 2:
        cr = pd.DataFrame({c: as_float(real[c]) for c in num}).corr(
            method="spearman", min_periods=5
        )
        cs = pd.DataFrame({c: as_float(synth[c]) for c in num}).corr(
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
