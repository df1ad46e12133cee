"""What the trainer is told and what it reports: :class:`TrainerSettings` (built from a
:class:`~mcrage_core.diffusion.CDDPMConfig`), one line of its log, the reasons a run
can end (:data:`STOP_REASONS`), and its clock (:class:`TrainClock`)."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import NotRequired, TypedDict

import torch

from mcrage_core.diffusion.config import AmpMode, CDDPMConfig

__all__ = ["DP_TIME_FACTOR", "STOP_REASONS", "TrainClock", "TrainLogEntry", "TrainerSettings"]

DP_TIME_FACTOR = 2.5
"""A private run plans a fixed number of steps (the presets' plans take about twice their
time budget); its time budget only guards against a slow or busy machine, at this
multiple of the preset's. Stopping early spends less ε, never more."""

STOP_REASONS = {
    "steps": "reached the step limit",
    "time": "used its time budget",
    "plateau": "stopped when the validation loss no longer improved",
}
"""Why training ended (:attr:`Trainer.stop_reason`), in words for the user."""


class TrainLogEntry(TypedDict):
    """One line of the training log (every 1 % of the steps)."""

    step: int
    loss: float
    lr: float
    elapsed_s: float
    rows_per_s: float
    val_loss: NotRequired[float]


@dataclass(frozen=True, kw_only=True)
class TrainerSettings:
    """Optimisation settings; build them with :meth:`from_config`.

    :class:`~mcrage_core.diffusion.CDDPMConfig` is the single source of the defaults,
    so the fields it shares have none here.
    """

    steps: int
    batch_size: int
    lr: float
    weight_decay: float
    ema_decay: float
    grad_clip: float
    cond_drop_prob: float
    checkpoint_every: int
    amp: AmpMode
    seed: int
    time_budget_s: float | None = None
    min_snr_gamma: float = 0.0
    validation_fraction: float = 0.0
    patience: int = 0
    warmup_fraction: float = 0.02
    dp_epsilon: float | None = None
    dp_delta: float | None = None
    max_grad_norm: float = 1.0
    dp_secure_mode: bool = False

    @classmethod
    def from_config(cls, config: CDDPMConfig) -> TrainerSettings:
        """The training part of a model config.

        A private run (``dp_epsilon`` set, see :mod:`~mcrage_core.diffusion.private`)
        takes its fixed plan, ``dp_steps`` steps of ``dp_batch_size`` expected rows
        (each ``None``: the non-private value), holds out no validation rows, trains in
        float32 and gets :data:`DP_TIME_FACTOR` times the time budget as a guard.
        """
        settings = cls._from(config)
        if config.dp_epsilon is None:
            return settings
        budget = config.time_budget_s
        return replace(
            settings,
            steps=config.dp_steps or config.train_steps,
            batch_size=config.dp_batch_size or config.batch_size,
            time_budget_s=budget * DP_TIME_FACTOR if budget else None,
            validation_fraction=0.0,
            amp="off",
        )

    @classmethod
    def _from(cls, config: CDDPMConfig) -> TrainerSettings:
        return cls(
            steps=config.train_steps,
            batch_size=config.batch_size,
            lr=float(config.lr),
            weight_decay=float(config.weight_decay),
            ema_decay=float(config.ema_decay),
            grad_clip=float(config.grad_clip),
            cond_drop_prob=float(config.cond_drop_prob),
            checkpoint_every=config.checkpoint_every,
            amp=config.amp,
            seed=config.seed,
            time_budget_s=config.time_budget_s,
            min_snr_gamma=float(config.min_snr_gamma),
            validation_fraction=float(config.validation_fraction),
            patience=config.patience,
            dp_epsilon=config.dp_epsilon,
            dp_delta=config.dp_delta,
            max_grad_norm=float(config.max_grad_norm),
            dp_secure_mode=config.dp_secure_mode,
        )


class TrainClock:
    """Running loss sum (kept on the device: no sync every step) and wall time."""

    def __init__(self, start_step: int, device: torch.device, elapsed_before: float) -> None:
        self.start_step = start_step
        self.before = elapsed_before
        self.t0 = time.perf_counter()
        self.loss_sum = torch.zeros((), device=device)
        self.count = 0

    def add(self, loss: torch.Tensor) -> None:
        self.loss_sum += loss.detach()
        self.count += 1

    def take_mean(self) -> float:
        """Mean loss since the last call (then start a new sum)."""
        mean = float(self.loss_sum.item()) / max(self.count, 1)
        self.loss_sum.zero_()
        self.count = 0
        return mean

    def elapsed(self) -> float:
        """Training time so far, earlier sessions of a resumed run included."""
        return self.before + self.elapsed_here()

    def elapsed_here(self) -> float:
        """Training time of this session."""
        return time.perf_counter() - self.t0
