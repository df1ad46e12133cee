"""Exception types. Every message is written for a data steward: what is wrong,
where (file, column or line) and what to do about it."""

from __future__ import annotations

__all__ = [
    "MCRAGEError",
    "DataError",
    "ConfigError",
    "ModelFileError",
    "TrainingCancelled",
    "TrainingFailed",
]


class MCRAGEError(Exception):
    """Base class of every error the library raises on purpose."""


class DataError(MCRAGEError, ValueError):
    """The input table cannot be used as given (unreadable, malformed, unsuitable)."""


class ConfigError(MCRAGEError, ValueError):
    """A setting or argument is invalid (unknown column, bad option, impossible plan)."""


class ModelFileError(MCRAGEError):
    """A saved model or run directory is missing, corrupted, tampered with or incompatible."""


class TrainingCancelled(MCRAGEError):
    """Training stopped because the user asked it to."""


class TrainingFailed(MCRAGEError):
    """Training stopped on a fault (out of memory, disk full, non-finite loss...)."""
