"""Device selection: ``auto`` picks CUDA, then Apple MPS, then the CPU."""

from __future__ import annotations

import contextlib
import os
import platform
from collections.abc import Iterator
from typing import Literal, get_args

import torch

from mcrage_core.errors import ConfigError

__all__ = ["DeviceName", "cpu_threads", "resolve_device", "device_info"]

DeviceName = Literal["auto", "cpu", "cuda", "mps"]
_CHOICES: tuple[str, ...] = get_args(DeviceName)


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """Turn a device preference into a :class:`torch.device`.

    Parameters
    ----------
    device
        ``"auto"`` (CUDA if present, then MPS, then CPU), ``"cpu"``, ``"cuda"``,
        ``"cuda:1"`` or ``"mps"``; a :class:`torch.device` is returned unchanged.

    Raises
    ------
    ConfigError
        If the name is unknown or the requested accelerator is not available.
    """
    if isinstance(device, torch.device):
        return device
    name = str(device).strip().lower()
    base = name.split(":", 1)[0]
    if base not in _CHOICES:
        raise ConfigError(f"Unknown device {device!r}: choose one of auto, cpu, cuda or mps.")
    if base == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if base == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            "Device 'cuda' was requested but no CUDA GPU is available on this machine "
            "(or this PyTorch build has no CUDA support): use --device auto or cpu."
        )
    if base == "mps" and not _mps_available():
        raise ConfigError(
            "Device 'mps' was requested but Apple's Metal backend is not available here: "
            "use --device auto or cpu."
        )
    try:
        return torch.device(name)
    except RuntimeError as exc:
        raise ConfigError(f"Invalid device {device!r}: {exc}") from exc


def device_info() -> dict:
    """Describe the compute this process can use (for logs, reports and benchmarks)."""
    info: dict = {
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cuda_available": torch.cuda.is_available(),
        "mps_available": _mps_available(),
        "auto": str(resolve_device("auto")),
        "gpus": [],
    }
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            info["gpus"].append(
                {
                    "index": i,
                    "name": props.name,
                    "memory_gib": round(props.total_memory / 2**30, 1),
                    "bf16": bool(torch.cuda.is_bf16_supported()),
                }
            )
    return info


@contextlib.contextmanager
def cpu_threads(threads: int | None, device: torch.device) -> Iterator[None]:
    """Use ``threads`` torch CPU threads inside the block, then restore the old count.

    Does nothing when ``threads`` is ``None`` or ``device`` is not the CPU.
    """
    if threads is None or device.type != "cpu":
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(old)
