"""How numbers, column names and group labels are shown to people: one place for the
dashboard, the HTML report and the CLI, so that the wording and the rounding cannot drift.

Nothing here imports streamlit or plotly; every function is pure.

Examples
--------
>>> fmt_number(0.1 + 0.2)
'0.30'
>>> fmt_count(9105)
'9,105'
>>> fmt_pct(0.3)
'30.0 %'
>>> fmt_interval(0.30000000000000004, 0.45)
'0.30 to 0.45'
>>> fmt_signed(None)
'—'
>>> sort_groups(["80+", "30-44", "(missing)", "<30", "65-79"])
['<30', '30-44', '65-79', '80+', '(missing)']
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from mcrage_core.tables.groups import MERGED_LABEL

__all__ = [
    "MISSING",
    "NO_VALUE",
    "BASELINE",
    "MISSING_GROUP_LABELS",
    "MERGED_GROUP_LABEL",
    "HUMAN_LABELS",
    "is_missing",
    "fmt_number",
    "fmt_signed",
    "fmt_count",
    "fmt_pct",
    "fmt_interval",
    "fmt_change",
    "fmt_with_change",
    "fmt_duration",
    "fmt_group",
    "fmt_value",
    "human_label",
    "humanize_columns",
    "group_sort_key",
    "sort_groups",
    "format_table",
]

NO_VALUE = "—"
"""Shown where a number does not exist (missing, not computed, not applicable)."""
MISSING = NO_VALUE
BASELINE = "baseline"
"""Shown as the baseline's change against itself."""
MISSING_GROUP_LABELS: frozenset[str] = frozenset(
    {"(missing)", "missing", "nan", "none", "<na>", "", "unknown"}
)
MERGED_GROUP_LABEL = MERGED_LABEL  # the one label, from mcrage_core.tables.groups

HUMAN_LABELS: dict[str, str] = {
    # groups and imbalance
    "attribute": "Attribute",
    "kind": "Kind",
    "group": "Group",
    "n": "Rows",
    "share": "Share",
    "outcome_rate": "Outcome rate",
    "ci_low": "95 % CI low",
    "ci_high": "95 % CI high",
    "small_cell": "Small group",
    "n_groups": "Groups compared",
    "largest": "Largest group",
    "smallest": "Smallest group",
    "imbalance_ratio": "Largest ÷ smallest",
    "n_missing": "Rows without a value",
    "age_band": "Age band",
    # augmentation plan
    "n_real": "Real rows",
    "n_add": "Rows to add",
    "n_final": "Rows after",
    "n_synthetic": "Synthetic rows",
    # results
    "strategy": "Strategy",
    "metric": "Measure",
    "value": "Value",
    "seed_ci_low": "Seed range low",
    "seed_ci_high": "Seed range high",
    "small": "Too small to judge",
    "delta": "Change vs baseline",
    "delta_ci_low": "Change, 95 % CI low",
    "delta_ci_high": "Change, 95 % CI high",
    "excluded_groups": "Left out (too few rows)",
    "test_rows": "Test rows",
    # schema
    "column": "Column",
    "missing_fraction": "Empty cells",
    "missing_%": "Empty cells (%)",
    "n_unique": "Distinct values",
    "distinct_values": "Distinct values",
    "note": "Note",
    "role": "Role",
    "reason": "Why",
    # fidelity and privacy
    "column_shapes": "Column shapes",
    "pair_trends": "Pair trends",
    "missingness": "Missing values",
    "detection_auc": "Detection AUC",
    "dcr_closer_to_train_share": "Closer to training rows",
    "exact_copies": "Exact copies",
    # runs
    "status": "Status",
    "started": "Started",
    "duration": "Duration",
    "table": "Table",
    "rebalance": "Rebalanced",
    "preset": "Preset",
    "strategies": "Strategies",
    "shared": "Shared",
    "error": "Error",
    "id": "Run id",
}
"""Plain-language header for each machine column name used by MCRAGE's tables."""


# --------------------------------------------------------------------------- numbers


def is_missing(x: object) -> bool:
    """``True`` for ``None``, NaN, NA and non-finite numbers."""
    if x is None or x is pd.NA or x is pd.NaT:
        return True
    if isinstance(x, str):
        return False
    if isinstance(x, (int, numbers.Integral)):
        return False
    if isinstance(x, float):
        return not math.isfinite(x)
    try:
        return bool(pd.isna(x)) or not math.isfinite(float(x))  # numpy scalars
    except (TypeError, ValueError, OverflowError):
        return False


