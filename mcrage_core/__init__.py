"""MCRAGE: find and repair demographic imbalance in EHR tables with a conditional
denoising diffusion model, then measure whether downstream models got fairer.

The library never imports streamlit; the dashboard and the CLI are thin faces of it.
"""

from __future__ import annotations

__version__ = "0.1.0"

from mcrage_core.errors import (
    ConfigError,
    DataError,
    MCRAGEError,
    ModelFileError,
    TrainingCancelled,
    TrainingFailed,
)

__all__ = [
    "__version__",
    "ConfigError",
    "DataError",
    "MCRAGEError",
    "ModelFileError",
    "TrainingCancelled",
    "TrainingFailed",
]
