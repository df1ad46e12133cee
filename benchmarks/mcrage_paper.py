"""Reproduce the MCRAGE authors' experiment on the patient-treatment EHR table.

Setup (as in the authors' code, see /work/shared/datasets/README.md): 80/20 split
(``random_state=1`` for the first seed, then 2, 3, ...); the training part is made
imbalanced by keeping 90 % of its ``out`` rows and 10 % of its ``in`` rows; the test
part is untouched. A random forest (scikit-learn defaults, 100 trees) is trained on

* ``original``   – the full training part,
* ``imbalanced`` – the imbalanced training part,
* ``oversample`` – imbalanced + random copies of ``in`` rows,
* ``smote``      – imbalanced + SMOTE-NC ``in`` rows,
* ``cddpm``      – imbalanced + MCRAGE (conditional diffusion) ``in`` rows,

and scored on the test part with ``in`` as the positive class (AUROC from predicted
probabilities). The three augmenters share one plan made by
:func:`mcrage_core.rebalance.plan.plan_augmentation`: the diffusion model needs at least one
condition column, so the cells are ``SEX`` × ``SOURCE`` and ``balance_outcome=True``
raises the ``in`` cell of each sex to its ``out`` cell (outcome balanced, as in the
paper). The CDDPM is trained on the imbalanced part only.

Usage::

    python benchmarks/mcrage_paper.py [--seeds 5] [--preset standard] [--train-steps N]

The last line of output is a JSON object ``{strategy: {f1, accuracy, auroc}}`` (means).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from mcrage_core.diffusion import CDDPMConfig  # noqa: E402
from mcrage_core.rebalance import AugmentContext, get_strategy, plan_augmentation  # noqa: E402
from mcrage_core.tables import load_table  # noqa: E402

DATA = ROOT / "sample_data" / "patient_treatment.csv"
TARGET = "SOURCE"
POSITIVE = "in"
STRATEGIES = ("original", "imbalanced", "oversample", "smote", "cddpm")


def make_forest(features: list[str], categorical: list[str], seed: int):
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    numeric = [c for c in features if c not in categorical]
    prep = ColumnTransformer(
        [
            ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), categorical),
            ("num", "passthrough", numeric),
        ]
    )
    return Pipeline([("prep", prep), ("rf", RandomForestClassifier(random_state=seed, n_jobs=1))])


def imbalance(train: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Keep 90 % of the ``out`` and 10 % of the ``in`` rows (the authors' recipe)."""
    out_rows = train[train[TARGET] == 0].sample(frac=0.9, random_state=seed)
    in_rows = train[train[TARGET] == 1].sample(frac=0.1, random_state=seed)
    return pd.concat([out_rows, in_rows]).sort_index()


def score(model, test: pd.DataFrame, features: list[str]) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

    proba = model.predict_proba(test[features])[:, 1]
    pred = (proba >= 0.5).astype(int)
    y = test[TARGET].to_numpy()
    return {
        "f1": float(f1_score(y, pred, zero_division=0)),
        "accuracy": float(accuracy_score(y, pred)),
        "auroc": float(roc_auc_score(y, proba)),
    }


def t_interval(values: list[float]) -> tuple[float, float]:
    from scipy import stats

    v = np.asarray(values, dtype=float)
    if len(v) < 2 or v.std(ddof=1) == 0:
        return (math.nan, math.nan)
    return tuple(
        float(x)
        for x in stats.t.interval(
            0.95, len(v) - 1, loc=v.mean(), scale=v.std(ddof=1) / math.sqrt(len(v))
        )
    )


