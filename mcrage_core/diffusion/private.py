"""Differentially private training of the denoiser: DP-SGD (Abadi et al. 2016) via Opacus.

Set ``CDDPMConfig.dp_epsilon`` and the trainer takes its steps here instead: every row's
gradient is clipped to norm ``max_grad_norm`` (C) and Gaussian noise of standard
deviation ``σ · C`` is added to their sum before the AdamW update. The choices:

* **Sampling.** Each step takes a *Poisson* sample of the training rows: every row is in
  the batch independently with probability ``q = dp_batch_size / n`` (at most 1; batches
  vary in size around ``dp_batch_size``), drawn on the device with the trainer's generator: the
  subsampled-Gaussian accounting assumes exactly this. Each row's timestep, noise and
  condition drop are drawn independently (the non-private trainer's stratified timesteps
  couple the rows of a batch, which the accounting does not allow). An empty batch still
  takes a step, of noise alone.
* **Steps fixed up front.** A private run plans ``dp_steps`` steps (``None``:
  ``train_steps``); the presets set this plan (see ``config.py``), and ``--steps N``
  plans exactly ``N``. The noise multiplier σ is the smallest for which these steps at
  rate ``q`` spend at most ``dp_epsilon`` (Opacus'
  :func:`~opacus.accountants.utils.get_noise_multiplier`, RDP accountant). The time
  budget stays as a guard, :data:`~mcrage_core.diffusion.train_settings.DP_TIME_FACTOR`
  times the preset's (stopping early only spends less ε). The ε reported is the RDP
  accountant's for the steps actually taken.
* **No validation rows.** Early stopping on a held-out loss of real rows would leak
  outside the accounting, so a private run holds out nothing, trains on every row and
  runs its planned steps.
* **Per-row gradients** come from Opacus' ghost clipping
  (:class:`~opacus.grad_sample.GradSampleModuleFastGradientClipping`): the per-row norms
  of the Linear and Embedding layers without materialising per-row gradients, then a
  second backward pass over the clipped rows: about 3 times a plain step of the same
  batch on the CPU (hence the presets' plans of fewer, larger batches). The network
  is checked with :class:`~opacus.validators.ModuleValidator` (Linear, LayerNorm and
  Embedding layers; no batch statistics); its time MLP runs once per row.
* **Float32, same optimiser.** No mixed precision (norms in bf16 would make the
  clipping inexact). The EMA of the weights is kept: post-processing of the private
  weights costs no privacy.
* **Randomness.** Batches and noise come from the trainer's seeded generator, so a run
  is reproducible and resumes exactly. ``dp_secure_mode`` seeds it from the operating
  system instead and draws the noise with Opacus' method that resists floating-point
  attacks; torch's generator is still not a cryptographically secure one.
* **δ.** ``dp_delta=None`` means :func:`default_delta`.

What the guarantee covers is spelled out in :data:`DP_COVERS` and
:data:`DP_DOES_NOT_COVER`. Opacus is imported only when a private run starts.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypedDict

import torch

from mcrage_core.errors import ConfigError, TrainingFailed

if TYPE_CHECKING:
    from mcrage_core.diffusion.train_settings import TrainerSettings
    from mcrage_core.diffusion.trainer import Trainer

__all__ = [
    "ACCOUNTANT",
    "DP_COVERS",
    "DP_DOES_NOT_COVER",
    "DPInfo",
    "PrivacyPlan",
    "PrivateTraining",
    "default_delta",
    "make_private",
]

ACCOUNTANT = "rdp"
"""Opacus' Rényi-DP accountant: fast, standard, and never below the true ε."""
DELTA_CAP = 1e-5

DP_COVERS = (
    "The (ε, δ) guarantee covers the denoiser's trained weights: DP-SGD bounds how much "
    "any one training row can change them."
)
DP_DOES_NOT_COVER = (
    "It does not cover what was computed from the real rows outside DP-SGD and is "
    "stored with the model: the encoder's fitted quantiles (up to n_quantiles real values "
    "of each numeric column, its minimum and maximum included) and category lists, "
    "through which every synthetic row is decoded, so the synthetic rows are not "
    "covered either; the number of real rows per cell (condition values × outcome), "
    "which also splits a group-only request over outcomes; the number of rows, on which "
    "the sampling rate and the default δ depend; nor removing exact copies of real rows "
    "at sampling time."
)


