"""Privacy checks of a synthetic table: exact copies of real rows, and the distance to
closest record (DCR).

* **exact copies** - synthetic rows identical to a real row on every shared column
  (:func:`row_hashes`, robust to dtype round trips).
* **DCR share** - the share of synthetic rows that lie closer to the training rows than
  to held-out real rows (the training rows are subsampled to the hold-out size; about 0.5
  means no memorisation, near 1.0 means copying).

Examples
--------
>>> real = pd.DataFrame({"x": [1, 2, 3], "g": ["a", "b", "c"]})
>>> synthetic = pd.DataFrame({"x": [1.0, 5.0], "g": ["a", "b"]})
>>> drop_exact_copies(synthetic, real)[1]
1
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from mcrage_core.errors import DataError
from mcrage_core.fidelity.columns import MISSING, ColumnKinds, as_float, as_labels, is_numeric

__all__ = ["copy_mask", "dcr_share", "drop_exact_copies", "row_hashes"]


def row_hashes(df: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """One 64-bit hash per row over ``columns``, robust to dtype round trips.

    Numbers are compared as floats rounded to single precision (about 7 significant
    digits, so an integer and the same float match), everything else as text; missing
    values are equal to each other.
    """
    norm: dict[str, pd.Series] = {}
    for c in columns:
        s = df[c]
        if is_numeric(s) or pd.api.types.is_bool_dtype(s.dtype):
            x = as_float(s).astype(np.float32).astype(np.float64) + 0.0  # -0.0 -> 0.0
            norm[c] = pd.Series(np.where(np.isnan(x), np.nan, x), index=s.index)
        else:
            norm[c] = s.astype(object).where(s.notna(), MISSING).map(str)
    frame = pd.DataFrame(norm, index=df.index)
    return pd.util.hash_pandas_object(frame, index=False).to_numpy()


def drop_exact_copies(synthetic: pd.DataFrame, real: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Remove synthetic rows identical to a real row on every shared column.

    Returns the remaining rows (index reset) and how many were removed.
    """
    cols = [c for c in synthetic.columns if c in real.columns]
    if not cols:
        raise DataError("The synthetic and real tables have no column in common.")
    is_copy = copy_mask(synthetic, real, cols)
    return synthetic.loc[~is_copy].reset_index(drop=True), int(is_copy.sum())


def dcr_share(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synth: pd.DataFrame,
    kinds: ColumnKinds,
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
        d = {c: as_float(f[c]) for c in num}
        d.update({c: as_labels(f[c]).to_numpy() for c in cat})
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


def copy_mask(synthetic: pd.DataFrame, real: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """``True`` for each synthetic row identical to a row of ``real`` on ``columns``."""
    real_set = set(row_hashes(real, columns).tolist())
    return np.fromiter(
        (h in real_set for h in row_hashes(synthetic, columns).tolist()),
        dtype=bool,
        count=len(synthetic),
    )
