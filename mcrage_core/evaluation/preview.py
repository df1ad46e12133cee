"""What an audit will do, before anything is trained: the plan of the first seed, the
split sizes, the guardrail's effects, and whether the table is large enough to judge."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from mcrage_core.errors import DataError
from mcrage_core.evaluation.config import AuditConfig
from mcrage_core.evaluation.prepare import Prepared, outcome_labels, prepare_labelled
from mcrage_core.evaluation.split import fold_splits
from mcrage_core.evaluation.targeting import make_plan
from mcrage_core.rebalance import display_plan, guardrail_notes
from mcrage_core.tables import Schema

__all__ = ["PlanPreview", "check_sizes", "make_plan", "preview_plan"]


def check_sizes(
    prep: Prepared, test: pd.DataFrame, config: AuditConfig, *, train: pd.DataFrame | None = None
) -> None:
    """Refuse an audit whose real test rows could not judge anything.

    Rules (``m = config.min_test_rows``): the test part needs at least ``m`` rows of each
    outcome, and at least two groups of the rebalanced attribute with ``m`` or more test
    rows each. Groups below ``config.small_group`` test rows are still shown, flagged as
    too small to judge.

    Raises
    ------
    DataError
        Saying what is too small, by how much, and what to do.
    """
    m = int(config.min_test_rows)
    n_groups = int(prep.df[prep.primary].nunique())
    if n_groups < 2:
        only = ", ".join(map(str, prep.df[prep.primary].dropna().unique())) or "none"
        raise DataError(
            f"the column to rebalance {prep.primary!r} has only one group ({only}), so there "
            "is nothing to compare; choose a column with at least two groups"
        )
    if train is not None:
        yt = train[prep.target]
        if int((yt == 1).sum()) < 2 or int((yt == 0).sum()) < 2:
            raise DataError(
                f"the training part holds {int((yt == 1).sum())} row(s) with outcome "
                f"{prep.positive_class!r} and {int((yt == 0).sum())} without; a model needs at "
                "least two of each. Use a larger table or one where the outcome is less rare."
            )
    y = test[prep.target]
    n_pos, n_neg = int((y == 1).sum()), int((y == 0).sum())
    share = f"{config.test_size:.0%}"
    if n_pos < m or n_neg < m:
        raise DataError(
            f"the table is too small to judge a model: the held-out test part ({share} of "
            f"{len(prep.df)} rows with an outcome) would hold {n_pos} row(s) with outcome "
            f"{prep.positive_class!r} and {n_neg} without; at least {m} of each are needed. "
            "Use a larger table (a few hundred rows or more), or a larger test share."
        )
    sizes = test[prep.primary].value_counts()
    judged = sizes[sizes >= m]
    if len(judged) < 2:
        shown = ", ".join(f"{g}: {int(n)}" for g, n in sizes.items()) or "none"
        raise DataError(
            f"the table is too small to compare groups of {prep.primary!r}: the held-out test "
            f"part would hold fewer than {m} rows in all but {len(judged)} group(s) "
            f"({shown}). Use a larger table, merge small groups, or rebalance another column."
        )


@dataclass(frozen=True)
class PlanPreview:
    """What an audit will do, computed before anything is trained.

    ``plan`` is the exact plan of the first fold (its training part), with the outcome
    in the user's values, ``blocked`` marking cells the privacy guardrail skips and
    ``reason`` saying why each cell gets what it gets;
    ``n_train``/``n_test`` the sizes of the split; ``notes`` what the user should know
    (blocked cells and their effect on a group's outcome mix); ``problem`` a reason the
    audit would be refused (``None`` when it can run).
    """

    plan: pd.DataFrame
    n_rows: int
    n_train: int
    n_test: int
    n_add: int
    n_add_cddpm: int
    notes: tuple[str, ...]
    problem: str | None


def preview_plan(df: pd.DataFrame, schema: Schema, config: AuditConfig) -> PlanPreview:
    """The plan, split sizes and guardrail effects of ``run_audit(df, schema, config)``.

    Raises
    ------
    ConfigError, DataError
        For settings that :func:`run_audit` would refuse too (a too-small table is
        reported in ``problem`` instead, so the page can show the plan and the reason).
    """
    labelled, prep = prepare_labelled(df, schema, config)
    split = fold_splits(
        prep, folds=config.folds, test_size=config.test_size, seed=config.seed_values[0]
    )[0]
    problem = None
    try:
        check_sizes(prep, split.test, config, train=split.train)
    except DataError as exc:
        problem = str(exc)
    plan = make_plan(prep, split.train, config, config.make_strategies())
    names = outcome_labels(prep, labelled)
    blocked = plan["blocked"] if "blocked" in plan.columns else pd.Series(False, index=plan.index)
    notes: list[str] = []
    if blocked.any():  # the same sentences the run will write
        notes.extend(
            guardrail_notes(
                plan,
                [*prep.rebalance, prep.target],
                min_rows=int(config.min_cell_rows),
                outcome_names=names,
            )
        )
    return PlanPreview(
        plan=display_plan(plan, prep.target, names),
        n_rows=len(prep.df),
        n_train=len(split.train),
        n_test=len(split.test),
        n_add=int(plan["n_add"].sum()),
        n_add_cddpm=int(plan.loc[~blocked, "n_add"].sum()),
        notes=tuple(notes),
        problem=problem,
    )
