"""Why training runs where it runs: the torch build, its CUDA version, the NVIDIA driver,
and, when a GPU is present but not used, what to do about it (for the dashboard's
compute panel, the CLI and bug reports)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from mcrage_core.diffusion.device import device_info
from mcrage_core.util.torch_build import CUDA_BUILDS, choose, nvidia_driver

__all__ = ["ComputeReport", "compute_report", "explain"]


@dataclass(frozen=True)
class ComputeReport:
    """What the compute panel shows. ``uses_gpu`` and ``reason`` in one sentence."""

    torch_build: str
    cuda_build: str | None
    driver: str | None
    nvidia_gpus: tuple[str, ...]
    device: str
    uses_gpu: bool
    reason: str
    advice: str | None

    def rows(self) -> list[tuple[str, str]]:
        """(what, value) pairs for a two-column table."""
        return [
            ("PyTorch build", self.torch_build),
            ("CUDA version of that build", self.cuda_build or "none (CPU-only build)"),
            ("NVIDIA driver", self.driver or "none found"),
            ("NVIDIA GPUs", ", ".join(self.nvidia_gpus) or "none found"),
            ("Training runs on", self.device),
        ]


def _needed_driver(cuda: str) -> str | None:
    for _, version, needs in CUDA_BUILDS:
        if version == cuda:
            return f"{needs[0]}.{needs[1]:02d}"
    return None


def explain(
    *,
    torch_build: str,
    cuda_build: str | None,
    driver: str | None,
    cuda_available: bool,
    mps_available: bool,
    gpu_name: str | None = None,
    cpu_count: int | None = None,
) -> tuple[str, str | None]:
    """The reason and (when something could be better) the advice, from the facts."""
    if cuda_available:
        return f"Training runs on the GPU ({gpu_name or 'CUDA'}).", None
    if mps_available:
        return "Training runs on the Apple GPU (Metal).", None
    cpus = f"the CPU ({cpu_count} cores)" if cpu_count else "the CPU"
    if driver is None:
        return f"No NVIDIA GPU was found, so training runs on {cpus}.", None
    if cuda_build is None:
        plan = choose(driver=driver)
        return (
            f"An NVIDIA GPU is present (driver {driver}) but this PyTorch ({torch_build}) is "
            f"the CPU-only build, so training runs on {cpus}.",
            f"Install the CUDA build the driver runs ({plan.requirement}): `make torch` in a "
            "checkout, or `pip install` it from PyTorch's index.",
        )
    needs = _needed_driver(cuda_build)
    too_old = f" (CUDA {cuda_build} needs driver {needs} or newer)" if needs else ""
    return (
        f"An NVIDIA GPU is present but PyTorch cannot use it: this build is for CUDA "
        f"{cuda_build} and the driver is {driver}{too_old}. Training runs on {cpus}.",
        "Update the NVIDIA driver, or install the torch build the current driver runs "
        "(`make torch` picks it).",
    )


def compute_report() -> ComputeReport:
    """Look at this machine (runs ``nvidia-smi`` once; a second or two at most)."""
    info = device_info()
    found = nvidia_driver()
    gpus = info.get("gpus") or []
    reason, advice = explain(
        torch_build=torch.__version__,
        cuda_build=torch.version.cuda,
        driver=found[0] if found else None,
        cuda_available=bool(info.get("cuda_available")),
        mps_available=bool(info.get("mps_available")),
        gpu_name=gpus[0]["name"] if gpus else None,
        cpu_count=os.cpu_count(),
    )
    return ComputeReport(
        torch_build=torch.__version__,
        cuda_build=torch.version.cuda,
        driver=found[0] if found else None,
        nvidia_gpus=tuple(found[1]) if found else (),
        device=str(info.get("auto", "cpu")),
        uses_gpu=bool(info.get("cuda_available") or info.get("mps_available")),
        reason=reason,
        advice=advice,
    )
