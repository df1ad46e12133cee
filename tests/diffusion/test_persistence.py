"""Model folders: save / load round trip, refusal of corrupted or tampered folders, and
folders saved by earlier versions still load."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import torch
from safetensors.torch import load_file, save_file

from mcrage_core.diffusion import CDDPM, FORMAT, FORMAT_VERSION
from mcrage_core.errors import ModelFileError

from .conftest import OLD_MODEL


def test_save_load_round_trip(fitted) -> None:
    model, run = fitted
    assert {p.name for p in run.iterdir()} >= {
        "config.json",
        "model.safetensors",
        "encoder.json",
        "encoder.safetensors",
        "training_log.json",
        "manifest.json",
    }
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["mcrage_version"] and cfg["format"] == "mcrage-cddpm"
    loaded = CDDPM.load(run, device="cpu")
    counts = {c: 4 for c in model.known_cells()[:3]}
    pd.testing.assert_frame_equal(loaded.sample(counts, seed=9), model.sample(counts, seed=9))
    pd.testing.assert_frame_equal(loaded.cells_, model.cells_)


def _copy_run(run: Path, dest: Path) -> Path:
    dest.mkdir()
    for p in run.iterdir():
        if p.is_file():
            (dest / p.name).write_bytes(p.read_bytes())
    return dest


def test_tampered_or_corrupted_folders_are_refused(fitted, tmp_path: Path) -> None:
    _, run = fitted
    # flipped byte in the weights
    d = _copy_run(run, tmp_path / "a")
    raw = bytearray((d / "model.safetensors").read_bytes())
    raw[-3] ^= 0xFF
    (d / "model.safetensors").write_bytes(bytes(raw))
    with pytest.raises(ModelFileError, match="checksum"):
        CDDPM.load(d)
    # edited settings
    d = _copy_run(run, tmp_path / "b")
    (d / "config.json").write_text(
        (d / "config.json").read_text().replace('"hidden": 32', '"hidden": 64')
    )
    with pytest.raises(ModelFileError, match="checksum"):
        CDDPM.load(d)
    # missing file
    d = _copy_run(run, tmp_path / "c")
    (d / "encoder.json").unlink()
    with pytest.raises(ModelFileError, match="missing"):
        CDDPM.load(d)
    # weights of the wrong shape, with a manifest forged to match: the shapes are checked
    d = _copy_run(run, tmp_path / "d")
    state = load_file(str(d / "model.safetensors"))
    state["out.bias"] = torch.zeros(3)
    save_file(state, str(d / "model.safetensors"))
    manifest = json.loads((d / "manifest.json").read_text())
    import hashlib

    manifest["sha256"]["model.safetensors"] = hashlib.sha256(
        (d / "model.safetensors").read_bytes()
    ).hexdigest()
    (d / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelFileError, match="cannot be loaded"):
        CDDPM.load(d)
    # another format version
    d = _copy_run(run, tmp_path / "e")
    manifest = json.loads((d / "manifest.json").read_text())
    manifest["format_version"] = 99
    (d / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelFileError, match="version"):
        CDDPM.load(d)
    with pytest.raises(ModelFileError, match="does not exist"):
        CDDPM.load(tmp_path / "nowhere")


def test_a_folder_saved_before_the_split_still_loads_and_samples_the_same() -> None:
    manifest = json.loads((OLD_MODEL / "manifest.json").read_text())
    assert (manifest["format"], manifest["format_version"]) == (FORMAT, FORMAT_VERSION)
    model = CDDPM.load(OLD_MODEL, device="cpu")
    assert model.config.max_categories == 200  # the setting it was trained with is kept
    assert model.known_cells()[:4] == [("asian", 0), ("asian", 1), ("black", 0), ("black", 1)]
    out = model.sample({c: 3 for c in model.known_cells()[:4]}, seed=7)
    expected = pd.read_csv(OLD_MODEL.parent / "model_v1_sample.csv")
    got = pd.read_csv(pd.io.common.StringIO(out.to_csv(index=False)))
    pd.testing.assert_frame_equal(got, expected)
