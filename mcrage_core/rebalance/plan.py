"""Augmentation planning and the rebalancing strategies.

The **plan** is a table of cells (one row per combination of the rebalanced attribute(s)
and the outcome) with the number of real rows and the number of synthetic rows to add.
Every strategy is fed the same plan, so the comparison between them is fair:

``none``
    The baseline: the real training rows as they are.
``oversample``
    Random oversampling: real rows of each cell are copied (imbalanced-learn
    :class:`~imblearn.over_sampling.RandomOverSampler`).
``smote``
    SMOTE-NC (imbalanced-learn): new rows interpolated between real neighbours of
    the same cell. Missing values are filled in (median / most frequent) first,
    because SMOTE cannot work with gaps.
``reweigh``
    No new rows: every real row of a cell gets the weight ``(n_real + n_add) / n_real``
    so that the cell counts as much as the plan asks for.
``cddpm``
    MCRAGE: a conditional denoising diffusion model is trained on the real training
    rows and generates the planned rows per cell. Cells with fewer than
    ``min_cell_rows`` real rows are *blocked* (privacy guardrail) unless
    ``allow_small_cells=True``.
``threshold``
    No new rows: fairlearn's ThresholdOptimizer (equalized odds) is applied to the
    baseline model afterwards (see :mod:`mcrage_core.evaluation.pipeline`).

Examples
--------
>>> plan = plan_augmentation(df, rebalance=["race"], target="died")  # doctest: +SKIP
>>> aug = get_strategy("smote").augment(train, plan, context=AugmentContext(
...     target="died", features=("age", "race"), rebalance=("race",), seed=0))  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import math
from abc import ABC, abstractmethod
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd

from mcrage_core.errors import ConfigError, DataError
from mcrage_core.progress import CancelCheck, ProgressCallback

__all__ = [
    "PlanMode",
    "StrategyName",
    "STRATEGIES",
    "STRATEGY_LABELS",
    "plan_augmentation",
    "cell_key",
    "Augmentation",
    "AugmentContext",
    "Strategy",
    "get_strategy",
    "small_cells",
    "blocked_mask",
    "guardrail_notes",
]

PlanMode = Literal["max", "share", "counts"]
StrategyName = Literal["none", "oversample", "smote", "reweigh", "cddpm", "threshold"]
STRATEGIES: tuple[str, ...] = ("none", "oversample", "smote", "reweigh", "cddpm", "threshold")
STRATEGY_LABELS: dict[str, str] = {
    "none": "No change (baseline)",
    "oversample": "Random oversampling",
    "smote": "SMOTE-NC",
    "reweigh": "Reweighing",
    "cddpm": "MCRAGE (CDDPM synthetic rows)",
    "threshold": "Threshold optimizer (equalized odds)",
}
_MISSING_CAT = "__mcrage_missing__"


# --------------------------------------------------------------------------- the plan


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


def _distribute(total: int, weights: np.ndarray) -> np.ndarray:
    """Split ``total`` into integers proportional to ``weights`` (largest remainder)."""
    weights = np.asarray(weights, dtype=float)
    if total <= 0:
        return np.zeros(len(weights), dtype=int)
    if weights.sum() <= 0:
        weights = np.ones(len(weights))
    raw = total * weights / weights.sum()
    base = np.floor(raw).astype(int)
    rest = total - int(base.sum())
    if rest > 0:
        order = np.argsort(-(raw - base), kind="stable")
        base[order[:rest]] += 1
    return base


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

    if rebalance:
        cells = _groups_frame(df, rebalance, target)
    else:
        known = df[target].notna()
        cells = df.loc[known, target].value_counts().rename("n_real").rename_axis(target)
        cells = cells.reset_index()
    classes = sorted(pd.unique(df[target].dropna()).tolist(), key=str)
    if balance_outcome:
        # every group gets every outcome cell, even an empty one
        if rebalance:
            groups = cells[rebalance].drop_duplicates()
            full = groups.merge(pd.DataFrame({target: classes}), how="cross")
            cells = full.merge(cells, on=[*rebalance, target], how="left")
        else:
            cells = pd.DataFrame({target: classes}).merge(cells, on=target, how="left")
        cells["n_real"] = cells["n_real"].fillna(0).astype(int)
    cells = cells.sort_values([*rebalance, target], kind="stable").reset_index(drop=True)

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
        if share is None or not (0.0 < float(share) < 1.0):
            raise ConfigError(
                f"share must be a fraction between 0 and 1 (for example 0.1 for 10 %), got {share!r}"
            )
        if float(share) * n_groups > 1.0:
            raise ConfigError(
                f"a share of {float(share):.0%} for each of {n_groups} groups adds up to more "
                f"than 100 %; choose a share of at most {1.0 / n_groups:.3f}"
            )
        group_targets = _share_targets(sizes, float(share))
    else:
        if not counts:
            raise ConfigError(
                "mode 'counts' needs counts: the wanted number of rows for each group"
            )
        group_targets = sizes.copy()
        keys: dict[Hashable, int] = {}
        for gid, (_, row) in zip(
            range(n_groups),
            cells.assign(_g=group_ids).drop_duplicates("_g").iterrows(),
            strict=False,
        ):
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

    n_add = np.zeros(len(cells), dtype=int)
    n_real = cells["n_real"].to_numpy()
    for gid in range(n_groups):
        idx = np.flatnonzero(group_ids == gid)
        if balance_outcome:
            per_cell = max(math.ceil(group_targets[gid] / len(classes)), int(n_real[idx].max()))
            n_add[idx] = per_cell - n_real[idx]
        else:
            n_add[idx] = _distribute(int(group_targets[gid] - sizes[gid]), n_real[idx])
    cells["n_add"] = n_add.astype(int)
    cells["n_real"] = n_real.astype(int)
    return cells[[*rebalance, target, "n_real", "n_add"]]


def _norm_key(key: Hashable) -> Hashable:
    if isinstance(key, tuple):
        return tuple(str(k) for k in key)
    return str(key)


def cell_key(row: Mapping[str, Any] | pd.Series, columns: Sequence[str]) -> tuple:
    """The cell tuple ``(group values..., outcome)`` of a plan row."""
    return tuple(row[c] for c in columns)


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
    if not groups:
        keys = pd.Series(0, index=plan.index)
    else:
        keys = (
            plan[groups]
            .astype(str)
            .apply(lambda r: " / ".join(f"{c} = {r[c]}" for c in groups), axis=1)
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


# --------------------------------------------------------------------------- strategies


@dataclass(frozen=True)
class AugmentContext:
    """What every strategy needs to know besides the training rows and the plan.

    ``features`` are the modelling columns (never identifiers, never the target).
    ``cddpm_config`` is a :class:`mcrage_core.diffusion.CDDPMConfig` (``None`` → the
    ``"quick"`` preset).
    """

    target: str
    features: tuple[str, ...]
    rebalance: tuple[str, ...]
    columns: tuple[str, ...] = ()
    """Every record column a generator must produce (default: ``features``); wider than
    ``features`` when the sensitive columns are not model inputs, so that generated
    records are still whole."""
    seed: int = 0
    min_cell_rows: int = 20
    allow_small_cells: bool = False
    cddpm_config: Any = None
    sampling_steps: int | None = None
    progress: ProgressCallback | None = None
    should_stop: CancelCheck | None = None
    outcome_names: Mapping[Any, str] | None = None
    """How to write the outcome ``0``/``1`` in messages (the user's own values)."""
    checkpoint_dir: str | None = None
    """Folder for the diffusion model's checkpoints; training resumes from it if a
    checkpoint of the same table and settings is there (e.g. after the worker was killed)."""


@dataclass(frozen=True)
class Augmentation:
    """The result of a strategy: what the downstream model is trained on.

    ``train`` holds the real rows followed by ``synthetic`` (the added rows, same
    columns); ``sample_weight`` is set by reweighing only.
    """

    strategy: str
    train: pd.DataFrame
    synthetic: pd.DataFrame
    sample_weight: np.ndarray | None = None
    warnings: tuple[str, ...] = ()
    blocked: pd.DataFrame | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def n_added(self) -> int:
        return len(self.synthetic)


class Strategy(ABC):
    """One way of rebalancing the training rows according to a plan."""

    name: ClassVar[str]
    label: ClassVar[str]
    adds_rows: ClassVar[bool] = False
    post_processing: ClassVar[bool] = False

    @abstractmethod
    def augment(
        self, train: pd.DataFrame, plan: pd.DataFrame, *, context: AugmentContext
    ) -> Augmentation:
        """Return the rows (and weights) to train the downstream model on."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _cell_labels(df: pd.DataFrame, cols: Sequence[str]) -> pd.Series:
    """A string label per row for its cell; rows outside every cell get ``""``."""
    known = df[list(cols)].notna().all(axis=1)
    labels = pd.Series("", index=df.index, dtype=object)
    if known.any():
        parts = [df.loc[known, c].astype(str) for c in cols]
        joined = parts[0].str.cat(parts[1:], sep="\x1f") if len(parts) > 1 else parts[0]
        labels.loc[known] = joined.to_numpy()
    return labels


def _plan_labels(plan: pd.DataFrame, cols: Sequence[str]) -> pd.Series:
    parts = [plan[c].astype(str) for c in cols]
    return parts[0].str.cat(parts[1:], sep="\x1f") if len(parts) > 1 else parts[0]


def _wanted(plan: pd.DataFrame, cols: Sequence[str]) -> dict[str, tuple[int, int]]:
    labels = _plan_labels(plan, cols)
    return {
        lab: (int(r), int(a))
        for lab, r, a in zip(labels, plan["n_real"], plan["n_add"], strict=True)
    }


def _check_plan(train: pd.DataFrame, plan: pd.DataFrame, cols: Sequence[str]) -> None:
    missing = [c for c in [*cols, "n_real", "n_add"] if c not in plan.columns]
    if missing:
        raise ConfigError(
            f"the augmentation plan lacks column(s) {missing}; build it with plan_augmentation"
        )
    absent = [c for c in cols if c not in train.columns]
    if absent:
        raise ConfigError(f"the training rows lack column(s) {absent} named in the plan")


def _finish(name: str, train: pd.DataFrame, synthetic: pd.DataFrame, **kwargs: Any) -> Augmentation:
    synthetic = synthetic.reset_index(drop=True)
    full = pd.concat([train.reset_index(drop=True), synthetic], ignore_index=True)
    return Augmentation(strategy=name, train=full, synthetic=synthetic, **kwargs)


class NoneStrategy(Strategy):
    name = "none"
    label = STRATEGY_LABELS["none"]

    def augment(self, train, plan, *, context):  # noqa: D102
        return _finish(self.name, train, train.iloc[0:0])


class ThresholdStrategy(NoneStrategy):
    """Trains on the real rows; the evaluation applies ThresholdOptimizer afterwards."""

    name = "threshold"
    label = STRATEGY_LABELS["threshold"]
    post_processing = True


class ReweighStrategy(Strategy):
    name = "reweigh"
    label = STRATEGY_LABELS["reweigh"]

    def augment(self, train, plan, *, context):  # noqa: D102
        cols, labels, counts = _plan_cells(train, plan, context)
        wanted = _wanted(plan, cols)
        weights = np.ones(len(train), dtype=float)
        for lab, (_, n_add) in wanted.items():
            n_now = int(counts.get(lab, 0))
            if n_now > 0 and n_add > 0:
                weights[(labels == lab).to_numpy()] = (n_now + n_add) / n_now
        return _finish(self.name, train, train.iloc[0:0], sample_weight=weights)


def _plan_cells(
    train: pd.DataFrame, plan: pd.DataFrame, context: AugmentContext
) -> tuple[list[str], pd.Series, pd.Series]:
    """The plan's cell columns, each training row's cell label and the rows per cell,
    after checking that the plan fits the table."""
    cols = [*context.rebalance, context.target]
    _check_plan(train, plan, cols)
    labels = _cell_labels(train, cols)
    return cols, labels, labels.value_counts()


class OversampleStrategy(Strategy):
    name = "oversample"
    label = STRATEGY_LABELS["oversample"]
    adds_rows = True

    def augment(self, train, plan, *, context):  # noqa: D102
        from imblearn.over_sampling import RandomOverSampler

        train = train.reset_index(drop=True)
        cols, labels, counts = _plan_cells(train, plan, context)
        strategy = {
            lab: int(counts[lab]) + n_add
            for lab, (_, n_add) in _wanted(plan, cols).items()
            if n_add > 0 and int(counts.get(lab, 0)) > 0
        }
        warnings = _empty_cell_warnings(plan, cols, counts, self.label)
        if not strategy:
            return _finish(self.name, train, train.iloc[0:0], warnings=warnings)
        sampler = RandomOverSampler(sampling_strategy=strategy, random_state=context.seed)
        index = np.arange(len(train)).reshape(-1, 1)
        sampler.fit_resample(index, labels.to_numpy())
        new = sampler.sample_indices_[len(train) :]
        return _finish(self.name, train, train.iloc[new], warnings=warnings)


def _empty_cell_warnings(
    plan: pd.DataFrame, cols: Sequence[str], counts: pd.Series, label: str
) -> tuple[str, ...]:
    out = []
    for lab, (_, n_add) in _wanted(plan, cols).items():
        if n_add > 0 and int(counts.get(lab, 0)) == 0:
            out.append(
                f"{label}: cell {lab.replace(chr(31), ' / ')} has no real training rows, so no "
                f"rows can be derived from it ({n_add} planned rows were not added)"
            )
    return tuple(out)


class SmoteStrategy(Strategy):
    name = "smote"
    label = STRATEGY_LABELS["smote"]
    adds_rows = True

    def augment(self, train, plan, *, context):  # noqa: D102
        from imblearn.over_sampling import SMOTE, SMOTEN, SMOTENC

        train = train.reset_index(drop=True)
        cols, labels, counts = _plan_cells(train, plan, context)
        wanted = _wanted(plan, cols)
        warnings = list(_empty_cell_warnings(plan, cols, counts, self.label))
        strategy: dict[str, int] = {}
        tiny: dict[str, int] = {}
        for lab, (_, n_add) in wanted.items():
            n_now = int(counts.get(lab, 0))
            if n_add <= 0 or n_now == 0:
                continue
            if n_now < 2:
                tiny[lab] = n_add
            else:
                strategy[lab] = n_now + n_add
        parts: list[pd.DataFrame] = []
        if strategy:
            feats = [c for c in (context.columns or context.features) if c not in cols]
            if not feats:
                raise ConfigError(
                    "SMOTE needs at least one feature column besides the group and outcome columns"
                )
            X, categorical, restore = _smote_matrix(train[feats])
            k = max(1, min(5, min(int(counts[lab]) for lab in strategy) - 1))
            if not categorical:
                sampler: Any = SMOTE(
                    sampling_strategy=strategy, k_neighbors=k, random_state=context.seed
                )
            elif len(categorical) == len(feats):
                sampler = SMOTEN(
                    sampling_strategy=strategy, k_neighbors=k, random_state=context.seed
                )
            else:
                sampler = SMOTENC(
                    categorical_features=[feats.index(c) for c in categorical],
                    sampling_strategy=strategy,
                    k_neighbors=k,
                    random_state=context.seed,
                )
            X_res, y_res = sampler.fit_resample(X, labels.to_numpy())
            new = pd.DataFrame(X_res, columns=feats).iloc[len(train) :].reset_index(drop=True)
            new = restore(new)
            new_labels = np.asarray(y_res)[len(train) :]
            new = _attach_cells(new, new_labels, train, labels, cols)
            parts.append(new[train.columns])
            if any(train[feats].isna().any()):
                warnings.append(
                    "SMOTE-NC cannot work with gaps: missing values were filled in (median for "
                    "numbers, most frequent value for categories) before new rows were made, so "
                    "SMOTE rows have no missing values"
                )
        if tiny:
            rng = np.random.default_rng(context.seed)
            for lab, n_add in tiny.items():
                idx = np.flatnonzero((labels == lab).to_numpy())
                parts.append(train.iloc[rng.choice(idx, size=n_add, replace=True)])
                warnings.append(
                    f"SMOTE-NC: cell {lab.replace(chr(31), ' / ')} has a single real row; "
                    f"it was copied {n_add} times instead of interpolated"
                )
        synthetic = pd.concat(parts, ignore_index=True) if parts else train.iloc[0:0]
        return _finish(self.name, train, synthetic, warnings=tuple(warnings))


def _is_categorical(s: pd.Series) -> bool:
    if isinstance(s.dtype, pd.CategoricalDtype) or s.dtype == bool:
        return True
    if not pd.api.types.is_numeric_dtype(s):
        return True
    vals = s.dropna()
    return bool(
        len(vals) > 0 and vals.nunique() <= 10 and np.all(np.mod(vals.to_numpy(float), 1) == 0)
    )


def _smote_matrix(X: pd.DataFrame):
    """Impute and encode ``X`` for SMOTE; returns (matrix frame, categorical cols, restore)."""
    X = X.copy()
    categorical = [c for c in X.columns if _is_categorical(X[c])]
    dtypes = X.dtypes.to_dict()
    numeric_like = {c for c in categorical if pd.api.types.is_numeric_dtype(X[c])}
    for c in X.columns:
        if c in categorical:
            col = X[c]
            if c in numeric_like:
                mode = col.mode(dropna=True)
                fill = mode.iloc[0] if len(mode) else 0
                X[c] = col.fillna(fill).astype(float)
            else:
                X[c] = col.astype(object).where(col.notna(), _MISSING_CAT).astype(str)
        else:
            col = pd.to_numeric(X[c], errors="coerce").astype(float)
            med = col.median()
            X[c] = col.fillna(0.0 if pd.isna(med) else med)

    def restore(new: pd.DataFrame) -> pd.DataFrame:
        new = new.copy()
        for c in new.columns:
            if c in categorical and c not in numeric_like:
                vals = new[c].astype(object)
                vals = vals.where(vals != _MISSING_CAT, np.nan)
            else:
                vals = pd.to_numeric(new[c], errors="coerce")
                if c in numeric_like:
                    vals = vals.round()
            try:
                new[c] = vals.astype(dtypes[c])
            except (TypeError, ValueError):
                new[c] = vals
        return new

    return X, categorical, restore


def _attach_cells(
    new: pd.DataFrame,
    new_labels: np.ndarray,
    train: pd.DataFrame,
    labels: pd.Series,
    cols: Sequence[str],
) -> pd.DataFrame:
    """Set the group and outcome columns of generated rows from their cell label."""
    first = train.assign(_lab=labels.to_numpy()).drop_duplicates("_lab").set_index("_lab")
    for c in cols:
        new[c] = first.loc[new_labels, c].to_numpy()
    for c in train.columns:
        if c not in new.columns:
            new[c] = np.nan
    return new


class CDDPMStrategy(Strategy):
    """MCRAGE: conditional diffusion model trained on the real training rows."""

    name = "cddpm"
    label = STRATEGY_LABELS["cddpm"]
    adds_rows = True

    def augment(self, train, plan, *, context):  # noqa: D102
        try:
            from mcrage_core.diffusion import CDDPM, CDDPMConfig
        except ImportError as exc:  # pragma: no cover - engine always ships
            raise ConfigError(
                "the CDDPM engine (mcrage_core.diffusion) is not available in this "
                f"installation ({exc}); leave 'cddpm' out of the strategies"
            ) from exc
        cols = [*context.rebalance, context.target]
        _check_plan(train, plan, cols)
        train = train.reset_index(drop=True)
        warnings: list[str] = []
        skip = blocked_mask(plan, min_rows=context.min_cell_rows, allow=context.allow_small_cells)
        blocked = plan[skip]
        todo = plan[(plan["n_add"] > 0) & ~skip]
        if len(blocked):
            warnings.extend(
                guardrail_notes(
                    plan[[*cols, "n_real", "n_add"]],
                    cols,
                    min_rows=context.min_cell_rows,
                    outcome_names=context.outcome_names,
                )
            )
        if todo.empty:
            return _finish(
                self.name, train, train.iloc[0:0], warnings=tuple(warnings), blocked=blocked
            )
        config = context.cddpm_config or CDDPMConfig.preset("quick")
        feats = [c for c in (context.columns or context.features) if c not in cols]
        model = CDDPM(config)
        model.fit(
            train,
            target=context.target,
            condition=list(context.rebalance),
            columns=feats,
            progress=context.progress,
            should_stop=context.should_stop,
            run_dir=context.checkpoint_dir,
            resume=context.checkpoint_dir is not None,
        )
        counts = todo[[*cols, "n_add"]].rename(columns={"n_add": "n"}).reset_index(drop=True)
        synthetic = model.sample(
            counts,
            sampling_steps=context.sampling_steps,
            seed=context.seed,
            exclude_copies_of=train,
        )
        for c in train.columns:
            if c not in synthetic.columns:
                synthetic[c] = np.nan
        synthetic = synthetic[list(train.columns)]
        for c in train.columns:
            if synthetic[c].dtype != train[c].dtype:
                with contextlib.suppress(TypeError, ValueError):
                    synthetic[c] = synthetic[c].astype(train[c].dtype)
        short = int(todo["n_add"].sum()) - len(synthetic)
        if short > 0:
            warnings.append(
                f"MCRAGE: {short} of the {int(todo['n_add'].sum())} planned synthetic rows were "
                "not produced (exact copies of real rows are dropped)"
            )
        return _finish(
            self.name,
            train,
            synthetic,
            warnings=tuple(warnings),
            blocked=blocked,
            extras={"model": model},
        )


_REGISTRY: dict[str, type[Strategy]] = {
    cls.name: cls
    for cls in (
        NoneStrategy,
        OversampleStrategy,
        SmoteStrategy,
        ReweighStrategy,
        CDDPMStrategy,
        ThresholdStrategy,
    )
}


def get_strategy(name: str) -> Strategy:
    """The strategy called ``name`` (one of :data:`STRATEGIES`).

    Raises
    ------
    ConfigError
        If the name is unknown.
    """
    key = str(name).strip().lower()
    if key not in _REGISTRY:
        raise ConfigError(f"unknown strategy {name!r}: choose from {', '.join(STRATEGIES)}")
    return _REGISTRY[key]()
