"""Checks of the synthetic output contract shared by the robustness tests.

Every check compares the files a user gets (``synthetic.csv``, ``augmented_train.csv``,
``synthetic.columns.json``, ``results.json``, ``report.html``) with the user's own input
**as text**, the way a data steward would compare them in a spreadsheet. Each check
raises ``AssertionError`` with a message naming the table, the column and the offending
values, so a failing parametrized case says what broke without a debugger.

This is a helper module, not a test module (its name does not start with ``test_``).
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from mcrage_core.tables.groups import MERGED_LABEL, code_key

HELPER_MARKERS = ("age_band", "_band", "(merged)", " × ", "__rare__", "(missing)")
"""Substrings that only the audit's own helper columns have in their names."""

_NA_TOKENS = {"", "nan", "NaN", "NA", "N/A", "NULL", "null", "None", "<NA>", "#N/A"}


# --------------------------------------------------------------------------- reading


def read_text(source: bytes | str | Any) -> pd.DataFrame:
    """A CSV (bytes or a path) as raw text: every cell a string, blanks as ``""``, the
    header exactly as written (an empty name stays ``""``); nothing is parsed."""
    if not isinstance(source, bytes):
        with open(source, "rb") as fh:
            source = fh.read()
    rows = list(csv.reader(io.StringIO(source.decode("utf-8-sig"), newline="")))
    header, body = rows[0], [r for r in rows[1:] if r]
    assert len(set(header)) == len(header), f"duplicate column names in {header}"
    bad = [i for i, r in enumerate(body) if len(r) != len(header)]
    assert not bad, f"ragged CSV rows {bad[:5]} (header has {len(header)} columns)"
    return pd.DataFrame(body, columns=header, dtype=object)


def is_blank(value: str) -> bool:
    return str(value).strip() in _NA_TOKENS


def canonical(value: Any) -> str:
    """One spelling per value: blanks and NA markers → ``""``; numbers written the same
    whatever their notation (``39`` = ``39.0``); other text unchanged (stripped).

    Used only where the contract allows a change of notation (real rows of numeric
    columns, which pass through type inference); outcome and code columns are compared
    as the exact text instead.
    """
    text = "" if value is None else str(value).strip()
    if text in _NA_TOKENS:
        return ""
    if text.startswith("'") and len(text) > 1 and text[1] in "=+-@\t\r":
        text = text[1:]  # formula neutralisation by to_safe_csv
    try:
        number = float(text)
    except ValueError:
        return text
    if not math.isfinite(number):
        return text.lower()
    if number.is_integer():
        return str(int(number))
    return repr(number)


def row_keys(frame: pd.DataFrame, columns: Sequence[str]) -> list[tuple[str, ...]]:
    """Each row of ``frame[columns]`` as a tuple of canonical cell texts."""
    sub = frame[list(columns)]
    return [tuple(canonical(v) for v in row) for row in sub.itertuples(index=False, name=None)]


# --------------------------------------------------------------------------- checks


def check_columns(
    name: str,
    input_text: pd.DataFrame,
    synthetic: pd.DataFrame,
    augmented: pd.DataFrame | None,
    sidecar: Mapping[str, Any],
) -> list[str]:
    """Both files hold exactly the input's columns minus the sidecar's dropped ones, in the
    input's order, and no helper column. Returns the expected columns."""
    dropped = [d["column"] for d in sidecar.get("dropped_columns", [])]
    for d in sidecar.get("dropped_columns", []):
        assert str(d.get("reason", "")).strip(), f"{name}: dropped column {d} has no reason"
    assert set(dropped) <= set(input_text.columns), (
        f"{name}: the sidecar drops columns that are not in the input: "
        f"{sorted(set(dropped) - set(input_text.columns))}"
    )
    expected = [c for c in input_text.columns if c not in dropped]
    assert list(sidecar["columns"]) == expected, (
        f"{name}: sidecar columns {sidecar['columns']} != input columns minus dropped {expected}"
    )
    assert list(synthetic.columns) == expected, (
        f"{name}: synthetic.csv columns {list(synthetic.columns)} != {expected}"
    )
    if augmented is not None:
        cols = list(augmented.columns)
        assert cols[-1:] == ["source"], f"{name}: augmented_train.csv has no trailing 'source'"
        assert cols[:-1] == expected, (
            f"{name}: augmented_train.csv columns {cols[:-1]} != {expected}"
        )
        assert set(augmented["source"]) <= {"real", "synthetic"}, (
            f"{name}: unexpected source values {sorted(set(augmented['source']))}"
        )
    for frame in (synthetic, augmented):
        if frame is None:
            continue
        helpers = [
            c
            for c in frame.columns
            if c not in input_text.columns and any(m in c for m in HELPER_MARKERS)
        ]
        assert not helpers, f"{name}: helper columns leaked into an output file: {helpers}"
    return expected


