"""Terminal progress for the CLI, drawn by tqdm: one bar for the whole job, with the
current stage as its description and the training step, loss and rows/s beside it.

On a terminal the bar redraws in place (tqdm rate-limits redraws). When stderr is
not a terminal (a log file, CI) tqdm is switched off and one plain line is written per
stage change and per 10 % of the job, so logs stay readable.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

from tqdm import tqdm

from mcrage_core.progress import ProgressEvent

__all__ = ["TerminalProgress"]


class TerminalProgress:
    """A progress callback (``ProgressEvent`` → terminal); :meth:`close` when done."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._bar: tqdm[Any] | None = None
        self._stage = ""
        self._decile = -1

    def __call__(self, event: ProgressEvent) -> None:
        fraction = min(max(float(event.fraction or 0.0), 0.0), 1.0)
        if self.tty:
            self._draw(event, fraction)
        else:
            self._log(event, fraction)
        if fraction >= 1.0:
            self.close()

    def _draw(self, event: ProgressEvent, fraction: float) -> None:
        if self._bar is None:
            self._bar = tqdm(
                total=1000, file=self.stream, unit="‰", bar_format=_FORMAT, dynamic_ncols=True
            )
        bar = self._bar
        if event.stage != self._stage:
            self._stage = event.stage
            bar.set_description_str(event.stage, refresh=False)
        bar.set_postfix_str(_details(event), refresh=False)
        bar.update(max(0, int(round(fraction * 1000)) - bar.n))

    def _log(self, event: ProgressEvent, fraction: float) -> None:
        decile = int(fraction * 10)
        if event.stage == self._stage and decile == self._decile:
            return
        self._stage, self._decile = event.stage, decile
        details = _details(event)
        line = f"[{100 * fraction:5.1f} %] {event.stage}" + (f" — {details}" if details else "")
        print(line, file=self.stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


_FORMAT = "{desc} {percentage:3.0f}%|{bar:24}| {elapsed}<{remaining} {postfix}"


def _details(event: ProgressEvent) -> str:
    parts = []
    if event.step is not None and event.total_steps is not None:
        parts.append(f"step {event.step}/{event.total_steps}")
    if event.loss is not None:
        parts.append(f"loss {event.loss:.4f}")
    if event.rows_per_s is not None:
        parts.append(f"{event.rows_per_s:,.0f} rows/s")
    return ", ".join(parts)
