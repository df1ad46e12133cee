"""``mcrage audit`` on every real clinical table of ``tests/data/real`` (the corpus).

Each table of ``MANIFEST.json`` is audited once, in-process through the CLI
(:func:`mcrage_core.cli.main`), with a tiny diffusion model and every strategy::

    mcrage audit FILE --target T --positive-class P --sensitive S... --rebalance R
        --quick --train-steps 30 --sampling-steps 5 --bootstrap 20
        --strategies none,oversample,smote,reweigh,cddpm,threshold --out DIR
        [--labels COL=code:label,...]  [--merge-below 20]

and the files it writes are checked against the user's own CSV, read as raw text.

=================  =======================================================================
file               what it exercises
=================  =======================================================================
actg320.csv        numeric race codes 1-5 with two tiny groups (14, 11 rows: merged with
                   --merge-below 20, and the merged cells blocked by the privacy guardrail);
                   sex coded 1/2; rare outcome (8.3 %); labels for race and sex; a label for
                   a code that never occurs (6)
whas500.csv        sex coded 0/1 with labels; numeric 0/1 outcome; ages written ``83.0``
flchain.csv        text outcome alive/dead; sex coded by letters F/M with labels; missing
                   values in feature columns; 7.9k rows (a float written with more decimals
                   after the first 2000 rows)
actg175.csv        race and sex coded 0/1 with labels; a column with an empty header and an
                   identifier (dropped, listed in the sidecar); a constant column (kept as
                   its constant); ``NA`` markers; 28 columns
birthwt.csv        race codes 1/2/3 with labels; the smallest table (189 rows)
icu.csv            text race with two tiny groups (15, 10 rows; --merge-below 20: then every
                   planned cell is blocked, so no synthetic rows); text sex; outcome Yes/No;
                   a column empty in 185 of 200 rows
helprct.csv        text race with four groups; yes/no outcome missing in 22 rows (the test
                   rows and real training rows must be exactly the 431 rows with an
                   outcome); labels for a non-sensitive coded column (female 0/1); whole
                   numbers with missing values; floats written with 13 decimals
covid_testing.csv  three-valued text outcome (made binary: positive vs the rest; synthetic
                   negatives are written as the input's commonest other value); rare
                   outcome (5.6 %); fake names dropped as direct identifiers; 15.5k rows
=================  =======================================================================

None of the eight tables is too small to audit, so every case must exit with status 0
(``EXPECT_REFUSAL`` is empty; :func:`test_corpus_tables_are_large_enough` checks that
claim from the data). A refusal would have to be exit status 2 with exactly one
``error: ...`` line and no traceback.

Invariants checked per table (each a parametrized case):

* exit status 0 (or a clean refusal as above), stdout's last line is a JSON summary;
* ``synthetic.csv`` and ``augmented_train.csv`` (minus ``source``) have exactly the input
  columns minus the sidecar's ``dropped_columns``, in the input's order, no helper columns;
* the outcome and every sensitive column are never blank in a synthetic row when they are
  never blank in the input;
* outcome values and coded/categorical sensitive values are the input's own texts
  (``Yes``/``No`` never become ``1``/``0``; race ``4`` stays ``4`` even with labels), and
  labels never reach the files;
* columns written as whole numbers stay whole numbers (``12``, not ``12.0``); a constant
  column keeps its constant in every row;
* synthetic rows per (rebalance group, outcome) equal the plan's ``n_add`` for unblocked
  cells; the sidecar's ``n_rows`` is the file's length; groups are reported by the
  input's values or their labels (never ``1.0``);
* real rows of ``augmented_train.csv`` + test rows (``test_index``) = the input rows that
  have an outcome, as a multiset of row texts, without overlap;
* ``report.html`` (scripts removed) shows no number with 7+ decimals and no nan/None cell,
  and shows the value labels (``White Non-Hispanic``...) in its tables.

The label texts of the manifest are passed through ``--labels``, whose syntax separates
codes by commas, so commas inside a manifest label are replaced by ``/`` (for example
``Asian, Pacific Islander`` → ``Asian/ Pacific Islander``): the CLI has no way to quote
them. Each audit's time is printed by :func:`test_timing_is_recorded`.
"""

from __future__ import annotations

import contextlib
import io
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from robustness_contract import (
    check_cell_counts,
    check_columns,
    check_constants,
    check_filled,
    check_group_names,
    check_real_partition,
    check_report,
    check_values_subset,
    check_whole_numbers,
    is_blank,
    read_text,
)