def check_filled(
    name: str,
    input_text: pd.DataFrame,
    synthetic: pd.DataFrame,
    columns: Iterable[str],
) -> None:
    """A column never blank in the input is never blank in a synthetic row."""
    for col in columns:
        if col not in synthetic.columns or col not in input_text.columns:
            continue
        if input_text[col].map(is_blank).any():
            continue
        blank = synthetic[col].map(is_blank)
        assert not blank.any(), (
            f"{name}: column {col!r} is never blank in the input but is blank in "
            f"{int(blank.sum())} of {len(synthetic)} synthetic row(s)"
        )


def check_values_subset(
    name: str,
    input_text: pd.DataFrame,
    frame: pd.DataFrame,
    columns: Iterable[str],
    *,
    what: str,
) -> None:
    """Every non-blank text value of ``frame[col]`` is one of the input's own texts."""
    for col in columns:
        if col not in frame.columns:
            continue
        own = {v for v in input_text[col] if not is_blank(v)}
        seen = {v for v in frame[col] if not is_blank(v)}
        foreign = sorted(seen - own)
        assert not foreign, (
            f"{name}: {what} column {col!r} holds values that the input never has: "
            f"{foreign[:10]} (input values: {sorted(own)[:10]})"
        )


_WHOLE = re.compile(r"^-?\d+$")


def check_whole_numbers(
    name: str,
    input_text: pd.DataFrame,
    frame: pd.DataFrame,
    *,
    what: str,
) -> None:
    """A column written as whole numbers in the input (``12``, never ``12.0``) is written
    as whole numbers in the output too: "whole numbers stay whole numbers"."""
    for col in frame.columns:
        if col not in input_text.columns:
            continue
        own = [v for v in input_text[col] if not is_blank(v)]
        if not own or not all(_WHOLE.match(v.strip()) for v in own):
            continue
        bad = sorted({v for v in frame[col] if not is_blank(v) and not _WHOLE.match(v.strip())})
        assert not bad, (
            f"{name}: column {col!r} holds whole numbers in the input (e.g. {own[:3]}) but "
            f"{what} writes {bad[:5]}"
        )


def check_constants(
    name: str,
    input_text: pd.DataFrame,
    frame: pd.DataFrame,
    *,
    what: str,
) -> None:
    """A column with one value in every input row keeps that value in every output row
    ("a constant column keeps its constant")."""
    if len(frame) == 0:
        return
    for col in frame.columns:
        if col not in input_text.columns or len(input_text) < 2:
            continue
        own = set(input_text[col])
        if len(own) != 1 or is_blank(next(iter(own))):
            continue
        got = Counter(frame[col])
        assert set(got) == own, (
            f"{name}: column {col!r} is {next(iter(own))!r} in every input row, but {what} "
            f"writes {dict(got.most_common(4))}"
        )


def group_of(
    value: str,
    source: str,
    gcol: str,
    dataset: Mapping[str, Any],
) -> str | None:
    """The rebalance group (as the plan names it) of a synthetic row's source value."""
    if is_blank(value):
        return None
    labels = (dataset.get("value_labels") or {}).get(source) or {}
    key = code_key(value)
    label = labels.get(key, key)
    merged = (dataset.get("merged_groups") or {}).get(gcol) or []
    if label in merged:
        return MERGED_LABEL
    return str(label)


