"""From a finished audit run to :class:`AuditResults`: the aggregated tables, the
verdicts, the curves and the facts about the data."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import pandas as pd

from mcrage_core.evaluation import aggregate as agg
from mcrage_core.evaluation import dataset as facts
from mcrage_core.evaluation.judging import judge
from mcrage_core.evaluation.results import AuditResults
from mcrage_core.rebalance import display_plan

if TYPE_CHECKING:
    from mcrage_core.evaluation.pipeline import _AuditRun

__all__ = ["assemble", "pooled_predictions"]


def pooled_predictions(run: _AuditRun) -> pd.DataFrame:
    """Every repeat's out-of-fold predictions on the real rows, one row per strategy ×
    repeat × tested row: ``strategy, repeat, y, score`` and the group columns."""
    prep, frames = run.prep, []
    for seed, pooled in run.pooled:
        rows = prep.df.iloc[pooled.positions]
        base = rows[run.attributes].astype(object).reset_index(drop=True)
        y = rows[prep.target].to_numpy().astype(int)
        for strategy in pooled.score:
            frame = base.copy()
            frame.insert(0, "row", pooled.positions)
            frame.insert(0, "score", pooled.score[strategy][pooled.positions])
            frame.insert(0, "y", y)
            frame.insert(0, "repeat", int(seed))
            frame.insert(0, "strategy", strategy)
            frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _curves(run: _AuditRun) -> dict[str, pd.DataFrame]:
    try:
        from mcrage_core.evaluation.curves import compute_curves
    except ImportError:  # pragma: no cover - the curves module is optional while it lands
        return {}
    preds = pooled_predictions(run)
    if preds.empty:
        return {}
    attrs = [a for a in run.attributes if a in preds.columns]
    preds[attrs] = preds[attrs].map(lambda v: v if pd.isna(v) else str(v))
    return compute_curves(
        preds, attrs, confidence=float(run.config.confidence), seed=int(run.config.base_seed)
    )


def assemble(
    run: _AuditRun, df: pd.DataFrame, imbalance: dict[str, Any] | None, started: float
) -> AuditResults:
    """Aggregate the scores of ``run`` into :class:`AuditResults`."""
    config, prep = run.config, run.prep
    leaks = facts.leaky_columns(prep.df, prep.features, prep.target)
    if leaks:
        run.warnings.insert(0, facts.leak_warning(leaks))
    run.tracker.emit("Summarising the results")
    names = [s.name for s in run.strategies]
    common: dict[str, Any] = {
        "strategies": names,
        "seeds": config.seed_values,
        "attributes": run.attributes,
        "confidence": config.confidence,
        "shared": config.folds > 1,
    }
    metrics = agg.aggregate_metrics(run.scores, small_group=config.small_group, **common)
    disparity = agg.aggregate_disparity(run.scores, **common)
    verdicts = judge(
        run.scores, run.fold_scores, strategies=names, attributes=run.attributes, config=config
    )
    run.warnings.extend(agg.disparity_warnings(run.scores, small_group=config.small_group))
    for lines in run.notes.values():
        run.warnings.extend(lines)
    curves = _curves(run)
    run.timings["total"] = round(time.monotonic() - started, 3)
    run.tracker.finish()
    run.tracker.emit("Done")
    plan = run.first_plan
    dataset = facts.dataset_block(
        df,
        prep,
        config,
        leaks=leaks,
        n_test=len(next(iter(run.test_index.values()))),
        names=run.names,
        schema=run.inputs[1],
        attributes=run.attributes,
        labels={s.name: s.label for s in run.strategies},
    )
    return AuditResults(
        settings=config.to_dict(),
        versions=facts.versions(),
        dataset=dataset,
        metrics=metrics,
        disparity=disparity,
        verdicts=verdicts,
        curves=curves,
        plan=display_plan(plan, prep.target, run.names) if plan is not None else pd.DataFrame(),
        imbalance=imbalance,
        fidelity=run.report.fidelity,
        warnings=list(dict.fromkeys(run.warnings)),
        strategy_notes={k: v for k, v in run.notes.items() if v},
        training=run.report.training,
        timings=run.timings,
        test_index=dict(run.test_index),
        synthetic=run.report.synthetic,
        augmented_train=run.report.augmented_train,
    )
