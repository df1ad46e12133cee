"""Data-parallel CDDPM training on a Ray cluster with Ray Train's ``TorchTrainer`` (DDP).

``CDDPM(config).fit(df, ..., runner=RayTraining("10.0.0.5:6379", workers=4))`` trains on
the cluster instead of in this process, and ends with the same fitted model. Ray is an
optional dependency (``pip install "mcrage[ray]"``), imported only when a run starts.

How the work is split:

* **Same optimisation as one process.** Every worker runs the ordinary
  :class:`~mcrage_core.diffusion.trainer.Trainer` (its step, loss, schedule, learning
  rate and EMA); only the network it steps is wrapped in ``DistributedDataParallel``
  (``ray.train.torch.prepare_model``), which averages the gradients. Each of ``N``
  workers draws ``batch_size / N`` rows a step, so the rows per step, and thus the
  optimisation, are the 1-process run's. Backend: NCCL on GPUs, gloo on CPUs.
* **Data.** The encoded rows go to the object store once. Every worker sets the same
  validation rows aside (same seed), then takes its own shard of the rest: a seeded
  permutation dealt out round-robin, so the split is the same on every run. Worker 0
  keeps the 1-process random stream; worker ``r`` seeds its own from (seed, ``r``,
  step). A 1-worker run is therefore the local run, step for step.
* **One decision for all.** Before each step worker 0 broadcasts the share of the run
  done (its clock rules a time budget) and whether to cancel; it alone computes the
  validation loss and broadcasts whether to stop early. The loss in the log is the
  mean over all workers' rows.
* **Checkpoints** are written by worker 0 into the run folder in the usual format
  (:mod:`.checkpoint`), so a cancelled run resumes, here or in one process. Every worker
  reads the folder on a resume: on a cluster of several machines it must be on storage
  they all share (as Ray Train requires of its own storage).
* **Progress and cancel.** Worker 0 sends its progress events, and at the end the
  outcome (weights, log, notes), to a small actor that this process drains while
  ``TorchTrainer.fit`` runs in a thread; it reports its log lines with
  ``ray.train.report`` too, at most every few seconds (Ray Train's controller collects
  one report every 2 s and blocks the workers until it has). Cancelling sets a flag in
  the actor; worker 0 polls it, all workers stop at the same step, worker 0 writes a
  checkpoint, and :class:`~mcrage_core.errors.TrainingCancelled` is raised here.

The workers' side is :mod:`.ddp_worker`. Differentially private training (DP-SGD) runs
in one process only.
"""

from __future__ import annotations

import copy
import shutil
import tempfile
import threading
import time
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Protocol

import torch

from mcrage_core.diffusion.checkpoint import CHECKPOINT_DIR
from mcrage_core.diffusion.ddp_worker import Channel, apply_outcome, train_worker
from mcrage_core.diffusion.trainer import STAGE, Trainer
from mcrage_core.errors import ConfigError, MCRAGEError, TrainingCancelled, TrainingFailed
from mcrage_core.progress import CancelCheck, ProgressCallback, ProgressEvent
from mcrage_core.util.ray_cluster import (
    ADDRESS_ENV,
    INSTALL_HINT,
    connect,
    resolve_address,
    unwrap,
)

__all__ = ["RayTraining", "TrainRunner"]

_POLL_S = 0.25
"""How often this process forwards progress and asks ``should_stop``."""
_CANCEL_GRACE_S = 60.0
"""After a cancel, how long the workers get to stop at a step before the run is shut down."""


class TrainRunner(Protocol):
    """What ``CDDPM.fit(runner=...)`` takes: runs a trainer's training elsewhere (such as
    :class:`RayTraining`) and leaves the trainer as its own :meth:`~Trainer.train` would;
    returns where it trained (address, workers, backend, device)."""

    def __call__(
        self,
        trainer: Trainer,
        x: torch.Tensor,
        cond: torch.Tensor,
        *,
        progress: ProgressCallback | None,
        should_stop: CancelCheck | None,
        checkpoint_dir: Path | None,
        resume: bool,
        fingerprint: str,
    ) -> dict[str, str | int]: ...


def _plain(exc: BaseException, address: str) -> MCRAGEError:
    """A failed run as the error a user reads: a worker's own MCRAGE error as it was."""
    failures = getattr(exc, "worker_failures", None) or {}
    causes = [unwrap(failures[rank]) for rank in sorted(failures)]
    causes += [unwrap(getattr(exc, "controller_failure", None) or exc)]
    for cause in causes:
        if isinstance(cause, MCRAGEError):
            return cause
    cause = causes[0]
    first = next((ln.strip() for ln in str(cause).splitlines() if ln.strip()), "no message")
    return TrainingFailed(
        f"Training on the Ray cluster at {address} failed ({type(cause).__name__}: "
        f"{first}). The workers' logs are in the cluster's session folder "
        "(/tmp/ray/session_latest/logs on its nodes)."
    )


