"""CDDPMConfig: validation, presets (the test-only "tiny" one too) and the dict round trip."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mcrage_core.diffusion import PRESET_NAMES, CDDPMConfig, resolve_device
from mcrage_core.errors import ConfigError
from mcrage_core.tables import MAX_CATEGORIES, MAX_UNIQUE_FRACTION


def test_presets_and_device_resolution() -> None:
    quick, standard, thorough = (
        CDDPMConfig.preset(n, device="cpu") for n in ("quick", "standard", "thorough")
    )
    assert quick.train_steps * quick.hidden < standard.train_steps * standard.hidden
    assert standard.train_steps * standard.hidden < thorough.train_steps * thorough.hidden
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type in {"cpu", "cuda", "mps"}
    with pytest.raises(ConfigError):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="no CUDA"):
            resolve_device("cuda")
    assert CDDPMConfig.from_dict(standard.to_dict()) == standard
    assert np.isfinite(standard.lr)


def test_tiny_preset_is_quick_shrunk_for_tests() -> None:
    assert PRESET_NAMES == ("tiny", "quick", "standard", "thorough")
    tiny = CDDPMConfig.preset("tiny", device="cpu")
    quick = CDDPMConfig.preset("quick", device="cpu")
    assert (tiny.hidden, tiny.depth, tiny.train_steps, tiny.batch_size) == (32, 1, 40, 128)
    assert (tiny.timesteps, tiny.sampling_steps, tiny.checkpoint_every) == (50, 10, 10)
    assert tiny.n_quantiles == 50 and tiny.device == "cpu"
    # everything else is the quick preset's
    same = {"cpu_threads", "lr", "ema_decay", "schedule", "guidance", "max_categories"}
    assert {k: tiny.to_dict()[k] for k in same} == {k: quick.to_dict()[k] for k in same}
    assert tiny.train_steps * tiny.hidden < quick.train_steps * quick.hidden
    assert CDDPMConfig.from_dict(tiny.to_dict()) == tiny


def test_identifier_rule_comes_from_the_tables_package() -> None:
    cfg = CDDPMConfig()
    assert cfg.max_categories == MAX_CATEGORIES
    assert cfg.max_unique_fraction == MAX_UNIQUE_FRACTION


def test_invalid_settings_name_the_setting_and_the_rule() -> None:
    with pytest.raises(ConfigError, match="timesteps.*at least 2"):
        CDDPMConfig(timesteps=1)
    with pytest.raises(ConfigError, match="schedule.*'linear' or 'cosine'"):
        CDDPMConfig(schedule="square")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="device.*'auto', 'cpu', 'cuda' or 'mps'"):
        CDDPMConfig(device="tpu")
    with pytest.raises(ConfigError, match="Unknown CDDPM setting"):
        CDDPMConfig().with_overrides(width=3)
    with pytest.raises(ConfigError, match="Unknown CDDPM setting"):
        CDDPMConfig.from_dict({"width": 3})
