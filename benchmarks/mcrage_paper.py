"""Reproduce the MCRAGE authors' experiment on the patient-treatment EHR table, with the
authors' own classifier.

Protocol (as in the authors' code, see /work/shared/datasets/README.md): 80/20 split
(``random_state=1`` for the first seed, then 2, 3, ...); the training part is made
imbalanced by keeping 90 % of its ``out`` rows and 10 % of its ``in`` rows; the test
part is untouched. A random forest is trained on

* ``original``   – the full training part,
* ``imbalanced`` – the imbalanced training part,
* ``oversample`` – imbalanced + random copies of ``in`` rows,
* ``smote``      – imbalanced + SMOTE-NC ``in`` rows,
* ``cddpm``      – imbalanced + MCRAGE (conditional diffusion) ``in`` rows,

and scored on the test part with ``in`` as the positive class (AUROC from predicted
probabilities). The forest is the authors' (their notebook
``Conditional_ORI/DDPM_Random_Forest.ipynb``: 80 trees, depth 4, at least 20 rows to
split and 10 per leaf); ``--forest default`` is scikit-learn's default forest (100
unlimited trees, which memorise duplicated rows), ``--forest both`` (the default) runs
both on the same augmented sets. The three augmenters share one plan: the diffusion
model needs a condition column, so the cells are ``SEX`` × ``SOURCE`` and
``balance_outcome=True`` raises the ``in`` cell of each sex to its ``out`` cell.

**The CDDPM setting is chosen without the test rows**: on seed 1's imbalanced training
part, 25 % (stratified by outcome) is held out as a validation part; each candidate
setting is trained on the other 75 %, the authors' forest is fitted on that part plus
the candidate's rows, and the candidate with the best validation F1 is used for every
seed (trained afresh on each seed's whole imbalanced training part).

Usage::

    python benchmarks/mcrage_paper.py [--seeds 10] [--forest both] [--out DIR]

Writes ``DIR/paper.json`` and ``DIR/paper.md``; the last line of output is the JSON
summary ``{forest: {strategy: {f1, accuracy, auroc}}}`` (means).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

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
AUTHORS_FOREST = {
    "n_estimators": 80,
    "max_depth": 4,
    "min_samples_split": 20,
    "min_samples_leaf": 10,
}
FORESTS = {"authors": AUTHORS_FOREST, "default": {}}
FOREST_LABELS = {
    "authors": "the authors' forest (80 trees, depth 4, min split 20, min leaf 10)",
    "default": "scikit-learn's default forest (100 trees, unlimited depth)",
}
CANDIDATES: dict[str, dict[str, Any]] = {
    "quick (about 1 min, early stopping)": {},
    "quick, 1,500 steps": {"steps": 1500},
    "quick, 400 steps": {"steps": 400},
}
VALIDATION_SHARE = 0.25


def make_forest(features: list[str], categorical: list[str], seed: int, forest: str = "authors"):
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
    rf = RandomForestClassifier(random_state=seed, n_jobs=1, **FORESTS[forest])
    return Pipeline([("prep", prep), ("rf", rf)])


def imbalance(train: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Keep 90 % of the ``out`` and 10 % of the ``in`` rows (the authors' recipe)."""
    out_rows = train[train[TARGET] == 0].sample(frac=0.9, random_state=seed)
    in_rows = train[train[TARGET] == 1].sample(frac=0.1, random_state=seed)
    return pd.concat([out_rows, in_rows]).sort_index()


