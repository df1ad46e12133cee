"""The audit protocol: split, rebalance with every strategy, train, and measure fairness.

Protocol
--------
1. For each seed, the real rows are split once, stratified by group × outcome. The
   test part holds real rows only and is the same for every strategy of that seed
   (the seed changes the split and the models).
2. The augmentation plan is computed on the training part; every strategy gets the
   same plan and sees only the training part (the CDDPM is trained on it, too).
3. A scikit-learn pipeline (imputation + one-hot encoding + classifier) is trained on
   each strategy's training set, through the strategy's hooks
   (:class:`mcrage_core.rebalance.Strategy`: augment, weight, post-process); a
   post-processing strategy such as ``threshold`` works on the baseline model.
4. Per group and overall, fairlearn :class:`~fairlearn.metrics.MetricFrame` gives
   accuracy, F1, AUROC (from probabilities), selection rate, TPR and FPR with the
   group n; disparities come from fairlearn's parity functions over the groups with at
   least ``small_group`` test rows (smaller groups are flagged and left out).
5. Confidence intervals: a percentile bootstrap over the test rows (the same resamples
   for every strategy, so changes against the baseline are paired), pooled over seeds,
   and a t-interval of the seed means.

Examples
--------
>>> from mcrage_core.tables import infer_schema, load_table
>>> df, schema = infer_schema(load_table("sample_data/support2.csv"),
...                           target="died_within_6_months")  # doctest: +SKIP
>>> results = run_audit(df, schema, AuditConfig("died_within_6_months",
...                     sensitive=("race",), seeds=1))  # doctest: +SKIP
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mcrage_core.evaluation import aggregate as agg
from mcrage_core.evaluation import dataset as facts
from mcrage_core.evaluation.classifiers import (
    CLASSIFIER_LABELS,
    feature_kinds,
    make_classifier,
    model_frame,
    thread_limit,
)
from mcrage_core.evaluation.config import AuditConfig
from mcrage_core.evaluation.prepare import Prepared, outcome_labels, prepare_labelled
from mcrage_core.evaluation.preview import check_sizes, make_plan
from mcrage_core.evaluation.results import AuditResults
from mcrage_core.evaluation.scoring import Scores, SeedBootstrap, score_strategy
from mcrage_core.evaluation.split import Split, split_prepared
from mcrage_core.evaluation.tracking import Tracker, check_stop
from mcrage_core.progress import CancelCheck, ProgressCallback
from mcrage_core.rebalance import (
    AugmentContext,
    Classifier,
    ModelData,
    ReportInputs,
    Strategy,
    StrategyReport,
    display_plan,
)
from mcrage_core.tables import Schema

__all__ = ["run_audit"]


def run_audit(
    df: pd.DataFrame,
    schema: Schema,
    config: AuditConfig,
    *,
    progress: ProgressCallback | None = None,
    should_stop: CancelCheck | None = None,
    workdir: str | os.PathLike[str] | None = None,
) -> AuditResults:
    """Run the whole audit: plan, rebalance with each strategy, train, measure.

    Parameters
    ----------
    df
        The table (as returned by :func:`mcrage_core.tables.infer_schema`).
    schema
        Its :class:`~mcrage_core.tables.Schema` (identifiers and excluded columns are
        never features; the positive class and age column come from it).
    config
        The settings.
    progress
        Called with :class:`~mcrage_core.progress.ProgressEvent` objects: an overall
        fraction with a stage sentence, and the CDDPM trainer's own events (step, loss,
        rows/s, ETA) while it trains.
    should_stop
        Polled between steps (and by the trainer); when it returns ``True`` the run stops
        with :class:`~mcrage_core.errors.TrainingCancelled`.
    workdir
        Optional folder for the strategies' own files (diffusion checkpoints, one
        sub-folder per seed). When given, a cancelled or killed audit run on the same
        table and settings continues its diffusion training from the last checkpoint.

    Raises
    ------
    ConfigError, DataError
        For unusable settings or data. ``TrainingCancelled`` when stopped.
    """
    started = time.monotonic()
    labelled, prep = prepare_labelled(df, schema, config)
    strategies = config.make_strategies()
    units_per_seed = 1.0 + sum(s.cost for s in strategies)
    run = _AuditRun(
        config=config,
        prep=prep,
        strategies=strategies,
        tracker=Tracker(progress, units_per_seed * config.seeds + 1.0),
        should_stop=should_stop,
        workdir=Path(workdir) if workdir is not None else None,
        names=outcome_labels(prep, labelled),
        inputs=(df, schema),
    )
    run.tracker.emit("Checking the data")
    check_stop(should_stop)
    imbalance = facts.imbalance_summary(
        labelled, schema, prep, small_cell=config.small_group, warnings=run.warnings
    )
    rng_master = np.random.default_rng(config.base_seed)
    for seed_pos, seed in enumerate(config.seed_values):
        seed_run = run.start_seed(seed_pos, seed, rng_master)
        for strategy in strategies:
            run.run_strategy(strategy, seed_run, first_seed=seed_pos == 0)
    return run.results(df, imbalance, started)


@dataclass
class _SeedRun:
    """One seed's split, plan, model inputs and bootstrap resamples."""

    seed: int
    label: str
    split: Split
    plan: pd.DataFrame
    data: ModelData
    numeric: list[str]
    categorical: list[str]
    boot: SeedBootstrap
    baseline: Classifier | None = None