def main(argv: list[str] | None = None) -> int:
    from sklearn.model_selection import train_test_split

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5, help="repetitions (default 5)")
    parser.add_argument("--preset", default="standard", choices=("quick", "standard", "thorough"))
    parser.add_argument("--train-steps", type=int, help="override the preset's training steps")
    parser.add_argument("--hidden", type=int, help="override the preset's hidden width")
    parser.add_argument("--depth", type=int, help="override the preset's number of blocks")
    parser.add_argument("--batch-size", type=int, help="override the preset's batch size")
    parser.add_argument("--sampling-steps", type=int, help="DDIM steps (default: the model's)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--tiny", action="store_true", help="smoke test: a tiny diffusion model")
    args = parser.parse_args(argv)

    df = load_table(DATA)
    df[TARGET] = (df[TARGET].astype(str) == POSITIVE).astype(int)
    features = [c for c in df.columns if c != TARGET]
    categorical = ["SEX"]
    config = CDDPMConfig.preset(args.preset, device=args.device)
    overrides = {}
    if args.train_steps:
        overrides["train_steps"] = args.train_steps
    if args.hidden:
        overrides["hidden"] = args.hidden
    if args.depth:
        overrides["depth"] = args.depth
    if args.batch_size:
        overrides["batch_size"] = args.batch_size
    if args.tiny:
        overrides.update(hidden=32, depth=1, train_steps=50, timesteps=100, sampling_steps=5)
    config = config.with_overrides(checkpoint_every=0, **overrides)
    print(f"CDDPM config: {json.dumps(config.to_dict())}", flush=True)

    results: dict[str, list[dict[str, float]]] = {s: [] for s in STRATEGIES}
    for i in range(args.seeds):
        seed = 1 + i
        t0 = time.monotonic()
        train, test = train_test_split(df, test_size=0.2, random_state=seed)
        imb = imbalance(train, seed)
        sets: dict[str, pd.DataFrame] = {"original": train, "imbalanced": imb}
        plan = plan_augmentation(imb, rebalance=["SEX"], target=TARGET, balance_outcome=True)
        started = time.monotonic()
        last = [0.0]

        def progress(event, started=started, last=last) -> None:  # noqa: ANN001
            now = time.monotonic()
            if now - last[0] > 30:
                last[0] = now
                print(
                    f"  [{now - started:5.0f} s] {event.stage} step {event.step}/{event.total_steps}"
                    f" loss {event.loss}",
                    file=sys.stderr,
                    flush=True,
                )

        context = AugmentContext(
            target=TARGET,
            features=tuple(features),
            rebalance=("SEX",),
            seed=seed,
            cddpm_config=config.with_overrides(seed=seed),
            sampling_steps=args.sampling_steps,
            progress=progress,
        )
        timings = {}
        for name in ("oversample", "smote", "cddpm"):
            t1 = time.monotonic()
            sets[name] = get_strategy(name).augment(imb, plan, context=context).train
            timings[name] = round(time.monotonic() - t1, 1)
        for name in STRATEGIES:
            model = make_forest(features, categorical, seed)
            model.fit(sets[name][features], sets[name][TARGET].to_numpy())
            results[name].append(score(model, test, features))
        counts = {
            k: f"{int((v[TARGET] == 0).sum())} out / {int((v[TARGET] == 1).sum())} in"
            for k, v in sets.items()
        }
        print(
            f"seed {seed}: {time.monotonic() - t0:.0f} s (augment {timings}); training sets {counts}; "
            + "; ".join(f"{k} F1 {results[k][-1]['f1']:.3f}" for k in STRATEGIES),
            flush=True,
        )

    print(
        f"\n{'training set':<12} {'F1 (95% CI)':>24} {'accuracy (95% CI)':>24} {'AUROC (95% CI)':>24}"
    )
    summary: dict[str, dict[str, float]] = {}
    for name in STRATEGIES:
        cells = []
        summary[name] = {}
        for metric in ("f1", "accuracy", "auroc"):
            vals = [r[metric] for r in results[name]]
            mean = float(np.mean(vals))
            lo, hi = t_interval(vals)
            summary[name][metric] = round(mean, 4)
            cells.append(f"{mean:.3f} ({lo:.3f}-{hi:.3f})" if np.isfinite(lo) else f"{mean:.3f}")
        print(f"{name:<12} {cells[0]:>24} {cells[1]:>24} {cells[2]:>24}")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
