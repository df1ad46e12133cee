"""Drawing rows from a fitted model: exact counts per cell, decoded, copies of real rows
replaced by new draws. :meth:`CDDPM.sample <mcrage_core.diffusion.CDDPM.sample>` is the
entry point; the reverse-process loop itself is :func:`~.sampler.sample_matrix`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypedDict

import numpy as np
import pandas as pd
import torch

from mcrage_core.diffusion.cells import CellCodes
from mcrage_core.diffusion.column_specs import restore_categorical
from mcrage_core.diffusion.config import CDDPMConfig
from mcrage_core.diffusion.device import cpu_threads
from mcrage_core.diffusion.sampler import (
    SAMPLING_METHODS,
    SamplingMethod,
    network_evaluations,
    sample_matrix,
    visited_timesteps,
)
from mcrage_core.diffusion.schedule import NoiseSchedule
from mcrage_core.errors import ConfigError, DataError, MCRAGEError
from mcrage_core.fidelity import row_hashes

if TYPE_CHECKING:
    from mcrage_core.diffusion.model import CDDPM

__all__ = ["SampleInfo", "SamplingOptions", "draw_rows", "real_row_hashes"]

MAX_TOPUP_ROUNDS = 20
"""Extra draws allowed to replace generated rows that copy a real row."""


class SampleInfo(TypedDict):
    """Details of the last :meth:`CDDPM.sample` call (``CDDPM.last_sample_info_``)."""

    method: SamplingMethod
    sampling_steps: int
    network_evaluations: int
    guidance: float
    eta: float
    seed: int
    n_rows: int
    exact_copies_removed: int
    wall_s: float


@dataclass(frozen=True)
class SamplingOptions:
    """Sampler settings of one :meth:`CDDPM.sample` call, checked."""

    method: SamplingMethod
    steps: int
    guidance: float
    eta: float

    @classmethod
    def resolve(
        cls,
        config: CDDPMConfig,
        *,
        method: SamplingMethod | None,
        steps: int | None,
        guidance: float | None,
        eta: float | None,
    ) -> SamplingOptions:
        """The arguments given, else the config's defaults (raises :class:`ConfigError`)."""
        method = method if method is not None else config.sampling_method
        if method not in SAMPLING_METHODS:
            raise ConfigError(
                f"Unknown sampling method {method!r}: choose 'dpmpp', 'ddim' or 'ancestral'."
            )
        n_steps = config.sampling_steps if steps is None else int(steps)
        if n_steps < 1:
            raise ConfigError(f"sampling_steps must be at least 1, got {n_steps}.")
        w = float(config.guidance if guidance is None else guidance)
        if not math.isfinite(w) or w < 0:
            raise ConfigError(f"The guidance scale must be 0 or more, got {guidance}.")
        if w != 1.0 and config.cond_drop_prob <= 0:
            raise ConfigError(
                f"Guidance {w:g} needs a model trained with cond_drop_prob above 0 (this one "
                "never learned the unconditional rows it mixes in); sample with guidance 1, "
                "or train again with cond_drop_prob=0.1."
            )
        eta_value = float(config.ddim_eta if eta is None else eta)
        if not 0.0 <= eta_value <= 1.0:
            raise ConfigError(f"eta must be between 0 and 1, got {eta}.")
        return cls(method=method, steps=n_steps, guidance=w, eta=eta_value)

    def info(
        self,
        schedule: NoiseSchedule,
        *,
        seed: int,
        n_rows: int,
        exact_copies_removed: int,
        wall_s: float,
    ) -> SampleInfo:
        """What a call with these settings did (for ``last_sample_info_``)."""
        visited = visited_timesteps(schedule, self.method, self.steps)
        return {
            "method": self.method,
            "sampling_steps": len(visited),
            "network_evaluations": network_evaluations(
                schedule, self.method, self.steps, self.guidance
            ),
            "guidance": self.guidance,
            "eta": 1.0 if self.method == "ancestral" else self.eta,
            "seed": seed,
            "n_rows": n_rows,
            "exact_copies_removed": exact_copies_removed,
            "wall_s": wall_s,
        }