from mcrage_core.cli import main
from mcrage_core.tables.groups import code_key

pytestmark = pytest.mark.slow

CORPUS = Path(__file__).resolve().parents[1] / "data" / "real"
MANIFEST = json.loads((CORPUS / "MANIFEST.json").read_text(encoding="utf-8"))
STRATEGIES = "none,oversample,smote,reweigh,cddpm,threshold"
MERGE_BELOW = 20
MIN_TEST_ROWS = 5  # the CLI default of --min-test-rows
TEST_SHARE = 0.25  # the CLI default of --test-size

EXERCISES = {
    "actg320.csv": "race codes 1-5 with tiny groups (merged), sex 1/2, rare outcome, labels",
    "whas500.csv": "sex 0/1 with labels, 0/1 outcome, ages written 83.0",
    "flchain.csv": "alive/dead outcome, sex F/M with labels, missing features, 7.9k rows",
    "actg175.csv": "race/sex 0/1 with labels, empty header + id dropped, constant column, NA",
    "birthwt.csv": "race 1/2/3 with labels, smallest table (189 rows)",
    "icu.csv": "text race with tiny groups (merged), text sex, Yes/No outcome",
    "helprct.csv": "text race, yes/no outcome missing in 22 rows, labels on a non-sensitive column",
    "covid_testing.csv": "3-valued text outcome, rare outcome, fake names dropped, 15.5k rows",
}
MERGE = {"actg320.csv", "icu.csv"}  # tables whose rebalanced column has a group < 20 rows
EXPECT_REFUSAL: set[str] = set()  # no table of the corpus is too small to audit


@dataclass
class Outcome:
    """What one CLI run produced."""

    entry: dict[str, Any]
    code: int
    stdout: str
    stderr: str
    out: Path
    seconds: float
    labels: dict[str, dict[str, str]]

    @property
    def name(self) -> str:
        return self.entry["file"]


def cli_labels(entry: dict[str, Any]) -> dict[str, dict[str, str]]:
    """The manifest's labels as the CLI can take them (no comma inside a label)."""
    return {
        col: {code: label.replace(",", "/") for code, label in mapping.items()}
        for col, mapping in (entry.get("labels") or {}).items()
    }


def cli_args(entry: dict[str, Any], out: Path) -> list[str]:
    args = [
        "audit",
        str(CORPUS / entry["file"]),
        "--target",
        entry["target"],
        "--positive-class",
        str(entry["positive_class"]),
    ]
    for col in entry["sensitive"]:
        args += ["--sensitive", col]
    args += ["--rebalance", entry["rebalance"]]
    args += [
        "--quick",
        "--train-steps",
        "30",
        "--sampling-steps",
        "5",
        "--bootstrap",
        "20",
        "--strategies",
        STRATEGIES,
        "--out",
        str(out),
    ]
    for col, mapping in cli_labels(entry).items():
        args += ["--labels", f"{col}=" + ",".join(f"{c}:{lab}" for c, lab in mapping.items())]
    if entry["file"] in MERGE:
        args += ["--merge-below", str(MERGE_BELOW)]
    return args


@pytest.fixture(scope="module", params=MANIFEST, ids=[e["file"] for e in MANIFEST])
def run(request, tmp_path_factory) -> Outcome:
    entry = request.param
    out = tmp_path_factory.mktemp(entry["file"].split(".")[0]) / "audit"
    stdout, stderr = io.StringIO(), io.StringIO()
    t0 = time.monotonic()
    with (
        pytest.MonkeyPatch.context() as mp,
        contextlib.redirect_stdout(stdout),
        contextlib.redirect_stderr(stderr),
    ):
        mp.delenv("MCRAGE_DEBUG", raising=False)
        code = main(cli_args(entry, out))
    return Outcome(
        entry=entry,
        code=code,
        stdout=stdout.getvalue(),
        stderr=stderr.getvalue(),
        out=out,
        seconds=time.monotonic() - t0,
        labels=cli_labels(entry),
    )


def _succeeded(run: Outcome) -> None:
    if run.code != 0:
        pytest.fail(f"{run.name}: exit status {run.code}; stderr tail:\n{run.stderr[-2000:]}")


def _input(run: Outcome):
    return read_text(CORPUS / run.name)


def _results(run: Outcome) -> dict[str, Any]:
    return json.loads((run.out / "results.json").read_text(encoding="utf-8"))