def validation_split(imb: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The part a CDDPM candidate is trained on and the validation part (rows of ``imb``
    only: the test part is never seen), stratified by outcome."""
    from sklearn.model_selection import train_test_split

    fit, val = train_test_split(
        imb, test_size=VALIDATION_SHARE, random_state=seed, stratify=imb[TARGET]
    )
    return fit.sort_index(), val.sort_index()


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
    low, high = stats.t.interval(
        0.95, len(v) - 1, loc=v.mean(), scale=v.std(ddof=1) / math.sqrt(len(v))
    )
    return float(low), float(high)


def cddpm_config(candidate: dict[str, Any], seed: int, device: str) -> CDDPMConfig:
    config = CDDPMConfig.preset("quick", device=device)
    if candidate.get("steps"):
        config = config.with_steps(int(candidate["steps"]))
    return config.with_overrides(checkpoint_every=0, seed=seed)


def augment(
    imb: pd.DataFrame, features: list[str], seed: int, config: CDDPMConfig
) -> dict[str, pd.DataFrame]:
    """The three augmented training sets of ``imb`` (one shared plan)."""
    plan = plan_augmentation(imb, rebalance=["SEX"], target=TARGET, balance_outcome=True)
    context = AugmentContext(
        target=TARGET, features=tuple(features), rebalance=("SEX",), seed=seed, cddpm_config=config
    )
    return {
        name: get_strategy(name).augment(imb, plan, context=context).train
        for name in ("oversample", "smote", "cddpm")
    }


def choose_setting(df: pd.DataFrame, features: list[str], device: str) -> dict[str, Any]:
    """Validation F1 of every candidate on seed 1 (never the test rows); the best one."""
    from sklearn.model_selection import train_test_split

    train, _ = train_test_split(df, test_size=0.2, random_state=1)
    fit, val = validation_split(imbalance(train, 1), 1)
    scores = {}
    for name, candidate in CANDIDATES.items():
        t0 = time.monotonic()
        rows = augment(fit, features, 1, cddpm_config(candidate, 1, device))["cddpm"]
        model = make_forest(features, ["SEX"], 1, "authors")
        model.fit(rows[features], rows[TARGET].to_numpy())
        scores[name] = score(model, val, features)["f1"]
        print(f"  candidate {name}: validation F1 {scores[name]:.3f} "
              f"({time.monotonic() - t0:.0f} s)", flush=True)  # fmt: skip
    best = max(scores, key=lambda k: scores[k])
    return {"validation_f1": scores, "chosen": best, "n_fit": len(fit), "n_validation": len(val)}


def run_seed(df: pd.DataFrame, features: list[str], seed: int, config: CDDPMConfig, forests):
    from sklearn.model_selection import train_test_split

    train, test = train_test_split(df, test_size=0.2, random_state=seed)
    imb = imbalance(train, seed)
    sets = {"original": train, "imbalanced": imb, **augment(imb, features, seed, config)}
    out: dict[str, dict[str, dict[str, float]]] = {}
    for forest in forests:
        out[forest] = {}
        for name in STRATEGIES:
            model = make_forest(features, ["SEX"], seed, forest)
            model.fit(sets[name][features], sets[name][TARGET].to_numpy())
            out[forest][name] = score(model, test, features)
    return out


def summarise(per_seed: list[dict[str, Any]], forest: str) -> tuple[dict[str, Any], list[str]]:
    """Means with 95 % t-intervals over seeds, and the paired differences of CDDPM."""
    rows = [f"**{FOREST_LABELS[forest]}**", "", "| training set | F1 | accuracy | AUROC |",
            "|---|---|---|---|"]  # fmt: skip
    summary: dict[str, Any] = {}
    for name in STRATEGIES:
        cells, summary[name] = [], {}
        for metric in ("f1", "accuracy", "auroc"):
            vals = [s[forest][name][metric] for s in per_seed]
            lo, hi = t_interval(vals)
            summary[name][metric] = round(float(np.mean(vals)), 4)
            summary[name][f"{metric}_ci"] = [round(lo, 4), round(hi, 4)]
            cells.append(f"{np.mean(vals):.3f} ({lo:.3f}–{hi:.3f})")
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    rows += [
        "",
        "| paired difference (F1) | mean | 95 % CI | CDDPM better in |",
        "|---|---|---|---|",
    ]
    for other in ("oversample", "smote", "imbalanced"):
        diff = [s[forest]["cddpm"]["f1"] - s[forest][other]["f1"] for s in per_seed]
        lo, hi = t_interval(diff)
        summary[f"cddpm_minus_{other}_f1"] = [
            round(float(np.mean(diff)), 4),
            round(lo, 4),
            round(hi, 4),
        ]
        wins = sum(d > 0 for d in diff)
        rows.append(f"| CDDPM − {other} | {np.mean(diff):+.3f} | {lo:+.3f} to {hi:+.3f} | "
                    f"{wins} of {len(diff)} seeds |")  # fmt: skip
    return summary, rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=10, help="repetitions (default 10)")
    parser.add_argument("--forest", default="both", choices=("authors", "default", "both"))
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "_out" / "paper")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    df = load_table(DATA)
    df[TARGET] = (df[TARGET].astype(str) == POSITIVE).astype(int)
    features = [c for c in df.columns if c != TARGET]
    forests = ("authors", "default") if args.forest == "both" else (args.forest,)
    started = time.monotonic()
    print("Choosing the CDDPM setting on a validation part of seed 1's training part:")
    selection = choose_setting(df, features, args.device)
    candidate = CANDIDATES[selection["chosen"]]
    print(f"chosen: {selection['chosen']}", flush=True)
    per_seed = []
    for seed in range(1, args.seeds + 1):
        t0 = time.monotonic()
        config = cddpm_config(candidate, seed, args.device)
        per_seed.append(run_seed(df, features, seed, config, forests))
        f1 = {k: round(v["f1"], 3) for k, v in per_seed[-1][forests[0]].items()}
        print(
            f"seed {seed}: {time.monotonic() - t0:.0f} s; {forests[0]} forest F1 {f1}", flush=True
        )
    out, lines = {"selection": selection, "seeds": args.seeds}, []
    for forest in forests:
        out[forest], rows = summarise(per_seed, forest)
        lines += [*rows, ""]
    out["per_seed"] = per_seed
    out["wall_s"] = round(time.monotonic() - started, 1)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "paper.json").write_text(json.dumps(out, indent=2))
    (args.out / "paper.md").write_text("\n".join(lines))
    print("\n".join(lines))
    print(json.dumps({f: {s: {m: out[f][s][m] for m in ("f1", "accuracy", "auroc")}
                          for s in STRATEGIES} for f in forests}))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
