"""Training checkpoints: write and read back everything needed to resume exactly.

A checkpoint folder holds ``weights-<step>.safetensors`` (network, EMA, optimiser
state and the random generator) and ``state.json`` (step, log, settings, checksum of
the weights). The weights go to a new file named by step, ``state.json`` (written
atomically) points at it, and only then are older weights removed, so a kill at any
moment leaves a consistent pair on disk.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import torch
from safetensors.torch import load_file, save_file

from mcrage_core.diffusion.config import CDDPMConfig
from mcrage_core.diffusion.persistence import sha256_file
from mcrage_core.errors import ModelFileError, TrainingFailed
from mcrage_core.util.files import atomic_write_bytes

if TYPE_CHECKING:
    from mcrage_core.diffusion.trainer import Trainer

__all__ = ["CHECKPOINT_DIR", "load_checkpoint", "save_checkpoint", "training_fingerprint"]

CHECKPOINT_DIR = "checkpoint"
_FORMAT = "mcrage-cddpm-checkpoint"
_VERSION = 1


def _frame_fingerprint(df: pd.DataFrame) -> str:
    h = hashlib.sha256()
    h.update(json.dumps([str(c) for c in df.columns]).encode())
    h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    return h.hexdigest()


def training_fingerprint(
    config: CDDPMConfig, cell_cols: Sequence[str], features: Sequence[str], data: pd.DataFrame
) -> str:
    """Identity of a training run: a checkpoint resumes only a run with the same one.

    Covers the settings (except ``device`` and ``checkpoint_every``, which do not change
    the result, and the privacy settings of a non-private run, which it does not use),
    the cell and feature columns and the training rows.
    """
    unused = {"device", "checkpoint_every"}
    if config.dp_epsilon is None:
        unused |= {f for f in config.to_dict() if f.startswith("dp_") or f == "max_grad_norm"}
    settings = {k: v for k, v in config.to_dict().items() if k not in unused}
    identity = {
        "config": settings,
        "cells": list(cell_cols),
        "features": list(features),
        "data": _frame_fingerprint(data[[*cell_cols, *features]]),
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()


def _tensors(trainer: Trainer) -> dict[str, torch.Tensor]:
    tensors: dict[str, torch.Tensor] = {}
    for k, v in trainer.model.state_dict().items():
        tensors[f"model.{k}"] = v.detach().cpu().contiguous()
    for k, v in trainer.ema.state_dict().items():
        tensors[f"ema.{k}"] = v.detach().cpu().contiguous()
    for pid, state in trainer.optimizer.state_dict()["state"].items():
        for k, v in state.items():
            if isinstance(v, torch.Tensor):
                tensors[f"optim.{pid}.{k}"] = v.detach().cpu().contiguous()
    tensors["rng.generator"] = trainer.generator.get_state().clone()
    return tensors


def save_checkpoint(trainer: Trainer, run_dir: Path, fingerprint: str) -> None:
    """Write the trainer's state to ``run_dir/checkpoint`` (raises :class:`TrainingFailed`)."""
    folder = Path(run_dir) / CHECKPOINT_DIR
    try:
        folder.mkdir(parents=True, exist_ok=True)
        weights = folder / f"weights-{trainer.step:09d}.safetensors"
        tmp = folder / f"{weights.name}.tmp"
        save_file(_tensors(trainer), str(tmp))
        os.replace(tmp, weights)
        state = {
            "weights_file": weights.name,
            "format": _FORMAT,
            "format_version": _VERSION,
            "step": trainer.step,
            "elapsed_s": trainer.elapsed_s,
            "fingerprint": fingerprint,
            "settings": asdict(trainer.settings),
            "scaler": trainer.scaler.state_dict() if trainer.scaler is not None else None,
            "log": trainer.log,
            "weights_sha256": sha256_file(weights),
        }
        atomic_write_bytes(folder / "state.json", json.dumps(state, indent=1).encode())
        for old in folder.glob("weights*.safetensors"):
            if old.name != weights.name:
                old.unlink(missing_ok=True)
    except OSError as exc:
        raise TrainingFailed(
            f"Could not write the training checkpoint to {folder} ({exc.strerror or exc}). "
            "Check that the disk is not full and that the folder is writable."
        ) from exc


def _checked_weights(folder: Path, state: dict[str, object], fingerprint: str) -> Path:
    """The weights file ``state`` points at, once format, checksum and table are checked."""
    weights = folder / Path(str(state.get("weights_file", "weights.safetensors"))).name
    if state.get("format") != _FORMAT or state.get("format_version") != _VERSION:
        raise ModelFileError(
            f"{folder / 'state.json'} is not a checkpoint this version of MCRAGE can resume."
        )
    if not weights.exists() or sha256_file(weights) != state.get("weights_sha256"):
        raise ModelFileError(
            f"The checkpoint weights in {folder} are missing or do not match their "
            "recorded checksum (corrupted or modified); delete the folder and train again."
        )
    if state.get("fingerprint") != fingerprint:
        raise ModelFileError(
            f"The checkpoint in {folder} was made with a different table, columns or "
            "model settings, so it cannot be resumed; use a new output folder."
        )
    return weights


def _restore(trainer: Trainer, tensors: dict[str, torch.Tensor]) -> None:
    model_sd = {k[6:]: v for k, v in tensors.items() if k.startswith("model.")}
    ema_sd = {k[4:]: v for k, v in tensors.items() if k.startswith("ema.")}
    trainer.model.load_state_dict(model_sd, strict=True)
    trainer.ema.load_state_dict(ema_sd, strict=True)
    opt_sd = trainer.optimizer.state_dict()
    opt_state: dict[int, dict[str, torch.Tensor]] = {}
    for k, v in tensors.items():
        if k.startswith("optim."):
            _, pid, name = k.split(".", 2)
            opt_state.setdefault(int(pid), {})[name] = v
    opt_sd["state"] = opt_state
    trainer.optimizer.load_state_dict(opt_sd)
    trainer.generator.set_state(tensors["rng.generator"])


def load_checkpoint(trainer: Trainer, run_dir: Path, fingerprint: str) -> None:
    """Put the trainer back in the state of the checkpoint in ``run_dir``, if there is one.

    Raises :class:`~mcrage_core.errors.ModelFileError` when the checkpoint is corrupted
    or was made from another table or settings (``fingerprint`` differs).
    """
    folder = Path(run_dir) / CHECKPOINT_DIR
    state_path = folder / "state.json"
    if not state_path.exists():
        trainer.notes.append(f"No checkpoint found in {folder}; training started from scratch.")
        return
    try:
        state = json.loads(state_path.read_text(encoding="utf-8"))
        weights = _checked_weights(folder, state, fingerprint)
        _restore(trainer, load_file(str(weights)))
        if trainer.scaler is not None and state.get("scaler"):
            trainer.scaler.load_state_dict(state["scaler"])
        trainer.step = int(state["step"])
        trainer.elapsed_s = float(state.get("elapsed_s", 0.0))
        trainer.log = list(state.get("log", []))
    except ModelFileError:
        raise
    except (OSError, ValueError, KeyError, RuntimeError, TypeError, AttributeError) as exc:
        raise ModelFileError(
            f"The checkpoint in {folder} cannot be read ({type(exc).__name__}: {exc}); "
            "delete it and train again."
        ) from exc
