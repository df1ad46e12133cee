"""The CDDPM facade: ``CDDPM(config).fit(df, target=..., condition=...)`` then ``.sample(counts)``.

A *cell* is one combination of the condition columns' values followed by the
outcome value, e.g. ``("black", 1)`` for ``condition=["race"]`` and target
``died_within_6_months``. The network is conditioned on the cell, so generated rows
keep their label; :meth:`CDDPM.sample` returns exactly the requested number of
rows per cell, decoded to the original columns, dtypes and category labels.

Run folder written by :meth:`CDDPM.save` (and by :meth:`CDDPM.fit` with ``run_dir``)::

    config.json          settings, columns, cells, package version (JSON)
    model.safetensors    EMA weights of the denoiser
    encoder.json         encoder parameters (JSON)
    encoder.safetensors  encoder quantiles (float arrays)
    training_log.json    loss / learning rate / throughput over training
    manifest.json        SHA-256 of each file above (checked on load)
    checkpoint/          last training checkpoint (to resume)

Nothing is pickled; :meth:`CDDPM.load` verifies the checksums, formats, versions
and shapes and raises :class:`~mcrage_core.errors.ModelFileError` otherwise.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch
from safetensors import SafetensorError
from safetensors.numpy import load_file as load_numpy
from safetensors.numpy import save_file as save_numpy
from safetensors.torch import load_file, save_file

from mcrage_core import __version__
from mcrage_core.diffusion.denoiser import Denoiser
from mcrage_core.diffusion.device import resolve_device
from mcrage_core.diffusion.encoding import ColumnSpec as _ColumnSpec
from mcrage_core.diffusion.encoding import TabularEncoder, _py_scalar, _restore_categorical
from mcrage_core.diffusion.sampler import SamplingMethod, network_evaluations, sample_matrix
from mcrage_core.diffusion.schedule import NoiseSchedule, ScheduleKind
from mcrage_core.diffusion.trainer import AmpMode, Trainer, TrainerSettings, sha256_file
from mcrage_core.errors import ConfigError, DataError, MCRAGEError, ModelFileError
from mcrage_core.progress import CancelCheck, ProgressCallback

__all__ = ["CDDPMConfig", "CDDPM", "PresetName", "FORMAT", "FORMAT_VERSION"]

PresetName = Literal["quick", "standard", "thorough"]
FORMAT = "mcrage-cddpm"
FORMAT_VERSION = 1
_FILES = (
    "config.json",
    "model.safetensors",
    "encoder.json",
    "encoder.safetensors",
    "training_log.json",
)
_MAX_TOPUP_ROUNDS = 20


@dataclass(frozen=True)
class CDDPMConfig:
    """Settings of the conditional diffusion model (frozen; see :meth:`preset`).

    Model: ``hidden`` width, ``depth`` residual blocks, ``dropout``.
    Diffusion: ``timesteps`` (length of the full chain), ``schedule``.
    Training: ``train_steps`` of ``batch_size`` rows, AdamW ``lr`` / ``weight_decay``,
    ``ema_decay``, ``grad_clip``, ``cond_drop_prob`` (classifier-free guidance),
    ``amp`` (mixed precision on CUDA only), ``seed``, ``checkpoint_every`` steps (0: only
    at the end).
    Sampling defaults: ``sampling_method``, ``sampling_steps`` (DDIM network
    evaluations), ``ddim_eta`` (noise of the strided sampler: 1 = stochastic, which
    reproduces the spread of numeric columns far better on tables than deterministic
    0), ``guidance`` (1 = plain conditional), ``clip_sample``.
    Compute: ``device`` and ``cpu_threads`` (torch threads while training or sampling on
    the CPU, restored afterwards; ``None`` keeps torch's default. On a CPU shared with
    other busy processes, 1 thread is often several times faster than 2).
    Encoding: ``n_quantiles``, ``discrete_max_levels`` (numbers with at most this many
    distinct values are categories), ``max_categories`` and ``max_unique_fraction``
    (text columns above either are left out as identifiers or free text).
    """

    hidden: int = 256
    depth: int = 3
    dropout: float = 0.0
    timesteps: int = 1000
    schedule: ScheduleKind = "cosine"
    train_steps: int = 3000
    batch_size: int = 512
    lr: float = 2e-3
    weight_decay: float = 1e-4
    ema_decay: float = 0.995
    grad_clip: float = 1.0
    cond_drop_prob: float = 0.1
    amp: AmpMode = "auto"
    seed: int = 0
    checkpoint_every: int = 500
    sampling_method: SamplingMethod = "ddim"
    sampling_steps: int = 50
    ddim_eta: float = 1.0
    guidance: float = 1.0
    clip_sample: float | None = 6.0
    device: str = "auto"
    cpu_threads: int | None = None
    n_quantiles: int = 1000
    discrete_max_levels: int = 15
    max_categories: int = 200
    max_unique_fraction: float = 0.5

    def __post_init__(self) -> None:
        def bad(name: str, rule: str) -> ConfigError:
            return ConfigError(f"CDDPM setting {name}={getattr(self, name)!r} is invalid: {rule}.")

        for name in (
            "hidden",
            "depth",
            "timesteps",
            "train_steps",
            "batch_size",
            "sampling_steps",
            "n_quantiles",
            "max_categories",
        ):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise bad(name, "it must be a whole number of at least 1")
        for name in ("seed", "checkpoint_every", "discrete_max_levels"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise bad(name, "it must be a whole number, 0 or more")
        if self.cpu_threads is not None and (
            not isinstance(self.cpu_threads, int)
            or isinstance(self.cpu_threads, bool)
            or self.cpu_threads < 1
        ):
            raise bad("cpu_threads", "it must be a whole number of at least 1, or None")
        if self.timesteps < 2:
            raise bad("timesteps", "at least 2 are needed")
        for name in ("dropout", "cond_drop_prob", "max_unique_fraction", "ddim_eta"):
            v = getattr(self, name)
            if not isinstance(v, int | float) or not 0.0 <= float(v) <= 1.0:
                raise bad(name, "it must be between 0 and 1")
        if not 0.0 <= float(self.ema_decay) < 1.0:
            raise bad("ema_decay", "it must be at least 0 and below 1")
        for name in ("lr", "grad_clip"):
            v = getattr(self, name)
            if not isinstance(v, int | float) or not math.isfinite(v) or v <= 0:
                raise bad(name, "it must be a positive number")
        if not isinstance(self.weight_decay, int | float) or self.weight_decay < 0:
            raise bad("weight_decay", "it must be 0 or more")
        if not isinstance(self.guidance, int | float) or self.guidance < 0:
            raise bad("guidance", "it must be 0 or more (1 means no guidance)")
        if self.clip_sample is not None and (
            not isinstance(self.clip_sample, int | float) or self.clip_sample <= 0
        ):
            raise bad("clip_sample", "it must be a positive number or None")
        if self.schedule not in ("linear", "cosine"):
            raise bad("schedule", "choose 'linear' or 'cosine'")
        if self.amp not in ("auto", "off", "bf16", "fp16"):
            raise bad("amp", "choose 'auto', 'off', 'bf16' or 'fp16'")
        if self.sampling_method not in ("ddim", "ancestral"):
            raise bad("sampling_method", "choose 'ddim' or 'ancestral'")
        if not isinstance(self.device, str) or self.device.split(":")[0] not in (
            "auto",
            "cpu",
            "cuda",
            "mps",
        ):
            raise bad("device", "choose 'auto', 'cpu', 'cuda' or 'mps'")

    @classmethod
    def preset(cls, name: PresetName = "standard", *, device: str = "auto") -> CDDPMConfig:
        """Ready-made sizes; larger when ``device`` resolves to a CUDA GPU.

        ``"quick"`` trains SUPPORT2 in well under a minute on a 2-core CPU (dashboard,
        ``mcrage audit --quick``); ``"standard"`` is the default (under 5 minutes on a
        2-core CPU, and it meets the fidelity targets in ``benchmarks/RESULTS.md``);
        ``"thorough"`` is bigger and slower. The CPU presets of quick and standard train
        with one torch thread (``cpu_threads=1``): barely slower on an idle 2-core machine,
        several times faster on a busy one.
        """
        if name not in ("quick", "standard", "thorough"):
            raise ConfigError(f"Unknown preset {name!r}: choose 'quick', 'standard' or 'thorough'.")
        gpu = resolve_device(device).type == "cuda"
        table: dict[tuple[str, bool], dict[str, Any]] = {
            ("quick", False): {
                "hidden": 128,
                "depth": 2,
                "train_steps": 400,
                "batch_size": 512,
                "cpu_threads": 1,
            },
            ("standard", False): {
                "hidden": 256,
                "depth": 3,
                "train_steps": 6000,
                "cpu_threads": 1,
            },
            ("thorough", False): {
                "hidden": 384,
                "depth": 4,
                "train_steps": 12000,
                "batch_size": 1024,
                "ema_decay": 0.999,
            },
            ("quick", True): {"hidden": 256, "depth": 3, "train_steps": 2000, "batch_size": 1024},
            ("standard", True): {
                "hidden": 512,
                "depth": 4,
                "train_steps": 10000,
                "batch_size": 2048,
                "ema_decay": 0.999,
            },
            ("thorough", True): {
                "hidden": 1024,
                "depth": 6,
                "train_steps": 30000,
                "batch_size": 4096,
                "ema_decay": 0.9995,
            },
        }
        return cls(device=device, **table[(name, gpu)])

    def with_overrides(self, **changes: Any) -> CDDPMConfig:
        """A copy with some settings changed (validated)."""
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise ConfigError(f"Unknown CDDPM setting(s): {sorted(unknown)}.")
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CDDPMConfig:
        if not isinstance(data, Mapping):
            raise ConfigError("The CDDPM settings must be a mapping of names to values.")
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"Unknown CDDPM setting(s): {sorted(unknown)}.")
        return cls(**{k: data[k] for k in data})


# ---------------------------------------------------------------------- helpers
def _as_tuple(condition: str | Sequence[str]) -> tuple[str, ...]:
    if isinstance(condition, str):
        return (condition,)
    return tuple(str(c) for c in condition)


def _sorted_levels(values: Sequence[Any]) -> list[Any]:
    uniq = list(dict.fromkeys(_py_scalar(v) for v in values))
    try:
        return sorted(uniq)
    except TypeError:
        return sorted(uniq, key=str)


def _frame_fingerprint(df: pd.DataFrame) -> str:
    h = hashlib.sha256()
    h.update(json.dumps([str(c) for c in df.columns]).encode())
    h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    return h.hexdigest()


def _largest_remainder(total: int, weights: Sequence[float]) -> list[int]:
    w = np.asarray(weights, dtype=float)
    if w.sum() <= 0:
        w = np.ones_like(w)
    raw = total * w / w.sum()
    base = np.floor(raw).astype(int)
    rest = total - int(base.sum())
    order = np.argsort(-(raw - base), kind="stable")
    for i in order[:rest]:
        base[i] += 1
    return [int(b) for b in base]


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

    def __init__(self, config: CDDPMConfig | None = None) -> None:
        self.config = config if config is not None else CDDPMConfig.preset("standard")

    # ------------------------------------------------------------------ fitting
    def _select_columns(
        self, df: pd.DataFrame, cell_cols: tuple[str, ...], columns: Sequence[str] | None
    ) -> tuple[list[str], list[str]]:
        notes: list[str] = []
        if columns is not None:
            missing = [c for c in columns if c not in df.columns]
            if missing:
                raise ConfigError(
                    f"Column(s) {missing} are not in the table; available columns: "
                    f"{[str(c) for c in df.columns]}."
                )
            chosen = [str(c) for c in columns if c not in cell_cols]
            return list(dict.fromkeys(chosen)), notes
        cfg = self.config
        chosen = []
        for name in df.columns:
            name = str(name)
            if name in cell_cols:
                continue
            s = df[name]
            observed = s.dropna()
            n_unique = observed.nunique()
            if observed.empty:
                notes.append(f"Column {name!r} was left out: it is completely empty.")
                continue
            if pd.api.types.is_datetime64_any_dtype(s.dtype):
                notes.append(f"Column {name!r} was left out: dates are not modelled.")
                continue
            numeric = pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(
                s.dtype
            )
            if numeric:
                if (
                    pd.api.types.is_integer_dtype(s.dtype)
                    and len(observed) > 20
                    and n_unique == len(observed)
                ):
                    notes.append(
                        f"Column {name!r} was left out: every value is different, so it looks "
                        "like an identifier."
                    )
                    continue
            elif n_unique > cfg.max_categories or (
                len(observed) > 20 and n_unique > cfg.max_unique_fraction * len(observed)
            ):
                notes.append(
                    f"Column {name!r} was left out: it has {n_unique} different values, so it "
                    "looks like an identifier or free text."
                )
                continue
            chosen.append(name)
        return chosen, notes

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

        Raises
        ------
        DataError, ConfigError, TrainingCancelled, TrainingFailed
        """
        if not isinstance(df, pd.DataFrame):
            raise DataError("fit() needs a pandas DataFrame (load the file with load_table).")
        cond_cols = _as_tuple(condition)
        if not cond_cols:
            raise ConfigError("Choose at least one condition column (for example race).")
        if target in cond_cols:
            raise ConfigError(f"The target {target!r} cannot also be a condition column.")
        cell_cols = (*cond_cols, target)
        absent = [c for c in cell_cols if c not in df.columns]
        if absent:
            raise ConfigError(
                f"Column(s) {absent} are not in the table; available columns: "
                f"{[str(c) for c in df.columns]}."
            )
        if len(set(cell_cols)) != len(cell_cols):
            raise ConfigError(f"A condition column is listed twice: {list(cond_cols)}.")
        features, notes = self._select_columns(df, cell_cols, columns)
        if not features:
            raise DataError(
                "There is nothing to model besides the condition and target columns; the "
                "table needs at least one other column."
            )
        keep = df[list(cell_cols)].notna().all(axis=1)
        n_dropped = int((~keep).sum())
        if n_dropped:
            notes.append(
                f"{n_dropped} row(s) with an empty {' / '.join(cell_cols)} value were not used "
                "for training."
            )
        data = df.loc[keep].reset_index(drop=True)
        if len(data) < 2:
            raise DataError(
                f"Only {len(data)} row(s) have all of {list(cell_cols)} filled in; at least 2 "
                "are needed."
            )
        cfg = self.config
        encoder = TabularEncoder(
            n_quantiles=cfg.n_quantiles,
            discrete_max_levels=cfg.discrete_max_levels,
            max_categories=cfg.max_categories,
        ).fit(data[features])
        levels = [_sorted_levels(data[c].tolist()) for c in cell_cols]
        codes = np.stack(
            [
                pd.Categorical(
                    [_py_scalar(v) for v in data[c].tolist()], categories=levels[i]
                ).codes
                for i, c in enumerate(cell_cols)
            ],
            axis=1,
        ).astype(np.int64)
        x = torch.from_numpy(encoder.transform(data[features]))
        cond = torch.from_numpy(codes)

        self.target_ = str(target)
        self.condition_ = list(cond_cols)
        self.columns_ = features
        self.output_columns_ = [
            str(c) for c in df.columns if str(c) in set(features) | set(cell_cols)
        ]
        self.levels_ = levels
        self.cell_dtypes_ = [str(df[c].dtype) for c in cell_cols]
        self.encoder_ = encoder
        self.notes_ = notes
        self.n_dropped_ = n_dropped
        self.cells_ = self._cells_frame(codes)

        device = resolve_device(cfg.device)
        self.device_ = device
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed)
            model = Denoiser(
                encoder.output_dim_,
                [len(lv) for lv in levels],
                hidden=cfg.hidden,
                depth=cfg.depth,
                dropout=cfg.dropout,
            )
        model.to(device)
        schedule = NoiseSchedule(cfg.timesteps, kind=cfg.schedule)
        settings = TrainerSettings(
            steps=cfg.train_steps,
            batch_size=cfg.batch_size,
            lr=float(cfg.lr),
            weight_decay=float(cfg.weight_decay),
            ema_decay=float(cfg.ema_decay),
            grad_clip=float(cfg.grad_clip),
            cond_drop_prob=float(cfg.cond_drop_prob),
            checkpoint_every=cfg.checkpoint_every,
            amp=cfg.amp,
            seed=cfg.seed,
        )
        fp_cfg = {k: v for k, v in cfg.to_dict().items() if k not in ("device", "checkpoint_every")}
        fingerprint = hashlib.sha256(
            json.dumps(
                {
                    "config": fp_cfg,
                    "cells": list(cell_cols),
                    "features": features,
                    "data": _frame_fingerprint(data[list(cell_cols) + features]),
                },
                sort_keys=True,
                default=str,
            ).encode()
        ).hexdigest()
        trainer = Trainer(model, schedule, settings, device=device)
        t0 = time.perf_counter()
        with _cpu_threads(cfg.cpu_threads, device):
            trainer.train(
                x,
                cond,
                progress=progress,
                should_stop=should_stop,
                checkpoint_dir=Path(run_dir) if run_dir is not None else None,
                resume=resume,
                fingerprint=fingerprint,
            )
        wall = time.perf_counter() - t0
        self.notes_.extend(trainer.notes)
        self.schedule_ = schedule
        self.model_ = trainer.ema.eval()
        self.train_log_ = trainer.log
        self.train_info_ = {
            "device": str(device),
            "amp": str(trainer.amp_dtype).replace("torch.", "") if trainer.amp_dtype else "off",
            "steps": trainer.step,
            "wall_s": round(wall, 2),
            "rows_per_s": round(self.train_log_[-1]["rows_per_s"], 1) if self.train_log_ else None,
            "n_train_rows": len(data),
            "parameters": sum(p.numel() for p in model.parameters()),
        }
        if run_dir is not None:
            self.save(run_dir)
        return self

    def _cells_frame(self, codes: np.ndarray) -> pd.DataFrame:
        cell_cols = [*self.condition_, self.target_]
        uniq, counts = np.unique(codes, axis=0, return_counts=True)
        rows = []
        for u, n in zip(uniq, counts, strict=True):
            rows.append([self.levels_[i][int(k)] for i, k in enumerate(u)] + [int(n)])
        frame = pd.DataFrame(rows, columns=[*cell_cols, "n_real"])
        return frame

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise ConfigError("The model is not trained yet: call fit() or CDDPM.load() first.")

    # ------------------------------------------------------------------ cells
    @property
    def cell_columns(self) -> list[str]:
        """The condition columns followed by the target."""
        self._check_fitted()
        return [*self.condition_, self.target_]

    def known_cells(self) -> list[tuple[Any, ...]]:
        """The cells seen in training, as tuples ``(condition values..., target value)``."""
        self._check_fitted()
        cols = self.cell_columns
        return [tuple(_py_scalar(r[c]) for c in cols) for _, r in self.cells_.iterrows()]

    def _match_level(self, i: int, value: Any) -> int | None:
        levels = self.levels_[i]
        v = _py_scalar(value)
        for j, lv in enumerate(levels):
            if type(lv) is type(v) and lv == v:
                return j
        for j, lv in enumerate(levels):
            if str(lv).strip().lower() == str(v).strip().lower():
                return j
        try:
            fv = float(v)
        except (TypeError, ValueError):
            return None
        for j, lv in enumerate(levels):
            if isinstance(lv, int | float) and not isinstance(lv, bool) and float(lv) == fv:
                return j
        return None

    def _known_cells_text(self) -> str:
        return ", ".join(
            f"{'|'.join(str(v) for v in cell)} (n={n})"
            for cell, n in zip(self.known_cells(), self.cells_["n_real"], strict=True)
        )

    def resolve_counts(
        self, counts: Mapping[Any, int] | pd.DataFrame
    ) -> list[tuple[tuple[int, ...], int]]:
        """Turn requested counts into ``[(cell codes, n), ...]``.

        Keys are full cells ``(condition values..., target value)``; a key with only
        the condition values (or a bare value when there is one condition column) is
        split over the outcome classes in proportion to that group's real outcome mix.
        """
        self._check_fitted()
        cols = self.cell_columns
        k = len(cols)
        items: list[tuple[Any, Any]]
        if isinstance(counts, pd.DataFrame):
            needed = [*cols, "n"]
            if any(c not in counts.columns for c in needed):
                raise ConfigError(f"The counts table needs the columns {needed}.")
            items = [(tuple(r[c] for c in cols), r["n"]) for _, r in counts.iterrows()]
        elif isinstance(counts, Mapping):
            items = list(counts.items())
        else:
            raise ConfigError("counts must be a mapping {cell: n} or a table with a column n.")
        known = {
            tuple(self._match_level(i, v) for i, v in enumerate(cell)): int(n)
            for cell, n in zip(self.known_cells(), self.cells_["n_real"], strict=True)
        }
        out: dict[tuple[int, ...], int] = {}
        for key, n in items:
            key_t = key if isinstance(key, tuple) else (key,)
            if isinstance(n, float | np.floating) and float(n).is_integer():
                n = int(n)
            if isinstance(n, bool) or not isinstance(n, int | np.integer) or int(n) < 0:
                raise ConfigError(f"The count for {key!r} must be a whole number, 0 or more.")
            n = int(n)
            if len(key_t) not in (k, k - 1):
                raise ConfigError(
                    f"Cell {key!r} should name {k} values ({', '.join(cols)}) or {k - 1} "
                    f"(without the outcome). Known cells: {self._known_cells_text()}."
                )
            codes = tuple(self._match_level(i, v) for i, v in enumerate(key_t))
            if len(key_t) == k:
                if codes not in known:
                    raise ConfigError(
                        f"Unknown cell {key!r} for columns {cols}. Known cells: "
                        f"{self._known_cells_text()}."
                    )
                out[codes] = out.get(codes, 0) + n
            else:
                group = [(c, m) for c, m in known.items() if c[:-1] == codes]
                if not group:
                    raise ConfigError(
                        f"Unknown group {key!r} for columns {cols[:-1]}. Known cells: "
                        f"{self._known_cells_text()}."
                    )
                for (c, _), share in zip(
                    group, _largest_remainder(n, [m for _, m in group]), strict=True
                ):
                    out[c] = out.get(c, 0) + share
        return [(c, n) for c, n in out.items() if n > 0]

    # --------------------------------------------------------------- sampling
    def sample(
        self,
        counts: Mapping[Any, int] | pd.DataFrame,
        *,
        sampling_steps: int | None = None,
        guidance: float | None = None,
        seed: int | None = None,
        method: SamplingMethod | None = None,
        exclude_copies_of: pd.DataFrame | None = None,
        eta: float | None = None,
        batch_size: int = 8192,
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
            ``"ddim"`` (accelerated) or ``"ancestral"`` (full DDPM chain).
        exclude_copies_of
            Real table: synthetic rows identical to one of its rows are removed and
            replaced by new draws (the number removed is in ``last_sample_info_``).
        eta
            Noise of the DDIM sampler (default: the config's ``ddim_eta``; 0 is the
            deterministic DDIM of Song et al.).

        Returns
        -------
        DataFrame
            Original column order, dtypes and category labels; rows grouped by cell.
        """
        self._check_fitted()
        cfg = self.config
        method = method if method is not None else cfg.sampling_method
        if method not in ("ddim", "ancestral"):
            raise ConfigError(f"Unknown sampling method {method!r}: choose 'ddim' or 'ancestral'.")
        steps = cfg.sampling_steps if sampling_steps is None else int(sampling_steps)
        if steps < 1:
            raise ConfigError(f"sampling_steps must be at least 1, got {steps}.")
        w = float(cfg.guidance if guidance is None else guidance)
        if not math.isfinite(w) or w < 0:
            raise ConfigError(f"The guidance scale must be 0 or more, got {guidance}.")
        eta_value = float(cfg.ddim_eta if eta is None else eta)
        if not 0.0 <= eta_value <= 1.0:
            raise ConfigError(f"eta must be between 0 and 1, got {eta}.")
        plan = self.resolve_counts(counts)
        if seed is None:
            seed = int.from_bytes(os.urandom(8), "little") >> 1
        generator = torch.Generator(device="cpu").manual_seed(int(seed))
        t0 = time.perf_counter()
        copies_removed = 0
        real_hashes = None
        if exclude_copies_of is not None:
            from mcrage_core.fidelity.scores import row_hashes

            missing = [c for c in self.output_columns_ if c not in exclude_copies_of.columns]
            if missing:
                raise ConfigError(
                    f"exclude_copies_of lacks the column(s) {missing} of the model's output."
                )
            real_hashes = set(row_hashes(exclude_copies_of, self.output_columns_).tolist())
        pieces: dict[tuple[int, ...], list[pd.DataFrame]] = {c: [] for c, _ in plan}
        need = dict(plan)
        rounds = 0
        while any(v > 0 for v in need.values()):
            if rounds > _MAX_TOPUP_ROUNDS:
                raise DataError(
                    "Could not generate enough rows that differ from the real table: the "
                    f"model keeps reproducing real records (still missing {sum(need.values())}"
                    " rows). Train longer or on more data."
                )
            rounds += 1
            todo = [(c, n) for c, n in need.items() if n > 0]
            cond = torch.tensor(
                [list(c) for c, n in todo for _ in range(n)], dtype=torch.long
            ).reshape(-1, len(self.levels_))
            try:
                with _cpu_threads(cfg.cpu_threads, self.device_):
                    mat = sample_matrix(
                        self.model_,
                        self.schedule_,
                        cond,
                        method=method,
                        steps=steps,
                        guidance=w,
                        eta=eta_value if method == "ddim" else None,
                        generator=generator,
                        device=self.device_,
                        batch_size=batch_size,
                        clip_sample=cfg.clip_sample,
                    )
            except torch.OutOfMemoryError as exc:
                raise MCRAGEError(
                    "The GPU ran out of memory while sampling; pass a smaller batch_size."
                ) from exc
            frame = self._decode(mat.numpy(), cond.numpy())
            if real_hashes is not None:
                from mcrage_core.fidelity.scores import row_hashes

                is_copy = np.fromiter(
                    (h in real_hashes for h in row_hashes(frame, self.output_columns_)),
                    dtype=bool,
                    count=len(frame),
                )
                copies_removed += int(is_copy.sum())
            else:
                is_copy = np.zeros(len(frame), dtype=bool)
            offset = 0
            for c, n in todo:
                block = frame.iloc[offset : offset + n]
                keep = block[~is_copy[offset : offset + n]]
                pieces[c].append(keep)
                need[c] -= len(keep)
                offset += n
        parts = [p for c, _ in plan for p in pieces[c]]
        if parts:
            out = pd.concat(parts, ignore_index=True)
        else:
            out = self._decode(
                np.zeros((0, self.encoder_.output_dim_)), np.zeros((0, len(self.levels_)), int)
            )
        self.last_sample_info_ = {
            "method": method,
            "sampling_steps": len(
                self.schedule_.sampling_timesteps(None if method == "ancestral" else steps)
            ),
            "network_evaluations": network_evaluations(self.schedule_, method, steps, w),
            "guidance": w,
            "eta": eta_value if method == "ddim" else 1.0,
            "seed": int(seed),
            "n_rows": len(out),
            "exact_copies_removed": copies_removed,
            "wall_s": round(time.perf_counter() - t0, 3),
        }
        return out

    def _decode(self, mat: np.ndarray, codes: np.ndarray) -> pd.DataFrame:
        frame = self.encoder_.inverse_transform(mat)
        for i, col in enumerate(self.cell_columns):
            values = [self.levels_[i][int(k)] for k in codes[:, i]]
            spec = _ColumnSpec(
                name=col,
                kind="categorical",
                dtype=self.cell_dtypes_[i],
                has_missing=False,
                start=0,
                width=len(self.levels_[i]),
                categories=list(self.levels_[i]),
            )
            frame[col] = _restore_categorical(values, spec)
        return frame[self.output_columns_]

    # ------------------------------------------------------------ persistence
    def save(self, run_dir: str | os.PathLike[str]) -> Path:
        """Write the model to ``run_dir`` (created if needed); returns the folder."""
        self._check_fitted()
        folder = Path(run_dir)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            save_file(
                {k: v.detach().cpu().contiguous() for k, v in self.model_.state_dict().items()},
                str(folder / "model.safetensors"),
            )
            enc_meta, enc_arrays = self.encoder_.get_state()
            (folder / "encoder.json").write_text(json.dumps(enc_meta, indent=1), encoding="utf-8")
            save_numpy(enc_arrays, str(folder / "encoder.safetensors"))
            (folder / "training_log.json").write_text(
                json.dumps(self.train_log_, indent=1), encoding="utf-8"
            )
            config = {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "mcrage_version": __version__,
                "torch_version": torch.__version__,
                "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "config": self.config.to_dict(),
                "target": self.target_,
                "condition": self.condition_,
                "columns": self.columns_,
                "output_columns": self.output_columns_,
                "levels": self.levels_,
                "cell_dtypes": self.cell_dtypes_,
                "cells": self.cells_.astype(object).to_dict(orient="split")["data"],
                "model": {
                    "dim": self.model_.dim,
                    "cond_cardinalities": self.model_.cond_cardinalities,
                    "hidden": self.model_.hidden,
                    "depth": self.model_.depth,
                },
                "n_dropped": self.n_dropped_,
                "notes": self.notes_,
                "train_info": self.train_info_,
            }
            (folder / "config.json").write_text(
                json.dumps(config, indent=1, default=_json_default), encoding="utf-8"
            )
            manifest = {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "sha256": {name: sha256_file(folder / name) for name in _FILES},
            }
            (folder / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        except OSError as exc:
            raise ModelFileError(
                f"Could not write the model to {folder} ({exc.strerror or exc}); check that "
                "the folder is writable and the disk is not full."
            ) from exc
        return folder

    @classmethod
    def load(cls, run_dir: str | os.PathLike[str], *, device: str = "auto") -> CDDPM:
        """Load a model saved by :meth:`save`, refusing anything corrupted or incompatible."""
        folder = Path(run_dir)
        if not folder.is_dir():
            raise ModelFileError(f"Model folder {folder} does not exist; train a model first.")
        manifest = _read_json(folder / "manifest.json")
        if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
            raise ModelFileError(
                f"{folder} is not an MCRAGE CDDPM model of format version {FORMAT_VERSION} "
                f"(found {manifest.get('format')!r} version {manifest.get('format_version')!r})."
                " Retrain the model with this version."
            )
        sums = manifest.get("sha256")
        if not isinstance(sums, dict):
            raise ModelFileError(f"{folder / 'manifest.json'} has no checksums; retrain the model.")
        for name in _FILES:
            path = folder / name
            if not path.is_file():
                raise ModelFileError(
                    f"The model file {path} is missing; the folder is incomplete. Retrain "
                    "or restore it from a backup."
                )
            if sums.get(name) != sha256_file(path):
                raise ModelFileError(
                    f"The model file {path} does not match its recorded checksum: it was "
                    "modified or corrupted after training. Retrain or restore it from a backup."
                )
        meta = _read_json(folder / "config.json")
        if meta.get("format") != FORMAT or meta.get("format_version") != FORMAT_VERSION:
            raise ModelFileError(f"{folder / 'config.json'} has an unknown format.")
        try:
            config = CDDPMConfig.from_dict(meta["config"])
            config = config.with_overrides(device=device)
            model = cls(config)
            model.target_ = str(meta["target"])
            model.condition_ = [str(c) for c in meta["condition"]]
            model.columns_ = [str(c) for c in meta["columns"]]
            model.output_columns_ = [str(c) for c in meta["output_columns"]]
            model.levels_ = [list(lv) for lv in meta["levels"]]
            model.cell_dtypes_ = [str(d) for d in meta["cell_dtypes"]]
            model.n_dropped_ = int(meta["n_dropped"])
            model.notes_ = [str(n) for n in meta["notes"]]
            model.train_info_ = dict(meta.get("train_info") or {})
            cell_cols = [*model.condition_, model.target_]
            model.cells_ = pd.DataFrame(
                [list(r) for r in meta["cells"]], columns=[*cell_cols, "n_real"]
            )
            dims = meta["model"]
            model.train_log_ = _read_json(folder / "training_log.json", expect=list)
            enc_meta = _read_json(folder / "encoder.json")
            enc_arrays = load_numpy(str(folder / "encoder.safetensors"))
            model.encoder_ = TabularEncoder.from_state(enc_meta, enc_arrays)
            if len(model.levels_) != len(cell_cols) or [len(lv) for lv in model.levels_] != list(
                dims["cond_cardinalities"]
            ):
                raise ModelFileError("The cell definitions in config.json are inconsistent.")
            if int(dims["dim"]) != model.encoder_.output_dim_:
                raise ModelFileError(
                    "The encoder and the network in this folder do not fit together."
                )
            if sorted(model.encoder_.columns_) != sorted(model.columns_):
                raise ModelFileError("The encoder's columns differ from config.json's.")
            model.device_ = resolve_device(device)
            net = Denoiser(
                int(dims["dim"]),
                [int(c) for c in dims["cond_cardinalities"]],
                hidden=int(dims["hidden"]),
                depth=int(dims["depth"]),
                dropout=config.dropout,
            )
            state = load_file(str(folder / "model.safetensors"))
            net.load_state_dict(state, strict=True)
        except (ModelFileError, ConfigError) as exc:
            if isinstance(exc, ConfigError):
                raise ModelFileError(f"{folder / 'config.json'}: {exc}") from exc
            raise
        except (KeyError, TypeError, ValueError, RuntimeError, SafetensorError, OSError) as exc:
            raise ModelFileError(
                f"The model in {folder} cannot be loaded ({type(exc).__name__}: "
                f"{str(exc)[:300]}). It is damaged or from an incompatible version; retrain it."
            ) from exc
        model.model_ = net.to(model.device_).eval()
        model.schedule_ = NoiseSchedule(config.timesteps, kind=config.schedule)
        return model


@contextlib.contextmanager
def _cpu_threads(threads: int | None, device: torch.device) -> Iterator[None]:
    """Use ``threads`` torch CPU threads inside the block, then restore the old count."""
    if threads is None or device.type != "cpu":
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _read_json(path: Path, expect: type = dict) -> Any:
    if not path.is_file():
        raise ModelFileError(
            f"The model file {path} is missing; the folder is incomplete. Retrain or restore "
            "it from a backup."
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"The model file {path} is not valid JSON ({exc}).") from exc
    if not isinstance(data, expect):
        raise ModelFileError(f"The model file {path} does not have the expected structure.")
    return data
