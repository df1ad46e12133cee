"""What the trainer is told and what it reports: :class:`TrainerSettings` (built from a
:class:`~mcrage_core.diffusion.CDDPMConfig`), one line of its log, and the reasons a run
can end (:data:`STOP_REASONS`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NotRequired, TypedDict

from mcrage_core.diffusion.config import AmpMode, CDDPMConfig

__all__ = ["STOP_REASONS", "TrainLogEntry", "TrainerSettings"]

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

    @classmethod
    def from_config(cls, config: CDDPMConfig) -> TrainerSettings:
        """The training part of a model config."""
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
        )
