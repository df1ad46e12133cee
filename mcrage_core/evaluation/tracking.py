"""Progress of an audit run as one overall fraction, and cancellation."""

from __future__ import annotations

import time
from typing import Any

from mcrage_core.errors import TrainingCancelled
from mcrage_core.progress import CancelCheck, ProgressCallback, ProgressEvent

__all__ = ["Tracker", "check_stop"]


class Tracker:
    """Maps work units to an overall fraction and forwards a strategy's own events."""

    def __init__(self, callback: ProgressCallback | None, total_units: float) -> None:
        self.callback = callback
        self.total = max(total_units, 1e-9)
        self.done = 0.0
        self.last = 0.0
        self.started = time.monotonic()

    def _fraction(self, value: float) -> float:
        self.last = max(self.last, min(1.0, value))  # never goes back
        return self.last

    def emit(self, stage: str, **extra: Any) -> None:
        if self.callback is not None:
            self.callback(
                ProgressEvent(
                    stage=stage,
                    fraction=self._fraction(self.done / self.total),
                    elapsed_s=time.monotonic() - self.started,
                    **extra,
                )
            )

    def advance(self, units: float) -> None:
        self.done += units

    def finish(self) -> None:
        self.done = self.total

    def forward(self, stage: str, units: float) -> ProgressCallback:
        """A callback that maps another job's fractions onto the next ``units``."""
        start = self.done

        def _cb(event: ProgressEvent) -> None:
            if self.callback is None:
                return
            frac = min(1.0, max(0.0, float(event.fraction or 0.0)))
            self.callback(
                ProgressEvent(
                    stage=f"{stage}: {event.stage}" if event.stage else stage,
                    fraction=self._fraction((start + frac * units) / self.total),
                    step=event.step,
                    total_steps=event.total_steps,
                    loss=event.loss,
                    rows_per_s=event.rows_per_s,
                    eta_s=event.eta_s,
                    elapsed_s=time.monotonic() - self.started,
                )
            )

        return _cb


def check_stop(should_stop: CancelCheck | None) -> None:
    """Raise :class:`TrainingCancelled` when ``should_stop`` says so."""
    if should_stop is not None and should_stop():
        raise TrainingCancelled("the audit was cancelled at your request; nothing was saved")
