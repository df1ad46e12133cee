"""The cddpm strategy with the real diffusion engine (tiny model)."""

from __future__ import annotations

import pytest

from mcrage_core.evaluation.results import AuditResults

TARGET = "died_within_6_months"
pytestmark = pytest.mark.slow


def test_cddpm_rows_follow_the_plan_except_blocked_cells(cddpm_audit):
    results, _, config = cddpm_audit
    synth = results.synthetic
    assert synth is not None and len(synth) > 0
    plan = results.plan
    blocked = plan[(plan["n_add"] > 0) & (plan["n_real"] < config.min_cell_rows)]
    allowed = plan[(plan["n_add"] > 0) & (plan["n_real"] >= config.min_cell_rows)]
    got = synth.groupby(["race", TARGET]).size()
    for r in allowed.itertuples():
        assert got.get((r.race, getattr(r, TARGET)), 0) == r.n_add
    for r in blocked.itertuples():
        assert got.get((r.race, getattr(r, TARGET)), 0) == 0
        assert any(f"race = {r.race}" in w and "fewer than" in w for w in results.warnings)
    assert len(blocked) > 0  # the guardrail was exercised


def test_synthetic_rows_stay_out_of_the_test_set(cddpm_audit):
    results, _, _ = cddpm_audit
    aug = results.augmented_train
    assert set(aug["source"]) == {"real", "synthetic"}
    assert (aug["source"] == "synthetic").sum() == len(results.synthetic)
    n_test = len(results.test_index["0"])
    m = results.metrics
    assert set(m[m["attribute"] == "overall"]["n"]) == {n_test}
    assert results.dataset["n_train"] == (aug["source"] == "real").sum()


def test_fidelity_and_loss_history_are_reported(cddpm_audit):
    results, events, _ = cddpm_audit
    fid = results.fidelity
    assert fid is not None
    assert 0 <= fid["overall"]["dcr_closer_to_train_share"] <= 1
    assert fid["by_group"]  # per rebalanced group
    assert results.training["loss_history"]
    training_events = [e for e in events if e.step is not None]
    assert training_events and all(e.loss is not None for e in training_events)
    fr = [e.fraction for e in events]
    assert all(b >= a - 1e-12 for a, b in zip(fr, fr[1:], strict=False))


def test_cddpm_results_round_trip(cddpm_audit):
    results, _, _ = cddpm_audit
    assert AuditResults.from_json(results.to_json()) == results
    assert "cddpm" in results.to_dict()["strategies"]


def test_rebalancing_by_age_band_keeps_generated_ages_in_their_band(small_table, tiny_config):
    from mcrage_core.evaluation import AuditConfig, run_audit
    from mcrage_core.tables import add_age_band

    data, schema = small_table
    config = AuditConfig(
        TARGET,
        sensitive=("age",),
        rebalance=("age",),
        strategies=("none", "cddpm"),
        classifier="logreg",
        seeds=1,
        folds=1,
        n_bootstrap=0,
        allow_small_cells=True,
        cddpm_config=tiny_config,
    )
    results = run_audit(data, schema, config)
    synth = results.synthetic
    # the helper column is not part of the output contract: the input's columns only
    assert len(synth) > 0 and "age_band" not in synth.columns
    rebanded = add_age_band(synth, "age", schema.age_bands, name="check")
    got = rebanded.groupby(["check", TARGET], observed=True).size()
    plan = results.plan
    for r in plan[plan["n_add"] > 0].itertuples():
        assert got.get((r.age_band, getattr(r, TARGET)), 0) == r.n_add
    assert results.primary_attribute == "age_band"


def test_cancelled_audit_resumes_diffusion_training_from_its_checkpoint(
    small_table, tiny_config, tmp_path
):
    from mcrage_core.errors import TrainingCancelled
    from mcrage_core.evaluation import AuditConfig, run_audit

    data, schema = small_table
    cfg = tiny_config.with_overrides(train_steps=200, checkpoint_every=20)
    config = AuditConfig(
        TARGET,
        sensitive=("race",),
        strategies=("none", "cddpm"),
        classifier="logreg",
        seeds=1,
        folds=1,
        n_bootstrap=10,
        cddpm_config=cfg,
    )
    first: list = []

    def stop_after_60_steps() -> bool:
        return any((e.step or 0) >= 60 for e in first)

    with pytest.raises(TrainingCancelled):
        run_audit(
            data,
            schema,
            config,
            progress=first.append,
            should_stop=stop_after_60_steps,
            workdir=tmp_path,
        )
    assert (tmp_path / "cddpm_seed0").exists()

    second: list = []
    results = run_audit(data, schema, config, progress=second.append, workdir=tmp_path)
    steps = [e.step for e in second if e.step is not None]
    assert steps and steps[0] > 40  # continued from the checkpoint, not from step 1
    assert steps[-1] == 200
    assert len(results.synthetic) > 0
