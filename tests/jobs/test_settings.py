"""RunSettings: one typed contract for a run, from the dashboard or the CLI to the worker."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

import mcrage_core.jobs.execute as execute
from mcrage_core.cli import build_parser
from mcrage_core.commands.audit import settings_from_args
from mcrage_core.errors import ConfigError
from mcrage_core.jobs import DEFAULTS, RunSettings, RunStore
from mcrage_core.jobs.worker import run_job

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data" / "support2.csv"
TARGET = "died_within_6_months"


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    df = pd.read_csv(SAMPLE, nrows=300)
    df.insert(0, "patient_id", range(1000, 1000 + len(df)))  # detected as an identifier
    return df


def _full() -> RunSettings:
    return RunSettings(
        kind="audit",
        table="support2.csv",
        target=TARGET,
        positive_class="1",
        sensitive={"race": "race", "sex": None, "age": "age"},
        exclude=("income",),
        include=("patient_id",),
        age_bands=(40, 60, 75),
        rebalance=("race",),
        strategies=("none", "oversample", "cddpm"),
        classifier="logreg",
        preset="tiny",
        device="cpu",
        n_seeds=2,
        train_steps=30,
        sampling_steps=5,
        overrides={"hidden": 16},
        n_bootstrap=10,
        plan_mode="share",
        plan_share=0.2,
        balance_outcome=True,
        sensitive_as_features=False,
        min_cell_rows=7,
        allow_small_cells=True,
        value_labels={"race": {"white": "White"}},
        merge_below=5,
        threshold=0.4,
        min_test_rows=3,
    )


def test_round_trip_through_json() -> None:
    for settings in (_full(), RunSettings(), RunSettings(kind="train", sensitive=("race",))):
        text = json.dumps(settings.to_dict(), allow_nan=False)
        assert RunSettings.from_dict(json.loads(text)) == settings


def test_old_format_params_load() -> None:
    """The dict stored by runs registered before RunSettings existed."""
    old_audit = {
        "schema": {
            "target": TARGET,
            "positive_class": None,
            "sensitive": {"race": "race", "sex": None, "age": None},
            "exclude": [],
            "include": ["patient_id"],
            "age_bands": [40, 65],
        },
        "audit": {
            "rebalance": ["race"],
            "strategies": ["none", "oversample", "cddpm"],
            "preset": "quick",
            "device": "auto",
            "n_seeds": 1,
            "train_steps": 0,
            "min_cell_rows": 20,
            "allow_small_cells": False,
            "value_labels": {},
            "merge_below": 0,
            "threshold": 0.5,
        },
        "table": "support2.csv",
    }
    settings = RunSettings.from_dict(old_audit, kind="audit")
    assert settings.include == ("patient_id",) and settings.age_bands == (40, 65)
    assert settings.train_steps is None and settings.strategies == ("none", "oversample", "cddpm")
    old_train = {"schema": {"target": TARGET}, "train": {"preset": "tiny", "device": "cpu"}}
    settings = RunSettings.from_dict(old_train, kind="train")
    assert (settings.kind, settings.preset, settings.device) == ("train", "tiny", "cpu")
    assert RunSettings.from_dict({}) == RunSettings()


def test_unknown_or_invalid_settings_are_refused_in_plain_words() -> None:
    with pytest.raises(ConfigError, match=r"unknown entries \(audit.colour\)"):
        RunSettings.from_dict({"audit": {"colour": "red"}})
    with pytest.raises(ConfigError, match="unknown entries"):
        RunSettings.from_dict({"note": "x"})
    with pytest.raises(ConfigError, match="'audit' must be an object"):
        RunSettings.from_dict({"audit": [1]})
    with pytest.raises(ConfigError, match="preset"):
        RunSettings(preset="huge")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="strategy"):
        RunSettings(strategies=("magic",))
    with pytest.raises(ConfigError, match="n_seeds"):
        RunSettings(n_seeds=0)
    with pytest.raises(ConfigError, match="threshold"):
        RunSettings(threshold=1.5)


def test_include_and_age_bands_reach_infer_schema(table: pd.DataFrame, monkeypatch) -> None:
    default = RunSettings(target=TARGET)
    _, schema = default.infer(table)
    assert "patient_id" in schema.identifiers  # excluded unless brought back
    settings = replace(default, include=("patient_id",), age_bands=(40, 60, 75))
    _, schema = settings.infer(table)
    assert "patient_id" in schema.features and schema.age_bands == (40, 60, 75)

    seen: dict = {}

    def spy(df, **kwargs):
        seen.update(kwargs)
        raise ConfigError("spy")

    monkeypatch.setattr("mcrage_core.tables.infer_schema", spy)
    with pytest.raises(ConfigError, match="spy"):
        _full().infer(table)
    assert seen["include"] == ("patient_id",) and seen["age_bands"] == (40, 60, 75)
    assert seen["exclude"] == ("income",) and seen["positive_class"] == "1"
    assert seen["sensitive"] == {"race": "race", "sex": None, "age": "age"}


def test_the_worker_runs_exactly_what_was_saved(tmp_path: Path, table, monkeypatch) -> None:
    settings = _full()
    run_id = RunStore(tmp_path).start_run("alice", settings, table)  # queued, no process
    captured: dict = {}

    def fake_run_audit(data, schema, config, **kwargs):
        captured.update(data=data, schema=schema, config=config, **kwargs)
        raise ConfigError("stopped by the test")

    monkeypatch.setattr(execute, "run_audit", fake_run_audit)
    assert run_job(tmp_path / "runs" / run_id) == 2
    record = RunStore(tmp_path).get(run_id)
    assert record.status == "failed" and record.error == "stopped by the test"
    assert record.settings == settings

    saved_input = pd.read_parquet(record.run_dir / "input.parquet")
    data, schema = settings.infer(saved_input)
    assert captured["schema"] == schema
    pd.testing.assert_frame_equal(captured["data"], data)
    assert captured["config"] == settings.audit_config(schema)
    assert captured["config"].cddpm_config == settings.cddpm_config()
    assert captured["workdir"] == record.run_dir / "checkpoints"


def test_audit_config_and_cddpm_config_follow_the_settings(table: pd.DataFrame) -> None:
    settings = _full()
    _, schema = settings.infer(table)
    config = settings.audit_config(schema)
    assert (config.target, config.seeds, config.classifier) == (TARGET, 2, "logreg")
    assert config.strategies == ("none", "oversample", "cddpm") and config.rebalance == ("race",)
    assert (config.plan_mode, config.plan_share, config.merge_below) == ("share", 0.2, 5)
    assert config.sampling_steps == 5 and config.n_bootstrap == 10 and config.threshold == 0.4
    cddpm = settings.cddpm_config()
    assert (cddpm.train_steps, cddpm.hidden, cddpm.device) == (30, 16, "cpu")
    tiny = RunSettings(target=TARGET, preset="tiny", device="cpu")
    config = tiny.audit_config(schema)
    assert config.n_bootstrap == 50 and config.cddpm_config is not None
    assert config.sampling_steps == config.cddpm_config.sampling_steps
    with pytest.raises(ConfigError, match="outcome column"):
        RunSettings().audit_config(replace(schema, target=None))


def test_cli_builds_its_settings_with_the_same_defaults() -> None:
    parser = build_parser()
    args = parser.parse_args(
        ["audit", "t.csv", "--target", TARGET, "--sensitive", "race", "--out", "o"]
    )
    settings = settings_from_args(args)
    expected = RunSettings(table="t.csv", target=TARGET, sensitive=("race",))
    assert settings == expected
    assert (settings.preset, settings.n_seeds, settings.strategies) == (
        DEFAULTS.preset,
        DEFAULTS.n_seeds,
        DEFAULTS.strategies,
    )
    args = parser.parse_args(
        ["audit", "t.csv", "--target", TARGET, "--sensitive", "race", "--out", "o", "--quick"]
    )
    # --quick: the default model, one repeat of 3-fold cross-validation
    assert settings_from_args(args) == replace(expected, folds=3, n_seeds=1)
    args = parser.parse_args(
        ["audit", "t.csv", "--target", TARGET, "--sensitive", "race", "--out", "o",
         "--train-steps", "0"]
    )  # fmt: skip
    with pytest.raises(ConfigError, match="--train-steps must be at least 1"):
        settings_from_args(args)


def test_no_age_band_edges_mean_the_default_bands() -> None:
    from mcrage_core.jobs import RunSettings

    assert RunSettings(age_bands=()).age_bands is None
    assert RunSettings(age_bands=[40, 60]).age_bands == (40, 60)
    assert RunSettings.from_dict(RunSettings(age_bands=()).to_dict()) == RunSettings()