def _forward(
    ray: Any, channel: Any, progress: ProgressCallback | None, stage: str
) -> dict[str, Any] | None:
    """Pass worker 0's new progress events on; its outcome once it has finished."""
    events, ended = ray.get(channel.take.remote())
    for event in events:
        if progress is not None:
            progress(ProgressEvent(**{**event, "stage": stage}))
    return ended


def _drive(
    ray: Any,
    fit: Callable[[], object],
    channel: Any,
    progress: ProgressCallback | None,
    should_stop: CancelCheck | None,
    stage: str,
    done: Callable[[], object],
) -> dict[str, Any]:
    """Run ``fit()``, then ``done()``, in a thread until worker 0 hands over the outcome;
    meanwhile forward its progress and pass a cancel on.

    The thread may outlive this call: Ray Train's controller still shuts down after the
    workers are done (12 s more where the cluster has no dashboard to answer its state
    queries). It is not a daemon, so the process waits for it before exiting. When this
    call fails while the run goes on (interrupted, a callback raised, a cancel the workers
    did not heed), Ray is shut down here, which ends the run: its controller belongs to
    this process.
    """
    box: dict[str, BaseException] = {}

    def run() -> None:
        try:
            fit()
        except BaseException as exc:  # handed to the driver thread below
            box["error"] = exc
        finally:
            done()

    thread = threading.Thread(target=run, name="mcrage-ray-train")
    thread.start()
    try:
        return _wait(ray, thread, box, channel, progress, should_stop, stage)
    except BaseException:
        if thread.is_alive():
            ray.shutdown()
        raise


def _wait(
    ray: Any,
    thread: threading.Thread,
    box: dict[str, BaseException],
    channel: Any,
    progress: ProgressCallback | None,
    should_stop: CancelCheck | None,
    stage: str,
) -> dict[str, Any]:
    asked_at: float | None = None
    while (ended := _forward(ray, channel, progress, stage)) is None:
        if not thread.is_alive():
            if (ended := _forward(ray, channel, progress, stage)) is not None:
                break
            raise box.get("error") or TrainingFailed("The Ray Train run ended without a result.")
        thread.join(_POLL_S)
        if asked_at is None and should_stop is not None and should_stop():
            channel.request_stop.remote()
            asked_at = time.monotonic()
        if asked_at is not None and time.monotonic() - asked_at > _CANCEL_GRACE_S:
            raise TrainingCancelled(
                "Training on the Ray cluster was cancelled; its workers did not stop within "
                f"{_CANCEL_GRACE_S:.0f} s and were shut down. The run folder keeps the last "
                "periodic checkpoint, if there was one."
            )
    return ended


def _backend(use_gpu: bool) -> str:
    return "nccl" if use_gpu else "gloo"


def _worker_config(
    ray: Any,
    trainer: Trainer,
    x: torch.Tensor,
    cond: torch.Tensor,
    channel: Any,
    run_dir: Path | None,
    resume: bool,
    fingerprint: str,
) -> dict[str, Any]:
    """What every worker gets: the network, schedule and settings, and the rows, through
    the object store (once for all workers)."""
    net = copy.deepcopy(trainer.model).cpu()  # the workers move it to their device
    return {
        "model": ray.put((net, trainer.schedule, trainer.settings)),
        "data": ray.put((x.cpu(), cond.cpu())),
        "channel": channel,
        "run_dir": str(run_dir) if run_dir is not None else None,
        "resume": bool(resume and run_dir is not None),
        "fingerprint": fingerprint,
    }


