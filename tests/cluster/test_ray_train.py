"""Data-parallel CDDPM training with Ray Train (DDP, gloo) on a real local Ray cluster (head
node on localhost, 2 CPUs; the ``ray_cluster`` fixture of this folder).

The tolerance on the loss: the mean training loss over the last quarter of a 200-step run
of this configuration (1,700 training rows, batch 128) varies from seed to seed with a
standard deviation of 0.0016 (6 seeds in one process: 0.1464 +- 0.0016, range
0.1444-0.1492; 4 seeds on 2 workers: 0.1470 +- 0.0016). Two independent runs differ by a
standard deviation of about 0.0016 * sqrt(2) = 0.0023, so 0.007 is 3 of those. (Halving or
doubling the batch moves that loss by 0.004-0.006: the check cannot tell such a run apart
reliably, which is why the 1-worker run is compared exactly.) The held-out loss of the EMA
network is the same for every run of one seed, and differs between the runs of one seed
by at most 0.0014 (4 seeds measured): 0.007 leaves room.
"""

from __future__ import annotations

import json
import re
import statistics
import sys
import time

import pandas as pd
import pytest
import torch

from mcrage_core.cli import main
from mcrage_core.diffusion import CDDPM, CDDPMConfig
from mcrage_core.diffusion.distributed import RayTraining
from mcrage_core.errors import ConfigError, TrainingCancelled
from mcrage_core.progress import ProgressEvent
from mcrage_core.util.ray_cluster import ADDRESS_ENV

# Ray Train's run sets Ray Data's deprecated options (its own business, not ours)
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.data.context")
TARGET = "died_within_6_months"
COLUMNS = [
    "age",
    "sex",
    "num_comorbidities",
    "coma_score",
    "mean_blood_pressure",
    "heart_rate",
    "diabetes",
]
TOLERANCE = 0.007


@pytest.fixture(scope="module")
def rows(support2_df: pd.DataFrame) -> pd.DataFrame:
    return support2_df.sample(n=2000, random_state=0).reset_index(drop=True)


def _config(**changes) -> CDDPMConfig:
    """The tiny test network, a fixed number of steps, held-out rows without early stopping."""
    settings = {
        "train_steps": 200,
        "seed": 1,
        "checkpoint_every": 0,
        "validation_fraction": 0.15,
        "patience": 0,
    }
    return CDDPMConfig.preset("tiny", device="cpu").with_overrides(**{**settings, **changes})


def _fit(rows: pd.DataFrame, config: CDDPMConfig, runner=None, **kwargs) -> CDDPM:
    return CDDPM(config).fit(
        rows, target=TARGET, condition="race", columns=COLUMNS, runner=runner, **kwargs
    )


