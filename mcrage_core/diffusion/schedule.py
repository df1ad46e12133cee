"""Noise schedules and the DDPM / DDIM update step (a plain object, no ``nn.Module``).

Follows the shape of diffusers' schedulers: :meth:`NoiseSchedule.add_noise` for the
forward process and :meth:`NoiseSchedule.step` for one reverse step, returning a
small :class:`StepOutput`. One update rule serves both samplers: with ``eta=1`` and
consecutive timesteps it is the ancestral DDPM step (posterior variance
``beta_tilde``); with ``eta=0`` and strided timesteps it is DDIM.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from mcrage_core.errors import ConfigError

__all__ = ["ScheduleKind", "NoiseSchedule", "StepOutput"]

ScheduleKind = Literal["linear", "cosine"]


@dataclass(frozen=True)
class StepOutput:
    """Result of one reverse step."""

    prev_sample: torch.Tensor
    pred_original_sample: torch.Tensor


def _cosine_betas(timesteps: int, s: float = 0.008) -> np.ndarray:
    steps = np.arange(timesteps + 1, dtype=np.float64) / timesteps
    alpha_bar = np.cos((steps + s) / (1 + s) * math.pi / 2) ** 2
    betas = 1.0 - alpha_bar[1:] / alpha_bar[:-1]
    return np.clip(betas, 1e-8, 0.999)


def _linear_betas(timesteps: int) -> np.ndarray:
    # Scaled so that the total amount of noise does not depend on the number of steps
    # (Nichol & Dhariwal 2021); equals 1e-4 .. 0.02 at 1000 steps.
    scale = 1000.0 / timesteps
    return np.linspace(scale * 1e-4, min(scale * 0.02, 0.999), timesteps, dtype=np.float64)


class NoiseSchedule:
    """A variance schedule over ``timesteps`` discrete steps.

    Parameters
    ----------
    timesteps
        Number of training timesteps ``T`` (the full chain has this many steps).
    kind
        ``"cosine"`` (Nichol & Dhariwal 2021) or ``"linear"`` (Ho et al. 2020).
    """

    def __init__(self, timesteps: int = 1000, *, kind: ScheduleKind = "cosine") -> None:
        if not isinstance(timesteps, int) or isinstance(timesteps, bool) or timesteps < 2:
            raise ConfigError(f"timesteps must be an integer of at least 2, got {timesteps!r}.")
        if kind not in ("linear", "cosine"):
            raise ConfigError(f"Unknown noise schedule {kind!r}: choose 'linear' or 'cosine'.")
        self.timesteps = timesteps
        self.kind: ScheduleKind = kind
        betas = _cosine_betas(timesteps) if kind == "cosine" else _linear_betas(timesteps)
        self.betas = torch.from_numpy(betas)
        self.alphas_cumprod = torch.cumprod(1.0 - self.betas, dim=0)
        self._cache: dict[tuple[str, torch.dtype], torch.Tensor] = {}

    def __repr__(self) -> str:
        return f"NoiseSchedule(timesteps={self.timesteps}, kind={self.kind!r})"

    def _abar(self, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        key = (str(device), dtype)
        if key not in self._cache:
            self._cache[key] = self.alphas_cumprod.to(device=device, dtype=dtype)
        return self._cache[key]

    def snr(self, device: torch.device) -> torch.Tensor:
        """Signal-to-noise ratio ``abar / (1 - abar)`` of every timestep (float32)."""
        key = (f"snr:{device}", torch.float32)
        if key not in self._cache:
            abar = self.alphas_cumprod
            self._cache[key] = (abar / (1.0 - abar)).to(device=device, dtype=torch.float32)
        return self._cache[key]

    def add_noise(self, x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Forward process ``q(x_t | x_0)`` for a batch of timesteps ``t`` (shape ``[B]``)."""
        abar = self._abar(x0.device, x0.dtype)[t].unsqueeze(-1)
        return abar.sqrt() * x0 + (1.0 - abar).sqrt() * noise

    def sampling_timesteps(
        self, num_steps: int | None = None, *, trailing: bool = False
    ) -> list[int]:
        """Descending timesteps for a sampler with ``num_steps`` network evaluations.

        ``None`` or a value ``>= timesteps`` gives the full chain ``T-1, ..., 0``;
        fewer steps are spread evenly from ``T-1`` down to 0, or with ``trailing``
        spacing (Lin et al. 2024) down to one stride above 0, so that no evaluation is
        spent on the nearly clean end of the chain (DPM-Solver++ with 16 trailing steps
        matches 20 spread down to 0).
        """
        if num_steps is None or num_steps >= self.timesteps:
            return list(range(self.timesteps - 1, -1, -1))
        if num_steps < 1:
            raise ConfigError(f"The number of sampling steps must be at least 1, got {num_steps}.")
        if trailing:
            stride = self.timesteps / num_steps
            steps = np.round(self.timesteps - stride * np.arange(num_steps)).astype(int) - 1
        else:
            steps = np.round(np.linspace(0, self.timesteps - 1, num_steps)).astype(int)
        return sorted({int(s) for s in steps}, reverse=True)

    def step(
        self,
        model_output: torch.Tensor,
        t: int,
        sample: torch.Tensor,
        *,
        prev_t: int,
        eta: float = 0.0,
        generator: torch.Generator | None = None,
        clip_sample: float | None = None,
    ) -> StepOutput:
        """One reverse step from ``t`` to ``prev_t`` (``-1`` means "to clean data").

        ``model_output`` is the predicted noise. ``eta=1`` with ``prev_t=t-1`` is the
        ancestral DDPM step; ``eta=0`` is deterministic DDIM.
        """
        # scalars from the float64 CPU table (MPS has no float64)
        a_t_f = float(self.alphas_cumprod[t])
        a_prev_f = float(self.alphas_cumprod[prev_t]) if prev_t >= 0 else 1.0
        eps = model_output
        x0 = (sample - math.sqrt(1.0 - a_t_f) * eps) / math.sqrt(a_t_f)
        if clip_sample is not None:
            x0 = x0.clamp(-clip_sample, clip_sample)
            eps = (sample - math.sqrt(a_t_f) * x0) / math.sqrt(1.0 - a_t_f)
        variance = (1.0 - a_prev_f) / (1.0 - a_t_f) * (1.0 - a_t_f / a_prev_f)
        sigma = eta * math.sqrt(max(variance, 0.0))
        direction = math.sqrt(max(1.0 - a_prev_f - sigma**2, 0.0)) * eps
        prev = math.sqrt(a_prev_f) * x0 + direction
        if sigma > 0.0:
            noise_device = generator.device if generator is not None else sample.device
            noise = torch.randn(
                sample.shape, generator=generator, device=noise_device, dtype=sample.dtype
            )
            prev = prev + sigma * noise.to(sample.device)
        return StepOutput(prev_sample=prev, pred_original_sample=x0)
