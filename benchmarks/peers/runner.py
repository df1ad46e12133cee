"""Train one generator and generate the planned rows; run by each peer's own Python.

Usage (by ``benchmarks/bench_peers.py``)::

    <venv>/bin/python benchmarks/peers/runner.py ENGINE WORKDIR

``WORKDIR`` holds ``train.csv`` and ``job.json`` (group and outcome columns, the plan as
``[{group, outcome, n}]``, the training time budget in seconds, the seed and the
project's root). The runner writes ``synthetic.csv`` and ``timing.json``
(``train_s`` and ``generate_s`` measured around the engine's own calls, ``n_rows``,
``notes``). Every engine gets one torch thread. Engines: ``mcrage`` (this project's
default preset), ``mostlyai`` (MOSTLY AI's TabularARGN engine), ``gaussian_copula`` and
``ctgan`` (SDV).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

Job = dict[str, Any]


def _known(job: Job, train: pd.DataFrame) -> pd.DataFrame:
    """One row per planned synthetic row: its group and outcome, in the table's dtypes."""
    g, y = job["group"], job["target"]
    rows = [(p["group"], p["outcome"]) for p in job["plan"] for _ in range(int(p["n"]))]
    known = pd.DataFrame(rows, columns=[g, y])
    return known.astype({g: train[g].dtype, y: train[y].dtype})


def run_mcrage(job: Job, train: pd.DataFrame, work: Path) -> tuple[pd.DataFrame, float, float]:
    sys.path.insert(0, job["root"])
    from mcrage_core.diffusion import CDDPM, DEFAULT_PRESET, CDDPMConfig

    # the default exactly as a user gets it; its time budget sits inside the benchmark's
    cfg = CDDPMConfig.preset(DEFAULT_PRESET, device="cpu").with_overrides(
        seed=job["seed"], checkpoint_every=0
    )
    job.setdefault("notes", []).append(
        f"preset {DEFAULT_PRESET}: training loop budget {cfg.time_budget_s:g} s"
    )
    t0 = time.perf_counter()
    model = CDDPM(cfg).fit(train, target=job["target"], condition=[job["group"]])
    train_s = time.perf_counter() - t0
    plan = {(p["group"], p["outcome"]): int(p["n"]) for p in job["plan"]}
    t0 = time.perf_counter()
    synth = model.sample(plan, seed=job["seed"] + 1, exclude_copies_of=train)
    gen_s = time.perf_counter() - t0
    job["notes"].append(f"stopped: {model.train_info_.get('stopped_because')}")
    return synth, train_s, gen_s


def run_mostlyai(job: Job, train: pd.DataFrame, work: Path) -> tuple[pd.DataFrame, float, float]:
    from mostlyai.engine import TabularARGN

    model = TabularARGN(
        max_training_time=float(job["budget_s"]) / 60.0,
        random_state=job["seed"],
        device="cpu",
        workspace_dir=work / "mostlyai-ws",
        verbose=0,
    )
    t0 = time.perf_counter()
    model.fit(train)
    train_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    synth = model.sample(seed_data=_known(job, train), device="cpu")
    return synth, train_s, time.perf_counter() - t0


def _sdv(kind: str) -> Callable[[Job, pd.DataFrame, Path], tuple[pd.DataFrame, float, float]]:
    def run(job: Job, train: pd.DataFrame, work: Path) -> tuple[pd.DataFrame, float, float]:
        from sdv.metadata import Metadata
        from sdv.single_table import CTGANSynthesizer, GaussianCopulaSynthesizer

        meta = Metadata.detect_from_dataframes({"table": train}, infer_keys=None)
        for col in (job["group"], job["target"]):
            meta.update_column(col, table_name="table", sdtype="categorical")

        def make(**kw: Any) -> Any:
            if kind == "ctgan":
                return CTGANSynthesizer(meta, enable_gpu=False, **kw)
            return GaussianCopulaSynthesizer(meta)

        notes = []
        if kind == "ctgan":  # no time limit in its API: size the epochs from timed fits
            times = []
            for epochs in (1, 11):  # 10 epochs apart: more than SDV's preprocessing noise
                t0 = time.perf_counter()
                make(epochs=epochs).fit({"table": train})
                times.append(time.perf_counter() - t0)
            per_epoch = max((times[1] - times[0]) / 10, 0.05)
            fixed = max(times[0] - per_epoch, 0.0)  # preprocessing, paid once per fit
            epochs = min(300, max(1, int((float(job["budget_s"]) - fixed) / per_epoch)))
            notes.append(
                f"preprocessing {fixed:.1f} s + {per_epoch:.2f} s per epoch: {epochs} epochs "
                "fit the budget (timed from fits of 1 and 11 epochs, not counted; at most 300)"
            )
            model = make(epochs=epochs)
        else:
            model = make()
        t0 = time.perf_counter()
        model.fit({"table": train})  # SDV 2 takes {table name: rows}
        train_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        synth = model.sample_remaining_columns(_known(job, train), max_tries_per_batch=500)
        if isinstance(synth, dict):
            synth = synth["table"]
        job.setdefault("notes", []).extend(notes)
        return synth, train_s, time.perf_counter() - t0

    return run


ENGINES = {
    "mcrage": run_mcrage,
    "mostlyai": run_mostlyai,
    "gaussian_copula": _sdv("gaussian_copula"),
    "ctgan": _sdv("ctgan"),
}


def main() -> None:
    import torch

    torch.set_num_threads(1)
    engine, work = sys.argv[1], Path(sys.argv[2])
    job: Job = json.loads((work / "job.json").read_text())
    train = pd.read_csv(work / "train.csv")
    synth, train_s, gen_s = ENGINES[engine](job, train, work)
    synth = synth[[c for c in train.columns if c in synth.columns]]
    synth.to_csv(work / "synthetic.csv", index=False)
    timing = {
        "train_s": round(train_s, 2),
        "generate_s": round(gen_s, 2),
        "n_rows": len(synth),
        "notes": job.get("notes", []),
        "torch": torch.__version__,
    }
    (work / "timing.json").write_text(json.dumps(timing))


if __name__ == "__main__":
    main()
