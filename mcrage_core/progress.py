"""Progress reporting shared by the trainer, the audit pipeline, the CLI and the dashboard."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

__all__ = ["ProgressEvent", "ProgressCallback", "CancelCheck", "never_cancel"]


@dataclass(frozen=True)
class ProgressEvent:
    """One progress report.

    ``stage`` is a short human sentence ("Training CDDPM", "Evaluating SMOTE, seed 2 of 3").
    ``fraction`` is the overall completion in [0, 1] of the whole job that emits it.
    The training fields are set while a diffusion model trains.
    """

    stage: str
    fraction: float
    step: int | None = None
    total_steps: int | None = None
    loss: float | None = None
    rows_per_s: float | None = None
    eta_s: float | None = None
    elapsed_s: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


ProgressCallback = Callable[[ProgressEvent], None]
CancelCheck = Callable[[], bool]


def never_cancel() -> bool:
    return False
