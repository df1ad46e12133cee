"""run_audit end to end on real SUPPORT2 rows (cheap strategies, logistic regression)."""

from __future__ import annotations

import json
import math

import pytest

from mcrage_core.errors import ConfigError, TrainingCancelled
from mcrage_core.evaluation import AuditConfig, run_audit
from mcrage_core.evaluation.results import AuditResults

TARGET = "died_within_6_months"
pytestmark = pytest.mark.slow


def test_json_round_trip_is_lossless_and_strict(small_audit):
    results, _, _ = small_audit
    text = results.to_json()
    json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    again = AuditResults.from_json(text)
    assert again == results
    assert AuditResults.from_dict(results.to_dict()) == results


def test_results_json_has_the_documented_shape(small_audit):
    results, _, config = small_audit
    data = results.to_dict()
    assert set(data["strategies"]) == {"none", "oversample", "reweigh", "threshold"}
    for entry in data["strategies"].values():
        assert {"accuracy", "f1", "auroc"} <= set(entry["overall"])
        race = entry["by_group"]["race"]
        assert {"white", "black", "hispanic"} <= set(race)
        for numbers in race.values():
            for key in ("n", "accuracy", "f1", "auroc", "f1_ci_low", "f1_ci_high", "auroc_ci_low"):
                assert key in numbers
        assert "age_band" in entry["by_group"]  # age is evaluated by band
        assert {
            "demographic_parity_difference",
            "demographic_parity_ratio",
            "equalized_odds_difference",
            "equalized_odds_ratio",
        } <= set(entry["disparity"])
    versions = data["versions"]
    for name in ("python", "torch", "scikit-learn", "fairlearn", "mcrage"):
        assert versions[name]
    assert data["settings"]["seeds"] == config.seeds


def test_test_set_is_real_and_shared_by_every_strategy(small_audit, small_table):
    results, _, config = small_audit
    data, _ = small_table
    m = results.metrics
    assert len(results.test_index) == config.seeds * config.folds
    by_repeat: dict[str, list[int]] = {}
    for key, idx in results.test_index.items():
        assert len(set(idx)) == len(idx) and max(idx) < len(data)
        by_repeat.setdefault(key.split("/")[0], []).extend(idx)
    # within a repeat the folds are disjoint and every real row is tested exactly once
    for idx in by_repeat.values():
        assert sorted(idx) == list(range(len(data)))
    # pooled over the folds, every strategy is scored on exactly the real rows (oversampled
    # rows never reach a test fold)
    overall_n = m[(m["attribute"] == "overall")].groupby("strategy")["n"].unique()
    for ns in overall_n:
        assert set(ns) == {len(data)}
    # the two repeats use different folds
    first = [v for k, v in results.test_index.items() if k.endswith("/1")]
    assert len(first) == 2 and first[0] != first[1]


def test_small_groups_are_flagged_and_left_out_of_disparities(small_audit):
    results, _, config = small_audit
    race = results.by_group("race")
    small = race[race["n"] < config.small_group]
    large = race[race["n"] >= config.small_group]
    assert small["small"].all() and not large["small"].any()
    d = results.disparity
    race_d = d[(d["attribute"] == "race") & (d["strategy"] == "none")]
    excluded = set(filter(None, race_d["excluded_groups"].iloc[0].split(", ")))
    assert excluded == set(small["group"])
    if excluded:
        assert any("fewer than" in w for w in results.warnings)


def test_intervals_and_deltas_are_consistent(small_audit):
    results, _, _ = small_audit
    m = results.metrics
    overall = m[m["attribute"] == "overall"]
    assert (overall["ci_low"] <= overall["ci_high"]).all()
    base = overall[overall["strategy"] == "none"].set_index("metric")["value"]
    assert overall[overall["strategy"] == "none"]["delta"].isna().all()
    for r in overall[overall["strategy"] != "none"].itertuples():
        assert r.delta == pytest.approx(r.value - base[r.metric], abs=1e-9)
    seed_ci = overall.dropna(subset=["seed_ci_low"])
    assert len(seed_ci)  # two seeds → a t-interval
    assert ((seed_ci["seed_ci_low"] >= 0) & (seed_ci["seed_ci_high"] <= 1)).all()


def test_reweighing_changes_the_model(small_audit):
    results, _, _ = small_audit
    base = results.overall("none")
    reweigh = results.overall("reweigh")
    assert any(not math.isclose(base[k], reweigh[k]) for k in ("accuracy", "f1", "auroc"))


def test_progress_reaches_one_and_never_goes_back(small_audit):
    _, events, _ = small_audit
    fractions = [e.fraction for e in events]
    assert fractions[-1] == 1.0
    assert all(b >= a - 1e-12 for a, b in zip(fractions, fractions[1:], strict=False))
    assert all(e.stage for e in events)


def test_missing_group_rows_are_counted_not_grouped(small_audit, small_table):
    results, _, _ = small_audit
    data, _ = small_table
    assert results.dataset["n_missing_group"]["race"] == int(data["race"].isna().sum()) > 0
    assert "nan" not in set(results.by_group("race")["group"])


def test_cancel_stops_the_run(small_table):
    data, schema = small_table
    config = AuditConfig(TARGET, sensitive=("race",), strategies=("none",), seeds=1, folds=1)
    with pytest.raises(TrainingCancelled):
        run_audit(data, schema, config, should_stop=lambda: True)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"sensitive": ("ethnicity",)}, "ethnicity"),
        ({"sensitive": ("race",), "rebalance": ("sex",)}, "not one of the sensitive"),
    ],
)
def test_unknown_columns_are_config_errors(small_table, kwargs, match):
    data, schema = small_table
    with pytest.raises(ConfigError, match=match):
        run_audit(
            data, schema, AuditConfig(TARGET, strategies=("none",), seeds=1, folds=1, **kwargs)
        )


def test_rebalancing_an_intersection_with_missing_group_values(small_table):
    data, schema = small_table
    assert data["race"].isna().any()  # rows without race must not break the race × sex cells
    config = AuditConfig(
        TARGET,
        sensitive=("race", "sex"),
        rebalance=("race", "sex"),
        strategies=("none", "oversample"),
        classifier="logreg",
        seeds=1,
        folds=1,
        n_bootstrap=20,
    )
    results = run_audit(data, schema, config)
    plan = results.plan
    assert {"race", "sex"} <= set(plan.columns)
    assert plan["race"].notna().all() and plan["sex"].notna().all()
    assert results.overall("oversample")["f1"] >= 0
