"""Held-out validation loss and early stopping for the trainer.

A small share of the training rows is set aside, stratified by cell: only cells with at
least :data:`MIN_CELL_ROWS` rows give any, so a rare cell never loses its few rows. Each
held-out row gets a fixed timestep (spread evenly over the chain) and a fixed noise draw,
so the validation loss of the EMA network is comparable from one check to the next and
measures how well the model denoises rows it has not seen. Training stops once that loss
has not improved for ``patience`` checks in a row, as MOSTLY AI's engine does; the EMA
weights of the best check are kept.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

__all__ = [
    "MAX_VALIDATION_ROWS",
    "MIN_CELL_ROWS",
    "MIN_VALIDATION_ROWS",
    "EarlyStopping",
    "ValidationSet",
]

MIN_CELL_ROWS = 20
"""Cells with fewer rows keep all of them for training."""
MIN_VALIDATION_ROWS = 50
"""Below this many held-out rows the loss is too noisy to stop on: no validation."""
MAX_VALIDATION_ROWS = 8192
"""At most this many rows are held out (the share shrinks on long tables), so a
validation check costs the same on a million rows as on 160,000 (issue 15)."""
MIN_IMPROVEMENT = 0.002
"""Relative drop of the validation loss that counts as an improvement."""


@dataclass(frozen=True)
class ValidationSet:
    """Held-out rows with their fixed timesteps and noise."""

    x: torch.Tensor
    cond: torch.Tensor
    t: torch.Tensor
    noise: torch.Tensor

    @staticmethod
    def split(
        x: torch.Tensor,
        cond: torch.Tensor,
        *,
        fraction: float,
        timesteps: int,
        generator: torch.Generator,
    ) -> tuple[torch.Tensor, ValidationSet | None]:
        """Indices of the rows to train on, and the held-out set (``None``: too few rows)."""
        everything = torch.arange(x.shape[0])
        fraction = min(fraction, MAX_VALIDATION_ROWS / max(1, x.shape[0]))
        if fraction <= 0:
            return everything, None
        _, cell_of_row, sizes = torch.unique(cond, dim=0, return_inverse=True, return_counts=True)
        held: list[torch.Tensor] = []
        for cell, size in enumerate(sizes.tolist()):
            take = int(size * fraction)
            if size < MIN_CELL_ROWS or take < 1:
                continue
            rows = everything[cell_of_row == cell]
            held.append(rows[torch.randperm(size, generator=generator)[:take]])
        if not held or sum(len(h) for h in held) < MIN_VALIDATION_ROWS:
            return everything, None
        val_rows = torch.cat(held)
        keep = torch.ones(x.shape[0], dtype=torch.bool)
        keep[val_rows] = False
        n = len(val_rows)
        t = ((torch.arange(n) + 0.5) * timesteps / n).long().clamp_(max=timesteps - 1)
        t = t[torch.randperm(n, generator=generator)]
        noise = torch.randn((n, x.shape[1]), generator=generator)
        return everything[keep], ValidationSet(x[val_rows], cond[val_rows], t, noise)

    def to(self, device: torch.device) -> ValidationSet:
        return ValidationSet(*(v.to(device) for v in (self.x, self.cond, self.t, self.noise)))

    def __len__(self) -> int:
        return int(self.x.shape[0])


class EarlyStopping:
    """Track the validation loss and keep the EMA weights of the best check.

    ``loss_of(network)`` computes the validation loss of a network;
    :meth:`check` returns ``True`` once ``patience`` checks in a row brought no
    improvement of at least :data:`MIN_IMPROVEMENT` (relative).
    """

    def __init__(self, loss_of: Callable[[nn.Module], float], patience: int) -> None:
        self.loss_of = loss_of
        self.patience = patience
        self.best = math.inf
        self.best_step = 0
        self.bad_checks = 0
        self.best_state: dict[str, torch.Tensor] | None = None
        self.last = math.nan

    def check(self, ema: nn.Module, step: int) -> bool:
        """Score ``ema`` at ``step``; true when training should stop."""
        self.last = self.loss_of(ema)
        if self.last < self.best * (1.0 - MIN_IMPROVEMENT):
            self.best, self.best_step, self.bad_checks = self.last, step, 0
            self.best_state = copy.deepcopy(ema.state_dict())
        else:
            self.bad_checks += 1
        return self.patience > 0 and self.bad_checks >= self.patience

    def restore_best(self, ema: nn.Module) -> bool:
        """Put the best check's weights back into ``ema``; true if they differed."""
        if self.best_state is None or self.bad_checks == 0:
            return False
        ema.load_state_dict(self.best_state)
        return True
