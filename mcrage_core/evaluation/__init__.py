"""The audit engine: split the real rows, rebalance the training part with every
strategy, train a classifier on each, and measure fairness on the same real test rows.

One job per module: :mod:`.config` (AuditConfig), :mod:`.prepare` (the prepared table),
:mod:`.split` (stratified split), :mod:`.preview` (plan preview, size checks),
:mod:`.classifiers`, :mod:`.metrics` (group metrics, bootstrap), :mod:`.scoring` (one
strategy on one seed), :mod:`.aggregate` (over seeds), :mod:`.dataset` (facts about the
table), :mod:`.tracking` (progress), :mod:`.pipeline` (run_audit, the loop),
:mod:`.results` (AuditResults) and :mod:`.verdicts` (plain readings).

Import from here: ``from mcrage_core.evaluation import AuditConfig, run_audit``.
"""

from __future__ import annotations

from mcrage_core.evaluation.classifiers import (
    CLASSIFIER_LABELS,
    CLASSIFIERS,
    ClassifierName,
    make_classifier,
)
from mcrage_core.evaluation.config import AuditConfig, CDDPMPreset
from mcrage_core.evaluation.dataset import audit_groups, leaky_columns
from mcrage_core.evaluation.metrics import bootstrap_counts, group_metrics, metrics_from_counts
from mcrage_core.evaluation.pipeline import run_audit
from mcrage_core.evaluation.prepare import Prepared, prepare
from mcrage_core.evaluation.preview import PlanPreview, check_sizes, preview_plan
from mcrage_core.evaluation.results import (
    DISPARITIES,
    DISPARITY_LABELS,
    FORMAT,
    FOUR_FIFTHS,
    METRIC_LABELS,
    METRICS,
    OVERALL,
    STAT_SUFFIXES,
    AuditResults,
)
from mcrage_core.evaluation.split import split_train_test
from mcrage_core.evaluation.verdicts import (
    BASE_RATE_GAP,
    RARE_OUTCOME,
    Finding,
    fairness_findings,
    four_fifths_text,
    parity_expected_to_differ,
)

__all__ = [
    "audit_groups",
    "BASE_RATE_GAP",
    "CDDPMPreset",
    "CLASSIFIERS",
    "CLASSIFIER_LABELS",
    "DISPARITIES",
    "DISPARITY_LABELS",
    "FORMAT",
    "FOUR_FIFTHS",
    "METRICS",
    "METRIC_LABELS",
    "OVERALL",
    "RARE_OUTCOME",
    "STAT_SUFFIXES",
    "AuditConfig",
    "AuditResults",
    "ClassifierName",
    "Finding",
    "PlanPreview",
    "Prepared",
    "bootstrap_counts",
    "check_sizes",
    "fairness_findings",
    "four_fifths_text",
    "group_metrics",
    "leaky_columns",
    "make_classifier",
    "metrics_from_counts",
    "parity_expected_to_differ",
    "prepare",
    "preview_plan",
    "run_audit",
    "split_train_test",
]
