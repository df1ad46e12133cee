"""Conditional denoising diffusion (CDDPM) engine for mixed-type EHR tables.

Public entry points: :class:`CDDPM` (``model.py``) and :class:`CDDPMConfig`
(``config.py``, every preset). The building blocks are exported for advanced use:
:class:`TabularEncoder` (``encoding.py``), :class:`NoiseSchedule` (``schedule.py``),
:class:`Denoiser` (``denoiser.py``), :class:`Trainer` (``trainer.py``, checkpoints in
``checkpoint.py``), the cell bookkeeping (``cells.py``) and the model folder format
(``persistence.py``). Importing this package creates no folders and seeds nothing.
"""

from __future__ import annotations

from mcrage_core.diffusion.cells import CellCodes, CellKey, CountRequest
from mcrage_core.diffusion.column_specs import CategoryValue, ColumnSpec
from mcrage_core.diffusion.compute import ComputeReport, compute_report
from mcrage_core.diffusion.config import (
    DEFAULT_PRESET,
    PRESET_LABELS,
    PRESET_NAMES,
    AmpMode,
    CDDPMConfig,
    PresetName,
)
from mcrage_core.diffusion.denoiser import Denoiser
from mcrage_core.diffusion.device import DeviceName, cpu_threads, device_info, resolve_device
from mcrage_core.diffusion.encoding import TabularEncoder
from mcrage_core.diffusion.generation import SampleInfo, SamplingOptions
from mcrage_core.diffusion.model import CDDPM, TrainInfo
from mcrage_core.diffusion.persistence import FORMAT, FORMAT_VERSION, load_model, save_model
from mcrage_core.diffusion.sampler import SamplingMethod, network_evaluations, sample_matrix
from mcrage_core.diffusion.schedule import NoiseSchedule, ScheduleKind, StepOutput
from mcrage_core.diffusion.trainer import STOP_REASONS, Trainer, TrainerSettings, TrainLogEntry

__all__ = [
    "ComputeReport",
    "compute_report",
    "CDDPM",
    "CDDPMConfig",
    "PresetName",
    "DEFAULT_PRESET",
    "PRESET_LABELS",
    "PRESET_NAMES",
    "STOP_REASONS",
    "AmpMode",
    "FORMAT",
    "FORMAT_VERSION",
    "load_model",
    "save_model",
    "SampleInfo",
    "SamplingOptions",
    "TrainInfo",
    "CellCodes",
    "CellKey",
    "CountRequest",
    "CategoryValue",
    "Denoiser",
    "DeviceName",
    "cpu_threads",
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
    "TrainLogEntry",
]
