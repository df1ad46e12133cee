"""CDDPM facade: exact counts per cell, decoding, determinism, persistence, resume,
cancel, and refusal of corrupted or tampered model folders (tiny configurations)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import load_file, save_file

from mcrage_core.diffusion import CDDPM, CDDPMConfig, resolve_device
from mcrage_core.errors import ConfigError, ModelFileError, TrainingCancelled
from mcrage_core.progress import ProgressEvent

TARGET = "died_within_6_months"
TINY = CDDPMConfig(
    hidden=32,
    depth=2,
    train_steps=20,
    timesteps=50,
    batch_size=64,
    sampling_steps=10,
    seed=3,
    cpu_threads=1,
)


@pytest.fixture(scope="module")
def table(support2_small: pd.DataFrame) -> pd.DataFrame:
    df = support2_small.copy()
    df["patient_id"] = [f"P{i:05d}" for i in range(len(df))]  # identifier: must be left out
    return df


@pytest.fixture(scope="module")
def fitted(table: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> tuple[CDDPM, Path]:
    run = tmp_path_factory.mktemp("cddpm") / "run"
    events: list[ProgressEvent] = []
    model = CDDPM(TINY).fit(
        table, target=TARGET, condition=["race", "sex"], run_dir=run, progress=events.append
    )
    model.events = events  # type: ignore[attr-defined]
    return model, run


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


def test_save_load_round_trip(fitted) -> None:
    model, run = fitted
    assert {p.name for p in run.iterdir()} >= {
        "config.json",
        "model.safetensors",
        "encoder.json",
        "encoder.safetensors",
        "training_log.json",
        "manifest.json",
    }
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["mcrage_version"] and cfg["format"] == "mcrage-cddpm"
    loaded = CDDPM.load(run, device="cpu")
    counts = {c: 4 for c in model.known_cells()[:3]}
    pd.testing.assert_frame_equal(loaded.sample(counts, seed=9), model.sample(counts, seed=9))
    pd.testing.assert_frame_equal(loaded.cells_, model.cells_)


def _copy_run(run: Path, dest: Path) -> Path:
    dest.mkdir()
    for p in run.iterdir():
        if p.is_file():
            (dest / p.name).write_bytes(p.read_bytes())
    return dest


def test_tampered_or_corrupted_folders_are_refused(fitted, tmp_path: Path) -> None:
    _, run = fitted
    # flipped byte in the weights
    d = _copy_run(run, tmp_path / "a")
    raw = bytearray((d / "model.safetensors").read_bytes())
    raw[-3] ^= 0xFF
    (d / "model.safetensors").write_bytes(bytes(raw))
    with pytest.raises(ModelFileError, match="checksum"):
        CDDPM.load(d)
    # edited settings
    d = _copy_run(run, tmp_path / "b")
    (d / "config.json").write_text(
        (d / "config.json").read_text().replace('"hidden": 32', '"hidden": 64')
    )
    with pytest.raises(ModelFileError, match="checksum"):
        CDDPM.load(d)
    # missing file
    d = _copy_run(run, tmp_path / "c")
    (d / "encoder.json").unlink()
    with pytest.raises(ModelFileError, match="missing"):
        CDDPM.load(d)
    # weights of the wrong shape, with a manifest forged to match: the shapes are checked
    d = _copy_run(run, tmp_path / "d")
    state = load_file(str(d / "model.safetensors"))
    state["out.bias"] = torch.zeros(3)
    save_file(state, str(d / "model.safetensors"))
    manifest = json.loads((d / "manifest.json").read_text())
    import hashlib

    manifest["sha256"]["model.safetensors"] = hashlib.sha256(
        (d / "model.safetensors").read_bytes()
    ).hexdigest()
    (d / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelFileError, match="cannot be loaded"):
        CDDPM.load(d)
    # another format version
    d = _copy_run(run, tmp_path / "e")
    manifest = json.loads((d / "manifest.json").read_text())
    manifest["format_version"] = 99
    (d / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelFileError, match="version"):
        CDDPM.load(d)
    with pytest.raises(ModelFileError, match="does not exist"):
        CDDPM.load(tmp_path / "nowhere")


def test_cancel_then_resume_equals_uninterrupted_training(table, tmp_path: Path) -> None:
    cfg = TINY.with_overrides(train_steps=12, checkpoint_every=4)
    straight = CDDPM(cfg).fit(table, target=TARGET, condition="race")
    calls = {"n": 0}

    def stop_after_7() -> bool:
        calls["n"] += 1
        return calls["n"] > 7

    run = tmp_path / "run"
    with pytest.raises(TrainingCancelled, match="step 7"):
        CDDPM(cfg).fit(
            table, target=TARGET, condition="race", run_dir=run, should_stop=stop_after_7
        )
    assert (run / "checkpoint" / "state.json").exists()
    assert json.loads((run / "checkpoint" / "state.json").read_text())["step"] == 7
    resumed = CDDPM(cfg).fit(table, target=TARGET, condition="race", run_dir=run, resume=True)
    for (k, a), (_, b) in zip(
        straight.model_.state_dict().items(), resumed.model_.state_dict().items(), strict=True
    ):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=k)
    assert [e["step"] for e in resumed.train_log_] == [e["step"] for e in straight.train_log_]
    # a checkpoint made from another table cannot be resumed
    with pytest.raises(ModelFileError, match="different table"):
        CDDPM(cfg).fit(table.iloc[:300], target=TARGET, condition="race", run_dir=run, resume=True)


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


def test_presets_and_device_resolution() -> None:
    quick, standard, thorough = (
        CDDPMConfig.preset(n, device="cpu") for n in ("quick", "standard", "thorough")
    )
    assert quick.train_steps * quick.hidden < standard.train_steps * standard.hidden
    assert standard.train_steps * standard.hidden < thorough.train_steps * thorough.hidden
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type in {"cpu", "cuda", "mps"}
    with pytest.raises(ConfigError):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="no CUDA"):
            resolve_device("cuda")
    assert CDDPMConfig.from_dict(standard.to_dict()) == standard
    assert np.isfinite(standard.lr)


def test_counts_as_a_table_like_the_augmentation_plan(fitted) -> None:
    model, _ = fitted
    cells = model.cells_.head(2)
    plan = cells[["race", "sex", TARGET]].assign(n=[4.0, 2.0])
    out = model.sample(plan, seed=0)
    got = out.groupby(["race", "sex", TARGET]).size()
    assert got.to_dict() == {tuple(r[:3]): int(r[3]) for r in plan.itertuples(index=False)}
    with pytest.raises(ConfigError, match="columns"):
        model.sample(plan.drop(columns="n"))


def test_unwritable_checkpoint_folder_fails_clearly(table, tmp_path: Path) -> None:
    from mcrage_core.errors import TrainingFailed

    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the run folder should go")
    cfg = TINY.with_overrides(train_steps=4, checkpoint_every=2)
    with pytest.raises(TrainingFailed, match="checkpoint"):
        CDDPM(cfg).fit(table, target=TARGET, condition="race", run_dir=blocker)
