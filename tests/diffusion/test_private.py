"""Differentially private training (DP-SGD through Opacus): it trains and samples, the ε
it reports is the accountant's, the clipping is per row, the settings are checked, the
privacy record survives save/load, and non-private runs never import Opacus."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch

pytest.importorskip("opacus")

from opacus.accountants import RDPAccountant  # noqa: E402
from opacus.accountants.utils import get_noise_multiplier  # noqa: E402

from mcrage_core.diffusion import CDDPM, CDDPMConfig, Denoiser, NoiseSchedule  # noqa: E402
from mcrage_core.diffusion.checkpoint import training_fingerprint  # noqa: E402
from mcrage_core.diffusion.private import (  # noqa: E402
    DP_COVERS,
    DP_DOES_NOT_COVER,
    PrivacyPlan,
    PrivateTraining,
    default_delta,
)
from mcrage_core.diffusion.train_settings import DP_TIME_FACTOR  # noqa: E402
from mcrage_core.diffusion.trainer import Trainer, TrainerSettings  # noqa: E402
from mcrage_core.errors import ConfigError, TrainingCancelled  # noqa: E402

from .conftest import TARGET, TINY  # noqa: E402

PRIVATE = TINY.with_overrides(dp_epsilon=4.0, train_steps=16)


@pytest.fixture(scope="module")
def private_run(table, tmp_path_factory: pytest.TempPathFactory) -> tuple[CDDPM, Path]:
    run = tmp_path_factory.mktemp("dp") / "run"
    model = CDDPM(PRIVATE).fit(table, target=TARGET, condition="race", run_dir=run)
    return model, run


def test_private_training_runs_and_samples(private_run) -> None:
    model, _ = private_run
    info = model.train_info_
    dp = info["dp"]
    assert info["steps"] == dp["steps"] == dp["planned_steps"] == 16
    assert info["stop_reason"] == "steps" and info["validation_rows"] == 0
    assert info["amp"] == "off"
    assert dp["accountant"] == "rdp" and dp["secure_mode"] is False
    assert dp["expected_batch_size"] == 64 and dp["max_grad_norm"] == 1.0
    assert dp["delta"] == default_delta(info["n_train_rows"]) == 1e-5
    assert info["dp_covers"] == DP_COVERS and info["dp_does_not_cover"] == DP_DOES_NOT_COVER
    assert "rows per cell" in DP_DOES_NOT_COVER and "quantiles" in DP_DOES_NOT_COVER
    assert any("Differentially private" in n for n in model.notes_)
    synth = model.sample({("white", 1): 7, ("black", 0): 5}, seed=1)
    assert len(synth) == 12 and list(synth.columns) == model.output_columns_
    assert synth.drop(columns=["race", TARGET]).notna().any(axis=None)
    # the network used for sampling carries no Opacus hooks or attributes
    assert not hasattr(model.model_, "autograd_grad_sample_hooks")
    assert model.model_.share_time_mlp


@pytest.mark.filterwarnings("ignore:Optimal order is the largest alpha")
def test_reported_epsilon_is_the_accountants(private_run) -> None:
    model, _ = private_run
    dp = model.train_info_["dp"]
    n = model.train_info_["n_train_rows"]
    assert dp["sample_rate"] == pytest.approx(64 / n)
    accountant = RDPAccountant()
    accountant.history = [(dp["noise_multiplier"], dp["sample_rate"], dp["steps"])]
    assert dp["epsilon_spent"] == pytest.approx(accountant.get_epsilon(delta=dp["delta"]))
    assert dp["epsilon_spent"] <= dp["epsilon_target"] + 1e-9
    assert dp["epsilon_spent"] >= dp["epsilon_target"] - 0.05  # the budget is used
    sigma = get_noise_multiplier(
        target_epsilon=4.0,
        target_delta=dp["delta"],
        sample_rate=dp["sample_rate"],
        steps=dp["steps"],
        accountant="rdp",
    )
    assert dp["noise_multiplier"] == pytest.approx(sigma)


def test_smaller_epsilon_needs_more_noise() -> None:
    settings = TrainerSettings.from_config(TINY.with_overrides(dp_epsilon=10.0))
    sigmas = [
        PrivacyPlan.make(replace(settings, dp_epsilon=eps), 9105).noise_multiplier
        for eps in (10.0, 3.0, 1.0)
    ]
    assert sigmas[0] < sigmas[1] < sigmas[2]
    # a larger table gives a lower sampling rate, hence less noise for the same ε
    assert PrivacyPlan.make(settings, 90000).noise_multiplier < sigmas[0]
    with pytest.raises(ConfigError, match="too small"):
        PrivacyPlan.make(replace(settings, dp_epsilon=1e-9, steps=10**6), 100)


def test_default_delta_stays_below_one_over_n() -> None:
    for n in (10, 600, 9105, 10_000, 10**6):
        assert default_delta(n) <= min(1e-5, 1 / (10 * n))
    assert default_delta(9105) == 1e-5 and default_delta(10**6) == pytest.approx(1e-7)


def test_privacy_settings_are_validated() -> None:
    for bad, rule in [
        ({"dp_epsilon": 0.0}, "dp_epsilon.*positive"),
        ({"dp_epsilon": -1.0}, "dp_epsilon.*positive"),
        ({"dp_epsilon": float("inf")}, "dp_epsilon.*positive"),
        ({"dp_epsilon": "ten"}, "dp_epsilon.*positive"),
        ({"dp_delta": 0.0}, "dp_delta.*between 0 and 1"),
        ({"dp_delta": 1.0}, "dp_delta.*between 0 and 1"),
        ({"max_grad_norm": 0.0}, "max_grad_norm.*positive"),
        ({"max_grad_norm": float("nan")}, "max_grad_norm.*positive"),
        ({"dp_steps": 0}, "dp_steps.*at least 1"),
        ({"dp_batch_size": 2.5}, "dp_batch_size.*at least 1"),
        ({"dp_secure_mode": "yes"}, "dp_secure_mode.*True or False"),
    ]:
        with pytest.raises(ConfigError, match=rule):
            CDDPMConfig().with_overrides(**bad)
    cfg = CDDPMConfig(dp_epsilon=1, dp_delta=1e-6, max_grad_norm=0.5)
    assert CDDPMConfig.from_dict(cfg.to_dict()) == cfg


def test_private_settings_follow_the_plan() -> None:
    quick = CDDPMConfig.preset("quick", device="cpu")
    assert quick.dp_steps is not None and quick.dp_batch_size is not None
    plain = TrainerSettings.from_config(quick)
    private = TrainerSettings.from_config(quick.with_overrides(dp_epsilon=1.0))
    assert (plain.steps, plain.batch_size) == (quick.train_steps, quick.batch_size)
    assert (private.steps, private.batch_size) == (quick.dp_steps, quick.dp_batch_size)
    assert private.validation_fraction == 0 and private.amp == "off"
    assert private.time_budget_s == pytest.approx(quick.time_budget_s * DP_TIME_FACTOR)
    # --steps N plans exactly N private steps
    fixed = TrainerSettings.from_config(quick.with_steps(300).with_overrides(dp_epsilon=1.0))
    assert (fixed.steps, fixed.time_budget_s) == (300, None)


def test_non_private_fingerprint_ignores_privacy_settings(table) -> None:
    cols, features = ["race", TARGET], ["age"]

    def fingerprint(cfg: CDDPMConfig) -> str:
        return training_fingerprint(cfg, cols, features, table)

    assert fingerprint(TINY) == fingerprint(TINY.with_overrides(max_grad_norm=3.0, dp_steps=5))
    assert fingerprint(PRIVATE) != fingerprint(PRIVATE.with_overrides(dp_epsilon=2.0))


@pytest.mark.filterwarnings("ignore:Full backward hook is firing")
def test_gradients_are_clipped_per_row_before_summing() -> None:
    torch.manual_seed(0)
    net = Denoiser(6, [3, 2], hidden=16, depth=1, timesteps=20)
    settings = TrainerSettings.from_config(TINY.with_overrides(dp_epsilon=1.0, batch_size=8))
    trainer = Trainer(net, NoiseSchedule(20), settings, device=torch.device("cpu"))
    plan = replace(PrivacyPlan.make(settings, 32), noise_multiplier=0.0, max_grad_norm=0.05)
    private = PrivateTraining(trainer, plan)
    x, cond = torch.randn(32, 6), torch.stack([torch.arange(32) % 3, torch.arange(32) % 2], 1)
    null = torch.tensor([3, 2])
    state = trainer.generator.get_state()
    x0, t, noise, c = private._draw_batch(x, cond, null)
    trainer.generator.set_state(state)
    private.module.disable_hooks()  # plain autograd for the reference
    expected = [torch.zeros_like(p) for p in net.parameters()]
    assert x0.shape[0] > 1
    for i in range(x0.shape[0]):
        r = slice(i, i + 1)
        xt = trainer.schedule.add_noise(x0[r], noise[r], t[r])
        loss = private._row_losses(net(xt, t[r], c[r]), noise[r], t[r])
        grads = torch.autograd.grad(loss.sum(), list(net.parameters()))
        norm = torch.sqrt(sum(g.pow(2).sum() for g in grads))
        assert norm > plan.max_grad_norm  # so that clipping matters
        for e, g in zip(expected, grads, strict=True):
            e += g * min(1.0, plan.max_grad_norm / float(norm))
    private.module.enable_hooks()
    private.optimizer.original_optimizer.step = lambda *a, **k: None  # keep p.grad to compare
    private.step(x, cond, null, lr=1e-3)
    for p, e in zip(net.parameters(), expected, strict=True):
        torch.testing.assert_close(p.grad, e / plan.expected_batch_size, rtol=1e-4, atol=1e-7)
    private.close()


def test_an_empty_poisson_batch_still_takes_a_noise_step() -> None:
    net = Denoiser(6, [3], hidden=8, depth=1)
    settings = TrainerSettings.from_config(TINY.with_overrides(dp_epsilon=1.0, batch_size=8))
    trainer = Trainer(net, NoiseSchedule(20), settings, device=torch.device("cpu"))
    private = PrivateTraining(trainer, replace(PrivacyPlan.make(settings, 32), sample_rate=0.0))
    before = [p.detach().clone() for p in net.parameters()]
    loss = private.step(
        torch.randn(32, 6), torch.zeros(32, 1, dtype=torch.long), torch.tensor([3]), 1e-2
    )
    assert float(loss) == 0.0
    assert any(not torch.equal(a, b) for a, b in zip(before, net.parameters(), strict=True))
    private.close()


def test_secure_mode_draws_fresh_randomness(table) -> None:
    cfg = PRIVATE.with_overrides(train_steps=3, dp_secure_mode=True)
    a, b = (CDDPM(cfg).fit(table, target=TARGET, condition="race") for _ in range(2))
    assert a.train_info_["dp"]["secure_mode"] is True
    first = next(iter(a.model_.state_dict().values()))
    assert not torch.equal(first, next(iter(b.model_.state_dict().values())))


def test_private_run_resumes_exactly(table, tmp_path: Path) -> None:
    cfg = PRIVATE.with_overrides(train_steps=8, checkpoint_every=4)
    straight = CDDPM(cfg).fit(table, target=TARGET, condition="race")
    calls = {"n": 0}

    def stop_after_5() -> bool:
        calls["n"] += 1
        return calls["n"] > 5

    run = tmp_path / "run"
    with pytest.raises(TrainingCancelled):
        CDDPM(cfg).fit(
            table, target=TARGET, condition="race", run_dir=run, should_stop=stop_after_5
        )
    resumed = CDDPM(cfg).fit(table, target=TARGET, condition="race", run_dir=run, resume=True)
    assert resumed.train_info_["dp"] == straight.train_info_["dp"]
    for a, b in zip(
        straight.model_.state_dict().values(), resumed.model_.state_dict().values(), strict=True
    ):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_save_and_load_keep_the_privacy_record(private_run) -> None:
    model, run = private_run
    loaded = CDDPM.load(run, device="cpu")
    assert loaded.config.dp_epsilon == 4.0
    for key in ("dp", "dp_covers", "dp_does_not_cover"):
        assert loaded.train_info_[key] == model.train_info_[key]  # type: ignore[literal-required]
    assert len(loaded.sample({("white", 0): 3}, seed=0)) == 3


def test_cli_trains_privately_and_prints_the_budget(
    support2_small, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from mcrage_core.cli import main

    csv = tmp_path / "real.csv"
    support2_small.to_csv(csv, index=False)
    args = ["train", str(csv), "--target", TARGET, "--condition", "race", "--out"]
    args += [str(tmp_path / "m"), "--steps", "6", "--device", "cpu", "--quiet"]
    assert main([*args, "--dp-epsilon", "8", "--dp-delta", "1e-6", "--max-grad-norm", "2"]) == 0
    out = capsys.readouterr().out
    assert "Differential privacy: ε = " in out and "spent of 8 (δ = 1e-06) in 6 DP-SGD" in out
    assert "clipping bound 2" in out and "does not cover" in out
    assert CDDPM.load(tmp_path / "m").train_info_["dp"]["epsilon_spent"] <= 8
    assert main([*args, "--dp-delta", "1e-6"]) == 2  # δ without ε is refused


def test_non_private_training_never_imports_opacus(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m == "opacus" or m.startswith("opacus.")]:
        monkeypatch.setitem(sys.modules, name, None)  # any import of opacus now fails
    monkeypatch.setitem(sys.modules, "opacus", None)
    cfg = TINY.with_overrides(train_steps=3)
    trainer = Trainer(
        Denoiser(4, [2], hidden=8, depth=1),
        NoiseSchedule(50),
        TrainerSettings.from_config(cfg),
        device=torch.device("cpu"),
    )
    trainer.train(torch.randn(40, 4), torch.randint(0, 2, (40, 1)))
    assert trainer.step == 3 and trainer.private is None
    with pytest.raises(ImportError):
        Trainer(
            Denoiser(4, [2], hidden=8, depth=1),
            NoiseSchedule(50),
            TrainerSettings.from_config(cfg.with_overrides(dp_epsilon=1.0)),
            device=torch.device("cpu"),
        ).train(torch.randn(40, 4), torch.randint(0, 2, (40, 1)))
