"""The CDDPM facade: ``CDDPM(config).fit(df, target=..., condition=...)`` then ``.sample(counts)``.

The network is conditioned on the *cell* (condition values and outcome, see
:mod:`~mcrage_core.diffusion.cells`), so generated rows keep their label;
:meth:`CDDPM.sample` returns exactly the requested number of rows per cell, decoded to
the original columns, dtypes and category labels. :meth:`CDDPM.save` and
:meth:`CDDPM.load` go through :mod:`~mcrage_core.diffusion.persistence`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, NotRequired, TypedDict

import numpy as np
import pandas as pd
import torch

from mcrage_core.diffusion import cells as cellbook
from mcrage_core.diffusion.cells import CellCodes, CellKey, CountRequest
from mcrage_core.diffusion.checkpoint import training_fingerprint
from mcrage_core.diffusion.column_specs import CategoryValue
from mcrage_core.diffusion.columns import select_features
from mcrage_core.diffusion.config import CDDPMConfig
from mcrage_core.diffusion.denoiser import Denoiser
from mcrage_core.diffusion.device import cpu_threads, resolve_device
from mcrage_core.diffusion.encoding import TabularEncoder
from mcrage_core.diffusion.generation import (
    SampleInfo,
    SamplingOptions,
    draw_rows,
    real_row_hashes,
)
from mcrage_core.diffusion.persistence import load_model, save_model
from mcrage_core.diffusion.private import DP_COVERS, DP_DOES_NOT_COVER, DPInfo
from mcrage_core.diffusion.sampler import SamplingMethod
from mcrage_core.diffusion.schedule import NoiseSchedule
from mcrage_core.diffusion.trainer import STOP_REASONS, Trainer, TrainerSettings, TrainLogEntry
from mcrage_core.errors import ConfigError, DataError
from mcrage_core.progress import CancelCheck, ProgressCallback

if TYPE_CHECKING:
    from mcrage_core.diffusion.distributed import TrainRunner

__all__ = ["CDDPM", "TrainInfo"]


class TrainInfo(TypedDict):
    """How training went (``CDDPM.train_info_``)."""

    device: str
    amp: str
    steps: int
    wall_s: float
    rows_per_s: float | None
    n_train_rows: int
    parameters: int
    stop_reason: NotRequired[str]
    stopped_because: NotRequired[str]
    time_budget_s: NotRequired[float | None]
    validation_rows: NotRequired[int]
    dp: NotRequired[DPInfo]
    dp_covers: NotRequired[str]
    dp_does_not_cover: NotRequired[str]
    distributed: NotRequired[dict[str, str | int]]


class CDDPM:
    """Conditional denoising diffusion model for mixed-type EHR tables.

    Parameters
    ----------
    config
        Settings; ``None`` uses ``CDDPMConfig.preset("standard")``.

    Attributes (after :meth:`fit` or :meth:`load`)
    ----------------------------------------------
    cells_ : DataFrame
        One row per cell: the condition columns, the target and ``n_real``.
    columns_ : list[str]
        Feature columns modelled (besides the cell columns).
    notes_ : list[str]
        What was left out or dropped, in plain words.
    train_log_ : list[dict]
        Loss, learning rate and throughput over training.
    last_sample_info_ : dict
        Details of the last :meth:`sample` call (method, network evaluations,
        exact copies removed, wall time).

    Examples
    --------
    >>> model = CDDPM(CDDPMConfig.preset("quick")).fit(
    ...     df, target="died_within_6_months", condition=["race"])  # doctest: +SKIP
    >>> synth = model.sample({("black", 1): 200, ("hispanic", 0): 100})  # doctest: +SKIP
    """

    target_: str
    condition_: list[str]
    columns_: list[str]
    output_columns_: list[str]
    levels_: list[list[CategoryValue]]
    cell_dtypes_: list[str]
    cells_: pd.DataFrame
    encoder_: TabularEncoder
    notes_: list[str]
    n_dropped_: int
    device_: torch.device
    schedule_: NoiseSchedule
    model_: Denoiser
    train_log_: list[TrainLogEntry]
    train_info_: TrainInfo
    last_sample_info_: SampleInfo

    def __init__(self, config: CDDPMConfig | None = None) -> None:
        self.config = config if config is not None else CDDPMConfig.preset("standard")

    # ------------------------------------------------------------------ fitting
    def fit(
        self,
        df: pd.DataFrame,
        *,
        target: str,
        condition: str | Sequence[str],
        columns: Sequence[str] | None = None,
        progress: ProgressCallback | None = None,
        should_stop: CancelCheck | None = None,
        run_dir: str | os.PathLike[str] | None = None,
        resume: bool = False,
        runner: TrainRunner | None = None,
    ) -> CDDPM:
        """Train on ``df``.

        Parameters
        ----------
        df
            The real table (raw: columns not modelled are left out with a note).
        target
            The outcome column; generated rows keep their outcome.
        condition
            One or more sensitive columns (race, sex, age band...). Together with the
            target they form the cells the model is conditioned on.
        columns
            Feature columns to model; ``None`` means every column except those that
            look like identifiers or free text.
        progress, should_stop
            Progress callback and cancel check (see :mod:`mcrage_core.progress`).
        run_dir
            Folder for checkpoints and, at the end, the saved model.
        resume
            Continue from the checkpoint in ``run_dir`` (same table and settings).
        runner
            Train elsewhere, e.g. ``RayTraining(address)`` (:mod:`.distributed`) for
            data-parallel training on a Ray cluster; ``None`` trains in this process.

        Raises
        ------
        DataError, ConfigError, TrainingCancelled, TrainingFailed
        """
        data, codes = self._prepare(df, target=target, condition=condition, columns=columns)
        x = torch.from_numpy(self.encoder_.transform(data[self.columns_]))
        cols = [*self.condition_, self.target_]
        fingerprint = training_fingerprint(self.config, cols, self.columns_, data)
        trainer = self._trainer()
        t0 = time.perf_counter()
        with cpu_threads(self.config.cpu_threads, self.device_):
            where = (trainer.train if runner is None else partial(runner, trainer))(
                x,
                torch.from_numpy(codes),
                progress=progress,
                should_stop=should_stop,
                checkpoint_dir=Path(run_dir) if run_dir is not None else None,
                resume=resume,
                fingerprint=fingerprint,
            )
        self._record(trainer, time.perf_counter() - t0, len(data), where)
        if run_dir is not None:
            self.save(run_dir)
        return self

    def _record(self, trainer: Trainer, wall: float, n_rows: int, where: object) -> None:
        """Keep what training produced: the EMA network, the log, notes and ``train_info_``
        (``where``: what a runner returned, a list of log lines from ``Trainer.train``)."""
        self.notes_.extend(trainer.notes)
        self.model_ = trainer.ema.eval()
        self.train_log_ = trainer.log
        distributed = where if isinstance(where, dict) else None
        self.train_info_ = {
            "device": str(distributed["device"] if distributed else self.device_),
            "amp": str(trainer.amp_dtype).replace("torch.", "") if trainer.amp_dtype else "off",
            "steps": trainer.step,
            "wall_s": round(wall, 2),
            "rows_per_s": round(self.train_log_[-1]["rows_per_s"], 1) if self.train_log_ else None,
            "n_train_rows": n_rows,
            "parameters": sum(p.numel() for p in trainer.model.parameters()),
            "stop_reason": trainer.stop_reason,
            "stopped_because": STOP_REASONS.get(trainer.stop_reason, ""),
            "time_budget_s": trainer.settings.time_budget_s,
            "validation_rows": len(trainer.validation) if trainer.validation is not None else 0,
        }
        if distributed:
            self.train_info_["distributed"] = distributed
        if trainer.private is not None:
            self.train_info_["dp"] = trainer.private.info()
            self.train_info_["dp_covers"] = DP_COVERS
            self.train_info_["dp_does_not_cover"] = DP_DOES_NOT_COVER

    def _prepare(
        self,
        df: pd.DataFrame,
        *,
        target: str,
        condition: str | Sequence[str],
        columns: Sequence[str] | None,
    ) -> tuple[pd.DataFrame, np.ndarray]:
        """Check the arguments, choose the columns, fit the encoder and the cells.

        Returns the training rows and their cell codes.
        """
        if not isinstance(df, pd.DataFrame):
            raise DataError("fit() needs a pandas DataFrame (load the file with load_table).")
        cell_cols = cellbook.cell_columns(df, target=target, condition=condition)
        cfg = self.config
        features, notes = select_features(
            df,
            cell_cols,
            columns,
            max_categories=cfg.max_categories,
            max_unique_fraction=cfg.max_unique_fraction,
        )
        if not features:
            raise DataError(
                "There is nothing to model besides the condition and target columns; the "
                "table needs at least one other column."
            )
        data, dropped = cellbook.usable_rows(df, cell_cols)
        self.encoder_ = TabularEncoder(
            n_quantiles=cfg.n_quantiles,
            discrete_max_levels=cfg.discrete_max_levels,
            max_categories=cfg.max_categories,
        ).fit(data[features])
        self.levels_ = [cellbook.sorted_levels(data[c].tolist()) for c in cell_cols]
        codes = cellbook.cell_codes(data, cell_cols, self.levels_)
        self.target_ = str(target)
        self.condition_ = cell_cols[:-1]
        self.columns_ = features
        self.output_columns_ = [str(c) for c in df.columns if str(c) in {*features, *cell_cols}]
        self.cell_dtypes_ = [str(df[c].dtype) for c in cell_cols]
        self.notes_ = notes + dropped
        self.n_dropped_ = len(df) - len(data)
        self.cells_ = cellbook.cells_frame(codes, cell_cols, self.levels_)
        return data, codes

    def _trainer(self) -> Trainer:
        """A trainer for a fresh denoiser (seeded from the config, global RNG untouched)."""
        cfg = self.config
        self.device_ = resolve_device(cfg.device)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed)
            net = Denoiser(
                self.encoder_.output_dim_,
                [len(lv) for lv in self.levels_],
                hidden=cfg.hidden,
                depth=cfg.depth,
                dropout=cfg.dropout,
                timesteps=cfg.timesteps,
            )
        self.schedule_ = NoiseSchedule(cfg.timesteps, kind=cfg.schedule)
        return Trainer(
            net.to(self.device_),
            self.schedule_,
            TrainerSettings.from_config(cfg),
            device=self.device_,
        )

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise ConfigError("The model is not trained yet: call fit() or CDDPM.load() first.")

    # ------------------------------------------------------------------ cells
    @property
    def cell_columns(self) -> list[str]:
        """The condition columns followed by the target."""
        self._check_fitted()
        return [*self.condition_, self.target_]

    def known_cells(self) -> list[CellKey]:
        """The cells seen in training, as tuples ``(condition values..., target value)``."""
        self._check_fitted()
        return cellbook.known_cells(self.cells_, self.cell_columns)

    def resolve_counts(self, counts: CountRequest) -> list[tuple[CellCodes, int]]:
        """Turn requested counts into ``[(cell codes, n), ...]``.

        Keys are full cells ``(condition values..., target value)``; a key with only
        the condition values (or a bare value when there is one condition column) is
        split over the outcome classes in proportion to that group's real outcome mix.
        """
        self._check_fitted()
        return cellbook.resolve_counts(
            counts, cells=self.cells_, cols=self.cell_columns, levels=self.levels_
        )

    # --------------------------------------------------------------- sampling
    def sample(
        self,
        counts: CountRequest,
        *,
        sampling_steps: int | None = None,
        guidance: float | None = None,
        seed: int | None = None,
        method: SamplingMethod | None = None,
        exclude_copies_of: pd.DataFrame | None = None,
        eta: float | None = None,
        batch_size: int | None = None,
    ) -> pd.DataFrame:
        """Generate exactly ``counts[cell]`` rows for each requested cell.

        Parameters
        ----------
        counts
            ``{(condition values..., target value): n}`` or a DataFrame with the cell
            columns and ``n``. See :meth:`resolve_counts` for group-only keys.
        sampling_steps
            Network evaluations of the DDIM sampler (default: the config's); ignored
            by the ancestral sampler, which runs the whole chain.
        guidance
            Classifier-free guidance scale (1 = plain conditional sampling).
        seed
            Seed for reproducible output; ``None`` draws fresh randomness.
        method
            ``"dpmpp"`` (DPM-Solver++, the default), ``"ddim"`` or ``"ancestral"`` (the
            full DDPM chain).
        exclude_copies_of
            Real table: synthetic rows identical to one of its rows are removed and
            replaced by new draws (the number removed is in ``last_sample_info_``).
        eta
            Noise of the DDIM sampler (default: the config's ``ddim_eta``; 0 is the
            deterministic DDIM of Song et al.).
        batch_size
            Rows denoised together (default: 2,048 on the CPU, where activations that
            stay in cache make it faster than larger batches; 32,768 on a GPU).

        Returns
        -------
        DataFrame
            Original column order, dtypes and category labels; rows grouped by cell.
        """
        self._check_fitted()
        opts = SamplingOptions.resolve(
            self.config, method=method, steps=sampling_steps, guidance=guidance, eta=eta
        )
        plan = self.resolve_counts(counts)
        if seed is None:
            seed = int.from_bytes(os.urandom(8), "little") >> 1
        generator = torch.Generator(device="cpu").manual_seed(int(seed))
        t0 = time.perf_counter()
        real_hashes = real_row_hashes(exclude_copies_of, self.output_columns_)
        if batch_size is None:
            batch_size = 2048 if self.device_.type == "cpu" else 32768
        out, copies_removed = draw_rows(self, plan, opts, generator, real_hashes, batch_size)
        self.last_sample_info_ = opts.info(
            self.schedule_,
            seed=int(seed),
            n_rows=len(out),
            exact_copies_removed=copies_removed,
            wall_s=round(time.perf_counter() - t0, 3),
        )
        return out

    # ------------------------------------------------------------ persistence
    def save(self, run_dir: str | os.PathLike[str]) -> Path:
        """Write the model to ``run_dir`` (created if needed); returns the folder."""
        self._check_fitted()
        return save_model(self, run_dir)

    @classmethod
    def load(cls, run_dir: str | os.PathLike[str], *, device: str = "auto") -> CDDPM:
        """Load a model saved by :meth:`save`, refusing anything corrupted or incompatible."""
        return load_model(cls, run_dir, device=device)