def _outputs(run: Outcome):
    synthetic = read_text(run.out / "synthetic.csv")
    augmented = read_text(run.out / "augmented_train.csv")
    sidecar = json.loads((run.out / "synthetic.columns.json").read_text(encoding="utf-8"))
    return synthetic, augmented, sidecar


def _categorical_columns(run: Outcome, results: dict[str, Any]) -> list[str]:
    """Outcome, every sensitive column evaluated as groups (not by age band), and every
    labelled (coded) column."""
    attrs = results["dataset"]["attributes"]
    banded = {src for g, src in attrs.items() if g.endswith("_band")}
    cols = [run.entry["target"]]
    cols += [c for c in run.entry["sensitive"] if c not in banded]
    cols += list(run.labels)
    return list(dict.fromkeys(cols))


# --------------------------------------------------------------------------- the tests


def test_corpus_manifest_matches_the_files():
    assert len(MANIFEST) == 8
    for entry in MANIFEST:
        table = read_text(CORPUS / entry["file"])
        assert table.shape == (entry["n_rows"], entry["n_cols"]), entry["file"]
        assert entry["target"] in table.columns and entry["rebalance"] in entry["sensitive"]
        assert entry["file"] in EXERCISES


def test_corpus_tables_are_large_enough():
    """The expected exit status (0 for all) rests on the data: with a 25 % test share
    every table holds more than ``MIN_TEST_ROWS`` test rows of each outcome and two groups
    of the rebalanced column (after merging groups under 20 rows where ``--merge-below``
    is passed) with more than that many test rows (one row of slack for rounding).
    Without merging, icu.csv would be refused (Black 15 and Other 10 rows: 3-4 test rows)."""
    for entry in MANIFEST:
        table = read_text(CORPUS / entry["file"])
        y = table[entry["target"]]
        y = y[~y.map(is_blank)]
        n_pos = int((y == str(entry["positive_class"])).sum())
        n_neg = len(y) - n_pos
        groups = table.loc[y.index, entry["rebalance"]].value_counts()
        merge = bool((groups < MERGE_BELOW).any())
        assert merge == (entry["file"] in MERGE), f"{entry['file']}: groups {dict(groups)}"
        if merge:
            small = groups[groups < MERGE_BELOW]
            groups = groups[groups >= MERGE_BELOW]
            groups["other (merged)"] = int(small.sum())
        enough = MIN_TEST_ROWS + 1
        big_groups = int((groups * TEST_SHARE >= enough).sum())
        large = min(n_pos, n_neg) * TEST_SHARE >= enough and big_groups >= 2
        assert large != (entry["file"] in EXPECT_REFUSAL), (
            f"{entry['file']}: {n_pos} positives, {n_neg} negatives, groups "
            f"{dict(groups)}: large enough = {large}"
        )


def test_exit_status_and_messages(run):
    lines = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert "Traceback" not in run.stderr, f"{run.name}: traceback on stderr"
    if run.name in EXPECT_REFUSAL:
        assert run.code == 2, f"{run.name}: expected a refusal, got exit status {run.code}"
        assert len(lines) == 1, f"{run.name}: {len(lines)} error lines: {lines}"
        return
    _succeeded(run)
    assert not lines, f"{run.name}: error lines on success: {lines}"
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    assert set(summary["strategies"]) == set(STRATEGIES.split(","))
    for name in ("results.json", "report.html", "synthetic.csv", "augmented_train.csv"):
        assert (run.out / name).is_file(), f"{run.name}: {name} was not written"
    assert (run.out / "synthetic.columns.json").is_file()


def test_output_columns(run):
    _succeeded(run)
    synthetic, augmented, sidecar = _outputs(run)
    check_columns(run.name, _input(run), synthetic, augmented, sidecar)
    for col in [run.entry["target"], *run.entry["sensitive"]]:
        assert col in sidecar["columns"], f"{run.name}: {col!r} left out of the outputs"


def test_synthetic_rows_are_filled(run):
    _succeeded(run)
    synthetic, augmented, _ = _outputs(run)
    planned = [r for r in _results(run)["plan"] if r["n_add"] > 0 and not r.get("blocked")]
    if planned:  # icu.csv: every planned cell is blocked by the guardrail, so no rows
        assert len(synthetic) > 0, f"{run.name}: no synthetic rows for the plan {planned}"
    cols = [run.entry["target"], *run.entry["sensitive"]]
    check_filled(run.name, _input(run), synthetic, cols)
    check_filled(run.name, _input(run), augmented[augmented["source"] == "synthetic"], cols)


