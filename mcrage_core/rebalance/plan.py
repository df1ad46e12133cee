"""The augmentation plan and its privacy guardrail.

The **plan** is a table of cells (one row per combination of the rebalanced attribute(s)
and the outcome) with the number of real rows and the number of synthetic rows to add.
Every strategy (:mod:`mcrage_core.rebalance.strategies`) is fed the same plan, so the
comparison between them is fair.

The **guardrail** (:func:`blocked_mask`, :func:`small_cells`, :func:`guardrail_notes`)
marks cells a generator must not learn from: fewer than ``min_rows`` real rows.

Examples
--------
>>> plan = plan_augmentation(df, rebalance=["race"], target="died")  # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from mcrage_core.errors import ConfigError, DataError
from mcrage_core.util import largest_remainder

__all__ = [
    "MISSING_GROUP",
    "PlanMode",
    "plan_augmentation",
    "cell_key",
    "display_plan",
    "small_cells",
    "blocked_mask",
    "guardrail_notes",
]

PlanMode = Literal["max", "share", "counts"]
MISSING_GROUP = "(missing)"
"""The label of rows without a group value where a label is needed (strata, thresholds)."""


def _groups_frame(df: pd.DataFrame, rebalance: Sequence[str], target: str) -> pd.DataFrame:
    """Counts per (group..., outcome) over rows whose group and outcome are known."""
    cols = [*rebalance, target]
    known = df[cols].notna().all(axis=1)
    sub = df.loc[known, cols]
    if sub.empty:
        raise DataError(
            f"no row has a value in all of {', '.join(repr(c) for c in cols)}; "
            "check that the columns are filled in"
        )
    counts = sub.groupby(cols, observed=True, dropna=True).size().rename("n_real").reset_index()
    return counts


def _share_targets(sizes: np.ndarray, share: float) -> np.ndarray:
    """Group sizes after raising every group to at least ``share`` of the final total."""
    sizes = sizes.astype(float)
    below = np.zeros(len(sizes), dtype=bool)
    for _ in range(len(sizes) + 1):
        rest = sizes[~below].sum()
        total = rest / (1.0 - share * below.sum())
        new_below = sizes < share * total
        if np.array_equal(new_below, below):
            break
        below = new_below
    targets = np.where(below, np.ceil(share * total - 1e-9), sizes)
    return targets.astype(int)


def plan_augmentation(
    df: pd.DataFrame,
    *,
    rebalance: Sequence[str],
    target: str,
    mode: PlanMode = "max",
    share: float | None = None,
    counts: Mapping[Hashable, int] | None = None,
    balance_outcome: bool = False,
    max_ratio: float | None = None,
) -> pd.DataFrame:
    """Plan how many synthetic rows to add per cell (group × outcome).

    Parameters
    ----------
    df
        The real (training) rows. Rows with a missing group or outcome are not part of
        any cell (they stay in the data, they just are not counted here).
    rebalance
        Column(s) whose groups are rebalanced; several columns mean their intersection.
        An empty list treats the whole table as one group (only useful together with
        ``balance_outcome=True`` or ``mode="counts"``).
    target
        The outcome column.
    mode
        ``"max"`` (default): every group is brought up to the size of the largest group.
        ``"share"``: every group is brought up to at least ``share`` of the final table.
        ``"counts"``: ``counts`` gives the wanted total number of rows per group.
    share
        For ``mode="share"``: a fraction in (0, 1).
    counts
        For ``mode="counts"``: group value (a tuple of values for several rebalance
        columns, ``"all"`` when ``rebalance`` is empty) → wanted total rows. Groups not
        named keep their size; a wanted size below the real size adds nothing.
    balance_outcome
        ``False`` (default): the added rows follow each group's own outcome mix.
        ``True``: each group's outcomes are also made equal (every outcome cell of a
        group is raised to ``max(group target / number of outcomes, largest cell)``).
    max_ratio
        Cap: a group gets at most ``max_ratio`` synthetic rows per real row (its cells
        shrink in proportion; column ``capped`` marks the cells cut). ``None``: no cap.

    Returns
    -------
    pandas.DataFrame
        Columns ``*rebalance, target, n_real, n_add``; one row per cell.

    Raises
    ------
    ConfigError
        Unknown column, bad mode, share or counts.
    """
    rebalance = list(rebalance)
    _check_plan_args(df, rebalance, target, mode)
    classes = sorted(pd.unique(df[target].dropna()).tolist(), key=str)
    cells = _plan_cells(df, rebalance, target, classes if balance_outcome else None)
    group_ids = (
        cells.groupby(rebalance, sort=False, observed=True).ngroup().to_numpy()
        if rebalance
        else np.zeros(len(cells), dtype=int)
    )
    n_groups = int(group_ids.max()) + 1
    sizes = np.bincount(group_ids, weights=cells["n_real"].to_numpy(), minlength=n_groups)
    sizes = sizes.astype(int)
    if mode == "max":
        group_targets = np.full(n_groups, sizes.max())
    elif mode == "share":
        group_targets = _share_group_targets(sizes, share)
    else:
        group_targets = _counts_group_targets(cells, group_ids, sizes, rebalance, counts)

    n_real = cells["n_real"].to_numpy()
    n_add = _spread(n_real, group_ids, group_targets, sizes, len(classes) if balance_outcome else 0)
    cells["n_add"] = n_add.astype(int)
    cells["n_real"] = n_real.astype(int)
    out = cells[[*rebalance, target, "n_real", "n_add"]]
    if max_ratio is not None:
        out = _cap(out, group_ids, sizes, float(max_ratio))
    return out


def _cap(
    plan: pd.DataFrame, group_ids: np.ndarray, sizes: np.ndarray, ratio: float
) -> pd.DataFrame:
    """``plan`` with every group's added rows cut to ``ratio`` × its real rows."""
    if ratio <= 0:
        raise ConfigError(f"the cap on synthetic rows must be above 0, got {ratio!r}")
    n_add = plan["n_add"].to_numpy().copy()
    capped = np.zeros(len(plan), dtype=bool)
    for gid in range(len(sizes)):
        idx = np.flatnonzero(group_ids == gid)
        allowed = int(math.floor(ratio * sizes[gid] + 1e-9))
        if n_add[idx].sum() > allowed:
            n_add[idx] = largest_remainder(allowed, n_add[idx])
            capped[idx] = True
    return plan.assign(n_add=n_add.astype(int), capped=capped)


