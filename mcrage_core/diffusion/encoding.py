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
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from mcrage_core.errors import DataError, ModelFileError

__all__ = ["ColumnKind", "ColumnSpec", "TabularEncoder", "ENCODER_STATE_VERSION"]

ColumnKind = Literal["numeric", "categorical"]
ENCODER_STATE_VERSION = 1
_BOUND = 1e-7  # same bound as scikit-learn's QuantileTransformer: |z| <= 5.2
_MAX_DECIMALS = 6


@dataclass
class ColumnSpec:
    """What the encoder learned about one column."""

    name: str
    kind: ColumnKind
    dtype: str
    has_missing: bool
    start: int
    width: int
    # numeric columns
    minimum: float | None = None
    maximum: float | None = None
    decimals: int | None = None
    missing_start: int | None = None
    # categorical columns (JSON scalars; ``None`` stands for the missing category)
    categories: list[Any] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "dtype": self.dtype,
            "has_missing": self.has_missing,
            "start": self.start,
            "width": self.width,
            "minimum": self.minimum,
            "maximum": self.maximum,
            "decimals": self.decimals,
            "missing_start": self.missing_start,
            "categories": list(self.categories),
        }


def _py_scalar(value: Any) -> Any:
    """A JSON-friendly Python scalar for a category value."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return value  # keep float-ness; dtype restoration handles it
        return value
    return str(value)


def decimals_of(values: np.ndarray) -> int:
    """The fewest decimals that write ``values`` (within rounding noise), at most 6."""
    for d in range(_MAX_DECIMALS + 1):
        if np.allclose(values, np.round(values, d), rtol=0.0, atol=10.0 ** -(d + 3)):
            return d
    return _MAX_DECIMALS


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
        max_categories: int = 200,
    ) -> None:
        self.n_quantiles = n_quantiles
        self.discrete_max_levels = discrete_max_levels
        self.max_categories = max_categories

    # ------------------------------------------------------------------ fitting
    def fit(self, df: pd.DataFrame) -> TabularEncoder:
        """Learn the encoding of every column of ``df``."""
        if df.shape[1] == 0:
            raise DataError("There are no columns to model: the table needs at least one feature.")
        if len(df) < 2:
            raise DataError(
                f"The table has {len(df)} usable row(s); at least 2 are needed to train a model."
            )
        specs: list[ColumnSpec] = []
        quantiles: dict[str, np.ndarray] = {}
        numeric_names: list[str] = []
        categorical_names: list[str] = []
        for name in df.columns:
            s = df[name]
            observed = s.dropna()
            if _is_numeric(s) and observed.nunique() > self.discrete_max_levels:
                numeric_names.append(str(name))
            else:
                categorical_names.append(str(name))
        pos = 0
        for name in numeric_names:
            s = df[name]
            x = s.to_numpy(dtype=np.float64, na_value=np.nan)
            obs = x[~np.isnan(x)]
            if not np.all(np.isfinite(obs)):
                raise DataError(
                    f"Column {name!r} contains infinite values; replace them with empty "
                    "cells or real numbers before training."
                )
            n_q = int(max(2, min(self.n_quantiles, obs.size)))
            refs = np.linspace(0.0, 1.0, n_q)
            quantiles[name] = np.quantile(obs, refs)
            specs.append(
                ColumnSpec(
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
            )
            pos += 1
        for spec in specs:
            if spec.has_missing:
                spec.missing_start = pos
                pos += 2
        for name in categorical_names:
            s = df[name]
            observed = s.dropna()
            values = pd.unique(observed)
            try:
                values = sorted(values)
            except TypeError:
                values = sorted(values, key=str)
            categories = [_py_scalar(v) for v in values]
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
            specs.append(
                ColumnSpec(
                    name=name,
                    kind="categorical",
                    dtype=str(s.dtype),
                    has_missing=has_missing,
                    start=pos,
                    width=len(categories),
                    categories=categories,
                )
            )
            pos += len(categories)
        order = {str(c): i for i, c in enumerate(df.columns)}
        self.columns_ = [str(c) for c in df.columns]
        self.specs_ = sorted(specs, key=lambda sp: order[sp.name])
        self.quantiles_ = quantiles
        self.output_dim_ = pos
        self.n_numeric_ = len(numeric_names)
        return self

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
        lookup: dict[Any, int] = {}
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
            key = _py_scalar(value)
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
                columns[spec.name] = _restore_numeric(x, nan, spec)
            else:
                block = X[:, spec.start : spec.start + spec.width]
                index = block.argmax(axis=1)
                values = [spec.categories[i] for i in index]
                columns[spec.name] = _restore_categorical(values, spec)
        return pd.DataFrame(columns, columns=self.columns_)

    # ------------------------------------------------------------- persistence
    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
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
    def from_state(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> TabularEncoder:
        """Rebuild a fitted encoder from :meth:`get_state`, validating everything read."""
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
            specs = []
            for d in meta["specs"]:
                kind = d["kind"]
                if kind not in ("numeric", "categorical"):
                    raise ModelFileError(f"Unknown column kind {kind!r} in the encoder file.")
                specs.append(
                    ColumnSpec(
                        name=str(d["name"]),
                        kind=kind,
                        dtype=str(d["dtype"]),
                        has_missing=bool(d["has_missing"]),
                        start=int(d["start"]),
                        width=int(d["width"]),
                        minimum=None if d["minimum"] is None else float(d["minimum"]),
                        maximum=None if d["maximum"] is None else float(d["maximum"]),
                        decimals=None if d["decimals"] is None else int(d["decimals"]),
                        missing_start=None
                        if d["missing_start"] is None
                        else int(d["missing_start"]),
                        categories=list(d["categories"]),
                    )
                )
            enc.columns_ = [str(c) for c in meta["columns"]]
            enc.specs_ = specs
            enc.output_dim_ = int(meta["output_dim"])
            enc.n_numeric_ = sum(s.kind == "numeric" for s in specs)
            enc.quantiles_ = {}
            for s in specs:
                if s.kind == "numeric":
                    q = np.asarray(arrays[f"quantiles/{s.name}"], dtype=np.float64)
                    if q.ndim != 1 or q.size < 2 or not np.all(np.diff(q) >= 0):
                        raise ModelFileError(
                            f"The stored quantiles of column {s.name!r} are invalid."
                        )
                    enc.quantiles_[s.name] = q
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


def _int_dtype(dtype: str) -> bool:
    return dtype.lower().startswith(("int", "uint"))


def _restore_numeric(x: np.ndarray, nan: np.ndarray, spec: ColumnSpec) -> pd.Series:
    if _int_dtype(spec.dtype):
        if nan.any():
            return pd.Series(pd.array(np.where(nan, 0, x).astype(np.int64), dtype="Int64")).where(
                ~nan
            )
        return pd.Series(x.astype(spec.dtype.lower()))
    try:
        return pd.Series(x).astype(spec.dtype)
    except (TypeError, ValueError):
        return pd.Series(x)


def _restore_categorical(values: list[Any], spec: ColumnSpec) -> pd.Series:
    dtype = spec.dtype
    has_nan = any(v is None for v in values)
    series = pd.Series(values, dtype=object)
    try:
        if _int_dtype(dtype) or dtype == "Int64":
            if has_nan or dtype == "Int64":
                return series.astype("Int64")
            return series.astype(dtype.lower())
        if dtype == "bool":
            return series.astype("boolean") if has_nan else series.astype(bool)
        if dtype.startswith("float"):
            return series.astype(dtype)
        if dtype == "category":
            cats = [c for c in spec.categories if c is not None]
            return pd.Series(pd.Categorical(values, categories=cats))
        return series.astype(dtype)
    except (TypeError, ValueError):
        return series
