"""The paper reproduction's protocol: the authors' forest, and a CDDPM setting chosen on a
validation part of the training rows, never on the test rows."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pandas as pd
import pytest

from mcrage_core.diffusion import CDDPMConfig

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def paper():
    spec = importlib.util.spec_from_file_location(
        "mcrage_paper", ROOT / "benchmarks" / "mcrage_paper.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["mcrage_paper"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def table(paper):
    df = pd.read_csv(paper.DATA)
    df[paper.TARGET] = (df[paper.TARGET].astype(str) == paper.POSITIVE).astype(int)
    return df


def test_the_default_forest_is_the_authors(paper):
    rf = paper.make_forest(["AGE", "SEX"], ["SEX"], 3).named_steps["rf"]
    assert (rf.n_estimators, rf.max_depth, rf.min_samples_split, rf.min_samples_leaf) == (
        80,
        4,
        20,
        10,
    )
    default = paper.make_forest(["AGE", "SEX"], ["SEX"], 3, "default").named_steps["rf"]
    assert default.max_depth is None and default.n_estimators == 100


def test_the_setting_is_chosen_without_the_test_rows(paper, table, monkeypatch):
    from sklearn.model_selection import train_test_split

    seen: list[set[int]] = []
    real_augment = paper.augment

    def spy(imb, features, seed, config):
        seen.append(set(imb.index))
        return real_augment(imb, features, seed, config)

    def tiny(candidate, seed, device):
        return CDDPMConfig.preset("tiny").with_overrides(checkpoint_every=0, seed=seed)

    monkeypatch.setattr(paper, "augment", spy)
    monkeypatch.setattr(paper, "cddpm_config", tiny)
    monkeypatch.setattr(paper, "CANDIDATES", {"a": {}, "b": {"steps": 5}})
    features = [c for c in table.columns if c != paper.TARGET]
    selection = paper.choose_setting(table, features, "cpu")
    train, test = train_test_split(table, test_size=0.2, random_state=1)
    imb = paper.imbalance(train, 1)
    fit, val = paper.validation_split(imb, 1)
    assert selection["chosen"] in ("a", "b") and len(seen) == 2
    for rows in seen:  # the candidates learn from the fitting part only
        assert rows == set(fit.index)
        assert not rows & set(test.index) and not rows & set(val.index)
    assert set(val.index) <= set(imb.index) and not set(val.index) & set(test.index)
    assert (
        selection["n_validation"] == len(val)
        and abs(val[paper.TARGET].mean() - imb[paper.TARGET].mean()) < 0.02
    )