@dataclass
class RayTraining:
    """Train with ``workers`` data-parallel Ray Train workers on the cluster at ``address``.

    Pass it to :meth:`CDDPM.fit <mcrage_core.diffusion.CDDPM.fit>` as ``runner``.
    ``address``: HOST:PORT of the head node, ``"local"`` (a private Ray on this machine)
    or ``None`` (the :data:`~mcrage_core.util.ray_cluster.ADDRESS_ENV` variable).
    ``use_gpu``: ``None`` uses GPUs when the cluster has one per worker. After a run,
    :attr:`where` says where it trained (address, workers, backend, device).
    """

    address: str | None = None
    workers: int = 2
    use_gpu: bool | None = None
    where: dict[str, str | int] = field(default_factory=dict)

    def __call__(
        self,
        trainer: Trainer,
        x: torch.Tensor,
        cond: torch.Tensor,
        *,
        progress: ProgressCallback | None = None,
        should_stop: CancelCheck | None = None,
        checkpoint_dir: Path | None = None,
        resume: bool = False,
        fingerprint: str = "",
    ) -> dict[str, str | int]:
        """Train ``trainer``'s model on the cluster; ``trainer`` ends as after its own
        :meth:`~Trainer.train`. Returns :attr:`where`."""
        address = self._check(trainer)
        ray = connect(address)
        use_gpu = self._use_gpu(ray, address)
        self.where = {
            "address": address,
            "workers": self.workers,
            "backend": _backend(use_gpu),
            "device": "cuda" if use_gpu else "cpu",
        }
        run_dir = None
        if checkpoint_dir is not None:
            run_dir = Path(checkpoint_dir).resolve()
            (run_dir / CHECKPOINT_DIR).mkdir(parents=True, exist_ok=True)
        place = "Ray on this machine" if address == "local" else f"the Ray cluster at {address}"
        stage = f"{STAGE} on {place} ({self.workers} workers)"
        if progress is not None:
            progress(ProgressEvent(stage=f"Starting {stage}", fraction=0.0))
        storage = tempfile.mkdtemp(prefix="mcrage-ray-")  # Ray Train's own files
        channel: Any = None
        launched = False
        try:
            channel = ray.remote(num_cpus=0)(Channel).remote()
            config = _worker_config(ray, trainer, x, cond, channel, run_dir, resume, fingerprint)
            fit = self._torch_trainer(config, use_gpu, storage).fit
            launched = True  # from here on the run removes ``storage`` when it ends
            remove = partial(shutil.rmtree, storage, ignore_errors=True)
            ended = _drive(ray, fit, channel, progress, should_stop, stage, done=remove)
        except MCRAGEError:
            raise
        except Exception as exc:
            raise _plain(exc, address) from None
        finally:
            if not launched:
                shutil.rmtree(storage, ignore_errors=True)
            if channel is not None and ray.is_initialized():
                ray.kill(channel)
        apply_outcome(trainer, ended)
        return dict(self.where)

    def _check(self, trainer: Trainer) -> str:
        """The cluster address, once the request is checked."""
        if isinstance(self.workers, bool) or not isinstance(self.workers, int):
            raise ConfigError(
                f"The number of Ray workers must be a whole number, not {self.workers!r}."
            )
        if self.workers < 1:
            raise ConfigError(f"The number of Ray workers must be at least 1, got {self.workers}.")
        if trainer.settings.dp_epsilon is not None:
            raise ConfigError(
                "Differentially private training runs in one process: drop the Ray cluster "
                "address, or train without a privacy budget (dp_epsilon)."
            )
        try:
            with warnings.catch_warnings():  # Ray Data's own deprecations, raised on import
                warnings.simplefilter("ignore", DeprecationWarning)
                import ray.train.torch  # noqa: F401
        except ImportError:
            raise ConfigError(
                f"Training on a Ray cluster needs Ray Train; {INSTALL_HINT}."
            ) from None
        address = resolve_address(self.address)
        if address is None:
            raise ConfigError(
                "No Ray cluster to train on: give its address (HOST:PORT of the head node, "
                f"or 'local') or set the {ADDRESS_ENV} environment variable."
            )
        return address

    def _use_gpu(self, ray: Any, address: str) -> bool:
        """GPUs when asked for (or, by default, when the cluster has one per worker)."""
        resources = ray.cluster_resources()
        gpus, cpus = float(resources.get("GPU", 0)), float(resources.get("CPU", 0))
        use_gpu = gpus >= self.workers if self.use_gpu is None else self.use_gpu
        if use_gpu and gpus < self.workers:
            raise ConfigError(
                f"The Ray cluster at {address} has {gpus:g} GPU(s) for {self.workers} "
                "workers: ask for fewer workers or train on the CPUs (--device cpu)."
            )
        if not use_gpu and cpus < self.workers:
            raise ConfigError(
                f"The Ray cluster at {address} has {cpus:g} CPU(s), one per worker is "
                f"needed: ask for at most {int(cpus)} workers, or add nodes."
            )
        return use_gpu

    def _torch_trainer(self, config: dict[str, Any], use_gpu: bool, storage: str) -> Any:
        from ray.train import FailureConfig, RunConfig, ScalingConfig
        from ray.train.torch import TorchConfig, TorchTrainer

        return TorchTrainer(
            train_worker,
            train_loop_config=config,
            scaling_config=ScalingConfig(num_workers=self.workers, use_gpu=use_gpu),
            torch_config=TorchConfig(backend=_backend(use_gpu)),
            run_config=RunConfig(
                name=f"mcrage-cddpm-{uuid.uuid4().hex[:8]}",
                storage_path=storage,
                failure_config=FailureConfig(max_failures=0),
            ),
        )
