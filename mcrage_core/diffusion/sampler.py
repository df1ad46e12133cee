"""Reverse-process samplers: the full ancestral DDPM chain and strided DDIM.

Both run the same loop over :meth:`NoiseSchedule.step`; they differ only in which
timesteps are visited and in ``eta`` (1 for ancestral, 0 for deterministic DDIM).
Classifier-free guidance mixes the conditional and the unconditional (null-token)
predictions: ``eps = eps_null + w * (eps_cond - eps_null)``; ``w = 1`` is plain
conditional sampling and skips the unconditional pass.
"""

from __future__ import annotations

from typing import Literal

import torch

from mcrage_core.diffusion.denoiser import Denoiser
from mcrage_core.diffusion.schedule import NoiseSchedule
from mcrage_core.errors import ConfigError

__all__ = ["SamplingMethod", "sample_matrix", "network_evaluations"]

SamplingMethod = Literal["ddim", "ancestral"]


def network_evaluations(
    schedule: NoiseSchedule, method: SamplingMethod, steps: int | None, guidance: float
) -> int:
    """Number of denoiser calls per row for the given sampler settings."""
    n = len(schedule.sampling_timesteps(None if method == "ancestral" else steps))
    return n * (1 if guidance == 1.0 else 2)


@torch.inference_mode()
def sample_matrix(
    model: Denoiser,
    schedule: NoiseSchedule,
    cond: torch.Tensor,
    *,
    method: SamplingMethod = "ddim",
    steps: int | None = 50,
    guidance: float = 1.0,
    eta: float | None = None,
    generator: torch.Generator,
    device: torch.device,
    batch_size: int = 8192,
    clip_sample: float | None = 6.0,
) -> torch.Tensor:
    """Draw one encoded row per line of ``cond`` (``[N, k]`` cell component indices).

    Parameters
    ----------
    method
        ``"ancestral"``: every training timestep, stochastic DDPM step.
        ``"ddim"``: ``steps`` evenly strided timesteps, DDIM update with ``eta``
        (0: deterministic given the starting noise; 1: stochastic).
    generator
        CPU generator supplying all randomness (starting noise and step noise).

    Returns
    -------
    torch.Tensor
        ``[N, model.dim]`` float32 on the CPU.
    """
    if method not in ("ddim", "ancestral"):
        raise ConfigError(f"Unknown sampling method {method!r}: choose 'ddim' or 'ancestral'.")
    if guidance < 0:
        raise ConfigError(f"The guidance scale must be 0 or more, got {guidance}.")
    if method == "ancestral":
        timesteps = schedule.sampling_timesteps(None)
        eta_value = 1.0 if eta is None else float(eta)
    else:
        timesteps = schedule.sampling_timesteps(steps)
        eta_value = 0.0 if eta is None else float(eta)
    model.eval()
    outputs = []
    n = cond.shape[0]
    for start in range(0, n, batch_size):
        c = cond[start : start + batch_size].to(device)
        b = c.shape[0]
        x = torch.randn((b, model.dim), generator=generator).to(device)
        null = model.null_condition(b, device)
        for i, t in enumerate(timesteps):
            prev_t = timesteps[i + 1] if i + 1 < len(timesteps) else -1
            tt = torch.full((b,), t, dtype=torch.long, device=device)
            if guidance == 1.0:
                eps = model(x, tt, c)
            else:
                both = model(torch.cat([x, x]), torch.cat([tt, tt]), torch.cat([c, null]))
                eps_c, eps_u = both.chunk(2)
                eps = eps_u + guidance * (eps_c - eps_u)
            x = schedule.step(
                eps,
                t,
                x,
                prev_t=prev_t,
                eta=eta_value,
                generator=generator,
                clip_sample=clip_sample,
            ).prev_sample
        outputs.append(x.float().cpu())
    if not outputs:
        return torch.zeros((0, model.dim))
    return torch.cat(outputs)