def _spread(
    n_real: np.ndarray,
    group_ids: np.ndarray,
    group_targets: np.ndarray,
    sizes: np.ndarray,
    n_classes: int,
) -> np.ndarray:
    """Rows to add per cell: each group's gap to its target, split over its outcome cells
    in proportion to their size, or (``n_classes`` > 0, balanced outcomes) raising every
    outcome cell to ``max(target / n_classes, largest cell)``."""
    n_add = np.zeros(len(n_real), dtype=int)
    for gid in range(len(sizes)):
        idx = np.flatnonzero(group_ids == gid)
        if n_classes:
            per_cell = max(math.ceil(group_targets[gid] / n_classes), int(n_real[idx].max()))
            n_add[idx] = per_cell - n_real[idx]
        else:
            n_add[idx] = largest_remainder(int(group_targets[gid] - sizes[gid]), n_real[idx])
    return n_add


def _check_plan_args(df: pd.DataFrame, rebalance: list[str], target: str, mode: str) -> None:
    missing = [c for c in [*rebalance, target] if c not in df.columns]
    if missing:
        raise ConfigError(
            f"column(s) {', '.join(repr(c) for c in missing)} not found in the table; "
            f"available columns: {', '.join(map(str, df.columns))}"
        )
    if target in rebalance:
        raise ConfigError(
            f"the outcome column {target!r} cannot also be a column to rebalance; "
            "pick demographic columns such as race, sex or age band"
        )
    if mode not in ("max", "share", "counts"):
        raise ConfigError(f"unknown plan mode {mode!r}: choose 'max', 'share' or 'counts'")


def _plan_cells(
    df: pd.DataFrame, rebalance: list[str], target: str, classes: list[Any] | None
) -> pd.DataFrame:
    """One row per known cell with ``n_real``; with ``classes``, every group gets every
    outcome cell, even an empty one."""
    if rebalance:
        cells = _groups_frame(df, rebalance, target)
    else:
        known = df[target].notna()
        sizes = df.loc[known, target].value_counts().rename("n_real").rename_axis(target)
        cells = sizes.reset_index()
    if classes is not None:
        if rebalance:
            groups = cells[rebalance].drop_duplicates()
            full = groups.merge(pd.DataFrame({target: classes}), how="cross")
            cells = full.merge(cells, on=[*rebalance, target], how="left")
        else:
            cells = pd.DataFrame({target: classes}).merge(cells, on=target, how="left")
        cells["n_real"] = cells["n_real"].fillna(0).astype(int)
    return cells.sort_values([*rebalance, target], kind="stable").reset_index(drop=True)


def _share_group_targets(sizes: np.ndarray, share: float | None) -> np.ndarray:
    n_groups = len(sizes)
    if share is None or not (0.0 < float(share) < 1.0):
        raise ConfigError(
            f"share must be a fraction between 0 and 1 (for example 0.1 for 10 %), got {share!r}"
        )
    if float(share) * n_groups > 1.0:
        raise ConfigError(
            f"a share of {float(share):.0%} for each of {n_groups} groups adds up to more "
            f"than 100 %; choose a share of at most {1.0 / n_groups:.3f}"
        )
    return _share_targets(sizes, float(share))


