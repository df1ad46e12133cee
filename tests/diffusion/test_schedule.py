"""Noise schedules and the shared DDPM/DDIM step."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mcrage_core.diffusion import NoiseSchedule
from mcrage_core.errors import ConfigError


@pytest.mark.parametrize("kind", ["linear", "cosine"])
def test_schedule_is_a_valid_monotone_noise_process(kind: str) -> None:
    s = NoiseSchedule(200, kind=kind)
    abar = s.alphas_cumprod
    assert abar.shape == (200,)
    assert torch.all(abar[1:] < abar[:-1])
    assert 0.9 < float(abar[0]) <= 1.0
    assert float(abar[-1]) < 0.01


def test_add_noise_matches_closed_form() -> None:
    s = NoiseSchedule(100, kind="cosine")
    x0 = torch.randn(8, 3, generator=torch.Generator().manual_seed(0))
    eps = torch.randn(8, 3, generator=torch.Generator().manual_seed(1))
    t = torch.arange(8) * 12
    xt = s.add_noise(x0, eps, t)
    a = s.alphas_cumprod[t].float().unsqueeze(-1)
    torch.testing.assert_close(xt, a.sqrt() * x0 + (1 - a).sqrt() * eps)


def test_sampling_timesteps_full_and_strided() -> None:
    s = NoiseSchedule(1000)
    assert s.sampling_timesteps(None) == list(range(999, -1, -1))
    strided = s.sampling_timesteps(50)
    assert len(strided) == 50 and strided[0] == 999 and strided[-1] == 0
    trailing = s.sampling_timesteps(50, trailing=True)
    assert len(trailing) == 50 and trailing[0] == 999 and trailing[-1] == 19
    assert set(np.diff(trailing)) == {-20}
    assert strided == sorted(strided, reverse=True)
    with pytest.raises(ConfigError):
        s.sampling_timesteps(0)


def test_ancestral_step_mean_is_the_ddpm_posterior_mean() -> None:
    s = NoiseSchedule(50, kind="linear")
    x = torch.randn(4, 5, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    eps = torch.randn(4, 5, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    t = 30
    out = s.step(eps, t, x, prev_t=t - 1, eta=0.0)
    # with eta=1 the step adds noise around the same DDPM posterior mean (Ho et al. eq. 7)
    abar, abar_prev = s.alphas_cumprod[t], s.alphas_cumprod[t - 1]
    beta = s.betas[t]
    x0 = (x - (1 - abar).sqrt() * eps) / abar.sqrt()
    mean = (abar_prev.sqrt() * beta / (1 - abar)) * x0 + (
        (1 - beta).sqrt() * (1 - abar_prev) / (1 - abar)
    ) * x
    var = (1 - abar_prev) / (1 - abar) * beta
    step = s.step(eps, t, x, prev_t=t - 1, eta=1.0, generator=torch.Generator().manual_seed(5))
    z = torch.randn(x.shape, generator=torch.Generator().manual_seed(5), dtype=x.dtype)
    torch.testing.assert_close(step.prev_sample, mean + var.sqrt() * z)
    torch.testing.assert_close(out.pred_original_sample, x0)


def test_final_step_returns_the_clean_estimate_and_ddim_is_deterministic() -> None:
    s = NoiseSchedule(100)
    x = torch.randn(3, 2, generator=torch.Generator().manual_seed(0))
    eps = torch.zeros_like(x)
    last = s.step(eps, 0, x, prev_t=-1, eta=1.0)
    torch.testing.assert_close(last.prev_sample, last.pred_original_sample)
    a = s.step(eps, 60, x, prev_t=40, eta=0.0).prev_sample
    b = s.step(eps, 60, x, prev_t=40, eta=0.0).prev_sample
    torch.testing.assert_close(a, b)


def test_invalid_settings_are_rejected() -> None:
    with pytest.raises(ConfigError):
        NoiseSchedule(1)
    with pytest.raises(ConfigError):
        NoiseSchedule(10, kind="quadratic")  # type: ignore[arg-type]
