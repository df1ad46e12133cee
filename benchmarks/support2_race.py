"""Race rebalancing on SUPPORT2: does MCRAGE help the worst-off race group?

Runs :func:`mcrage_core.evaluation.pipeline.run_audit` on ``sample_data/support2.csv`` (outcome
``died_within_6_months``, rebalanced attribute ``race``, evaluated by race, sex and age
band) with every strategy, then prints for each strategy the worst-race-group F1 and
AUROC and the equalized odds difference (race), each with its bootstrap 95 % interval
and its change against the baseline (paired bootstrap interval). Groups with fewer than
``--small-group`` test rows are left out of these numbers (they are listed).

Usage::

    python benchmarks/support2_race.py [--seeds 3] [--preset quick|standard]
        [--classifier hgb] [--sampling-steps N] [--out DIR]

With ``--out`` the results.json and report.html are written there. The last line of
output is a JSON object ``{strategy: {worst_group_f1, worst_group_auroc,
equalized_odds_difference, ... with _ci_low/_ci_high/_delta}}`` plus ``seconds``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from mcrage_core.evaluation import STAT_SUFFIXES, AuditConfig, run_audit  # noqa: E402
from mcrage_core.presentation.report import plain_summary, render_report  # noqa: E402
from mcrage_core.tables import infer_schema, load_table  # noqa: E402
from mcrage_core.util import to_jsonable  # noqa: E402

DATA = ROOT / "sample_data" / "support2.csv"
TARGET = "died_within_6_months"
METRICS = ("worst_group_f1", "worst_group_auroc", "equalized_odds_difference")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--preset", default="quick", choices=("quick", "standard", "thorough"))
    parser.add_argument("--classifier", default="hgb", choices=("logreg", "rf", "hgb"))
    parser.add_argument("--sampling-steps", type=int, default=None)
    parser.add_argument("--bootstrap", type=int, default=200)
    parser.add_argument("--small-group", type=int, default=30)
    parser.add_argument("--plan", default="max", choices=("max", "share"))
    parser.add_argument("--share", type=float, default=None)
    parser.add_argument("--balance-outcome", action="store_true")
    parser.add_argument("--strategies", default="none,oversample,smote,reweigh,cddpm,threshold")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)

    t0 = time.monotonic()
    data, schema = infer_schema(load_table(DATA), target=TARGET)
    config = AuditConfig(
        TARGET,
        sensitive=("race", "sex", "age"),
        rebalance=("race",),
        strategies=tuple(args.strategies.split(",")),
        classifier=args.classifier,
        seeds=args.seeds,
        n_bootstrap=args.bootstrap,
        small_group=args.small_group,
        plan_mode=args.plan,
        plan_share=args.share,
        balance_outcome=args.balance_outcome,
        cddpm_preset=args.preset,
        sampling_steps=args.sampling_steps,
    )
    last = [0.0]

    def progress(event) -> None:  # noqa: ANN001
        now = time.monotonic()
        if event.step is None or now - last[0] > 30:
            last[0] = now
            print(
                f"[{now - t0:6.0f} s {100 * event.fraction:5.1f} %] {event.stage}",
                file=sys.stderr,
                flush=True,
            )

    results = run_audit(data, schema, config, progress=progress)
    seconds = time.monotonic() - t0
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "results.json").write_text(results.to_json(), encoding="utf-8")
        (args.out / "report.html").write_text(
            render_report(results, title="SUPPORT2 race rebalancing"), encoding="utf-8"
        )

    d = results.disparity
    d = d[d["attribute"] == "race"]
    excluded = d["excluded_groups"].iloc[0] if len(d) else ""
    print(
        f"\nSUPPORT2, rebalanced by race; {config.seeds} seed(s); classifier {args.classifier}; "
        f"CDDPM preset {args.preset}; groups left out (< {args.small_group} test rows): "
        f"{excluded or 'none'}; {seconds:.0f} s"
    )
    print(f"{'strategy':<11}" + "".join(f"{m:>44}" for m in METRICS))
    out: dict[str, dict[str, float]] = {}
    for strategy in results.strategies:
        rows = d[d["strategy"] == strategy].set_index("metric")
        cells = []
        out[strategy] = {}
        for m in METRICS:
            r = rows.loc[m]
            cell = f"{r['value']:.3f} ({r['ci_low']:.3f}-{r['ci_high']:.3f})"
            if strategy != "none":
                cell += f" Δ{r['delta']:+.3f} ({r['delta_ci_low']:+.3f},{r['delta_ci_high']:+.3f})"
            cells.append(cell)
            for key in ("value", *STAT_SUFFIXES):
                out[strategy][m if key == "value" else f"{m}_{key}"] = r[key]
        overall = results.overall(strategy)
        out[strategy].update({f"overall_{k}": overall[k] for k in ("f1", "auroc", "accuracy")})
        print(f"{strategy:<11}" + "".join(f"{c:>44}" for c in cells))
    if results.fidelity:
        print("CDDPM fidelity:", json.dumps(to_jsonable(results.fidelity["overall"])))
    print("timings (s):", json.dumps(results.timings))
    print(plain_summary(results))
    for w in results.warnings:
        print("warning:", w)
    print(json.dumps(to_jsonable({**out, "seconds": round(seconds, 1)})))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