def _float(x: object) -> float:
    return float(x)  # type: ignore[arg-type]


def _zero_if_tiny(value: float, decimals: int) -> float:
    # avoid "-0.00": a value that rounds to zero is shown as zero
    return 0.0 if round(value, decimals) == 0 else value


def fmt_number(x: object, decimals: int = 2) -> str:
    """A number with a fixed count of decimals and thousands separators (``'1,234.50'``);
    ``'—'`` where there is no number."""
    if is_missing(x):
        return NO_VALUE
    value = _zero_if_tiny(_float(x), decimals)
    return f"{value:,.{decimals}f}"


def fmt_signed(x: object, decimals: int = 2) -> str:
    """A change with its sign (``'+0.05'``, ``'-0.10'``, ``'0.00'``); ``'—'`` if none."""
    if is_missing(x):
        return NO_VALUE
    value = _zero_if_tiny(_float(x), decimals)
    if value == 0:
        return f"{0.0:.{decimals}f}"
    return f"{value:+,.{decimals}f}"


def fmt_count(n: object) -> str:
    """A count as a whole number with thousands separators (``'9,105'``)."""
    if is_missing(n):
        return NO_VALUE
    return f"{round(_float(n)):,}"


def fmt_pct(x: object, decimals: int = 1) -> str:
    """A share (0–1) as a percentage (``0.3`` → ``'30.0 %'``)."""
    if is_missing(x):
        return NO_VALUE
    value = _zero_if_tiny(100 * _float(x), decimals)
    return f"{value:,.{decimals}f} %"


def fmt_interval(lo: object, hi: object, *, decimals: int | None = None, pct: bool = False) -> str:
    """A confidence interval (``'0.30 to 0.45'``, or ``'30.0 % to 45.0 %'`` with ``pct``;
    ``decimals`` defaults to 2, or 1 for percentages)."""
    if is_missing(lo) or is_missing(hi):
        return NO_VALUE
    places = decimals if decimals is not None else (1 if pct else 2)
    fmt: Callable[[object], str] = (
        (lambda v: fmt_pct(v, places)) if pct else (lambda v: fmt_number(v, places))
    )
    return f"{fmt(lo)} to {fmt(hi)}"


def fmt_change(change: object, *, decimals: int = 3, baseline: bool = False) -> str:
    """A change against the baseline (``'+0.013'``); ``'baseline'`` for the baseline's
    change against itself, ``'—'`` where none was computed."""
    if baseline:
        return BASELINE
    return fmt_signed(change, decimals)


def fmt_with_change(
    value: object, change: object, *, decimals: int = 3, baseline: bool = False
) -> str:
    """A value with its change against the baseline: ``'0.812 (+0.013)'``; the baseline
    itself reads ``'0.800 (baseline)'``."""
    text = fmt_number(value, decimals)
    if text == NO_VALUE:
        return NO_VALUE
    if baseline:
        return f"{text} ({BASELINE})"
    if is_missing(change):
        return text
    return f"{text} ({fmt_signed(change, decimals)})"


def fmt_duration(seconds: object) -> str:
    """``42`` → ``'42 s'``, ``130`` → ``'2 min 10 s'``, ``7300`` → ``'2 h 01 min'``."""
    if is_missing(seconds):
        return NO_VALUE
    total = max(0, round(_float(seconds)))
    if total < 60:
        return f"{total} s"
    if total < 3600:
        return f"{total // 60} min {total % 60:02d} s"
    return f"{total // 3600} h {(total % 3600) // 60:02d} min"


def fmt_group(label: object) -> str:
    """A group label as text; a missing label reads ``'(missing)'``."""
    return "(missing)" if is_missing(label) else str(label)


def fmt_value(x: object, decimals: int = 2) -> str:
    """Any cell value as text: whole numbers with thousands separators, other numbers
    with ``decimals`` decimals, booleans as yes/no, missing as ``'—'``."""
    if isinstance(x, str):
        return x
    if isinstance(x, (bool, np.bool_)):
        return "yes" if x else "no"
    if isinstance(x, (list, tuple)):
        return ", ".join(fmt_value(v, decimals) for v in x)
    if is_missing(x):
        return NO_VALUE
    if isinstance(x, numbers.Integral):
        return fmt_count(x)
    if isinstance(x, numbers.Real):
        return fmt_number(x, decimals)
    return str(x)


