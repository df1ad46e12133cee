"""Save and load a trained model folder: safetensors + JSON, never a pickle.

Folder written by :func:`save_model`::

    config.json          settings, columns, cells, package version (JSON)
    model.safetensors    EMA weights of the denoiser
    encoder.json         encoder parameters (JSON)
    encoder.safetensors  encoder quantiles (float arrays)
    training_log.json    loss / learning rate / throughput over training
    manifest.json        SHA-256 of each file above (checked on load)
    checkpoint/          last training checkpoint (to resume; see ``checkpoint.py``)

:func:`load_model` verifies the checksums, formats, versions and shapes and raises
:class:`~mcrage_core.errors.ModelFileError` otherwise.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd
import torch
from safetensors import SafetensorError
from safetensors.numpy import load_file as load_numpy
from safetensors.numpy import save_file as save_numpy
from safetensors.torch import load_file, save_file

from mcrage_core import __version__
from mcrage_core.diffusion.config import CDDPMConfig
from mcrage_core.diffusion.denoiser import Denoiser
from mcrage_core.diffusion.device import resolve_device
from mcrage_core.diffusion.encoding import TabularEncoder
from mcrage_core.diffusion.schedule import NoiseSchedule
from mcrage_core.errors import ConfigError, ModelFileError
from mcrage_core.util.files import atomic_write_text

if TYPE_CHECKING:
    from mcrage_core.diffusion.model import CDDPM, TrainInfo

__all__ = ["FORMAT", "FORMAT_VERSION", "MODEL_FILES", "load_model", "save_model", "sha256_file"]

FORMAT = "mcrage-cddpm"
FORMAT_VERSION = 1
MODEL_FILES = (
    "config.json",
    "model.safetensors",
    "encoder.json",
    "encoder.safetensors",
    "training_log.json",
)
_MISSING = (
    "The model file {path} is missing; the folder is incomplete. Retrain or restore it "
    "from a backup."
)


def sha256_file(path: Path) -> str:
    """SHA-256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# --------------------------------------------------------------------------- saving
def _model_meta(model: CDDPM) -> dict[str, object]:
    """The content of ``config.json``."""
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "mcrage_version": __version__,
        "torch_version": torch.__version__,
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "config": model.config.to_dict(),
        "target": model.target_,
        "condition": model.condition_,
        "columns": model.columns_,
        "output_columns": model.output_columns_,
        "levels": model.levels_,
        "cell_dtypes": model.cell_dtypes_,
        "cells": model.cells_.astype(object).to_dict(orient="split")["data"],
        "model": {
            "dim": model.model_.dim,
            "cond_cardinalities": model.model_.cond_cardinalities,
            "hidden": model.model_.hidden,
            "depth": model.model_.depth,
        },
        "n_dropped": model.n_dropped_,
        "notes": model.notes_,
        "train_info": model.train_info_,
    }


def _json_default(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _write_json(path: Path, data: object) -> None:
    atomic_write_text(path, json.dumps(data, indent=1, default=_json_default))


def save_model(model: CDDPM, run_dir: str | os.PathLike[str]) -> Path:
    """Write a fitted model to ``run_dir`` (created if needed); returns the folder."""
    folder = Path(run_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        save_file(
            {k: v.detach().cpu().contiguous() for k, v in model.model_.state_dict().items()},
            str(folder / "model.safetensors"),
        )
        enc_meta, enc_arrays = model.encoder_.get_state()
        _write_json(folder / "encoder.json", enc_meta)
        save_numpy(enc_arrays, str(folder / "encoder.safetensors"))
        _write_json(folder / "training_log.json", model.train_log_)
        _write_json(folder / "config.json", _model_meta(model))
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "sha256": {name: sha256_file(folder / name) for name in MODEL_FILES},
        }
        _write_json(folder / "manifest.json", manifest)
    except OSError as exc:
        raise ModelFileError(
            f"Could not write the model to {folder} ({exc.strerror or exc}); check that "
            "the folder is writable and the disk is not full."
        ) from exc
    return folder


# --------------------------------------------------------------------------- loading
def _read_json(path: Path) -> Any:
    """Parsed JSON (its structure is checked by the caller)."""
    if not path.is_file():
        raise ModelFileError(_MISSING.format(path=path))
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"The model file {path} is not valid JSON ({exc}).") from exc


def _read_json_as(path: Path, expect: type) -> Any:
    data = _read_json(path)
    if not isinstance(data, expect):
        raise ModelFileError(f"The model file {path} does not have the expected structure.")
    return data


