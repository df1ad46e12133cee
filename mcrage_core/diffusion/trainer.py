"""Training loop for the denoiser, kept apart from the model.

AdamW with warm-up and cosine learning-rate decay, an exponential moving average
(EMA) of the weights (used for sampling), gradient clipping, mixed precision on
CUDA (bf16 where supported, otherwise fp16 with a gradient scaler), progress
reports through a callback, a cancel check every step, checkpoints every N steps
and at the end, and exact resumption.

Fewer, better steps: timesteps are drawn stratified over the chain (one per
``T / batch`` slice, so every batch covers it evenly) and the loss is weighted by
min-SNR-gamma (Hang et al. 2023), which stops the nearly clean timesteps from
dominating the gradient. Training stops at whichever comes first: ``steps``, the
wall-time budget ``time_budget_s`` (the cosine decay then follows the clock, so the
learning rate has come down when the time is up), or a held-out validation loss that
has stopped improving (:mod:`.validation`). :attr:`Trainer.stop_reason` says which.
With ``dp_epsilon`` set the steps are DP-SGD's instead (:mod:`.private`).

All randomness comes from :class:`torch.Generator` objects seeded from ``seed`` (no
global seeding), so training without a time budget on the CPU is deterministic, also
across a cancel-and-resume.

No user interface here: nothing is printed.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path

import torch
from torch import nn

from mcrage_core.diffusion.checkpoint import CHECKPOINT_DIR, load_checkpoint, save_checkpoint
from mcrage_core.diffusion.denoiser import Denoiser
from mcrage_core.diffusion.private import PrivateTraining, make_private
from mcrage_core.diffusion.schedule import NoiseSchedule
from mcrage_core.diffusion.train_settings import (
    STOP_REASONS,
    TrainClock,
    TrainerSettings,
    TrainLogEntry,
)
from mcrage_core.diffusion.validation import EarlyStopping, ValidationSet
from mcrage_core.errors import TrainingCancelled, TrainingFailed
from mcrage_core.progress import CancelCheck, ProgressCallback, ProgressEvent

__all__ = ["STOP_REASONS", "TrainerSettings", "Trainer", "TrainLogEntry", "CHECKPOINT_DIR"]

STAGE = "Training CDDPM"
_MIN_PROGRESS_TO_STOP = 0.25
"""Share of the run before which the validation loss never stops training."""


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
        self.ema = copy.deepcopy(model).requires_grad_(False).eval()
        fused = device.type == "cuda"
        self.optimizer = torch.optim.AdamW(
            model.parameters(),
            lr=settings.lr,
            weight_decay=settings.weight_decay,
            foreach=not fused,
            fused=fused,
        )
        self.net: nn.Module = model
        """What a training step runs: the model, or a wrapper around it (DDP)."""
        self.batch_rows = settings.batch_size
        """Rows this process draws per step (a share of the batch when data-parallel)."""
        self._params = [p.detach() for p in model.parameters()]
        self._ema_params: list[torch.Tensor] = list(self.ema.parameters())
        self.amp_dtype = self._amp_dtype()
        self.scaler = torch.amp.GradScaler("cuda") if self.amp_dtype == torch.float16 else None
        # batches are drawn where the model is (no host-to-device copy every step)
        rng_device = device if device.type == "cuda" else torch.device("cpu")
        self.generator = torch.Generator(device=rng_device).manual_seed(int(settings.seed))
        self.step = 0
        self.elapsed_s = 0.0
        self.stop_reason = ""
        self.validation: ValidationSet | None = None
        self.early: EarlyStopping | None = None
        self.log: list[TrainLogEntry] = []
        self.notes: list[str] = []
        self.private: PrivateTraining | None = None

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

    def _lr_at(self, step: int, progress: float) -> float:
        """Warm-up over the first 2 % of the run, then cosine decay to a tenth, both along
        ``progress`` (steps, or the clock under a time budget)."""
        s = self.settings
        warmup = max(1, int(s.warmup_fraction * s.steps))
        warm = min(1.0, max((step + 1) / warmup, progress / s.warmup_fraction))
        progress = min(1.0, progress)
        return s.lr * warm * (0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * progress)))

    def _progress(self, clock: TrainClock) -> float:
        """Share of the run done: by steps, or by the clock when that is further along."""
        s = self.settings
        done = self.step / max(1, s.steps)
        if s.time_budget_s:
            done = max(done, clock.elapsed() / s.time_budget_s)
        return done

    def _agreed_progress(self, clock: TrainClock) -> float:
        """:meth:`_progress` as the loop reads it, once per step (a data-parallel run has
        one process read it for all: :mod:`.ddp_worker`)."""
        return self._progress(clock)

    def _save(self, checkpoint_dir: Path, fingerprint: str) -> None:
        save_checkpoint(self, checkpoint_dir, fingerprint)

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
        if resume and checkpoint_dir is not None:
            load_checkpoint(self, checkpoint_dir, fingerprint)
        x, cond = self._hold_out(x, cond)
        self.private = make_private(self, x.shape[0])
        null = torch.tensor(self.model.cond_cardinalities, dtype=torch.long, device=self.device)
        clock = TrainClock(self.step, self.device, self.elapsed_s)
        # log every 1 % of the run and check the validation loss every 2.5 %
        log_mark = check_mark = self._agreed_progress(clock)
        self.model.train()
        try:
            while True:
                now = self._agreed_progress(clock)
                if self.step > clock.start_step:  # after a step
                    if math.floor(100 * now) > math.floor(100 * log_mark):
                        log_mark = now
                        self._report(clock, progress)
                    if math.floor(40 * now) > math.floor(40 * check_mark):
                        check_mark = now
                        if self._plateau(now):
                            break
                    if checkpoint_dir is not None and self._checkpoint_due():
                        self.elapsed_s = clock.elapsed()
                        self._save(checkpoint_dir, fingerprint)
                if now >= 1.0:
                    break
                if should_stop is not None and should_stop():
                    self.elapsed_s = clock.elapsed()
                    self._cancel(checkpoint_dir, fingerprint)
                clock.add(self._train_step(x, cond, null, now))
                self.step += 1
        except torch.OutOfMemoryError as exc:
            raise TrainingFailed(
                f"The {self.device.type.upper()} ran out of memory during training. Use a "
                "smaller preset ('quick'), a smaller batch size, or train on the CPU."
            ) from exc
        finally:
            if self.private is not None:
                self.private.close()
        self._finish(clock, progress)
        if checkpoint_dir is not None:
            self._save(checkpoint_dir, fingerprint)
        self.model.eval()
        self.ema.eval()
        return self.log

    def _hold_out(self, x: torch.Tensor, cond: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Set the validation rows aside (same rows on a resume); the rest, on the device."""
        s = self.settings
        split_rng = torch.Generator(device="cpu").manual_seed(int(s.seed) + 7919)
        rows, self.validation = ValidationSet.split(
            x,
            cond,
            fraction=s.validation_fraction,
            timesteps=self.schedule.timesteps,
            generator=split_rng,
        )
        self.early = None
        if self.validation is not None:
            self.validation = self.validation.to(self.device)
            self.early = EarlyStopping(self._validation_loss, s.patience)
        elif s.validation_fraction > 0:
            self.notes.append(
                "The table is too small to set validation rows aside: training ran "
                "without early stopping."
            )
        return x[rows].to(self.device), cond[rows].to(self.device)

    @torch.no_grad()
    def _validation_loss(self, net: nn.Module) -> float:
        v = self.validation
        assert v is not None
        total = torch.zeros((), device=self.device)
        for start in range(0, len(v), 8192):
            part = slice(start, start + 8192)
            xt = self.schedule.add_noise(v.x[part], v.noise[part], v.t[part])
            pred = net(xt, v.t[part], v.cond[part])
            total += self._loss(pred.float(), v.noise[part], v.t[part]) * xt.shape[0]
        return float(total.item()) / len(v)

    def _plateau(self, progress_done: float) -> bool:
        """Check the validation loss; true when training should stop early."""
        if self.early is None:
            return False
        stop = self.early.check(self.ema, self.step)
        return stop and progress_done >= _MIN_PROGRESS_TO_STOP

    def _finish(self, clock: TrainClock, progress: ProgressCallback | None) -> None:
        """Record why training ended, keep the best weights, and report the last steps."""
        self.elapsed_s = clock.elapsed()
        s = self.settings
        if self.step >= s.steps:
            self.stop_reason = "steps"
        elif s.time_budget_s and self.elapsed_s >= s.time_budget_s:
            self.stop_reason = "time"
        else:
            self.stop_reason = "plateau"
        if (
            self.early is not None
            and self.stop_reason == "plateau"
            and self.early.restore_best(self.ema)
        ):
            self.notes.append(
                f"Training stopped at step {self.step}: the validation loss had not "
                f"improved since step {self.early.best_step}, whose weights are kept."
            )
        if clock.count:
            self._report(clock, progress, final=True)

    def _cancel(self, checkpoint_dir: Path | None, fingerprint: str) -> None:
        message = f"Training was cancelled at step {self.step} of {self.settings.steps}."
        if checkpoint_dir is not None:
            self._save(checkpoint_dir, fingerprint)
            message += " A checkpoint was saved; train again with resume to continue."
        raise TrainingCancelled(message)

    def _checkpoint_due(self) -> bool:
        every = self.settings.checkpoint_every
        return every > 0 and self.step % every == 0 and self.step < self.settings.steps

    def _report(
        self, clock: TrainClock, progress: ProgressCallback | None, *, final: bool = False
    ) -> None:
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
        rows_per_s = done * s.batch_size / max(clock.elapsed_here(), 1e-9)
        fraction = 1.0 if final else min(1.0, self._progress(clock))
        entry: TrainLogEntry = {
            "step": self.step,
            "loss": mean_loss,
            "lr": self._lr_at(self.step - 1, fraction),
            "elapsed_s": round(elapsed, 3),
            "rows_per_s": round(rows_per_s, 1),
        }
        if self.early is not None and math.isfinite(self.early.last):
            entry["val_loss"] = self.early.last
        self.log.append(entry)
        if progress is not None:
            total = self.step if final else max(self.step, round(self.step / max(fraction, 1e-9)))
            progress(
                ProgressEvent(
                    stage=STAGE,
                    fraction=fraction,
                    step=self.step,
                    total_steps=min(total, s.steps),
                    loss=mean_loss,
                    rows_per_s=rows_per_s,
                    eta_s=elapsed * (1.0 - fraction) / max(fraction, 1e-9),
                    elapsed_s=elapsed,
                )
            )

    def _draw_batch(
        self, x: torch.Tensor, cond: torch.Tensor, null: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Rows, stratified timesteps, noise and (partly dropped) conditions of one batch."""
        g = self.generator
        dev = g.device
        b = self.batch_rows
        n_t = self.schedule.timesteps
        idx = torch.randint(x.shape[0], (b,), generator=g, device=dev)
        slot = (torch.rand((), generator=g, device=dev) + torch.arange(b, device=dev)) / b
        t = (slot * n_t).long().clamp_(max=n_t - 1)
        t = t[torch.randperm(b, generator=g, device=dev)]
        noise = torch.randn((b, x.shape[1]), generator=g, device=dev)
        drop = torch.rand((b,), generator=g, device=dev) < self.settings.cond_drop_prob
        idx, t, noise, drop = (v.to(self.device) for v in (idx, t, noise, drop))
        c = torch.where(drop.unsqueeze(-1), null.unsqueeze(0), cond[idx])
        return x[idx], t, noise, c

    def _loss(self, pred: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Noise-prediction error, weighted by min-SNR-gamma when ``min_snr_gamma > 0``."""
        gamma = self.settings.min_snr_gamma
        if gamma <= 0:
            return torch.nn.functional.mse_loss(pred, noise)
        snr = self.schedule.snr(pred.device)[t]
        weight = torch.clamp(snr, max=gamma) / snr
        return (weight * (pred - noise).pow(2).mean(dim=1)).mean()

    def _train_step(
        self, x: torch.Tensor, cond: torch.Tensor, null: torch.Tensor, progress_done: float
    ) -> torch.Tensor:
        s = self.settings
        if self.private is not None:
            loss = self.private.step(x, cond, null, self._lr_at(self.step, progress_done))
            self._update_ema()
            return loss
        x0, t, noise, c = self._draw_batch(x, cond, null)
        xt = self.schedule.add_noise(x0, noise, t)
        for group in self.optimizer.param_groups:
            group["lr"] = self._lr_at(self.step, progress_done)
        self.optimizer.zero_grad(set_to_none=True)
        if self.amp_dtype is not None:
            with torch.autocast(device_type=self.device.type, dtype=self.amp_dtype):
                pred = self.net(xt, t, c)
            loss = self._loss(pred.float(), noise, t)
        else:
            pred = self.net(xt, t, c)
            loss = self._loss(pred, noise, t)
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