def _counts_group_targets(
    cells: pd.DataFrame,
    group_ids: np.ndarray,
    sizes: np.ndarray,
    rebalance: list[str],
    counts: Mapping[Hashable, int] | None,
) -> np.ndarray:
    if not counts:
        raise ConfigError("mode 'counts' needs counts: the wanted number of rows for each group")
    group_targets = sizes.copy()
    keys: dict[Hashable, int] = {}
    firsts = cells.assign(_g=group_ids).drop_duplicates("_g")
    for gid, (_, row) in zip(range(len(sizes)), firsts.iterrows(), strict=False):
        key: Hashable
        if not rebalance:
            key = "all"
        elif len(rebalance) == 1:
            key = row[rebalance[0]]
        else:
            key = tuple(row[c] for c in rebalance)
        keys[_norm_key(key)] = gid
    for key, wanted in counts.items():
        norm = _norm_key(key)
        if norm not in keys:
            raise ConfigError(
                f"counts names the group {key!r}, which is not in the data; known groups: "
                f"{', '.join(map(str, keys))}"
            )
        if not isinstance(wanted, (int, np.integer)) or int(wanted) < 0:
            raise ConfigError(
                f"the wanted count for group {key!r} must be a whole number ≥ 0, got {wanted!r}"
            )
        group_targets[keys[norm]] = max(int(wanted), sizes[keys[norm]])
    return group_targets


def _norm_key(key: Hashable) -> Hashable:
    if isinstance(key, tuple):
        return tuple(str(k) for k in key)
    return str(key)


def cell_key(row: Mapping[str, Any] | pd.Series, columns: Sequence[str]) -> tuple[Any, ...]:
    """The cell tuple ``(group values..., outcome)`` of a plan row."""
    return tuple(row[c] for c in columns)


def display_plan(plan: pd.DataFrame, target: str, names: Mapping[int, Any]) -> pd.DataFrame:
    """The plan with the outcome written as the user's own values (``names``), not 0/1."""
    out = plan.copy()
    out[target] = out[target].map(lambda v: names.get(int(v), str(v)))
    return out


def blocked_mask(plan: pd.DataFrame, *, min_rows: int, allow: bool = False) -> pd.Series:
    """The privacy guardrail: plan rows asking for generated rows from fewer than
    ``min_rows`` real rows (none when small cells are ``allow``-ed)."""
    return (plan["n_add"] > 0) & (plan["n_real"] < int(min_rows)) & (not allow)


def small_cells(plan: pd.DataFrame, *, min_rows: int) -> pd.DataFrame:
    """Plan rows asking for synthetic rows from fewer than ``min_rows`` real rows."""
    return plan[blocked_mask(plan, min_rows=min_rows)]


def guardrail_notes(
    plan: pd.DataFrame,
    cols: Sequence[str],
    *,
    min_rows: int,
    outcome_names: Mapping[Any, str] | None = None,
) -> list[str]:
    """Plain sentences on what the small-cell guardrail changes in ``plan``.

    One sentence per blocked cell, and one per group whose outcome mix the blocking
    changes (for example: every synthetic woman would have the negative outcome).
    """
    names = dict(outcome_names or {})
    *groups, target = list(cols)

    def outcome(v: Any) -> str:
        try:
            return str(names.get(int(v), v))
        except (TypeError, ValueError):
            return str(names.get(v, v))

    blocked = blocked_mask(plan, min_rows=min_rows)
    notes: list[str] = []
    for _, row in plan[blocked].iterrows():
        cell = " / ".join(f"{c} = {row[c]}" for c in groups)
        notes.append(
            f"MCRAGE: no synthetic rows for {cell or 'the table'} with outcome "
            f"{outcome(row[target])!r}: the cell has only {int(row['n_real'])} real training "
            f"rows (fewer than {int(min_rows)}), and a generator trained on so few people could "
            f"reproduce them; {int(row['n_add'])} planned rows are skipped. Allow small cells "
            "to override."
        )
    keys: pd.Series
    if not groups:
        keys = pd.Series(0, index=plan.index)
    else:
        texts = plan[groups].astype(str).itertuples(index=False)
        keys = pd.Series(
            [" / ".join(f"{c} = {v}" for c, v in zip(groups, row, strict=True)) for row in texts],
            index=plan.index,
            dtype=object,
        )
    for key in pd.unique(keys):
        sel = (keys == key).to_numpy()
        cells = plan[sel]
        kept = cells[~blocked[sel].to_numpy()]
        if not blocked[sel].any() or kept["n_add"].sum() <= 0:
            continue
        real_total = int(cells["n_real"].sum())
        mix_real = {outcome(r[target]): int(r["n_real"]) for _, r in cells.iterrows()}
        added = int(kept["n_add"].sum())
        mix_syn = {outcome(r[target]): int(r["n_add"]) for _, r in kept.iterrows()}
        real_txt = ", ".join(
            f"{100 * v / max(real_total, 1):.0f} % {k!r}" for k, v in mix_real.items()
        )
        syn_txt = ", ".join(f"{100 * v / added:.0f} % {k!r}" for k, v in mix_syn.items() if v)
        notes.append(
            f"MCRAGE: because of the skipped cell(s), the {added} synthetic rows for "
            f"{key if groups else 'the table'} do not keep the group's outcome mix (real: "
            f"{real_txt}; synthetic: {syn_txt})."
        )
    return notes
