"""Defects found on real clinical tables the project had never seen (issue: correct on
unseen tables). Table 1 is an ICU-style table (Yes/No outcome, text race and sex, a
record number); table 2 is the ACTG 320 trial table (rare 0/1 outcome, race coded 1-5
with two tiny codes, sex coded 1/2), shipped in tests/data/real/."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mcrage_core.errors import ConfigError, DataError
from mcrage_core.evaluation import AuditConfig, AuditResults, preview_plan, run_audit
from mcrage_core.evaluation.verdicts import fairness_findings
from mcrage_core.fidelity import fidelity_verdict
from mcrage_core.tables import infer_schema
from mcrage_core.tables.records import output_columns, synthetic_artefacts

REAL = Path(__file__).resolve().parents[1] / "data" / "real"
ACTG_LABELS = {
    "raceth": {"1": "White", "2": "Black", "3": "Hispanic", "4": "Asian", "5": "Native American"},
    "sex": {"1": "Male", "2": "Female"},
}


@pytest.fixture(scope="module")
def icu_table(support2_df: pd.DataFrame) -> pd.DataFrame:
    """Table 1: Yes/No outcome, capitalised sex, a record number."""
    df = support2_df.sample(n=1500, random_state=3).reset_index(drop=True)
    df.insert(0, "MRN", [f"MRN{700000 + i}" for i in range(len(df))])
    df["death"] = np.where(df.pop("died_within_6_months") == 1, "Yes", "No")
    df["sex"] = df["sex"].str.capitalize()
    return df


@pytest.fixture(scope="module")
def icu_audit(icu_table, tiny_config):
    data, schema = infer_schema(icu_table, target="death", sensitive=["race", "sex", "age"])
    config = AuditConfig(
        "death",
        sensitive=("race", "sex", "age"),
        strategies=("none", "cddpm"),
        classifier="logreg",
        seeds=1,
        folds=1,
        n_bootstrap=20,
        cddpm_config=tiny_config,
    )
    return data, schema, config, run_audit(data, schema, config)


@pytest.fixture(scope="module")
def actg() -> pd.DataFrame:
    return pd.read_csv(REAL / "actg320.csv")


@pytest.fixture(scope="module")
def actg_audit(actg, tiny_config):
    data, schema = infer_schema(
        actg, target="censor", positive_class="1", sensitive=["raceth", "sex", "age"]
    )
    config = AuditConfig(
        "censor",
        sensitive=("raceth", "sex", "age"),
        strategies=("none", "oversample", "cddpm", "threshold"),
        classifier="logreg",
        seeds=1,
        folds=1,
        n_bootstrap=20,
        cddpm_config=tiny_config,
        value_labels=ACTG_LABELS,
    )
    return data, schema, config, run_audit(data, schema, config)


# ------------------------------------------------------------------ 1. rare strata


def _baseline_by_race(table: pd.DataFrame, target: str, positive: str, **options) -> AuditResults:
    """The baseline alone (logistic regression, one seed, no bootstrap), judged by race."""
    data, schema = infer_schema(table, target=target, positive_class=positive, sensitive=["race"])
    config = AuditConfig(
        target,
        sensitive=("race",),
        strategies=("none",),
        classifier="logreg",
        seeds=1,
        folds=1,
        n_bootstrap=0,
        **options,
    )
    return run_audit(data, schema, config)


def test_race_rebalancing_on_the_trial_table_runs(actg_audit):
    *_, results = actg_audit
    assert results.synthetic is not None and len(results.synthetic) > 0


# ------------------------------------------------------------------ 2. whole records


def test_synthetic_records_keep_every_column_in_the_input_coding(icu_table, icu_audit):
    data, schema, _, results = icu_audit
    synth, aug = results.synthetic, results.augmented_train
    expected = [c for c in icu_table.columns if c != "MRN"]
    assert list(synth.columns) == expected
    assert list(aug.drop(columns="source").columns) == expected
    assert synth["sex"].notna().all() and synth["race"].notna().all()
    assert aug["sex"].notna().all()
    assert set(synth["death"]) <= {"Yes", "No"} and set(aug["death"]) == {"Yes", "No"}
    assert "age_band" not in synth.columns
    # the real part of the augmented set is the user's own rows, untouched
    real = aug[aug["source"] == "real"].drop(columns="source")
    merged = real.merge(icu_table[expected], how="left", indicator=True)
    assert (merged["_merge"] == "both").all()


def test_sidecar_lists_dropped_identifiers_with_their_reason(icu_audit):
    data, schema, _, results = icu_audit
    files = synthetic_artefacts(results, data, schema)
    import json

    sidecar = json.loads(files["synthetic.columns.json"])
    dropped = {d["column"]: d["reason"] for d in sidecar["dropped_columns"]}
    assert "MRN" in dropped and dropped["MRN"]
    assert sidecar["n_rows"] == len(results.synthetic)
    header = files["synthetic.csv"].decode("utf-8").splitlines()[0].split(",")
    assert header == sidecar["columns"] and "MRN" not in header


def test_coded_race_is_generated_and_written_as_codes(actg, actg_audit):
    data, schema, _, results = actg_audit
    synth = results.synthetic
    assert synth["raceth"].notna().all() and synth["sex"].notna().all()
    assert set(synth["raceth"].astype(str)) <= set(actg["raceth"].astype(str))
    assert set(synth["censor"].astype(str)) <= {"0", "1"}
    # the labels are used in every result table
    groups = set(results.metrics.loc[results.metrics["attribute"] == "raceth", "group"])
    assert {"White", "Black", "Hispanic"} <= groups
    assert not groups & {"1", "2", "3"}


def test_sensitive_columns_are_model_inputs_when_asked(actg_audit):
    *_, config, results = actg_audit
    assert config.sensitive_as_features
    assert {"raceth", "sex", "age"} <= set(results.dataset["features"])


# ------------------------------------------------------------------ 3. no silent changes


def test_guardrail_says_when_a_group_loses_its_outcome_mix(actg_audit):
    *_, results = actg_audit
    plan = results.plan
    assert "blocked" in plan.columns
    blocked = plan[plan["blocked"]]
    assert len(blocked)
    notes = " ".join(results.strategy_notes.get("cddpm", []))
    assert "do not keep the group's outcome mix" in notes


def test_preview_shows_the_exact_plan_of_the_run(actg, actg_audit):
    data, schema, config, results = actg_audit
    preview = preview_plan(data, schema, config)
    assert preview.problem is None
    pd.testing.assert_frame_equal(
        preview.plan.reset_index(drop=True), results.plan.reset_index(drop=True)
    )
    assert preview.n_test == results.dataset["n_test"]
    assert preview.n_add_cddpm == len(results.synthetic)
    assert any("fewer than 20" in n for n in preview.notes)


# ------------------------------------------------------------------ 6. fairness labels


def test_base_rate_differences_are_flagged(icu_audit):
    *_, results = icu_audit
    codes = {f.code: f for f in fairness_findings(results)}
    assert "threshold" in codes
    assert any(
        f.code == "base_rates_differ" and f.attribute == "age_band"
        for f in fairness_findings(results)
    )
    rates = results.dataset["base_rates"]["age_band"]
    assert all(0 <= r["rate"] <= 1 and r["n"] > 0 for r in rates.values())


def test_rare_outcome_near_trivial_model_and_threshold_auroc_are_explained(actg_audit):
    *_, results = actg_audit
    codes = {f.code for f in fairness_findings(results)}
    assert "rare_outcome" in codes
    assert "threshold_auroc" in codes
    m = results.metrics
    for metric in ("balanced_accuracy", "pr_auc", "base_rate"):
        assert metric in set(m["metric"])


def test_near_trivial_model_is_flagged():
    rng = np.random.default_rng(0)
    n = 800
    df = pd.DataFrame(
        {
            "race": rng.choice(["a", "b"], size=n),
            "noise": rng.normal(size=n),
            "died": np.where(rng.random(n) < 0.05, "yes", "no"),
        }
    )
    results = _baseline_by_race(df, "died", "yes")
    trivial = [f for f in fairness_findings(results) if f.code == "near_trivial_model"]
    assert trivial and "predicting nobody positive" in trivial[0].text


# ------------------------------------------------------------------ 7. labels and merging


def test_merging_tiny_groups_keeps_codes_inside_the_merged_group(actg, tiny_config):
    data, schema = infer_schema(
        actg, target="censor", positive_class="1", sensitive=["raceth", "sex", "age"]
    )
    config = AuditConfig(
        "censor",
        sensitive=("raceth",),
        strategies=("none", "cddpm"),
        classifier="logreg",
        seeds=1,
        folds=1,
        n_bootstrap=0,
        cddpm_config=tiny_config,
        merge_below=20,
        allow_small_cells=True,
    )
    results = run_audit(data, schema, config)
    assert results.dataset["merged_groups"] == {"raceth (merged)": ["4", "5"]}
    groups = set(results.metrics.loc[results.metrics["attribute"] == "raceth (merged)", "group"])
    assert "other (merged)" in groups and not groups & {"4", "5"}
    synth = results.synthetic
    assert "raceth (merged)" not in synth.columns
    assert set(synth["raceth"].astype(str)) <= {"1", "2", "3", "4", "5"}


def test_bad_value_labels_are_refused_in_plain_words():
    from mcrage_core.tables.groups import parse_labels

    with pytest.raises(ConfigError, match="CODE:LABEL"):
        parse_labels(["raceth=1-White"])
    with pytest.raises(ConfigError, match="given to two codes"):
        parse_labels(["raceth=1:White,2:White"])
    assert parse_labels(["raceth=1:White, 2.0:Black"]) == {"raceth": {"1": "White", "2": "Black"}}


# ------------------------------------------------------------------ 8. fidelity verdicts


def test_fidelity_has_verdicts_and_a_within_group_detection_auc(icu_audit):
    *_, results = icu_audit
    overall = results.fidelity["overall"]
    assert set(overall["verdicts"]) >= {"column_shapes", "detection_auc"}
    assert overall["verdicts"]["detection_auc"] == fidelity_verdict(
        "detection_auc", overall["detection_auc"]
    )
    assert (
        "within groups" in overall["detection_auc_method"]
        or "pooled" in (overall["detection_auc_method"])
    )
    by_group = pd.DataFrame(results.fidelity["by_group"])
    aucs = pd.to_numeric(by_group["detection_auc"], errors="coerce").dropna()
    if len(aucs):
        assert aucs.min() - 1e-9 <= overall["detection_auc"] <= aucs.max() + 1e-9


# ------------------------------------------------------------------ 9. too small


def test_a_ten_row_table_is_refused_before_training(icu_table):
    tiny = icu_table.head(10)
    data, schema = infer_schema(tiny, target="death", sensitive=["race"])
    config = AuditConfig("death", sensitive=("race",), strategies=("none",), seeds=1, folds=1)
    with pytest.raises(DataError, match="too small"):
        run_audit(data, schema, config)
    assert preview_plan(data, schema, config).problem is not None


# ------------------------------------------------------------------ 10. formatting


def test_report_has_no_float_noise_and_whole_counts(actg_audit):
    from mcrage_core.presentation.report import render_report

    *_, results = actg_audit
    html = render_report(results)
    visible = re.sub(r"<script.*?</script>", "", html, flags=re.S)
    assert not re.search(r"\d\.\d{7,}", visible)
    assert not re.search(r">\d{2,}\.000<", visible)  # counts never carry decimals
    assert re.search(r"Exact copies</td><td>0<", visible)
    assert "White" in visible and "Decision threshold" in visible


def test_output_columns_keep_constant_and_empty_columns():
    df = pd.DataFrame(
        {"id": range(40), "c": ["x"] * 40, "e": [np.nan] * 40, "race": ["a", "b"] * 20}
    )
    _, schema = infer_schema(df, sensitive=["race"], detect_target=False)
    cols, dropped = output_columns(df, schema)
    assert "c" in cols and "e" in cols and "race" in cols
    assert "id" in dropped


def test_value_labels_apply_once_and_never_to_the_outcome():
    from mcrage_core.tables.groups import apply_labels

    df = pd.DataFrame({"r": [1, 2, 3, 1]})
    once, _ = apply_labels(df, {"r": {"1": "White", "2": "Black"}})
    twice, _ = apply_labels(once, {"r": {"1": "White", "2": "Black"}})
    assert once["r"].tolist() == twice["r"].tolist() == ["White", "Black", "3", "White"]
    rng = np.random.default_rng(1)
    table = pd.DataFrame(
        {
            "race": rng.choice([1, 2], size=400),
            "lab": rng.normal(size=400),
            "y": (rng.random(400) < 0.3).astype(int),
        }
    )
    results = _baseline_by_race(
        table,
        "y",
        "1",
        value_labels={"y": {"1": "died", "0": "alive"}, "race": {"1": "A", "2": "B"}},
    )
    assert any("outcome column 'y' were not used" in w for w in results.warnings)
    assert set(results.metrics.loc[results.metrics["attribute"] == "race", "group"]) == {"A", "B"}


def test_a_column_that_gives_the_outcome_away_is_flagged():
    rng = np.random.default_rng(2)
    n = 400
    y = (rng.random(n) < 0.4).astype(int)
    table = pd.DataFrame(
        {
            "race": rng.choice(["a", "b"], size=n),
            "lab": rng.normal(size=n),
            "days_to_death": np.where(y == 1, rng.integers(1, 100, n), 9999),
            "y": y,
        }
    )
    results = _baseline_by_race(table, "y", "1")
    assert "days_to_death" in results.dataset["leaky_columns"]
    assert "lab" not in results.dataset["leaky_columns"]
    assert any(f.code == "outcome_leak" for f in fairness_findings(results))
