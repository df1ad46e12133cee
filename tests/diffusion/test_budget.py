"""Time budgets, held-out validation and early stopping, and the fast sampler.

A preset is a time budget: training ends at the budget, at the step ceiling, or when the
held-out loss stops improving, and says which. DPM-Solver++ must draw from the right
distribution: with the exact denoiser of Gaussian data it must reproduce its mean and
spread, as the full ancestral chain does.
"""

from __future__ import annotations

import math
import time

import pytest
import torch
from torch import nn

from mcrage_core.diffusion import (
    CDDPM,
    DEFAULT_PRESET,
    PRESET_LABELS,
    PRESET_NAMES,
    STOP_REASONS,
    CDDPMConfig,
    NoiseSchedule,
    sample_matrix,
)
from mcrage_core.diffusion.validation import MIN_CELL_ROWS, EarlyStopping, ValidationSet
from mcrage_core.errors import ConfigError

from .conftest import TARGET, TINY


def test_every_preset_is_a_time_budget_with_a_label() -> None:
    from mcrage_core.evaluation import AuditConfig
    from mcrage_core.jobs import DEFAULTS

    audit_default = AuditConfig.__dataclass_fields__["cddpm_preset"].default
    assert DEFAULT_PRESET == audit_default == DEFAULTS.preset == "quick"
    budgets = []
    for name in ("quick", "standard", "thorough"):
        cfg = CDDPMConfig.preset(name, device="cpu")
        assert cfg.time_budget_s is not None and cfg.validation_fraction > 0, name
        budgets.append(cfg.time_budget_s)
    assert budgets == sorted(budgets) and budgets[0] <= 60
    assert set(PRESET_LABELS) == set(PRESET_NAMES)
    assert "1 minute" in PRESET_LABELS["quick"][1]
    tiny = CDDPMConfig.preset("tiny", device="cpu")
    assert tiny.time_budget_s is None and tiny.validation_fraction == 0  # deterministic
    fixed = CDDPMConfig.preset("quick", device="cpu").with_steps(123)
    assert (fixed.train_steps, fixed.time_budget_s) == (123, None)
    for bad in ({"time_budget_s": 0}, {"time_budget_s": -5.0}, {"validation_fraction": 0.9}):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            TINY.with_overrides(**bad)


def test_validation_rows_never_empty_a_rare_cell() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1000, 4)
    cond = torch.zeros(1000, 2, dtype=torch.long)
    cond[:10, 0] = 1  # a rare cell of 10 rows
    cond[10:400, 1] = 1
    rows, val = ValidationSet.split(x, cond, fraction=0.1, timesteps=100, generator=g)
    assert val is not None and 90 <= len(val) <= 100
    assert len(rows) + len(val) == 1000
    assert set(range(10)) <= set(rows.tolist())  # the rare cell keeps every row
    kept = torch.ones(1000, dtype=torch.bool)
    kept[rows] = False
    assert {tuple(r) for r in val.x.tolist()} == {tuple(r) for r in x[kept].tolist()}
    assert int(val.t.min()) >= 0 and int(val.t.max()) <= 99 and val.t.unique().numel() > 50
    # too few rows to hold out: no validation, everything trains
    rows, none = ValidationSet.split(x[:60], cond[:60], fraction=0.1, timesteps=100, generator=g)
    assert none is None and len(rows) == 60
    assert MIN_CELL_ROWS > 10


def test_early_stopping_keeps_the_best_weights() -> None:
    losses = iter([1.0, 0.8, 0.7, 0.71, 0.72, 0.70, 0.75])
    net = nn.Linear(2, 2)
    stopper = EarlyStopping(lambda _net: next(losses), patience=3)
    stops = []
    for step in range(1, 7):
        with torch.no_grad():
            net.weight.fill_(step)
        stops.append(stopper.check(net, step))
    assert stops == [False, False, False, False, False, True]
    assert stopper.best == 0.7 and stopper.best_step == 3
    assert stopper.restore_best(net) and float(net.weight[0, 0].detach()) == 3.0


