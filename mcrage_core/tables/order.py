"""The order in which groups are shown: age bands and numeric codes by their lower
bound, other labels as they come (the audit lists them largest first), then the merged
group, then missing. Used wherever groups are listed (tables, figures, the dashboard).

Examples
--------
>>> sort_groups(["80+", "30-44", "(missing)", "<30", "65-79"])
['<30', '30-44', '65-79', '80+', '(missing)']
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from typing import TypeVar

import pandas as pd

from mcrage_core.tables.groups import MERGED_LABEL

__all__ = [
    "MISSING_GROUP_LABELS",
    "MERGED_GROUP_LABEL",
    "group_sort_key",
    "sort_groups",
    "sort_rows_by_group",
]

MISSING_GROUP_LABELS: frozenset[str] = frozenset(
    {"(missing)", "missing", "nan", "none", "<na>", "", "unknown"}
)
MERGED_GROUP_LABEL = MERGED_LABEL  # the one label, from mcrage_core.tables.groups

_T = TypeVar("_T")

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


def sort_groups(labels: Iterable[_T]) -> list[_T]:
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
    missing = label is None or (not isinstance(label, str) and _is_na(label))
    return ("" if missing else str(label)).split(_COMPOSITE)


def _is_na(label: object) -> bool:
    try:
        return bool(pd.isna(label))  # type: ignore[call-overload]  # any scalar
    except (TypeError, ValueError):  # not a scalar
        return False


def sort_rows_by_group(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """``frame`` with its rows in group display order (:func:`sort_groups` per column,
    earlier columns first); text groups keep their first appearance, so the rows of one
    group stay together. The index is reset."""
    present = [c for c in columns if c in frame.columns]
    if not present or frame.empty:
        return frame
    ranks: dict[str, dict[str, int]] = {}
    for col in present:
        values = [str(v) for v in frame[col].tolist()]
        ranks[col] = {v: i for i, v in enumerate(sort_groups(list(dict.fromkeys(values))))}
    keys = [
        tuple(ranks[c][str(v)] for c, v in zip(present, row, strict=True))
        for row in frame[present].itertuples(index=False)
    ]
    order = sorted(range(len(frame)), key=keys.__getitem__)
    return frame.iloc[order].reset_index(drop=True)
