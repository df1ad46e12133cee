"""Fixtures of the presentation tests: a small hand-made results object (instant, exact
numbers) and the real SUPPORT2 audits the figures and the report are drawn from."""

from __future__ import annotations

import pandas as pd
import pytest

from mcrage_core.evaluation.results import AuditResults

TARGET = "died_within_6_months"
GROUPS = {"80+": 40, "<30": 120, "30-44": 10}  # listed out of age order on purpose


def _metric_rows() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for s, shift in (("none", 0.0), ("oversample", 0.02)):
        delta = None if s == "none" else shift
        for metric, base in (("f1", 0.6), ("auroc", 0.8), ("accuracy", 0.75), ("base_rate", 0.3)):
            value = base + shift
            rows.append(
                {"strategy": s, "attribute": "overall", "group": "all", "metric": metric,
                 "value": value, "ci_low": value - 0.05, "ci_high": value + 0.05, "n": 170,
                 "small": False, "delta": delta, "delta_ci_low": None, "delta_ci_high": None}
            )  # fmt: skip
            for i, (group, n) in enumerate(GROUPS.items()):
                v = value - 0.1 * i + 1 / 3 * 1e-3  # float noise that must not show
                rows.append(
                    {"strategy": s, "attribute": "age_band", "group": group, "metric": metric,
                     "value": v, "ci_low": v - 0.08, "ci_high": v + 0.08, "n": n,
                     "small": n < 20, "delta": delta, "delta_ci_low": None,
                     "delta_ci_high": None}
                )  # fmt: skip
    return rows


def _disparity_rows() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for s, ratio in (("none", 0.7), ("oversample", 0.85)):
        for metric, value in (
            ("demographic_parity_ratio", ratio),
            ("demographic_parity_difference", 1 - ratio),
            ("equalized_odds_difference", 0.2),
            ("worst_group_f1", 0.4),
            ("worst_group_auroc", 0.7),
        ):
            base = {"demographic_parity_ratio": 0.7, "demographic_parity_difference": 0.3}
            delta = None if s == "none" else value - base.get(metric, value)
            rows.append(
                {"strategy": s, "attribute": "age_band", "metric": metric, "value": value,
                 "ci_low": value - 0.1, "ci_high": value + 0.1, "delta": delta,
                 "delta_ci_low": None if delta is None else delta - 0.05,
                 "delta_ci_high": None if delta is None else delta + 0.05, "n_groups": 2,
                 "excluded_groups": "30-44"}
            )  # fmt: skip
    return rows


@pytest.fixture()
def tiny_results() -> AuditResults:
    """Two strategies, one attribute with three age bands (one too small to judge)."""
    return AuditResults(
        settings={"target": "death"},
        versions={"mcrage": "test"},
        dataset={
            "target": "death",
            "positive_class": 1,
            "prevalence": 0.3,
            "n_test": 170,
            "classifier": "logreg",
            "primary_attribute": "age_band",
            "strategy_labels": {"none": "No change (baseline)", "oversample": "Oversample"},
        },
        metrics=pd.DataFrame(_metric_rows(), columns=AuditResults.metric_columns()),
        disparity=pd.DataFrame(_disparity_rows(), columns=AuditResults.disparity_columns()),
        plan=pd.DataFrame({"age_band": ["<30"], "n_real": [100], "n_add": [20]}),
        warnings=["a note", "a strategy note"],
        strategy_notes={"oversample": ["a strategy note"]},
    )


@pytest.fixture(scope="session")
def small_audit(small_audit):
    """The shared small audit (tests/conftest.py), its results only."""
    return small_audit[0]


@pytest.fixture(scope="session")
def cddpm_audit(cddpm_audit):
    """The shared CDDPM audit (tests/conftest.py), its results only."""
    return cddpm_audit[0]