def test_training_stops_at_its_time_budget(table) -> None:
    cfg = TINY.with_overrides(train_steps=10**6, time_budget_s=1.5, checkpoint_every=0)
    t0 = time.perf_counter()
    model = CDDPM(cfg).fit(table, target=TARGET, condition="race")
    assert time.perf_counter() - t0 < 15
    info = model.train_info_
    assert info["stop_reason"] == "time" and info["stopped_because"] == STOP_REASONS["time"]
    assert info["time_budget_s"] == 1.5 and 1.4 <= model.train_log_[-1]["elapsed_s"] < 3
    assert 0 < info["steps"] < 10**6
    # the learning rate follows the clock down to a tenth, as over a full step schedule
    assert model.train_log_[-1]["lr"] == pytest.approx(0.1 * cfg.lr, rel=0.05)
    assert model.train_log_[0]["lr"] > 0.5 * cfg.lr


def test_training_stops_when_the_held_out_loss_stops_improving(table) -> None:
    cfg = TINY.with_overrides(
        train_steps=4000, validation_fraction=0.2, patience=2, lr=0.02, checkpoint_every=0
    )
    model = CDDPM(cfg).fit(table, target=TARGET, condition="race")
    info = model.train_info_
    assert info["stop_reason"] == "plateau" and info["steps"] < 4000
    assert info["validation_rows"] >= 50
    assert any("validation loss" in n for n in model.notes_)
    val = [e["val_loss"] for e in model.train_log_ if "val_loss" in e]
    assert val and all(math.isfinite(v) for v in val)


class _GaussianDenoiser(nn.Module):
    """The exact noise predictor for data drawn from N(mean, std^2) in every column."""

    def __init__(self, schedule: NoiseSchedule, mean: float, std: float, dim: int) -> None:
        super().__init__()
        self.abar = schedule.alphas_cumprod.float()
        self.mean, self.var, self.dim, self.hidden = mean, std**2, dim, 8

    def null_condition(self, batch: int, device: torch.device) -> torch.Tensor:
        return torch.zeros(batch, 1, dtype=torch.long, device=device)

    def forward(self, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        a = self.abar[t].unsqueeze(-1)
        x0 = self.mean + a.sqrt() * self.var * (x - a.sqrt() * self.mean) / (a * self.var + 1 - a)
        return (x - a.sqrt() * x0) / (1 - a).sqrt()


def _gaussian_draws(method: str, steps: int | None) -> torch.Tensor:
    schedule = NoiseSchedule(250)
    model = _GaussianDenoiser(schedule, mean=1.5, std=0.5, dim=3)
    return sample_matrix(
        model,  # type: ignore[arg-type]
        schedule,
        torch.zeros(20000, 1, dtype=torch.long),
        method=method,  # type: ignore[arg-type]
        steps=steps,
        eta=1.0,
        generator=torch.Generator().manual_seed(0),
        device=torch.device("cpu"),
        clip_sample=None,
    )


@pytest.mark.parametrize(("method", "steps"), [("dpmpp", 16), ("ancestral", None)])
def test_samplers_reproduce_the_data_distribution(method: str, steps: int | None) -> None:
    out = _gaussian_draws(method, steps)
    assert out.shape == (20000, 3)
    assert float(out.mean()) == pytest.approx(1.5, abs=0.02)
    assert float(out.std()) == pytest.approx(0.5, abs=0.03)


def test_dpm_solver_keeps_the_spread_that_few_ddim_steps_lose() -> None:
    # Strided DDIM plugs in the denoised estimate as if it were certain, so big steps
    # shrink the spread; the second-order solver keeps most of it.
    for steps in (8, 16):
        ddim = float(_gaussian_draws("ddim", steps).std())
        dpmpp = float(_gaussian_draws("dpmpp", steps).std())
        assert abs(dpmpp - 0.5) < 0.5 * abs(ddim - 0.5), steps


def test_the_default_sampler_is_dpm_solver(fitted) -> None:
    model, _ = fitted
    out = model.sample({model.known_cells()[0]: 5}, seed=1)
    info = model.last_sample_info_
    assert len(out) == 5 and info["method"] == "dpmpp"
    assert info["network_evaluations"] == TINY.sampling_steps
    assert CDDPMConfig().sampling_method == "dpmpp" and CDDPMConfig().sampling_steps <= 20