def _final_loss(model: CDDPM) -> float:
    """Mean training loss over the last quarter of the log."""
    log = model.train_log_
    return statistics.fmean(e["loss"] for e in log[-len(log) // 4 :])


def test_no_ray_no_cluster_or_an_unreachable_one_is_a_plain_error(
    rows, support2_small, tmp_path, capsys, monkeypatch
):
    config = _config(train_steps=5)
    with pytest.raises(ConfigError, match="No Ray cluster to train on"):
        _fit(rows, config, RayTraining(address=""))
    with pytest.raises(ConfigError, match="at least 1, got 0"):
        _fit(rows, config, RayTraining("127.0.0.1:9", workers=0))
    with pytest.raises(ConfigError, match="Differentially private training runs in one process"):
        _fit(rows, config.with_overrides(dp_epsilon=5.0), RayTraining("127.0.0.1:9"))
    with monkeypatch.context() as without_ray:
        without_ray.setitem(sys.modules, "ray", None)
        without_ray.setitem(sys.modules, "ray.train.torch", None)
        with pytest.raises(ConfigError, match=r'needs Ray Train; .*pip install "mcrage\[ray\]"'):
            _fit(rows, config, RayTraining("127.0.0.1:9"))
    started = time.monotonic()
    with pytest.raises(ConfigError, match=r"no Ray cluster answers at 127\.0\.0\.1:9"):
        _fit(rows, config, RayTraining("127.0.0.1:9"))
    assert time.monotonic() - started < 20

    csv = tmp_path / "real.csv"
    support2_small.to_csv(csv, index=False)
    args = ["train", str(csv), "--target", TARGET, "--condition", "race", "--steps", "5"]
    args += ["--out", str(tmp_path / "model"), "--quiet"]
    capsys.readouterr()
    assert main([*args, "--ray-address", "127.0.0.1:9"]) == 2
    err = capsys.readouterr().err
    assert "no Ray cluster answers at 127.0.0.1:9" in err and "Traceback" not in err
    assert main([*args, "--ray-workers", "2"]) == 2
    assert "--ray-workers needs --ray-address" in capsys.readouterr().err
    assert not (tmp_path / "model").exists()


def test_more_workers_than_the_cluster_has_cpus_is_a_plain_error(ray_cluster, rows):
    with pytest.raises(ConfigError, match=r"has 2 CPU\(s\), one per worker is needed"):
        _fit(rows, _config(train_steps=5), RayTraining(ray_cluster, workers=3))
    with pytest.raises(ConfigError, match=r"has 0 GPU\(s\) for 2 workers"):
        _fit(rows, _config(train_steps=5), RayTraining(ray_cluster, workers=2, use_gpu=True))


@pytest.mark.slow
def test_two_workers_reach_the_loss_of_one_worker_and_of_one_process(
    ray_cluster, rows, monkeypatch
):
    config = _config()
    local = _fit(rows, config)
    monkeypatch.setenv(ADDRESS_ENV, ray_cluster)  # the default address
    one = _fit(rows, config, RayTraining(workers=1))
    events: list[ProgressEvent] = []
    two = _fit(rows, config, RayTraining(ray_cluster, workers=2), progress=events.append)

    # one worker is the run in this process, step for step
    assert [e["loss"] for e in one.train_log_] == [e["loss"] for e in local.train_log_]
    for (name, a), b in zip(
        local.model_.state_dict().items(), one.model_.state_dict().values(), strict=True
    ):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=name)
    # two workers, 64 rows each a step: their own draws, the same optimisation
    assert two.train_info_["steps"] == 200 and two.train_info_["stop_reason"] == "steps"
    assert not torch.equal(two.model_.inp.weight, one.model_.inp.weight)
    print(
        f"final loss: local {_final_loss(local):.4f}, 1 worker {_final_loss(one):.4f}, "
        f"2 workers {_final_loss(two):.4f}; held-out: {local.train_log_[-1]['val_loss']:.4f}, "
        f"{one.train_log_[-1]['val_loss']:.4f}, {two.train_log_[-1]['val_loss']:.4f}"
    )
    assert abs(_final_loss(two) - _final_loss(one)) < TOLERANCE
    assert abs(two.train_log_[-1]["val_loss"] - one.train_log_[-1]["val_loss"]) < TOLERANCE
    assert two.train_info_["validation_rows"] == local.train_info_["validation_rows"] > 0

    assert two.train_info_["distributed"] == {
        "address": ray_cluster,
        "workers": 2,
        "backend": "gloo",
        "device": "cpu",
    }
    assert one.train_info_["distributed"]["address"] == ray_cluster
    # worker 0's progress reached this process: every step count, then the end
    assert events[0].stage.startswith("Starting") and events[0].fraction == 0.0
    training = [e for e in events[1:] if e.loss is not None]
    assert len(training) >= 50
    assert all(f"on the Ray cluster at {ray_cluster} (2 workers)" in e.stage for e in training)
    steps = [e.step for e in training]
    assert steps == sorted(steps) and steps[-1] == 200 and training[-1].fraction == 1.0
    assert training[-1].loss == pytest.approx(two.train_log_[-1]["loss"])
    # an ordinary fitted model in this process
    synth = two.sample({("white", 1): 10}, seed=0, sampling_steps=3)
    assert len(synth) == 10 and set(synth.race) == {"white"}


@pytest.mark.slow
def test_a_cancelled_distributed_run_resumes_from_its_checkpoint(ray_cluster, rows, tmp_path):
    config = _config(train_steps=400, checkpoint_every=100)
    run = tmp_path / "run"
    seen: list[ProgressEvent] = []
    with pytest.raises(TrainingCancelled, match=r"cancelled at step \d+ of 400") as cancelled:
        _fit(
            rows,
            config,
            RayTraining(ray_cluster, workers=2),
            run_dir=run,
            progress=seen.append,
            should_stop=lambda: any((e.step or 0) >= 20 for e in seen),
        )
    match = re.search(r"step (\d+)", str(cancelled.value))
    assert match is not None
    step = int(match.group(1))
    state = json.loads((run / "checkpoint" / "state.json").read_text())
    assert 20 <= state["step"] == step < 400  # written by worker 0 when all workers stopped
    assert len(list((run / "checkpoint").glob("weights-*.safetensors"))) == 1
    assert not (run / "manifest.json").exists()

    resumed = _fit(rows, config, run_dir=run, resume=True)  # here, in one process
    assert resumed.train_info_["steps"] == 400
    assert resumed.train_log_[: len(state["log"])] == state["log"]
    assert resumed.train_log_[-1]["step"] == 400
    assert (run / "manifest.json").exists()
    assert abs(_final_loss(resumed) - _final_loss(_fit(rows, config))) < TOLERANCE


@pytest.mark.slow
def test_the_cli_trains_on_the_cluster_for_sample(ray_cluster, support2_small, tmp_path, capsys):
    csv = tmp_path / "real.csv"
    support2_small.to_csv(csv, index=False)
    model = tmp_path / "model"
    args = ["train", str(csv), "--target", TARGET, "--condition", "race", "--out", str(model)]
    args += ["--preset", "quick", "--steps", "30", "--device", "cpu", "--seed", "1", "--quiet"]
    assert main([*args, "--ray-address", ray_cluster, "--ray-workers", "2"]) == 0
    out = capsys.readouterr().out
    assert "30 steps" in out
    assert f"Trained data-parallel on the Ray cluster at {ray_cluster}: 2 workers, gloo " in out
    assert CDDPM.load(model).train_info_["distributed"]["workers"] == 2

    synth = tmp_path / "synth.csv"
    sample = ["sample", str(model), "--counts", "black=12", "--sampling-steps", "3"]
    assert main([*sample, "--seed", "0", "--out", str(synth)]) == 0
    rows = pd.read_csv(synth)
    assert len(rows) == 12 and set(rows.race) == {"black"}