def _check_manifest(folder: Path) -> None:
    """Refuse a folder of another format, with a missing file or a wrong checksum."""
    manifest = _read_json_as(folder / "manifest.json", dict)
    if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(
            f"{folder} is not an MCRAGE CDDPM model of format version {FORMAT_VERSION} "
            f"(found {manifest.get('format')!r} version {manifest.get('format_version')!r})."
            " Retrain the model with this version."
        )
    sums = manifest.get("sha256")
    if not isinstance(sums, dict):
        raise ModelFileError(f"{folder / 'manifest.json'} has no checksums; retrain the model.")
    for name in MODEL_FILES:
        path = folder / name
        if not path.is_file():
            raise ModelFileError(_MISSING.format(path=path))
        if sums.get(name) != sha256_file(path):
            raise ModelFileError(
                f"The model file {path} does not match its recorded checksum: it was "
                "modified or corrupted after training. Retrain or restore it from a backup."
            )


def _restore_cells(model: CDDPM, meta: dict[str, Any]) -> None:
    model.target_ = str(meta["target"])
    model.condition_ = [str(c) for c in meta["condition"]]
    model.columns_ = [str(c) for c in meta["columns"]]
    model.output_columns_ = [str(c) for c in meta["output_columns"]]
    model.levels_ = [list(lv) for lv in meta["levels"]]
    model.cell_dtypes_ = [str(d) for d in meta["cell_dtypes"]]
    model.n_dropped_ = int(meta["n_dropped"])
    model.notes_ = [str(n) for n in meta["notes"]]
    model.train_info_ = cast("TrainInfo", dict(meta.get("train_info") or {}))
    cell_cols = [*model.condition_, model.target_]
    model.cells_ = pd.DataFrame([list(r) for r in meta["cells"]], columns=[*cell_cols, "n_real"])


def _load_network(folder: Path, dims: dict[str, Any], model: CDDPM) -> Denoiser:
    """The denoiser of ``model.safetensors``, checked against the encoder and the cells."""
    cards = [int(c) for c in dims["cond_cardinalities"]]
    if (
        len(model.levels_) != len(model.condition_) + 1
        or [len(lv) for lv in model.levels_] != cards
    ):
        raise ModelFileError("The cell definitions in config.json are inconsistent.")
    if int(dims["dim"]) != model.encoder_.output_dim_:
        raise ModelFileError("The encoder and the network in this folder do not fit together.")
    if sorted(model.encoder_.columns_) != sorted(model.columns_):
        raise ModelFileError("The encoder's columns differ from config.json's.")
    net = Denoiser(
        int(dims["dim"]),
        cards,
        hidden=int(dims["hidden"]),
        depth=int(dims["depth"]),
        dropout=model.config.dropout,
    )
    net.load_state_dict(load_file(str(folder / "model.safetensors")), strict=True)
    return net


def _restore(model_cls: type[CDDPM], folder: Path, device: str) -> CDDPM:
    meta = _read_json_as(folder / "config.json", dict)
    if meta.get("format") != FORMAT or meta.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(f"{folder / 'config.json'} has an unknown format.")
    config = CDDPMConfig.from_dict(meta["config"]).with_overrides(device=device)
    model = model_cls(config)
    _restore_cells(model, meta)
    model.train_log_ = _read_json_as(folder / "training_log.json", list)
    model.encoder_ = TabularEncoder.from_state(
        _read_json_as(folder / "encoder.json", dict),
        load_numpy(str(folder / "encoder.safetensors")),
    )
    model.device_ = resolve_device(device)
    model.model_ = _load_network(folder, meta["model"], model)
    return model


def load_model(
    model_cls: type[CDDPM], run_dir: str | os.PathLike[str], *, device: str = "auto"
) -> CDDPM:
    """Load a folder written by :func:`save_model` as a ``model_cls``.

    Refuses (:class:`~mcrage_core.errors.ModelFileError`) anything corrupted, tampered
    with or incompatible.
    """
    folder = Path(run_dir)
    if not folder.is_dir():
        raise ModelFileError(f"Model folder {folder} does not exist; train a model first.")
    _check_manifest(folder)
    try:
        model = _restore(model_cls, folder, device)
    except ConfigError as exc:
        raise ModelFileError(f"{folder / 'config.json'}: {exc}") from exc
    except (KeyError, TypeError, ValueError, RuntimeError, SafetensorError, OSError) as exc:
        raise ModelFileError(
            f"The model in {folder} cannot be loaded ({type(exc).__name__}: "
            f"{str(exc)[:300]}). It is damaged or from an incompatible version; retrain it."
        ) from exc
    model.model_ = model.model_.to(model.device_).eval()
    model.schedule_ = NoiseSchedule(model.config.timesteps, kind=model.config.schedule)
    return model
