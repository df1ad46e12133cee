"""Property-based tests (hypothesis) of the audit on generated awkward tables.

Every generated table goes the way a user's file goes: CSV bytes →
:func:`mcrage_core.tables.io.load_table` → :func:`mcrage_core.tables.schema.infer_schema` →
:func:`mcrage_core.evaluation.pipeline.run_audit` (strategies none, oversample and cddpm with the
``"tiny"`` diffusion model, logistic regression, one seed, no bootstrap) →
:func:`mcrage_core.tables.records.synthetic_artefacts`.

The generator mixes, at random: 2 to 200 rows; race coded ``1``-``5`` (with or without
value labels, some of them unicode), written as unicode text (``Māori``, ``黒人``,
``Éthiopien``...) or a single group; groups of one row; missing race values; sex coded
``1``/``2``; outcomes ``Yes``/``No``, ``True``/``False``, ``0``/``1`` or ``dead``/``alive``
with 1 % to 50 % positives (so sometimes none at all), missing outcomes; an all-missing
column, a constant column, an identifier; and the settings ``allow_small_cells``,
``min_test_rows``, ``merge_below``.

Invariants:

* the audit either succeeds or raises :class:`~mcrage_core.errors.ConfigError` /
  :class:`~mcrage_core.errors.DataError` whose message is a plain sentence (no
  traceback, no internal names such as ``__rare__``, no scikit-learn wording; it names
  a column or says what to do) — never any other exception;
* :func:`~mcrage_core.evaluation.pipeline.preview_plan` agrees with the audit (same plan; its
  ``problem`` is the audit's refusal);
* on success, the output contract of :mod:`mcrage_core.tables.records` (see
  ``robustness_contract.py``): columns, filled sensitive/outcome values, the input's
  own outcome labels and codes, per-cell counts = plan, and test rows that are real rows
  never used for training;
* :func:`~mcrage_core.evaluation.pipeline.split_train_test` never fails for two rows or more, even
  with one-row strata (it used to crash with "The least populated classes in y have only
  1 member ... ['__rare__']"), and its two parts are disjoint and cover every row.

Runs deterministically (``derandomize=True``) so that CI is reproducible. Set
``MCRAGE_HYPOTHESIS=explore`` to search with fresh random examples and more of them.
"""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st
from robustness_contract import (
    check_cell_counts,
    check_columns,
    check_constants,
    check_filled,
    check_group_names,
    check_real_partition,
    check_values_subset,
    check_whole_numbers,
    load_outputs,
    read_text,
)

from mcrage_core.diffusion import CDDPMConfig
from mcrage_core.errors import ConfigError, DataError, MCRAGEError
from mcrage_core.evaluation import AuditConfig, preview_plan, run_audit, split_train_test
from mcrage_core.tables import infer_schema, load_table
from mcrage_core.tables.records import synthetic_artefacts

EXPLORE = os.environ.get("MCRAGE_HYPOTHESIS") == "explore"
COMMON = {
    "deadline": None,
    "database": None,  # no example database: a failing example is printed in full
    "derandomize": not EXPLORE,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
    "print_blob": True,
    # shrinking a failing audit takes many minutes; CI reports the example as found
    "phases": tuple(Phase) if EXPLORE else (Phase.explicit, Phase.reuse, Phase.generate),
}
AUDIT_EXAMPLES = 200 if EXPLORE else 48
FAST_EXAMPLES = 1000 if EXPLORE else 300

UNICODE_GROUPS = ("Māori", "黒人", "Éthiopien", "White", "Black or African American", "Other")
UNICODE_LABELS = ("White", "Māori", "黒人", "Éthiopien", "Asian, Pacific Islander")
OUTCOMES = {  # style -> (positive, negative)
    "yes/no": ("Yes", "No"),
    "true/false": ("True", "False"),
    "0/1": ("1", "0"),
    "text": ("dead", "alive"),
}
PREVALENCE = (0.01, 0.02, 0.05, 0.2, 0.3, 0.5, 0.5)
TARGET = "outcome"

