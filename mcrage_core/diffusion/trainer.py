"""Training loop for the denoiser, kept apart from the model.

AdamW with warm-up and cosine learning-rate decay, an exponential moving average
(EMA) of the weights (used for sampling), gradient clipping, mixed precision on
CUDA (bf16 where supported, otherwise fp16 with a gradient scaler), progress
reports through a callback, a cancel check every step, checkpoints every N steps
and at the end, and exact resumption. All randomness comes from one
:class:`torch.Generator` seeded from ``seed`` (no global seeding), so training on
the CPU is deterministic, also across a cancel-and-resume.

No user interface here: nothing is printed.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

import torch
from torch import nn

from mcrage_core.diffusion.checkpoint import CHECKPOINT_DIR, load_checkpoint, save_checkpoint
from mcrage_core.diffusion.config import AmpMode, CDDPMConfig
from mcrage_core.diffusion.denoiser import Denoiser
from mcrage_core.diffusion.schedule import NoiseSchedule
from mcrage_core.errors import TrainingCancelled, TrainingFailed
from mcrage_core.progress import CancelCheck, ProgressCallback, ProgressEvent

__all__ = ["TrainerSettings", "Trainer", "TrainLogEntry", "CHECKPOINT_DIR"]

STAGE = "Training CDDPM"


class TrainLogEntry(TypedDict):
    """One line of the training log (every 1 % of the steps)."""

    step: int
    loss: float
    lr: float
    elapsed_s: float
    rows_per_s: float


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
        )


class Trainer:
    """Train ``model`` to predict the noise added by ``schedule``.

    Parameters
    ----------
    model
        The denoiser, already on ``device``.
    schedule
        The noise schedule.
    settings
        Optimisation settings.
    device
        Where to train.
    """

    def __init__(
        self,
        model: Denoiser,
        schedule: NoiseSchedule,
        settings: TrainerSettings,
        *,
        device: torch.device,
    ) -> None:
        self.model = model
        self.schedule = schedule
        self.settings = settings
        self.device = device
        self.ema = copy.deepcopy(model).requires_grad_(False)
        self.optimizer = torch.optim.AdamW(
            model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay, foreach=True
        )
        self._params = [p.detach() for p in model.parameters()]
        self._ema_params: list[torch.Tensor] = list(self.ema.parameters())
        self.amp_dtype = self._amp_dtype()
        self.scaler = torch.amp.GradScaler("cuda") if self.amp_dtype == torch.float16 else None
        self.generator = torch.Generator(device="cpu").manual_seed(int(settings.seed))
        self.step = 0
        self.log: list[TrainLogEntry] = []
        self.notes: list[str] = []

    # ------------------------------------------------------------------ helpers
    def _amp_dtype(self) -> torch.dtype | None:
        mode = self.settings.amp
        if self.device.type != "cuda" or mode == "off":
            return None
        if mode == "fp16":
            return torch.float16
        if mode == "bf16" or torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float16

    def _lr_at(self, step: int) -> float:
        s = self.settings
        warmup = max(1, int(s.warmup_fraction * s.steps))
        warm = min(1.0, (step + 1) / warmup)
        progress = min(1.0, step / max(1, s.steps))
        return s.lr * warm * (0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * progress)))

    @torch.no_grad()
    def _update_ema(self) -> None:
        decay = min(self.settings.ema_decay, (1.0 + self.step) / (10.0 + self.step))
        torch._foreach_lerp_(self._ema_params, self._params, 1.0 - decay)

    # --------------------------------------------------------------- training
    def train(
        self,
        x: torch.Tensor,
        cond: torch.Tensor,
        *,
        progress: ProgressCallback | None = None,
        should_stop: CancelCheck | None = None,
        checkpoint_dir: Path | None = None,
        resume: bool = False,
        fingerprint: str = "",
    ) -> list[TrainLogEntry]:
        """Run (or continue) training; returns the training log.

        Raises
        ------
        TrainingCancelled
            ``should_stop()`` returned true (a checkpoint is written first when
            ``checkpoint_dir`` is given, so training can resume).
        TrainingFailed
            Non-finite loss, out of memory, or a checkpoint could not be written.
        """
        s = self.settings
        if resume and checkpoint_dir is not None:
            load_checkpoint(self, checkpoint_dir, fingerprint)
        x = x.to(self.device)
        cond = cond.to(self.device)
        null = torch.tensor(self.model.cond_cardinalities, dtype=torch.long, device=self.device)
        log_every = max(1, s.steps // 100)
        clock = _Clock(self.step, self.device)
        self.model.train()
        try:
            while self.step < s.steps:
                if should_stop is not None and should_stop():
                    self._cancel(checkpoint_dir, fingerprint)
                clock.add(self._train_step(x, cond, null, x.shape[0]))
                self.step += 1
                if self.step % log_every == 0 or self.step == s.steps:
                    self._report(clock, progress)
                if checkpoint_dir is not None and self._checkpoint_due():
                    save_checkpoint(self, checkpoint_dir, fingerprint)
        except torch.OutOfMemoryError as exc:
            raise TrainingFailed(
                f"The {self.device.type.upper()} ran out of memory during training. Use a "
                "smaller preset ('quick'), a smaller batch size, or train on the CPU."
            ) from exc
        if checkpoint_dir is not None:
            save_checkpoint(self, checkpoint_dir, fingerprint)
        self.model.eval()
        self.ema.eval()
        return self.log

    def _cancel(self, checkpoint_dir: Path | None, fingerprint: str) -> None:
        message = f"Training was cancelled at step {self.step} of {self.settings.steps}."
        if checkpoint_dir is not None:
            save_checkpoint(self, checkpoint_dir, fingerprint)
            message += " A checkpoint was saved; train again with resume to continue."
        raise TrainingCancelled(message)

    def _checkpoint_due(self) -> bool:
        every = self.settings.checkpoint_every
        return every > 0 and self.step % every == 0 and self.step < self.settings.steps

    def _report(self, clock: _Clock, progress: ProgressCallback | None) -> None:
        """Log the mean loss since the last report and tell ``progress``."""
        s = self.settings
        mean_loss = clock.take_mean()
        if not math.isfinite(mean_loss):
            raise TrainingFailed(
                f"Training diverged at step {self.step} (the loss became "
                f"{mean_loss}). Try a lower learning rate or the 'quick' preset, "
                "and check the table for extreme values."
            )
        elapsed = clock.elapsed()
        done = self.step - clock.start_step
        rows_per_s = done * s.batch_size / max(elapsed, 1e-9)
        self.log.append(
            {
                "step": self.step,
                "loss": mean_loss,
                "lr": self._lr_at(self.step - 1),
                "elapsed_s": round(elapsed, 3),
                "rows_per_s": round(rows_per_s, 1),
            }
        )
        if progress is not None:
            progress(
                ProgressEvent(
                    stage=STAGE,
                    fraction=self.step / s.steps,
                    step=self.step,
                    total_steps=s.steps,
                    loss=mean_loss,
                    rows_per_s=rows_per_s,
                    eta_s=(s.steps - self.step) * elapsed / max(done, 1),
                    elapsed_s=elapsed,
                )
            )

    def _train_step(
        self, x: torch.Tensor, cond: torch.Tensor, null: torch.Tensor, n: int
    ) -> torch.Tensor:
        s = self.settings
        g = self.generator
        b = s.batch_size
        idx = torch.randint(n, (b,), generator=g)
        t = torch.randint(self.schedule.timesteps, (b,), generator=g)
        noise = torch.randn((b, x.shape[1]), generator=g)
        drop = torch.rand((b,), generator=g) < s.cond_drop_prob
        idx = idx.to(self.device)
        t = t.to(self.device)
        noise = noise.to(self.device)
        drop = drop.to(self.device)
        x0 = x[idx]
        c = torch.where(drop.unsqueeze(-1), null.unsqueeze(0), cond[idx])
        xt = self.schedule.add_noise(x0, noise, t)
        for group in self.optimizer.param_groups:
            group["lr"] = self._lr_at(self.step)
        self.optimizer.zero_grad(set_to_none=True)
        if self.amp_dtype is not None:
            with torch.autocast(device_type=self.device.type, dtype=self.amp_dtype):
                pred = self.model(xt, t, c)
            loss = torch.nn.functional.mse_loss(pred.float(), noise)
        else:
            pred = self.model(xt, t, c)
            loss = torch.nn.functional.mse_loss(pred, noise)
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            self.scaler.unscale_(self.optimizer)
            nn.utils.clip_grad_norm_(self.model.parameters(), s.grad_clip)
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            loss.backward()
            nn.utils.clip_grad_norm_(self.model.parameters(), s.grad_clip)
            self.optimizer.step()
        self._update_ema()
        return loss


class _Clock:
    """Running loss sum (kept on the device: no sync every step) and wall time."""

    def __init__(self, start_step: int, device: torch.device) -> None:
        self.start_step = start_step
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
        return time.perf_counter() - self.t0
