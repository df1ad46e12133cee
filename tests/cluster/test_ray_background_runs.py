"""The dashboard's background runs on a real local Ray cluster: started with
``MCRAGE_RAY_ADDRESS`` in the server's environment (as ``MCRAGE_RAY_ADDRESS=... mcrage
dashboard`` does), an audit reports its folds' progress from the cluster and stops when
cancelled, and a training run trains data-parallel and leaves its model and progress."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import pytest

from mcrage_core.jobs import RunRegistry

pytestmark = pytest.mark.slow

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data" / "support2.csv"
SCHEMA = {"target": "died_within_6_months", "sensitive": {"race": "race", "sex": None, "age": None}}


@pytest.fixture(scope="module")
def small() -> pd.DataFrame:
    df = pd.read_csv(SAMPLE)
    parts = [g.head(120 if race == "white" else 45) for race, g in df.groupby("race")]
    return pd.concat(parts).sample(frac=1.0, random_state=0).reset_index(drop=True)


def _wait(registry: RunRegistry, run_id: str, until, timeout: float = 180.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        registry.refresh()
        record = registry.get(run_id)
        if until(record):
            return record
        time.sleep(0.3)
    raise AssertionError(
        f"run {run_id} at {registry.get(run_id).status}:\n{registry.log_tail(run_id)}"
    )


def _stage(registry: RunRegistry, run_id: str) -> str:
    return str(((registry.read_progress(run_id) or {}).get("event") or {}).get("stage") or "")


def test_a_dashboard_audit_runs_its_folds_on_the_cluster_and_cancels(
    ray_cluster, small, tmp_path, monkeypatch
):
    monkeypatch.setenv("MCRAGE_RAY_ADDRESS", ray_cluster)
    registry = RunRegistry(tmp_path)
    params = {
        "schema": SCHEMA,
        "train": {"preset": "quick", "device": "cpu", "strategies": ["none", "cddpm"]},
    }
    run_id = registry.start_run("alice", params, small)
    _wait(registry, run_id, lambda r: "on the Ray cluster" in _stage(registry, run_id))
    assert ray_cluster in _stage(registry, run_id)
    registry.cancel(run_id, owner="alice")
    record = _wait(registry, run_id, lambda r: not r.is_active, timeout=60)
    assert record.status == "cancelled", registry.log_tail(run_id)


def test_a_dashboard_training_run_trains_data_parallel_on_the_cluster(
    ray_cluster, small, tmp_path, monkeypatch
):
    monkeypatch.setenv("MCRAGE_RAY_ADDRESS", ray_cluster)
    monkeypatch.setenv("MCRAGE_RAY_WORKERS", "2")
    registry = RunRegistry(tmp_path)
    params = {"schema": SCHEMA, "train": {"preset": "tiny", "device": "cpu", "train_steps": 60}}
    run_id = registry.start_run("alice", params, small, kind="train")
    record = _wait(registry, run_id, lambda r: not r.is_active)
    assert record.status == "succeeded", (record.error, registry.log_tail(run_id))
    progress = registry.read_progress(run_id) or {}
    assert progress["history"] and progress["event"]["fraction"] == pytest.approx(1.0)
    saved = " ".join(f.read_text() for f in (record.run_dir / "model").glob("*.json"))
    assert f'"address": "{ray_cluster}"' in saved and '"backend": "gloo"' in saved