def real_row_hashes(real: pd.DataFrame | None, columns: list[str]) -> set[int] | None:
    """Hashes of the real rows that generated rows must not copy (``None``: no check)."""
    if real is None:
        return None
    missing = [c for c in columns if c not in real.columns]
    if missing:
        raise ConfigError(f"exclude_copies_of lacks the column(s) {missing} of the model's output.")
    return set(row_hashes(real, columns).tolist())


def draw_rows(
    model: CDDPM,
    plan: list[tuple[CellCodes, int]],
    opts: SamplingOptions,
    generator: torch.Generator,
    real_hashes: set[int] | None,
    batch_size: int,
) -> tuple[pd.DataFrame, int]:
    """Rows for ``plan`` (grouped by cell, in its order), and how many copies were redrawn."""
    pieces: dict[CellCodes, list[pd.DataFrame]] = {c: [] for c, _ in plan}
    need = dict(plan)
    copies_removed = 0
    for _round in range(MAX_TOPUP_ROUNDS + 1):
        todo = [(c, n) for c, n in need.items() if n > 0]
        if not todo:
            break
        frame = _generate(model, todo, opts, generator, batch_size)
        is_copy = np.zeros(len(frame), dtype=bool)
        if real_hashes is not None:
            hashes = row_hashes(frame, model.output_columns_)
            is_copy = np.fromiter((h in real_hashes for h in hashes), bool, len(frame))
            copies_removed += int(is_copy.sum())
        offset = 0
        for c, n in todo:
            keep = frame.iloc[offset : offset + n][~is_copy[offset : offset + n]]
            pieces[c].append(keep)
            need[c] -= len(keep)
            offset += n
    if any(v > 0 for v in need.values()):
        raise DataError(
            "Could not generate enough rows that differ from the real table: the "
            f"model keeps reproducing real records (still missing {sum(need.values())}"
            " rows). Train longer or on more data."
        )
    parts = [p for c, _ in plan for p in pieces[c]]
    if not parts:
        empty = np.zeros((0, model.encoder_.output_dim_))
        return _decode(model, empty, np.zeros((0, len(model.levels_)), int)), copies_removed
    return pd.concat(parts, ignore_index=True), copies_removed


def _generate(
    model: CDDPM,
    todo: list[tuple[CellCodes, int]],
    opts: SamplingOptions,
    generator: torch.Generator,
    batch_size: int,
) -> pd.DataFrame:
    """``n`` decoded rows for each ``(cell, n)`` of ``todo``, cell after cell."""
    cells = np.array([list(c) for c, _ in todo], dtype=np.int64).reshape(-1, len(model.levels_))
    cond = torch.from_numpy(np.repeat(cells, [n for _, n in todo], axis=0))
    try:
        with cpu_threads(model.config.cpu_threads, model.device_):
            mat = sample_matrix(
                model.model_,
                model.schedule_,
                cond,
                method=opts.method,
                steps=opts.steps,
                guidance=opts.guidance,
                eta=None if opts.method == "ancestral" else opts.eta,
                generator=generator,
                device=model.device_,
                batch_size=batch_size,
                clip_sample=model.config.clip_sample,
            )
    except torch.OutOfMemoryError as exc:
        raise MCRAGEError(
            "The GPU ran out of memory while sampling; pass a smaller batch_size."
        ) from exc
    return _decode(model, mat.numpy(), cond.numpy())


def _decode(model: CDDPM, mat: np.ndarray, codes: np.ndarray) -> pd.DataFrame:
    """Encoded rows and their cell codes back to the original columns and dtypes."""
    frame = model.encoder_.inverse_transform(mat)
    for i, col in enumerate(model.cell_columns):
        values = [model.levels_[i][int(k)] for k in codes[:, i]]
        frame[col] = restore_categorical(values, model.cell_dtypes_[i], model.levels_[i])
    return frame[model.output_columns_]