def default_delta(n_rows: int) -> float:
    """δ of a private run without ``dp_delta``: ``min(1e-5, 1 / (10 n))``.

    δ bounds the probability that the ε guarantee fails, so it must be well below
    ``1 / n`` (at ``δ = 1 / n`` a mechanism that publishes one random row outright is
    (0, δ)-private). A tenth of ``1 / n`` keeps it an order of magnitude below for any
    table, and the 1e-5 cap (the usual value in the DP literature) applies to tables of
    up to 10,000 rows, SUPPORT2's 9,105 included.
    """
    return min(DELTA_CAP, 1.0 / (10.0 * max(1, int(n_rows))))


class DPInfo(TypedDict):
    """What a private run spent (``CDDPM.train_info_["dp"]``)."""

    epsilon_target: float
    epsilon_spent: float
    delta: float
    max_grad_norm: float
    noise_multiplier: float
    sample_rate: float
    steps: int
    planned_steps: int
    expected_batch_size: int
    accountant: str
    secure_mode: bool


@dataclass(frozen=True)
class PrivacyPlan:
    """The fixed plan of a private run and the noise multiplier that fits its budget."""

    epsilon: float
    delta: float
    max_grad_norm: float
    steps: int
    expected_batch_size: int
    sample_rate: float
    noise_multiplier: float
    secure_mode: bool

    @classmethod
    def make(cls, settings: TrainerSettings, n_rows: int) -> PrivacyPlan:
        """Plan ``settings.steps`` steps on ``n_rows`` rows within ``settings.dp_epsilon``."""
        from opacus.accountants.utils import get_noise_multiplier

        if settings.dp_epsilon is None:
            raise ConfigError("A private run needs dp_epsilon.")
        if n_rows < 1:
            raise ConfigError("Differentially private training needs at least one row.")
        batch = min(settings.batch_size, n_rows)
        rate = batch / n_rows
        delta = settings.dp_delta if settings.dp_delta is not None else default_delta(n_rows)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                sigma = get_noise_multiplier(
                    target_epsilon=float(settings.dp_epsilon),
                    target_delta=delta,
                    sample_rate=rate,
                    steps=settings.steps,
                    accountant=ACCOUNTANT,
                )
        except ValueError as exc:
            raise ConfigError(
                f"The privacy budget ε = {settings.dp_epsilon:g} is too small for "
                f"{settings.steps} steps on {n_rows} rows: raise dp_epsilon or plan "
                "fewer steps."
            ) from exc
        return cls(
            epsilon=float(settings.dp_epsilon),
            delta=float(delta),
            max_grad_norm=float(settings.max_grad_norm),
            steps=int(settings.steps),
            expected_batch_size=batch,
            sample_rate=rate,
            noise_multiplier=float(sigma),
            secure_mode=bool(settings.dp_secure_mode),
        )


