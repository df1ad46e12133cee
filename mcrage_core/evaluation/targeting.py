"""The augmentation plan of one training part, and why each cell gets what it gets.

Besides the plan modes of :func:`mcrage_core.rebalance.plan_augmentation`, the
*targeted* plan raises only the groups where the baseline model is worst. "Worst" is
estimated without touching any test row: a 3-fold cross-validation of the baseline
classifier inside the training part gives every training row an out-of-fold
prediction, and the chosen metric is computed per group of the rebalanced
attribute(s). The groups below the training part's overall value (other than the
largest group) are candidates; the ``plan_worst`` lowest are raised (to the largest
group's size, within the cap).

Every plan row carries a ``reason`` in plain words, shown before anything is trained.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd

from mcrage_core.evaluation.classifiers import feature_kinds, make_classifier, model_frame
from mcrage_core.evaluation.config import AuditConfig
from mcrage_core.evaluation.metrics import metrics_from_counts
from mcrage_core.evaluation.prepare import Prepared
from mcrage_core.evaluation.split import split_folds
from mcrage_core.rebalance import Strategy, blocked_mask, plan_augmentation
from mcrage_core.rebalance.plan import MISSING_GROUP

__all__ = ["GroupScore", "baseline_by_group", "make_plan", "INNER_FOLDS", "MIN_SCORED"]

INNER_FOLDS = 3
"""Folds of the cross-validation inside a training part that scores the baseline."""
MIN_SCORED = 30
"""A group with fewer training rows (or fewer than the guardrail's ``min_cell_rows``) is
not a candidate: its out-of-fold metric is too noisy to rank, and a generator could not
learn from it anyway."""


@dataclass(frozen=True)
class GroupScore:
    """The baseline's out-of-fold metric of one group of a training part."""

    key: Hashable  # the group value (a tuple for several rebalanced columns)
    n: int
    value: float


def _keys(train: pd.DataFrame, rebalance: Sequence[str]) -> pd.Series:
    cols = list(rebalance)
    if len(cols) == 1:
        return train[cols[0]].astype(object)
    known = train[cols].notna().all(axis=1).to_numpy()
    tuples = list(train[cols].itertuples(index=False, name=None))
    # element by element: a masked assignment of tuples is read as 2-D by pandas 2.2
    return pd.Series(
        [t if ok else None for t, ok in zip(tuples, known, strict=True)],
        index=train.index,
        dtype=object,
    )


def baseline_by_group(
    prep: Prepared, train: pd.DataFrame, config: AuditConfig
) -> tuple[list[GroupScore], float]:
    """Per group of the rebalanced attribute(s): the baseline classifier's ``plan_metric``
    from a 3-fold cross-validation inside ``train``, and the overall value."""
    y = train[prep.target].to_numpy().astype(int)
    group = train[prep.primary].astype(object).where(train[prep.primary].notna(), MISSING_GROUP)
    strata = group.astype(str) + "|" + train[prep.target].astype(str)
    X = model_frame(train, prep.features)
    numeric, categorical = feature_kinds(X)
    score = np.zeros(len(train))
    for fold, (tr, te) in enumerate(split_folds(strata, folds=INNER_FOLDS, seed=config.base_seed)):
        model = make_classifier(
            config.classifier, numeric=numeric, categorical=categorical, seed=fold
        )
        model.fit(X.iloc[tr], y[tr])
        score[te] = model.predict_proba(X.iloc[te])[:, 1]
    pred = (score >= float(config.threshold)).astype(int)

    def metric(idx: np.ndarray) -> float:
        ones = np.ones((1, len(idx)), dtype=np.int32)
        return float(
            metrics_from_counts(y[idx], pred[idx], score[idx], ones)[config.plan_metric][0]
        )

    overall = metric(np.arange(len(train)))
    members: dict[Hashable, list[int]] = {}
    for pos, key in enumerate(_keys(train, prep.rebalance)):
        if key is not None and not (isinstance(key, float) and np.isnan(key)):
            members.setdefault(key, []).append(pos)
    out = [
        GroupScore(key, len(pos), metric(np.asarray(pos)))
        for key, pos in members.items()
        if len(pos) >= max(MIN_SCORED, int(config.min_cell_rows))
    ]
    return out, overall


def _targeted(
    prep: Prepared, train: pd.DataFrame, config: AuditConfig
) -> tuple[dict[Hashable, int], dict[str, str]]:
    """The wanted group sizes of the targeted plan and a reason per group (by ``repr``)."""
    scores, overall = baseline_by_group(prep, train, config)
    largest = max((s.n for s in scores), default=0)
    metric = config.plan_metric.upper() if config.plan_metric != "f1" else "F1"
    below = sorted(
        (s for s in scores if np.isfinite(s.value) and s.value < overall and s.n < largest),
        key=lambda s: s.value,
    )
    chosen = below[: int(config.plan_worst)]
    counts = {s.key: largest for s in chosen}
    reasons: dict[str, str] = {}
    where = f"{INNER_FOLDS}-fold cross-validation inside the training part"
    for s in scores:
        text = f"baseline {metric} {s.value:.2f} vs {overall:.2f} overall ({where})"
        if s in chosen:
            reasons[repr(s.key)] = f"targeted: {text}, among the {len(chosen)} worst"
        elif s.n >= largest:
            reasons[repr(s.key)] = f"not targeted: {text}; the largest group is not raised"
        elif s in below:
            reasons[repr(s.key)] = f"not targeted: {text}; only the {len(chosen)} worst are raised"
        else:
            reasons[repr(s.key)] = f"not targeted: {text}"
    return counts, reasons


def make_plan(
    prep: Prepared, train: pd.DataFrame, config: AuditConfig, strategies: Sequence[Strategy]
) -> pd.DataFrame:
    """The augmentation plan of one training part, with a ``reason`` per cell; when a
    strategy guards small cells, column ``blocked`` marks the cells the privacy guardrail
    skips."""
    reasons: dict[str, str] = {}
    planner = partial(
        plan_augmentation,
        train,
        rebalance=prep.rebalance,
        target=prep.target,
        balance_outcome=config.balance_outcome,
        max_ratio=config.max_synthetic_ratio,
    )
    if config.plan_mode == "targeted":
        counts, reasons = _targeted(prep, train, config)
        if counts:
            plan = planner(mode="counts", counts=counts)
        else:  # no group is below the overall value: nothing to add
            plan = planner().assign(n_add=0, capped=False)
    else:
        plan = planner(mode=config.plan_mode, share=config.plan_share, counts=config.plan_counts)
    if any(s.guards_small_cells for s in strategies):
        plan["blocked"] = blocked_mask(
            plan, min_rows=config.min_cell_rows, allow=config.allow_small_cells
        )
    plan["reason"] = _reasons(plan, prep, config, reasons)
    return plan


def _reasons(
    plan: pd.DataFrame, prep: Prepared, config: AuditConfig, targeted: dict[str, str]
) -> list[str]:
    sizes = plan.groupby(list(prep.rebalance), observed=True, sort=False)["n_real"].transform("sum")
    largest = int(sizes.max()) if len(sizes) else 0
    out = []
    for i in range(len(plan)):
        r = plan.iloc[i]
        key = r[prep.rebalance[0]] if len(prep.rebalance) == 1 else tuple(r[list(prep.rebalance)])
        if config.plan_mode == "targeted":
            least = max(MIN_SCORED, int(config.min_cell_rows))
            text = targeted.get(repr(key), f"not a candidate: fewer than {least} training rows")
        elif config.plan_mode == "max":
            text = (
                "the largest group: nothing to add"
                if int(sizes.iloc[i]) >= largest
                else f"raised toward the largest group ({largest:,} rows)"
            )
        elif config.plan_mode == "share":
            text = f"raised to at least {float(config.plan_share or 0):.0%} of the table"
        else:
            text = "raised to the size asked for"
        if bool(r.get("capped", False)):
            text += (
                f"; capped at {float(config.max_synthetic_ratio or 0):g} synthetic row(s) per "
                "real row of the group"
            )
        if bool(r.get("blocked", False)):
            text += (
                f"; privacy guardrail: fewer than {config.min_cell_rows} real rows, so no "
                "generated rows"
            )
        out.append(text)
    return out
