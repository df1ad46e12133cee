"""Conditional denoising diffusion (CDDPM) engine for mixed-type EHR tables.

Public entry points: :class:`CDDPM` and :class:`CDDPMConfig`; the building blocks
(:class:`TabularEncoder`, :class:`NoiseSchedule`, :class:`Denoiser`,
:class:`Trainer`) are exported for advanced use. Importing this package creates no
folders and seeds nothing.
"""

from __future__ import annotations

from mcrage_core.diffusion.cddpm import CDDPM, FORMAT, FORMAT_VERSION, CDDPMConfig, PresetName
from mcrage_core.diffusion.denoiser import Denoiser
from mcrage_core.diffusion.device import DeviceName, device_info, resolve_device
from mcrage_core.diffusion.encoding import ColumnSpec, TabularEncoder
from mcrage_core.diffusion.sampler import SamplingMethod, network_evaluations, sample_matrix
from mcrage_core.diffusion.schedule import NoiseSchedule, ScheduleKind, StepOutput
from mcrage_core.diffusion.trainer import Trainer, TrainerSettings

__all__ = [
    "CDDPM",
    "CDDPMConfig",
    "PresetName",
    "FORMAT",
    "FORMAT_VERSION",
    "Denoiser",
    "DeviceName",
    "device_info",
    "resolve_device",
    "ColumnSpec",
    "TabularEncoder",
    "SamplingMethod",
    "network_evaluations",
    "sample_matrix",
    "NoiseSchedule",
    "ScheduleKind",
    "StepOutput",
    "Trainer",
    "TrainerSettings",
]