# Words of a message that tells the user what to do.
_ACTION = re.compile(
    r"\b(choose|use|give|add|pick|name|merge|rebalance|include|remove|fill|allow|lower|"
    r"raise|check|export|select|set|try|drop|load|leave|make|need|needs|needed)\b",
    re.I,
)
_INTERNAL = (
    "Traceback",
    "__rare__",
    "least populated",
    "stratif",  # scikit-learn's split messages
    "KeyError",
    "IndexError",
    "dtype(",
    "<class ",
    "object at 0x",
    "Series(",
    "array(",
)
_NUMPY_REPR = re.compile(r"\bnp\.\w+|\bnumpy\.")  # np.int64(0), np.False_ in a message


# --------------------------------------------------------------------------- generator


@dataclass
class Scenario:
    """A generated table (as CSV bytes) with the settings of its audit."""

    raw: bytes
    sensitive: tuple[str, ...]
    positive: str
    labels: dict[str, dict[str, str]] = field(default_factory=dict)
    allow_small_cells: bool = False
    min_test_rows: int = 5
    merge_below: int = 0
    coded: tuple[str, ...] = ()

    def describe(self) -> str:
        head = self.raw.decode("utf-8").splitlines()
        return (
            f"sensitive={self.sensitive} positive={self.positive!r} labels={self.labels} "
            f"allow_small_cells={self.allow_small_cells} min_test_rows={self.min_test_rows} "
            f"merge_below={self.merge_below}; {len(head) - 1} rows; header {head[0]!r}"
        )