def epsilon_for(plan: PrivacyPlan, steps: int) -> float:
    """ε spent after ``steps`` steps of ``plan`` (RDP accountant, at ``plan.delta``)."""
    from opacus.accountants import RDPAccountant

    if steps <= 0:
        return 0.0
    accountant = RDPAccountant()
    accountant.history = [(plan.noise_multiplier, plan.sample_rate, int(steps))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(accountant.get_epsilon(delta=plan.delta))


def make_private(trainer: Trainer, n_rows: int) -> PrivateTraining | None:
    """The private stepper of ``trainer`` on ``n_rows`` rows; ``None`` for a non-private run
    (Opacus is not imported then)."""
    if trainer.settings.dp_epsilon is None:
        return None
    return PrivateTraining(trainer, PrivacyPlan.make(trainer.settings, n_rows))


class PrivateTraining:
    """DP-SGD steps for ``trainer``: Poisson batches, ghost clipping, Gaussian noise.

    Wraps the trainer's network and AdamW in place (same parameters and optimiser
    state, so checkpoints and the EMA work unchanged); :meth:`close` removes the hooks.
    """

    def __init__(self, trainer: Trainer, plan: PrivacyPlan) -> None:
        from opacus.grad_sample import GradSampleModuleFastGradientClipping
        from opacus.optimizers import DPOptimizerFastGradientClipping
        from opacus.validators import ModuleValidator

        self.trainer = trainer
        self.plan = plan
        net = trainer.model
        errors = ModuleValidator.validate(net, strict=False)
        if errors:
            raise TrainingFailed(f"The network cannot be trained privately: {errors[0]}.")
        net.share_time_mlp = False  # per-row gradients need the time MLP run per row
        if plan.secure_mode:
            trainer.generator.manual_seed(int.from_bytes(os.urandom(8), "little") >> 1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.module = GradSampleModuleFastGradientClipping(
                net,
                max_grad_norm=plan.max_grad_norm,
                use_ghost_clipping=True,
                loss_reduction="mean",
            )
            self.optimizer = DPOptimizerFastGradientClipping(
                trainer.optimizer,
                noise_multiplier=plan.noise_multiplier,
                max_grad_norm=plan.max_grad_norm,
                expected_batch_size=plan.expected_batch_size,
                loss_reduction="mean",
                generator=trainer.generator,
                secure_mode=plan.secure_mode,
            )
        trainer.notes.append(
            f"Differentially private training (ε = {plan.epsilon:g}, δ = {plan.delta:.3g}): "
            f"{plan.steps} planned steps on Poisson batches of about "
            f"{plan.expected_batch_size} rows, noise multiplier {plan.noise_multiplier:.3g}; "
            "no rows were held out for early stopping (their loss would leak beyond ε)."
        )

    def _draw_batch(
        self, x: torch.Tensor, cond: torch.Tensor, null: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """A Poisson batch: each row in with probability ``q``; its timestep, noise and
        condition drop drawn independently of the other rows."""
        tr = self.trainer
        g = tr.generator
        dev = g.device
        keep = torch.rand((x.shape[0],), generator=g, device=dev) < self.plan.sample_rate
        idx = keep.nonzero().squeeze(1)
        b = int(idx.shape[0])
        t = torch.randint(tr.schedule.timesteps, (b,), generator=g, device=dev)
        noise = torch.randn((b, x.shape[1]), generator=g, device=dev)
        drop = torch.rand((b,), generator=g, device=dev) < tr.settings.cond_drop_prob
        idx, t, noise, drop = (v.to(tr.device) for v in (idx, t, noise, drop))
        c = torch.where(drop.unsqueeze(-1), null.unsqueeze(0), cond[idx])
        return x[idx], t, noise, c

    def _row_losses(self, pred: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Each row's (min-SNR weighted) noise-prediction error."""
        err = (pred - noise).pow(2).mean(dim=1)
        gamma = self.trainer.settings.min_snr_gamma
        if gamma <= 0:
            return err
        snr = self.trainer.schedule.snr(pred.device)[t]
        return torch.clamp(snr, max=gamma) / snr * err

    def step(
        self, x: torch.Tensor, cond: torch.Tensor, null: torch.Tensor, lr: float
    ) -> torch.Tensor:
        """One DP-SGD step at learning rate ``lr``; returns the batch's mean loss."""
        from opacus.utils.fast_gradient_clipping_utils import DPTensorFastGradientClipping

        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.optimizer.zero_grad(set_to_none=True)
        x0, t, noise, c = self._draw_batch(x, cond, null)
        if x0.shape[0] == 0:  # nothing sampled: the step is noise alone
            for p in self.optimizer.params:
                p.grad = torch.zeros_like(p)
            self.optimizer.step()
            return torch.zeros((), device=self.trainer.device)
        xt = self.trainer.schedule.add_noise(x0, noise, t)
        with warnings.catch_warnings():  # "no inputs require gradients": expected here
            warnings.simplefilter("ignore", UserWarning)
            losses = self._row_losses(self.module(xt, t, c), noise, t)
            DPTensorFastGradientClipping(self.module, self.optimizer, losses, "mean").backward()
        self.optimizer.step()
        return losses.detach().mean()

    def epsilon_spent(self) -> float:
        """ε spent by the steps taken so far (RDP accountant at the plan's δ)."""
        return epsilon_for(self.plan, self.trainer.step)

    def info(self) -> DPInfo:
        """The plan and what was spent, for ``train_info_["dp"]``."""
        p = self.plan
        return {
            "epsilon_target": p.epsilon,
            "epsilon_spent": self.epsilon_spent(),
            "delta": p.delta,
            "max_grad_norm": p.max_grad_norm,
            "noise_multiplier": p.noise_multiplier,
            "sample_rate": p.sample_rate,
            "steps": self.trainer.step,
            "planned_steps": p.steps,
            "expected_batch_size": p.expected_batch_size,
            "accountant": ACCOUNTANT,
            "secure_mode": p.secure_mode,
        }

    def close(self) -> None:
        """Remove Opacus' hooks and per-row attributes from the network."""
        self.module.cleanup()
        self.trainer.model.share_time_mlp = True
