"""Mixed-type table encoder for the diffusion model (scikit-learn style).

Each modelled column becomes a block of a dense float matrix:

* **numeric** columns: a quantile-to-normal transform (the one TabDDPM uses), one
  dimension. Decoding maps back through the stored quantiles, rounds to the number
  of decimals seen in the data (so integers come back as integers) and clips to the
  observed range. If the column has missing values, a two-level *missingness
  indicator* block is added (``present``/``missing``) and the numeric slot of a
  missing cell is set to 0 (the median); decoding puts the missing values back where
  the indicator says so. Missing values are therefore *modelled*, never imputed away.
* **categorical** columns (text, booleans, and numbers with few distinct values):
  a one-hot block scaled to ``{-1, +1}`` ("analog bits" style Gaussian diffusion on a
  one-hot code); decoding takes the arg-max. A missing value is a category of its own.

The fitted state is plain JSON plus float arrays (for :mod:`safetensors`), never a
pickle: see :meth:`TabularEncoder.get_state` / :meth:`TabularEncoder.from_state`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from mcrage_core.diffusion.column_specs import (
    CategoryValue,
    ColumnSpec,
    py_scalar,
    restore_categorical,
    restore_numeric,
    spec_from_dict,
)
from mcrage_core.errors import DataError, ModelFileError
from mcrage_core.tables import MAX_CATEGORIES, decimals_of

__all__ = ["ENCODER_STATE_VERSION", "TabularEncoder"]

ENCODER_STATE_VERSION = 1
_BOUND = 1e-7  # same bound as scikit-learn's QuantileTransformer: |z| <= 5.2


def _is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(
        series.dtype
    )


class TabularEncoder:
    """Encode a mixed-type table to a dense matrix for Gaussian diffusion, and back.

    Parameters
    ----------
    n_quantiles
        Number of quantiles stored per numeric column (fewer if the column has fewer
        observed values).
    discrete_max_levels
        Numeric columns with at most this many distinct values (flags, scores, counts)
        are treated as categorical, which reproduces their exact values.
    max_categories
        A categorical column with more categories than this cannot be encoded
        (:class:`~mcrage_core.errors.DataError`); the caller should leave it out.

    Examples
    --------
    >>> enc = TabularEncoder().fit(df)  # doctest: +SKIP
    >>> back = enc.inverse_transform(enc.transform(df))  # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        n_quantiles: int = 1000,
        discrete_max_levels: int = 15,
        max_categories: int = MAX_CATEGORIES,
    ) -> None:
        self.n_quantiles = n_quantiles
        self.discrete_max_levels = discrete_max_levels
        self.max_categories = max_categories

    # ------------------------------------------------------------------ fitting
    def fit(self, df: pd.DataFrame) -> TabularEncoder:
        """Learn the encoding of every column of ``df``.

        Numeric blocks come first, then the missingness indicators of numeric columns,
        then the categorical blocks; :attr:`specs_` lists the columns in ``df``'s order.
        """
        if df.shape[1] == 0:
            raise DataError("There are no columns to model: the table needs at least one feature.")
        if len(df) < 2:
            raise DataError(
                f"The table has {len(df)} usable row(s); at least 2 are needed to train a model."
            )
        numeric_names = [
            str(c)
            for c in df.columns
            if _is_numeric(df[c]) and df[c].dropna().nunique() > self.discrete_max_levels
        ]
        self.quantiles_: dict[str, np.ndarray] = {}
        specs = [self._numeric_spec(name, df[name], pos) for pos, name in enumerate(numeric_names)]
        pos = len(specs)
        for spec in specs:
            if spec.has_missing:
                spec.missing_start = pos
                pos += 2
        for name in (str(c) for c in df.columns if str(c) not in numeric_names):
            specs.append(self._categorical_spec(name, df[name], pos))
            pos += specs[-1].width
        order = {str(c): i for i, c in enumerate(df.columns)}
        self.columns_ = [str(c) for c in df.columns]
        self.specs_ = sorted(specs, key=lambda sp: order[sp.name])
        self.output_dim_ = pos
        self.n_numeric_ = len(numeric_names)
        return self

    def _numeric_spec(self, name: str, s: pd.Series, pos: int) -> ColumnSpec:
        """Spec of a numeric column (its quantiles go to :attr:`quantiles_`)."""
        x = s.to_numpy(dtype=np.float64, na_value=np.nan)
        obs = x[~np.isnan(x)]
        if not np.all(np.isfinite(obs)):
            raise DataError(
                f"Column {name!r} contains infinite values; replace them with empty "
                "cells or real numbers before training."
            )
        n_q = int(max(2, min(self.n_quantiles, obs.size)))
        self.quantiles_[name] = np.quantile(obs, np.linspace(0.0, 1.0, n_q))
        return ColumnSpec(
            name=name,
            kind="numeric",
            dtype=str(s.dtype),
            has_missing=bool(np.isnan(x).any()),
            start=pos,
            width=1,
            minimum=float(obs.min()),
            maximum=float(obs.max()),
            decimals=decimals_of(obs),
        )

    def _categorical_spec(self, name: str, s: pd.Series, pos: int) -> ColumnSpec:
        """Spec of a categorical column: sorted categories, then ``None`` if any is missing."""
        values = list(pd.unique(s.dropna()))
        try:
            values = sorted(values)
        except TypeError:
            values = sorted(values, key=str)
        categories: list[CategoryValue] = [py_scalar(v) for v in values]
        has_missing = bool(s.isna().any())
        if has_missing:
            categories.append(None)
        if len(categories) > self.max_categories:
            raise DataError(
                f"Column {name!r} has {len(categories)} different values, more than the "
                f"{self.max_categories} the diffusion model can learn; leave it out "
                "(it looks like an identifier or free text)."
            )
        if not categories:
            categories = [None]
        return ColumnSpec(
            name=name,
            kind="categorical",
            dtype=str(s.dtype),
            has_missing=has_missing,
            start=pos,
            width=len(categories),
            categories=categories,
        )

    def _check_fitted(self) -> None:
        if not hasattr(self, "specs_"):
            raise DataError("The encoder is not fitted yet: call fit(table) first.")

    # ---------------------------------------------------------------- transform
    def transform(self, df: pd.DataFrame) -> np.ndarray:
        """Encode ``df`` (same columns as at fit time) to a ``float32`` matrix."""
        self._check_fitted()
        missing = [c for c in self.columns_ if c not in df.columns]
        if missing:
            raise DataError(
                f"The table lacks the column(s) {missing} that the model was trained on."
            )
        out = np.zeros((len(df), self.output_dim_), dtype=np.float32)
        for spec in self.specs_:
            s = df[spec.name]
            if spec.kind == "numeric":
                x = s.to_numpy(dtype=np.float64, na_value=np.nan)
                nan = np.isnan(x)
                z = self._to_normal(spec.name, np.where(nan, 0.0, x))
                z[nan] = 0.0
                out[:, spec.start] = z
                if spec.missing_start is not None:
                    block = np.full((len(df), 2), -1.0, dtype=np.float32)
                    block[np.arange(len(df)), nan.astype(int)] = 1.0
                    out[:, spec.missing_start : spec.missing_start + 2] = block
                elif nan.any():
                    raise DataError(
                        f"Column {spec.name!r} has empty cells but had none when the model "
                        "was fitted."
                    )
            else:
                index = self._category_index(spec, s)
                block = np.full((len(df), spec.width), -1.0, dtype=np.float32)
                block[np.arange(len(df)), index] = 1.0
                out[:, spec.start : spec.start + spec.width] = block
        return out

    def _category_index(self, spec: ColumnSpec, s: pd.Series) -> np.ndarray:
        lookup: dict[CategoryValue, int] = {}
        for i, c in enumerate(spec.categories):
            if c is not None:
                lookup[c] = i
                lookup[str(c)] = lookup.get(str(c), i)
        missing_index = spec.categories.index(None) if None in spec.categories else None
        index = np.empty(len(s), dtype=np.int64)
        for row, value in enumerate(s.tolist()):
            if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
                if missing_index is None:
                    raise DataError(
                        f"Column {spec.name!r} has empty cells but had none when the model "
                        "was fitted."
                    )
                index[row] = missing_index
                continue
            key = py_scalar(value)
            if key in lookup:
                index[row] = lookup[key]
            elif str(key) in lookup:
                index[row] = lookup[str(key)]
            else:
                raise DataError(
                    f"Column {spec.name!r} contains the value {value!r}, which the model "
                    "never saw during training."
                )
        return index

    def _to_normal(self, name: str, x: np.ndarray) -> np.ndarray:
        q = self.quantiles_[name]
        refs = np.linspace(0.0, 1.0, q.size)
        # average of the forward and backward interpolation, as scikit-learn does, so
        # that repeated quantiles (ties) map to the middle of their range
        u = 0.5 * (np.interp(x, q, refs) - np.interp(-x, -q[::-1], -refs[::-1]))
        u = np.clip(u, _BOUND, 1.0 - _BOUND)
        return ndtri(u).astype(np.float32)

    def _from_normal(self, name: str, z: np.ndarray) -> np.ndarray:
        q = self.quantiles_[name]
        refs = np.linspace(0.0, 1.0, q.size)
        u = ndtr(z.astype(np.float64))
        return np.interp(u, refs, q)

    # ---------------------------------------------------------- inverse transform
    def inverse_transform(self, X: np.ndarray) -> pd.DataFrame:
        """Decode a matrix back to the original columns, dtypes and category labels."""
        self._check_fitted()
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.output_dim_:
            raise DataError(
                f"Expected a matrix with {self.output_dim_} columns, got shape {X.shape}."
            )
        columns: dict[str, pd.Series] = {}
        for spec in self.specs_:
            if spec.kind == "numeric":
                x = self._from_normal(spec.name, X[:, spec.start])
                x = np.clip(np.round(x, spec.decimals or 0), spec.minimum, spec.maximum)
                nan = np.zeros(len(X), dtype=bool)
                if spec.missing_start is not None:
                    block = X[:, spec.missing_start : spec.missing_start + 2]
                    nan = block.argmax(axis=1) == 1
                    x = np.where(nan, np.nan, x)
                columns[spec.name] = restore_numeric(x, nan, spec)
            else:
                block = X[:, spec.start : spec.start + spec.width]
                index = block.argmax(axis=1)
                values = np.asarray(spec.categories, dtype=object)[index].tolist()
                columns[spec.name] = restore_categorical(values, spec.dtype, spec.categories)
        return pd.DataFrame(columns, columns=self.columns_)

    # ------------------------------------------------------------- persistence
    def get_state(self) -> tuple[dict[str, object], dict[str, np.ndarray]]:
        """JSON-serialisable parameters and named float arrays (for safetensors)."""
        self._check_fitted()
        meta = {
            "version": ENCODER_STATE_VERSION,
            "params": {
                "n_quantiles": self.n_quantiles,
                "discrete_max_levels": self.discrete_max_levels,
                "max_categories": self.max_categories,
            },
            "columns": list(self.columns_),
            "output_dim": self.output_dim_,
            "specs": [s.to_dict() for s in self.specs_],
        }
        arrays = {f"quantiles/{k}": np.ascontiguousarray(v) for k, v in self.quantiles_.items()}
        return meta, arrays

    @classmethod
    def from_state(
        cls, meta: Mapping[str, Any], arrays: Mapping[str, np.ndarray]
    ) -> TabularEncoder:
        """Rebuild a fitted encoder from :meth:`get_state`, validating everything read.

        ``meta`` is parsed JSON (hence ``Any``); anything missing, of the wrong type or
        inconsistent raises :class:`~mcrage_core.errors.ModelFileError`.
        """
        try:
            if meta.get("version") != ENCODER_STATE_VERSION:
                raise ModelFileError(
                    f"The encoder file has format version {meta.get('version')!r}; this "
                    f"version of MCRAGE reads version {ENCODER_STATE_VERSION}. Retrain the model."
                )
            p = meta["params"]
            enc = cls(
                n_quantiles=int(p["n_quantiles"]),
                discrete_max_levels=int(p["discrete_max_levels"]),
                max_categories=int(p["max_categories"]),
            )
            specs = [spec_from_dict(d) for d in meta["specs"]]
            enc.columns_ = [str(c) for c in meta["columns"]]
            enc.specs_ = specs
            enc.output_dim_ = int(meta["output_dim"])
            enc.n_numeric_ = sum(s.kind == "numeric" for s in specs)
            enc.quantiles_ = {
                s.name: _stored_quantiles(s.name, arrays) for s in specs if s.kind == "numeric"
            }
        except ModelFileError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(
                f"The encoder file is incomplete or malformed ({type(exc).__name__}: {exc}); "
                "retrain the model or restore the run folder from a backup."
            ) from exc
        enc._validate_layout()
        return enc

    def _validate_layout(self) -> None:
        used = np.zeros(self.output_dim_, dtype=int)
        for s in self.specs_:
            blocks = [(s.start, s.width)]
            if s.missing_start is not None:
                blocks.append((s.missing_start, 2))
            if s.kind == "categorical" and s.width != len(s.categories):
                raise ModelFileError(f"Column {s.name!r}: width does not match its categories.")
            for start, width in blocks:
                if start < 0 or width < 1 or start + width > self.output_dim_:
                    raise ModelFileError(f"Column {s.name!r} lies outside the encoded matrix.")
                used[start : start + width] += 1
        if not np.all(used == 1) or sorted(s.name for s in self.specs_) != sorted(self.columns_):
            raise ModelFileError("The encoder file's column layout is inconsistent.")


def _stored_quantiles(name: str, arrays: Mapping[str, np.ndarray]) -> np.ndarray:
    q = np.asarray(arrays[f"quantiles/{name}"], dtype=np.float64)
    if q.ndim != 1 or q.size < 2 or not np.all(np.diff(q) >= 0):
        raise ModelFileError(f"The stored quantiles of column {name!r} are invalid.")
    return q
