"""The CDDPM facade: exact counts per cell, decoding, determinism, copies of real rows
and clear errors (tiny configurations)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import torch

from mcrage_core.diffusion import CDDPM, CDDPMConfig
from mcrage_core.errors import ConfigError

from .conftest import TARGET, TINY


def test_fit_models_the_table_and_reports_cells(fitted: tuple[CDDPM, Path], table) -> None:
    model, _ = fitted
    assert "patient_id" not in model.columns_
    assert any("patient_id" in n for n in model.notes_)
    assert any("empty" in n for n in model.notes_)  # rows without race were dropped
    assert list(model.cells_.columns) == ["race", "sex", TARGET, "n_real"]
    assert model.cells_["n_real"].sum() == table["race"].notna().sum()
    events = model.events  # type: ignore[attr-defined]
    assert events and events[-1].fraction == 1.0 and events[-1].step == TINY.train_steps
    assert all(e.loss is not None and e.rows_per_s and e.eta_s is not None for e in events)


def test_sample_returns_exact_counts_with_original_dtypes(fitted, table) -> None:
    model, _ = fitted
    counts = {("black", "female", 1): 7, ("asian", "male", 0): 3, ("white", "male", 1): 11}
    counts = {k: v for k, v in counts.items() if k in model.known_cells()}
    out = model.sample(counts, seed=1)
    got = out.groupby(["race", "sex", TARGET]).size().to_dict()
    assert got == counts
    assert list(out.columns) == [c for c in table.columns if c != "patient_id"]
    for c in out.columns:
        assert out[c].dtype == table[c].dtype, c
    for c in ("income", "disease_group", "cancer"):
        assert set(out[c].dropna()) <= set(table[c].dropna())
    assert (out["num_comorbidities"] == out["num_comorbidities"].round()).all()


def test_group_only_keys_are_split_by_the_real_outcome_mix(fitted) -> None:
    model, _ = fitted
    out = model.sample({("white", "male"): 40}, seed=0)
    assert len(out) == 40 and set(out["race"]) == {"white"} and set(out["sex"]) == {"male"}
    real = model.cells_[(model.cells_.race == "white") & (model.cells_.sex == "male")]
    expected = dict(zip(real[TARGET], real["n_real"] / real["n_real"].sum() * 40, strict=True))
    for outcome, n in out[TARGET].value_counts().items():
        assert abs(n - expected[outcome]) <= 1


def test_unknown_cell_names_the_known_cells(fitted) -> None:
    model, _ = fitted
    with pytest.raises(ConfigError, match="Known cells:.*white"):
        model.sample({("martian", "male", 1): 5})
    with pytest.raises(ConfigError):
        model.sample({("white", "male", 1): -1})


def test_sampling_is_deterministic_with_a_seed(fitted) -> None:
    model, _ = fitted
    counts = {model.known_cells()[0]: 9}
    a = model.sample(counts, seed=5)
    b = model.sample(counts, seed=5)
    c = model.sample(counts, seed=6)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)
    full = model.sample(counts, seed=5, method="ancestral")
    assert len(full) == 9 and model.last_sample_info_["network_evaluations"] == TINY.timesteps
    with pytest.raises(ConfigError, match="cond_drop_prob"):
        model.sample(counts, seed=5, guidance=2.0)


def test_guidance_needs_a_model_trained_with_dropped_conditions(table) -> None:
    cfg = TINY.with_overrides(cond_drop_prob=0.1, train_steps=6)
    model = CDDPM(cfg).fit(table, target=TARGET, condition="race")
    counts = {model.known_cells()[0]: 9}
    guided = model.sample(counts, seed=5, guidance=2.0, sampling_steps=5)
    assert model.last_sample_info_["network_evaluations"] == 10 and len(guided) == 9


def test_training_is_deterministic_with_a_seed(table) -> None:
    cfg = TINY.with_overrides(train_steps=6)
    a = CDDPM(cfg).fit(table, target=TARGET, condition="race")
    b = CDDPM(cfg).fit(table, target=TARGET, condition="race")
    for (ka, va), (kb, vb) in zip(
        a.model_.state_dict().items(), b.model_.state_dict().items(), strict=True
    ):
        assert ka == kb and torch.equal(va, vb)
    c = CDDPM(cfg.with_overrides(seed=4)).fit(table, target=TARGET, condition="race")
    assert not torch.equal(a.model_.out.bias, c.model_.out.bias)


def test_exact_copies_are_removed_and_topped_up(fitted, table) -> None:
    model, _ = fitted
    cell = model.known_cells()[0]
    out = model.sample({cell: 25}, seed=2)
    fake_real = pd.concat([table, out.iloc[:5]], ignore_index=True)
    again = model.sample({cell: 25}, seed=2, exclude_copies_of=fake_real)
    assert len(again) == 25
    assert model.last_sample_info_["exact_copies_removed"] >= 5


def test_counts_as_a_table_like_the_augmentation_plan(fitted) -> None:
    model, _ = fitted
    cells = model.cells_.head(2)
    plan = cells[["race", "sex", TARGET]].assign(n=[4.0, 2.0])
    out = model.sample(plan, seed=0)
    got = out.groupby(["race", "sex", TARGET]).size()
    assert got.to_dict() == {tuple(r[:3]): int(r[3]) for r in plan.itertuples(index=False)}
    with pytest.raises(ConfigError, match="columns"):
        model.sample(plan.drop(columns="n"))


def test_bad_arguments_give_clear_errors(table) -> None:
    with pytest.raises(ConfigError, match="nope"):
        CDDPM(TINY).fit(table, target="nope", condition="race")
    with pytest.raises(ConfigError, match="cannot also be"):
        CDDPM(TINY).fit(table, target=TARGET, condition=[TARGET])
    with pytest.raises(ConfigError, match="hidden"):
        CDDPMConfig(hidden=0)
    with pytest.raises(ConfigError, match="preset"):
        CDDPMConfig.preset("huge")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="not trained"):
        CDDPM(TINY).sample({("white", 1): 1})
