"""Cost of differentially private training (DP-SGD) of the default generator on SUPPORT2.

Trains the default preset (``quick``) on ``sample_data/support2.csv`` conditioned on
race x died_within_6_months three times: without differential privacy, at ε = 10 and at
ε = 1 (δ by default, C = 1), and prints for each the wall time of ``fit`` (encoder, plan
and training), the steps, the ε spent and the noise multiplier, the held-out denoising
loss (a rough quality signal: mean squared error of the predicted noise on 1,000 rows
left out of training, fixed timesteps and noise; predicting zero scores about 1), and
the private runs' time as a multiple of the non-private one (the issue's target: at most
3). The machine's load average is printed before and after.

Usage::

    .venv/bin/python benchmarks/bench_dp.py                  # quick preset, 1 thread
    .venv/bin/python benchmarks/bench_dp.py --epsilons 10 --threads 2

Results are printed and written to ``benchmarks/_out/dp/results.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import pandas as pd
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mcrage_core import __version__  # noqa: E402
from mcrage_core.diffusion import CDDPM, CDDPMConfig  # noqa: E402
from mcrage_core.diffusion import cells as cellbook  # noqa: E402
from mcrage_core.tables import load_table  # noqa: E402

TARGET = "died_within_6_months"
CONDITION = ["race"]


def split(df: pd.DataFrame, n_hold: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Training rows and held-out rows (without empty cells in always-filled columns)."""
    hold = df.sample(n_hold, random_state=seed)
    train = df.drop(hold.index)
    filled = [c for c in df.columns if train[c].notna().all()]
    return train.reset_index(drop=True), hold.dropna(subset=filled).reset_index(drop=True)


def heldout_loss(model: CDDPM, hold: pd.DataFrame) -> float:
    """Mean squared error of the predicted noise on ``hold`` (fixed timesteps and noise)."""
    data, _ = cellbook.usable_rows(hold, model.cell_columns)
    x = torch.from_numpy(model.encoder_.transform(data[model.columns_]))
    codes = torch.from_numpy(cellbook.cell_codes(data, model.cell_columns, model.levels_))
    g = torch.Generator().manual_seed(0)
    t = torch.randint(model.schedule_.timesteps, (len(x),), generator=g)
    noise = torch.randn(x.shape, generator=g)
    with torch.no_grad():
        pred = model.model_(model.schedule_.add_noise(x, noise, t), t, codes)
    return float((pred - noise).pow(2).mean())


def run_one(cfg: CDDPMConfig, train: pd.DataFrame, hold: pd.DataFrame) -> dict[str, object]:
    t0 = time.perf_counter()
    model = CDDPM(cfg).fit(train, target=TARGET, condition=CONDITION)
    wall = time.perf_counter() - t0
    info = model.train_info_
    dp = dict(info.get("dp") or {})
    return {
        "epsilon_target": cfg.dp_epsilon,
        "wall_s": round(wall, 2),
        "train_s": info["wall_s"],
        "steps": info["steps"],
        "stop_reason": info.get("stop_reason"),
        "epsilon_spent": dp.get("epsilon_spent"),
        "delta": dp.get("delta"),
        "noise_multiplier": dp.get("noise_multiplier"),
        "sample_rate": dp.get("sample_rate"),
        "expected_batch_size": dp.get("expected_batch_size"),
        "heldout_loss": round(heldout_loss(model, hold), 4),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(ROOT / "sample_data" / "support2.csv"))
    ap.add_argument("--preset", default="quick", choices=["quick", "standard", "thorough"])
    ap.add_argument("--epsilons", type=float, nargs="+", default=[10.0, 1.0])
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    ap.add_argument("--hold", type=int, default=1000, help="rows held out for the loss")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "_out" / "dp"))
    args = ap.parse_args()

    train, hold = split(load_table(args.data), args.hold, args.seed)
    base = CDDPMConfig.preset(args.preset, device="cpu").with_overrides(
        cpu_threads=args.threads, seed=args.seed
    )
    load_before = os.getloadavg()
    print(f"load average before: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}")
    results = []
    for eps in [None, *args.epsilons]:
        row = run_one(base.with_overrides(dp_epsilon=eps), train, hold)
        results.append(row)
        ratio = row["wall_s"] / results[0]["wall_s"]  # type: ignore[operator]
        label = "non-private" if eps is None else f"ε = {eps:g}"
        spent = "" if eps is None else f", ε spent {row['epsilon_spent']:.3f}"
        sigma = "" if eps is None else f", σ = {row['noise_multiplier']:.3g}"
        print(
            f"{label:>12}: {row['wall_s']:7.1f} s ({ratio:.2f}x), {row['steps']} steps"
            f"{spent}{sigma}, held-out loss {row['heldout_loss']:.3f}",
            flush=True,
        )
    load_after = os.getloadavg()
    print(f"load average after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    record = {
        "mcrage_version": __version__,
        "torch": torch.__version__,
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
        "preset": args.preset,
        "threads": args.threads,
        "n_train": len(train),
        "load_before": load_before,
        "load_after": load_after,
        "runs": results,
    }
    (out / "results.json").write_text(json.dumps(record, indent=1, default=str))


if __name__ == "__main__":
    main()
