"""The audit protocol: split, rebalance with every strategy, train, and measure fairness.

Protocol
--------
1. Repeated stratified cross-validation: for each repeat (seed) the real rows are
   split into ``folds`` folds, stratified by group × outcome; each fold is the test
   part once. Test parts hold real rows only and are the same for every strategy
   (the seed changes the folds and the models). ``folds=1``: one hold-out split.
2. The augmentation plan is computed on each training part; every strategy gets the
   same plan and sees only the training part (the CDDPM is trained on it, too).
3. A scikit-learn pipeline (imputation + one-hot encoding + classifier) is trained on
   each strategy's training set, through the strategy's hooks
   (:class:`mcrage_core.rebalance.Strategy`: augment, weight, post-process); a
   post-processing strategy such as ``threshold`` works on the baseline model.
4. Per group and overall, fairlearn :class:`~fairlearn.metrics.MetricFrame` gives
   accuracy, F1, AUROC (from probabilities), selection rate, TPR and FPR with the
   group n; disparities come from fairlearn's parity functions over the groups with at
   least ``small_group`` test rows (smaller groups are flagged and left out).
   Per-group numbers are computed on the predictions pooled over the folds of a
   repeat (every real row scored once by a model that never saw it), then averaged
   over repeats.
5. Confidence intervals: a percentile bootstrap over the pooled test rows (the same
   resamples for every strategy, so changes against the baseline are paired), pooled
   over repeats, and a t-interval of the repeat means. The verdicts
   (:mod:`mcrage_core.evaluation.judging`) add the corrected resampled t-test over
   folds and Holm's correction across groups.

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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mcrage_core.evaluation import dataset as facts
from mcrage_core.evaluation.assemble import assemble
from mcrage_core.evaluation.classifiers import (
    CLASSIFIER_LABELS,
    feature_kinds,
    make_classifier,
    model_frame,
    thread_limit,
)
from mcrage_core.evaluation.config import AuditConfig
from mcrage_core.evaluation.folds import (
    FoldScores,
    Pooled,
    fold_seed,
    merge_fold_scores,
    score_fold,
)
from mcrage_core.evaluation.grid import FoldOutcome, FoldRun, augment_context, run_folds_on_ray
from mcrage_core.evaluation.prepare import Prepared, outcome_labels, prepare_labelled
from mcrage_core.evaluation.preview import check_sizes
from mcrage_core.evaluation.results import AuditResults
from mcrage_core.evaluation.scoring import Scores, SeedBootstrap, score_strategy
from mcrage_core.evaluation.split import Split, fold_splits
from mcrage_core.evaluation.targeting import make_plan
from mcrage_core.evaluation.tracking import Tracker, check_stop
from mcrage_core.progress import CancelCheck, ProgressCallback
from mcrage_core.rebalance import (
    AugmentContext,
    Classifier,
    ModelData,
    Prediction,
    ReportInputs,
    Strategy,
    StrategyReport,
)
from mcrage_core.tables import Schema
from mcrage_core.util.ray_cluster import resolve_address

__all__ = ["run_audit"]


def run_audit(
    df: pd.DataFrame,
    schema: Schema,
    config: AuditConfig,
    *,
    progress: ProgressCallback | None = None,
    should_stop: CancelCheck | None = None,
    workdir: str | os.PathLike[str] | None = None,
    ray_address: str | None = None,
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
    ray_address
        Run the folds of each repeat as Ray tasks on the cluster at this address (the
        ``mcrage[ray]`` extra; default: the ``MCRAGE_RAY_ADDRESS`` environment variable;
        neither: in this process). The results are the same as a local run's for the same
        seeds (with a fixed number of diffusion steps: a preset is a time budget); progress is reported per finished fold, and cancelling stops the tasks.
        ``workdir`` must then be on a file system every node sees.

    Raises
    ------
    ConfigError, DataError
        For unusable settings or data. ``TrainingCancelled`` when stopped.
    """
    started = time.monotonic()
    labelled, prep = prepare_labelled(df, schema, config)
    strategies = config.make_strategies()
    units_per_fold = 1.0 + sum(s.cost for s in strategies)
    run = _AuditRun(
        config=config,
        prep=prep,
        strategies=strategies,
        tracker=Tracker(progress, units_per_fold * config.seeds * config.folds + 1.0),
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
    address = resolve_address(ray_address)
    for seed_pos, seed in enumerate(config.seed_values):
        pooled = Pooled(len(prep.df))
        fold_runs = run.start_repeat(seed_pos, seed)
        if address is None:
            outcomes = [run.run_fold(f, first_seed=seed_pos == 0) for f in fold_runs]
        else:
            outcomes = run_folds_on_ray(address, run, fold_runs, first_seed=seed_pos == 0)
        for fold_run, outcome in zip(fold_runs, outcomes, strict=True):
            run.merge(outcome)
            for name, prediction in outcome.predictions.items():
                pooled.add(name, fold_run.split.test_pos, prediction)
        run.score_repeat(seed, pooled, rng_master)
    return run.results(df, imbalance, started)


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
    fold_scores: FoldScores = field(default_factory=FoldScores)
    shared_boot: SeedBootstrap | None = None
    pooled: list[tuple[int, Pooled]] = field(default_factory=list)
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
        if self.prep.primary not in attributes:
            attributes.append(self.prep.primary)
        return [*attributes, *self.prep.intersections]

    def start_repeat(self, seed_pos: int, seed: int) -> list[FoldRun]:
        """Split one repeat into its folds; check, plan and prepare each."""
        config, prep = self.config, self.prep
        check_stop(self.should_stop)
        self.tracker.emit(f"Splitting the data (repeat {seed_pos + 1} of {config.seeds})")
        splits = fold_splits(prep, folds=config.folds, test_size=config.test_size, seed=seed)
        return [self._start_fold(seed_pos, seed, k, split) for k, split in enumerate(splits)]

    def _label(self, seed_pos: int, fold: int) -> str:
        config = self.config
        if config.folds <= 1:
            return f"seed {seed_pos + 1} of {config.seeds}"
        return f"fold {fold + 1} of {config.folds}, repeat {seed_pos + 1} of {config.seeds}"

    def _start_fold(self, seed_pos: int, seed: int, fold: int, split: Split) -> FoldRun:
        config, prep = self.config, self.prep
        check_sizes(prep, split.test, config, train=split.train)
        key = str(seed) if config.folds <= 1 else f"{seed}/{fold + 1}"
        self.test_index[key] = [int(i) for i in prep.source_index[split.test_pos]]
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
        self.tracker.advance(1.0)
        return FoldRun(
            fold_seed(seed, fold, config.folds),
            seed,
            fold,
            self._label(seed_pos, fold),
            split,
            plan,
            data,
            numeric,
            categorical,
        )

    def score_repeat(self, seed: int, pooled: Pooled, rng_master: np.random.Generator) -> None:
        """Measure every strategy on the repeat's pooled out-of-fold predictions."""
        prep, config = self.prep, self.config
        self.pooled.append((seed, pooled))
        test = prep.df.iloc[pooled.positions].reset_index(drop=True)
        # the same bootstrap resamples for every strategy (paired deltas); with K-fold
        # CV every repeat tests the same rows, so the repeats share them too
        rng = np.random.default_rng(rng_master.integers(2**63))
        boot = self.shared_boot
        if boot is None or boot.overall.shape[1] != len(test):
            boot = SeedBootstrap.draw(test, self.attributes, config.n_bootstrap, rng)
        if config.folds > 1:
            self.shared_boot = boot
        y = test[prep.target].to_numpy().astype(int)
        for strategy in self.strategies:
            self.tracker.emit(f"Measuring {strategy.label}")
            score_strategy(
                self.scores,
                strategy=strategy.name,
                seed=seed,
                y=y,
                prediction=pooled.prediction(strategy.name),
                test=test,
                attributes=self.attributes,
                boot=boot,
                small_group=config.small_group,
            )

    def context(self, strategy: Strategy, run: FoldRun) -> AugmentContext:
        """What ``strategy`` is told about this run and seed."""
        config, prep = self.config, self.prep
        progress = None
        if strategy.progress_stage:
            stage = f"{strategy.progress_stage} ({run.label})"
            progress = self.tracker.forward(stage, strategy.cost * 0.85)
        return augment_context(
            config, prep, self.names, run.seed, progress, self.should_stop, self.workdir
        )

    def run_fold(self, run: FoldRun, *, first_seed: bool) -> FoldOutcome:
        """Every strategy on one fold, in order (the first is the baseline a
        post-processing strategy reuses); what it produced, for :meth:`merge`."""
        outcome = FoldOutcome(notes={s.name: [] for s in self.strategies})
        for strategy in self.strategies:
            first = first_seed and run.fold == 0
            prediction = self.run_strategy(strategy, run, outcome, first_seed=first)
            outcome.predictions[strategy.name] = prediction
        return outcome

    def detached(self) -> _AuditRun:
        """A copy to send to another process: no callbacks (the driver keeps progress and
        cancelling), no results gathered so far."""
        return replace(
            self,
            tracker=Tracker(None, 1.0),
            should_stop=None,
            warnings=[],
            scores=Scores(),
            fold_scores=FoldScores(),
            shared_boot=None,
            pooled=[],
            timings={},
            first_plan=None,
        )

    def merge(self, outcome: FoldOutcome) -> None:
        """Take in one fold's outcome (in fold order, as a serial run would)."""
        self._keep(outcome.report)
        for strategy, lines in outcome.notes.items():
            self._note(strategy, tuple(lines))
        self.timings.update(outcome.timings)
        merge_fold_scores(outcome.fold_scores, self.fold_scores)

    def run_strategy(
        self, strategy: Strategy, run: FoldRun, outcome: FoldOutcome, *, first_seed: bool
    ) -> Prediction:
        """Augment, fit (or reuse the baseline), predict and measure one strategy on one
        fold into ``outcome``; the prediction is returned for pooling."""
        check_stop(self.should_stop)
        started = time.monotonic()
        stage = f"{strategy.label} ({run.label})"
        self.tracker.emit(stage)
        context = self.context(strategy, run)
        aug = strategy.augment(run.split.train, run.plan, context=context)
        outcome.note(strategy.name, aug.warnings)
        if first_seed:
            with thread_limit(self.config.threads):
                outcome.keep_report(strategy.report(aug, self._report_inputs(run), context=context))
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
        outcome.note(strategy.name, prediction.notes)
        outcome.timings[f"{strategy.name}/seed{run.seed}"] = round(time.monotonic() - started, 3)
        self.tracker.advance(strategy.cost)
        score_fold(
            outcome.fold_scores,
            seed=run.repeat_seed,
            fold=run.fold,
            strategy=strategy.name,
            y=run.split.test[self.prep.target].to_numpy().astype(int),
            prediction=prediction,
            test=run.split.test,
            attributes=self.attributes,
            n_train=len(run.split.train),
        )
        return prediction

    def _fit(self, train: pd.DataFrame, weights: np.ndarray | None, run: FoldRun) -> Classifier:
        model = make_classifier(
            self.config.classifier, numeric=run.numeric, categorical=run.categorical, seed=run.seed
        )
        fit_params = {} if weights is None else {"model__sample_weight": weights}
        y = train[self.prep.target].to_numpy().astype(int)
        model.fit(model_frame(train, self.prep.features), y, **fit_params)
        return model

    def _report_inputs(self, run: FoldRun) -> ReportInputs:
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
        return assemble(self, df, imbalance, started)