# --------------------------------------------------------------------------- labels


def human_label(name: object, labels: Mapping[str, str] | None = None) -> str:
    """The plain-language header of a machine column name (unknown names are kept:
    they are the user's own column names)."""
    key = str(name)
    if labels and key in labels:
        return labels[key]
    return HUMAN_LABELS.get(key, key)


def humanize_columns(df: pd.DataFrame, labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """A copy of ``df`` with plain-language column headers (see :data:`HUMAN_LABELS`)."""
    return df.rename(columns={c: human_label(c, labels) for c in df.columns})


# --------------------------------------------------------------------------- group order

_NUM = r"[-+]?\d+(?:[.,]\d+)?"
_BELOW = re.compile(rf"^\s*(?:<|under\s|below\s)\s*({_NUM})", re.IGNORECASE)
_ABOVE = re.compile(rf"^\s*(?:>=?|≥|over\s|above\s)\s*({_NUM})", re.IGNORECASE)
_RANGE = re.compile(rf"^\s*[\[(]?\s*({_NUM})\s*(?:-|–|—|to)\s*{_NUM}\s*[\])]?\s*$", re.IGNORECASE)
_PLUS = re.compile(rf"^\s*({_NUM})\s*\+\s*$")
_PLAIN = re.compile(rf"^\s*({_NUM})\s*$")
_COMPOSITE = " · "


def _number(text: str) -> float:
    return float(text.replace(",", "."))


def _part_key(label: str) -> tuple[int, float]:
    text = str(label).strip()
    low = text.casefold()
    if low in MISSING_GROUP_LABELS:
        return (3, 0.0)
    if low == MERGED_GROUP_LABEL:
        return (2, 0.0)
    if _BELOW.match(text):
        return (0, -math.inf)
    if m := _ABOVE.match(text):
        return (0, _number(m.group(1)) + 0.5)
    for pattern in (_RANGE, _PLUS, _PLAIN):
        if m := pattern.match(text):
            return (0, _number(m.group(1)))
    return (1, 0.0)


def group_sort_key(label: object) -> tuple[tuple[int, float], ...]:
    """Sort key of a group label: age bands and numeric codes by their lower bound
    (``'<30'`` first, ``'80+'`` last) and before other labels, which tie (a stable sort
    keeps them in the order they come in: the audit lists them largest first); then
    ``'other (merged)'``, then missing. Combined labels (``'female · <30'``) sort part by
    part."""
    return tuple(_part_key(part) for part in _parts(label))


def sort_groups(labels: Iterable[Any]) -> list[Any]:
    """``labels`` in display order (see :func:`group_sort_key`); duplicates kept. In
    combined labels, the other (text) parts keep the order in which they first appear,
    so ``'female · 80+'`` comes before ``'male · <30'``."""
    items = list(labels)
    first_seen: dict[tuple[int, str], int] = {}

    def key(label: object) -> tuple[tuple[int, float, int], ...]:
        out = []
        for pos, part in enumerate(_parts(label)):
            rank, bound = _part_key(part)
            seen = first_seen.setdefault((pos, part.strip()), len(first_seen))
            out.append((rank, bound, seen if rank == 1 else 0))
        return tuple(out)

    keys = [key(label) for label in items]  # in input order: first appearance counts
    return [items[i] for i in sorted(range(len(items)), key=keys.__getitem__)]


def _parts(label: object) -> list[str]:
    return ("" if is_missing(label) else str(label)).split(_COMPOSITE)


# --------------------------------------------------------------------------- tables

Formatter = Callable[[object], str]


def format_table(
    df: pd.DataFrame,
    formats: Mapping[str, Formatter] | None = None,
    *,
    labels: Mapping[str, str] | None = None,
    decimals: int = 2,
) -> pd.DataFrame:
    """A display copy of ``df``: every cell as text (``formats`` per column, otherwise
    :func:`fmt_value`), headers in plain language. For tables shown to people only;
    keep the numbers for computing."""
    formats = dict(formats or {})
    out = pd.DataFrame(index=range(len(df)))
    for col in df.columns:
        fmt = formats.get(str(col)) or (lambda v: fmt_value(v, decimals))
        out[col] = [fmt(v) for v in df[col].tolist()]
    return humanize_columns(out, labels)
