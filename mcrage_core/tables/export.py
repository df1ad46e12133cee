"""Safe CSV export: text cells a spreadsheet would run as a formula are neutralised.

Examples
--------
>>> neutralise_formulas(pd.DataFrame({"note": ["=1+1", "-5", "ok"]}))["note"].tolist()
["'=1+1", '-5', 'ok']
"""

from __future__ import annotations

import re

import pandas as pd

__all__ = ["neutralise_formulas", "to_safe_csv"]

_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_NUMBER_RE = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Copy of ``df`` where text cells that a spreadsheet would run as a formula are
    prefixed with a quote (``'``): cells starting with ``=``, ``+``, ``-``, ``@``, tab or
    carriage return. Plain numbers stored as text (``-5``) are left alone, and so are
    numeric columns. Column names get the same treatment."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or isinstance(out[col].dtype, pd.StringDtype):
            out[col] = out[col].map(_neutralise_cell)
    out.columns = [_neutralise_cell(str(c)) for c in out.columns]
    return out


def _neutralise_cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_PREFIXES):
        if _NUMBER_RE.match(value.strip()):
            return value
        return "'" + value
    return value


def to_safe_csv(df: pd.DataFrame, *, index: bool = False) -> bytes:
    """UTF-8 CSV bytes of ``df`` with spreadsheet formulas neutralised (see
    :func:`neutralise_formulas`)."""
    return neutralise_formulas(df).to_csv(index=index).encode("utf-8")
