"""The worker side of data-parallel CDDPM training on Ray (:mod:`.distributed`).

:class:`DistributedTrainer` is the ordinary trainer with the network wrapped in DDP, its
own shard of the rows and one decision per step taken by worker 0 for all;
:func:`train_worker` is the function each Ray Train worker runs; :class:`Channel` is the
actor between the driver and worker 0 (progress one way, the stop flag the other).
Ray is imported only inside the functions.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch

from mcrage_core.diffusion.denoiser import Denoiser
from mcrage_core.diffusion.schedule import NoiseSchedule
from mcrage_core.diffusion.train_settings import TrainClock, TrainerSettings
from mcrage_core.diffusion.trainer import Trainer
from mcrage_core.diffusion.validation import ValidationSet
from mcrage_core.errors import ConfigError, TrainingCancelled
from mcrage_core.progress import CancelCheck, ProgressCallback

__all__ = ["Channel", "DistributedTrainer", "apply_outcome", "outcome", "train_worker"]

_STOP_POLL_S = 0.2
"""How often worker 0 asks whether to stop."""
_RAY_REPORT_S = 3.0
"""Least time between two ``ray.train.report`` calls (the controller takes one per 2 s)."""
_SHARD_SEED = 104729


def _rank_seed(seed: int, rank: int, step: int) -> int:
    return (int(seed) * 1_000_003 + rank * 9_973 + step) % (2**63 - 1)


class DistributedTrainer(Trainer):
    """The :class:`Trainer` of worker ``rank`` of ``world`` data-parallel workers.

    ``stop_poll`` (worker 0 only) says whether the driver asked to cancel; every worker
    stops at the step where worker 0 saw it (:attr:`stop_agreed`).
    """

    def __init__(
        self,
        model: Denoiser,
        schedule: NoiseSchedule,
        settings: TrainerSettings,
        *,
        device: torch.device,
        rank: int,
        world: int,
        stop_poll: CancelCheck | None = None,
    ) -> None:
        super().__init__(model, schedule, settings, device=device)
        self.rank, self.world = rank, world
        self.stop_poll = stop_poll
        self.stop_agreed = False
        self.batch_rows = max(1, settings.batch_size // world)
        self._ray_reported = time.monotonic()
        if settings.batch_size % world:
            self.notes.append(
                f"The batch of {settings.batch_size} rows does not split evenly over {world} "
                f"workers: each drew {self.batch_rows} rows a step."
            )
        if world > 1:
            from ray.train.torch import prepare_model

            self.net = prepare_model(model, move_to_device=False)

    def _from_rank0(self, *values: float) -> list[float]:
        """Worker 0's ``values``, on every worker."""
        if self.world == 1:
            return list(values)
        shared = torch.tensor(values, dtype=torch.float64, device=self.device)
        torch.distributed.broadcast(shared, src=0)
        return [float(v) for v in shared.tolist()]

    def _hold_out(self, x: torch.Tensor, cond: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The validation rows as in one process, then this worker's shard of the rest;
        also where worker ``r > 0`` seeds its random stream (after a resume, too)."""
        x, cond = super()._hold_out(x, cond)
        if self.rank > 0:
            self.generator.manual_seed(_rank_seed(self.settings.seed, self.rank, self.step))
        if self.world == 1:
            return x, cond
        if x.shape[0] < self.world:
            raise ConfigError(
                f"{x.shape[0]} training rows cannot be shared by {self.world} workers; use "
                "fewer workers."
            )
        order_rng = torch.Generator(device="cpu").manual_seed(self.settings.seed + _SHARD_SEED)
        order = torch.randperm(x.shape[0], generator=order_rng)
        mine = order[self.rank :: self.world].to(x.device)
        return x[mine], cond[mine]

    def _agreed_progress(self, clock: TrainClock) -> float:
        stop = self.rank == 0 and self.stop_poll is not None and self.stop_poll()
        done, stop_flag = self._from_rank0(self._progress(clock), float(stop))
        self.stop_agreed = stop_flag > 0
        return done

    def _plateau(self, progress_done: float) -> bool:
        stop = super()._plateau(progress_done) if self.rank == 0 else False
        return self._from_rank0(float(stop))[0] > 0

    def _save(self, checkpoint_dir: Path, fingerprint: str) -> None:
        if self.rank == 0:
            super()._save(checkpoint_dir, fingerprint)

    def _report(
        self, clock: TrainClock, progress: ProgressCallback | None, *, final: bool = False
    ) -> None:
        """Log the mean loss over every worker's rows; now and then ``ray.train.report`` it."""
        due = self.rank == 0 and time.monotonic() - self._ray_reported >= _RAY_REPORT_S
        if self.world > 1:
            flag = torch.tensor(float(due), dtype=torch.float64, device=self.device)
            both = torch.stack([clock.loss_sum.double(), flag])
            torch.distributed.all_reduce(both)
            clock.loss_sum.copy_(both[0] / self.world)
            due = bool(both[1].item() > 0)
        super()._report(clock, progress, final=final)
        if due:
            import ray.train

            ray.train.report(dict(self.log[-1]))
            self._ray_reported = time.monotonic()


class Channel:
    """Between the driver and worker 0: progress events and, at the end, the outcome one
    way; the stop flag the other."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.ended: dict[str, Any] | None = None
        self.stop = False

    def event(self, event: dict[str, Any]) -> None:
        self.events.append(event)

    def finish(self, ended: dict[str, Any]) -> None:
        self.ended = ended

    def take(self) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """The events since the last call, and the outcome once there is one."""
        events, self.events = self.events, []
        return events, self.ended

    def request_stop(self) -> None:
        self.stop = True

    def stop_requested(self) -> bool:
        return self.stop


class _StopPoll:
    """Worker 0's ``should_stop``: asks the channel without waiting for the answer."""

    def __init__(self, channel: Any) -> None:
        self.channel = channel
        self.pending: Any = None
        self.next_at = 0.0
        self.stop = False

    def __call__(self) -> bool:
        import ray

        now = time.monotonic()
        if self.stop or (self.pending is None and now < self.next_at):
            return self.stop
        if self.pending is None:
            self.pending = self.channel.stop_requested.remote()
        ready, _ = ray.wait([self.pending], timeout=0)
        if ready:
            self.stop = bool(ray.get(self.pending))
            self.pending, self.next_at = None, now + _STOP_POLL_S
        return self.stop


def train_worker(config: dict[str, Any]) -> None:
    """One Ray Train worker: train its shard; worker 0 hands the outcome to the channel."""
    import ray
    import ray.train
    import ray.train.torch

    ctx = ray.train.get_context()
    rank, world = ctx.get_world_rank(), ctx.get_world_size()
    device = ray.train.torch.get_device()
    net, schedule, settings = ray.get(config["model"])
    x, cond = ray.get(config["data"])
    run_dir = config["run_dir"]
    if run_dir is not None and not Path(run_dir).is_dir():
        raise ConfigError(
            f"The run folder {run_dir} is not visible to the Ray worker on "
            f"{ray.util.get_node_ip_address()}: train into a folder that every machine of "
            "the cluster shares (a network file system), or train without a run folder."
        )
    channel = config["channel"]
    trainer = DistributedTrainer(
        net.to(device),
        schedule,
        settings,
        device=device,
        rank=rank,
        world=world,
        stop_poll=_StopPoll(channel) if rank == 0 else None,
    )
    cancelled = ""
    try:
        trainer.train(
            x,
            cond,
            progress=(lambda e: channel.event.remote(e.to_dict())) if rank == 0 else None,
            should_stop=lambda: trainer.stop_agreed,
            checkpoint_dir=Path(run_dir) if run_dir is not None else None,
            resume=config["resume"],
            fingerprint=config["fingerprint"],
        )
    except TrainingCancelled as exc:  # every worker, at the same step
        cancelled = str(exc)
    last = dict(trainer.log[-1]) if trainer.log else {}
    ray.train.report({**last, "step": trainer.step, "cancelled": bool(cancelled)})
    if rank == 0:  # every worker is past the report (a barrier): the run is done
        ray.get(channel.finish.remote(outcome(trainer, cancelled)))


def outcome(trainer: Trainer, cancelled: str) -> dict[str, Any]:
    """How worker 0's training ended; the weights and the validation rows travel as
    safetensors bytes."""
    from safetensors.torch import save

    tensors = {f"model.{k}": v for k, v in trainer.model.state_dict().items()}
    tensors |= {f"ema.{k}": v for k, v in trainer.ema.state_dict().items()}
    v = trainer.validation
    if v is not None:
        tensors |= {"val.x": v.x, "val.cond": v.cond, "val.t": v.t, "val.noise": v.noise}
    return {
        "cancelled": cancelled,
        "tensors": save({k: t.detach().cpu().contiguous() for k, t in tensors.items()}),
        "step": trainer.step,
        "elapsed_s": trainer.elapsed_s,
        "log": trainer.log,
        "stop_reason": trainer.stop_reason,
        "notes": trainer.notes,
        "amp": str(trainer.amp_dtype).removeprefix("torch.") if trainer.amp_dtype else "",
    }


def apply_outcome(trainer: Trainer, ended: dict[str, Any]) -> None:
    """Leave ``trainer`` (the driver's) as worker 0's ended: weights, step, log, notes."""
    from safetensors.torch import load

    if ended["cancelled"]:
        raise TrainingCancelled(ended["cancelled"])
    tensors = load(ended["tensors"])
    part = {
        p: {k[len(p) :]: v for k, v in tensors.items() if k.startswith(p)}
        for p in ("model.", "ema.", "val.")
    }
    trainer.model.load_state_dict(part["model."])
    trainer.ema.load_state_dict(part["ema."])
    val = part["val."]
    trainer.validation = (
        ValidationSet(val["x"], val["cond"], val["t"], val["noise"]) if val else None
    )
    trainer.step = int(ended["step"])
    trainer.elapsed_s = float(ended["elapsed_s"])
    trainer.log = list(ended["log"])
    trainer.stop_reason = str(ended["stop_reason"])
    trainer.notes.extend(n for n in ended["notes"] if n not in trainer.notes)
    trainer.amp_dtype = getattr(torch, ended["amp"]) if ended["amp"] else None
    trainer.model.eval()
    trainer.ema.eval()
