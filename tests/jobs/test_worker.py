"""The background worker on real (small) data: success, failure, cancel, kill + resume."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pandas as pd
import pytest

from mcrage_core.jobs import DEAD_WORKER_REASON, RunRegistry, RunSettings
from mcrage_core.jobs.worker import MAX_HISTORY, CancelFlag, ProgressWriter
from mcrage_core.progress import ProgressEvent

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data" / "support2.csv"
SCHEMA = {"target": "died_within_6_months", "sensitive": {"race": "race", "sex": None, "age": None}}


@pytest.fixture(scope="module")
def small() -> pd.DataFrame:
    df = pd.read_csv(SAMPLE)
    parts = [g.head(120 if race == "white" else 45) for race, g in df.groupby("race")]
    return pd.concat(parts).sample(frac=1.0, random_state=0).reset_index(drop=True)


def _train_params(**train: object) -> dict:
    return {"schema": SCHEMA, "train": {"preset": "tiny", "device": "cpu", **train}}


def _wait(registry: RunRegistry, run_id: str, *, until, timeout: float = 120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        registry.refresh()
        record = registry.get(run_id)
        if until(record):
            return record
        time.sleep(0.2)
    raise AssertionError(
        f"run {run_id} stuck at {registry.get(run_id).status}; log:\n{registry.log_tail(run_id)}"
    )


def _final(record) -> bool:
    return not record.is_active


def test_tiny_config_is_the_quick_preset_shrunk() -> None:
    quick = RunSettings(preset="quick", device="cpu").cddpm_config()
    tiny = RunSettings(preset="tiny", device="cpu", train_steps=7).cddpm_config()
    assert tiny.train_steps == 7 and tiny.hidden < quick.hidden
    with pytest.raises(Exception, match="preset"):
        RunSettings(preset="huge", device="cpu")  # type: ignore[arg-type]


@pytest.mark.slow
def test_train_run_writes_progress_model_and_results(tmp_path: Path, small) -> None:
    registry = RunRegistry(tmp_path)
    run_id = registry.start_run("alice", _train_params(), small, kind="train")
    record = _wait(registry, run_id, until=_final)
    assert record.status == "succeeded", (record.error, registry.log_tail(run_id))
    assert record.error is None and record.duration_s is not None
    progress = registry.read_progress(run_id)
    assert progress is not None
    losses = [p["loss"] for p in progress["history"]]
    assert len(losses) >= 5 and all(v > 0 for v in losses)
    assert progress["event"]["fraction"] == pytest.approx(1.0)
    results = json.loads((record.run_dir / "results.json").read_text())
    assert results["condition"] == ["race"]
    assert {c["race"] for c in results["cells"]} == set(small["race"].dropna())
    assert (record.run_dir / "model").is_dir()


def test_bad_settings_fail_with_a_readable_reason(tmp_path: Path, small) -> None:
    registry = RunRegistry(tmp_path)
    params = {"schema": {"target": "no_such_column"}, "train": {"preset": "tiny"}}
    run_id = registry.start_run("alice", params, small, kind="train")
    record = _wait(registry, run_id, until=_final)
    assert record.status == "failed"
    assert "no_such_column" in (record.error or "")
    assert "Traceback" not in (record.error or "")


@pytest.mark.slow
def test_cancel_stops_a_running_training(tmp_path: Path, small) -> None:
    registry = RunRegistry(tmp_path)
    run_id = registry.start_run(
        "alice",
        _train_params(train_steps=3000, overrides={"hidden": 256, "depth": 2}),
        small,
        kind="train",
    )
    _wait(registry, run_id, until=lambda r: (registry.read_progress(r.id) or {}).get("history"))
    registry.cancel(run_id, owner="alice")
    record = _wait(registry, run_id, until=_final, timeout=60)
    assert record.status == "cancelled"
    assert record.error == "cancelled by the user"


@pytest.mark.slow
def test_killed_training_is_marked_failed_and_resumes_from_checkpoint(
    tmp_path: Path, small
) -> None:
    registry = RunRegistry(tmp_path)
    params = _train_params(
        train_steps=600, overrides={"checkpoint_every": 10, "hidden": 256, "depth": 2}
    )
    run_id = registry.start_run("alice", params, small, kind="train")
    checkpoint = registry.run_dir(run_id) / "model" / "checkpoint"

    def checkpointed(record) -> bool:
        history = (registry.read_progress(record.id) or {}).get("history") or []
        return checkpoint.exists() and bool(history) and history[-1]["step"] >= 30

    record = _wait(registry, run_id, until=checkpointed)
    assert record.pid is not None
    os.kill(record.pid, signal.SIGKILL)
    failed = _wait(registry, run_id, until=_final, timeout=30)
    assert failed.status == "failed" and failed.error == DEAD_WORKER_REASON
    n_before = len(registry.read_progress(run_id)["history"])

    registry.resume(run_id, owner="alice")
    done = _wait(registry, run_id, until=_final)
    assert done.status == "succeeded", (done.error, registry.log_tail(run_id))
    assert done.attempt == 1
    steps = [p["step"] for p in registry.read_progress(run_id)["history"]]
    resumed = steps[n_before:]
    assert resumed and resumed[0] > 10  # continued from a checkpoint, not from step 1
    assert steps[-1] == 600


def test_progress_writer_keeps_a_bounded_history(tmp_path: Path) -> None:
    registry = RunRegistry(tmp_path)
    run_id = "20250101-000000-0123abcd"
    registry.runs_dir.mkdir(parents=True)
    (registry.runs_dir / run_id).mkdir()
    writer = ProgressWriter(registry, run_id, file_every_s=1e9, db_every_s=1e9)
    for step in range(1, 3 * MAX_HISTORY):
        writer(ProgressEvent("Training", step / (3 * MAX_HISTORY), step=step, loss=1.0 / step))
    writer.flush()
    data = registry.read_progress(run_id)
    assert data is not None
    assert len(data["history"]) <= MAX_HISTORY
    steps = [p["step"] for p in data["history"]]
    assert steps == sorted(steps) and steps[0] == 1
    assert data["event"]["step"] == 3 * MAX_HISTORY - 1


def test_cancel_flag_sees_the_flag_file(tmp_path: Path) -> None:
    flag = CancelFlag(tmp_path, every_s=0.0)
    assert not flag()
    (tmp_path / "CANCEL").write_text("x")
    assert flag()
