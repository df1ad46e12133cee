"""What a run keeps on disk besides the database: its settings as JSON, tables as Parquet."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from mcrage_core.errors import ConfigError
from mcrage_core.util import atomic_write_bytes, to_jsonable

__all__ = ["params_json", "write_parquet"]


def params_json(params: Mapping[str, Any], *, what: str = "the run settings") -> str:
    """``params`` as JSON text (NaN → null); :class:`ConfigError` if it holds objects
    that are not data."""
    try:
        json.dumps(dict(params), default=_scalar)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{what} cannot be saved as JSON ({exc})") from None
    return json.dumps(to_jsonable(dict(params)), allow_nan=False)


def _scalar(value: object) -> object:
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        return item()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def write_parquet(data: pd.DataFrame, path: Path) -> None:
    frame = data.copy(deep=False)  # copy-on-write: renaming or converting never changes ``data``
    frame.columns = [str(c) for c in frame.columns]
    try:
        payload = _to_parquet_bytes(frame)
    except (ValueError, TypeError, ImportError, OverflowError):
        # Mixed-type object columns: store them as text, the schema step coerces them again.
        for col in frame.columns:
            if frame[col].dtype == object:
                frame[col] = frame[col].astype("string")
        payload = _to_parquet_bytes(frame)
    atomic_write_bytes(path, payload)


def _to_parquet_bytes(frame: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return buf.getvalue()