def _column(draw, n: int, values: list[str], *, blanks: int = 0) -> list[str]:
    """``n`` cells drawn from ``values`` (each value at least once while there is room),
    with ``blanks`` missing cells."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    weights = rng.dirichlet(np.ones(len(values)) * 0.7)
    cells = list(values[: min(len(values), n)])
    cells += list(rng.choice(values, size=n - len(cells), p=weights))
    rng.shuffle(cells)
    for i in rng.choice(n, size=min(blanks, n), replace=False):
        cells[int(i)] = ""
    return [str(c) for c in cells]


@st.composite
def scenarios(draw) -> Scenario:
    n = draw(st.sampled_from([2, 3, 10, 25, 60, 120, 120, 200, 200, 200]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    cols: dict[str, list[str]] = {}
    labels: dict[str, dict[str, str]] = {}
    coded: list[str] = []

    # race: coded, unicode text or one group; one-row groups and missing values
    race_style = draw(st.sampled_from(["coded", "coded", "unicode", "unicode", "single"]))
    if race_style == "coded":
        k = draw(st.integers(2, 5))
        codes = [str(c) for c in range(1, k + 1)]
        coded.append("race")
        if draw(st.booleans()):
            labels["race"] = {c: UNICODE_LABELS[i] for i, c in enumerate(codes)}
    elif race_style == "unicode":
        k = draw(st.integers(2, len(UNICODE_GROUPS)))
        codes = list(UNICODE_GROUPS[:k])
    else:
        codes = ["Éthiopien"]
    race_blanks = draw(st.sampled_from([0, 0, 1, 3]))
    race = _column(draw, n, codes, blanks=race_blanks if n > 3 else 0)
    if draw(st.booleans()) and n >= 10 and len(codes) > 1:  # a group of exactly one row
        solo = "9" if race_style == "coded" else "Solo ☃"
        race[int(rng.integers(n))] = solo
    cols["race"] = race
    sensitive = ["race"]

    if draw(st.booleans()):
        cols["sex"] = _column(draw, n, ["1", "2"], blanks=draw(st.sampled_from([0, 0, 2])))
        coded.append("sex")
        sensitive.append("sex")
        if draw(st.booleans()):
            labels["sex"] = {"1": "Male", "2": "Female"}
    cols["age"] = [str(a) for a in rng.integers(18, 96, n)]
    if draw(st.booleans()):
        sensitive.append("age")

    # the outcome: a style, a prevalence, maybe a few missing values
    positive, negative = OUTCOMES[draw(st.sampled_from(sorted(OUTCOMES)))]
    prevalence = draw(st.sampled_from(PREVALENCE))
    n_pos = int(round(prevalence * n))
    y = [positive] * n_pos + [negative] * (n - n_pos)
    rng.shuffle(y)
    if draw(st.booleans()) and n >= 10:
        for i in rng.choice(n, size=2, replace=False):
            y[int(i)] = ""
    cols[TARGET] = y

    # features: a lab value, a category, and awkward columns
    cols["lab"] = [f"{v:.{draw(st.integers(0, 3))}f}" for v in rng.normal(5, 2, n)]
    cols["ward"] = _column(draw, n, ["A", "B", "Intensive care", "Pédiatrie"])
    if draw(st.booleans()):
        cols["empty"] = [""] * n
    if draw(st.booleans()):
        cols["const"] = ["7"] * n
    if draw(st.booleans()):
        cols["patient_id"] = [str(1000 + i) for i in range(n)]

    order = list(cols)
    order = [order[i] for i in rng.permutation(len(order))]
    frame = pd.DataFrame({c: cols[c] for c in order})
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    return Scenario(
        raw=buffer.getvalue().encode("utf-8"),
        sensitive=tuple(sensitive),
        positive=positive,
        labels=labels,
        allow_small_cells=draw(st.booleans()),
        min_test_rows=draw(st.sampled_from([1, 1, 2, 5])),
        merge_below=draw(st.sampled_from([0, 0, 5])),
        coded=tuple(coded),
    )


# --------------------------------------------------------------------------- helpers


def assert_plain_error(exc: BaseException, columns: list[str]) -> None:
    """A refusal the user can act on: an MCRAGEError of the right kind with a plain,
    actionable sentence."""
    assert isinstance(exc, (ConfigError, DataError)), (
        f"expected ConfigError or DataError, got {type(exc).__name__}: {exc}"
    )
    msg = str(exc)
    assert msg.strip(), f"{type(exc).__name__} without a message"
    for bad in _INTERNAL:
        assert bad not in msg, f"internal detail {bad!r} in the message: {msg}"
    assert not _NUMPY_REPR.search(msg), f"a numpy repr in the message: {msg}"
    assert msg[0].isalpha(), f"the message does not start with a word: {msg}"
    names_column = any(f"'{c}'" in msg or f'"{c}"' in msg for c in columns)
    assert names_column or _ACTION.search(msg), (
        f"the message neither names a column nor says what to do: {msg}"
    )


def audit_config(sc: Scenario) -> AuditConfig:
    return AuditConfig(
        TARGET,
        sensitive=sc.sensitive,
        positive_class=sc.positive,
        rebalance=("race",),
        strategies=("none", "oversample", "cddpm"),
        classifier="logreg",
        seeds=1,
        folds=1,
        n_bootstrap=0,
        cddpm_config=CDDPMConfig.preset("tiny", device="cpu"),
        allow_small_cells=sc.allow_small_cells,
        min_test_rows=sc.min_test_rows,
        merge_below=sc.merge_below,
        value_labels=sc.labels or None,
    )


def run_scenario(sc: Scenario) -> tuple[Any, Any, Any, Any] | BaseException:
    """(results, data, schema, preview) or the exception the library raised."""
    try:
        df = load_table(sc.raw, filename="generated.csv")
        data, schema = infer_schema(
            df, target=TARGET, positive_class=sc.positive, sensitive=list(sc.sensitive)
        )
        config = audit_config(sc)
        preview = preview_plan(data, schema, config)
        results = run_audit(data, schema, config)
    except Exception as exc:  # noqa: BLE001 - the property is about which ones
        return exc
    return results, data, schema, preview


def check_success(sc: Scenario, results, data, schema, preview) -> None:
    """Every invariant of a successful audit; all of them are checked and every broken
    one is reported together (one failing example shows everything it breaks)."""
    name = "generated table"
    table = read_text(sc.raw)
    files = synthetic_artefacts(results, data, schema)
    synthetic, augmented, sidecar = load_outputs(files)
    assert augmented is not None, "cddpm ran but augmented_train.csv is missing"
    real_cols = augmented.drop(columns="source")
    payload = {"dataset": results.dataset, "plan": results.plan.to_dict(orient="records")}
    filled = [TARGET, *sc.sensitive]
    categorical = [TARGET, *sc.coded, "race", "ward"]
    seed = str(results.dataset["seeds"][0])
    test_index = results.test_index[seed]
    problems: list[str] = []

    def check(fn, *args, **kwargs) -> None:
        try:
            fn(*args, **kwargs)
        except AssertionError as exc:
            problems.append(f"{fn.__name__}: {exc}")

    def labels_not_written() -> None:  # labels are shown, never written
        for col, mapping in sc.labels.items():
            for frame in (synthetic, real_cols):
                leaked = sorted(set(mapping.values()) & set(frame[col]) - set(mapping))
                assert not leaked, f"labels {leaked} written into column {col!r}"

    def preview_agrees() -> None:  # the preview promised exactly this plan, no problem
        assert preview.problem is None, preview.problem
        shown = preview.plan.reset_index(drop=True)
        pd.testing.assert_frame_equal(shown, results.plan.reset_index(drop=True), check_dtype=False)
        assert preview.n_test == results.dataset["n_test"] == len(test_index) > 0

    check(check_columns, name, table, synthetic, augmented, sidecar)
    check(check_filled, name, table, synthetic, filled)
    check(check_filled, name, table, augmented[augmented["source"] == "synthetic"], filled)
    check(check_values_subset, name, table, synthetic, categorical, what="synthetic.csv")
    check(check_values_subset, name, table, real_cols, categorical, what="augmented_train.csv")
    check(check_whole_numbers, name, table, synthetic, what="synthetic.csv")
    check(check_whole_numbers, name, table, real_cols, what="augmented_train.csv")
    check(check_constants, name, table, synthetic, what="synthetic.csv")
    check(check_constants, name, table, real_cols, what="augmented_train.csv")
    check(labels_not_written)
    notes = list(results.strategy_notes.get("cddpm", []))
    check(check_cell_counts, name, synthetic, sidecar, payload, notes)
    check(check_group_names, name, table, payload)
    check(check_real_partition, name, table, augmented, sidecar["columns"], TARGET, test_index)
    check(preview_agrees)
    assert not problems, f"{len(problems)} broken invariant(s):\n" + "\n".join(problems)


# --------------------------------------------------------------------------- properties


@pytest.mark.slow
@settings(max_examples=AUDIT_EXAMPLES, **COMMON)
@given(sc=scenarios())
def test_audit_succeeds_or_refuses_plainly(sc: Scenario):
    note(sc.describe())
    note(sc.raw.decode("utf-8")[:3000])
    outcome = run_scenario(sc)
    if isinstance(outcome, BaseException):
        note(f"{type(outcome).__name__}: {outcome}")
        columns = read_text(sc.raw).columns.tolist()
        assert_plain_error(outcome, columns)
        return
    check_success(sc, *outcome)


@st.composite
def strata_with_one_single(draw) -> tuple[pd.Series, float, int]:
    """Strata ``group|outcome`` where exactly one stratum has one row."""
    n_groups = draw(st.integers(1, 6))
    cells = {}
    for g in range(n_groups):
        for y in draw(st.sampled_from([(0,), (1,), (0, 1)])):
            cells[f"g{g}|{y}"] = draw(st.integers(2, 40))
    # a new stratum of one row: a group of its own, or one outcome of a group
    new = [
        "__rare__|1",
        "solo|0",
        "Māori|1",
        *(f"g{g}|{y}" for g in range(n_groups) for y in (0, 1)),
    ]
    single = draw(st.sampled_from([lab for lab in new if lab not in cells]))
    cells[single] = 1
    labels = [lab for lab, k in cells.items() for _ in range(k)]
    order = draw(st.permutations(range(len(labels))))
    strata = pd.Series([labels[i] for i in order])
    return strata, draw(st.sampled_from([0.05, 0.1, 0.25, 0.33, 0.5])), draw(st.integers(0, 99))


def _check_split(strata: pd.Series, test_size: float, seed: int) -> None:
    train, test = split_train_test(strata, test_size=test_size, seed=seed)
    n = len(strata)
    assert len(train) and len(test), f"an empty part: {len(train)} train, {len(test)} test"
    assert not set(train) & set(test), "a row is in both the training and the test part"
    assert sorted([*train, *test]) == list(range(n)), "the parts do not cover every row"
    assert len(set(train)) == len(train) and len(set(test)) == len(test)


@settings(max_examples=FAST_EXAMPLES, **COMMON)
@given(case=strata_with_one_single())
def test_split_with_one_single_row_stratum(case):
    strata, test_size, seed = case
    _check_split(strata, test_size, seed)


@settings(max_examples=FAST_EXAMPLES, **COMMON)
@given(
    strata=st.lists(
        st.builds(
            lambda g, y: f"{g}|{y}",
            st.sampled_from(["a", "b", "Māori", "黒人", "(missing)", "x|y"]),
            st.sampled_from(["0", "1"]),
        ),
        min_size=2,
        max_size=60,
    ),
    test_size=st.floats(0.05, 0.5),
    seed=st.integers(0, 2**31 - 1),
)
def test_split_never_fails_for_two_rows_or_more(strata, test_size, seed):
    _check_split(pd.Series(strata), test_size, seed)


def test_split_regression_one_row_stratum():
    """The crash this suite was written for: one stratum of one row next to others."""
    strata = pd.Series(["a|0"] * 30 + ["a|1"] * 8 + ["b|0"] * 5 + ["c|1"])
    _check_split(strata, 0.25, 0)
    strata = pd.Series(["a|0", "a|0", "b|1"])  # the only positive is alone
    _check_split(strata, 0.25, 0)


def test_split_refuses_one_row_plainly():
    with pytest.raises(DataError) as info:
        split_train_test(pd.Series(["a|1"]), test_size=0.25, seed=0)
    assert_plain_error(info.value, [])


@settings(max_examples=FAST_EXAMPLES // 3, **COMMON)
@given(sc=scenarios())
def test_schema_inference_succeeds_or_refuses_plainly(sc: Scenario):
    """Reading and typing any generated table raises nothing but plain MCRAGE errors."""
    note(sc.describe())
    try:
        df = load_table(sc.raw, filename="generated.csv")
        data, schema = infer_schema(
            df, target=TARGET, positive_class=sc.positive, sensitive=list(sc.sensitive)
        )
    except MCRAGEError as exc:
        assert_plain_error(exc, read_text(sc.raw).columns.tolist())
        return
    assert list(data.columns) == list(df.columns)
    assert schema.target == TARGET


# --------------------------------------------------------------------------- regressions
# Fixed examples of what the properties found, each small enough to debug directly.


def _table(n: int = 200, seed: int = 0, **columns) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "race": rng.choice(["1", "2", "3"], n, p=[0.6, 0.3, 0.1]).astype(object),
            "age": rng.integers(20, 80, n).astype(str),
            "lab": [f"{v:.2f}" for v in rng.normal(5, 2, n)],
            TARGET: rng.choice(["Yes", "No"], n, p=[0.3, 0.7]).astype(object),
        }
    )
    for name, values in columns.items():
        frame[name] = values
    return frame


def _audit(frame: pd.DataFrame, **settings_) -> tuple[Scenario, Any]:
    fields_ = {"sensitive": ("race",), "positive": "Yes", "allow_small_cells": True}
    fields_.update(settings_)
    sc = Scenario(raw=frame.to_csv(index=False).encode("utf-8"), min_test_rows=1, **fields_)
    return sc, run_scenario(sc)


def _succeeds(sc: Scenario, outcome) -> None:
    if isinstance(outcome, BaseException):
        pytest.fail(f"the audit refused a usable table: {type(outcome).__name__}: {outcome}")
    check_success(sc, *outcome)


@pytest.mark.slow
def test_real_rows_keep_their_precision():
    """The real rows of augmented_train.csv are the user's rows, digit for digit.

    Found by the corpus (flchain ``kappa`` 0.9732 → 0.973, helprct ``mcs``
    25.1119899749756 → 25.11199, covid_testing ``pan_day`` 6.699999999999999 → 6.7):
    the real training rows go through ``records.to_input_coding``, which rounds a float
    column to the decimals of its first 2000 values, at most 6."""
    rng = np.random.default_rng(0)
    frame = _table(120, lab=[f"{v:.8f}" for v in rng.normal(5, 2, 120)])
    sc, outcome = _audit(frame)
    assert not isinstance(outcome, BaseException), outcome
    results, data, schema, _ = outcome
    _, augmented, sidecar = load_outputs(synthetic_artefacts(results, data, schema))
    test_index = results.test_index[str(results.dataset["seeds"][0])]
    check_real_partition(
        "8-decimal lab values",
        read_text(sc.raw),
        augmented,
        sidecar["columns"],
        TARGET,
        test_index,
    )


@pytest.mark.slow
def test_coded_race_with_missing_values_keeps_its_codes():
    """Race coded 1/2/3 with two blank cells: the column is read as floats, and the
    files and the report must still say ``1``, never ``1.0``."""
    frame = _table()
    frame.loc[:1, "race"] = ""
    sc, outcome = _audit(frame, coded=("race",))
    _succeeds(sc, outcome)


@pytest.mark.slow
def test_constant_column_is_reproduced_in_synthetic_rows():
    """A constant column is left out of modelling but written with its constant in
    every synthetic row ("a constant column keeps its constant")."""
    sc, outcome = _audit(_table(const=["7"] * 200))
    _succeeds(sc, outcome)


@pytest.mark.slow
def test_positive_class_as_written_with_missing_outcomes():
    """A 0/1 outcome with one blank cell is read as 0.0/1.0; ``--positive-class 1``
    (the value as written in the file) must still be accepted."""
    frame = _table()
    frame[TARGET] = np.where(frame[TARGET] == "Yes", "1", "0").astype(object)
    frame.loc[5, TARGET] = ""
    sc, outcome = _audit(frame, positive="1")
    _succeeds(sc, outcome)


def test_one_valued_outcome_is_refused_without_numpy_reprs():
    """ "The target column 'outcome' has only one value (np.int64(0) in every row)"."""
    for values, positive in ((["0", "0", "0"], "1"), (["False"] * 3, "True")):
        frame = _table(3)
        frame[TARGET] = values
        sc, outcome = _audit(frame, positive=positive)
        assert isinstance(outcome, BaseException)
        assert_plain_error(outcome, list(frame.columns))


@pytest.mark.slow
def test_training_part_without_positives_is_refused_plainly():
    """One positive row, ``min_test_rows=1``: when the split puts it in the test part,
    the training part has one outcome only, and logistic regression raised scikit-learn's
    ValueError ("This solver needs samples of at least 2 classes") instead of a
    DataError (the CLI answers "unexpected internal error", exit status 1)."""
    rng = np.random.default_rng(5)
    y = ["0"] * 120
    y[int(rng.integers(120))] = "1"
    frame = pd.DataFrame(
        {
            "race": rng.choice(["a", "b"], 120),
            "lab": [f"{v:.2f}" for v in rng.normal(size=120)],
            TARGET: y,
        }
    )
    sc = Scenario(
        raw=frame.to_csv(index=False).encode("utf-8"),
        sensitive=("race",),
        positive="1",
        min_test_rows=1,
    )
    outcome = run_scenario(sc)
    if isinstance(outcome, BaseException):
        assert_plain_error(outcome, list(frame.columns))
    else:  # a fix may also re-split so that both outcomes are trained on
        check_success(sc, *outcome)