def check_group_names(name: str, input_text: pd.DataFrame, results: Mapping[str, Any]) -> None:
    """The groups the audit reports (plan, base rates, metrics) are named by the input's
    own values (``1``, not ``1.0``), by their labels, or as the merged group."""
    dataset = results["dataset"]
    labels = dataset.get("value_labels") or {}
    plan = pd.DataFrame(results["plan"])
    for gcol, source in dataset["attributes"].items():
        if gcol.endswith("_band") or source not in input_text.columns:
            continue
        allowed = {v for v in input_text[source] if not is_blank(v)}
        allowed |= set((labels.get(source) or {}).values()) | {MERGED_LABEL}
        shown = set((dataset.get("base_rates") or {}).get(gcol, {}))
        if gcol in plan.columns:
            shown |= {str(v) for v in plan[gcol]}
        strange = sorted(shown - allowed)
        assert not strange, (
            f"{name}: groups of {source!r} are shown as {strange}, which are neither values "
            f"of the input ({sorted(allowed)[:8]}) nor labels"
        )


def check_cell_counts(
    name: str,
    synthetic: pd.DataFrame,
    sidecar: Mapping[str, Any],
    results: Mapping[str, Any],
    notes: Sequence[str] = (),
) -> Counter:
    """Synthetic rows per (rebalance group, outcome) = the plan's ``n_add`` for cells not
    blocked (and none for blocked cells); the sidecar's ``n_rows`` is the file's length.

    Exact copies of real rows are dropped by the generator and announced in a note
    ("N of the M planned synthetic rows were not produced"); the shortfall must then be
    exactly N, spread over cells that never receive more than planned.
    """
    assert sidecar["n_rows"] == len(synthetic), (
        f"{name}: sidecar n_rows {sidecar['n_rows']} != {len(synthetic)} rows in synthetic.csv"
    )
    dataset = results["dataset"]
    plan = pd.DataFrame(results["plan"])
    target = dataset["target"]
    rebalance = list(dataset["rebalance"])
    assert len(rebalance) == 1, f"{name}: the check handles one rebalanced column"
    gcol = rebalance[0]
    source = dataset["attributes"].get(gcol, gcol)
    assert "blocked" in plan.columns, f"{name}: the plan has no 'blocked' column"
    want: Counter = Counter()
    for _, row in plan.iterrows():
        if not bool(row["blocked"]) and int(row["n_add"]) > 0:
            want[(code_key(row[gcol]), str(row[target]))] += int(row["n_add"])
    got: Counter = Counter(
        (code_key(group_of(v, source, gcol, dataset)), str(y))
        for v, y in zip(synthetic[source], synthetic[target], strict=True)
    )
    short = 0
    for note in notes:
        m = re.search(r"(\d+) of the (\d+) planned synthetic rows were not produced", note)
        if m:
            short += int(m.group(1))
    extra = {k: v - want.get(k, 0) for k, v in got.items() if v > want.get(k, 0)}
    assert not extra, (
        f"{name}: synthetic rows per ({gcol}, {target}) exceed the plan: {dict(got)} vs "
        f"planned {dict(want)} (cells over plan: {extra})"
    )
    missing = sum(want.values()) - sum(got.values())
    assert missing == short, (
        f"{name}: {sum(got.values())} synthetic rows for {sum(want.values())} planned "
        f"(unblocked) rows, but the notes announce {short} dropped copies; per cell: got "
        f"{dict(got)}, planned {dict(want)}"
    )
    assert sidecar.get("planned_rows_after_guardrail") in (None, sum(want.values())), (
        f"{name}: sidecar planned_rows_after_guardrail {sidecar.get('planned_rows_after_guardrail')}"
        f" != plan {sum(want.values())}"
    )
    return got


def check_real_partition(
    name: str,
    input_text: pd.DataFrame,
    augmented: pd.DataFrame,
    columns: Sequence[str],
    target: str,
    test_index: Sequence[int],
) -> None:
    """The real rows of ``augmented_train.csv`` plus the test rows (original row numbers)
    are exactly the input rows that have an outcome; the test rows are real, unique rows
    with an outcome, and no row is in both parts."""
    test_index = [int(i) for i in test_index]
    assert len(set(test_index)) == len(test_index), f"{name}: test_index repeats rows"
    assert all(0 <= i < len(input_text) for i in test_index), (
        f"{name}: test_index points outside the input ({len(input_text)} rows)"
    )
    has_outcome = ~input_text[target].map(is_blank)
    no_outcome = [i for i in test_index if not has_outcome.iloc[i]]
    assert not no_outcome, f"{name}: test rows without an outcome: {no_outcome[:10]}"
    real = augmented[augmented["source"] == "real"]
    labelled = input_text.loc[has_outcome]
    tested = input_text.iloc[test_index]
    whole = Counter(row_keys(labelled, columns))
    parts = Counter(row_keys(real, columns)) + Counter(row_keys(tested, columns))
    assert len(real) + len(tested) == len(labelled), (
        f"{name}: {len(real)} real training rows + {len(tested)} test rows != "
        f"{len(labelled)} input rows with an outcome"
    )
    if parts != whole:
        only_out = list((parts - whole).elements())
        only_in = list((whole - parts).elements())
        raise AssertionError(
            f"{name}: real training rows + test rows are not the input rows with an "
            f"outcome: {len(only_out)} row(s) differ; changed cells (column: input → "
            f"output): {_changed_cells(labelled, tested, real, columns)}; first rows in the "
            f"output but not the input: {only_out[:2]}; rows of the input missing from the "
            f"output: {only_in[:2]}"
        )


