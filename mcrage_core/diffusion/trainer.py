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
import hashlib
import json
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from mcrage_core.diffusion.schedule import NoiseSchedule
from mcrage_core.errors import ModelFileError, TrainingCancelled, TrainingFailed
from mcrage_core.progress import CancelCheck, ProgressCallback, ProgressEvent

__all__ = ["TrainerSettings", "Trainer", "CHECKPOINT_DIR", "sha256_file"]

AmpMode = Literal["auto", "off", "bf16", "fp16"]
CHECKPOINT_DIR = "checkpoint"
_CKPT_FORMAT = "mcrage-cddpm-checkpoint"
_CKPT_VERSION = 1
STAGE = "Training CDDPM"


@dataclass(frozen=True)
class TrainerSettings:
    """Optimisation settings (derived from :class:`~mcrage_core.diffusion.CDDPMConfig`)."""

    steps: int = 2000
    batch_size: int = 512
    lr: float = 2e-3
    weight_decay: float = 1e-4
    ema_decay: float = 0.999
    grad_clip: float = 1.0
    cond_drop_prob: float = 0.1
    warmup_fraction: float = 0.02
    checkpoint_every: int = 0
    amp: AmpMode = "auto"
    seed: int = 0


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


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
        model: nn.Module,
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
        self._ema_params = list(self.ema.parameters())
        self.amp_dtype = self._amp_dtype()
        self.scaler = torch.amp.GradScaler("cuda") if self.amp_dtype == torch.float16 else None
        self.generator = torch.Generator(device="cpu").manual_seed(int(settings.seed))
        self.step = 0
        self.log: list[dict[str, Any]] = []
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
    ) -> list[dict[str, Any]]:
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
            self._load_checkpoint(checkpoint_dir, fingerprint)
        n = x.shape[0]
        x = x.to(self.device)
        cond = cond.to(self.device)
        null = torch.tensor(
            getattr(self.model, "cond_cardinalities", []), dtype=torch.long, device=self.device
        )
        log_every = max(1, s.steps // 100)
        start_step = self.step
        t0 = time.perf_counter()
        loss_sum = torch.zeros((), device=self.device)
        loss_count = 0
        self.model.train()
        try:
            while self.step < s.steps:
                if should_stop is not None and should_stop():
                    if checkpoint_dir is not None:
                        self._save_checkpoint(checkpoint_dir, fingerprint)
                    raise TrainingCancelled(
                        f"Training was cancelled at step {self.step} of {s.steps}."
                        + (
                            " A checkpoint was saved; train again with resume to continue."
                            if checkpoint_dir is not None
                            else ""
                        )
                    )
                loss = self._train_step(x, cond, null, n)
                loss_sum += loss.detach()
                loss_count += 1
                self.step += 1
                if self.step % log_every == 0 or self.step == s.steps:
                    mean_loss = float(loss_sum.item()) / loss_count
                    loss_sum.zero_()
                    loss_count = 0
                    if not math.isfinite(mean_loss):
                        raise TrainingFailed(
                            f"Training diverged at step {self.step} (the loss became "
                            f"{mean_loss}). Try a lower learning rate or the 'quick' preset, "
                            "and check the table for extreme values."
                        )
                    elapsed = time.perf_counter() - t0
                    done = self.step - start_step
                    rows_per_s = done * s.batch_size / max(elapsed, 1e-9)
                    eta = (s.steps - self.step) * elapsed / max(done, 1)
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
                                eta_s=eta,
                                elapsed_s=elapsed,
                            )
                        )
                if (
                    checkpoint_dir is not None
                    and s.checkpoint_every > 0
                    and self.step % s.checkpoint_every == 0
                    and self.step < s.steps
                ):
                    self._save_checkpoint(checkpoint_dir, fingerprint)
        except torch.OutOfMemoryError as exc:
            raise TrainingFailed(
                f"The {self.device.type.upper()} ran out of memory during training. Use a "
                "smaller preset ('quick'), a smaller batch size, or train on the CPU."
            ) from exc
        if checkpoint_dir is not None:
            self._save_checkpoint(checkpoint_dir, fingerprint)
        self.model.eval()
        self.ema.eval()
        return self.log

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

    # ------------------------------------------------------------ checkpoints
    def _checkpoint_tensors(self) -> dict[str, torch.Tensor]:
        tensors: dict[str, torch.Tensor] = {}
        for k, v in self.model.state_dict().items():
            tensors[f"model.{k}"] = v.detach().cpu().contiguous()
        for k, v in self.ema.state_dict().items():
            tensors[f"ema.{k}"] = v.detach().cpu().contiguous()
        for pid, state in self.optimizer.state_dict()["state"].items():
            for k, v in state.items():
                if isinstance(v, torch.Tensor):
                    tensors[f"optim.{pid}.{k}"] = v.detach().cpu().contiguous()
        tensors["rng.generator"] = self.generator.get_state().clone()
        return tensors

    def _save_checkpoint(self, run_dir: Path, fingerprint: str) -> None:
        folder = Path(run_dir) / CHECKPOINT_DIR
        try:
            folder.mkdir(parents=True, exist_ok=True)
            # weights and state form a pair: the weights go to a new file named by step,
            # state.json (written atomically) points at it, and only then are older
            # weights removed, so a kill at any moment leaves a consistent pair on disk
            weights = folder / f"weights-{self.step:09d}.safetensors"
            tmp = folder / f"{weights.name}.tmp"
            save_file(self._checkpoint_tensors(), str(tmp))
            os.replace(tmp, weights)
            state = {
                "weights_file": weights.name,
                "format": _CKPT_FORMAT,
                "format_version": _CKPT_VERSION,
                "step": self.step,
                "fingerprint": fingerprint,
                "settings": asdict(self.settings),
                "scaler": self.scaler.state_dict() if self.scaler is not None else None,
                "log": self.log,
                "weights_sha256": sha256_file(weights),
            }
            _atomic_write_bytes(folder / "state.json", json.dumps(state, indent=1).encode())
            for old in folder.glob("weights*.safetensors"):
                if old.name != weights.name:
                    old.unlink(missing_ok=True)
        except OSError as exc:
            raise TrainingFailed(
                f"Could not write the training checkpoint to {folder} ({exc.strerror or exc}). "
                "Check that the disk is not full and that the folder is writable."
            ) from exc

    def _load_checkpoint(self, run_dir: Path, fingerprint: str) -> None:
        folder = Path(run_dir) / CHECKPOINT_DIR
        state_path = folder / "state.json"
        weights = folder / "weights.safetensors"
        if not state_path.exists():
            self.notes.append(f"No checkpoint found in {folder}; training started from scratch.")
            return
        try:
            state = json.loads(state_path.read_text(encoding="utf-8"))
            weights = folder / Path(str(state.get("weights_file", weights.name))).name
            if state.get("format") != _CKPT_FORMAT or state.get("format_version") != _CKPT_VERSION:
                raise ModelFileError(
                    f"{state_path} is not a checkpoint this version of MCRAGE can resume."
                )
            if not weights.exists() or sha256_file(weights) != state.get("weights_sha256"):
                raise ModelFileError(
                    f"The checkpoint weights in {folder} are missing or do not match their "
                    "recorded checksum (corrupted or modified); delete the folder and train "
                    "again."
                )
            if state.get("fingerprint") != fingerprint:
                raise ModelFileError(
                    f"The checkpoint in {folder} was made with a different table, columns or "
                    "model settings, so it cannot be resumed; use a new output folder."
                )
            tensors = load_file(str(weights))
            model_sd = {k[6:]: v for k, v in tensors.items() if k.startswith("model.")}
            ema_sd = {k[4:]: v for k, v in tensors.items() if k.startswith("ema.")}
            self.model.load_state_dict(model_sd, strict=True)
            self.ema.load_state_dict(ema_sd, strict=True)
            opt_sd = self.optimizer.state_dict()
            opt_state: dict[int, dict[str, torch.Tensor]] = {}
            for k, v in tensors.items():
                if k.startswith("optim."):
                    _, pid, name = k.split(".", 2)
                    opt_state.setdefault(int(pid), {})[name] = v
            opt_sd["state"] = opt_state
            self.optimizer.load_state_dict(opt_sd)
            self.generator.set_state(tensors["rng.generator"])
            if self.scaler is not None and state.get("scaler"):
                self.scaler.load_state_dict(state["scaler"])
            self.step = int(state["step"])
            self.log = list(state.get("log", []))
        except ModelFileError:
            raise
        except (OSError, ValueError, KeyError, RuntimeError, TypeError) as exc:
            raise ModelFileError(
                f"The checkpoint in {folder} cannot be read ({type(exc).__name__}: {exc}); "
                "delete it and train again."
            ) from exc
