"""Training: cancel and resume give the same weights as an uninterrupted run, checkpoint
failures are clear, and the trainer's settings come from the model config."""

from __future__ import annotations

import json
from dataclasses import asdict, fields
from pathlib import Path

import pytest
import torch

from mcrage_core.diffusion import CDDPM, CDDPMConfig, TrainerSettings
from mcrage_core.errors import ModelFileError, TrainingCancelled

from .conftest import TARGET, TINY


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


def test_unwritable_checkpoint_folder_fails_clearly(table, tmp_path: Path) -> None:
    from mcrage_core.errors import TrainingFailed

    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the run folder should go")
    cfg = TINY.with_overrides(train_steps=4, checkpoint_every=2)
    with pytest.raises(TrainingFailed, match="checkpoint"):
        CDDPM(cfg).fit(table, target=TARGET, condition="race", run_dir=blocker)


def test_trainer_settings_come_from_the_config() -> None:
    cfg = CDDPMConfig.preset("thorough", device="cpu").with_overrides(
        lr=5e-4, seed=9, checkpoint_every=7, amp="off", cond_drop_prob=0.2
    )
    settings = TrainerSettings.from_config(cfg)
    shared = {
        "steps": cfg.train_steps,
        "batch_size": cfg.batch_size,
        "lr": cfg.lr,
        "weight_decay": cfg.weight_decay,
        "ema_decay": cfg.ema_decay,
        "grad_clip": cfg.grad_clip,
        "cond_drop_prob": cfg.cond_drop_prob,
        "checkpoint_every": cfg.checkpoint_every,
        "amp": cfg.amp,
        "seed": cfg.seed,
    }
    assert {k: v for k, v in asdict(settings).items() if k in shared} == shared
    # round trip: the settings written to a checkpoint rebuild the same object
    assert TrainerSettings(**asdict(settings)) == settings
    # the defaults live in CDDPMConfig only: a setting it shares has no default here
    for f in fields(TrainerSettings):
        if f.name in shared:
            assert f.default is f.default_factory, f.name  # both MISSING
    with pytest.raises(TypeError):
        TrainerSettings()  # type: ignore[call-arg]


def test_validation_rows_are_capped_on_long_tables() -> None:
    """A long table holds out at most MAX_VALIDATION_ROWS rows, spread over its cells; a
    short one keeps its share."""
    import torch

    from mcrage_core.diffusion.validation import MAX_VALIDATION_ROWS, ValidationSet

    gen = torch.Generator().manual_seed(0)
    n = 400_000
    x = torch.zeros((n, 3))
    cond = torch.randint(0, 4, (n, 1), generator=gen)
    train_rows, val = ValidationSet.split(x, cond, fraction=0.05, timesteps=100, generator=gen)
    assert val is not None and MAX_VALIDATION_ROWS - 8 <= len(val) <= MAX_VALIDATION_ROWS
    assert len(train_rows) + len(val) == n
    assert set(val.cond[:, 0].tolist()) == {0, 1, 2, 3}
    short = 9_105
    _, small = ValidationSet.split(
        x[:short], cond[:short], fraction=0.05, timesteps=100, generator=gen
    )
    assert small is not None and len(small) >= int(short * 0.05) - 4