def test_outcome_and_codes_keep_the_input_values(run):
    _succeeded(run)
    synthetic, augmented, _ = _outputs(run)
    results = _results(run)
    table = _input(run)
    cols = _categorical_columns(run, results)
    check_values_subset(run.name, table, synthetic, cols, what="synthetic.csv")
    check_values_subset(run.name, table, augmented, cols, what="augmented_train.csv")
    target = run.entry["target"]
    # the outcomes generated are those the plan asked for
    plan = [r for r in results["plan"] if not r.get("blocked") and r["n_add"] > 0]
    planned = {str(r[target]) for r in plan}
    assert {str(v) for v in synthetic[target]} == planned, (
        f"{run.name}: synthetic outcomes {sorted(set(synthetic[target]))} != planned {planned}"
    )
    # the labels never leak into the files (codes are kept)
    for col, mapping in run.labels.items():
        texts = {label for code, label in mapping.items() if label != code}
        for frame, what in ((synthetic, "synthetic.csv"), (augmented, "augmented_train.csv")):
            leaked = sorted(texts & set(frame[col]))
            assert not leaked, f"{run.name}: {what} column {col!r} holds labels {leaked}"


def test_whole_numbers_stay_whole(run):
    """Columns written as whole numbers in the input (``12``) are never written ``12.0``."""
    _succeeded(run)
    synthetic, augmented, _ = _outputs(run)
    table = _input(run)
    check_whole_numbers(run.name, table, synthetic, what="synthetic.csv")
    real = augmented.drop(columns="source")
    check_whole_numbers(run.name, table, real, what="augmented_train.csv")


def test_constant_columns_keep_their_constant(run):
    """actg175.csv: ``zprior`` is 1 in every row; it is not modelled but must be written
    as 1 in every synthetic row, not left blank."""
    _succeeded(run)
    synthetic, augmented, _ = _outputs(run)
    table = _input(run)
    check_constants(run.name, table, synthetic, what="synthetic.csv")
    check_constants(run.name, table, augmented.drop(columns="source"), what="augmented_train.csv")


def test_cell_counts_follow_the_plan(run):
    _succeeded(run)
    synthetic, _, sidecar = _outputs(run)
    results = _results(run)
    notes = results.get("strategy_notes", {}).get("cddpm", [])
    check_cell_counts(run.name, synthetic, sidecar, results, notes)
    check_group_names(run.name, _input(run), results)
    augmented_synthetic = int(
        (read_text(run.out / "augmented_train.csv")["source"] == "synthetic").sum()
    )
    assert augmented_synthetic == len(synthetic)
    assert sidecar["augmented_train_rows"] == results["dataset"]["n_train"] + len(synthetic)


def test_test_rows_are_real_and_disjoint(run):
    _succeeded(run)
    synthetic, augmented, sidecar = _outputs(run)
    results = _results(run)
    test_index = next(iter(results["test_index"].values()))  # the first fold's
    assert set(results["test_index"]) == {
        f"{s}/{k + 1}"
        for s in results["dataset"]["seeds"]
        for k in range(results["dataset"]["folds"])
    }
    assert len(test_index) == results["dataset"]["n_test"]
    check_real_partition(
        run.name, _input(run), augmented, sidecar["columns"], run.entry["target"], test_index
    )


def test_report_is_clean_and_labelled(run):
    _succeeded(run)
    results = _results(run)
    table = _input(run)
    merged = {g for groups in results["dataset"].get("merged_groups", {}).values() for g in groups}
    expected = []
    for col, mapping in run.labels.items():
        if col not in run.entry["sensitive"]:
            continue
        present = {code_key(v) for v in table[col] if not is_blank(v)}
        expected += [lab for code, lab in mapping.items() if code in present and lab not in merged]
    page = (run.out / "report.html").read_text(encoding="utf-8")
    check_report(run.name, page, expected)
    if expected:
        assert results["dataset"]["value_labels"], f"{run.name}: labels not recorded"


def test_timing_is_recorded(run, record_property):
    """Not a speed limit: records each table's audit time in the JUnit XML/console."""
    record_property("audit_seconds", round(run.seconds, 1))
    print(f"{run.name}: audit took {run.seconds:.1f} s")