@dataclass
class _AuditRun:
    """The state of one :func:`run_audit` call."""

    config: AuditConfig
    prep: Prepared
    strategies: list[Strategy]
    tracker: Tracker
    should_stop: CancelCheck | None
    workdir: Path | None
    names: dict[int, Any]
    inputs: tuple[pd.DataFrame, Schema]  # the table as given (codes, not labels), its schema
    warnings: list[str] = field(default_factory=list)
    scores: Scores = field(default_factory=Scores)
    notes: dict[str, list[str]] = field(default_factory=dict)
    test_index: dict[str, list[int]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    first_plan: pd.DataFrame | None = None
    report: StrategyReport = field(default_factory=StrategyReport)

    def __post_init__(self) -> None:
        self.warnings[:0] = self.prep.warnings
        self.notes = {s.name: [] for s in self.strategies}

    @property
    def attributes(self) -> list[str]:
        attributes = list(self.prep.attributes)
        return attributes if self.prep.primary in attributes else [*attributes, self.prep.primary]

    def start_seed(self, seed_pos: int, seed: int, rng_master: np.random.Generator) -> _SeedRun:
        """Split, check, plan and draw the bootstrap resamples of one seed."""
        config, prep = self.config, self.prep
        label = f"seed {seed_pos + 1} of {config.seeds}"
        check_stop(self.should_stop)
        self.tracker.emit(f"Splitting the data ({label})")
        split = split_prepared(prep, test_size=config.test_size, seed=seed)
        check_sizes(prep, split.test, config, train=split.train)
        self.test_index[str(seed)] = [int(i) for i in prep.source_index[split.test_pos]]
        plan = make_plan(prep, split.train, config, self.strategies)
        if self.first_plan is None:
            self.first_plan = plan
        numeric, categorical = feature_kinds(model_frame(split.train, prep.features))
        data = ModelData(
            train=split.train,
            test=split.test,
            X_train=model_frame(split.train, prep.features),
            X_test=model_frame(split.test, prep.features),
            threshold=float(config.threshold),
        )
        # the same bootstrap resamples for every strategy of this seed (paired deltas)
        rng = np.random.default_rng(rng_master.integers(2**63))
        boot = SeedBootstrap.draw(split.test, self.attributes, config.n_bootstrap, rng)
        self.tracker.advance(1.0)
        return _SeedRun(seed, label, split, plan, data, numeric, categorical, boot)

    def context(self, strategy: Strategy, run: _SeedRun) -> AugmentContext:
        """What ``strategy`` is told about this run and seed."""
        config, prep = self.config, self.prep
        progress = None
        if strategy.progress_stage:
            stage = f"{strategy.progress_stage} ({run.label})"
            progress = self.tracker.forward(stage, strategy.cost * 0.85)
        return AugmentContext(
            target=prep.target,
            features=tuple(prep.features),
            columns=tuple(prep.columns),
            rebalance=tuple(prep.rebalance),
            outcome_names=self.names,
            seed=run.seed,
            min_cell_rows=config.min_cell_rows,
            allow_small_cells=config.allow_small_cells,
            cddpm_config=config.cddpm_config,
            cddpm_preset=config.cddpm_preset,
            device=config.device,
            sampling_steps=config.sampling_steps,
            progress=progress,
            should_stop=self.should_stop,
            workdir=self.workdir,
            primary=prep.primary,
            bands=prep.bands,
            merged=prep.merged,
            attributes=prep.attributes,
        )

    def run_strategy(self, strategy: Strategy, run: _SeedRun, *, first_seed: bool) -> None:
        """Augment, fit (or reuse the baseline), predict and measure one strategy."""
        check_stop(self.should_stop)
        started = time.monotonic()
        stage = f"{strategy.label} ({run.label})"
        self.tracker.emit(stage)
        context = self.context(strategy, run)
        aug = strategy.augment(run.split.train, run.plan, context=context)
        self._note(strategy.name, aug.warnings)
        if first_seed:
            with thread_limit(self.config.threads):
                self._keep(strategy.report(aug, self._report_inputs(run), context=context))
        check_stop(self.should_stop)
        self.tracker.emit(f"Training the {CLASSIFIER_LABELS[self.config.classifier]} ({stage})")
        with thread_limit(self.config.threads):
            if strategy.uses_baseline_model and run.baseline is not None:
                model: Classifier = run.baseline
            else:
                model = self._fit(aug.train, aug.sample_weight, run)
            prediction = strategy.predict(model, run.data, context=context)
        if run.baseline is None:
            run.baseline = model  # the first strategy is the baseline
        self._note(strategy.name, prediction.notes)
        self.timings[f"{strategy.name}/seed{run.seed}"] = round(time.monotonic() - started, 3)
        self.tracker.advance(strategy.cost)
        self.tracker.emit(f"Measuring {strategy.label} ({run.label})")
        score_strategy(
            self.scores,
            strategy=strategy.name,
            seed=run.seed,
            y=run.split.test[self.prep.target].to_numpy().astype(int),
            prediction=prediction,
            test=run.split.test,
            attributes=self.attributes,
            boot=run.boot,
            small_group=self.config.small_group,
        )

    def _fit(self, train: pd.DataFrame, weights: np.ndarray | None, run: _SeedRun) -> Classifier:
        model = make_classifier(
            self.config.classifier, numeric=run.numeric, categorical=run.categorical, seed=run.seed
        )
        fit_params = {} if weights is None else {"model__sample_weight": weights}
        y = train[self.prep.target].to_numpy().astype(int)
        model.fit(model_frame(train, self.prep.features), y, **fit_params)
        return model

    def _report_inputs(self, run: _SeedRun) -> ReportInputs:
        reference, schema = self.inputs
        return ReportInputs(
            reference=reference,
            schema=schema,
            value_labels=self.config.value_labels,
            train_index=self.prep.source_index[run.split.train_pos],
            train=run.split.train,
            test=run.split.test,
        )

    def _keep(self, report: StrategyReport | None) -> None:
        if report is not None:
            self.warnings.extend(report.warnings)
            self.report = report

    def _note(self, strategy: str, lines: tuple[str, ...]) -> None:
        for line in lines:
            if line not in self.notes[strategy]:
                self.notes[strategy].append(line)

    def results(
        self, df: pd.DataFrame, imbalance: dict[str, Any] | None, started: float
    ) -> AuditResults:
        """Aggregate the scores into :class:`AuditResults`."""
        config, prep = self.config, self.prep
        leaks = facts.leaky_columns(prep.df, prep.features, prep.target)
        if leaks:
            self.warnings.insert(0, facts.leak_warning(leaks))
        self.tracker.emit("Summarising the results")
        names = [s.name for s in self.strategies]
        seeds, attributes = config.seed_values, self.attributes
        metrics = agg.aggregate_metrics(
            self.scores,
            strategies=names,
            seeds=seeds,
            attributes=attributes,
            small_group=config.small_group,
            confidence=config.confidence,
        )
        disparity = agg.aggregate_disparity(
            self.scores,
            strategies=names,
            seeds=seeds,
            attributes=attributes,
            confidence=config.confidence,
        )
        self.warnings.extend(agg.disparity_warnings(self.scores, small_group=config.small_group))
        for lines in self.notes.values():
            self.warnings.extend(lines)
        self.timings["total"] = round(time.monotonic() - started, 3)
        self.tracker.finish()
        self.tracker.emit("Done")
        plan = self.first_plan
        return AuditResults(
            settings=config.to_dict(),
            versions=facts.versions(),
            dataset=self._dataset(df, leaks),
            metrics=metrics,
            disparity=disparity,
            plan=display_plan(plan, prep.target, self.names)
            if plan is not None
            else pd.DataFrame(),
            imbalance=imbalance,
            fidelity=self.report.fidelity,
            warnings=list(dict.fromkeys(self.warnings)),
            strategy_notes={k: v for k, v in self.notes.items() if v},
            training=self.report.training,
            timings=self.timings,
            test_index=dict(self.test_index),
            synthetic=self.report.synthetic,
            augmented_train=self.report.augmented_train,
        )

    def _dataset(self, df: pd.DataFrame, leaks: dict[str, float]) -> dict[str, Any]:
        """The ``dataset`` block of the results."""
        config, prep = self.config, self.prep
        data, target = prep.df, prep.target
        n_test = len(self.test_index[str(config.seed_values[0])])
        return {
            "n_rows": int(len(df)),
            "n_rows_used": int(len(data)),
            "n_columns": int(df.shape[1]),
            "target": target,
            "positive_class": prep.positive_class,
            "prevalence": float(data[target].mean()),
            "n_train": int(len(data) - n_test),
            "n_test": int(n_test),
            "features": list(prep.features),
            "generated_columns": list(prep.columns),
            "outcome_labels": {str(k): v for k, v in self.names.items()},
            "threshold": float(config.threshold),
            "value_labels": dict(config.value_labels or {}),
            "merged_groups": dict(prep.merged),
            "leaky_columns": leaks,
            "age_bands": list(self.inputs[1].age_bands or ()),
            "base_rates": facts.base_rates(data, self.attributes, target),
            "attributes": dict(prep.attributes),
            "rebalance": list(prep.rebalance),
            "primary_attribute": prep.primary,
            "n_missing_group": {
                src: int(data[g].isna().sum()) for g, src in prep.attributes.items()
            },
            "n_missing_target": prep.n_missing_target,
            "classifier": CLASSIFIER_LABELS[config.classifier],
            "seeds": config.seed_values,
            "strategy_labels": {s.name: s.label for s in self.strategies},
        }
