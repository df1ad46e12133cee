"""The evaluation grid on a real local Ray cluster (head node on localhost, 2 CPUs): the
same results as a run in one process for the same seeds, progress per finished fold,
cancelling, and plain errors for an unreachable cluster."""

from __future__ import annotations

import json
import time

import pytest

from mcrage_core.errors import ConfigError, TrainingCancelled
from mcrage_core.evaluation import AuditConfig, run_audit

pytestmark = pytest.mark.slow
TARGET = "died_within_6_months"


def _config(tiny_config) -> AuditConfig:
    return AuditConfig(
        TARGET,
        sensitive=("race", "sex"),
        strategies=("none", "oversample", "cddpm", "threshold"),
        classifier="hgb",
        seeds=2,
        folds=2,
        n_bootstrap=20,
        min_cell_rows=40,
        cddpm_config=tiny_config,
    )


def _comparable(results) -> dict:
    out = json.loads(results.to_json())
    out.pop("timings")  # wall times differ between runs; everything else must not
    for key in ("wall_s", "rows_per_s"):  # the generator's own wall-clock measurements
        ((out.get("training") or {}).get("info") or {}).pop(key, None)
    return out


def test_the_grid_on_ray_gives_the_local_results(ray_cluster, small_table, tiny_config):
    data, schema = small_table
    config = _config(tiny_config)
    local = run_audit(data, schema, config)
    events: list = []
    on_ray = run_audit(data, schema, config, ray_address=ray_cluster, progress=events.append)

    assert _comparable(on_ray) == _comparable(local)
    # the per-group numbers themselves, and the generator's rows, are the same
    assert on_ray.metrics.equals(local.metrics)
    assert on_ray.synthetic is not None and on_ray.synthetic.equals(local.synthetic)
    stages = [e.stage for e in events]
    assert any(f"on the Ray cluster at {ray_cluster}" in s for s in stages)
    assert "2 of 2 fold(s) done on the Ray cluster" in " ".join(stages)
    fractions = [e.fraction for e in events]
    assert all(b >= a for a, b in zip(fractions, fractions[1:], strict=False))
    assert fractions[-1] == 1.0


def test_the_environment_variable_chooses_the_cluster(ray_cluster, small_table, monkeypatch):
    data, schema = small_table
    config = AuditConfig(
        TARGET, sensitive=("race",), strategies=("none",), classifier="logreg", seeds=1, folds=2
    )
    monkeypatch.setenv("MCRAGE_RAY_ADDRESS", ray_cluster)
    events: list = []
    on_ray = run_audit(data, schema, config, progress=events.append)
    assert any("on the Ray cluster" in e.stage for e in events)
    monkeypatch.delenv("MCRAGE_RAY_ADDRESS")
    assert _comparable(on_ray) == _comparable(run_audit(data, schema, config))


def test_cancelling_stops_the_tasks_on_the_cluster(ray_cluster, small_table, tiny_config):
    data, schema = small_table
    submitted: list[float] = []

    def progress(event) -> None:
        if "Running" in event.stage and "Ray cluster" in event.stage:
            submitted.append(time.monotonic())

    with pytest.raises(TrainingCancelled, match="cancelled at your request"):
        run_audit(
            data,
            schema,
            _config(tiny_config),
            ray_address=ray_cluster,
            progress=progress,
            should_stop=lambda: bool(submitted),
        )
    assert time.monotonic() - submitted[0] < 15  # stopped at the next poll, not at the end


def test_an_unreachable_cluster_is_a_plain_error_in_seconds(small_table):
    data, schema = small_table
    config = AuditConfig(TARGET, sensitive=("race",), strategies=("none",), seeds=1, folds=2)
    started = time.monotonic()
    with pytest.raises(ConfigError, match=r"no Ray cluster answers at 127\.0\.0\.1:9"):
        run_audit(data, schema, config, ray_address="127.0.0.1:9")
    with pytest.raises(ConfigError, match="is not HOST:PORT"):
        run_audit(data, schema, config, ray_address="my-cluster")
    assert time.monotonic() - started < 20


def test_the_cli_runs_the_audit_on_the_cluster(ray_cluster, support2_small, tmp_path, capsys):
    from mcrage_core.cli import main

    csv = tmp_path / "small.csv"
    support2_small.to_csv(csv, index=False)
    args = ["audit", str(csv), "--target", TARGET, "--sensitive", "race", "--strategies"]
    args += ["none,oversample", "--classifier", "logreg", "--seeds", "1", "--folds", "2"]
    assert main([*args, "--out", str(tmp_path / "o"), "--ray-address", ray_cluster]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(summary["strategies"]) == {"none", "oversample"}
    assert (tmp_path / "o" / "results.json").exists()
    assert main([*args, "--out", str(tmp_path / "p"), "--ray-address", "127.0.0.1:9"]) == 2
    err = capsys.readouterr().err
    assert "no Ray cluster answers at 127.0.0.1:9" in err and "Traceback" not in err