def _changed_cells(labelled, tested, real, columns) -> dict[str, list[tuple[str, str]]]:
    """For the message only: the training rows in input order next to the real rows of
    augmented_train.csv (the library writes them in that order), cell by cell."""
    train = labelled.drop(index=tested.index, errors="ignore")
    if len(train) != len(real):
        return {}
    out: dict[str, list[tuple[str, str]]] = {}
    for col in columns:
        pairs = [
            (a, b)
            for a, b in zip(train[col], real[col], strict=True)
            if canonical(a) != canonical(b)
        ]
        if pairs:
            out[col] = pairs[:3] + ([("...", f"{len(pairs)} cells")] if len(pairs) > 3 else [])
    return out


_SCRIPT = re.compile(r"<script\b.*?</script\s*>", re.S | re.I)
_STYLE = re.compile(r"<style\b.*?</style\s*>", re.S | re.I)
_CELL = re.compile(r"<t([dh])\b[^>]*>(.*?)</t\1>", re.S | re.I)
_TAG = re.compile(r"<[^>]+>")
_LONG_FLOAT = re.compile(r"(?<![\w.])-?\d+\.\d{7,}(?![\d])")
_BAD_CELL = re.compile(r"^(nan|null|<na>|nat|inf|-inf)$", re.I)
_BAD_TOKENS = {"nan", "NaN", "None", "NaT", "<NA>", "null"}  # 'none' (lower case) is a word


def _bad_cell(cell: str) -> bool:
    """A cell that shows a missing value the way Python/pandas prints it: the whole cell,
    or one item of a ``key: value, key = value`` list (``gender: nan``, ``0 = None``)."""
    if _BAD_CELL.match(cell):
        return True
    tokens = re.split(r"\s*[,;:=/()]\s*|\s+[–-]\s+", cell)
    return any(t.strip() in _BAD_TOKENS for t in tokens) or bool(re.search(r"\bnan\b", cell))


def visible_html(page: str) -> str:
    """The report without its <script> and <style> blocks."""
    return _STYLE.sub("", _SCRIPT.sub("", page))


def check_report(name: str, page: str, labels: Iterable[str] = ()) -> None:
    """No float noise, no nan/None cells; the given label texts appear in the tables."""
    visible = visible_html(page)
    noisy = sorted(set(_LONG_FLOAT.findall(visible)))
    assert not noisy, f"{name}: report.html shows numbers with 7+ decimals: {noisy[:10]}"
    import html as _html

    cells = [_html.unescape(_TAG.sub("", c[1])).strip() for c in _CELL.findall(visible)]
    assert cells, f"{name}: report.html has no table cells"
    bad = sorted({c for c in cells if _bad_cell(c)})
    assert not bad, f"{name}: report.html has empty-value cells: {bad[:10]}"
    tables = " ".join(re.findall(r"<table\b.*?</table\s*>", visible, re.S | re.I))
    tables = _html.unescape(tables)
    absent = [lab for lab in labels if lab not in tables]
    assert not absent, f"{name}: label texts missing from the report's tables: {absent}"


def load_outputs(files: Mapping[str, bytes]) -> tuple[pd.DataFrame, pd.DataFrame | None, dict]:
    """``synthetic.csv``, ``augmented_train.csv`` (or ``None``) and the sidecar."""
    synthetic = read_text(files["synthetic.csv"])
    augmented = read_text(files["augmented_train.csv"]) if "augmented_train.csv" in files else None
    sidecar = json.loads(files["synthetic.columns.json"].decode("utf-8"))
    return synthetic, augmented, sidecar
